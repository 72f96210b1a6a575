// Proves delivery: starting it against the settled totals, milestone votes weighted by the backer's collected money
// (released on more than half), overdue reports and silence releases, the admin's failDelivery, the scheduler's next
// due time, and every refusal.
import { InvariantViolation, type Money } from '@sizhong/kit/domain';
import type { Campaign, DeliveringCampaign } from './campaign';
import { acceptedByMajority, acceptMilestone, advanceDelivery, failDelivery, nextDueAt, startDelivery } from './delivery';
import {
  afterEnd,
  campaignId,
  cny,
  collectedBy,
  creatorId,
  deepFreeze,
  deliveringCampaign,
  deliveringFrom,
  endsAt,
  feeBps,
  liveCampaign,
  refusalOf,
  secondMs,
  settled,
  settledTotals,
  testPolicy,
  usd,
  withPledges,
} from './fixtures';
import type { Pledge } from './pledge';
import { settleCampaign } from './settle-campaign';
import { planSettlement } from './settlement-plan';

const firstDueAt = afterEnd(100 * secondMs);
const secondDueAt = afterEnd(1_000 * secondMs);
const later = (instant: Date, offsetMs: number) => new Date(instant.getTime() + offsetMs);
/** The fixture's backers and their collected money, as their position documents hold it: A 60 000, B 30 000, C 10 000. */
const fixture = deliveringCampaign();
const weightOf = (backerId: string, pledges: readonly Pledge[] = fixture.pledges): Money => collectedBy(pledges, backerId);
const accept = (campaign: Campaign, backerId: string, milestoneIndex = 0, weight: Money = weightOf(backerId)) => acceptMilestone(campaign, backerId, weight, milestoneIndex, afterEnd(secondMs));
const delivering = () => deepFreeze(deliveringCampaign().campaign);

describe('startDelivery', () => {
  it('given a succeeded campaign with milestones, when delivery starts, then the payout is recorded, milestone 0 opens and the rest wait with their amounts', () => {
    const { campaign, pledges } = withPledges([
      { pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(60_000) },
      { pledgeId: 'pl_b', backerId: 'pt_b', amount: cny(40_000) },
    ]);
    const succeeded = settled(campaign, pledges);
    const { campaign: started, events } = startDelivery(succeeded, planSettlement(succeeded, pledges, feeBps), endsAt);

    expect(started.state).toBe('delivering');
    expect(started.settled).toEqual(settledTotals(100_000, 2));
    expect(started).toMatchObject({ payout: { collected: cny(100_000), fee: cny(5_000), net: cny(95_000), startedAt: endsAt } });
    expect(started.milestones).toEqual([
      expect.objectContaining({ index: 0, state: 'open', amount: cny(28_500), openedAt: endsAt, acceptedBackerIds: [], acceptedAmount: cny(0) }),
      expect.objectContaining({ index: 1, state: 'waiting', amount: cny(66_500) }),
    ]);
    expect(events).toEqual([
      { type: 'CampaignDeliveryStarted', campaignId, creatorId, occurredAt: endsAt, collected: cny(100_000), fee: cny(5_000), net: cny(95_000), milestoneAmounts: [cny(28_500), cny(66_500)] },
    ]);
  });

  it('given a succeeded campaign without milestones, when delivery starts, then the whole net is released at once and it is delivered', () => {
    const { campaign, pledges } = withPledges([{ pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(100_000) }], { milestones: undefined });
    const succeeded = settled(campaign, pledges);
    const { campaign: done, events } = startDelivery(succeeded, planSettlement(succeeded, pledges, feeBps), endsAt);

    expect(done).toMatchObject({ state: 'delivered', deliveredAt: endsAt });
    expect(events.map((event) => event.type)).toEqual(['CampaignDeliveryStarted', 'CampaignPayoutReleased', 'CampaignDelivered']);
    expect(events[1]).toMatchObject({ amount: cny(95_000) });
    expect(events[2]).toMatchObject({ released: cny(95_000), milestonesCount: 0 });
  });

  it('given a campaign that has not succeeded or already started, when delivery starts, then INVALID_STATE', () => {
    const { campaign, pledges } = withPledges([{ pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(100_000) }]);
    const succeeded = settled(campaign, pledges);
    const plan = planSettlement(succeeded, pledges, feeBps);
    expect(refusalOf(() => startDelivery(campaign, plan, endsAt))).toMatchObject({ code: 'INVALID_STATE', details: { state: 'live' } });
    const started = startDelivery(succeeded, plan, endsAt).campaign;
    expect(refusalOf(() => startDelivery(started, plan, endsAt)).details.state).toBe('delivering');
    expect(refusalOf(() => startDelivery(settled(campaign), plan, endsAt)).details.state).toBe('failed');
  });

  it('treats a plan of another campaign, one that does not conserve money, or one collecting other than the settled total as a programmer error', () => {
    const { campaign, pledges } = withPledges([{ pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(100_000) }], { fundingModel: 'keep_it_all' });
    const succeeded = settled(campaign, pledges);
    const plan = planSettlement(succeeded, pledges, feeBps);
    expect(() => startDelivery(succeeded, { ...plan, campaignId: 'cp_2' }, endsAt)).toThrow(InvariantViolation);
    expect(() => startDelivery(succeeded, { ...plan, fee: cny(4_999) }, endsAt)).toThrow(InvariantViolation);
    const other = settleCampaign(campaign, settledTotals(90_000, 1), endsAt).campaign;
    expect(() => startDelivery(other, plan, endsAt)).toThrow(InvariantViolation);
  });
});

