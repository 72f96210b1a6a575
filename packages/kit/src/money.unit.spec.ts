// Proves the one split function hands out every minor unit exactly once, deterministically.
import fc from 'fast-check';
import { DomainError, InvariantViolation } from './errors';
import { add, money, parseMoney, split, splitByBasisPoints, splitMoney, subtract, toMoneyJson } from './money';

const totals = fc.bigInt({ min: 0n, max: 2n ** 62n });
const weightLists = fc.array(fc.bigInt({ min: 0n, max: 1_000_000n }), { minLength: 1, maxLength: 40 }).filter((weights) => weights.some((weight) => weight > 0n));

describe('split', () => {
  it('gives parts that sum to the whole, none negative, zero weights get zero', () => {
    fc.assert(
      fc.property(totals, weightLists, (total, weights) => {
        const parts = split(total, weights);
        expect(parts).toHaveLength(weights.length);
        expect(parts.reduce((sum, part) => sum + part, 0n)).toBe(total);
        parts.forEach((part, index) => {
          expect(part >= 0n).toBe(true);
          if (weights[index] === 0n) expect(part).toBe(0n);
        });
      }),
      { numRuns: 2_000 },
    );
  });

  it('keeps every part within one unit of its exact share', () => {
    fc.assert(
      fc.property(totals, weightLists, (total, weights) => {
        const weightSum = weights.reduce((sum, weight) => sum + weight, 0n);
        split(total, weights).forEach((part, index) => {
          const floor = (total * (weights[index] ?? 0n)) / weightSum;
          expect(part === floor || part === floor + 1n).toBe(true);
        });
      }),
    );
  });

  it('places the remainder deterministically: same input, same output; ties go to the earlier part', () => {
    fc.assert(
      fc.property(totals, weightLists, (total, weights) => {
        expect(split(total, weights)).toEqual(split(total, [...weights]));
      }),
    );
    expect(split(10n, [1n, 1n, 1n])).toEqual([4n, 3n, 3n]);
    expect(split(2n, [1n, 1n, 1n])).toEqual([1n, 1n, 0n]);
    expect(split(1n, [1n, 1n])).toEqual([1n, 0n]);
  });

  it('gives the leftover units to the largest fractional remainders first', () => {
    // Exact shares 100 × (1/6, 2/6, 3/6) = 16.67, 33.33, 50: the one leftover unit goes to the first.
    expect(split(100n, [1n, 2n, 3n])).toEqual([17n, 33n, 50n]);
    // Exact shares 7 × (0.2, 0.8) = 1.4, 5.6: the leftover goes to the second.
    expect(split(7n, [2n, 8n])).toEqual([1n, 6n]);
  });

  it('is invariant to scaling all weights', () => {
    fc.assert(
      fc.property(totals, weightLists, fc.bigInt({ min: 1n, max: 1_000n }), (total, weights, factor) => {
        expect(split(total, weights.map((weight) => weight * factor))).toEqual(split(total, weights));
      }),
    );
  });

  it('refuses negative totals, negative weights and all-zero weights', () => {
    expect(() => split(-1n, [1n])).toThrow(InvariantViolation);
    expect(() => split(1n, [1n, -1n])).toThrow(InvariantViolation);
    expect(() => split(1n, [0n, 0n])).toThrow(InvariantViolation);
    expect(() => split(1n, [])).toThrow(InvariantViolation);
  });
});

describe('money', () => {
  it('splits a fee by basis points through the same rule', () => {
    const [fee, rest] = splitByBasisPoints(money('CNY', 12_345n), 500n);
    expect(fee).toEqual(money('CNY', 617n));
    expect(rest).toEqual(money('CNY', 11_728n));
    fc.assert(
      fc.property(totals, fc.bigInt({ min: 0n, max: 10_000n }), (total, basisPoints) => {
        const [share, remainder] = splitByBasisPoints(money('USD', total), basisPoints);
        expect(share.amountMinor + remainder.amountMinor).toBe(total);
      }),
    );
    expect(splitMoney(money('CNY', 3n), [1n, 1n]).map((part) => part.amountMinor)).toEqual([2n, 1n]);
  });

  it('parses exact integer strings only and round-trips through JSON', () => {
    expect(parseMoney({ currency: 'CNY', amountMinor: '12345' })).toEqual(money('CNY', 12_345n));
    expect(toMoneyJson(money('CNY', 9_223_372_036_854_775_807n))).toEqual({ currency: 'CNY', amountMinor: '9223372036854775807' });
    for (const amountMinor of ['1.5', '1e3', '', ' 1', '01', '0x10', '9223372036854775808', 'NaN']) {
      expect(() => parseMoney({ currency: 'CNY', amountMinor })).toThrow(DomainError);
    }
    for (const currency of ['cny', 'CN', 'CNYY', '']) {
      expect(() => parseMoney({ currency, amountMinor: '1' })).toThrow(DomainError);
    }
  });

  it('never mixes currencies', () => {
    expect(add(money('CNY', 1n), money('CNY', 2n))).toEqual(money('CNY', 3n));
    expect(subtract(money('CNY', 1n), money('CNY', 2n))).toEqual(money('CNY', -1n));
    expect(() => add(money('CNY', 1n), money('USD', 1n))).toThrow(expect.objectContaining({ code: 'CURRENCY_MISMATCH' }));
  });
});
