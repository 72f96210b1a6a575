// Proves the cancellation window: the guard kind before and in the last call, the refusals at the end and off live,
// what the keep_goal_met guard lets through (at its bounds and, property-based, for any totals), and the read-model
// check over given totals, including concurrent cancellations decided one after another on the totals each left.
import { InvariantViolation, subtract } from '@sizhong/kit/domain';
import fc from 'fast-check';
import type { CampaignTotals, LiveCampaign } from './campaign';
import { cancellationAllowed, cancellationGuard, cancellationGuardAllows, checkCancellationAllowed, type CancellationGuard, type PledgeToCancel } from './cancellation';
import { createCampaign } from './create-campaign';
import { at, campaignId, cny, createCommand, deepFreeze, endsAt, liveCampaign, refusalOf, secondMs, settled, t0, testPolicy, totalsOf } from './fixtures';

const lastCallStartsAt = new Date(endsAt.getTime() - testPolicy.lastCallMs);
const beforeLastCall = new Date(lastCallStartsAt.getTime() - 1);
const pledge = (id: string, amountMinor: number): PledgeToCancel => ({ id, campaignId, amount: cny(amountMinor) });
const pledged = (campaign: LiveCampaign, amountMinor: number, pledgesCount = 2): CampaignTotals => totalsOf(campaign, { pledged: cny(amountMinor), pledgesCount, backersCount: pledgesCount });

/** Goal 100 000: A pledged 90 000 and B 10 000, so the goal is met exactly and either cancellation would drop it. */
const campaign = deepFreeze(liveCampaign());
const a = pledge('pl_a', 90_000);
const b = pledge('pl_b', 10_000);
const metExactly = pledged(campaign, 100_000);

describe('cancellationGuard', () => {
  it('given any moment before the last call, when asked, then any (no condition on the totals)', () => {
    expect(cancellationGuard(campaign, b, t0, testPolicy)).toEqual({ kind: 'any' });
    expect(cancellationGuard(campaign, b, beforeLastCall, testPolicy)).toEqual({ kind: 'any' });
  });

  it('given the first moment of the last call up to the last millisecond before the end, when asked, then keep_goal_met with the goal and the amount', () => {
    const guard: CancellationGuard = { kind: 'keep_goal_met', goal: cny(100_000), amount: cny(10_000) };
    expect(cancellationGuard(campaign, b, lastCallStartsAt, testPolicy)).toEqual(guard);
    expect(cancellationGuard(campaign, b, new Date(endsAt.getTime() - 1), testPolicy)).toEqual(guard);
  });

  it('applies to keep-it-all campaigns too: the goal is what backers were promised', () => {
    expect(cancellationGuard(liveCampaign({ fundingModel: 'keep_it_all' }), b, lastCallStartsAt, testPolicy).kind).toBe('keep_goal_met');
  });

  it('given the end has come but the campaign is not settled yet, when asked, then CANCELLATION_WINDOW_CLOSED with the end', () => {
    expect(refusalOf(() => cancellationGuard(campaign, b, endsAt, testPolicy))).toMatchObject({
      code: 'CANCELLATION_WINDOW_CLOSED',
      details: { campaignId, endsAt: endsAt.toISOString() },
    });
  });

  it('given a campaign that is not live (a draft, a settled one), when asked, then CAMPAIGN_NOT_LIVE with its state', () => {
    const draft = createCampaign(createCommand(), t0, testPolicy).campaign;
    expect(refusalOf(() => cancellationGuard(draft, b, t0, testPolicy))).toMatchObject({ code: 'CAMPAIGN_NOT_LIVE', details: { state: 'draft' } });
    expect(refusalOf(() => cancellationGuard(settled(campaign), b, endsAt, testPolicy))).toMatchObject({ code: 'CAMPAIGN_NOT_LIVE', details: { state: 'failed' } });
  });

  it('treats a pledge of another campaign, a bad amount or a bad policy as a programmer error', () => {
    expect(() => cancellationGuard(campaign, { ...b, campaignId: 'cp_2' }, t0, testPolicy)).toThrow(InvariantViolation);
    expect(() => cancellationGuard(campaign, pledge('pl_z', 0), t0, testPolicy)).toThrow(InvariantViolation);
    expect(() => cancellationGuard(campaign, b, t0, { ...testPolicy, deliveryGraceMs: testPolicy.milestoneSilenceMs })).toThrow(InvariantViolation);
  });
});

