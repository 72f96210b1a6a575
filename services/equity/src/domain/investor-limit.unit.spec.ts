// Pins the 12-month investment limit (Regulation Crowdfunding's rule with its figures as defaults) and its use across rounds.
import { DomainError } from '@sizhong/kit/domain';
import { dayMs, fixtureNow, usd } from './fixtures';
import { checkLimit, investmentLimit, usedAt } from './investor-limit';
import { newInvestor, reserveUsage, settleUsage } from './investor';
import { defaultEquityPolicy, limitWindowMs } from './policy';

const limitOf = (income: number, netWorth: number) => investmentLimit({ annualIncome: usd(income), netWorth: usd(netWorth), accredited: false }, defaultEquityPolicy)?.amountMinor;

describe('investmentLimit', () => {
  it('accredited investors have no limit', () => {
    expect(investmentLimit({ annualIncome: usd(0), netWorth: usd(0), accredited: true }, defaultEquityPolicy)).toBeUndefined();
  });

  it('either below the threshold: the greater of the floor ($2 500) and 5% of the greater figure', () => {
    expect(limitOf(0, 0)).toBe(250_000n);
    expect(limitOf(3_000_000, 1_000_000)).toBe(250_000n); // 5% of $30 000 = $1 500 < floor
    expect(limitOf(8_000_000, 2_000_000)).toBe(400_000n); // 5% of $80 000
    expect(limitOf(20_000_000, 5_000_000)).toBe(1_000_000n); // net worth below: 5% of $200 000
    expect(limitOf(5_000_001, 0)).toBe(250_000n); // 5% of 5 000 001 cents = 250 000.05: split gives the leftover cent to the larger remainder (the other 95%)
  });

  it('both at or above the threshold ($124 000): 10% of the greater figure, capped at $124 000', () => {
    expect(limitOf(12_400_000, 12_400_000)).toBe(1_240_000n);
    expect(limitOf(20_000_000, 90_000_000)).toBe(9_000_000n);
    expect(limitOf(200_000_000, 12_400_000)).toBe(12_400_000n);
    expect(limitOf(12_400_000, 12_399_999)).toBe(620_000n); // one cent below on net worth: 5%
  });

  it('takes its figures from the policy', () => {
    const policy = { limitFloorMinor: 100n, limitThresholdMinor: 1_000n, limitCapMinor: 150n };
    expect(investmentLimit({ annualIncome: usd(500), netWorth: usd(0), accredited: false }, policy)?.amountMinor).toBe(100n);
    expect(investmentLimit({ annualIncome: usd(1_000), netWorth: usd(1_000), accredited: false }, policy)?.amountMinor).toBe(100n);
    expect(investmentLimit({ annualIncome: usd(9_000), netWorth: usd(9_000), accredited: false }, policy)?.amountMinor).toBe(150n);
  });
});

describe('usage across rounds', () => {
  const limit = usd(400_000);

  it('refuses a commitment past what remains with INVESTOR_LIMIT_EXCEEDED', () => {
    let investor = reserveUsage(newInvestor('pt_a'), limit, usd(300_000), { commitmentId: 'cm_1', roundId: 'rd_1', at: fixtureNow }, fixtureNow);
    investor = reserveUsage(investor, limit, usd(100_000), { commitmentId: 'cm_2', roundId: 'rd_2', at: fixtureNow }, fixtureNow);
    expect(usedAt(investor.usage, 'USD', fixtureNow)).toBe(400_000n);
    expect(() => reserveUsage(investor, limit, usd(100), { commitmentId: 'cm_3', roundId: 'rd_3', at: fixtureNow }, fixtureNow)).toThrow(
      expect.objectContaining({ code: 'INVESTOR_LIMIT_EXCEEDED', details: expect.objectContaining({ remainingMinor: '0' }) }) as DomainError,
    );
  });

  it('a reservation is taken once per commitment (a retried step)', () => {
    const once = reserveUsage(newInvestor('pt_a'), limit, usd(400_000), { commitmentId: 'cm_1', roundId: 'rd_1', at: fixtureNow }, fixtureNow);
    expect(reserveUsage(once, limit, usd(400_000), { commitmentId: 'cm_1', roundId: 'rd_1', at: fixtureNow }, fixtureNow)).toBe(once);
  });

  it('a cancelled or refunded commitment gives its share back; an allocated one keeps what was posted', () => {
    let investor = reserveUsage(newInvestor('pt_a'), limit, usd(400_000), { commitmentId: 'cm_1', roundId: 'rd_1', at: fixtureNow }, fixtureNow);
    investor = settleUsage(investor, 'cm_1', 150_000n);
    expect(usedAt(investor.usage, 'USD', fixtureNow)).toBe(150_000n);
    investor = settleUsage(investor, 'cm_1', 0n);
    expect(investor.usage).toEqual([]);
  });

  it('commitments older than 365 days no longer count', () => {
    const investor = reserveUsage(newInvestor('pt_a'), limit, usd(400_000), { commitmentId: 'cm_1', roundId: 'rd_1', at: fixtureNow }, fixtureNow);
    const justInside = new Date(fixtureNow.getTime() + limitWindowMs - 1);
    expect(() => checkLimit(limit, investor.usage, usd(1), justInside)).toThrow(DomainError);
    const after = new Date(fixtureNow.getTime() + 365 * dayMs);
    expect(() => checkLimit(limit, investor.usage, usd(400_000), after)).not.toThrow();
  });

  it('usage is per currency: commitments in another currency never use a limit; older entries without a currency count in every one', () => {
    const investor = reserveUsage(newInvestor('pt_a'), undefined, { currency: 'CNY', amountMinor: 300_000n }, { commitmentId: 'cm_1', roundId: 'rd_1', at: fixtureNow }, fixtureNow);
    expect(usedAt(investor.usage, 'USD', fixtureNow)).toBe(0n);
    expect(usedAt(investor.usage, 'CNY', fixtureNow)).toBe(300_000n);
    expect(() => checkLimit(limit, investor.usage, usd(400_000), fixtureNow)).not.toThrow();
    const older = [{ commitmentId: 'cm_0', roundId: 'rd_0', amountMinor: 100_000n, at: fixtureNow }];
    expect(() => checkLimit(limit, older, usd(300_001), fixtureNow)).toThrow(expect.objectContaining({ code: 'INVESTOR_LIMIT_EXCEEDED' }) as DomainError);
  });

  it('a limit in another currency than the round is CURRENCY_MISMATCH', () => {
    expect(() => checkLimit(usd(1_000), [], { currency: 'CNY', amountMinor: 1n }, fixtureNow)).toThrow(expect.objectContaining({ code: 'CURRENCY_MISMATCH' }) as DomainError);
  });
});
