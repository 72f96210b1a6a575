// Proves planSettlement: what is posted and voided, the fee split off, the creator's payout parts, the check against
// the totals the campaign settled on, the refusals, and (property-based) conservation: collected = fee + Σ payout
// parts, nothing negative, every part within a unit of its exact share.
import { InvariantViolation } from '@sizhong/kit/domain';
import fc from 'fast-check';
import { collectPledge, cancelPledge, voidPledge, type Pledge } from './pledge';
import { afterEnd, campaignId, cny, creatorId, endsAt, feeBps, placedPledges, refusalOf, secondMs, settled, withPledges, type TestPledge } from './fixtures';
import { planSettlement } from './settlement-plan';

const threeBackers: TestPledge[] = [
  { pledgeId: 'pl_c', backerId: 'pt_c', amount: cny(10_000) },
  { pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(60_000) },
  { pledgeId: 'pl_b', backerId: 'pt_b', amount: cny(30_000) },
];

describe('planSettlement', () => {
  it('given a succeeded campaign with milestones, when planned, then every pledge is posted, 5% is the fee and the net is split by shares', () => {
    const { campaign, pledges } = withPledges(threeBackers);
    const plan = planSettlement(settled(campaign, pledges), pledges, feeBps);

    expect(plan).toEqual({
      campaignId,
      creatorId,
      outcome: 'succeeded',
      pledgesToCollect: [
        { pledgeId: 'pl_a', backerId: 'pt_a', transferId: 'tr_pl_a', amount: cny(60_000) },
        { pledgeId: 'pl_b', backerId: 'pt_b', transferId: 'tr_pl_b', amount: cny(30_000) },
        { pledgeId: 'pl_c', backerId: 'pt_c', transferId: 'tr_pl_c', amount: cny(10_000) },
      ],
      pledgesToVoid: [],
      collected: cny(100_000),
      fee: cny(5_000),
      net: cny(95_000),
      payouts: [
        { kind: 'milestone', milestoneIndex: 0, amount: cny(28_500) },
        { kind: 'milestone', milestoneIndex: 1, amount: cny(66_500) },
      ],
    });
  });

  it('given a succeeded campaign without milestones, when planned, then the whole net is one immediate release', () => {
    const { campaign, pledges } = withPledges(threeBackers, { milestones: undefined });
    expect(planSettlement(settled(campaign, pledges), pledges, feeBps).payouts).toEqual([{ kind: 'immediate', amount: cny(95_000) }]);
  });

  it('rounds the fee by the one split function: 5% of 19 minor units is 1, leaving 18', () => {
    const { campaign, pledges } = withPledges([{ pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(19) }], { fundingModel: 'keep_it_all', milestones: undefined, tiers: [] });
    const plan = planSettlement(settled(campaign, pledges), pledges, feeBps);
    expect([plan.fee, plan.net]).toEqual([cny(1), cny(18)]);
  });

  it('accepts a fee of 0 and of 10000 basis points and treats anything else as a programmer error', () => {
    const { campaign, pledges } = withPledges(threeBackers);
    const succeeded = settled(campaign, pledges);
    expect(planSettlement(succeeded, pledges, 0).fee).toEqual(cny(0));
    expect(planSettlement(succeeded, pledges, 10_000).net).toEqual(cny(0));
    for (const bad of [-1, 10_001, 2.5]) expect(() => planSettlement(succeeded, pledges, bad)).toThrow(InvariantViolation);
  });

  it('given pledges already collected by an earlier batch, when planned again, then the same plan comes out (collecting is idempotent)', () => {
    const { campaign, pledges } = withPledges(threeBackers);
    const succeeded = settled(campaign, pledges);
    const partly: Pledge[] = pledges.map((pledge, index) => (index === 0 ? collectPledge(pledge, endsAt).pledge : pledge));
    expect(planSettlement(succeeded, partly, feeBps)).toEqual(planSettlement(succeeded, pledges, feeBps));
  });

  it('given cancelled pledges among them, when planned, then they are neither posted nor voided', () => {
    const { campaign, pledges } = withPledges(threeBackers, { fundingModel: 'keep_it_all' });
    const cancelled = cancelPledge({ ...pledges[0]!, id: 'pl_gone' }, 'pt_c', afterEnd(0)).pledge;
    const plan = planSettlement(settled(campaign, pledges), [...pledges, cancelled], feeBps);
    expect(plan.pledgesToCollect.map((pledge) => pledge.pledgeId)).toEqual(['pl_a', 'pl_b', 'pl_c']);
  });

  it('given a failed campaign, when planned, then every pending hold is voided and nothing is collected', () => {
    const { campaign, pledges } = withPledges(threeBackers.slice(0, 2));
    const failed = settled(campaign, pledges);
    expect(failed.state).toBe('failed');
    const alreadyVoided = voidPledge(pledges[0]!, endsAt).pledge;
    const plan = planSettlement(failed, [alreadyVoided, pledges[1]!], feeBps);

    expect(plan).toMatchObject({ outcome: 'failed', pledgesToCollect: [], collected: cny(0), fee: cny(0), net: cny(0), payouts: [] });
    expect(plan.pledgesToVoid.map((pledge) => pledge.pledgeId)).toEqual(['pl_a', 'pl_c']);
  });

  it('given a pledge missing from the list (a saga still unfinished), when planned, then INVALID_STATE with what was expected and found', () => {
    const { campaign, pledges } = withPledges(threeBackers);
    const succeeded = settled(campaign, pledges);
    expect(refusalOf(() => planSettlement(succeeded, pledges.slice(1), feeBps))).toMatchObject({
      code: 'INVALID_STATE',
      details: { campaignId, settledPledgedMinor: '100000', settledPledgesCount: 3, pledgesToCollectMinor: '90000', pledgesToCollectCount: 2 },
    });
  });

  it('given a pending pledge that landed after the totals were counted, when planned, then INVALID_STATE: the published outcome stands on the count', () => {
    const { campaign, pledges } = withPledges(threeBackers);
    const succeeded = settled(campaign, pledges);
    const [late] = placedPledges(campaign, [{ pledgeId: 'pl_late', backerId: 'pt_late', amount: cny(1) }]);
    expect(refusalOf(() => planSettlement(succeeded, [...pledges, late!], feeBps)).details).toMatchObject({ pledgesToCollectMinor: '100001', pledgesToCollectCount: 4 });
  });

  it('given the same total over another number of pledges, when planned, then INVALID_STATE: sum and count must both match', () => {
    const { campaign, pledges } = withPledges(threeBackers);
    const succeeded = settled(campaign, pledges);
    // C's 10 000 folded into A's pledge: 70 000 + 30 000 is still 100 000, over two pledges instead of three.
    const [, a, b] = pledges as [Pledge, Pledge, Pledge];
    const merged = { ...a, amount: cny(70_000) };
    expect(refusalOf(() => planSettlement(succeeded, [merged, b], feeBps)).details).toMatchObject({ pledgesToCollectMinor: '100000', pledgesToCollectCount: 2 });
  });

  it('given a pledge listed twice, when planned, then a programmer error', () => {
    const { campaign, pledges } = withPledges(threeBackers);
    expect(() => planSettlement(settled(campaign, pledges), [...pledges, pledges[0]!], feeBps)).toThrow(InvariantViolation);
  });

  it('given a failed campaign and a pending pledge it did not count, when planned, then that hold is voided too (voiding returns money to its owner)', () => {
    const { campaign, pledges } = withPledges(threeBackers.slice(0, 1));
    const failed = settled(campaign, pledges);
    const [late] = placedPledges(campaign, [{ pledgeId: 'pl_late', backerId: 'pt_late', amount: cny(1) }]);
    expect(planSettlement(failed, [...pledges, late!], feeBps).pledgesToVoid.map((pledge) => pledge.pledgeId)).toEqual(['pl_c', 'pl_late']);
  });

  it('given a campaign that is not settled, when planned, then INVALID_STATE', () => {
    const { campaign, pledges } = withPledges(threeBackers);
    expect(refusalOf(() => planSettlement(campaign, pledges, feeBps))).toMatchObject({ code: 'INVALID_STATE', details: { state: 'live' } });
  });

  it('treats a pledge of another campaign as a programmer error', () => {
    const { campaign, pledges } = withPledges(threeBackers);
    expect(() => planSettlement(settled(campaign, pledges), [{ ...pledges[0]!, campaignId: 'cp_2' }], feeBps)).toThrow(InvariantViolation);
  });

  it('conserves money for any pledges, fee and milestone shares (property)', () => {
    const shares = fc
      .uniqueArray(fc.integer({ min: 1, max: 9_999 }), { maxLength: 9 })
      .map((cuts) => [0, ...cuts.sort((left, right) => left - right), 10_000].flatMap((cut, index, all) => (index === 0 ? [] : [cut - (all[index - 1] ?? 0)])));
    const amounts = fc.array(fc.bigInt({ min: 1n, max: 1_000_000_000n }), { minLength: 1, maxLength: 25 });
    fc.assert(
      fc.property(amounts, fc.integer({ min: 0, max: 10_000 }), fc.option(shares, { nil: undefined }), (pledgeAmounts, fee, milestoneShares) => {
        const milestones = milestoneShares?.map((shareBps, index) => ({ title: `M${index}`, shareBps, dueAt: afterEnd((index + 1) * secondMs) }));
        const { campaign, pledges } = withPledges(
          pledgeAmounts.map((amount, index) => ({ pledgeId: `pl_${index}`, backerId: `pt_${index}`, amount: cny(amount) })),
          { fundingModel: 'keep_it_all', tiers: [], milestones },
        );
        const plan = planSettlement(settled(campaign, pledges), pledges, fee);

        const collected = pledgeAmounts.reduce((sum, amount) => sum + amount, 0n);
        const parts = plan.payouts.map((part) => part.amount.amountMinor);
        expect(plan.collected.amountMinor).toBe(collected);
        expect(plan.fee.amountMinor + parts.reduce((sum, part) => sum + part, 0n)).toBe(collected);
        expect(plan.fee.amountMinor + plan.net.amountMinor).toBe(collected);
        for (const amount of [plan.fee.amountMinor, plan.net.amountMinor, ...parts]) expect(amount >= 0n).toBe(true);
        // Each amount is its exact share rounded down or up by one unit.
        const exactFee = (collected * BigInt(fee)) / 10_000n;
        expect(plan.fee.amountMinor - exactFee === 0n || plan.fee.amountMinor - exactFee === 1n).toBe(true);
        const weights = milestoneShares ?? [10_000];
        parts.forEach((part, index) => {
          const exact = (plan.net.amountMinor * BigInt(weights[index] ?? 0)) / 10_000n;
          expect(part - exact === 0n || part - exact === 1n).toBe(true);
        });
        expect(plan.payouts).toHaveLength(milestoneShares?.length ?? 1);
      }),
      { numRuns: 300 },
    );
  });
});
