/**
 * closeCampaign: at or after `endsAt` (by the clock of the replica settling it), settlement's first
 * write fences the campaign: `live` → `closing`. Pledges and cancellations are guarded on `live`,
 * so from this write on none lands, whatever another replica's clock says; the books are then read
 * behind the fence. Closing a closing campaign changes nothing (a rerun of settlement).
 *
 * settleCampaign: the campaign's outcome, decided on the books behind the fence.
 *   all_or_nothing: succeeded when pledged ≥ goal, otherwise failed (goal_not_met).
 *   keep_it_all:    succeeded when anything was pledged, otherwise failed (no_pledges): there is
 *                   nothing to post, and "succeeded with nothing" would credit a creator for a
 *                   campaign nobody backed.
 * The outcome is decided on `SettledTotals` the app counts from the campaign's pending pledge
 * documents (`settledTotalsOf`), only once no pledge can still land: the guarded counters refuse
 * from the end on, and every pledge saga that took its place in time has been finished. The live
 * counters are not used: they also count sagas whose hold may still fail. The totals are kept on
 * the settled campaign, so the published outcome, the settlement plan and the payout agree.
 */
import { assert, compare, isPositive } from '@sizhong/kit/domain';
import type { Campaign, CampaignFailureReason, ClosingCampaign, LiveCampaign, FailedCampaign, SettledTotals, SucceededCampaign } from './campaign';
import type { CampaignEvent, CampaignFailed, CampaignSucceeded } from './events';
import { assertCampaignInvariants, assertSettledTotals } from './invariants';
import type { Pledge } from './pledge';
import { distinctBackersCount, refuse, sumMoney } from './rules';

export function closeCampaign(campaign: Campaign, now: Date): { campaign: ClosingCampaign; events: CampaignEvent[] } {
  if (campaign.state === 'closing') return { campaign, events: [] };
  if (campaign.state !== 'live') refuse('CAMPAIGN_NOT_LIVE', `a ${campaign.state} campaign cannot be closed`, { campaignId: campaign.id, state: campaign.state });
  if (now.getTime() < campaign.endsAt.getTime()) {
    refuse('INVALID_STATE', 'a campaign is closed at or after its end', { campaignId: campaign.id, endsAt: campaign.endsAt.toISOString() });
  }
  const { state: _state, ...fields } = campaign;
  return { campaign: { ...fields, state: 'closing', closingAt: now }, events: [] };
}

/** A live campaign is settled only from its end on; a closing one was fenced by then, by whichever clock closed it. */
export function settleCampaign(campaign: Campaign, totals: SettledTotals, now: Date): { campaign: SucceededCampaign | FailedCampaign; events: CampaignEvent[] } {
  if (campaign.state !== 'live' && campaign.state !== 'closing') refuse('CAMPAIGN_NOT_LIVE', `a ${campaign.state} campaign cannot be settled`, { campaignId: campaign.id, state: campaign.state });
  if (campaign.state === 'live' && now.getTime() < campaign.endsAt.getTime()) {
    refuse('INVALID_STATE', 'a campaign is settled at or after its end', { campaignId: campaign.id, endsAt: campaign.endsAt.toISOString() });
  }
  assertSettledTotals(campaign, totals);
  const settled: SettledTotals = { pledged: totals.pledged, pledgesCount: totals.pledgesCount, backersCount: totals.backersCount };
  const failureReason = failureReasonOf(campaign, settled);
  const common = {
    campaignId: campaign.id,
    creatorId: campaign.creatorId,
    occurredAt: now,
    fundingModel: campaign.fundingModel,
    goal: campaign.goal,
    pledged: settled.pledged,
    pledgesCount: settled.pledgesCount,
    backersCount: settled.backersCount,
  };
  const { closingAt: _closingAt, ...fields } = campaign as LiveCampaign & { closingAt?: Date };
  if (failureReason === undefined) {
    const succeeded: SucceededCampaign = { ...fields, state: 'succeeded', settledAt: now, settled };
    assertCampaignInvariants(succeeded);
    const event: CampaignSucceeded = { type: 'CampaignSucceeded', ...common };
    return { campaign: succeeded, events: [event] };
  }
  const failed: FailedCampaign = { ...fields, state: 'failed', settledAt: now, settled, failureReason };
  assertCampaignInvariants(failed);
  const event: CampaignFailed = { type: 'CampaignFailed', ...common, reason: failureReason };
  return { campaign: failed, events: [event] };
}

/**
 * The totals of a campaign's pending pledges: what settlement decides on. Cancelled pledges no
 * longer count. A live campaign has no collected or refunded pledges, so meeting one is a bug.
 */
export function settledTotalsOf(campaign: Campaign, pledges: readonly Pledge[]): SettledTotals {
  const pending = pledges.filter((pledge) => {
    assert(pledge.campaignId === campaign.id, `pledge ${pledge.id} belongs to campaign ${pledge.campaignId}, not ${campaign.id}`);
    assert(pledge.state === 'pending' || pledge.state === 'cancelled', `pledge ${pledge.id} is ${pledge.state} before its campaign ${campaign.id} settled`);
    return pledge.state === 'pending';
  });
  assert(new Set(pending.map((pledge) => pledge.id)).size === pending.length, `campaign ${campaign.id} settlement counts a pledge twice`);
  return {
    pledged: sumMoney(campaign.goal.currency, pending.map((pledge) => pledge.amount)),
    pledgesCount: pending.length,
    backersCount: distinctBackersCount(pending),
  };
}

function failureReasonOf(campaign: Campaign, totals: SettledTotals): CampaignFailureReason | undefined {
  if (!isPositive(totals.pledged)) return campaign.fundingModel === 'keep_it_all' ? 'no_pledges' : 'goal_not_met';
  if (campaign.fundingModel === 'all_or_nothing' && compare(totals.pledged, campaign.goal) < 0) return 'goal_not_met';
  return undefined;
}
