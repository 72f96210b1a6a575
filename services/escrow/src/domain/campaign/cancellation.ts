/**
 * The campaign side of a backer's cancellation. Backers may cancel while the campaign is live,
 * except in the last call (`policy.lastCallMs` before `endsAt`) when the cancellation would drop
 * a met goal below it: creators must be able to count on a goal met at the end.
 *
 * The window is decided in the same write that releases the reservation, so two concurrent
 * cancellations cannot both pass a check that only one of them may pass.
 */
import { assert, compare, DomainError, subtract, type Money } from '@sizhong/kit';
import { findReservation, type Campaign } from './campaign';
import { assertCampaignPolicy, type CampaignPolicy } from './policy';
import type { ReleasePledgeReservationResult } from './reserve-pledge';
import { withoutReservation } from './reservations';
import { refuse } from './rules';

/** What the check needs of a pledge (a `Pledge` fits). */
export interface PledgeToCancel {
  readonly id: string;
  readonly campaignId: string;
  readonly amount: Money;
}

/** Throws the refusal (CAMPAIGN_NOT_LIVE, CANCELLATION_WINDOW_CLOSED) or returns when cancelling is allowed. */
export function checkCancellationAllowed(campaign: Campaign, pledge: PledgeToCancel, now: Date, policy: CampaignPolicy): void {
  assertCampaignPolicy(policy);
  assert(pledge.campaignId === campaign.id, `pledge ${pledge.id} belongs to campaign ${pledge.campaignId}, not ${campaign.id}`);
  if (campaign.state !== 'live') refuse('CAMPAIGN_NOT_LIVE', `campaign is ${campaign.state}`, { campaignId: campaign.id, state: campaign.state });
  if (now.getTime() >= campaign.endsAt.getTime()) {
    refuse('CANCELLATION_WINDOW_CLOSED', 'the campaign has ended; its pledges are being settled', { campaignId: campaign.id, endsAt: campaign.endsAt.toISOString() });
  }
  const lastCallStartsAtMs = campaign.endsAt.getTime() - policy.lastCallMs;
  if (now.getTime() < lastCallStartsAtMs) return;
  const goalMet = compare(campaign.pledged, campaign.goal) >= 0;
  const goalMetAfter = compare(subtract(campaign.pledged, pledge.amount), campaign.goal) >= 0;
  if (goalMet && !goalMetAfter) {
    refuse('CANCELLATION_WINDOW_CLOSED', 'in the last call before the end, a cancellation may not drop a met goal below it', {
      campaignId: campaign.id,
      lastCallStartsAt: new Date(lastCallStartsAtMs).toISOString(),
    });
  }
}

/** The same rule as a question, for read models ("can I still cancel?"). */
export function cancellationAllowed(campaign: Campaign, pledge: PledgeToCancel, now: Date, policy: CampaignPolicy): boolean {
  try {
    checkCancellationAllowed(campaign, pledge, now, policy);
    return true;
  } catch (error) {
    if (error instanceof DomainError) return false;
    throw error;
  }
}

/**
 * Checks the window and releases the pledge's reservation in one step. A retry after the release
 * finds nothing reserved and returns `not_reserved` without checking the window again: the
 * decision was already made, and the app layer goes on to cancel the pledge and void its hold.
 */
export function cancelPledgeReservation(campaign: Campaign, pledge: PledgeToCancel, now: Date, policy: CampaignPolicy): ReleasePledgeReservationResult {
  const reservation = findReservation(campaign, pledge.id);
  if (reservation === undefined) return { outcome: 'not_reserved', campaign };
  assert(
    reservation.amount.amountMinor === pledge.amount.amountMinor && reservation.amount.currency === pledge.amount.currency,
    `pledge ${pledge.id} amount differs from its reservation`,
  );
  checkCancellationAllowed(campaign, pledge, now, policy);
  return { outcome: 'released', campaign: withoutReservation(campaign, reservation), reservation };
}
