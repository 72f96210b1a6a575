// Proves reservations: every refusal of reservePledge in order, idempotent reserve and release, the pledge
// limits at and past their bounds, and (property-based) that no sequence of reserves and releases oversells
// a tier or lets `pledged`/`backersCount` drift from the active reservations.
import { InvariantViolation, type Money } from '@sizhong/kit';
import fc from 'fast-check';
import type { Campaign, LiveCampaign } from './campaign';
import {
  afterEnd,
  at,
  cny,
  creatorId,
  deepFreeze,
  earlyBirdTierId,
  endsAt,
  liveCampaign,
  liveCampaignWithReservations,
  refusalOf,
  secondMs,
  settled,
  standardTierId,
  t0,
  testPolicy,
  usd,
  withPledges,
} from './fixtures';
import { assertCampaignInvariants } from './invariants';
import { campaignAmountMinorMax, pledgesPerBackerMax, pledgesPerCampaignMax } from './limits';
import { createCampaign } from './create-campaign';
import { createCommand } from './fixtures';
import { releasePledgeReservation, reservePledge, type ReservePledgeCommand } from './reserve-pledge';

const now = at(secondMs);
const command = (overrides: Partial<ReservePledgeCommand> = {}): ReservePledgeCommand => ({ pledgeId: 'pl_1', backerId: 'pt_backer', tierId: earlyBirdTierId, amount: cny(1_000), ...overrides });
const reserved = (campaign: Campaign, overrides: Partial<ReservePledgeCommand> = {}) => {
  const result = reservePledge(campaign, command(overrides), now);
  if (result.outcome !== 'reserved') throw new Error('expected a reservation');
  return result.campaign;
};

