// Proves launchCampaign opens only the creator's own draft, and only while its end is still within the policy.
import { createCampaign } from './create-campaign';
import { afterEnd, at, campaignId, createCommand, creatorId, deepFreeze, endsAt, feeBps, liveCampaign, refusalOf, secondMs, settled, t0, testPolicy } from './fixtures';
import { launchCampaign } from './launch-campaign';

const draft = () => deepFreeze(createCampaign(createCommand(), t0, testPolicy).campaign);

describe('launchCampaign', () => {
  it('given a draft, when its creator launches it, then it is live and CampaignLaunched is published', () => {
    const now = at(secondMs);
    const { campaign, events } = launchCampaign(draft(), creatorId, now, testPolicy, feeBps);

    expect(campaign).toMatchObject({ state: 'live', launchedAt: now, id: campaignId, feeBps });
    expect(events).toEqual([
      { type: 'CampaignLaunched', campaignId, creatorId, occurredAt: now, goal: campaign.goal, fundingModel: 'all_or_nothing', endsAt, deliveryDate: campaign.deliveryDate },
    ]);
  });

  it('given a draft, when someone else launches it, then PERMISSION_DENIED', () => {
    expect(refusalOf(() => launchCampaign(draft(), 'pt_other', t0, testPolicy, feeBps)).code).toBe('PERMISSION_DENIED');
  });

  it('given a campaign that is not a draft, when launched, then INVALID_STATE', () => {
    expect(refusalOf(() => launchCampaign(liveCampaign(), creatorId, t0, testPolicy, feeBps))).toMatchObject({ code: 'INVALID_STATE', details: { state: 'live' } });
    expect(refusalOf(() => launchCampaign(settled(liveCampaign()), creatorId, afterEnd(0), testPolicy, feeBps)).code).toBe('INVALID_STATE');
  });

  it('given a draft left waiting, when launched with exactly the minimum duration left it opens, one millisecond later it is refused with INVALID_STATE', () => {
    const lastMoment = new Date(endsAt.getTime() - testPolicy.durationMinMs);
    expect(launchCampaign(draft(), creatorId, lastMoment, testPolicy, feeBps).campaign.state).toBe('live');
    expect(refusalOf(() => launchCampaign(draft(), creatorId, new Date(lastMoment.getTime() + 1), testPolicy, feeBps))).toMatchObject({
      code: 'INVALID_STATE',
      details: { field: 'endsAt' },
    });
  });

  it('given a draft whose end is now further than the maximum (a stricter policy), when launched, then INVALID_STATE', () => {
    const stricter = { ...testPolicy, durationMaxMs: 60 * secondMs };
    expect(refusalOf(() => launchCampaign(draft(), creatorId, t0, stricter, feeBps)).code).toBe('INVALID_STATE');
  });

  it('given a fee outside 0..10000 basis points, when launched, then an invariant stops it', () => {
    expect(() => launchCampaign(draft(), creatorId, t0, testPolicy, 10_001)).toThrow();
    expect(launchCampaign(draft(), creatorId, t0, testPolicy, 0).campaign.feeBps).toBe(0);
  });
});
