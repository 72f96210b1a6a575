/**
 * The ledger's use cases: open accounts, create transfers (single- or two-phase), post, void and
 * expire pending ones, recover transfers a crash left between legs, and report the invariants.
 * Each transfer is an aggregate (its state says which legs remain); each leg is one journal
 * entry applied at most once. Steps are idempotent, so any step can be repeated after a crash.
 */
import { type AggregateStore, type Clock, DomainError, type Loaded, requestFingerprint } from '@sizhong/kit';
import { accountFromId, type Account, type Balance } from '../domain/ledger/account';
import { checkInvariants, type InvariantReport } from '../domain/ledger/invariants';
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
import { type Entry, type JournalStore, legOfEntry } from '../storage/journal-store';

/** A pending transfer without an explicit timeout expires after this long. */
export const pendingTimeoutDefaultMs = 90 * 24 * 3_600_000;
/** Unfinished transfers younger than this belong to a request still running; recovery leaves them alone. */
export const recoveryAgeDefaultMs = 30_000;
/** Unfinished transfers one recovery pass completes. */
export const recoveryBatchSize = 200;
/**
 * Querying for unfinished transfers scans on FerretDB, so recovery queries only this often (and
 * on its first pass after a start, which is what recovers a crash). In between it completes the
 * transfers this process knows it left unfinished (a step that failed without a crash).
 */
export const recoveryFullScanIntervalMs = 300_000;
/** Unfinished transfers a full scan loads at most. */
export const recoveryFullScanLimit = 100_000;

export interface LedgerOptions {
  readonly journal: JournalStore;
  readonly transfers: AggregateStore<Transfer>;
  readonly clock: Clock;
  /** Called when a two-phase transfer becomes pending, so its expiry can be scheduled. */
  readonly onPending?: (transfer: Transfer) => Promise<void>;
  /** How old an unfinished transfer must be before recovery completes it (default recoveryAgeDefaultMs). */
  readonly recoveryAgeMs?: number;
}

/** Accounts known to exist are remembered in-process, sparing two reads per leg. */
export const knownAccountsMax = 100_000;

