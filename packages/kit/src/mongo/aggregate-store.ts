/**
 * The aggregate store. Every change to an aggregate is ONE atomic insert of a new revision
 * document `{_id: "<aggregateId>@<version>", state, outbox}`; the unique `_id` is the optimistic
 * concurrency check (two writers of version n+1: one insert wins, the other gets a conflict).
 *
 * Why inserts and not `updateOne({_id, version})`: FerretDB 1.24 on SQLite runs an update as a
 * read followed by a separate write, with no isolation between them. Measured here: 8 clients
 * doing 400 conditional updates on one document got 228 "successful" updates for 51 actual
 * version increments. A unique key on insert, by contrast, is enforced by SQLite itself and held
 * under the same load. So correctness rests only on unique-key inserts, which also hold on a
 * sharded MongoDB (docs/storage.md).
 *
 * A head document per aggregate (`{_id: aggregateId, version, state}`) serves queries and is the
 * starting point of a load; it is a cache that may briefly lag. A load reads the head and probes
 * the next revision ids until one is missing, so it always sees the latest revision, and repairs
 * a lagging head on the way.
 */
import type { Binary, Collection, Document, Filter, Sort } from 'mongodb';
import type { Logger } from 'pino';
import { DomainError } from '../errors';
import type { EventEnvelope } from '../kafka/envelope';
import { encodeEnvelope } from '../kafka/envelope';
import { KeyedMutex } from '../keyed-mutex';
import { isDuplicateKeyError, type MongoConnection } from './connection';

/** How often a command reloads and retries after losing a write race before giving up. */
export const aggregateWriteAttemptsMax = 12;
/** The pause before attempt n is a random share of base × 2^(n-1), capped (full jitter). */
export const aggregateWriteBackoffBaseMs = 4;
export const aggregateWriteBackoffMaxMs = 250;
/** A head can lag at most a few revisions; probing further means something else is wrong. */
export const revisionProbesMax = 1_000;
/** Events one command may emit. */
export const eventsPerCommandMax = 100;

/** Converts between the domain's state type and the stored document (bigint → Long, Date → Date). */
export interface AggregateCodec<State> {
  toDocument(state: State): Document;
  fromDocument(document: Document): State;
}

export interface PendingEvent {
  readonly topic: string;
  readonly envelope: EventEnvelope;
}

export interface StoredOutboxEvent {
  eventId: string;
  topic: string;
  key: string;
  bytes: Buffer | Binary;
}

export interface RevisionDocument {
  _id: string;
  aggregateId: string;
  version: number;
  /** Absent once compacted (see AggregateStoreOptions.revisionsKept). */
  state?: Document;
  outbox: StoredOutboxEvent[];
  outboxPending: boolean;
  /** Set on version 1 of aggregates created from an idempotency key. */
  requestFingerprint?: string;
  writtenAt: Date;
}

/** A pointer to a revision whose events wait for the relay (a small collection the relay scans cheaply). */
export interface OutboxPointerDocument {
  _id: string;
  aggregateId: string;
  version: number;
}

export interface AggregateStoreOptions {
  /**
   * Keep only this many latest revisions (relayed older ones are deleted after each write).
   * Unset keeps every revision as the aggregate's history. Large, busy aggregates set it, since
   * every revision is a full snapshot.
   */
  readonly revisionsKept?: number;
}

export interface HeadDocument {
  _id: string;
  version: number;
  state: Document;
  updatedAt: Date;
}

export interface Loaded<State> {
  readonly id: string;
  readonly version: number;
  readonly state: State;
}

/** What a command decided: the new state and the events it produced. */
export interface Decision<State, Result = void> {
  readonly state: State;
  readonly events: readonly PendingEvent[];
  readonly result: Result;
}

export type CreateOutcome<State> =
  | { readonly kind: 'created'; readonly aggregate: Loaded<State> }
  | { readonly kind: 'existing'; readonly aggregate: Loaded<State> };

export function revisionId(aggregateId: string, version: number): string {
  return `${aggregateId}@${version}`;
}

export class AggregateStore<State> {
  readonly revisions: Collection<RevisionDocument>;
  readonly heads: Collection<HeadDocument>;
  readonly outboxPointers: Collection<OutboxPointerDocument>;
  private readonly listeners = new Set<() => void>();
  private readonly commandsInProcess = new KeyedMutex();

