/**
 * Per-account journals (ARCHITECTURE.md §2.4). Each account's entries carry a strictly increasing
 * `seq` in their `_id` (`<accountId>#<seq>`) and the running balances after the entry; the unique
 * `legKey` (`<transferId>:<leg>`) makes every leg apply once. Appending reads the latest entry,
 * checks the balance in the pure domain, and inserts `seq + 1`: a concurrent writer loses on the
 * unique `_id` and retries. Like the aggregate store, correctness rests on unique-key inserts only
 * (docs/storage.md); the account head is a cache that a read repairs.
 */
import { DomainError, isDuplicateKeyError, KeyedMutex, type MongoConnection } from '@sizhong/kit';
import type { Collection } from 'mongodb';
import type { Logger } from 'pino';
import { type Account, type AccountKind, type Balance, emptyBalance } from '../domain/ledger/account';
import { applyLeg, legEffect, type Leg, type LegKind } from '../domain/ledger/leg';
import type { TransferReference } from '../domain/ledger/transfer';

/** Retries after losing the race for the next sequence number, before answering CONCURRENT_MODIFICATION. */
export const journalAppendAttemptsMax = 20;
/** Entries a head may lag before a read gives up probing (it never should). */
export const journalProbesMax = 10_000;
export const entriesPageSizeMax = 100;

export interface EntryDocument {
  _id: string;
  accountId: string;
  seq: number;
  transferId: string;
  leg: LegKind;
  legKey: string;
  availableDelta: bigint;
  heldDelta: bigint;
  available: bigint;
  held: bigint;
  at: Date;
  referenceKind: string;
  referenceId: string;
}

export interface AccountDocument {
  _id: string;
  kind: AccountKind;
  ownerId: string;
  currency: string;
  overdraftAllowed: boolean;
  seq: number;
  available: bigint;
  held: bigint;
  openedAt: Date;
  updatedAt: Date;
}

export interface Entry {
  readonly accountId: string;
  readonly seq: number;
  readonly transferId: string;
  readonly leg: LegKind;
  readonly availableDelta: bigint;
  readonly heldDelta: bigint;
  readonly available: bigint;
  readonly held: bigint;
  readonly at: Date;
  readonly reference: TransferReference;
}

export interface LatestBalance {
  readonly seq: number;
  readonly balance: Balance;
}

function entryId(accountId: string, seq: number): string {
  return `${accountId}#${seq}`;
}

function toEntry(document: EntryDocument): Entry {
  return {
    accountId: document.accountId,
    seq: document.seq,
    transferId: document.transferId,
    leg: document.leg,
    availableDelta: BigInt(document.availableDelta),
    heldDelta: BigInt(document.heldDelta),
    available: BigInt(document.available),
    held: BigInt(document.held),
    at: document.at,
    reference: { kind: document.referenceKind, id: document.referenceId },
  };
}

