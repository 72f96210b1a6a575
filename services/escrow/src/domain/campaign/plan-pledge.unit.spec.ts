// Proves planning a pledge: the plan it yields, every refusal of planPledge with its details and precedence, the
// storage guards (checkPledgeGuards) at and past their bounds, and (property-based) that applying pledges and
// cancellations only through those guards never oversells a tier and never lets a last-call cancellation drop a met goal.
import { add, InvariantViolation, subtract } from '@sizhong/kit/domain';
import fc from 'fast-check';
import type { Campaign, CampaignTotals } from './campaign';
import { cancellationGuard, cancellationGuardAllows } from './cancellation';
import { createCampaign } from './create-campaign';
import {
  afterEnd,
  at,
  campaignId,
  cny,
  createCommand,
  creatorId,
  deepFreeze,
  earlyBirdTierId,
  endsAt,
  liveCampaign,
  refusalOf,
  secondMs,
  settled,
  standardTierId,
  t0,
  testPolicy,
  totalsOf,
  usd,
} from './fixtures';
import { campaignAmountMinorMax, pledgesPerBackerMax } from './limits';
import { checkPledgeGuards, planPledge, type PledgeCommand, type PledgePlan } from './plan-pledge';

const now = at(secondMs);
const command = (overrides: Partial<PledgeCommand> = {}): PledgeCommand => ({ pledgeId: 'pl_1', backerId: 'pt_backer', tierId: earlyBirdTierId, amount: cny(1_000), ...overrides });