describe('acceptMilestone', () => {
  it('given backers holding more than half of the collected money accept, then the milestone is released and the next one opens', () => {
    // A holds 60 000 of 100 000.
    const { campaign, events, outcome } = accept(delivering(), 'pt_a');

    expect(outcome).toBe('accepted');
    expect(events).toEqual([
      { type: 'MilestoneAccepted', campaignId, creatorId, occurredAt: afterEnd(secondMs), milestoneIndex: 0, backerId: 'pt_a', backerWeight: cny(60_000), acceptedAmount: cny(60_000), collected: cny(100_000) },
      { type: 'MilestoneReleased', campaignId, creatorId, occurredAt: afterEnd(secondMs), milestoneIndex: 0, amount: cny(28_500), reason: 'backer_acceptance', dueAt: firstDueAt },
    ]);
    expect(campaign.milestones[0]).toMatchObject({ state: 'released', releaseReason: 'backer_acceptance', acceptedBackersCount: 1, acceptedAmount: cny(60_000) });
    expect(campaign.milestones[0]).not.toHaveProperty('acceptedBackerIds');
    expect(campaign.milestones[1]).toMatchObject({ state: 'open', openedAt: afterEnd(secondMs) });
  });

  it('given backers holding less than half accept, then votes are counted but nothing is released', () => {
    const afterB = accept(delivering(), 'pt_b');
    const afterC = accept(afterB.campaign, 'pt_c');
    expect(afterC.events.map((event) => event.type)).toEqual(['MilestoneAccepted']);
    expect(afterC.campaign.milestones[0]).toMatchObject({ state: 'open', acceptedBackerIds: ['pt_b', 'pt_c'], acceptedAmount: cny(40_000) });
  });

  it('given backers holding exactly half accept, then it is not yet released: the rule needs more than half', () => {
    expect(acceptedByMajority(cny(50_000), cny(100_000))).toBe(false);
    expect(acceptedByMajority(cny(50_001), cny(100_000))).toBe(true);
    const { campaign: started, pledges } = deliveringFrom([
      { pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(50_000) },
      { pledgeId: 'pl_b', backerId: 'pt_b', amount: cny(50_000) },
    ]);
    const half = accept(started, 'pt_a', 0, weightOf('pt_a', pledges));
    expect(half.campaign.milestones[0]).toMatchObject({ state: 'open', acceptedAmount: cny(50_000) });
    expect(accept(half.campaign, 'pt_b', 0, weightOf('pt_b', pledges)).campaign.milestones[0]?.state).toBe('released');
  });

  it('weights a vote by the collected money it is given (all of the backer\'s pledges, as their position holds it)', () => {
    const { campaign: started, pledges } = deliveringFrom([
      { pledgeId: 'pl_a1', backerId: 'pt_a', amount: cny(30_000) },
      { pledgeId: 'pl_a2', backerId: 'pt_a', amount: cny(30_000) },
      { pledgeId: 'pl_b', backerId: 'pt_b', amount: cny(40_000) },
    ]);
    expect(weightOf('pt_a', pledges)).toEqual(cny(60_000));
    const { events } = accept(started, 'pt_a', 0, weightOf('pt_a', pledges));
    expect(events[0]).toMatchObject({ backerWeight: cny(60_000), acceptedAmount: cny(60_000) });
    expect(events[1]).toMatchObject({ type: 'MilestoneReleased' });
  });

  it('decides on the weight alone: the same backer given less than half does not release', () => {
    const { campaign, events } = accept(delivering(), 'pt_a', 0, cny(50_000));
    expect(events.map((event) => event.type)).toEqual(['MilestoneAccepted']);
    expect(campaign.milestones[0]).toMatchObject({ state: 'open', acceptedBackerIds: ['pt_a'], acceptedAmount: cny(50_000) });
  });

  it('given votes that together pass half, then the vote that crosses it releases', () => {
    const afterB = accept(delivering(), 'pt_b');
    const afterC = accept(afterB.campaign, 'pt_c');
    expect(afterC.campaign.milestones[0]?.state).toBe('open');
    const crossing = accept(afterC.campaign, 'pt_a');
    expect(crossing.events[0]).toMatchObject({ acceptedAmount: cny(100_000) });
    expect(crossing.campaign.milestones[0]).toMatchObject({ state: 'released', acceptedBackersCount: 3, acceptedAmount: cny(100_000) });
  });

  it('given a backer who already accepted, when they accept again, then already_accepted and nothing changes', () => {
    const once = accept(delivering(), 'pt_b').campaign;
    expect(accept(once, 'pt_b')).toEqual({ campaign: once, events: [], outcome: 'already_accepted' });
  });

  it('given the last milestone is released, then the campaign is delivered with CampaignDelivered', () => {
    const first = accept(delivering(), 'pt_a').campaign;
    const { campaign, events } = accept(first, 'pt_a', 1);
    expect(campaign).toMatchObject({ state: 'delivered', deliveredAt: afterEnd(secondMs) });
    expect(events.map((event) => event.type)).toEqual(['MilestoneAccepted', 'MilestoneReleased', 'CampaignDelivered']);
    expect(events[2]).toMatchObject({ released: cny(95_000), milestonesCount: 2 });
  });

  it('given someone whose collected money is zero (a stranger, a backer who cancelled, the creator), when they accept, then PERMISSION_DENIED', () => {
    expect(refusalOf(() => accept(delivering(), 'pt_stranger'))).toMatchObject({ code: 'PERMISSION_DENIED', details: { campaignId } });
    expect(refusalOf(() => accept(delivering(), 'pt_a', 0, cny(0))).code).toBe('PERMISSION_DENIED');
    expect(refusalOf(() => accept(delivering(), creatorId)).code).toBe('PERMISSION_DENIED');
  });

  it('refuses the creator even when given a weight (the creator cannot have pledged; a weight for them is a bug upstream)', () => {
    expect(refusalOf(() => accept(delivering(), creatorId, 0, cny(60_000))).code).toBe('PERMISSION_DENIED');
  });

  it('treats a weight in another currency, below zero or above the collected total as a programmer error', () => {
    expect(() => accept(delivering(), 'pt_a', 0, usd(60_000))).toThrow(InvariantViolation);
    expect(() => accept(delivering(), 'pt_a', 0, cny(-1))).toThrow(InvariantViolation);
    expect(() => accept(delivering(), 'pt_a', 0, cny(100_001))).toThrow(InvariantViolation);
  });

  it('given an unknown milestone index, when accepted, then NOT_FOUND', () => {
    expect(refusalOf(() => accept(delivering(), 'pt_a', 2))).toMatchObject({ code: 'NOT_FOUND', details: { milestoneIndex: 2 } });
    expect(refusalOf(() => accept(delivering(), 'pt_a', -1)).code).toBe('NOT_FOUND');
  });

  it('given a milestone that is waiting or already released, when accepted, then INVALID_STATE', () => {
    expect(refusalOf(() => accept(delivering(), 'pt_a', 1))).toMatchObject({ code: 'INVALID_STATE', details: { state: 'waiting' } });
    const released = accept(delivering(), 'pt_a').campaign;
    expect(refusalOf(() => accept(released, 'pt_b', 0)).details.state).toBe('released');
  });

  it('given a campaign that is not delivering, when accepted, then INVALID_STATE', () => {
    expect(refusalOf(() => accept(liveCampaign(), 'pt_a'))).toMatchObject({ code: 'INVALID_STATE', details: { state: 'live' } });
    const delivered = advanceDelivery(delivering(), later(secondDueAt, testPolicy.milestoneSilenceMs), testPolicy).campaign;
    expect(refusalOf(() => accept(delivered, 'pt_a')).details.state).toBe('delivered');
  });
});

