/**
 * Transfers, TigerBeetle style: single-phase (posted at once) or two-phase (pending reserves the
 * money on the source; then posted in full or in part, the remainder returning, or voided, or
 * expired at its timeout). A transfer touching two accounts is a short saga of legs; its state
 * says which legs it still needs, so a crash at any point is completed by replaying `nextLegs`.
 *
 *   single:    requested ─debit,credit→ posted            requested ─refused→ rejected
 *   two-phase: requested ─hold→ pending ─→ posting ─release,credit→ posted
 *                                        ├→ voiding ─release→ voided
 *                                        └→ expiring ─release→ expired
 */
import { assert, DomainError, type CurrencyCode } from '@sizhong/kit/domain';
import type { Leg, LegKind } from './leg';

export type TransferMode = 'single_phase' | 'two_phase';
export type TransferState = 'requested' | 'rejected' | 'pending' | 'posting' | 'voiding' | 'expiring' | 'posted' | 'voided' | 'expired';

export const finalTransferStates: readonly TransferState[] = ['rejected', 'posted', 'voided', 'expired'];

/** What a transfer is for: shown in journals and used by reports (`campaign`, `pledge`, `deposit`, …). */
export interface TransferReference {
  readonly kind: string;
  readonly id: string;
}

export interface Transfer {
  readonly id: string;
  readonly mode: TransferMode;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly currency: CurrencyCode;
  readonly amountMinor: bigint;
  readonly reference: TransferReference;
  readonly state: TransferState;
  readonly createdAt: Date;
  /** Two-phase only: when an unresolved pending transfer expires. */
  readonly timeoutAt: Date | undefined;
  /** Set when posting: the part of the pending amount that moves to the destination. */
  readonly postedMinor: bigint | undefined;
  readonly rejectionCode: string | undefined;
  readonly resolvedAt: Date | undefined;
}

/** Pending transfers live at most this long: nothing is held forever. */
export const pendingTimeoutMaxMs = 366 * 24 * 3_600_000;

export interface TransferRequest {
  readonly id: string;
  readonly mode: TransferMode;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly currency: CurrencyCode;
  readonly amountMinor: bigint;
  readonly reference: TransferReference;
  readonly timeoutMs?: number;
}

export function requestTransfer(request: TransferRequest, now: Date): Transfer {
  if (request.amountMinor <= 0n) throw new DomainError('INVALID_ARGUMENT', 'a transfer moves a positive amount');
  if (request.debitAccountId === request.creditAccountId) throw new DomainError('INVALID_ARGUMENT', 'a transfer needs two different accounts');
  if (request.mode === 'single_phase' && request.timeoutMs !== undefined) throw new DomainError('INVALID_ARGUMENT', 'only two-phase transfers time out');
  if (request.timeoutMs !== undefined && (request.timeoutMs <= 0 || request.timeoutMs > pendingTimeoutMaxMs)) {
    throw new DomainError('LIMIT_EXCEEDED', `a pending transfer times out within 1 ms and ${pendingTimeoutMaxMs} ms`);
  }
  return {
    ...request,
    state: 'requested',
    createdAt: now,
    timeoutAt: request.timeoutMs === undefined ? undefined : new Date(now.getTime() + request.timeoutMs),
    postedMinor: undefined,
    rejectionCode: undefined,
    resolvedAt: undefined,
  };
}

/** A leg this transfer applies to one account, keyed so storage can apply it at most once. */
export interface TransferLeg {
  readonly accountId: string;
  readonly legKind: LegKind;
  readonly leg: Leg;
}

/** The legs the transfer's current state still has to apply, in order. */
export function nextLegs(transfer: Transfer): TransferLeg[] {
  const { debitAccountId, creditAccountId, amountMinor } = transfer;
  switch (transfer.state) {
    case 'requested':
      return transfer.mode === 'single_phase'
        ? [
            { accountId: debitAccountId, legKind: 'debit', leg: { kind: 'debit', amountMinor } },
            { accountId: creditAccountId, legKind: 'credit', leg: { kind: 'credit', amountMinor } },
          ]
        : [{ accountId: debitAccountId, legKind: 'hold', leg: { kind: 'hold', amountMinor } }];
    case 'posting': {
      const postedMinor = transfer.postedMinor ?? 0n;
      const release: TransferLeg = { accountId: debitAccountId, legKind: 'release', leg: { kind: 'release', heldMinor: amountMinor, postedMinor } };
      return postedMinor > 0n ? [release, { accountId: creditAccountId, legKind: 'credit', leg: { kind: 'credit', amountMinor: postedMinor } }] : [release];
    }
    case 'voiding':
    case 'expiring':
      return [{ accountId: debitAccountId, legKind: 'release', leg: { kind: 'release', heldMinor: amountMinor, postedMinor: 0n } }];
    default:
      return [];
  }
}