describe('cancellationGuardAllows', () => {
  const keep = (amountMinor: number): CancellationGuard => ({ kind: 'keep_goal_met', goal: cny(100_000), amount: cny(amountMinor) });

  it('lets anything through the any guard', () => {
    expect(cancellationGuardAllows({ kind: 'any' }, cny(100_000))).toBe(true);
  });

  it('lets a cancellation through while the goal is unmet, however small the total', () => {
    expect(cancellationGuardAllows(keep(10_000), cny(99_999))).toBe(true);
    expect(cancellationGuardAllows(keep(10_000), cny(0))).toBe(true);
  });

  it('given a met goal, lets a cancellation through exactly when the rest still meets it', () => {
    expect(cancellationGuardAllows(keep(10_000), cny(110_000))).toBe(true);
    expect(cancellationGuardAllows(keep(10_000), cny(109_999))).toBe(false);
    expect(cancellationGuardAllows(keep(1), cny(100_000))).toBe(false);
  });

  it('allows exactly when the cancellation does not drop a met goal below it, for any totals (property)', () => {
    const amounts = fc.bigInt({ min: 0n, max: 10n ** 13n });
    fc.assert(
      fc.property(amounts, amounts, fc.bigInt({ min: 1n, max: 10n ** 12n }), (pledgedMinor, goalMinor, amountMinor) => {
        const guard: CancellationGuard = { kind: 'keep_goal_met', goal: cny(goalMinor), amount: cny(amountMinor) };
        const metBefore = pledgedMinor >= goalMinor;
        const metAfter = pledgedMinor - amountMinor >= goalMinor;
        expect(cancellationGuardAllows(guard, cny(pledgedMinor))).toBe(!metBefore || metAfter);
      }),
      { numRuns: 500 },
    );
  });
});

describe('checkCancellationAllowed', () => {
  it('given a met goal before the last call, when a cancellation would drop it, then it is allowed', () => {
    expect(() => checkCancellationAllowed(campaign, metExactly, b, beforeLastCall, testPolicy)).not.toThrow();
    expect(cancellationAllowed(campaign, metExactly, b, beforeLastCall, testPolicy)).toBe(true);
  });

  it('given a met goal from the first moment of the last call, when a cancellation would drop it, then CANCELLATION_WINDOW_CLOSED with the start of the last call', () => {
    expect(refusalOf(() => checkCancellationAllowed(campaign, metExactly, b, lastCallStartsAt, testPolicy))).toMatchObject({
      code: 'CANCELLATION_WINDOW_CLOSED',
      details: { campaignId, lastCallStartsAt: lastCallStartsAt.toISOString() },
    });
    expect(cancellationAllowed(campaign, metExactly, a, new Date(endsAt.getTime() - 1), testPolicy)).toBe(false);
  });

  it('given a goal met with room to spare in the last call, when the cancellation keeps it met, then it is allowed', () => {
    const withRoom = pledged(campaign, 110_000);
    expect(cancellationAllowed(campaign, withRoom, pledge('pl_b', 10_000), lastCallStartsAt, testPolicy)).toBe(true);
    expect(cancellationAllowed(campaign, withRoom, pledge('pl_a', 100_000), lastCallStartsAt, testPolicy)).toBe(false);
  });

  it('given a goal not met in the last call, when a backer cancels, then it is allowed (nothing met to protect)', () => {
    expect(cancellationAllowed(campaign, pledged(campaign, 99_999, 1), pledge('pl_a', 99_999), lastCallStartsAt, testPolicy)).toBe(true);
  });

  it('answers false, not a throw, for the refusals of the guard itself', () => {
    expect(cancellationAllowed(campaign, metExactly, b, endsAt, testPolicy)).toBe(false);
    expect(cancellationAllowed(settled(campaign), metExactly, b, endsAt, testPolicy)).toBe(false);
  });

  it('given several cancellations in the last call, when each is decided on the totals the previous one left, then together they cannot drop a met goal', () => {
    // 110 000 → 105 000 → 100 000: still met. Cancelling A (100 000) now would drop it.
    const [pledgeA, pledgeB, pledgeC] = [pledge('pl_a', 100_000), pledge('pl_b', 5_000), pledge('pl_c', 5_000)];
    let totals = pledged(campaign, 110_000, 3);
    for (const cancelling of [pledgeB, pledgeC]) {
      const guard = cancellationGuard(campaign, cancelling, lastCallStartsAt, testPolicy);
      expect(cancellationGuardAllows(guard, totals.pledged)).toBe(true);
      totals = { ...totals, pledged: subtract(totals.pledged, cancelling.amount), pledgesCount: totals.pledgesCount - 1, backersCount: totals.backersCount - 1 };
    }
    expect(refusalOf(() => checkCancellationAllowed(campaign, totals, pledgeA, lastCallStartsAt, testPolicy)).code).toBe('CANCELLATION_WINDOW_CLOSED');
  });

  it('treats impossible totals as a programmer error', () => {
    expect(() => checkCancellationAllowed(campaign, totalsOf(campaign, { pledged: cny(5), pledgesCount: 0 }), b, at(secondMs), testPolicy)).toThrow(InvariantViolation);
  });
});