describe('planPledge', () => {
  it('given a live campaign, when a backer pledges for a limited tier, then the plan names the campaign, its creator and a unit to take', () => {
    const plan = planPledge(deepFreeze(liveCampaign()), command({ amount: cny(1_500) }), now);
    expect(plan).toEqual({ pledgeId: 'pl_1', campaignId, creatorId, backerId: 'pt_backer', tierId: earlyBirdTierId, amount: cny(1_500), limitedTier: true });
  });

  it('given an unlimited tier, when planned, then no unit is taken; given no tier, then the plan carries no tier id', () => {
    expect(planPledge(liveCampaign(), command({ tierId: standardTierId, amount: cny(2_000) }), now)).toMatchObject({ tierId: standardTierId, limitedTier: false });
    const withoutTier = planPledge(liveCampaign(), command({ tierId: undefined, amount: cny(1) }), now);
    expect(withoutTier).not.toHaveProperty('tierId');
    expect(withoutTier.limitedTier).toBe(false);
  });

  it('knows nothing of stock or caps: a campaign takes any number of pledges, the storage guards decide the rest', () => {
    const campaign = liveCampaign();
    for (let index = 0; index < 3 * pledgesPerBackerMax; index += 1) {
      expect(planPledge(campaign, command({ pledgeId: `pl_${index}` }), now).limitedTier).toBe(true);
    }
  });

  it('given a draft or settled campaign, when planned, then CAMPAIGN_NOT_LIVE with its state', () => {
    const draft = createCampaign(createCommand(), t0, testPolicy).campaign;
    expect(refusalOf(() => planPledge(draft, command(), now))).toMatchObject({ code: 'CAMPAIGN_NOT_LIVE', details: { campaignId, state: 'draft' } });
    expect(refusalOf(() => planPledge(settled(liveCampaign()), command(), afterEnd(0)))).toMatchObject({ code: 'CAMPAIGN_NOT_LIVE', details: { state: 'failed' } });
  });

  it('given a live campaign at its end, when planned, then CAMPAIGN_NOT_LIVE with the end; one millisecond before, it is planned', () => {
    expect(planPledge(liveCampaign(), command(), new Date(endsAt.getTime() - 1)).pledgeId).toBe('pl_1');
    expect(refusalOf(() => planPledge(liveCampaign(), command(), endsAt))).toMatchObject({ code: 'CAMPAIGN_NOT_LIVE', details: { endsAt: endsAt.toISOString() } });
  });

  it('given the creator, when pledging to their own campaign, then PERMISSION_DENIED', () => {
    expect(refusalOf(() => planPledge(liveCampaign(), command({ backerId: creatorId }), now))).toMatchObject({ code: 'PERMISSION_DENIED', details: { campaignId } });
  });

  it('given an amount in another currency, when planned, then CURRENCY_MISMATCH on amount.currency', () => {
    expect(refusalOf(() => planPledge(liveCampaign(), command({ amount: usd(1_000) }), now))).toMatchObject({ code: 'CURRENCY_MISMATCH', details: { field: 'amount.currency' } });
  });

  it.each([0, -1])('given an amount of %i, when planned, then INVALID_ARGUMENT on amount.amountMinor', (amountMinor) => {
    expect(refusalOf(() => planPledge(liveCampaign(), command({ tierId: undefined, amount: cny(amountMinor) }), now))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { field: 'amount.amountMinor' },
    });
  });

  it('accepts the largest amount and refuses one unit more with LIMIT_EXCEEDED', () => {
    expect(planPledge(liveCampaign(), command({ amount: cny(campaignAmountMinorMax) }), now).amount).toEqual(cny(campaignAmountMinorMax));
    expect(refusalOf(() => planPledge(liveCampaign(), command({ amount: cny(campaignAmountMinorMax + 1n) }), now))).toMatchObject({
      code: 'LIMIT_EXCEEDED',
      details: { field: 'amount.amountMinor', max: campaignAmountMinorMax.toString() },
    });
  });

  it('given an unknown tier, when planned, then NOT_FOUND on tierId', () => {
    expect(refusalOf(() => planPledge(liveCampaign(), command({ tierId: 'cp_1-t9' }), now))).toMatchObject({ code: 'NOT_FOUND', details: { field: 'tierId', tierId: 'cp_1-t9' } });
  });

  it('given an amount below the tier price, when planned, then INVALID_ARGUMENT; at the price it is planned', () => {
    expect(refusalOf(() => planPledge(liveCampaign(), command({ amount: cny(999) }), now))).toMatchObject({
      code: 'INVALID_ARGUMENT',
      details: { field: 'amount.amountMinor', tierId: earlyBirdTierId },
    });
    expect(planPledge(liveCampaign(), command({ amount: cny(1_000) }), now).amount).toEqual(cny(1_000));
  });

  it('refuses in a fixed order: the first broken rule wins', () => {
    const ended = () => planPledge(liveCampaign(), command({ backerId: creatorId, amount: usd(0) }), endsAt);
    expect(refusalOf(ended).code).toBe('CAMPAIGN_NOT_LIVE');
    expect(refusalOf(() => planPledge(liveCampaign(), command({ backerId: creatorId, amount: usd(0) }), now)).code).toBe('PERMISSION_DENIED');
    expect(refusalOf(() => planPledge(liveCampaign(), command({ amount: usd(0) }), now)).code).toBe('CURRENCY_MISMATCH');
    expect(refusalOf(() => planPledge(liveCampaign(), command({ tierId: 'cp_1-t9', amount: cny(0) }), now)).code).toBe('INVALID_ARGUMENT');
    expect(refusalOf(() => planPledge(liveCampaign(), command({ tierId: 'cp_1-t9', amount: cny(campaignAmountMinorMax + 1n) }), now)).code).toBe('LIMIT_EXCEEDED');
    expect(refusalOf(() => planPledge(liveCampaign(), command({ tierId: 'cp_1-t9', amount: cny(1) }), now)).code).toBe('NOT_FOUND');
  });

  it('treats a missing pledge or backer id as a programmer error', () => {
    expect(() => planPledge(liveCampaign(), command({ pledgeId: '' }), now)).toThrow(InvariantViolation);
    expect(() => planPledge(liveCampaign(), command({ backerId: '' }), now)).toThrow(InvariantViolation);
  });
});

