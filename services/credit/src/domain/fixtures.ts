/** Event builders for the domain's tests and docs examples (plain data, as decoded payloads look). */
import type { CreditEvent } from './events';

export const day = (n: number): Date => new Date(Date.UTC(2026, 0, 1) + n * 86_400_000);

let sequence = 0;

export function event(type: string, payload: Record<string, unknown>, onDay = 0, id?: string): CreditEvent {
  sequence += 1;
  return { id: id ?? `ev_${type}_${sequence}`, type, aggregateId: String(payload['taskId'] ?? payload['campaignId'] ?? payload['roundId'] ?? payload['pledgeId'] ?? 'agg'), aggregateType: 'test', occurredAt: day(onDay), payload };
}

export function times<T>(count: number, make: (index: number) => T): T[] {
  return Array.from({ length: count }, (_unused, index) => make(index));
}

/** Equity's InvestorProfileUpdated as version `version` of the investor aggregate (credit keeps the highest version's flag). */
export function profileUpdated(investorId: string, accredited: boolean, version: number, onDay = 0): CreditEvent {
  return { id: `ev_profile_${investorId}_${version}`, type: 'InvestorProfileUpdated', aggregateId: investorId, aggregateType: 'investor', aggregateVersion: version, occurredAt: day(onDay), payload: { investorId, accredited } };
}
