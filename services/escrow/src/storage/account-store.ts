/**
 * Ledger accounts and their journal (docs/storage.md "Ledger"). An account document holds its balances
 * and applies a leg with ONE guarded update: the balance change, `seq + 1`, the leg's key (kept
 * among the last `legKeysKept`, so a repeated leg is refused by the same filter) and the new entry
 * on `unjournaled`. The balance and its entry can never part. The journal writer then copies
 * unjournaled entries into `ledger_entries` (numbered, with balances after, `legKey` unique) and
 * pulls them off, batching many accounts into one insert.
 *
 * Exactly once: a leg is applied at most once as long as a repeat is tried with `verified: true`
 * (read the account, look in the journal, then write guarded by `seq`), because an entry that left
 * the key window is, by the unjournaled bound, already in the journal. The first attempt of a
 * freshly created transfer skips those reads (nobody else can have applied its legs yet, since
 * recovery waits `recoveryAgeMs` before touching a transfer).
 */
import { amountMinorMax, amountMinorMin, DomainError, isDuplicateKeyError, type MongoConnection } from '@sizhong/kit';
import type { Collection, Filter, UpdateFilter } from 'mongodb';
import { Schema, type Model } from 'mongoose';
import type { Logger } from 'pino';
import { type Account, type AccountKind, type Balance, emptyBalance } from '../domain/ledger/account';
import { type Entry, numberEntries } from '../domain/ledger/entry';
import { applyLeg, legEffect, type Leg, type LegKind } from '../domain/ledger/leg';
import type { TransferReference } from '../domain/ledger/transfer';

/** Leg keys an account remembers; also the most entries it may hold unjournaled (the exactly-once argument needs both equal). */
export const legKeysKept = 64;
export const unjournaledEntriesMax = legKeysKept;
/** A verified leg write retries this often when other legs keep moving the account's seq. */
export const legWriteAttemptsMax = 20;
export const entriesPageSizeMax = 100;
/** Accounts the journal writer copies in one batch. */
export const journalBatchAccountsMax = 200;
/** The journal writer waits this long after a write so one batch carries many entries (group commit). */
export const journalBatchDelayMs = 5;

interface UnjournaledEntry {
  legKey: string;
  transferId: string;
  leg: LegKind;
  availableDelta: bigint;
  heldDelta: bigint;
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
  available: bigint;
  held: bigint;
  seq: number;
  legKeys: string[];
  unjournaled: UnjournaledEntry[];
  openedAt: Date;
  updatedAt: Date;
}

export interface EntryDocument extends UnjournaledEntry {
  _id: string;
  accountId: string;
  seq: number;
  available: bigint;
  held: bigint;
}

/** The stored shapes and their indexes, declared once. */
const accountSchema = new Schema<AccountDocument>(
  {
    _id: String,
    kind: { type: String, required: true },
    ownerId: { type: String, required: true },
    currency: { type: String, required: true },
    overdraftAllowed: { type: Boolean, required: true },
    available: { type: Schema.Types.BigInt, required: true },
    held: { type: Schema.Types.BigInt, required: true },
    seq: { type: Number, required: true },
    legKeys: [String],
    unjournaled: [Schema.Types.Mixed],
    openedAt: Date,
    updatedAt: Date,
  },
  { versionKey: false, autoIndex: false, autoCreate: false },
);
accountSchema.index({ kind: 1 });

const entrySchema = new Schema<EntryDocument>(
  {
    _id: String,
    accountId: { type: String, required: true },
    seq: { type: Number, required: true },
    legKey: { type: String, required: true },
    transferId: { type: String, required: true },
    leg: { type: String, required: true },
    availableDelta: Schema.Types.BigInt,
    heldDelta: Schema.Types.BigInt,
    available: Schema.Types.BigInt,
    held: Schema.Types.BigInt,
    at: Date,
    referenceKind: String,
    referenceId: String,
  },
  { versionKey: false, autoIndex: false, autoCreate: false },
);
entrySchema.index({ legKey: 1 }, { unique: true });
entrySchema.index({ transferId: 1 });
entrySchema.index({ accountId: 1, seq: -1 });