describe('reservePledge', () => {
  it('given a live campaign, when a backer reserves a tier unit, then the unit is taken and the totals count the pledge', () => {
    const campaign = deepFreeze(liveCampaign());
    const result = reservePledge(campaign, command({ amount: cny(1_500) }), now);

    expect(result.outcome).toBe('reserved');
    expect(result.reservation).toEqual({ pledgeId: 'pl_1', backerId: 'pt_backer', tierId: earlyBirdTierId, amount: cny(1_500), reservedAt: now });
    expect(result.campaign.tiers[0]).toMatchObject({ quantity: 2, remaining: 1 });
    expect(result.campaign.pledged).toEqual(cny(1_500));
    expect(result.campaign.backersCount).toBe(1);
    expect(result.campaign.reservations).toEqual([result.reservation]);
  });

  it('given an unlimited tier or no tier, when reserved, then only the totals change', () => {
    const withStandard = reserved(liveCampaign(), { tierId: standardTierId, amount: cny(2_000) });
    expect(withStandard.tiers[1]).not.toHaveProperty('remaining');
    const withoutTier = reserved(withStandard, { pledgeId: 'pl_2', tierId: undefined, amount: cny(1) });
    expect(withoutTier.reservations[1]).not.toHaveProperty('tierId');
    expect(withoutTier.pledged).toEqual(cny(2_001));
  });

  it('counts distinct backers: a second pledge of the same backer adds money, not a backer', () => {
    const twice = reserved(reserved(liveCampaign()), { pledgeId: 'pl_2', tierId: standardTierId, amount: cny(2_000) });
    expect(twice.backersCount).toBe(1);
    expect(reserved(twice, { pledgeId: 'pl_3', backerId: 'pt_other' }).backersCount).toBe(2);
  });

  it('given the same pledge id and details, when reserved again (a retried saga step), then already_reserved and nothing changes', () => {
    const campaign = deepFreeze(reserved(liveCampaign()));
    const replay = reservePledge(campaign, command(), at(2 * secondMs));
    expect(replay.outcome).toBe('already_reserved');
    expect(replay.campaign).toBe(campaign);
    expect(replay.reservation.reservedAt).toEqual(now);
  });

  it('answers a replay even after the campaign ended or settled', () => {
    const { campaign } = withPledges(liveCampaign(), [{ pledgeId: 'pl_1', backerId: 'pt_backer', amount: cny(100_000) }]);
    expect(reservePledge(settled(campaign), { pledgeId: 'pl_1', backerId: 'pt_backer', amount: cny(100_000) }, afterEnd(1)).outcome).toBe('already_reserved');
  });

  it.each([
    ['another backer', { backerId: 'pt_other' }],
    ['another tier', { tierId: standardTierId, amount: cny(2_000) }],
    ['another amount', { amount: cny(1_001) }],
    ['another currency', { amount: usd(1_000) }],
  ])('given the same pledge id with %s, when reserved, then IDEMPOTENCY_KEY_REUSED', (_name, overrides) => {
    expect(refusalOf(() => reservePledge(reserved(liveCampaign()), command(overrides), now)).code).toBe('IDEMPOTENCY_KEY_REUSED');
  });

  it('given a draft or settled campaign, when reserved, then CAMPAIGN_NOT_LIVE', () => {
    const draft = createCampaign(createCommand(), t0, testPolicy).campaign;
    expect(refusalOf(() => reservePledge(draft, command(), now))).toMatchObject({ code: 'CAMPAIGN_NOT_LIVE', details: { state: 'draft' } });
    expect(refusalOf(() => reservePledge(settled(liveCampaign()), command(), afterEnd(0))).code).toBe('CAMPAIGN_NOT_LIVE');
  });

  it('given a live campaign at its end, when reserved, then CAMPAIGN_NOT_LIVE; one millisecond before, it is reserved', () => {
    expect(reservePledge(liveCampaign(), command(), new Date(endsAt.getTime() - 1)).outcome).toBe('reserved');
    expect(refusalOf(() => reservePledge(liveCampaign(), command(), endsAt)).code).toBe('CAMPAIGN_NOT_LIVE');
  });

  it('given the creator, when pledging to their own campaign, then PERMISSION_DENIED', () => {
    expect(refusalOf(() => reservePledge(liveCampaign(), command({ backerId: creatorId }), now)).code).toBe('PERMISSION_DENIED');
  });

  it('given an amount in another currency, when reserved, then CURRENCY_MISMATCH', () => {
    expect(refusalOf(() => reservePledge(liveCampaign(), command({ amount: usd(1_000) }), now)).code).toBe('CURRENCY_MISMATCH');
  });

  it('given a zero or negative amount, when reserved, then INVALID_ARGUMENT', () => {
    expect(refusalOf(() => reservePledge(liveCampaign(), command({ tierId: undefined, amount: cny(0) }), now)).code).toBe('INVALID_ARGUMENT');
    expect(refusalOf(() => reservePledge(liveCampaign(), command({ tierId: undefined, amount: cny(-1) }), now)).code).toBe('INVALID_ARGUMENT');
  });

  it('accepts the largest amount and refuses one unit more with LIMIT_EXCEEDED', () => {
    expect(reservePledge(liveCampaign(), command({ amount: cny(campaignAmountMinorMax) }), now).outcome).toBe('reserved');
    expect(refusalOf(() => reservePledge(liveCampaign(), command({ amount: cny(campaignAmountMinorMax + 1n) }), now)).code).toBe('LIMIT_EXCEEDED');
  });

  it('given an unknown tier, when reserved, then NOT_FOUND', () => {
    expect(refusalOf(() => reservePledge(liveCampaign(), command({ tierId: 'cp_1-t9' }), now))).toMatchObject({ code: 'NOT_FOUND', details: { tierId: 'cp_1-t9' } });
  });

  it('given an amount below the tier price, when reserved, then INVALID_ARGUMENT; at the price it is reserved', () => {
    expect(refusalOf(() => reservePledge(liveCampaign(), command({ amount: cny(999) }), now)).code).toBe('INVALID_ARGUMENT');
    expect(reservePledge(liveCampaign(), command({ amount: cny(1_000) }), now).outcome).toBe('reserved');
  });

  it('given a tier with its last unit taken, when reserved, then TIER_SOLD_OUT, and a release makes the unit available again', () => {
    const full = reserved(reserved(liveCampaign()), { pledgeId: 'pl_2', backerId: 'pt_b' });
    expect(full.tiers[0]?.remaining).toBe(0);
    expect(refusalOf(() => reservePledge(full, command({ pledgeId: 'pl_3', backerId: 'pt_c' }), now))).toMatchObject({ code: 'TIER_SOLD_OUT', details: { tierId: earlyBirdTierId } });

    const released = releasePledgeReservation(full, 'pl_1');
    expect(released.campaign.tiers[0]?.remaining).toBe(1);
    expect(reservePledge(released.campaign, command({ pledgeId: 'pl_3', backerId: 'pt_c' }), now).outcome).toBe('reserved');
  });

  it(`accepts the ${pledgesPerCampaignMax}th active pledge and refuses the next with PLEDGE_LIMIT_REACHED`, () => {
    const almostFull = liveCampaignWithReservations(pledgesPerCampaignMax - 1);
    const full = reserved(almostFull, { tierId: undefined, pledgeId: 'pl_last' });
    expect(full.reservations).toHaveLength(pledgesPerCampaignMax);
    expect(refusalOf(() => reservePledge(full, command({ tierId: undefined, pledgeId: 'pl_next', backerId: 'pt_next' }), now))).toMatchObject({
      code: 'PLEDGE_LIMIT_REACHED',
      details: { max: pledgesPerCampaignMax },
    });
  });

  it(`accepts a backer's ${pledgesPerBackerMax}th pledge and refuses the next with PLEDGE_LIMIT_REACHED, while others may still pledge`, () => {
    const almostFull = liveCampaignWithReservations(pledgesPerBackerMax - 1, () => 'pt_keen');
    const full = reserved(almostFull, { tierId: undefined, backerId: 'pt_keen', pledgeId: 'pl_last' });
    expect(full.backersCount).toBe(1);
    expect(refusalOf(() => reservePledge(full, command({ tierId: undefined, backerId: 'pt_keen', pledgeId: 'pl_next' }), now))).toMatchObject({
      code: 'PLEDGE_LIMIT_REACHED',
      details: { max: pledgesPerBackerMax },
    });
    expect(reservePledge(full, command({ tierId: undefined, backerId: 'pt_other', pledgeId: 'pl_next' }), now).outcome).toBe('reserved');
  });
});

