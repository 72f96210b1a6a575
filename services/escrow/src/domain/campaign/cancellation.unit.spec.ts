// Proves the cancellation window: free while live, closed at the end, and in the last call only when it would drop a met goal below it.
import { InvariantViolation } from '@sizhong/kit';
import { cancellationAllowed, cancelPledgeReservation, checkCancellationAllowed } from './cancellation';
import type { LiveCampaign } from './campaign';
import { createCampaign } from './create-campaign';
import { at, cny, createCommand, deepFreeze, endsAt, liveCampaign, pledgeOf, refusalOf, secondMs, settled, t0, testPolicy, withPledges } from './fixtures';
import type { Pledge } from './pledge';

const lastCallStartsAt = new Date(endsAt.getTime() - testPolicy.lastCallMs);
const beforeLastCall = new Date(lastCallStartsAt.getTime() - 1);

/** Goal 100 000: A pledged 90 000 and B 10 000, so the goal is met exactly and either cancellation would drop it. */
function metExactly(fundingModel: 'all_or_nothing' | 'keep_it_all' = 'all_or_nothing'): { campaign: LiveCampaign; a: Pledge; b: Pledge } {
  const { campaign, pledges } = withPledges(liveCampaign({ fundingModel }), [
    { pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(90_000) },
    { pledgeId: 'pl_b', backerId: 'pt_b', amount: cny(10_000) },
  ]);
  return { campaign: deepFreeze(campaign), a: pledgeOf(pledges, 'pl_a'), b: pledgeOf(pledges, 'pl_b') };
}

describe('checkCancellationAllowed', () => {
  it('given a met goal before the last call, when a cancellation would drop it, then it is allowed', () => {
    const { campaign, b } = metExactly();
    expect(() => checkCancellationAllowed(campaign, b, beforeLastCall, testPolicy)).not.toThrow();
    expect(cancellationAllowed(campaign, b, beforeLastCall, testPolicy)).toBe(true);
  });

  it('given a met goal from the first moment of the last call, when a cancellation would drop it, then CANCELLATION_WINDOW_CLOSED', () => {
    const { campaign, b } = metExactly();
    expect(refusalOf(() => checkCancellationAllowed(campaign, b, lastCallStartsAt, testPolicy))).toMatchObject({
      code: 'CANCELLATION_WINDOW_CLOSED',
      details: { lastCallStartsAt: lastCallStartsAt.toISOString() },
    });
    expect(cancellationAllowed(campaign, b, new Date(endsAt.getTime() - 1), testPolicy)).toBe(false);
  });

  it('applies to keep-it-all campaigns too: the goal is what backers were promised', () => {
    const { campaign, b } = metExactly('keep_it_all');
    expect(refusalOf(() => checkCancellationAllowed(campaign, b, lastCallStartsAt, testPolicy)).code).toBe('CANCELLATION_WINDOW_CLOSED');
  });

  it('given a goal met with room to spare in the last call, when the cancellation keeps it met, then it is allowed', () => {
    const { campaign, pledges } = withPledges(liveCampaign(), [
      { pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(100_000) },
      { pledgeId: 'pl_b', backerId: 'pt_b', amount: cny(10_000) },
    ]);
    expect(cancellationAllowed(campaign, pledgeOf(pledges, 'pl_b'), lastCallStartsAt, testPolicy)).toBe(true);
    expect(cancellationAllowed(campaign, pledgeOf(pledges, 'pl_a'), lastCallStartsAt, testPolicy)).toBe(false);
  });

  it('given a goal not met in the last call, when a backer cancels, then it is allowed (nothing met to protect)', () => {
    const { campaign, pledges } = withPledges(liveCampaign(), [{ pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(99_999) }]);
    expect(cancellationAllowed(campaign, pledgeOf(pledges, 'pl_a'), lastCallStartsAt, testPolicy)).toBe(true);
  });

  it('given the end has come but the campaign is not settled yet, when a backer cancels, then CANCELLATION_WINDOW_CLOSED', () => {
    const { campaign, pledges } = withPledges(liveCampaign(), [{ pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(1) }]);
    expect(refusalOf(() => checkCancellationAllowed(campaign, pledgeOf(pledges, 'pl_a'), endsAt, testPolicy)).code).toBe('CANCELLATION_WINDOW_CLOSED');
  });

  it('given a campaign that is not live, when a backer cancels, then CAMPAIGN_NOT_LIVE', () => {
    const { campaign, b } = metExactly();
    expect(refusalOf(() => checkCancellationAllowed(settled(campaign), b, endsAt, testPolicy))).toMatchObject({ code: 'CAMPAIGN_NOT_LIVE', details: { state: 'succeeded' } });
    const draft = createCampaign(createCommand(), t0, testPolicy).campaign;
    expect(refusalOf(() => checkCancellationAllowed(draft, b, t0, testPolicy)).code).toBe('CAMPAIGN_NOT_LIVE');
  });

  it('treats a pledge of another campaign as a programmer error', () => {
    const { campaign, b } = metExactly();
    expect(() => checkCancellationAllowed(campaign, { ...b, campaignId: 'cp_2' }, t0, testPolicy)).toThrow(InvariantViolation);
  });
});