describe('checkPledgeGuards', () => {
  const campaign = deepFreeze(liveCampaign());
  const limitedPlan = planPledge(campaign, command(), now);
  const unlimitedPlan = planPledge(campaign, command({ tierId: standardTierId, amount: cny(2_000) }), now);
  const soldOut = totalsOf(campaign, { pledged: cny(2_000), pledgesCount: 2, backersCount: 2, remainingByTier: { [earlyBirdTierId]: 0 } });

  it('given a fresh campaign, when checked, then every guard passes', () => {
    expect(() => checkPledgeGuards(campaign, totalsOf(campaign), 0, limitedPlan, now)).not.toThrow();
  });

  it(`lets a backer holding ${pledgesPerBackerMax - 1} pledges take one more and refuses at ${pledgesPerBackerMax} with PLEDGE_LIMIT_REACHED`, () => {
    expect(() => checkPledgeGuards(campaign, totalsOf(campaign), pledgesPerBackerMax - 1, limitedPlan, now)).not.toThrow();
    expect(refusalOf(() => checkPledgeGuards(campaign, totalsOf(campaign), pledgesPerBackerMax, limitedPlan, now))).toMatchObject({
      code: 'PLEDGE_LIMIT_REACHED',
      details: { campaignId, max: pledgesPerBackerMax },
    });
  });

  it('given the last unit of a limited tier, when checked, then it passes; with none left, TIER_SOLD_OUT', () => {
    expect(() => checkPledgeGuards(campaign, totalsOf(campaign, { remainingByTier: { [earlyBirdTierId]: 1 } }), 0, limitedPlan, now)).not.toThrow();
    expect(refusalOf(() => checkPledgeGuards(campaign, soldOut, 0, limitedPlan, now))).toMatchObject({ code: 'TIER_SOLD_OUT', details: { tierId: earlyBirdTierId } });
  });

  it('never checks stock for an unlimited tier or a pledge without a tier', () => {
    expect(() => checkPledgeGuards(campaign, soldOut, 0, unlimitedPlan, now)).not.toThrow();
  });

  it('given a campaign that ended or is not live any more, when checked, then CAMPAIGN_NOT_LIVE (the write guards on state and end)', () => {
    expect(refusalOf(() => checkPledgeGuards(campaign, totalsOf(campaign), 0, limitedPlan, endsAt))).toMatchObject({ code: 'CAMPAIGN_NOT_LIVE', details: { endsAt: endsAt.toISOString() } });
    expect(refusalOf(() => checkPledgeGuards(settled(campaign), totalsOf(campaign), 0, limitedPlan, afterEnd(0)))).toMatchObject({ code: 'CAMPAIGN_NOT_LIVE', details: { state: 'failed' } });
  });

  it("checks in the saga's order: the backer's cap, then the campaign, then the stock", () => {
    expect(refusalOf(() => checkPledgeGuards(campaign, soldOut, pledgesPerBackerMax, limitedPlan, endsAt)).code).toBe('PLEDGE_LIMIT_REACHED');
    expect(refusalOf(() => checkPledgeGuards(campaign, soldOut, 0, limitedPlan, endsAt)).code).toBe('CAMPAIGN_NOT_LIVE');
  });

  it('treats impossible totals and a plan of another campaign as programmer errors', () => {
    const bad: CampaignTotals[] = [
      totalsOf(campaign, { remainingByTier: { [earlyBirdTierId]: -1 } }),
      totalsOf(campaign, { remainingByTier: { [earlyBirdTierId]: 3 } }),
      totalsOf(campaign, { remainingByTier: {} }),
      totalsOf(campaign, { remainingByTier: { [earlyBirdTierId]: 2, [standardTierId]: 5 } }),
      totalsOf(campaign, { pledged: cny(1), pledgesCount: 2 }),
      totalsOf(campaign, { pledged: cny(1), pledgesCount: 0 }),
      totalsOf(campaign, { pledged: usd(0) }),
      totalsOf(campaign, { backersCount: -1 }),
    ];
    for (const totals of bad) expect(() => checkPledgeGuards(campaign, totals, 0, limitedPlan, now)).toThrow(InvariantViolation);
    const foreign: PledgePlan = { ...limitedPlan, campaignId: 'cp_2' };
    expect(() => checkPledgeGuards(campaign, totalsOf(campaign), 0, foreign, now)).toThrow(InvariantViolation);
  });

  it('tolerates a backer count that lags a cancellation (the backer is given back in a later step)', () => {
    expect(() => checkPledgeGuards(campaign, totalsOf(campaign, { backersCount: 1 }), 0, limitedPlan, now)).not.toThrow();
  });
});

