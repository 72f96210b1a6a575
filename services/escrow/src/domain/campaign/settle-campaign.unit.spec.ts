// Proves settleCampaign: the outcome of each funding model at and around its goal, and every refusal.
import { createCampaign } from './create-campaign';
import { afterEnd, campaignId, cny, createCommand, creatorId, endsAt, liveCampaign, refusalOf, settled, t0, testPolicy, withPledges } from './fixtures';
import { settleCampaign } from './settle-campaign';

const pledged = (amountMinor: number, fundingModel: 'all_or_nothing' | 'keep_it_all' = 'all_or_nothing') =>
  withPledges(liveCampaign({ fundingModel }), amountMinor === 0 ? [] : [
    { pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(amountMinor - Math.floor(amountMinor / 2)) },
    ...(amountMinor > 1 ? [{ pledgeId: 'pl_b', backerId: 'pt_b', amount: cny(Math.floor(amountMinor / 2)) }] : []),
  ]).campaign;

describe('settleCampaign', () => {
  it('given an all-or-nothing campaign that met its goal exactly, when settled at its end, then succeeded with CampaignSucceeded', () => {
    const { campaign, events } = settleCampaign(pledged(100_000), endsAt);
    expect(campaign).toMatchObject({ state: 'succeeded', settledAt: endsAt });
    expect(events).toEqual([
      {
        type: 'CampaignSucceeded',
        campaignId,
        creatorId,
        occurredAt: endsAt,
        fundingModel: 'all_or_nothing',
        goal: cny(100_000),
        pledged: cny(100_000),
        pledgesCount: 2,
        backersCount: 2,
      },
    ]);
  });

  it('given an all-or-nothing campaign one unit short, when settled, then failed (goal_not_met) with CampaignFailed', () => {
    const { campaign, events } = settleCampaign(pledged(99_999), afterEnd(1));
    expect(campaign).toMatchObject({ state: 'failed', failureReason: 'goal_not_met', settledAt: afterEnd(1) });
    expect(events).toEqual([expect.objectContaining({ type: 'CampaignFailed', reason: 'goal_not_met', pledged: cny(99_999), pledgesCount: 2 })]);
  });

  it('given an all-or-nothing campaign nobody backed, when settled, then failed (goal_not_met)', () => {
    expect(settled(pledged(0))).toMatchObject({ state: 'failed', failureReason: 'goal_not_met' });
  });

  it('given a keep-it-all campaign below its goal, when settled, then succeeded: whatever was pledged is posted', () => {
    expect(settled(pledged(1, 'keep_it_all'))).toMatchObject({ state: 'succeeded', pledged: cny(1) });
  });

  it('given a keep-it-all campaign nobody backed, when settled, then failed (no_pledges): there is nothing to post', () => {
    const { campaign, events } = settleCampaign(pledged(0, 'keep_it_all'), endsAt);
    expect(campaign).toMatchObject({ state: 'failed', failureReason: 'no_pledges' });
    expect(events[0]).toMatchObject({ type: 'CampaignFailed', reason: 'no_pledges', pledgesCount: 0, backersCount: 0 });
  });

  it('given a live campaign one millisecond before its end, when settled, then INVALID_STATE', () => {
    expect(refusalOf(() => settleCampaign(pledged(100_000), new Date(endsAt.getTime() - 1)))).toMatchObject({ code: 'INVALID_STATE', details: { endsAt: endsAt.toISOString() } });
  });

  it('given a campaign that is not live (a draft, or one already settled by another replica), when settled, then CAMPAIGN_NOT_LIVE', () => {
    const draft = createCampaign(createCommand(), t0, testPolicy).campaign;
    expect(refusalOf(() => settleCampaign(draft, afterEnd(0))).code).toBe('CAMPAIGN_NOT_LIVE');
    expect(refusalOf(() => settleCampaign(settled(pledged(100_000)), afterEnd(0)))).toMatchObject({ code: 'CAMPAIGN_NOT_LIVE', details: { state: 'succeeded' } });
  });
});