describe('cancelPledgeReservation', () => {
  it('given an allowed cancellation, when applied, then the reservation is released in the same step', () => {
    const { campaign, b } = metExactly();
    const result = cancelPledgeReservation(campaign, b, at(secondMs), testPolicy);
    expect(result.outcome).toBe('released');
    expect(result.campaign.pledged).toEqual(cny(90_000));
    expect(result.campaign.backersCount).toBe(1);
  });

  it('given a closed window, when applied, then the refusal leaves the campaign untouched', () => {
    const { campaign, b } = metExactly();
    expect(refusalOf(() => cancelPledgeReservation(campaign, b, lastCallStartsAt, testPolicy)).code).toBe('CANCELLATION_WINDOW_CLOSED');
    expect(campaign.pledged).toEqual(cny(100_000));
  });

  it('given several cancellations in the last call, when applied one after another, then each is decided on the totals the previous one wrote, so together they cannot drop a met goal', () => {
    const { campaign, pledges } = withPledges(liveCampaign(), [
      { pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(100_000) },
      { pledgeId: 'pl_b', backerId: 'pt_b', amount: cny(5_000) },
      { pledgeId: 'pl_c', backerId: 'pt_c', amount: cny(5_000) },
    ]);
    const first = cancelPledgeReservation(campaign, pledgeOf(pledges, 'pl_b'), lastCallStartsAt, testPolicy);
    expect(first.outcome).toBe('released');
    // 110 000 → 105 000 → 100 000: still met. Cancelling A now would drop it.
    const second = cancelPledgeReservation(first.campaign, pledgeOf(pledges, 'pl_c'), lastCallStartsAt, testPolicy);
    expect(second.outcome).toBe('released');
    expect(refusalOf(() => cancelPledgeReservation(second.campaign, pledgeOf(pledges, 'pl_a'), lastCallStartsAt, testPolicy)).code).toBe('CANCELLATION_WINDOW_CLOSED');
  });

  it('given the reservation was already released (a retry), when applied, then not_reserved without checking the window again', () => {
    const { campaign, b } = metExactly();
    const released = cancelPledgeReservation(campaign, b, at(secondMs), testPolicy).campaign;
    expect(cancelPledgeReservation(released, b, endsAt, testPolicy)).toEqual({ outcome: 'not_reserved', campaign: released });
  });

  it('treats a pledge whose amount differs from its reservation as a programmer error', () => {
    const { campaign, b } = metExactly();
    expect(() => cancelPledgeReservation(campaign, { ...b, amount: cny(1) }, at(secondMs), testPolicy)).toThrow(InvariantViolation);
  });
});