describe('advanceDelivery', () => {
  it('given the open milestone is not yet past its grace, when advanced, then nothing happens', () => {
    const campaign = delivering();
    expect(advanceDelivery(campaign, later(firstDueAt, testPolicy.deliveryGraceMs - 1), testPolicy)).toEqual({ campaign, events: [] });
  });

  it('given the grace has passed without a release, when advanced, then DeliveryOverdue is reported once', () => {
    const now = later(firstDueAt, testPolicy.deliveryGraceMs);
    const { campaign, events } = advanceDelivery(delivering(), now, testPolicy);
    expect(events).toEqual([{ type: 'DeliveryOverdue', campaignId, creatorId, occurredAt: now, milestoneIndex: 0, dueAt: firstDueAt, amount: cny(28_500) }]);
    expect(campaign.milestones[0]).toMatchObject({ state: 'open', overdueReportedAt: now });
    expect(advanceDelivery(campaign, later(now, secondMs), testPolicy).events).toEqual([]);
  });

  it('given the silence window has passed, when advanced, then the milestone is released by silence and the next one opens', () => {
    const overdue = advanceDelivery(delivering(), later(firstDueAt, testPolicy.deliveryGraceMs), testPolicy).campaign;
    const now = later(firstDueAt, testPolicy.milestoneSilenceMs);
    expect(advanceDelivery(overdue, later(now, -1), testPolicy).events).toEqual([]);
    const { campaign, events } = advanceDelivery(overdue, now, testPolicy);

    expect(events).toEqual([{ type: 'MilestoneReleased', campaignId, creatorId, occurredAt: now, milestoneIndex: 0, amount: cny(28_500), reason: 'silence', dueAt: firstDueAt }]);
    expect(campaign.milestones[0]).toMatchObject({ state: 'released', releaseReason: 'silence', overdueReportedAt: later(firstDueAt, testPolicy.deliveryGraceMs) });
    expect(campaign.milestones[1]).toMatchObject({ state: 'open', openedAt: now });
  });

  it('given a scheduler that was down past every deadline, when advanced, then it catches up in one call and delivers', () => {
    const now = later(secondDueAt, testPolicy.milestoneSilenceMs);
    const { campaign, events } = advanceDelivery(delivering(), now, testPolicy);
    expect(events.map((event) => event.type)).toEqual(['DeliveryOverdue', 'MilestoneReleased', 'DeliveryOverdue', 'MilestoneReleased', 'CampaignDelivered']);
    expect(campaign).toMatchObject({ state: 'delivered', deliveredAt: now });
  });

  it('given a campaign that is not delivering, when advanced, then INVALID_STATE', () => {
    expect(refusalOf(() => advanceDelivery(liveCampaign(), endsAt, testPolicy)).code).toBe('INVALID_STATE');
  });
});

