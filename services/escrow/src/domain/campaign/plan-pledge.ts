/**
 * planPledge: everything about a backer's pledge that can be decided without the campaign's live
 * totals. What depends on them (the campaign still taking pledges at the moment of the write, the
 * tier's stock, the backer's cap) is a guard the storage evaluates in the same write that takes
 * the pledge's place, so two backers racing for the last unit cannot both get it:
 *
 *   backer position:   { fewer than pledgesPerBackerMax active pledges } → add the pledge id
 *   campaign counters: { state: 'live', endsAt > now, remaining[tier] ≥ 1 when limitedTier }
 *                      → $inc pledged +amount, pledgesCount +1, backersCount +1 (first pledge of
 *                        the backer), remaining[tier] −1 (limitedTier)
 *
 * `checkPledgeGuards` states the same guards over given totals: the app uses it to explain a
 * refused write (TIER_SOLD_OUT, PLEDGE_LIMIT_REACHED, CAMPAIGN_NOT_LIVE), read models to answer
 * "can I still pledge for this tier?". The plan is then the pledge: placePledge (pledge.ts) turns it
 * into the pledge document once the hold is placed, with no campaign lookup, so a saga interrupted
 * after its guarded write is completed forward even once the campaign has ended.
 */
import { assert, compare, isPositive, type Money } from '@sizhong/kit/domain';
import { findTier, type Campaign, type CampaignTotals, type Tier } from './campaign';
import { assertCampaignTotals } from './invariants';
import { campaignAmountMinorMax, pledgesPerBackerMax } from './limits';
import { refuse } from './rules';

export interface PledgeCommand {
  /** Derived by the app layer from the backer's idempotency key. */
  readonly pledgeId: string;
  readonly backerId: string;
  readonly tierId?: string;
  readonly amount: Money;
}

export interface PledgePlan {
  readonly pledgeId: string;
  readonly campaignId: string;
  readonly creatorId: string;
  readonly backerId: string;
  readonly tierId?: string;
  readonly amount: Money;
  /** The tier has a quantity: the storage takes one unit with a guarded decrement. */
  readonly limitedTier: boolean;
}

/**
 * Refusals in order: CAMPAIGN_NOT_LIVE (not live, or `now` at or after the end), PERMISSION_DENIED
 * (the creator), CURRENCY_MISMATCH, INVALID_ARGUMENT (amount not positive), LIMIT_EXCEEDED (above
 * `campaignAmountMinorMax`), NOT_FOUND (unknown tier), INVALID_ARGUMENT (below the tier price).
 */
export function planPledge(campaign: Campaign, command: PledgeCommand, now: Date): PledgePlan {
  // Both ids come from the app layer (idempotency key, caller identity), never from the client.
  assert(command.pledgeId.length > 0, 'planPledge needs a pledgeId');
  assert(command.backerId.length > 0, 'planPledge needs a backerId');
  checkTakingPledges(campaign, now);
  if (command.backerId === campaign.creatorId) refuse('PERMISSION_DENIED', 'a creator may not pledge to their own campaign', { campaignId: campaign.id });
  if (command.amount.currency !== campaign.goal.currency) {
    refuse('CURRENCY_MISMATCH', `pledge is in ${command.amount.currency} but the campaign is in ${campaign.goal.currency}`, { field: 'amount.currency' });
  }
  if (!isPositive(command.amount)) refuse('INVALID_ARGUMENT', 'amount must be positive', { field: 'amount.amountMinor' });
  if (command.amount.amountMinor > campaignAmountMinorMax) {
    refuse('LIMIT_EXCEEDED', `amount must be at most ${campaignAmountMinorMax} minor units`, { field: 'amount.amountMinor', max: campaignAmountMinorMax.toString() });
  }
  const tier = command.tierId === undefined ? undefined : tierToPledgeFor(campaign, command.tierId, command.amount);
  return {
    pledgeId: command.pledgeId,
    campaignId: campaign.id,
    creatorId: campaign.creatorId,
    backerId: command.backerId,
    ...(tier === undefined ? {} : { tierId: tier.id }),
    amount: command.amount,
    limitedTier: tier?.quantity !== undefined,
  };
}

/**
 * The storage guards of a pledge over given totals, in the saga's order: PLEDGE_LIMIT_REACHED (the
 * backer already holds `pledgesPerBackerMax` active pledges), then CAMPAIGN_NOT_LIVE (not live, or
 * ended), then TIER_SOLD_OUT (no unit left of a limited tier). Returns when all would pass.
 */
export function checkPledgeGuards(campaign: Campaign, totals: CampaignTotals, backerPledgesCount: number, plan: PledgePlan, now: Date): void {
  assert(plan.campaignId === campaign.id, `pledge ${plan.pledgeId} belongs to campaign ${plan.campaignId}, not ${campaign.id}`);
  assert(Number.isSafeInteger(backerPledgesCount) && backerPledgesCount >= 0, `backer ${plan.backerId} has a bad pledge count ${backerPledgesCount}`);
  assertCampaignTotals(campaign, totals);
  if (backerPledgesCount >= pledgesPerBackerMax) {
    refuse('PLEDGE_LIMIT_REACHED', `a backer holds at most ${pledgesPerBackerMax} pledges on one campaign`, { campaignId: campaign.id, max: pledgesPerBackerMax });
  }
  checkTakingPledges(campaign, now);
  if (!plan.limitedTier) return;
  const remaining = plan.tierId === undefined ? undefined : totals.remainingByTier[plan.tierId];
  assert(plan.tierId !== undefined && remaining !== undefined, `pledge ${plan.pledgeId} takes a unit of a tier without stock`);
  if (remaining < 1) refuse('TIER_SOLD_OUT', `tier ${plan.tierId} is sold out`, { tierId: plan.tierId });
}

function checkTakingPledges(campaign: Campaign, now: Date): void {
  if (campaign.state !== 'live') refuse('CAMPAIGN_NOT_LIVE', `campaign is ${campaign.state}`, { campaignId: campaign.id, state: campaign.state });
  if (now.getTime() >= campaign.endsAt.getTime()) refuse('CAMPAIGN_NOT_LIVE', 'campaign has ended', { campaignId: campaign.id, endsAt: campaign.endsAt.toISOString() });
}

function tierToPledgeFor(campaign: Campaign, tierId: string, amount: Money): Tier {
  const tier = findTier(campaign, tierId);
  if (tier === undefined) refuse('NOT_FOUND', `campaign has no tier ${tierId}`, { field: 'tierId', tierId });
  if (compare(amount, tier.price) < 0) {
    refuse('INVALID_ARGUMENT', `amount is below the tier price of ${tier.price.amountMinor} minor units`, { field: 'amount.amountMinor', tierId });
  }
  return tier;
}
