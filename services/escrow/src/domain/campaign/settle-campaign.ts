/**
 * settleCampaign: at or after `endsAt` the scheduler decides a live campaign's outcome.
 *   all_or_nothing: succeeded when pledged ≥ goal, otherwise failed (goal_not_met).
 *   keep_it_all:    succeeded when anything was pledged, otherwise failed (no_pledges): there is
 *                   nothing to post, and "succeeded with nothing" would credit a creator for a
 *                   campaign nobody backed.
 * The decision is made on the campaign's reservations, so the app layer settles only once every
 * pledge saga of the campaign has finished (a reservation without its pledge is completed first).
 */
import { compare, isPositive } from '@sizhong/kit';
import type { Campaign, CampaignFailureReason, FailedCampaign, SucceededCampaign } from './campaign';
import type { CampaignEvent, CampaignFailed, CampaignSucceeded } from './events';
import { refuse } from './rules';

export function settleCampaign(campaign: Campaign, now: Date): { campaign: SucceededCampaign | FailedCampaign; events: CampaignEvent[] } {
  if (campaign.state !== 'live') refuse('CAMPAIGN_NOT_LIVE', `a ${campaign.state} campaign cannot be settled`, { campaignId: campaign.id, state: campaign.state });
  if (now.getTime() < campaign.endsAt.getTime()) {
    refuse('INVALID_STATE', 'a campaign is settled at or after its end', { campaignId: campaign.id, endsAt: campaign.endsAt.toISOString() });
  }
  const failureReason = failureReasonOf(campaign);
  const common = {
    campaignId: campaign.id,
    creatorId: campaign.creatorId,
    occurredAt: now,
    fundingModel: campaign.fundingModel,
    goal: campaign.goal,
    pledged: campaign.pledged,
    pledgesCount: campaign.reservations.length,
    backersCount: campaign.backersCount,
  };
  if (failureReason === undefined) {
    const succeeded: SucceededCampaign = { ...campaign, state: 'succeeded', settledAt: now };
    const event: CampaignSucceeded = { type: 'CampaignSucceeded', ...common };
    return { campaign: succeeded, events: [event] };
  }
  const failed: FailedCampaign = { ...campaign, state: 'failed', settledAt: now, failureReason };
  const event: CampaignFailed = { type: 'CampaignFailed', ...common, reason: failureReason };
  return { campaign: failed, events: [event] };
}

function failureReasonOf(campaign: Campaign): CampaignFailureReason | undefined {
  if (!isPositive(campaign.pledged)) return campaign.fundingModel === 'keep_it_all' ? 'no_pledges' : 'goal_not_met';
  if (campaign.fundingModel === 'all_or_nothing' && compare(campaign.pledged, campaign.goal) < 0) return 'goal_not_met';
  return undefined;
}
