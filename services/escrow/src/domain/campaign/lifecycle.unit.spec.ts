// Proves the rules compose the way the app layer will call them (load → decide → save), from creation to delivery or
// refund, and (property-based) that across any run every collected unit ends as fee, creator payout or refund.
import fc from 'fast-check';
import type { Campaign } from './campaign';
import { cancelPledgeReservation } from './cancellation';
import { createCampaign } from './create-campaign';
import { acceptMilestone, advanceDelivery, failDelivery, startDelivery } from './delivery';
import type { CampaignEvent, PledgeEvent } from './events';
import { afterEnd, at, cny, createCommand, creatorId, endsAt, secondMs, t0, testPolicy } from './fixtures';
import { launchCampaign } from './launch-campaign';
import { cancelPledge, collectPledge, placePledge, refundPledge, voidPledge, type CollectedPledge, type Pledge } from './pledge';
import { planRefunds } from './refund-plan';
import { releasePledgeReservation, reservePledge } from './reserve-pledge';
import { settleCampaign } from './settle-campaign';
import { planSettlement } from './settlement-plan';

const feeBps = 500;

describe('campaign lifecycle', () => {
  it('runs an all-or-nothing campaign from draft to delivered, with a failed hold compensated and a cancellation on the way', () => {
    const events: (CampaignEvent | PledgeEvent)[] = [];
    let campaign: Campaign = createCampaign(createCommand(), t0, testPolicy).campaign;
    campaign = launchCampaign(campaign, creatorId, t0, testPolicy).campaign;

    // Backer X's hold fails for lack of funds: the reservation is compensated.
    const failedHold = reservePledge(campaign, { pledgeId: 'pl_x', backerId: 'pt_x', tierId: 'cp_1-t0', amount: cny(1_000) }, at(secondMs));
    campaign = releasePledgeReservation(failedHold.campaign, 'pl_x').campaign;
    expect(campaign.tiers[0]?.remaining).toBe(2);

    const pledges = new Map<string, Pledge>();
    for (const [pledgeId, backerId, amountMinor] of [['pl_a', 'pt_a', 70_000], ['pl_b', 'pt_b', 40_000], ['pl_c', 'pt_c', 5_000]] as const) {
      campaign = reservePledge(campaign, { pledgeId, backerId, amount: cny(amountMinor) }, at(2 * secondMs)).campaign;
      const placed = placePledge(campaign, { pledgeId, transferId: `tr_${pledgeId}` }, at(2 * secondMs));
      pledges.set(pledgeId, placed.pledge);
      events.push(...placed.events);
    }

    // C cancels early; in the last call B may not (it would drop 110 000 below the 100 000 goal).
    const pledgeC = pledges.get('pl_c')!;
    campaign = cancelPledgeReservation(campaign, pledgeC, at(3 * secondMs), testPolicy).campaign;
    pledges.set('pl_c', cancelPledge(pledgeC, 'pt_c', at(3 * secondMs)).pledge);
    expect(() => cancelPledgeReservation(campaign, pledges.get('pl_b')!, new Date(endsAt.getTime() - 1), testPolicy)).toThrow(/last call/);

    const settlement = settleCampaign(campaign, endsAt);
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
    const accepted = acceptMilestone(started.campaign, 'pt_a', 0, afterEnd(secondMs));
    events.push(...accepted.events);
    const silent = advanceDelivery(accepted.campaign, afterEnd(1_000 * secondMs + testPolicy.milestoneSilenceMs), testPolicy);
    events.push(...silent.events);

    expect(silent.campaign.state).toBe('delivered');
    expect(events.map((event) => event.type)).toEqual([
      'PledgePlaced',
      'PledgePlaced',
      'PledgePlaced',
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
    let campaign: Campaign = launchCampaign(createCampaign(createCommand(), t0, testPolicy).campaign, creatorId, t0, testPolicy).campaign;
    campaign = reservePledge(campaign, { pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(50_000) }, at(secondMs)).campaign;
    const pledge = placePledge(campaign, { pledgeId: 'pl_a', transferId: 'tr_a' }, at(secondMs)).pledge;
    const failed = settleCampaign(campaign, endsAt).campaign;
    const plan = planSettlement(failed, [pledge], feeBps);
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
        let campaign: Campaign = launchCampaign(
          createCampaign(createCommand({ fundingModel: 'keep_it_all', tiers: [] }), t0, testPolicy).campaign,
          creatorId,
          t0,
          testPolicy,
        ).campaign;
        const pledges: Pledge[] = [];
        amounts.forEach((amount, index) => {
          campaign = reservePledge(campaign, { pledgeId: `pl_${index}`, backerId: `pt_${index}`, amount: cny(amount) }, at(secondMs)).campaign;
          pledges.push(placePledge(campaign, { pledgeId: `pl_${index}`, transferId: `tr_${index}` }, at(secondMs)).pledge);
        });
        campaign = settleCampaign(campaign, endsAt).campaign;
        const plan = planSettlement(campaign, pledges, fee);
        const collected = pledges.map((pledge) => collectPledge(pledge, endsAt).pledge as CollectedPledge);
        campaign = startDelivery(campaign, plan, endsAt).campaign;

        const releasedEvents: bigint[] = [];
        const record = (events: CampaignEvent[]) => events.forEach((event) => event.type === 'MilestoneReleased' && releasedEvents.push(event.amount.amountMinor));
        if (acceptFirst) {
          // Everyone accepts: a majority for sure.
          for (const pledge of pledges) {
            if (campaign.state !== 'delivering' || campaign.milestones[0]?.state !== 'open') break;
            const result = acceptMilestone(campaign, pledge.backerId, 0, afterEnd(secondMs));
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
        expect(plan.fee.amountMinor + paidOut + refunded).toBe(total);
        expect(['delivered', 'delivery_failed']).toContain(campaign.state);
      }),
      { numRuns: 200 },
    );
  });
});