export interface AccountWithBalance {
  readonly account: Account;
  readonly balance: Balance;
  /** Entries applied but not yet copied to the journal (the invariant report counts them). */
  readonly unjournaled: readonly Pick<Entry, 'transferId' | 'leg' | 'availableDelta' | 'heldDelta'>[];
}

function entryId(accountId: string, seq: number): string {
  return `${accountId}#${seq}`;
}

function accountOf(document: Pick<AccountDocument, '_id' | 'kind' | 'ownerId' | 'currency' | 'overdraftAllowed'>): Account {
  return { id: document._id, kind: document.kind, ownerId: document.ownerId, currency: document.currency, overdraftAllowed: document.overdraftAllowed };
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

export interface LegToApply {
  readonly account: Account;
  readonly transferId: string;
  readonly legKind: LegKind;
  readonly leg: Leg;
  readonly reference: TransferReference;
  readonly at: Date;
}

export class AccountStore {
  readonly accounts: Collection<AccountDocument>;
  readonly entries: Collection<EntryDocument>;
  private readonly models: readonly Model<never>[];
  /** Accounts with entries this process wrote and has not journaled yet. */
  private readonly dirty = new Set<string>();
  private journalTimer: NodeJS.Timeout | undefined;
  private journaling: Promise<void> | undefined;

  constructor(
    mongo: MongoConnection,
    private readonly logger: Logger,
  ) {
    this.accounts = mongo.collection<AccountDocument>('ledger_accounts');
    this.entries = mongo.collection<EntryDocument>('ledger_entries');
    const model = <T>(name: string, schema: Schema<T>) => (mongo.connection.models[name] ?? mongo.connection.model(name, schema, name)) as unknown as Model<never>;
    this.models = [model('ledger_accounts', accountSchema), model('ledger_entries', entrySchema)];
  }

  async ensureIndexes(): Promise<void> {
    for (const model of this.models) await model.createIndexes();
  }

  /** Opens the account unless it exists; returns it as stored. */
  async open(account: Account, at: Date): Promise<Account> {
    try {
      await this.accounts.insertOne({ _id: account.id, kind: account.kind, ownerId: account.ownerId, currency: account.currency, overdraftAllowed: account.overdraftAllowed, available: 0n, held: 0n, seq: 0, legKeys: [], unjournaled: [], openedAt: at, updatedAt: at });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    return account;
  }

  async find(accountId: string): Promise<Account | undefined> {
    const document = await this.accounts.findOne({ _id: accountId }, { projection: { legKeys: 0, unjournaled: 0 } });
    return document ? accountOf(document) : undefined;
  }

  /** One read by `_id`. */
  async balance(accountId: string): Promise<{ seq: number; balance: Balance }> {
    const document = await this.accounts.findOne({ _id: accountId }, { projection: { seq: 1, available: 1, held: 1 } });
    return document ? { seq: document.seq, balance: { available: BigInt(document.available), held: BigInt(document.held) } } : { seq: 0, balance: emptyBalance };
  }

  /**
   * Applies a leg once: 'applied' now, or 'already_applied' by an earlier try. Throws
   * INSUFFICIENT_FUNDS (nothing written) when the account cannot afford it. `verified` is for
   * repeats (recovery, replays); see the header for why the first attempt may skip it.
   */
  async apply(leg: LegToApply, options: { verified: boolean }): Promise<'applied' | 'already_applied'> {
    const legKey = `${leg.transferId}:${leg.legKind}`;
    const effect = legEffect(leg.leg);
    for (let attempt = 1; attempt <= legWriteAttemptsMax; attempt += 1) {
      const filter: Filter<AccountDocument> = { _id: leg.account.id, legKeys: { $ne: legKey }, [`unjournaled.${unjournaledEntriesMax - 1}`]: { $exists: false } };
      // The balance guard: never below zero (external accounts: never past int64), never past int64 up.
      const availableFloor = leg.account.overdraftAllowed ? amountMinorMin - effect.availableDelta : -effect.availableDelta;
      if (effect.availableDelta < 0n) filter.available = { $gte: availableFloor };
      if (effect.availableDelta > 0n) filter.available = { $lte: amountMinorMax - effect.availableDelta };
      if (effect.heldDelta < 0n && !leg.account.overdraftAllowed) filter.held = { $gte: -effect.heldDelta };
      if (effect.heldDelta > 0n) filter.held = { $lte: amountMinorMax - effect.heldDelta };
      if (options.verified) {
        const current = await this.accounts.findOne({ _id: leg.account.id }, { projection: { seq: 1, legKeys: 1 } });
        if (!current) throw new DomainError('NOT_FOUND', `account ${leg.account.id} not found`);
        if (current.legKeys.includes(legKey) || (await this.entries.countDocuments({ legKey }, { limit: 1 })) > 0) return 'already_applied';
        // Any application after our read must still be inside the key window when we write.
        filter.seq = { $lte: current.seq + legKeysKept - 1 };
      }
      const entry: UnjournaledEntry = { legKey, transferId: leg.transferId, leg: leg.legKind, availableDelta: effect.availableDelta, heldDelta: effect.heldDelta, at: leg.at, referenceKind: leg.reference.kind, referenceId: leg.reference.id };
      const update: UpdateFilter<AccountDocument> = {
        $inc: { available: effect.availableDelta, held: effect.heldDelta, seq: 1 },
        $push: { legKeys: { $each: [legKey], $slice: -legKeysKept }, unjournaled: entry },
        $set: { updatedAt: leg.at },
      };
      const result = await this.accounts.updateOne(filter, update);
      if (result.matchedCount === 1) {
        this.markDirty(leg.account.id);
        return 'applied';
      }
      const why = await this.accounts.findOne({ _id: leg.account.id }, { projection: { available: 1, held: 1, legKeys: 1 } });
      if (!why) throw new DomainError('NOT_FOUND', `account ${leg.account.id} not found`);
      if (why.legKeys.includes(legKey)) return 'already_applied';
      // Throws INSUFFICIENT_FUNDS (or LIMIT_EXCEEDED past int64) when the balance is the reason.
      applyLeg(leg.account, { available: BigInt(why.available), held: BigInt(why.held) }, leg.leg);
      // Otherwise the unjournaled bound or a moving seq: journal this account now and try again.
      await this.journal([leg.account.id]);
    }
    throw new DomainError('CONCURRENT_MODIFICATION', `account ${leg.account.id} is busy; try again`);
  }

  /** Entries of one account, newest first, `limit` at most, older than `beforeSeq` when given. */
  async list(accountId: string, limit: number, beforeSeq?: number): Promise<Entry[]> {
    await this.journal([accountId]);
    const size = Math.min(Math.max(limit, 1), entriesPageSizeMax);
    const filter: Filter<EntryDocument> = beforeSeq === undefined ? { accountId } : { accountId, seq: { $lt: beforeSeq } };
    return (await this.entries.find(filter).sort({ seq: -1 }).limit(size).toArray()).map(toEntry);
  }

  /** Journaled entries of a transfer (the invariant report adds the unjournaled ones from the accounts). */
  async entriesOfTransfer(transferId: string): Promise<Entry[]> {
    return (await this.entries.find({ transferId }).toArray()).map(toEntry);
  }

  /** Every account with its balances and unjournaled entries, read in one pass (for the invariant report). */
  async *allAccounts(): AsyncGenerator<AccountWithBalance> {
    for await (const document of this.accounts.find({}, { projection: { legKeys: 0 } }).sort({ _id: 1 })) {
      yield {
        account: accountOf(document),
        balance: { available: BigInt(document.available), held: BigInt(document.held) },
        unjournaled: document.unjournaled.map((entry) => ({ transferId: entry.transferId, leg: entry.leg, availableDelta: BigInt(entry.availableDelta), heldDelta: BigInt(entry.heldDelta) })),
      };
    }
  }

  /** Copies what a previous process left unjournaled (start-up) and then everything pending. */
  async journalLeftovers(): Promise<void> {
    const left = await this.accounts.find({ 'unjournaled.0': { $exists: true } }, { projection: { _id: 1 } }).toArray();
    for (let start = 0; start < left.length; start += journalBatchAccountsMax) await this.journal(left.slice(start, start + journalBatchAccountsMax).map((document) => document._id));
  }

  /** Waits for the background writer and journals what is still pending in this process. */
  async flush(): Promise<void> {
    if (this.journalTimer) clearTimeout(this.journalTimer);
    this.journalTimer = undefined;
    await this.journaling;
    while (this.dirty.size > 0) await this.journalDirty();
  }

  private markDirty(accountId: string): void {
    this.dirty.add(accountId);
    if (this.journalTimer || this.journaling) return;
    this.journalTimer = setTimeout(() => {
      this.journalTimer = undefined;
      this.journaling = this.journalDirty()
        .catch((error: unknown) => this.logger.error({ err: error }, 'journal writer failed; the entries stay on their accounts and are copied later'))
        .finally(() => {
          this.journaling = undefined;
          if (this.dirty.size > 0) this.markDirty([...this.dirty][0]!);
        });
    }, journalBatchDelayMs);
    this.journalTimer.unref();
  }

  private async journalDirty(): Promise<void> {
    const ids = [...this.dirty].slice(0, journalBatchAccountsMax);
    for (const id of ids) this.dirty.delete(id);
    try {
      await this.journal(ids);
    } catch (error) {
      for (const id of ids) this.dirty.add(id);
      throw error;
    }
  }

  /**
   * Copies the accounts' unjournaled entries into the journal (one insert for all of them, an
   * entry already there is a duplicate and ignored), then pulls exactly those off the accounts.
   */
  private async journal(accountIds: readonly string[]): Promise<void> {
    if (accountIds.length === 0) return;
    // Reads by _id: the embedded server serves those from its primary index, not a scan.
    const found = await Promise.all(accountIds.map((id) => this.accounts.findOne({ _id: id }, { projection: { seq: 1, available: 1, held: 1, unjournaled: 1 } })));
    const documents = found.filter((document): document is AccountDocument => document !== null);
    const entries: EntryDocument[] = [];
    const pulls: { id: string; legKeys: string[] }[] = [];
    for (const document of documents) {
      if (document.unjournaled.length === 0) continue;
      const numbered = numberEntries(
        { seq: document.seq, balance: { available: BigInt(document.available), held: BigInt(document.held) } },
        document.unjournaled.map((entry) => ({ ...entry, availableDelta: BigInt(entry.availableDelta), heldDelta: BigInt(entry.heldDelta) })),
      );
      for (const entry of numbered) entries.push({ ...entry, _id: entryId(document._id, entry.seq), accountId: document._id });
      pulls.push({ id: document._id, legKeys: document.unjournaled.map((entry) => entry.legKey) });
    }
    if (entries.length === 0) return;
    try {
      await this.entries.insertMany(entries, { ordered: false });
    } catch (error) {
      // Entries a crashed writer already copied come back as duplicates; anything else is a failure.
      const writeErrors = (error as { writeErrors?: unknown[] | unknown }).writeErrors;
      const list = Array.isArray(writeErrors) ? writeErrors : writeErrors === undefined ? [] : [writeErrors];
      if (list.length === 0 || !list.every((each) => (each as { code?: number }).code === 11000 || isDuplicateKeyError((each as { err?: unknown }).err))) throw error;
    }
    await this.accounts.bulkWrite(
      pulls.map(({ id, legKeys }) => ({ updateOne: { filter: { _id: id }, update: { $pull: { unjournaled: { legKey: { $in: legKeys } } } } as UpdateFilter<AccountDocument> } })),
      { ordered: false },
    );
  }
}

