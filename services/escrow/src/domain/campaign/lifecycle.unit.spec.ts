// Proves the rules compose the way the app layer will call them (plan → guarded counter write → hold → pledge; cancel
// through the guard; close, count, settle, plan, post/void), from creation to delivery or refund, and (property-based)
// that across any run every collected unit ends as fee, creator payout or refund.
import { add } from '@sizhong/kit/domain';
import fc from 'fast-check';
import type { Campaign, CampaignTotals } from './campaign';
import { cancellationGuard, cancellationGuardAllows, checkCancellationAllowed } from './cancellation';
import { createCampaign } from './create-campaign';
import { acceptMilestone, advanceDelivery, failDelivery, startDelivery } from './delivery';
import type { CampaignEvent, PledgeEvent } from './events';
import { afterEnd, at, cny, collectedBy, createCommand, creatorId, endsAt, refusalOf, secondMs, t0, testPolicy, totalsOf } from './fixtures';
import { launchCampaign } from './launch-campaign';
import { checkPledgeGuards, planPledge, type PledgeCommand } from './plan-pledge';
import { cancelPledge, collectPledge, placePledge, refundPledge, voidPledge, type CollectedPledge, type Pledge } from './pledge';
import { planRefunds } from './refund-plan';
import { settleCampaign, settledTotalsOf } from './settle-campaign';
import { planSettlement } from './settlement-plan';

const feeBps = 500;

/**
 * What the storage does with the campaign's counters, done in memory: each write checks its guard
 * against the totals at that moment and changes them only if it passes.
 */
class Counters {
  totals: CampaignTotals;
  private readonly positions = new Map<string, number>();

  constructor(readonly campaign: Campaign) {
    this.totals = totalsOf(campaign);
  }

  /** Position, then counters, then (the hold succeeding) the pledge document. */
  pledge(command: PledgeCommand, now: Date, events: (CampaignEvent | PledgeEvent)[]): Pledge {
    const plan = planPledge(this.campaign, command, now);
    const held = this.positions.get(plan.backerId) ?? 0;
    checkPledgeGuards(this.campaign, this.totals, held, plan, now);
    this.positions.set(plan.backerId, held + 1);
    this.change(plan.amount.amountMinor, 1, held === 0 ? 1 : 0, plan.limitedTier ? plan.tierId : undefined);
    const placed = placePledge(plan, `tr_${plan.pledgeId}`, now);
    events.push(...placed.events);
    return placed.pledge;
  }

  /** The guarded release decides the window; then the pledge, then (in the ledger) the void. */
  cancel(pledge: Pledge, now: Date, events: (CampaignEvent | PledgeEvent)[]): Pledge {
    cancelPledge(pledge, pledge.backerId, now);
    const guard = cancellationGuard(this.campaign, pledge, now, testPolicy);
    if (!cancellationGuardAllows(guard, this.totals.pledged)) checkCancellationAllowed(this.campaign, this.totals, pledge, now, testPolicy);
    const held = (this.positions.get(pledge.backerId) ?? 0) - 1;
    this.positions.set(pledge.backerId, held);
    const limited = pledge.tierId !== undefined && this.totals.remainingByTier[pledge.tierId] !== undefined;
    this.change(-pledge.amount.amountMinor, -1, held === 0 ? -1 : 0, limited ? pledge.tierId : undefined);
    const cancelled = cancelPledge(pledge, pledge.backerId, now);
    events.push(...cancelled.events);
    return cancelled.pledge;
  }

  private change(amountMinor: bigint, pledges: number, backers: number, tierId: string | undefined): void {
    const remainingByTier = { ...this.totals.remainingByTier };
    if (tierId !== undefined) remainingByTier[tierId] = (remainingByTier[tierId] ?? 0) - pledges;
    this.totals = {
      pledged: add(this.totals.pledged, cny(amountMinor)),
      pledgesCount: this.totals.pledgesCount + pledges,
      backersCount: this.totals.backersCount + backers,
      remainingByTier,
    };
  }
}

function launched(overrides: Parameters<typeof createCommand>[0] = {}): Campaign {
  return launchCampaign(createCampaign(createCommand(overrides), t0, testPolicy).campaign, creatorId, t0, testPolicy, feeBps).campaign;
}

