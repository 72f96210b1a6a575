/**
 * Reservations: a pledge's claim on the campaign (money counted in `pledged`, one unit of its tier).
 *
 * The pledge saga is: reservePledge (campaign write) → pending transfer from the backer's wallet
 * (ledger) → placePledge (pledge document). When the hold is refused, releasePledgeReservation is
 * the compensation. Both steps are idempotent by pledge id, so a retried saga step is harmless.
 * No campaign event is published here: PledgePlaced and PledgeCancelled on the pledge are the facts,
 * and a second event for the same fact would be counted twice by consumers.
 */
import { compare, isPositive, type Money } from '@sizhong/kit';
import { findReservation, findTier, type Campaign, type LiveCampaign, type PledgeReservation, type Tier } from './campaign';
import { assertCampaignInvariants } from './invariants';
import { campaignAmountMinorMax, pledgesPerBackerMax, pledgesPerCampaignMax } from './limits';
import { takeUnit, withoutReservation, withReservations } from './reservations';
import { refuse } from './rules';

export interface ReservePledgeCommand {
  /** Derived by the app layer from the backer's idempotency key. */
  readonly pledgeId: string;
  readonly backerId: string;
  readonly tierId?: string;
  readonly amount: Money;
}

export type ReservePledgeResult =
  | { readonly outcome: 'reserved'; readonly campaign: LiveCampaign; readonly reservation: PledgeReservation }
  /** A replay of the same command: nothing changed, the saga continues with the stored reservation. */
  | { readonly outcome: 'already_reserved'; readonly campaign: Campaign; readonly reservation: PledgeReservation };

export function reservePledge(campaign: Campaign, command: ReservePledgeCommand, now: Date): ReservePledgeResult {
  const existing = findReservation(campaign, command.pledgeId);
  if (existing !== undefined) {
    if (sameReservation(existing, command)) return { outcome: 'already_reserved', campaign, reservation: existing };
    refuse('IDEMPOTENCY_KEY_REUSED', `pledge ${command.pledgeId} was reserved with different details`, { pledgeId: command.pledgeId });
  }
  if (campaign.state !== 'live') refuse('CAMPAIGN_NOT_LIVE', `campaign is ${campaign.state}`, { campaignId: campaign.id, state: campaign.state });
  // A stored campaign whose totals disagree with its reservations is corrupt: stop before adding to it.
  assertCampaignInvariants(campaign);
  if (now.getTime() >= campaign.endsAt.getTime()) refuse('CAMPAIGN_NOT_LIVE', 'campaign has ended', { campaignId: campaign.id, endsAt: campaign.endsAt.toISOString() });
  if (command.backerId === campaign.creatorId) refuse('PERMISSION_DENIED', 'a creator may not pledge to their own campaign', { campaignId: campaign.id });
  if (command.amount.currency !== campaign.goal.currency) {
    refuse('CURRENCY_MISMATCH', `pledge is in ${command.amount.currency} but the campaign is in ${campaign.goal.currency}`, { field: 'amount.currency' });
  }
  if (!isPositive(command.amount)) refuse('INVALID_ARGUMENT', 'amount must be positive', { field: 'amount.amountMinor' });
  if (command.amount.amountMinor > campaignAmountMinorMax) {
    refuse('LIMIT_EXCEEDED', `amount must be at most ${campaignAmountMinorMax} minor units`, { field: 'amount.amountMinor', max: campaignAmountMinorMax.toString() });
  }

  const tier = command.tierId === undefined ? undefined : tierToReserve(campaign, command.tierId, command.amount);
  if (campaign.reservations.length >= pledgesPerCampaignMax) {
    refuse('PLEDGE_LIMIT_REACHED', `a campaign holds at most ${pledgesPerCampaignMax} pledges`, { campaignId: campaign.id, max: pledgesPerCampaignMax });
  }
  const backerPledgesCount = campaign.reservations.filter((reservation) => reservation.backerId === command.backerId).length;
  if (backerPledgesCount >= pledgesPerBackerMax) {
    refuse('PLEDGE_LIMIT_REACHED', `a backer holds at most ${pledgesPerBackerMax} pledges on one campaign`, { campaignId: campaign.id, max: pledgesPerBackerMax });
  }

  const reservation: PledgeReservation = {
    pledgeId: command.pledgeId,
    backerId: command.backerId,
    ...(command.tierId === undefined ? {} : { tierId: command.tierId }),
    amount: command.amount,
    reservedAt: now,
  };
  const tiers = tier === undefined ? campaign.tiers : campaign.tiers.map((each) => (each.id === tier.id ? takeUnit(each) : each));
  const reserved: LiveCampaign = withReservations({ ...campaign, tiers }, [...campaign.reservations, reservation]);
  assertCampaignInvariants(reserved);
  return { outcome: 'reserved', campaign: reserved, reservation };
}

export type ReleasePledgeReservationResult =
  | { readonly outcome: 'released'; readonly campaign: Campaign; readonly reservation: PledgeReservation }
  /** Nothing to release: already released by an earlier try, or never reserved. */
  | { readonly outcome: 'not_reserved'; readonly campaign: Campaign };

/**
 * The compensation when the funds hold fails (and the campaign side of a cancellation, which
 * checks its window first: see cancelPledgeReservation). The tier unit returns, totals go down.
 * Allowed while live, and after failure (orphans of a crashed saga change nothing there). Refused
 * once the campaign succeeded: its outcome was published on these totals, so a reservation left
 * by a crash is completed forward by the app layer instead (place the hold, then the pledge).
 */
export function releasePledgeReservation(campaign: Campaign, pledgeId: string): ReleasePledgeReservationResult {
  const reservation = findReservation(campaign, pledgeId);
  if (reservation === undefined) return { outcome: 'not_reserved', campaign };
  if (campaign.state !== 'live' && campaign.state !== 'failed') {
    refuse('INVALID_STATE', `a ${campaign.state} campaign keeps its pledges`, { campaignId: campaign.id, state: campaign.state, pledgeId });
  }
  return { outcome: 'released', campaign: withoutReservation(campaign, reservation), reservation };
}

function tierToReserve(campaign: Campaign, tierId: string, amount: Money): Tier {
  const tier = findTier(campaign, tierId);
  if (tier === undefined) refuse('NOT_FOUND', `campaign has no tier ${tierId}`, { field: 'tierId', tierId });
  if (compare(amount, tier.price) < 0) {
    refuse('INVALID_ARGUMENT', `amount is below the tier price of ${tier.price.amountMinor} minor units`, { field: 'amount.amountMinor', tierId });
  }
  if (tier.remaining === 0) refuse('TIER_SOLD_OUT', `tier ${tierId} is sold out`, { tierId });
  return tier;
}

function sameReservation(reservation: PledgeReservation, command: ReservePledgeCommand): boolean {
  return (
    reservation.backerId === command.backerId &&
    reservation.tierId === command.tierId &&
    reservation.amount.currency === command.amount.currency &&
    reservation.amount.amountMinor === command.amount.amountMinor
  );
}