/** The leg an entry applied, recovered from its deltas (for the invariant report). */
export function legOfEntry(entry: Entry): Leg {
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

export class JournalStore {
  readonly entries: Collection<EntryDocument>;
  readonly accounts: Collection<AccountDocument>;
  private readonly appendsInProcess = new KeyedMutex();

  constructor(
    mongo: MongoConnection,
    private readonly logger: Logger,
  ) {
    this.entries = mongo.collection<EntryDocument>('ledger_entries');
    this.accounts = mongo.collection<AccountDocument>('ledger_accounts');
  }

  async ensureIndexes(): Promise<void> {
    await this.entries.createIndex({ legKey: 1 }, { unique: true });
    await this.entries.createIndex({ transferId: 1 });
    await this.entries.createIndex({ accountId: 1, seq: -1 });
  }

  /** Opens the account unless it exists; returns it as stored. */
  async open(account: Account, at: Date): Promise<Account> {
    try {
      await this.accounts.insertOne({
        _id: account.id,
        kind: account.kind,
        ownerId: account.ownerId,
        currency: account.currency,
        overdraftAllowed: account.overdraftAllowed,
        seq: 0,
        available: 0n,
        held: 0n,
        openedAt: at,
        updatedAt: at,
      });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    return account;
  }

  async find(accountId: string): Promise<Account | undefined> {
    const document = await this.accounts.findOne({ _id: accountId });
    return document ? { id: document._id, kind: document.kind, ownerId: document.ownerId, currency: document.currency, overdraftAllowed: document.overdraftAllowed } : undefined;
  }

  /** The latest balances: the head, then forward probes past any entries it has not caught up with. */
  async latest(accountId: string): Promise<LatestBalance> {
    const head = await this.accounts.findOne({ _id: accountId });
    let seq = head?.seq ?? 0;
    let balance: Balance = head ? { available: BigInt(head.available), held: BigInt(head.held) } : emptyBalance;
    let probed = false;
    for (let probes = 0; ; probes += 1) {
      if (probes >= journalProbesMax) throw new Error(`account ${accountId}: head lags more than ${journalProbesMax} entries`);
      const next = await this.entries.findOne({ _id: entryId(accountId, seq + 1) });
      if (!next) break;
      seq = next.seq;
      balance = { available: BigInt(next.available), held: BigInt(next.held) };
      probed = true;
    }
    if (probed && head) await this.moveHead(accountId, seq, balance);
    return { seq, balance };
  }

  /**
   * Applies a leg once. Returns the entry (the existing one if this leg was applied before);
   * throws INSUFFICIENT_FUNDS (nothing written) when the account cannot afford it.
   */
  async append(account: Account, transferId: string, legKind: LegKind, leg: Leg, reference: TransferReference, at: Date): Promise<Entry> {
    const legKey = `${transferId}:${legKind}`;
    return this.appendsInProcess.run(account.id, async () => {
      for (let attempt = 1; attempt <= journalAppendAttemptsMax; attempt += 1) {
        const applied = await this.entries.findOne({ legKey });
        if (applied) return toEntry(applied);
        const { seq, balance } = await this.latest(account.id);
        const next = applyLeg(account, balance, leg);
        const effect = legEffect(leg);
        const document: EntryDocument = {
          _id: entryId(account.id, seq + 1),
          accountId: account.id,
          seq: seq + 1,
          transferId,
          leg: legKind,
          legKey,
          availableDelta: effect.availableDelta,
          heldDelta: effect.heldDelta,
          available: next.available,
          held: next.held,
          at,
          referenceKind: reference.kind,
          referenceId: reference.id,
        };
        try {
          await this.entries.insertOne(document);
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
          // Either another writer took seq + 1 (retry on the new balance) or applied this very leg.
          continue;
        }
        await this.moveHead(account.id, seq + 1, next);
        return toEntry(document);
      }
      throw new DomainError('CONCURRENT_MODIFICATION', `account ${account.id} is busy; try again`);
    });
  }

  /** Entries of one account, newest first, `limit` at most, older than `beforeSeq` when given. */
  async list(accountId: string, limit: number, beforeSeq?: number): Promise<Entry[]> {
    const size = Math.min(Math.max(limit, 1), entriesPageSizeMax);
    const filter = beforeSeq === undefined ? { accountId } : { accountId, seq: { $lt: beforeSeq } };
    const documents = await this.entries.find(filter).sort({ seq: -1 }).limit(size).toArray();
    return documents.map(toEntry);
  }

  async entriesOfTransfer(transferId: string): Promise<Entry[]> {
    return (await this.entries.find({ transferId }).toArray()).map(toEntry);
  }

  /** Every account with its latest balance (for the invariant report). */
  async *allAccounts(): AsyncGenerator<{ account: Account; balance: Balance }> {
    for await (const document of this.accounts.find({}).sort({ _id: 1 })) {
      const account: Account = { id: document._id, kind: document.kind, ownerId: document.ownerId, currency: document.currency, overdraftAllowed: document.overdraftAllowed };
      yield { account, balance: (await this.latest(account.id)).balance };
    }
  }

  /** Not atomic on FerretDB; a lagging head only costs a probe at the next read. */
  private async moveHead(accountId: string, seq: number, balance: Balance): Promise<void> {
    try {
      await this.accounts.updateOne({ _id: accountId, seq: { $lt: seq } }, { $set: { seq, available: balance.available, held: balance.held, updatedAt: new Date() } });
    } catch (error) {
      this.logger.warn({ err: error, accountId, seq }, 'could not move the account head; the next read repairs it');
    }
  }
}
