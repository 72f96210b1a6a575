/**
 * The ledger's invariants (docs/storage.md "Ledger"), computed from balances and the legs of
 * unfinished transfers: money is conserved per currency (all balances plus money in flight sum to
 * zero) and no account but an external one is below zero.
 */
import type { Account, Balance } from './account';
import { legEffect, type Leg } from './leg';

export interface AccountBalance {
  readonly account: Account;
  readonly balance: Balance;
}

/** Legs already applied by transfers that have not finished (money that left one side only). */
export interface UnfinishedTransferLegs {
  readonly transferId: string;
  readonly currency: string;
  readonly appliedLegs: readonly Leg[];
}

export interface CurrencyTotals {
  readonly balancesMinor: bigint;
  readonly inFlightMinor: bigint;
}

export interface InvariantReport {
  readonly conserved: boolean;
  readonly totalsByCurrency: Readonly<Record<string, CurrencyTotals>>;
  readonly negativeAccounts: readonly { accountId: string; available: bigint; held: bigint }[];
}

export function checkInvariants(balances: readonly AccountBalance[], unfinished: readonly UnfinishedTransferLegs[]): InvariantReport {
  const totals = new Map<string, { balancesMinor: bigint; inFlightMinor: bigint }>();
  const totalsFor = (currency: string) => {
    let entry = totals.get(currency);
    if (!entry) totals.set(currency, (entry = { balancesMinor: 0n, inFlightMinor: 0n }));
    return entry;
  };
  const negativeAccounts: { accountId: string; available: bigint; held: bigint }[] = [];
  for (const { account, balance } of balances) {
    totalsFor(account.currency).balancesMinor += balance.available + balance.held;
    if (!account.overdraftAllowed && (balance.available < 0n || balance.held < 0n)) {
      negativeAccounts.push({ accountId: account.id, available: balance.available, held: balance.held });
    }
  }
  for (const transfer of unfinished) {
    // The legs applied so far changed the balances by their net; the opposite of it is in flight.
    const net = transfer.appliedLegs.reduce((sum, leg) => {
      const effect = legEffect(leg);
      return sum + effect.availableDelta + effect.heldDelta;
    }, 0n);
    totalsFor(transfer.currency).inFlightMinor -= net;
  }
  const totalsByCurrency = Object.fromEntries(totals);
  const conserved = [...totals.values()].every((total) => total.balancesMinor + total.inFlightMinor === 0n);
  return { conserved, totalsByCurrency, negativeAccounts };
}
