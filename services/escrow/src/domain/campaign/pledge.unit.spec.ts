// Proves the pledge lifecycle: placing a planned pledge, every transition with its event, replays that change nothing,
// and a precise refusal for every illegal transition.
import { InvariantViolation } from '@sizhong/kit/domain';
import { afterEnd, at, campaignId, cny, creatorId, deepFreeze, earlyBirdTierId, endsAt, liveCampaign, refusalOf, secondMs, usd } from './fixtures';
import { planPledge, type PledgePlan } from './plan-pledge';
import { cancelPledge, collectPledge, placePledge, refundPledge, voidPledge, type Pledge } from './pledge';

const placedAt = at(secondMs);
const plan = (): PledgePlan => deepFreeze(planPledge(liveCampaign(), { pledgeId: 'pl_1', backerId: 'pt_backer', tierId: earlyBirdTierId, amount: cny(1_200) }, placedAt));
const pending = () => deepFreeze(placePledge(plan(), 'tr_1', placedAt).pledge);
const eventBase = { pledgeId: 'pl_1', campaignId, creatorId, backerId: 'pt_backer', tierId: earlyBirdTierId, amount: cny(1_200), transferId: 'tr_1' };
const cancelled = () => cancelPledge(pending(), 'pt_backer', at(2 * secondMs)).pledge;
const collected = () => collectPledge(pending(), endsAt).pledge;
const voided = () => voidPledge(pending(), endsAt).pledge;
const refunded = () => refundPledge(collected(), cny(700), afterEnd(secondMs)).pledge;

describe('placePledge', () => {
  it('given a plan whose place was taken and a placed hold, when placed, then the pledge is pending with the plan details and PledgePlaced', () => {
    const { pledge, events } = placePledge(plan(), 'tr_1', placedAt);
    expect(pledge).toEqual({ id: 'pl_1', campaignId, creatorId, backerId: 'pt_backer', tierId: earlyBirdTierId, amount: cny(1_200), transferId: 'tr_1', placedAt, state: 'pending' });
    expect(events).toEqual([{ type: 'PledgePlaced', ...eventBase, occurredAt: placedAt }]);
  });

  it('given a plan without a tier, when placed, then neither pledge nor event carries a tier id', () => {
    const withoutTier = planPledge(liveCampaign(), { pledgeId: 'pl_2', backerId: 'pt_b', amount: cny(5) }, placedAt);
    const { pledge, events } = placePledge(withoutTier, 'tr_2', placedAt);
    expect(pledge).not.toHaveProperty('tierId');
    expect(events[0]).not.toHaveProperty('tierId');
  });

  it('needs no campaign: a saga interrupted after its guarded write is completed forward after the end', () => {
    expect(placePledge(plan(), 'tr_1', afterEnd(60 * secondMs)).pledge).toMatchObject({ state: 'pending', placedAt: afterEnd(60 * secondMs) });
  });

  it('treats a missing transfer id or a plan that was never planned as a programmer error', () => {
    expect(() => placePledge(plan(), '', placedAt)).toThrow(InvariantViolation);
    expect(() => placePledge({ ...plan(), amount: cny(0) }, 'tr_1', placedAt)).toThrow(InvariantViolation);
    expect(() => placePledge({ ...plan(), pledgeId: '' }, 'tr_1', placedAt)).toThrow(InvariantViolation);
  });
});

describe('cancelPledge', () => {
  it('given a pending pledge, when its backer cancels, then cancelled with PledgeCancelled', () => {
    const now = at(2 * secondMs);
    const { pledge, events } = cancelPledge(pending(), 'pt_backer', now);
    expect(pledge).toMatchObject({ state: 'cancelled', cancelledAt: now });
    expect(events).toEqual([{ type: 'PledgeCancelled', ...eventBase, occurredAt: now }]);
  });

  it('given a cancelled pledge, when cancelled again, then nothing changes', () => {
    const pledge = cancelled();
    expect(cancelPledge(pledge, 'pt_backer', at(3 * secondMs))).toEqual({ pledge, events: [] });
  });

  it('given anyone but the backer (even the creator), when cancelling, then PERMISSION_DENIED', () => {
    expect(refusalOf(() => cancelPledge(pending(), creatorId, placedAt)).code).toBe('PERMISSION_DENIED');
    expect(refusalOf(() => cancelPledge(pending(), 'pt_other', placedAt)).code).toBe('PERMISSION_DENIED');
  });

  it.each([
    ['collected', collected],
    ['refunded', voided],
  ])('given a %s pledge, when cancelled, then CANCELLATION_WINDOW_CLOSED', (state, build) => {
    expect(refusalOf(() => cancelPledge(build(), 'pt_backer', afterEnd(0)))).toMatchObject({ code: 'CANCELLATION_WINDOW_CLOSED', details: { state } });
  });
});