/** After the legs of `requested` applied. */
export function completeRequest(transfer: Transfer, now: Date): Transfer {
  assert(transfer.state === 'requested', `complete a requested transfer, not a ${transfer.state} one`);
  return transfer.mode === 'single_phase' ? { ...transfer, state: 'posted', postedMinor: transfer.amountMinor, resolvedAt: now } : { ...transfer, state: 'pending' };
}

/** The first leg was refused (insufficient funds): nothing moved. */
export function rejectRequest(transfer: Transfer, code: string, now: Date): Transfer {
  assert(transfer.state === 'requested', `reject a requested transfer, not a ${transfer.state} one`);
  return { ...transfer, state: 'rejected', rejectionCode: code, resolvedAt: now };
}

function assertPending(transfer: Transfer, now: Date, action: string): void {
  if (transfer.mode !== 'two_phase') throw new DomainError('TRANSFER_NOT_PENDING', `a single-phase transfer cannot be ${action}`);
  if (transfer.state === 'expired' || transfer.state === 'expiring' || (transfer.state === 'pending' && transfer.timeoutAt !== undefined && now >= transfer.timeoutAt)) {
    throw new DomainError('TRANSFER_EXPIRED', `transfer ${transfer.id} expired`);
  }
  if (transfer.state !== 'pending') throw new DomainError('TRANSFER_NOT_PENDING', `transfer ${transfer.id} is ${transfer.state}, not pending`);
}

/** Starts posting `postedMinor` (default: all) of a pending transfer; the remainder will return. */
export function startPost(transfer: Transfer, postedMinor: bigint | undefined, now: Date): Transfer {
  assertPending(transfer, now, 'posted');
  const amount = postedMinor ?? transfer.amountMinor;
  if (amount < 0n || amount > transfer.amountMinor) {
    throw new DomainError('INVALID_ARGUMENT', 'a pending transfer posts between zero and its pending amount', { pendingMinor: transfer.amountMinor.toString() });
  }
  return { ...transfer, state: 'posting', postedMinor: amount };
}

export function startVoid(transfer: Transfer, now: Date): Transfer {
  assertPending(transfer, now, 'voided');
  return { ...transfer, state: 'voiding', postedMinor: 0n };
}

/** The scheduler's timeout: only a pending transfer past its `timeoutAt` expires. */
export function startExpire(transfer: Transfer, now: Date): Transfer {
  if (transfer.state !== 'pending' || transfer.timeoutAt === undefined || now < transfer.timeoutAt) {
    throw new DomainError('INVALID_STATE', `transfer ${transfer.id} cannot expire now (${transfer.state})`);
  }
  return { ...transfer, state: 'expiring', postedMinor: 0n };
}

/** After the legs of posting / voiding / expiring applied. */
export function completeResolution(transfer: Transfer, now: Date): Transfer {
  const final = ({ posting: 'posted', voiding: 'voided', expiring: 'expired' } as const)[transfer.state as 'posting' | 'voiding' | 'expiring'];
  assert(final !== undefined, `complete a resolving transfer, not a ${transfer.state} one`);
  return { ...transfer, state: final, resolvedAt: now };
}

export function isFinal(transfer: Transfer): boolean {
  return finalTransferStates.includes(transfer.state);
}

/** A stable identity of the request, to tell a replay from a different request with the same id. */
export function sameRequest(transfer: Transfer, request: TransferRequest): boolean {
  return (
    transfer.mode === request.mode &&
    transfer.debitAccountId === request.debitAccountId &&
    transfer.creditAccountId === request.creditAccountId &&
    transfer.currency === request.currency &&
    transfer.amountMinor === request.amountMinor &&
    transfer.reference.kind === request.reference.kind &&
    transfer.reference.id === request.reference.id
  );
}
