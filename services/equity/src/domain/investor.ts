/**
 * An investor's own document: the sealed profile (income and net worth encrypted by the app layer;
 * the domain sees only the ciphertext and, when deciding, the opened figures) and the commitments
 * of the last 12 months that count against their limit. Only the investor's own commands write it.
 */
import { DomainError, type Money } from '@sizhong/kit/domain';
import { checkLimit, countsAt, type UsageEntry } from './investor-limit';
import { usageEntriesMax } from './policy';

/** AES-256-GCM output, base64; additional data binds it to the investor id. */
export interface SealedFinancials {
  readonly keyVersion: number;
  readonly iv: string;
  readonly ciphertext: string;
  readonly tag: string;
}

export interface InvestorProfileRecord {
  readonly currency: string;
  readonly accredited: boolean;
  readonly sealed: SealedFinancials;
  readonly updatedAt: Date;
}

export interface Investor {
  readonly id: string;
  readonly profile?: InvestorProfileRecord;
  readonly usage: readonly UsageEntry[];
}

export interface LimitBreach {
  readonly type: 'InvestorLimitBreachAttempted';
  readonly investorId: string;
  readonly roundId: string;
  readonly attempted: Money;
  readonly remaining: Money;
  readonly occurredAt: Date;
}

export function newInvestor(id: string): Investor {
  return { id, usage: [] };
}

export function setProfile(investor: Investor, profile: InvestorProfileRecord): Investor {
  return { ...investor, profile };
}

function current(usage: readonly UsageEntry[], now: Date): UsageEntry[] {
  return usage.filter((entry) => countsAt(entry, now));
}

/**
 * Takes `amount` of the investor's limit for a commitment (once per commitment id): refuses with
 * INVESTOR_LIMIT_EXCEEDED past it. Entries older than the window drop off on every write.
 */
export function reserveUsage(investor: Investor, limit: Money | undefined, amount: Money, entry: Omit<UsageEntry, 'amountMinor' | 'currency'>, now: Date): Investor {
  if (investor.usage.some((existing) => existing.commitmentId === entry.commitmentId)) return investor;
  const usage = current(investor.usage, now);
  checkLimit(limit, usage, amount, now);
  if (usage.length >= usageEntriesMax) throw new DomainError('LIMIT_EXCEEDED', `an investor holds at most ${usageEntriesMax} commitments in 12 months`, { max: usageEntriesMax });
  return { ...investor, usage: [...usage, { ...entry, amountMinor: amount.amountMinor, currency: amount.currency }] };
}

/** Gives a commitment's share of the limit back (cancelled, refunded) or lowers it to what was posted. */
export function settleUsage(investor: Investor, commitmentId: string, keptMinor: bigint): Investor {
  const index = investor.usage.findIndex((entry) => entry.commitmentId === commitmentId);
  if (index < 0) return investor;
  const entry = investor.usage[index]!;
  if (keptMinor === entry.amountMinor) return investor;
  const usage = keptMinor === 0n ? investor.usage.filter((_, at) => at !== index) : investor.usage.map((each, at) => (at === index ? { ...each, amountMinor: keptMinor } : each));
  return { ...investor, usage };
}