describe('campaign lifecycle', () => {
  it('runs an all-or-nothing campaign from draft to delivered, with a sold-out tier, a cancellation and a refused last-call cancellation on the way', () => {
    const events: (CampaignEvent | PledgeEvent)[] = [];
    let campaign = launched();
    const counters = new Counters(campaign);
    const pledges = new Map<string, Pledge>();

    // The early-bird tier has 2 units: a third backer asking for it is refused by the stock guard.
    pledges.set('pl_a', counters.pledge({ pledgeId: 'pl_a', backerId: 'pt_a', tierId: 'cp_1-t0', amount: cny(70_000) }, at(2 * secondMs), events));
    pledges.set('pl_b', counters.pledge({ pledgeId: 'pl_b', backerId: 'pt_b', tierId: 'cp_1-t0', amount: cny(40_000) }, at(2 * secondMs), events));
    expect(refusalOf(() => counters.pledge({ pledgeId: 'pl_x', backerId: 'pt_x', tierId: 'cp_1-t0', amount: cny(1_000) }, at(2 * secondMs), events)).code).toBe('TIER_SOLD_OUT');
    pledges.set('pl_c', counters.pledge({ pledgeId: 'pl_c', backerId: 'pt_c', amount: cny(5_000) }, at(2 * secondMs), events));
    expect(counters.totals).toEqual({ pledged: cny(115_000), pledgesCount: 3, backersCount: 3, remainingByTier: { 'cp_1-t0': 0 } });

    // C cancels early; in the last call B may not (it would drop 110 000 below the 100 000 goal).
    pledges.set('pl_c', counters.cancel(pledges.get('pl_c')!, at(3 * secondMs), events));
    expect(() => counters.cancel(pledges.get('pl_b')!, new Date(endsAt.getTime() - 1), events)).toThrow(/last call/);
    expect(refusalOf(() => counters.pledge({ pledgeId: 'pl_late', backerId: 'pt_late', amount: cny(1) }, endsAt, events)).code).toBe('CAMPAIGN_NOT_LIVE');

    // Closed to new pledges and every saga finished: settle on the pending pledges, which agree with the counters.
    const totals = settledTotalsOf(campaign, [...pledges.values()]);
    expect(totals).toEqual({ pledged: counters.totals.pledged, pledgesCount: counters.totals.pledgesCount, backersCount: counters.totals.backersCount });
    const settlement = settleCampaign(campaign, totals, endsAt);
    campaign = settlement.campaign;
    events.push(...settlement.events);
    const plan = planSettlement(campaign, [...pledges.values()], feeBps);
    expect(plan).toMatchObject({ collected: cny(110_000), fee: cny(5_500), net: cny(104_500) });
    for (const { pledgeId } of plan.pledgesToCollect) {
      const result = collectPledge(pledges.get(pledgeId)!, endsAt);
      pledges.set(pledgeId, result.pledge);
      events.push(...result.events);
    }

    const started = startDelivery(campaign, plan, endsAt);
    events.push(...started.events);
    const accepted = acceptMilestone(started.campaign, 'pt_a', collectedBy([...pledges.values()], 'pt_a'), 0, afterEnd(secondMs));
    events.push(...accepted.events);
    const silent = advanceDelivery(accepted.campaign, afterEnd(1_000 * secondMs + testPolicy.milestoneSilenceMs), testPolicy);
    events.push(...silent.events);

    expect(silent.campaign.state).toBe('delivered');
    expect(events.map((event) => event.type)).toEqual([
      'PledgePlaced',
      'PledgePlaced',
      'PledgePlaced',
      'PledgeCancelled',
      'CampaignSucceeded',
      'PledgeCollected',
      'PledgeCollected',
      'CampaignDeliveryStarted',
      'MilestoneAccepted',
      'MilestoneReleased',
      'DeliveryOverdue',
      'MilestoneReleased',
      'CampaignDelivered',
    ]);
    const released = events.flatMap((event) => (event.type === 'MilestoneReleased' ? [event.amount.amountMinor] : []));
    expect(released.reduce((sum, amount) => sum + amount, 0n)).toBe(104_500n);
  });

  it('voids every pledge of a failed campaign', () => {
    let campaign = launched();
    const counters = new Counters(campaign);
    const pledge = counters.pledge({ pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(50_000) }, at(secondMs), []);
    campaign = settleCampaign(campaign, settledTotalsOf(campaign, [pledge]), endsAt).campaign;
    expect(campaign).toMatchObject({ state: 'failed', settled: { pledged: cny(50_000), pledgesCount: 1, backersCount: 1 } });
    const plan = planSettlement(campaign, [pledge], feeBps);
    expect(plan.pledgesToVoid.map((entry) => entry.pledgeId)).toEqual(['pl_a']);
    expect(voidPledge(pledge, endsAt).pledge).toMatchObject({ state: 'refunded', refundedAmount: cny(50_000) });
  });

  it('accounts for every collected unit as fee, payout or refund, whatever happens after success (property)', () => {
    const scenario = fc.record({
      amounts: fc.array(fc.bigInt({ min: 1n, max: 10_000_000n }), { minLength: 1, maxLength: 12 }),
      fee: fc.integer({ min: 0, max: 10_000 }),
      acceptFirst: fc.boolean(),
      silenceFirst: fc.boolean(),
      failAtEnd: fc.boolean(),
    });
    fc.assert(
      fc.property(scenario, ({ amounts, fee, acceptFirst, silenceFirst, failAtEnd }) => {
        let campaign = launched({ fundingModel: 'keep_it_all', tiers: [] });
        const counters = new Counters(campaign);
        const pledges = amounts.map((amount, index) => counters.pledge({ pledgeId: `pl_${index}`, backerId: `pt_${index}`, amount: cny(amount) }, at(secondMs), []));
        campaign = settleCampaign(campaign, settledTotalsOf(campaign, pledges), endsAt).campaign;
        const plan = planSettlement(campaign, pledges, fee);
        const collected = pledges.map((pledge) => collectPledge(pledge, endsAt).pledge as CollectedPledge);
        campaign = startDelivery(campaign, plan, endsAt).campaign;

        const releasedEvents: bigint[] = [];
        const record = (events: CampaignEvent[]) => events.forEach((event) => event.type === 'MilestoneReleased' && releasedEvents.push(event.amount.amountMinor));
        if (acceptFirst) {
          // Everyone accepts: a majority for sure.
          for (const pledge of collected) {
            if (campaign.state !== 'delivering' || campaign.milestones[0]?.state !== 'open') break;
            const result = acceptMilestone(campaign, pledge.backerId, collectedBy(collected, pledge.backerId), 0, afterEnd(secondMs));
            campaign = result.campaign;
            record(result.events);
          }
        }
        if (silenceFirst && campaign.state === 'delivering') {
          const result = advanceDelivery(campaign, afterEnd(100 * secondMs + testPolicy.milestoneSilenceMs), testPolicy);
          campaign = result.campaign;
          record(result.events);
        }
        let refunded = 0n;
        if (failAtEnd && campaign.state === 'delivering') {
          const failed = failDelivery(campaign, afterEnd(200 * secondMs));
          const refunds = planRefunds(failed.campaign.refundAmount, collected);
          refunds.forEach((refund, index) => {
            const pledge = collected[index]!;
            expect(refundPledge(pledge, refund.amount, afterEnd(200 * secondMs)).pledge.state).toBe('refunded');
            refunded += refund.amount.amountMinor;
          });
          campaign = failed.campaign;
        } else if (campaign.state === 'delivering') {
          const result = advanceDelivery(campaign, afterEnd(1_000 * secondMs + testPolicy.milestoneSilenceMs), testPolicy);
          campaign = result.campaign;
          record(result.events);
        }

        const total = amounts.reduce((sum, amount) => sum + amount, 0n);
        const paidOut = releasedEvents.reduce((sum, amount) => sum + amount, 0n);
        expect(counters.totals.pledged.amountMinor).toBe(total);
        expect(plan.fee.amountMinor + paidOut + refunded).toBe(total);
        expect(['delivered', 'delivery_failed']).toContain(campaign.state);
      }),
      { numRuns: 200 },
    );
  });
});