describe('releasePledgeReservation', () => {
  it('given a reservation, when released, then the tier unit returns and the totals go down', () => {
    const campaign = deepFreeze(reserved(reserved(liveCampaign()), { pledgeId: 'pl_2', backerId: 'pt_b', amount: cny(4_000) }));
    const result = releasePledgeReservation(campaign, 'pl_1');

    expect(result.outcome).toBe('released');
    expect(result.campaign.tiers[0]?.remaining).toBe(1);
    expect(result.campaign.pledged).toEqual(cny(4_000));
    expect(result.campaign.backersCount).toBe(1);
    expect(result.campaign.reservations.map((reservation) => reservation.pledgeId)).toEqual(['pl_2']);
  });

  it('given nothing reserved under that id (never, or released by an earlier try), when released, then not_reserved and nothing changes', () => {
    const campaign = reserved(liveCampaign());
    const once = releasePledgeReservation(campaign, 'pl_1');
    const twice = releasePledgeReservation(once.campaign, 'pl_1');
    expect(twice).toEqual({ outcome: 'not_reserved', campaign: once.campaign });
    expect(releasePledgeReservation(campaign, 'pl_unknown').campaign).toBe(campaign);
  });

  it('given a failed campaign, when an orphaned reservation is released, then it goes (nothing was decided on it)', () => {
    const failed = settled(reserved(liveCampaign()));
    expect(failed.state).toBe('failed');
    expect(releasePledgeReservation(failed, 'pl_1').campaign.pledged).toEqual(cny(0));
  });

  it('given a succeeded campaign, when a reservation is released, then INVALID_STATE (its outcome was published on these totals)', () => {
    const { campaign } = withPledges(liveCampaign(), [{ pledgeId: 'pl_1', backerId: 'pt_backer', amount: cny(100_000) }]);
    expect(refusalOf(() => releasePledgeReservation(settled(campaign), 'pl_1'))).toMatchObject({ code: 'INVALID_STATE', details: { state: 'succeeded' } });
  });
});