  constructor(
    mongo: MongoConnection,
    readonly name: string,
    private readonly codec: AggregateCodec<State>,
    private readonly logger: Logger,
    private readonly options: AggregateStoreOptions = {},
  ) {
    this.revisions = mongo.collection<RevisionDocument>(`${name}_revisions`);
    this.heads = mongo.collection<HeadDocument>(name);
    this.outboxPointers = mongo.collection<OutboxPointerDocument>(`${name}_outbox`);
  }

  /** Indexes for the relay's and the queries' scans (FerretDB accepts them; MongoDB uses them). */
  async ensureIndexes(headIndexes: readonly Document[] = []): Promise<void> {
    await this.revisions.createIndex({ outboxPending: 1, aggregateId: 1, version: 1 });
    for (const keys of headIndexes) await this.heads.createIndex(keys);
  }

  /** Called after every write that produced events, so a relay can publish without waiting for its poll. */
  onWrite(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  async load(id: string): Promise<Loaded<State> | undefined> {
    const head = await this.heads.findOne({ _id: id });
    let version = head?.version ?? 0;
    let stateDocument: Document | undefined = head?.state;
    for (let probes = 0; ; probes += 1) {
      if (probes >= revisionProbesMax) throw new Error(`${this.name} ${id}: more than ${revisionProbesMax} revisions beyond its head`);
      const next = await this.revisions.findOne({ _id: revisionId(id, version + 1) });
      if (!next) break;
      version = next.version;
      // A compacted revision has no snapshot; a later one always has (only old ones are compacted).
      stateDocument = next.state ?? undefined;
    }
    if (version === 0) return undefined;
    if (stateDocument === undefined) throw new Error(`${this.name} ${id}: the latest revision ${version} has no snapshot`);
    if (!head || head.version < version) await this.writeHead(id, version, stateDocument);
    return { id, version, state: this.codec.fromDocument(stateDocument) };
  }

  async get(id: string, what = this.name): Promise<Loaded<State>> {
    const loaded = await this.load(id);
    if (!loaded) throw new DomainError('NOT_FOUND', `${what} ${id} not found`);
    return loaded;
  }

  /**
   * Creates version 1 unless it exists. With a request fingerprint, an existing aggregate created
   * by a different request is an `IDEMPOTENCY_KEY_REUSED` refusal; the same request gets the
   * existing aggregate back, as it is now.
   */
  async create(id: string, state: State, events: readonly PendingEvent[], requestFingerprint?: string): Promise<CreateOutcome<State>> {
    const inserted = await this.insertRevision(id, 1, state, events, requestFingerprint);
    if (inserted) return { kind: 'created', aggregate: { id, version: 1, state } };
    const first = await this.revisions.findOne({ _id: revisionId(id, 1) });
    if (requestFingerprint !== undefined && first?.requestFingerprint !== requestFingerprint) {
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for a different request');
    }
    return { kind: 'existing', aggregate: await this.get(id) };
  }

  /**
   * Load → decide → write, retried on a lost race. `decide` is pure: it gets the current state and
   * returns the new state and events, or throws a DomainError (nothing is written then).
   */
  async update<Result>(id: string, decide: (current: Loaded<State>) => Decision<State, Result>, what = this.name): Promise<{ aggregate: Loaded<State>; result: Result }> {
    // Commands on one aggregate queue within this process; only other replicas can race us.
    return this.commandsInProcess.run(id, async () => {
      for (let attempt = 1; ; attempt += 1) {
        const current = await this.get(id, what);
        const decision = decide(current);
        if (decision.events.length === 0 && decision.state === current.state) {
          return { aggregate: current, result: decision.result };
        }
        if (await this.insertRevision(id, current.version + 1, decision.state, decision.events)) {
          return { aggregate: { id, version: current.version + 1, state: decision.state }, result: decision.result };
        }
        if (attempt >= aggregateWriteAttemptsMax) {
          throw new DomainError('CONCURRENT_MODIFICATION', `${what} ${id} is changing too fast; try again`);
        }
        const ceilingMs = Math.min(aggregateWriteBackoffMaxMs, aggregateWriteBackoffBaseMs * 2 ** (attempt - 1));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
      }
    });
  }

  /**
   * Writes the next revision after `current`, or refuses with CONCURRENT_MODIFICATION when another
   * writer already wrote it (the caller's copy is stale).
   */
  async save(current: Loaded<State>, state: State, events: readonly PendingEvent[], what = this.name): Promise<Loaded<State>> {
    if (!(await this.insertRevision(current.id, current.version + 1, state, events))) {
      throw new DomainError('CONCURRENT_MODIFICATION', `${what} ${current.id} changed since version ${current.version}`);
    }
    return { id: current.id, version: current.version + 1, state };
  }

  /** Pages through heads (a read model that may lag by a moment), ordered by `sort` then `_id`. */
  async find(filter: Filter<HeadDocument>, options: { limit: number; sort?: Sort; skip?: number }): Promise<Loaded<State>[]> {
    const documents = await this.heads
      .find(filter)
      .sort(options.sort ?? { _id: 1 })
      .skip(options.skip ?? 0)
      .limit(options.limit)
      .toArray();
    return documents.map((document) => ({ id: document._id, version: document.version, state: this.codec.fromDocument(document.state) }));
  }

  /** Inserts revision `version`; false when another writer got that version first. */
  private async insertRevision(id: string, version: number, state: State, events: readonly PendingEvent[], requestFingerprint?: string): Promise<boolean> {
    if (events.length > eventsPerCommandMax) throw new Error(`a command emitted ${events.length} events; at most ${eventsPerCommandMax}`);
    const stateDocument = this.codec.toDocument(state);
    const revision: RevisionDocument = {
      _id: revisionId(id, version),
      aggregateId: id,
      version,
      state: stateDocument,
      outbox: events.map(({ topic, envelope }) => ({ eventId: envelope.id, topic, key: envelope.aggregateId, bytes: encodeEnvelope(envelope) })),
      outboxPending: events.length > 0,
      ...(requestFingerprint !== undefined ? { requestFingerprint } : {}),
      writtenAt: new Date(),
    };
    try {
      await this.revisions.insertOne(revision);
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
    if (events.length > 0) {
      // Best effort: a pointer lost to a crash is found by the relay's periodic full scan.
      await this.outboxPointers.insertOne({ _id: revision._id, aggregateId: id, version }).catch((error: unknown) => {
        if (!isDuplicateKeyError(error)) this.logger.warn({ err: error, aggregate: this.name, id, version }, 'could not write the outbox pointer; the relay scan will find the events');
      });
    }
    await this.writeHead(id, version, stateDocument);
    if (this.options.revisionsKept !== undefined && version > this.options.revisionsKept) {
      // Compaction drops the snapshot but keeps the document: its _id must stay taken, or a stale
      // writer could insert that version again. Only relayed revisions are compacted.
      await this.revisions.updateOne({ _id: revisionId(id, version - this.options.revisionsKept), outboxPending: false }, { $unset: { state: '', outbox: '' }, $set: { compacted: true } }).catch((error: unknown) => {
        this.logger.warn({ err: error, aggregate: this.name, id }, 'could not compact an old revision');
      });
    }
    if (events.length > 0) for (const listener of this.listeners) listener();
    return true;
  }

  /**
   * Moves the head forward. Not atomic on FerretDB, so a slow writer may briefly set an older
   * version; the next load probes past it and repairs it. Failures here lose nothing: the
   * revision is the record.
   */
  private async writeHead(id: string, version: number, state: Document): Promise<void> {
    try {
      const updatedAt = new Date();
      // An upsert that finds a newer head tries an insert and fails on _id: costly on FerretDB.
      // So insert the first head, and afterwards only update (a missing head is created on load).
      if (version === 1) {
        await this.heads.insertOne({ _id: id, version, state, updatedAt });
        return;
      }
      const result = await this.heads.updateOne({ _id: id, version: { $lt: version } }, { $set: { version, state, updatedAt } });
      if (result.matchedCount === 0 && !(await this.heads.findOne({ _id: id }))) await this.heads.insertOne({ _id: id, version, state, updatedAt });
    } catch (error) {
      if (!isDuplicateKeyError(error)) this.logger.warn({ err: error, aggregate: this.name, id, version }, 'could not move the head; the next load repairs it');
    }
  }
}
