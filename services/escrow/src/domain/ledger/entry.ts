/**
 * Journal entries: the audit log of the ledger. Every applied leg becomes one entry on its account
 * with a strictly increasing `seq` and the balances after it; `(transferId, leg)` appears at most
 * once across the whole journal.
 */
import type { Balance } from './account';
import type { Leg, LegKind } from './leg';
import type { TransferReference } from './transfer';

export interface Entry {
  readonly accountId: string;
  readonly seq: number;
  readonly transferId: string;
  readonly leg: LegKind;
  readonly availableDelta: bigint;
  readonly heldDelta: bigint;
  /** Balances right after this entry. */
  readonly available: bigint;
  readonly held: bigint;
  readonly at: Date;
  readonly reference: TransferReference;
}

/** The key that makes a leg apply once: one per (transfer, leg kind). */
export function legKeyOf(transferId: string, leg: LegKind): string {
  return `${transferId}:${leg}`;
}

/** The leg an entry applied, recovered from its deltas (for the invariant report). */
export function legOfEntry(entry: Pick<Entry, 'leg' | 'availableDelta' | 'heldDelta'>): Leg {
  switch (entry.leg) {
    case 'debit':
      return { kind: 'debit', amountMinor: -entry.availableDelta };
    case 'credit':
      return { kind: 'credit', amountMinor: entry.availableDelta };
    case 'hold':
      return { kind: 'hold', amountMinor: entry.heldDelta };
    case 'release':
      return { kind: 'release', heldMinor: -entry.heldDelta, postedMinor: -entry.heldDelta - entry.availableDelta };
  }
}

/**
 * Numbers entries not yet in the journal, oldest first, from the account's balances and seq after
 * the newest of them: walking back, each entry's balances are the later ones minus the later deltas.
 */
export function numberEntries<E extends Pick<Entry, 'availableDelta' | 'heldDelta'>>(latest: { seq: number; balance: Balance }, entries: readonly E[]): (E & { seq: number; available: bigint; held: bigint })[] {
  const numbered: (E & { seq: number; available: bigint; held: bigint })[] = [];
  let available = latest.balance.available;
  let held = latest.balance.held;
  for (let index = entries.length - 1; index >= 0; index -= 1) {
    const entry = entries[index]!;
    numbered.unshift({ ...entry, seq: latest.seq - (entries.length - 1 - index), available, held });
    available -= entry.availableDelta;
    held -= entry.heldDelta;
  }
  return numbered;
}
