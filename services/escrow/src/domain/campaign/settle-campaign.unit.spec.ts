// Proves closeCampaign (the deadline's fence) and settleCampaign: the outcome of each funding model on given totals at and around its goal, the events and the
// settled totals the campaign keeps, every refusal, and settledTotalsOf counting the pending pledges.
import { InvariantViolation } from '@sizhong/kit/domain';
import type { LiveCampaign, SettledTotals } from './campaign';
import { createCampaign } from './create-campaign';
import { afterEnd, campaignId, cny, createCommand, creatorId, deepFreeze, endsAt, liveCampaign, refusalOf, settled, settledTotals, t0, testPolicy, usd, withPledges } from './fixtures';
import { cancelPledge, collectPledge, voidPledge } from './pledge';
import { closeCampaign, settleCampaign, settledTotalsOf } from './settle-campaign';

const live = (fundingModel: 'all_or_nothing' | 'keep_it_all' = 'all_or_nothing'): LiveCampaign => deepFreeze(liveCampaign({ fundingModel }));

describe('settleCampaign', () => {
  it('given an all-or-nothing campaign that met its goal exactly, when settled at its end, then succeeded on those totals with CampaignSucceeded', () => {
    const totals = settledTotals(100_000, 3, 2);
    const { campaign, events } = settleCampaign(live(), totals, endsAt);
    expect(campaign).toMatchObject({ state: 'succeeded', settledAt: endsAt, settled: totals });
    expect(events).toEqual([
      { type: 'CampaignSucceeded', campaignId, creatorId, occurredAt: endsAt, fundingModel: 'all_or_nothing', goal: cny(100_000), pledged: cny(100_000), pledgesCount: 3, backersCount: 2 },
    ]);
  });

  it('given an all-or-nothing campaign one unit short, when settled after its end, then failed (goal_not_met) with CampaignFailed', () => {
    const { campaign, events } = settleCampaign(live(), settledTotals(99_999, 2), afterEnd(1));
    expect(campaign).toMatchObject({ state: 'failed', failureReason: 'goal_not_met', settledAt: afterEnd(1), settled: settledTotals(99_999, 2) });
    expect(events).toEqual([
      { type: 'CampaignFailed', campaignId, creatorId, occurredAt: afterEnd(1), fundingModel: 'all_or_nothing', reason: 'goal_not_met', goal: cny(100_000), pledged: cny(99_999), pledgesCount: 2, backersCount: 2 },
    ]);
  });

  it('given an all-or-nothing campaign nobody backed, when settled, then failed (goal_not_met)', () => {
    expect(settleCampaign(live(), settledTotals(0, 0), endsAt).campaign).toMatchObject({ state: 'failed', failureReason: 'goal_not_met' });
  });

  it('given a keep-it-all campaign with one unit pledged, when settled, then succeeded: whatever was pledged is posted', () => {
    expect(settleCampaign(live('keep_it_all'), settledTotals(1, 1), endsAt).campaign).toMatchObject({ state: 'succeeded', settled: settledTotals(1, 1) });
  });

  it('given a keep-it-all campaign nobody backed, when settled, then failed (no_pledges): there is nothing to post', () => {
    const { campaign, events } = settleCampaign(live('keep_it_all'), settledTotals(0, 0), endsAt);
    expect(campaign).toMatchObject({ state: 'failed', failureReason: 'no_pledges' });
    expect(events[0]).toMatchObject({ type: 'CampaignFailed', reason: 'no_pledges', pledged: cny(0), pledgesCount: 0, backersCount: 0 });
  });

  it('keeps only the settled facts, whatever else the caller passed along', () => {
    const withExtra = { ...settledTotals(100_000, 1), remainingByTier: { 'cp_1-t0': 2 } } as SettledTotals;
    expect(settleCampaign(live(), withExtra, endsAt).campaign.settled).toEqual(settledTotals(100_000, 1));
  });

  it('given a live campaign one millisecond before its end, when settled, then INVALID_STATE', () => {
    expect(refusalOf(() => settleCampaign(live(), settledTotals(100_000, 1), new Date(endsAt.getTime() - 1)))).toMatchObject({
      code: 'INVALID_STATE',
      details: { campaignId, endsAt: endsAt.toISOString() },
    });
  });

  it('given a campaign that is not live (a draft, or one already settled by another replica), when settled, then CAMPAIGN_NOT_LIVE', () => {
    const draft = createCampaign(createCommand(), t0, testPolicy).campaign;
    expect(refusalOf(() => settleCampaign(draft, settledTotals(0, 0), afterEnd(0))).code).toBe('CAMPAIGN_NOT_LIVE');
    const once = settleCampaign(live(), settledTotals(100_000, 1), endsAt).campaign;
    expect(refusalOf(() => settleCampaign(once, settledTotals(100_000, 1), afterEnd(0)))).toMatchObject({ code: 'CAMPAIGN_NOT_LIVE', details: { state: 'succeeded' } });
  });

  it.each([
    ['another currency', { pledged: usd(100_000), pledgesCount: 1, backersCount: 1 }],
    ['more backers than pledges', settledTotals(100_000, 1, 2)],
    ['pledges without backers', settledTotals(100_000, 1, 0)],
    ['money without pledges', settledTotals(5, 0, 0)],
    ['pledges below one unit each', settledTotals(2, 3, 1)],
    ['a negative count', settledTotals(0, -1, 0)],
    ['a fractional count', settledTotals(100_000, 1.5, 1)],
  ])('treats totals with %s as a programmer error', (_name, totals) => {
    expect(() => settleCampaign(live(), totals, endsAt)).toThrow(InvariantViolation);
  });
});