describe('collectPledge', () => {
  it('given a pending pledge, when its hold is posted, then collected with PledgeCollected', () => {
    const { pledge, events } = collectPledge(pending(), endsAt);
    expect(pledge).toMatchObject({ state: 'collected', collectedAt: endsAt });
    expect(events).toEqual([{ type: 'PledgeCollected', ...eventBase, occurredAt: endsAt }]);
  });

  it('given a collected pledge, when collected again (a retried batch), then nothing changes', () => {
    const pledge = collected();
    expect(collectPledge(pledge, afterEnd(1))).toEqual({ pledge, events: [] });
  });

  it.each([
    ['cancelled', cancelled],
    ['refunded', voided],
  ])('given a %s pledge, when collected, then INVALID_STATE', (state, build) => {
    expect(refusalOf(() => collectPledge(build(), endsAt))).toMatchObject({ code: 'INVALID_STATE', details: { state } });
  });
});

describe('voidPledge', () => {
  it('given a pending pledge of a failed campaign, when its hold is voided, then refunded in full with reason campaign_failed', () => {
    const { pledge, events } = voidPledge(pending(), endsAt);
    expect(pledge).toMatchObject({ state: 'refunded', refundReason: 'campaign_failed', refundedAmount: cny(1_200), refundedAt: endsAt });
    expect(pledge).not.toHaveProperty('collectedAt');
    expect(events).toEqual([{ type: 'PledgeRefunded', ...eventBase, occurredAt: endsAt, reason: 'campaign_failed', refundedAmount: cny(1_200) }]);
  });

  it('given a pledge already voided, when voided again, then nothing changes', () => {
    const pledge = voided();
    expect(voidPledge(pledge, afterEnd(1))).toEqual({ pledge, events: [] });
  });

  it.each([
    ['cancelled', cancelled],
    ['collected', collected],
    ['refunded', refunded],
  ])('given a %s pledge (refunds after delivery included), when voided, then INVALID_STATE', (state, build) => {
    expect(refusalOf(() => voidPledge(build(), endsAt))).toMatchObject({ code: 'INVALID_STATE', details: { state } });
  });
});

describe('refundPledge', () => {
  it('given a collected pledge after a failed delivery, when refunded its share, then refunded with reason delivery_failed and the amount', () => {
    const now = afterEnd(secondMs);
    const { pledge, events } = refundPledge(collected(), cny(700), now);
    expect(pledge).toMatchObject({ state: 'refunded', refundReason: 'delivery_failed', refundedAmount: cny(700), refundedAt: now, collectedAt: endsAt });
    expect(events).toEqual([{ type: 'PledgeRefunded', ...eventBase, occurredAt: now, reason: 'delivery_failed', refundedAmount: cny(700) }]);
  });

  it('accepts a share of zero and of the whole amount', () => {
    expect(refundPledge(collected(), cny(0), endsAt).pledge).toMatchObject({ state: 'refunded', refundedAmount: cny(0) });
    expect(refundPledge(collected(), cny(1_200), endsAt).pledge).toMatchObject({ refundedAmount: cny(1_200) });
  });

  it('given a pledge already refunded after the delivery failure, when refunded the same share again, then nothing changes', () => {
    const pledge = refunded();
    expect(refundPledge(pledge, cny(700), afterEnd(2 * secondMs))).toEqual({ pledge, events: [] });
    expect(() => refundPledge(pledge, cny(701), afterEnd(2 * secondMs))).toThrow(InvariantViolation);
  });

  it.each([
    ['pending', pending],
    ['cancelled', cancelled],
    ['refunded', voided],
  ])('given a %s pledge that was never collected, when refunded, then INVALID_STATE', (state, build) => {
    expect(refusalOf(() => refundPledge(build() as Pledge, cny(1), endsAt))).toMatchObject({ code: 'INVALID_STATE', details: { state } });
  });

  it('treats a share above the pledge, below zero or in another currency as a programmer error', () => {
    expect(() => refundPledge(collected(), cny(1_201), endsAt)).toThrow(InvariantViolation);
    expect(() => refundPledge(collected(), cny(-1), endsAt)).toThrow(InvariantViolation);
    expect(() => refundPledge(collected(), usd(1), endsAt)).toThrow(InvariantViolation);
  });
});
