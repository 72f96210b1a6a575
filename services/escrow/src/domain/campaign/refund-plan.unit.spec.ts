// Proves planRefunds hands the unreleased money back pro rata through the one split function: parts sum exactly, none exceeds its pledge.
import { InvariantViolation } from '@sizhong/kit/domain';
import fc from 'fast-check';
import { cny, endsAt, usd } from './fixtures';
import type { CollectedPledge } from './pledge';
import { planRefunds } from './refund-plan';

const collectedPledge = (id: string, amountMinor: bigint | number, overrides: Partial<CollectedPledge> = {}): CollectedPledge => ({
  id,
  campaignId: 'cp_1',
  creatorId: 'pt_creator',
  backerId: `pt_${id}`,
  amount: cny(amountMinor),
  transferId: `tr_${id}`,
  placedAt: endsAt,
  collectedAt: endsAt,
  state: 'collected',
  ...overrides,
});

describe('planRefunds', () => {
  it('given 66 500 unreleased over pledges of 60 000, 30 000 and 10 000, when planned, then each backer gets their exact share', () => {
    const refunds = planRefunds(cny(66_500), [collectedPledge('a', 60_000), collectedPledge('b', 30_000), collectedPledge('c', 10_000)]);
    expect(refunds).toEqual([
      { pledgeId: 'a', backerId: 'pt_a', amount: cny(39_900) },
      { pledgeId: 'b', backerId: 'pt_b', amount: cny(19_950) },
      { pledgeId: 'c', backerId: 'pt_c', amount: cny(6_650) },
    ]);
  });

  it('given a remainder, when planned, then the leftover units go by the split rule (largest remainder, ties to the earlier pledge)', () => {
    const refunds = planRefunds(cny(10), [collectedPledge('a', 5), collectedPledge('b', 5), collectedPledge('c', 5)]);
    expect(refunds.map((refund) => refund.amount.amountMinor)).toEqual([4n, 3n, 3n]);
  });

  it('given nothing unreleased, when planned, then every share is zero; given no pledges, then no refunds', () => {
    expect(planRefunds(cny(0), [collectedPledge('a', 5)])).toEqual([{ pledgeId: 'a', backerId: 'pt_a', amount: cny(0) }]);
    expect(planRefunds(cny(0), [])).toEqual([]);
  });

  it('treats impossible inputs as programmer errors', () => {
    expect(() => planRefunds(cny(1), [])).toThrow(InvariantViolation);
    expect(() => planRefunds(cny(-1), [collectedPledge('a', 5)])).toThrow(InvariantViolation);
    expect(() => planRefunds(cny(6), [collectedPledge('a', 5)])).toThrow(InvariantViolation);
    expect(() => planRefunds(usd(1), [collectedPledge('a', 5)])).toThrow(InvariantViolation);
    expect(() => planRefunds(cny(1), [collectedPledge('a', 5), collectedPledge('b', 5, { campaignId: 'cp_2' })])).toThrow(InvariantViolation);
    expect(() => planRefunds(cny(1), [{ ...collectedPledge('a', 5), state: 'pending' } as unknown as CollectedPledge])).toThrow(InvariantViolation);
  });

  it('sums exactly to the unreleased amount, never exceeds a pledge, and stays within a unit of each exact share (property)', () => {
    const pledgeAmounts = fc.array(fc.bigInt({ min: 1n, max: 10n ** 12n }), { minLength: 1, maxLength: 60 });
    fc.assert(
      fc.property(
        pledgeAmounts.chain((amounts) => {
          const collected = amounts.reduce((sum, amount) => sum + amount, 0n);
          return fc.tuple(fc.constant(amounts), fc.bigInt({ min: 0n, max: collected }));
        }),
        ([amounts, unreleased]) => {
          const pledges = amounts.map((amount, index) => collectedPledge(`p${index}`, amount));
          const collected = amounts.reduce((sum, amount) => sum + amount, 0n);
          const refunds = planRefunds(cny(unreleased), pledges);

          expect(refunds.reduce((sum, refund) => sum + refund.amount.amountMinor, 0n)).toBe(unreleased);
          refunds.forEach((refund, index) => {
            const pledged = amounts[index] ?? 0n;
            const exact = (unreleased * pledged) / collected;
            expect(refund.pledgeId).toBe(`p${index}`);
            expect(refund.amount.amountMinor >= 0n && refund.amount.amountMinor <= pledged).toBe(true);
            expect(refund.amount.amountMinor - exact === 0n || refund.amount.amountMinor - exact === 1n).toBe(true);
          });
        },
      ),
      { numRuns: 500 },
    );
  });
});
