/**
 * The ledger's use cases: open accounts, create transfers (single- or two-phase), post, void and
 * expire pending ones, recover transfers a crash left between legs, and report the invariants.
 * Each transfer is an aggregate whose state says which legs remain; each leg is one guarded write
 * on its account (balance and journal entry together, applied once). Every step is idempotent, so
 * any step can be repeated after a crash. The transfer's facts go out through its outbox.
 *
 * Round trips: a single-phase transfer costs 4 (insert, debit, credit, record), a two-phase one 3
 * (insert, hold, record), a hold inside a saga that keeps its own record 2 (hold, insert as pending),
 * a resolution 3 plus its legs (read, record the start, legs, record the end).
 */
import { type AggregateStore, type Clock, DomainError, type Loaded, type PendingEvent, requestFingerprint } from '@sizhong/kit';
import { eventsV1 } from '@sizhong/proto';
import { accountFromId, type Account, type Balance } from '../domain/ledger/account';
import { legOfEntry, type Entry } from '../domain/ledger/entry';
import { checkInvariants, type InvariantReport, type UnfinishedTransferLegs } from '../domain/ledger/invariants';
import {
  completeRequest,
  completeResolution,
  isFinal,
  nextLegs,
  rejectRequest,
  requestTransfer,
  startExpire,
  startPost,
  startVoid,
  type Transfer,
  type TransferRequest,
} from '../domain/ledger/transfer';
import type { AccountStore } from '../storage/account-store';
import { escrowEvent } from './events';

/** A pending transfer without an explicit timeout expires after this long. */
export const pendingTimeoutDefaultMs = 90 * 24 * 3_600_000;
/** Unfinished transfers younger than this belong to a request still running; recovery leaves them alone. */
export const recoveryAgeDefaultMs = 30_000;
/** Unfinished or expired transfers one recovery pass handles. */
export const recoveryBatchSize = 200;
/**
 * Querying for unfinished and expired transfers scans the collection on the embedded server, so
 * recovery queries only this often (and on its first pass after a start, which is what recovers a
 * crash). In between it completes the transfers this process knows it left unfinished.
 */
export const recoverySweepIntervalMs = 60_000;
/** Unfinished transfers remembered between sweeps; past this the sweeps find the rest. */
export const unfinishedTrackedMax = 100_000;
/** Accounts known to exist are remembered in-process, sparing a read per leg. */
export const knownAccountsMax = 100_000;
const unfinishedStates = ['requested', 'posting', 'voiding', 'expiring'];

export interface LedgerOptions {
  readonly accounts: AccountStore;
  readonly transfers: AggregateStore<Transfer>;
  readonly clock: Clock;
  readonly topicPrefix: string;
  /** How old an unfinished transfer must be before recovery completes it (default recoveryAgeDefaultMs). */
  readonly recoveryAgeMs?: number;
}

const transferEventTypes = {
  pending: 'TransferPending',
  posted: 'TransferPosted',
  voided: 'TransferVoided',
  expired: 'TransferExpired',
  rejected: 'TransferRejected',
} as const;