describe('storage guards (property-based)', () => {
  type Operation = { kind: 'pledge'; backer: number; tier: number; extraMinor: number; atMs: number } | { kind: 'cancel'; pick: number; atMs: number };
  const durationMs = endsAt.getTime() - t0.getTime();
  // Half of the operations land around the last call and the end, where the guards matter most.
  const instant = fc.oneof(fc.integer({ min: 0, max: durationMs }), fc.integer({ min: durationMs - testPolicy.lastCallMs - secondMs, max: durationMs + secondMs }));
  const operations = fc.array(
    fc.oneof(
      { arbitrary: fc.record({ kind: fc.constant('pledge' as const), backer: fc.nat(2), tier: fc.nat(3), extraMinor: fc.nat(60_000), atMs: instant }), weight: 3 },
      { arbitrary: fc.record({ kind: fc.constant('cancel' as const), pick: fc.nat(100), atMs: instant }), weight: 1 },
    ),
    { minLength: 20, maxLength: 150 },
  );
  const quantities = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }));

  it('never oversells a tier, keeps the counters equal to the active pledges, and never lets a last-call cancellation drop a met goal', () => {
    fc.assert(
      fc.property(quantities, operations, ([firstQuantity, secondQuantity], sequence: Operation[]) => {
        // Tiers 0 and 1 are limited, tier 2 unlimited, choice 3 pledges without a tier. Goal 100 000.
        const campaign: Campaign = liveCampaign({
          tiers: [
            { title: 'A', price: cny(100), quantity: firstQuantity },
            { title: 'B', price: cny(300), quantity: secondQuantity },
            { title: 'C', price: cny(50) },
          ],
        });
        let totals = totalsOf(campaign);
        const active: PledgePlan[] = [];
        let nextId = 0;
        for (const operation of sequence.sort((left, right) => left.atMs - right.atMs)) {
          const when = at(operation.atMs);
          if (operation.kind === 'pledge') {
            const tierId = operation.tier === 3 ? undefined : `cp_1-t${operation.tier}`;
            const price = [100, 300, 50, 1][operation.tier] ?? 1;
            const backerId = `pt_${operation.backer}`;
            let plan: PledgePlan;
            try {
              plan = planPledge(campaign, { pledgeId: `pl_${(nextId += 1)}`, backerId, tierId, amount: cny(price + operation.extraMinor) }, when);
            } catch {
              expect(when.getTime()).toBeGreaterThanOrEqual(endsAt.getTime());
              continue;
            }
            const backerPledges = active.filter((each) => each.backerId === backerId).length;
            try {
              checkPledgeGuards(campaign, totals, backerPledges, plan, when);
            } catch {
              continue;
            }
            const remainingByTier = { ...totals.remainingByTier };
            if (plan.limitedTier && plan.tierId !== undefined) remainingByTier[plan.tierId] = (remainingByTier[plan.tierId] ?? 0) - 1;
            totals = { pledged: add(totals.pledged, plan.amount), pledgesCount: totals.pledgesCount + 1, backersCount: totals.backersCount + (backerPledges === 0 ? 1 : 0), remainingByTier };
            active.push(plan);
            continue;
          }
          const plan = active[operation.pick % Math.max(1, active.length)];
          if (plan === undefined) continue;
          let allowed: boolean;
          try {
            allowed = cancellationGuardAllows(cancellationGuard(campaign, { id: plan.pledgeId, campaignId: plan.campaignId, amount: plan.amount }, when, testPolicy), totals.pledged);
          } catch {
            expect(when.getTime()).toBeGreaterThanOrEqual(endsAt.getTime());
            continue;
          }
          const inLastCall = when.getTime() >= endsAt.getTime() - testPolicy.lastCallMs;
          const metBefore = totals.pledged.amountMinor >= campaign.goal.amountMinor;
          if (!allowed) {
            expect(inLastCall && metBefore).toBe(true);
            continue;
          }
          const remainingByTier = { ...totals.remainingByTier };
          if (plan.limitedTier && plan.tierId !== undefined) remainingByTier[plan.tierId] = (remainingByTier[plan.tierId] ?? 0) + 1;
          active.splice(active.indexOf(plan), 1);
          const stillBacking = active.some((each) => each.backerId === plan.backerId);
          totals = { pledged: subtract(totals.pledged, plan.amount), pledgesCount: totals.pledgesCount - 1, backersCount: totals.backersCount - (stillBacking ? 0 : 1), remainingByTier };
          if (inLastCall && metBefore) expect(totals.pledged.amountMinor).toBeGreaterThanOrEqual(campaign.goal.amountMinor);
        }
        expect(totals.pledged.amountMinor).toBe(active.reduce((sum, plan) => sum + plan.amount.amountMinor, 0n));
        expect(totals.pledgesCount).toBe(active.length);
        expect(totals.backersCount).toBe(new Set(active.map((plan) => plan.backerId)).size);
        campaign.tiers.forEach((tier) => {
          if (tier.quantity === undefined) {
            expect(totals.remainingByTier[tier.id]).toBeUndefined();
            return;
          }
          const taken = active.filter((plan) => plan.tierId === tier.id).length;
          expect(taken).toBeLessThanOrEqual(tier.quantity);
          expect(totals.remainingByTier[tier.id]).toBe(tier.quantity - taken);
        });
        const perBacker = new Map<string, number>();
        active.forEach((plan) => perBacker.set(plan.backerId, (perBacker.get(plan.backerId) ?? 0) + 1));
        for (const count of perBacker.values()) expect(count).toBeLessThanOrEqual(pledgesPerBackerMax);
      }),
      { numRuns: 300 },
    );
  });
});
