/** launchCampaign: the creator opens a draft for pledges, if its end is still within the policy; the platform fee is fixed now. */
import type { Campaign, LiveCampaign } from './campaign';
import { durationRefusal } from './create-campaign';
import type { CampaignEvent, CampaignLaunched } from './events';
import { assertCampaignPolicy, type CampaignPolicy } from './policy';
import { basisPoints, refuse } from './rules';

export function launchCampaign(
  campaign: Campaign,
  by: string,
  now: Date,
  policy: CampaignPolicy,
  feeBps: number,
): { campaign: LiveCampaign; events: CampaignEvent[] } {
  assertCampaignPolicy(policy);
  if (by !== campaign.creatorId) refuse('PERMISSION_DENIED', 'only the campaign creator may launch it', { campaignId: campaign.id });
  if (campaign.state !== 'draft') refuse('INVALID_STATE', `a ${campaign.state} campaign cannot be launched`, { campaignId: campaign.id, state: campaign.state });
  // Time passed since creation: a draft whose end is now too close (or still too far) must be recreated.
  const durationProblem = durationRefusal(campaign.endsAt, now, policy);
  if (durationProblem !== undefined) refuse('INVALID_STATE', `cannot launch: ${durationProblem}`, { campaignId: campaign.id, field: 'endsAt' });

  basisPoints(feeBps, 'feeBps');
  const launched: LiveCampaign = { ...campaign, state: 'live', launchedAt: now, feeBps };
  const event: CampaignLaunched = {
    type: 'CampaignLaunched',
    campaignId: campaign.id,
    creatorId: campaign.creatorId,
    occurredAt: now,
    goal: campaign.goal,
    fundingModel: campaign.fundingModel,
    endsAt: campaign.endsAt,
    deliveryDate: campaign.deliveryDate,
  };
  return { campaign: launched, events: [event] };
}