describe('reservation invariants (property-based)', () => {
  type Operation = { kind: 'reserve'; pledge: number; backer: number; tier: number; extraMinor: number } | { kind: 'release'; pledge: number };
  const operations = fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant('reserve' as const), pledge: fc.nat(40), backer: fc.nat(6), tier: fc.nat(3), extraMinor: fc.nat(500) }),
      fc.record({ kind: fc.constant('release' as const), pledge: fc.nat(40) }),
    ),
    { maxLength: 120 },
  );
  const quantities = fc.tuple(fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }));

  it('never oversells a tier and keeps pledged and backersCount equal to the active reservations, under any sequence', () => {
    fc.assert(
      fc.property(quantities, operations, ([firstQuantity, secondQuantity], sequence: Operation[]) => {
        // Tiers 0 and 1 are limited, tier 2 unlimited, choice 3 pledges without a tier.
        let campaign: LiveCampaign = liveCampaign({
          tiers: [
            { title: 'A', price: cny(100), quantity: firstQuantity },
            { title: 'B', price: cny(300), quantity: secondQuantity },
            { title: 'C', price: cny(50) },
          ],
        });
        const model = new Map<string, { backerId: string; tierId?: string; amount: Money }>();
        for (const operation of sequence) {
          const pledgeId = `pl_${operation.pledge}`;
          if (operation.kind === 'release') {
            const result = releasePledgeReservation(campaign, pledgeId);
            expect(result.outcome).toBe(model.has(pledgeId) ? 'released' : 'not_reserved');
            model.delete(pledgeId);
            campaign = result.campaign as LiveCampaign;
            continue;
          }
          const tierId = operation.tier === 3 ? undefined : `cp_1-t${operation.tier}`;
          const price = [100, 300, 50, 1][operation.tier] ?? 1;
          const request = { pledgeId, backerId: `pt_${operation.backer}`, tierId, amount: cny(price + operation.extraMinor) };
          const previous = model.get(pledgeId);
          if (previous !== undefined) {
            const same = previous.backerId === request.backerId && previous.tierId === request.tierId && previous.amount.amountMinor === request.amount.amountMinor;
            if (same) expect(reservePledge(campaign, request, now).outcome).toBe('already_reserved');
            else expect(refusalOf(() => reservePledge(campaign, request, now)).code).toBe('IDEMPOTENCY_KEY_REUSED');
            continue;
          }
          const quantity = [firstQuantity, secondQuantity][operation.tier];
          const taken = [...model.values()].filter((reservation) => reservation.tierId === tierId).length;
          const backerPledges = [...model.values()].filter((reservation) => reservation.backerId === request.backerId).length;
          if (quantity !== undefined && taken >= quantity) {
            expect(refusalOf(() => reservePledge(campaign, request, now)).code).toBe('TIER_SOLD_OUT');
          } else if (backerPledges >= pledgesPerBackerMax) {
            expect(refusalOf(() => reservePledge(campaign, request, now)).code).toBe('PLEDGE_LIMIT_REACHED');
          } else {
            const result = reservePledge(campaign, request, now);
            expect(result.outcome).toBe('reserved');
            campaign = result.campaign as LiveCampaign;
            model.set(pledgeId, request);
          }
        }
        assertCampaignInvariants(campaign);
        const active = [...model.values()];
        expect(campaign.pledged.amountMinor).toBe(active.reduce((sum, reservation) => sum + reservation.amount.amountMinor, 0n));
        expect(campaign.backersCount).toBe(new Set(active.map((reservation) => reservation.backerId)).size);
        campaign.tiers.forEach((tier) => {
          if (tier.quantity === undefined) return;
          const count = active.filter((reservation) => reservation.tierId === tier.id).length;
          expect(count).toBeLessThanOrEqual(tier.quantity);
          expect(tier.remaining).toBe(tier.quantity - count);
        });
      }),
      { numRuns: 300 },
    );
  });

  it('crashes loudly (InvariantViolation) on a campaign whose totals were tampered with', () => {
    const tampered = { ...reserved(liveCampaign()), pledged: cny(1) };
    expect(() => reservePledge(tampered, command({ pledgeId: 'pl_2', backerId: 'pt_b' }), now)).toThrow(InvariantViolation);
    const oversold = { ...liveCampaign(), tiers: [{ id: earlyBirdTierId, title: 'x', price: cny(1), quantity: 1, remaining: -1 }] };
    expect(() => assertCampaignInvariants(oversold)).toThrow(InvariantViolation);
  });
});