export class Ledger {
  private readonly knownAccounts = new Map<string, Account>();
  /** Transfer id → since when (ms) it has been unfinished, as far as this process knows. */
  private readonly unfinished = new Map<string, number>();
  private lastSweepAtMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: LedgerOptions) {}

  private now(): Date {
    return this.options.clock.now();
  }

  /** Opens an account (idempotent). Only well-formed ids open; external accounts are opened by the service itself. */
  async openAccount(account: Account): Promise<Account> {
    if (this.knownAccounts.has(account.id)) return account;
    const opened = await this.options.accounts.open(account, this.now());
    this.remember(opened);
    return opened;
  }

  async balance(accountId: string): Promise<Balance> {
    await this.existingAccount(accountId);
    return (await this.options.accounts.balance(accountId)).balance;
  }

  async entries(accountId: string, limit: number, beforeSeq?: number): Promise<Entry[]> {
    await this.existingAccount(accountId);
    return this.options.accounts.list(accountId, limit, beforeSeq);
  }

  async transfer(transferId: string): Promise<Transfer> {
    return (await this.options.transfers.get(transferId, 'transfer')).state;
  }

  /**
   * Creates and applies a transfer. A replay (same id, same request) continues or returns the
   * first one; a refused transfer answers with its refusal every time.
   */
  async createTransfer(request: TransferRequest): Promise<Transfer> {
    const requested = await this.requested(request);
    const outcome = await this.options.transfers.create(request.id, requested, [], requestFingerprint({ ...request, timeoutMs: undefined }));
    // Only the request that created the transfer may skip the exactly-once reads (see AccountStore).
    const transfer = await this.advance(outcome.aggregate, { verified: outcome.kind === 'existing' });
    return refusedOrTransfer(transfer);
  }

  /**
   * A two-phase transfer for a saga that keeps its own durable record of the step (a pledge):
   * the hold first, then the transfer document, already pending. A crash in between leaves a hold
   * without a transfer, which the saga's recovery repairs by calling this again with
   * `resume: true`. Refused for lack of funds: nothing is held, nothing is stored.
   */
  async createSagaHold(request: TransferRequest & { mode: 'two_phase' }, options: { resume: boolean }): Promise<Transfer> {
    if (options.resume) {
      const existing = await this.options.transfers.load(request.id);
      if (existing) return refusedOrTransfer(await this.advance(existing, { verified: true }));
    }
    const requested = await this.requested(request);
    const [hold] = nextLegs(requested);
    await this.options.accounts.apply({ ...hold!, account: await this.existingAccount(hold!.accountId), transferId: requested.id, reference: requested.reference, at: this.now() }, { verified: options.resume });
    const pending = completeRequest(requested, this.now());
    const outcome = await this.options.transfers.create(request.id, pending, this.transferEvents(pending, 1), requestFingerprint({ ...request, timeoutMs: undefined }));
    return outcome.aggregate.state;
  }

  /** Posts `postedMinor` (default: all) of a pending transfer. Repeating the same post returns its result. */
  async postPending(transferId: string, postedMinor?: bigint): Promise<Transfer> {
    return this.resolve(transferId, (transfer, now) => {
      const wanted = postedMinor ?? transfer.amountMinor;
      if ((transfer.state === 'posting' || transfer.state === 'posted') && transfer.postedMinor === wanted && transfer.mode === 'two_phase') return transfer;
      return startPost(transfer, postedMinor, now);
    });
  }

  async voidPending(transferId: string): Promise<Transfer> {
    return this.resolve(transferId, (transfer, now) => (transfer.state === 'voiding' || transfer.state === 'voided' ? transfer : startVoid(transfer, now)));
  }

  /** Expires a pending transfer past its `timeoutAt`; one resolved meanwhile is left as it is. */
  async expirePending(transferId: string): Promise<Transfer> {
    const current = await this.options.transfers.get(transferId, 'transfer');
    if (current.state.state !== 'pending' && current.state.state !== 'expiring') return current.state;
    return this.resolve(transferId, (transfer, now) => (transfer.state === 'expiring' ? transfer : startExpire(transfer, now)), current);
  }

  /**
   * Completes transfers a crash left between legs and expires pending transfers past their
   * timeout; returns how many it moved on.
   */
  async recover(): Promise<number> {
    const nowMs = this.now().getTime();
    let moved = 0;
    if (nowMs - this.lastSweepAtMs >= recoverySweepIntervalMs) {
      this.lastSweepAtMs = nowMs;
      const found = await this.options.transfers.find({ 'state.state': { $in: unfinishedStates } }, { limit: unfinishedTrackedMax });
      for (const transfer of found) if (!this.unfinished.has(transfer.id)) this.track(transfer.id, transfer.state.createdAt.getTime());
      const expired = await this.options.transfers.find({ 'state.state': 'pending', 'state.timeoutAt': { $lte: this.now() } }, { limit: recoveryBatchSize });
      for (const transfer of expired) {
        await this.expirePending(transfer.id);
        moved += 1;
      }
    }
    const cutoffMs = nowMs - (this.options.recoveryAgeMs ?? recoveryAgeDefaultMs);
    const stuck = [...this.unfinished].filter(([, sinceMs]) => sinceMs < cutoffMs).slice(0, recoveryBatchSize);
    for (const [transferId] of stuck) {
      const loaded = await this.options.transfers.load(transferId);
      if (loaded) await this.advance(loaded, { verified: true });
      else this.unfinished.delete(transferId);
    }
    return moved + stuck.length;
  }

  async invariants(): Promise<InvariantReport> {
    const balances = [];
    const unjournaledByTransfer = new Map<string, { accountId: string; entry: Parameters<typeof legOfEntry>[0] }[]>();
    for await (const { account, balance, unjournaled } of this.options.accounts.allAccounts()) {
      balances.push({ account, balance });
      for (const entry of unjournaled) unjournaledByTransfer.set(entry.transferId, [...(unjournaledByTransfer.get(entry.transferId) ?? []), { accountId: account.id, entry }]);
    }
    const unfinished = await this.options.transfers.find({ 'state.state': { $in: unfinishedStates } }, { limit: unfinishedTrackedMax });
    const inFlight: UnfinishedTransferLegs[] = await Promise.all(
      unfinished.map(async ({ state: transfer }) => {
        const legs = nextLegs(transfer);
        const applied = [
          ...(await this.options.accounts.entriesOfTransfer(transfer.id)).map((entry) => ({ accountId: entry.accountId, entry })),
          ...(unjournaledByTransfer.get(transfer.id) ?? []),
        ];
        const seen = new Set<string>();
        const appliedLegs = applied
          .filter(({ accountId, entry }) => legs.some((leg) => leg.legKind === entry.leg && leg.accountId === accountId))
          .filter(({ accountId, entry }) => !seen.has(`${accountId}:${entry.leg}`) && seen.add(`${accountId}:${entry.leg}`))
          .map(({ entry }) => legOfEntry(entry));
        return { transferId: transfer.id, currency: transfer.currency, appliedLegs };
      }),
    );
    return checkInvariants(balances, inFlight);
  }

  /** Validates the accounts and builds the requested transfer. */
  private async requested(request: TransferRequest): Promise<Transfer> {
    const [debit, credit] = await Promise.all([this.existingAccount(request.debitAccountId), this.existingAccount(request.creditAccountId)]);
    if (debit.currency !== request.currency || credit.currency !== request.currency) {
      throw new DomainError('CURRENCY_MISMATCH', `both accounts must hold ${request.currency}`);
    }
    const withTimeout: TransferRequest = request.mode === 'two_phase' && request.timeoutMs === undefined ? { ...request, timeoutMs: pendingTimeoutDefaultMs } : request;
    return requestTransfer(withTimeout, this.now());
  }

  private async resolve(transferId: string, begin: (transfer: Transfer, now: Date) => Transfer, loaded?: Loaded<Transfer>): Promise<Transfer> {
    const current = loaded ?? (await this.options.transfers.get(transferId, 'transfer'));
    const started = begin(current.state, this.now());
    if (started === current.state) return isFinal(started) ? started : this.advance(current, { verified: true });
    const saved = await this.options.transfers.save(current, started, [], 'transfer').catch(async (error: unknown) => {
      // Another writer moved it first: decide again on what it wrote.
      if (error instanceof DomainError && error.code === 'CONCURRENT_MODIFICATION') return undefined;
      throw error;
    });
    if (!saved) return this.resolve(transferId, begin);
    // Nobody else can have applied the legs of a resolution this call just started.
    return this.advance(saved, { verified: false });
  }

  /** Applies the legs the transfer's state still needs, then records the step as done. */
  private async advance(loaded: Loaded<Transfer>, options: { verified: boolean }): Promise<Transfer> {
    const transfer = loaded.state;
    if (isFinal(transfer) || transfer.state === 'pending') {
      this.unfinished.delete(transfer.id);
      return transfer;
    }
    if (!this.unfinished.has(transfer.id)) this.track(transfer.id, this.now().getTime());
    for (const [index, leg] of nextLegs(transfer).entries()) {
      try {
        await this.options.accounts.apply({ ...leg, account: await this.existingAccount(leg.accountId), transferId: transfer.id, reference: transfer.reference, at: this.now() }, options);
      } catch (error) {
        // Only the first leg of a request can be refused; later legs never lack funds.
        if (error instanceof DomainError && error.code === 'INSUFFICIENT_FUNDS' && transfer.state === 'requested' && index === 0) {
          return this.record(loaded, (current) => (current.state === 'requested' ? rejectRequest(current, error.code, this.now()) : current));
        }
        throw error;
      }
    }
    return this.record(loaded, (current) => {
      if (current.state !== transfer.state) return current;
      return current.state === 'requested' ? completeRequest(current, this.now()) : completeResolution(current, this.now());
    });
  }

  /** Records a step: one guarded write from the version we hold, or a reload when someone else wrote meanwhile. */
  private async record(loaded: Loaded<Transfer>, step: (current: Transfer) => Transfer): Promise<Transfer> {
    const next = step(loaded.state);
    let recorded: Transfer;
    if (next === loaded.state) recorded = next;
    else {
      const saved = await this.options.transfers.save(loaded, next, this.transferEvents(next, loaded.version + 1), 'transfer').catch((error: unknown) => {
        if (error instanceof DomainError && error.code === 'CONCURRENT_MODIFICATION') return undefined;
        throw error;
      });
      recorded = saved
        ? saved.state
        : (await this.options.transfers.update(loaded.id, (current) => {
            const state = step(current.state);
            return { state, events: state === current.state ? [] : this.transferEvents(state, current.version + 1), result: undefined };
          }, 'transfer')).aggregate.state;
    }
    if (isFinal(recorded) || recorded.state === 'pending') this.unfinished.delete(recorded.id);
    return recorded;
  }

  /** The fact a transfer state is, as an event on the transfer's outbox (none for in-between states). */
  private transferEvents(transfer: Transfer, version: number): PendingEvent[] {
    const type = transferEventTypes[transfer.state as keyof typeof transferEventTypes] as string | undefined;
    if (type === undefined) return [];
    const amount = { currency: transfer.currency, amountMinor: transfer.amountMinor };
    return [
      escrowEvent(
        {
          type,
          aggregateType: 'transfer',
          aggregateId: transfer.id,
          aggregateVersion: version,
          occurredAt: transfer.resolvedAt ?? transfer.createdAt,
          payloadType: 'sizhong.events.v1.TransferChanged',
          codec: eventsV1.TransferChanged,
          payload: {
            transferId: transfer.id,
            mode: transfer.mode,
            debitAccountId: transfer.debitAccountId,
            creditAccountId: transfer.creditAccountId,
            amount,
            referenceKind: transfer.reference.kind,
            referenceId: transfer.reference.id,
            ...(transfer.state === 'posted' ? { postedAmount: { currency: transfer.currency, amountMinor: transfer.postedMinor ?? transfer.amountMinor } } : {}),
            ...(transfer.state === 'pending' && transfer.timeoutAt ? { timeoutAt: transfer.timeoutAt } : {}),
            rejectionCode: transfer.rejectionCode ?? '',
          },
        },
        this.options.topicPrefix,
      ),
    ];
  }

  /** Bounded: past the limit, the next sweep finds what is not tracked. */
  private track(transferId: string, sinceMs: number): void {
    if (this.unfinished.size < unfinishedTrackedMax) this.unfinished.set(transferId, sinceMs);
  }

  private remember(account: Account): void {
    // Accounts are never closed, so a remembered one stays true; the bound keeps memory flat.
    if (this.knownAccounts.size >= knownAccountsMax) this.knownAccounts.clear();
    this.knownAccounts.set(account.id, account);
  }

  private async existingAccount(accountId: string): Promise<Account> {
    const known = this.knownAccounts.get(accountId);
    if (known) return known;
    const parsed = accountFromId(accountId);
    if (!parsed) throw new DomainError('INVALID_ARGUMENT', `malformed account id ${JSON.stringify(accountId)}`);
    // Wallets open on first use; other accounts must be opened explicitly.
    const account = parsed.kind === 'wallet' ? await this.options.accounts.open(parsed, this.now()) : await this.options.accounts.find(accountId);
    if (!account) throw new DomainError('NOT_FOUND', `account ${accountId} not found`);
    this.remember(account);
    return account;
  }
}

function refusedOrTransfer(transfer: Transfer): Transfer {
  if (transfer.state === 'rejected') {
    throw new DomainError((transfer.rejectionCode as 'INSUFFICIENT_FUNDS' | undefined) ?? 'INSUFFICIENT_FUNDS', 'the transfer was refused: not enough available money', { transferId: transfer.id });
  }
  return transfer;
}