describe('failDelivery', () => {
  it('given a delivering campaign with one milestone released, when an admin fails it, then the rest is refunded and CampaignDeliveryFailed is published', () => {
    const partly = accept(delivering(), 'pt_a').campaign;
    const now = later(secondDueAt, secondMs);
    const { campaign, events } = failDelivery(partly, now);

    expect(campaign).toMatchObject({ state: 'delivery_failed', deliveryFailedAt: now, refundAmount: cny(66_500) });
    expect(campaign.milestones.map((milestone) => milestone.state)).toEqual(['released', 'refunded']);
    expect(campaign.milestones[1]).toMatchObject({ amount: cny(66_500), refundedAt: now });
    expect(events).toEqual([
      { type: 'CampaignDeliveryFailed', campaignId, creatorId, occurredAt: now, released: cny(28_500), refundAmount: cny(66_500), milestonesReleasedCount: 1, milestonesRefundedCount: 1 },
    ]);
  });

  it('given nothing was released yet, when failed, then the whole net is refunded', () => {
    expect(failDelivery(delivering(), endsAt).campaign.refundAmount).toEqual(cny(95_000));
  });

  it('given a campaign that is not delivering (delivered, succeeded, live), when failed, then INVALID_STATE', () => {
    const delivered = advanceDelivery(delivering(), later(secondDueAt, testPolicy.milestoneSilenceMs), testPolicy).campaign;
    expect(refusalOf(() => failDelivery(delivered, endsAt))).toMatchObject({ code: 'INVALID_STATE', details: { state: 'delivered' } });
    expect(refusalOf(() => failDelivery(liveCampaign(), endsAt)).details.state).toBe('live');
    const failedAlready = failDelivery(delivering(), endsAt).campaign;
    expect(refusalOf(() => failDelivery(failedAlready, endsAt)).details.state).toBe('delivery_failed');
  });
});

describe('nextDueAt', () => {
  it('is the end while live, at once while succeeded, the grace then the silence of the open milestone while delivering, and nothing otherwise', () => {
    const campaign: DeliveringCampaign = delivering();
    expect(nextDueAt(liveCampaign(), testPolicy)).toEqual(endsAt);
    expect(nextDueAt(campaign, testPolicy)).toEqual(later(firstDueAt, testPolicy.deliveryGraceMs));
    const overdue = advanceDelivery(campaign, later(firstDueAt, testPolicy.deliveryGraceMs), testPolicy).campaign;
    expect(nextDueAt(overdue, testPolicy)).toEqual(later(firstDueAt, testPolicy.milestoneSilenceMs));
    expect(nextDueAt(settled(liveCampaign()), testPolicy)).toBeUndefined();
    expect(nextDueAt(settleCampaign(liveCampaign(), settledTotals(100_000, 1), afterEnd(5)).campaign, testPolicy)).toEqual(afterEnd(5));
    expect(nextDueAt(failDelivery(campaign, endsAt).campaign, testPolicy)).toBeUndefined();
  });
});
