/**
 * The 12-month investment limit (Regulation Crowdfunding's rule, figures from the policy):
 * accredited investors have none. Otherwise, with the greater of annual income and net worth:
 * - when either is below the threshold: the greater of the floor and 5% of it;
 * - when both are at or above the threshold: 10% of it;
 * and never more than the cap. Percentages go through the one split function (splitByBasisPoints).
 */
import { assert, DomainError, type Money, money, splitByBasisPoints } from '@sizhong/kit/domain';
import { type EquityPolicy, limitWindowMs } from './policy';

export interface Financials {
  readonly annualIncome: Money;
  readonly netWorth: Money;
  readonly accredited: boolean;
}

/** Undefined: no limit (accredited). */
export function investmentLimit(financials: Financials, policy: Pick<EquityPolicy, 'limitFloorMinor' | 'limitThresholdMinor' | 'limitCapMinor'>): Money | undefined {
  if (financials.accredited) return undefined;
  const { annualIncome, netWorth } = financials;
  assert(annualIncome.currency === netWorth.currency, 'income and net worth in one currency');
  assert(annualIncome.amountMinor >= 0n && netWorth.amountMinor >= 0n, 'income and net worth are not negative');
  const greater = annualIncome.amountMinor > netWorth.amountMinor ? annualIncome : netWorth;
  const eitherBelow = annualIncome.amountMinor < policy.limitThresholdMinor || netWorth.amountMinor < policy.limitThresholdMinor;
  const [share] = splitByBasisPoints(greater, eitherBelow ? 500n : 1_000n);
  let limitMinor = eitherBelow && share.amountMinor < policy.limitFloorMinor ? policy.limitFloorMinor : share.amountMinor;
  if (limitMinor > policy.limitCapMinor) limitMinor = policy.limitCapMinor;
  return money(greater.currency, limitMinor);
}

/** One commitment counting against an investor's limit (pending: its amount; allocated: what was posted). */
export interface UsageEntry {
  readonly commitmentId: string;
  readonly roundId: string;
  readonly amountMinor: bigint;
  /**
   * The round's currency. Entries written before usage was kept per currency have none; they
   * count in every currency (the conservative reading: they were in the profile's one currency).
   */
  readonly currency?: string;
  readonly at: Date;
}

/** Whether an entry still counts at `now` (placed within the last 365 days). */
export function countsAt(entry: UsageEntry, now: Date): boolean {
  return now.getTime() - entry.at.getTime() < limitWindowMs;
}

/** What the investor has used of a limit in `currency` at `now`: amounts in other currencies are never added to it. */
export function usedAt(usage: readonly UsageEntry[], currency: string, now: Date): bigint {
  return usage.filter((entry) => countsAt(entry, now) && (entry.currency === undefined || entry.currency === currency)).reduce((sum, entry) => sum + entry.amountMinor, 0n);
}

/** Refuses a commitment past the limit: INVESTOR_LIMIT_EXCEEDED names what remains. */
export function checkLimit(limit: Money | undefined, usage: readonly UsageEntry[], amount: Money, now: Date): void {
  if (limit === undefined) return;
  if (limit.currency !== amount.currency) {
    throw new DomainError('CURRENCY_MISMATCH', `the investor's limit is in ${limit.currency}; this round is in ${amount.currency}`, { field: 'amount.currency' });
  }
  const used = usedAt(usage, limit.currency, now);
  const remaining = limit.amountMinor > used ? limit.amountMinor - used : 0n;
  if (amount.amountMinor > remaining) {
    throw new DomainError('INVESTOR_LIMIT_EXCEEDED', `this commitment would exceed the investor's 12-month limit`, {
      limitMinor: limit.amountMinor.toString(),
      usedMinor: used.toString(),
      remainingMinor: remaining.toString(),
      currency: limit.currency,
    });
  }
}