describe('settledTotalsOf', () => {
  const { campaign, pledges } = withPledges([
    { pledgeId: 'pl_a1', backerId: 'pt_a', amount: cny(30_000) },
    { pledgeId: 'pl_a2', backerId: 'pt_a', amount: cny(20_000) },
    { pledgeId: 'pl_b', backerId: 'pt_b', amount: cny(40_000) },
    { pledgeId: 'pl_c', backerId: 'pt_c', amount: cny(10_000) },
  ]);

  it('counts the pending pledges, their money and their distinct backers; cancelled pledges no longer count', () => {
    const withCancelled = pledges.map((pledge) => (pledge.id === 'pl_c' ? cancelPledge(pledge, 'pt_c', endsAt).pledge : pledge));
    expect(settledTotalsOf(campaign, withCancelled)).toEqual(settledTotals(90_000, 3, 2));
    expect(settled(campaign, pledges)).toMatchObject({ state: 'succeeded', settled: settledTotals(100_000, 4, 3) });
  });

  it('gives zero totals for no pledges', () => {
    expect(settledTotalsOf(campaign, [])).toEqual(settledTotals(0, 0));
  });

  it('treats a collected or refunded pledge, a pledge of another campaign or one listed twice as a programmer error', () => {
    const first = pledges[0]!;
    expect(() => settledTotalsOf(campaign, [collectPledge(first, endsAt).pledge])).toThrow(InvariantViolation);
    expect(() => settledTotalsOf(campaign, [voidPledge(first, endsAt).pledge])).toThrow(InvariantViolation);
    expect(() => settledTotalsOf(campaign, [{ ...first, campaignId: 'cp_2' }])).toThrow(InvariantViolation);
    expect(() => settledTotalsOf(campaign, [first, first])).toThrow(InvariantViolation);
  });
});

describe('closeCampaign', () => {
  it('given a live campaign at its end, when closed, then closing (the fence) with no event, keeping its fee', () => {
    const { campaign, events } = closeCampaign(live(), endsAt);
    expect(campaign).toMatchObject({ state: 'closing', closingAt: endsAt, feeBps: live().feeBps });
    expect(events).toEqual([]);
  });

  it('given a live campaign before its end (by the closing clock), when closed, then INVALID_STATE', () => {
    expect(refusalOf(() => closeCampaign(live(), new Date(endsAt.getTime() - 1))).code).toBe('INVALID_STATE');
  });

  it('given a closing campaign, when closed again, then nothing changes; when settled, then decided whatever the clock says', () => {
    const closing = deepFreeze(closeCampaign(live(), afterEnd(1)).campaign);
    expect(closeCampaign(closing, afterEnd(2)).campaign).toBe(closing);
    const settledEarly = settleCampaign(closing, settledTotals(100_000, 1), new Date(endsAt.getTime() - 60_000)).campaign;
    expect(settledEarly).toMatchObject({ state: 'succeeded' });
    expect(settledEarly).not.toHaveProperty('closingAt');
  });

  it('given a draft or a settled campaign, when closed, then CAMPAIGN_NOT_LIVE', () => {
    const draft = createCampaign(createCommand(), t0, testPolicy).campaign;
    expect(refusalOf(() => closeCampaign(draft, afterEnd(0))).code).toBe('CAMPAIGN_NOT_LIVE');
    expect(refusalOf(() => closeCampaign(settled(liveCampaign()), afterEnd(0))).code).toBe('CAMPAIGN_NOT_LIVE');
  });
});