export class Ledger {
  private readonly knownAccounts = new Map<string, Account>();
  /** Transfer id → since when (ms) it has been unfinished, as far as this process knows. */
  private readonly unfinished = new Map<string, number>();
  private lastFullScanAtMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: LedgerOptions) {}

  /** Opens an account (idempotent). Only well-formed ids open; external accounts are opened by the service itself. */
  async openAccount(account: Account): Promise<Account> {
    if (this.knownAccounts.has(account.id)) return account;
    const opened = await this.options.journal.open(account, this.options.clock.now());
    this.knownAccounts.set(account.id, opened);
    return opened;
  }

  async balance(accountId: string): Promise<Balance> {
    await this.existingAccount(accountId);
    return (await this.options.journal.latest(accountId)).balance;
  }

  async entries(accountId: string, limit: number, beforeSeq?: number): Promise<Entry[]> {
    await this.existingAccount(accountId);
    return this.options.journal.list(accountId, limit, beforeSeq);
  }

  async transfer(transferId: string): Promise<Transfer> {
    return (await this.options.transfers.get(transferId, 'transfer')).state;
  }

  /**
   * Creates and applies a transfer. A replay (same id, same request) continues or returns the
   * first one; a refused transfer answers with its refusal every time.
   */
  async createTransfer(request: TransferRequest): Promise<Transfer> {
    const [debit, credit] = await Promise.all([this.existingAccount(request.debitAccountId), this.existingAccount(request.creditAccountId)]);
    if (debit.currency !== request.currency || credit.currency !== request.currency) {
      throw new DomainError('CURRENCY_MISMATCH', `both accounts must hold ${request.currency}`);
    }
    const withTimeout: TransferRequest =
      request.mode === 'two_phase' && request.timeoutMs === undefined ? { ...request, timeoutMs: pendingTimeoutDefaultMs } : request;
    const requested = requestTransfer(withTimeout, this.options.clock.now());
    const outcome = await this.options.transfers.create(request.id, requested, [], requestFingerprint({ ...request, timeoutMs: undefined }));
    const transfer = await this.advance(outcome.aggregate);
    if (transfer.state === 'rejected') {
      throw new DomainError((transfer.rejectionCode as 'INSUFFICIENT_FUNDS' | undefined) ?? 'INSUFFICIENT_FUNDS', 'the transfer was refused: not enough available money', { transferId: transfer.id });
    }
    return transfer;
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

  /** The scheduler's call at `timeoutAt`; a transfer resolved meanwhile is left as it is. */
  async expirePending(transferId: string): Promise<Transfer> {
    const current = await this.options.transfers.get(transferId, 'transfer');
    if (current.state.state !== 'pending' && current.state.state !== 'expiring') return current.state;
    return this.resolve(transferId, (transfer, now) => (transfer.state === 'expiring' ? transfer : startExpire(transfer, now)));
  }

  /** Completes transfers that a crash left between legs; returns how many it moved on. */
  async recover(): Promise<number> {
    if (Date.now() - this.lastFullScanAtMs >= recoveryFullScanIntervalMs) {
      this.lastFullScanAtMs = Date.now();
      const found = await this.options.transfers.find({ 'state.state': { $in: ['requested', 'posting', 'voiding', 'expiring'] } }, { limit: recoveryFullScanLimit });
      for (const transfer of found) if (!this.unfinished.has(transfer.id)) this.track(transfer.id, transfer.state.createdAt.getTime());
    }
    const cutoffMs = this.options.clock.now().getTime() - (this.options.recoveryAgeMs ?? recoveryAgeDefaultMs);
    const stuck = [...this.unfinished].filter(([, sinceMs]) => sinceMs < cutoffMs).slice(0, recoveryBatchSize);
    for (const [transferId] of stuck) await this.advance(await this.options.transfers.get(transferId, 'transfer'));
    return stuck.length;
  }

  async invariants(): Promise<InvariantReport> {
    const balances = [];
    for await (const accountBalance of this.options.journal.allAccounts()) balances.push(accountBalance);
    const unfinished = await this.options.transfers.find({ 'state.state': { $in: ['requested', 'posting', 'voiding', 'expiring'] } }, { limit: 100_000 });
    const inFlight = await Promise.all(
      unfinished.map(async (transfer) => ({
        transferId: transfer.id,
        currency: transfer.state.currency,
        appliedLegs: (await this.options.journal.entriesOfTransfer(transfer.id)).filter((entry) => nextLegs(transfer.state).some((leg) => leg.legKind === entry.leg && leg.accountId === entry.accountId)).map(legOfEntry),
      })),
    );
    return checkInvariants(balances, inFlight);
  }

  private async resolve(transferId: string, begin: (transfer: Transfer, now: Date) => Transfer): Promise<Transfer> {
    const { aggregate } = await this.options.transfers.update(
      transferId,
      (current) => ({ state: begin(current.state, this.options.clock.now()), events: [], result: undefined }),
      'transfer',
    );
    return this.advance(aggregate);
  }

  /** Applies the legs the transfer's state still needs, then records the step as done. */
  private async advance(loaded: Loaded<Transfer>): Promise<Transfer> {
    const transfer = loaded.state;
    if (isFinal(transfer) || transfer.state === 'pending') {
      this.unfinished.delete(transfer.id);
      return transfer;
    }
    if (!this.unfinished.has(transfer.id)) this.track(transfer.id, this.options.clock.now().getTime());
    const done = await this.applyLegs(transfer);
    if (isFinal(done) || done.state === 'pending') this.unfinished.delete(transfer.id);
    return done;
  }

  /** Bounded: past the limit, the next full scan finds what is not tracked. */
  private track(transferId: string, sinceMs: number): void {
    if (this.unfinished.size < recoveryFullScanLimit) this.unfinished.set(transferId, sinceMs);
  }

  private async applyLegs(transfer: Transfer): Promise<Transfer> {
    const legs = nextLegs(transfer);
    for (const [index, { accountId, legKind, leg }] of legs.entries()) {
      const account = await this.existingAccount(accountId);
      try {
        await this.options.journal.append(account, transfer.id, legKind, leg, transfer.reference, this.options.clock.now());
      } catch (error) {
        // Only the first leg of a request can be refused; later legs never lack funds.
        if (error instanceof DomainError && error.code === 'INSUFFICIENT_FUNDS' && transfer.state === 'requested' && index === 0) {
          return this.record(transfer.id, (current) => (current.state === 'requested' ? rejectRequest(current, error.code, this.options.clock.now()) : current));
        }
        throw error;
      }
    }
    const done = await this.record(transfer.id, (current) => {
      if (current.state !== transfer.state) return current;
      return current.state === 'requested' ? completeRequest(current, this.options.clock.now()) : completeResolution(current, this.options.clock.now());
    });
    if (done.state === 'pending' && transfer.state === 'requested') await this.options.onPending?.(done);
    return done;
  }

  private async record(transferId: string, step: (current: Transfer) => Transfer): Promise<Transfer> {
    const { aggregate } = await this.options.transfers.update(transferId, (current) => ({ state: step(current.state), events: [], result: undefined }), 'transfer');
    return aggregate.state;
  }

  private async existingAccount(accountId: string): Promise<Account> {
    const known = this.knownAccounts.get(accountId);
    if (known) return known;
    const parsed = accountFromId(accountId);
    if (!parsed) throw new DomainError('INVALID_ARGUMENT', `malformed account id ${JSON.stringify(accountId)}`);
    // Wallets open on first use; other accounts must be opened explicitly.
    const account = parsed.kind === 'wallet' ? await this.options.journal.open(parsed, this.options.clock.now()) : await this.options.journal.find(accountId);
    if (!account) throw new DomainError('NOT_FOUND', `account ${accountId} not found`);
    // Accounts are never closed, so a remembered one stays true; the bound keeps memory flat.
    if (this.knownAccounts.size >= knownAccountsMax) this.knownAccounts.clear();
    this.knownAccounts.set(accountId, account);
    return account;
  }
}
