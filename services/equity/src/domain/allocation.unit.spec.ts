// Pins allocation at close (lead in full first, followers pro rata in whole shares, largest remainder with ties to the earlier commitment) and proves its invariants with fast-check.
import fc from 'fast-check';
import { type AllocationRequest, allocate } from './allocation';

const at = (second: number) => new Date(Date.UTC(2026, 10, 1, 0, 0, second));
const request = (commitmentId: string, role: 'lead' | 'follower', amountMinor: bigint, second: number): AllocationRequest => ({ commitmentId, investorId: `pt_${commitmentId}`, role, amountMinor, placedAt: at(second) });

describe('allocate', () => {
  it('everyone in full when commitments stay within the maximum', () => {
    const result = allocate([request('a', 'lead', 500n, 0), request('b', 'follower', 300n, 1)], 100n, 1_000n);
    expect(result.lines.map((line) => [line.commitmentId, line.shares, line.refundedMinor])).toEqual([['a', 5n, 0n], ['b', 3n, 0n]]);
    expect(result.raisedMinor).toBe(800n);
  });

  it('oversubscribed: the lead in full, the followers pro rata; leftover shares by largest remainder, ties to the earlier commitment', () => {
    // Maximum 10 shares, lead 4: 6 shares for followers asking 3 + 3 + 3 = 9 → 2 each exactly.
    const even = allocate([request('lead', 'lead', 400n, 0), request('f1', 'follower', 300n, 1), request('f2', 'follower', 300n, 2), request('f3', 'follower', 300n, 3)], 100n, 1_000n);
    expect(even.lines.map((line) => line.shares)).toEqual([4n, 2n, 2n, 2n]);
    // 5 shares for followers asking 2 + 2 + 2 = 6 → 1.67 each: floors 1,1,1 and two leftovers to the two earliest (equal remainders).
    const ties = allocate([request('lead', 'lead', 500n, 0), request('late', 'follower', 200n, 9), request('early', 'follower', 200n, 1), request('middle', 'follower', 200n, 5)], 100n, 1_000n);
    expect(Object.fromEntries(ties.lines.map((line) => [line.commitmentId, line.shares]))).toEqual({ lead: 5n, early: 2n, middle: 2n, late: 1n });
    expect(ties.lines.find((line) => line.commitmentId === 'late')?.refundedMinor).toBe(100n);
    expect(ties.raisedMinor).toBe(1_000n);
  });

  it('a lead above the maximum gets the maximum and the followers nothing', () => {
    const result = allocate([request('lead', 'lead', 1_200n, 0), request('f', 'follower', 300n, 1)], 100n, 1_000n);
    expect(result.lines.map((line) => [line.shares, line.refundedMinor])).toEqual([[10n, 200n], [0n, 300n]]);
  });

  it('larger remainders win before commitment time', () => {
    // 7 shares for followers asking 6 (early) and 4 (late): 4.2 and 2.8 → 4 and 3.
    const result = allocate([request('early', 'follower', 600n, 0), request('late', 'follower', 400n, 1)], 100n, 700n);
    expect(result.lines.map((line) => line.shares)).toEqual([4n, 3n]);
  });
});

describe('allocate (properties)', () => {
  const scenario = fc
    .record({
      price: fc.bigInt({ min: 1n, max: 10_000n }),
      maxShares: fc.bigInt({ min: 1n, max: 100_000n }),
      lead: fc.option(fc.bigInt({ min: 1n, max: 200_000n }), { nil: undefined }),
      followers: fc.array(fc.record({ shares: fc.bigInt({ min: 1n, max: 50_000n }), second: fc.integer({ min: 0, max: 50 }) }), { maxLength: 60 }),
    })
    .filter((input) => input.lead !== undefined || input.followers.length > 0);

  it('never exceeds a commitment or the maximum, sums to the shares issued, and moves exactly shares × price per investor', () => {
    fc.assert(
      fc.property(scenario, ({ price, maxShares, lead, followers }) => {
        const requests = [
          ...(lead === undefined ? [] : [request('lead', 'lead' as const, lead * price, 0)]),
          ...followers.map((follower, index) => request(`f${index}`, 'follower' as const, follower.shares * price, follower.second)),
        ];
        const maximum = maxShares * price;
        const result = allocate(requests, price, maximum);
        const committed = requests.reduce((sum, each) => sum + each.amountMinor, 0n);
        let shares = 0n;
        for (const line of result.lines) {
          const asked = requests.find((each) => each.commitmentId === line.commitmentId)!;
          expect(line.amountMinor).toBeLessThanOrEqual(asked.amountMinor);
          expect(line.amountMinor).toBe(line.shares * price);
          expect(line.amountMinor + line.refundedMinor).toBe(asked.amountMinor);
          expect(line.shares).toBeGreaterThanOrEqual(0n);
          shares += line.shares;
        }
        expect(result.lines).toHaveLength(requests.length);
        expect(shares).toBe(result.sharesIssued);
        expect(result.raisedMinor).toBe(result.sharesIssued * price);
        expect(result.raisedMinor).toBeLessThanOrEqual(maximum);
        // Nothing is left on the table: either everyone is in full or the maximum is reached.
        expect(result.raisedMinor === committed || result.sharesIssued === maxShares).toBe(true);
        // The lead is served first.
        if (lead !== undefined) expect(result.lines[0]!.shares).toBe(lead < maxShares ? lead : maxShares);
      }),
      { numRuns: 300 },
    );
  });
});
