/** Domain ⇄ wire conversions for the escrow gRPC services. */
import { type CallerIdentity, DomainError, hasRole, isCurrencyCode, type Money } from '@sizhong/kit';
import { commonV1, escrowV1 } from '@sizhong/proto';
import type { AccountKind, Balance } from '../../domain/ledger/account';
import type { InvariantReport } from '../../domain/ledger/invariants';
import type { Transfer, TransferMode } from '../../domain/ledger/transfer';
import type { Entry } from '../../domain/ledger/entry';

/** The page size when a request names none, and the most one page may hold. */
export const pageSizeDefault = 20;
export const pageSizeMax = 100;

export function pageSize(page: commonV1.PageRequest | undefined): number {
  const limit = page?.limit ?? 0;
  if (limit > pageSizeMax) throw new DomainError('LIMIT_EXCEEDED', `a page holds at most ${pageSizeMax} items`, { limitMax: pageSizeMax });
  return limit === 0 ? pageSizeDefault : limit;
}

/** Entries page by sequence number: the cursor is the last sequence returned. */
export function beforeSequence(page: commonV1.PageRequest | undefined): number | undefined {
  if (!page?.cursor) return undefined;
  if (!/^\d{1,15}$/.test(page.cursor)) throw new DomainError('INVALID_ARGUMENT', 'malformed cursor');
  return Number(page.cursor);
}

const idPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** An id of ours in a request (campaigns, tiers, pledges, deposits, cursors): INVALID_ARGUMENT otherwise. */
export function idIn(value: string, field: string): string {
  if (!idPattern.test(value)) throw new DomainError('INVALID_ARGUMENT', `${field} is malformed`, { field });
  return value;
}

export function moneyIn(value: commonV1.Money | undefined, field: string): Money {
  if (!value || !isCurrencyCode(value.currency)) throw new DomainError('INVALID_ARGUMENT', `${field} needs a currency`, { field });
  return { currency: value.currency, amountMinor: value.amountMinor };
}

export function currencyIn(value: string): string {
  if (!isCurrencyCode(value)) throw new DomainError('INVALID_ARGUMENT', 'currency must be a three-letter ISO 4217 code', { field: 'currency' });
  return value;
}

const accountKinds: Record<AccountKind, escrowV1.AccountKind> = {
  wallet: escrowV1.AccountKind.ACCOUNT_KIND_WALLET,
  escrow: escrowV1.AccountKind.ACCOUNT_KIND_ESCROW,
  fee: escrowV1.AccountKind.ACCOUNT_KIND_FEE,
  external: escrowV1.AccountKind.ACCOUNT_KIND_EXTERNAL,
};

export function accountKindOut(kind: AccountKind): escrowV1.AccountKind {
  return accountKinds[kind];
}

export function accountKindIn(kind: escrowV1.AccountKind): AccountKind {
  const found = (Object.entries(accountKinds) as [AccountKind, escrowV1.AccountKind][]).find(([, wire]) => wire === kind);
  if (!found) throw new DomainError('INVALID_ARGUMENT', 'unknown account kind');
  return found[0];
}

export function transferModeIn(mode: escrowV1.TransferMode): TransferMode {
  if (mode === escrowV1.TransferMode.TRANSFER_MODE_SINGLE_PHASE) return 'single_phase';
  if (mode === escrowV1.TransferMode.TRANSFER_MODE_TWO_PHASE) return 'two_phase';
  throw new DomainError('INVALID_ARGUMENT', 'transfer mode must be single or two phase');
}

export function balanceOut(accountId: string, currency: string, balance: Balance): escrowV1.AccountBalance {
  return { accountId, available: { currency, amountMinor: balance.available }, held: { currency, amountMinor: balance.held } };
}

export function entryOut(entry: Entry): escrowV1.Entry {
  return {
    accountId: entry.accountId,
    sequence: BigInt(entry.seq),
    transferId: entry.transferId,
    leg: entry.leg,
    availableDeltaMinor: entry.availableDelta,
    heldDeltaMinor: entry.heldDelta,
    availableMinor: entry.available,
    heldMinor: entry.held,
    at: entry.at,
    referenceKind: entry.reference.kind,
    referenceId: entry.reference.id,
  };
}

export function entriesOut(entries: Entry[], limit: number): escrowV1.ListEntriesResponse {
  const last = entries.at(-1);
  return { entries: entries.map(entryOut), page: { nextCursor: entries.length === limit && last && last.seq > 1 ? String(last.seq) : '' } };
}

export function transferOut(transfer: Transfer): escrowV1.Transfer {
  return {
    id: transfer.id,
    mode: transfer.mode === 'single_phase' ? escrowV1.TransferMode.TRANSFER_MODE_SINGLE_PHASE : escrowV1.TransferMode.TRANSFER_MODE_TWO_PHASE,
    debitAccountId: transfer.debitAccountId,
    creditAccountId: transfer.creditAccountId,
    amount: { currency: transfer.currency, amountMinor: transfer.amountMinor },
    state: transfer.state,
    ...(transfer.postedMinor !== undefined ? { postedMinor: transfer.postedMinor } : {}),
    rejectionCode: transfer.rejectionCode ?? '',
    createdAt: transfer.createdAt,
    ...(transfer.timeoutAt ? { timeoutAt: transfer.timeoutAt } : {}),
    ...(transfer.resolvedAt ? { resolvedAt: transfer.resolvedAt } : {}),
    referenceKind: transfer.reference.kind,
    referenceId: transfer.reference.id,
  };
}

export function invariantsOut(report: InvariantReport, computedAt: Date): escrowV1.InvariantReport {
  return {
    conserved: report.conserved,
    totals: Object.entries(report.totalsByCurrency).map(([currency, totals]) => ({ currency, balancesMinor: totals.balancesMinor, inFlightMinor: totals.inFlightMinor })),
    negativeAccounts: report.negativeAccounts.map((account) => ({ accountId: account.accountId, availableMinor: account.available, heldMinor: account.held })),
    computedAt,
  };
}

/** The caller a participant-facing method acts for; anonymous calls are refused. */
export function requireParticipant(identity: CallerIdentity | undefined): CallerIdentity {
  if (!identity) throw new DomainError('UNAUTHENTICATED', 'this method acts for a signed-in participant');
  return identity;
}

/**
 * Ledger methods are for services (no participant identity). When the gateway calls one for a
 * participant, only admins and regulators may, as in the public API.
 */
export function requireServiceOrSupervisor(identity: CallerIdentity | undefined): void {
  if (identity && !hasRole(identity, 'admin', 'regulator')) throw new DomainError('PERMISSION_DENIED', 'only admins and regulators may read the ledger');
}
