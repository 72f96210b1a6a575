/**
 * The aggregate store (docs/storage.md): one document per aggregate, changed by one
 * version-guarded `updateOne({_id, version}, …)` that also pushes the command's events onto the
 * document's own outbox. A command loads, decides in pure code and writes; a lost race reloads and
 * decides again (bounded). The outbox relay publishes the events and pulls them off.
 *
 * Counters that many writers touch (tier stock, campaign totals) live beside the versioned state
 * in `counters` and change with guarded `$inc` that does not touch `version`, so a hot aggregate
 * is not serialised by rewrites of its state. Each increment carries a key; the last
 * `counterKeysKept` keys stay on the document, which makes a retried increment a no-op and lets a
 * recovering saga ask whether its increment happened (see docs/storage.md for the window).
 *
 * Every write touches one document by `_id`, so this is correct on a replica set and on a sharded
 * cluster, with no transactions and no change streams.
 */
import type { Binary, Collection, Document, Filter, Sort, UpdateFilter } from 'mongodb';
import { Schema, type Model } from 'mongoose';
import type { Logger } from 'pino';
import { type Clock, systemClock } from '../clock';
import { DomainError } from '../errors';
import type { EventEnvelope } from '../kafka/envelope';
import { encodeEnvelope } from '../kafka/envelope';
import { KeyedMutex } from '../keyed-mutex';
import { isDuplicateKeyError, type MongoConnection } from './connection';

/** How often a command reloads and decides again after losing a write race before giving up. */
export const aggregateWriteAttemptsMax = 12;
/** The pause before attempt n is a random share of base × 2^(n-1), capped (full jitter). */
export const aggregateWriteBackoffBaseMs = 2;
export const aggregateWriteBackoffMaxMs = 100;
/** Events one command may emit. */
export const eventsPerCommandMax = 100;
/** Events waiting on one aggregate's outbox before writes are refused (the relay is down or far behind). */
export const outboxEventsPerAggregateMax = 1_000;
/** Counter increment keys remembered per aggregate (the window in which a retried increment is recognised). */
export const counterKeysKept = 64;

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
  /** Written as a Buffer, read back as a BSON Binary. */
  bytes: Buffer | Binary;
}

export type Counters = Readonly<Record<string, bigint | number>>;

export interface AggregateDocument {
  _id: string;
  version: number;
  state: Document;
  /** Guarded increments outside the version (absent when the aggregate has none). */
  counters?: Record<string, bigint | number>;
  counterKeys?: string[];
  /** Events not yet relayed, oldest first. */
  outbox: StoredOutboxEvent[];
  /** True while `outbox` may hold events: what the relay's recovery scan looks for. */
  outboxPending: boolean;
  /** Set on aggregates created from an idempotency key. */
  requestFingerprint?: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface Loaded<State> {
  readonly id: string;
  readonly version: number;
  readonly state: State;
  readonly counters: Counters;
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

export type CounterOutcome =
  /** The increment happened now. */
  | { readonly kind: 'applied' }
  /** An earlier try with the same key already applied it. */
  | { readonly kind: 'already_applied' }
  /** The guard refused (or the aggregate is missing); the document as it is now, for the caller to explain why. */
  | { readonly kind: 'refused'; readonly current: Loaded<unknown> | undefined };

export interface AggregateStoreOptions {
  /** Indexes for queries and lists besides `_id` (declared once here, created by ensureIndexes). */
  readonly indexes?: readonly Document[];
  /** The clock of `createdAt` / `updatedAt` (storage metadata); the service's injected clock. */
  readonly clock?: Clock;
  /**
   * Top-level fields a service keeps on the document beside the aggregate (e.g. the exact set of a
   * counter's holders) that reads never return, so they cost nothing on a hot read path.
   */
  readonly unloadedFields?: readonly string[];
}

/**
 * The stored shape of every aggregate collection, declared once. `state` is the codec's document
 * (the domain type stays separate from it); the indexes serve the relay's recovery scan and lists.
 */
export function aggregateSchema(indexes: readonly Document[] = []): Schema {
  const schema = new Schema(
    {
      _id: { type: String, required: true },
      version: { type: Number, required: true },
      state: { type: Schema.Types.Mixed, required: true },
      counters: { type: Schema.Types.Mixed },
      counterKeys: { type: [String], default: undefined },
      outbox: { type: [Schema.Types.Mixed], default: [] },
      outboxPending: { type: Boolean, required: true },
      requestFingerprint: { type: String },
      createdAt: { type: Date, required: true },
      updatedAt: { type: Date, required: true },
    },
    { versionKey: false, autoIndex: false, autoCreate: false, minimize: false },
  );
  schema.index({ outboxPending: 1 });
  for (const keys of indexes) schema.index(keys);
  return schema;
}

export class AggregateStore<State> {
  readonly model: Model<AggregateDocument>;
  readonly collection: Collection<AggregateDocument>;
  private readonly listeners = new Set<(id: string) => void>();
  private readonly commandsInProcess = new KeyedMutex();
  private readonly clock: Clock;
  /** What reads leave on the server: the outbox, and the options' `unloadedFields`. */
  private readonly readProjection: Document;

  constructor(
    mongo: MongoConnection,
    readonly name: string,
    private readonly codec: AggregateCodec<State>,
    private readonly logger: Logger,
    options: AggregateStoreOptions = {},
  ) {
    this.model = (mongo.connection.models[name] as Model<AggregateDocument> | undefined) ?? mongo.connection.model<AggregateDocument>(name, aggregateSchema(options.indexes), name);
    this.collection = mongo.collection<AggregateDocument>(name);
    this.clock = options.clock ?? systemClock;
    this.readProjection = Object.fromEntries(['outbox', ...(options.unloadedFields ?? [])].map((field) => [field, 0]));
  }

  async ensureIndexes(): Promise<void> {
    await this.model.createIndexes();
  }

  /** Called with the aggregate id after every write that pushed events, so a relay publishes without waiting for its poll. */
  onWrite(listener: (id: string) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** One read by `_id`. */
  async load(id: string): Promise<Loaded<State> | undefined> {
    const document = await this.collection.findOne({ _id: id }, { projection: this.readProjection });
    return document ? this.loaded(document) : undefined;
  }

  async get(id: string, what = this.name): Promise<Loaded<State>> {
    const loaded = await this.load(id);
    if (!loaded) throw new DomainError('NOT_FOUND', `${what} ${id} not found`);
    return loaded;
  }

  /**
   * Creates the aggregate at version 1 unless it exists (one insert). With a request fingerprint,
   * an existing aggregate created by a different request is an `IDEMPOTENCY_KEY_REUSED` refusal;
   * the same request gets the existing aggregate back, as it is now.
   */
  async create(id: string, state: State, events: readonly PendingEvent[], requestFingerprint?: string, counters?: Counters): Promise<CreateOutcome<State>> {
    const now = this.clock.now();
    const document: AggregateDocument = {
      _id: id,
      version: 1,
      state: this.codec.toDocument(state),
      ...(counters === undefined ? {} : { counters: { ...counters }, counterKeys: [] }),
      outbox: storedEvents(events),
      outboxPending: events.length > 0,
      ...(requestFingerprint === undefined ? {} : { requestFingerprint }),
      createdAt: now,
      updatedAt: now,
    };
    try {
      await this.collection.insertOne(document);
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const existing = await this.collection.findOne({ _id: id }, { projection: this.readProjection });
      if (!existing) throw error;
      if (requestFingerprint !== undefined && existing.requestFingerprint !== requestFingerprint) {
        throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for a different request');
      }
      return { kind: 'existing', aggregate: this.loaded(existing) };
    }
    this.notify(id, events);
    return { kind: 'created', aggregate: { id, version: 1, state, counters: counters ?? {} } };
  }

  /**
   * Load → decide → one guarded write, repeated on a lost race. `decide` is pure: it gets the
   * current aggregate and returns the new state and events, or throws a DomainError (nothing is
   * written then). Returning the same state object with no events writes nothing.
   */
  async update<Result>(id: string, decide: (current: Loaded<State>) => Decision<State, Result>, what = this.name): Promise<{ aggregate: Loaded<State>; result: Result }> {
    // Commands on one aggregate queue within this process; only other replicas can race us.
    return this.commandsInProcess.run(id, async () => {
      for (let attempt = 1; ; attempt += 1) {
        const current = await this.get(id, what);
        const decision = decide(current);
        if (decision.events.length === 0 && decision.state === current.state) return { aggregate: current, result: decision.result };
        const written = await this.write(current, decision.state, decision.events);
        if (written) return { aggregate: written, result: decision.result };
        if (attempt >= aggregateWriteAttemptsMax) throw new DomainError('CONCURRENT_MODIFICATION', `${what} ${id} is changing too fast; try again`);
        const ceilingMs = Math.min(aggregateWriteBackoffMaxMs, aggregateWriteBackoffBaseMs * 2 ** (attempt - 1));
        await new Promise((resolve) => setTimeout(resolve, Math.random() * ceilingMs));
      }
    });
  }

  /** Writes the next version after `current`, or refuses with CONCURRENT_MODIFICATION when another writer got there first. */
  async save(current: Loaded<State>, state: State, events: readonly PendingEvent[], what = this.name): Promise<Loaded<State>> {
    const written = await this.write(current, state, events);
    if (!written) throw new DomainError('CONCURRENT_MODIFICATION', `${what} ${current.id} changed since version ${current.version}`);
    return written;
  }

  /**
   * A guarded increment of counters, once per `key`: `guard` is extra filter on the document
   * (for example `{'counters.remaining_t0': {$gte: 1}, 'state.state': 'live'}`). One write when it
   * applies; a refusal costs one more read, returned so the caller can say why.
   */
  async incrementCounters(id: string, key: string, increments: Counters, guard: Filter<AggregateDocument> = {}): Promise<CounterOutcome> {
    const inc: Record<string, bigint | number> = {};
    for (const [name, by] of Object.entries(increments)) inc[`counters.${name}`] = by;
    const result = await this.collection.updateOne({ ...guard, _id: id, counterKeys: { $ne: key } } as Filter<AggregateDocument>, {
      $inc: inc,
      $push: { counterKeys: { $each: [key], $slice: -counterKeysKept } },
      $set: { updatedAt: this.clock.now() },
    } as UpdateFilter<AggregateDocument>);
    if (result.matchedCount === 1) return { kind: 'applied' };
    const current = await this.collection.findOne({ _id: id }, { projection: this.readProjection });
    if (current?.counterKeys?.includes(key)) return { kind: 'already_applied' };
    return { kind: 'refused', current: current ? this.loaded(current) : undefined };
  }

  /** Whether an increment with this key is among the last `counterKeysKept` applied to the aggregate. */
  async hasCounterKey(id: string, key: string): Promise<boolean> {
    return (await this.collection.countDocuments({ _id: id, counterKeys: key }, { limit: 1 })) > 0;
  }

  /** The increment keys the aggregate remembers, oldest first (sagas recovering ask which of their steps happened). */
  async counterKeys(id: string): Promise<string[]> {
    return (await this.collection.findOne({ _id: id }, { projection: { counterKeys: 1 } }))?.counterKeys ?? [];
  }

  /** Pages through aggregates (a query that may scan where the server has no usable index), ordered by `sort` then `_id`. */
  async find(filter: Filter<AggregateDocument>, options: { limit: number; sort?: Sort; skip?: number }): Promise<Loaded<State>[]> {
    const documents = await this.collection
      .find(filter, { projection: { ...this.readProjection, counterKeys: 0 } })
      .sort(options.sort ?? { _id: 1 })
      .skip(options.skip ?? 0)
      .limit(options.limit)
      .toArray();
    return documents.map((document) => this.loaded(document));
  }

  private loaded(document: AggregateDocument): Loaded<State> {
    return { id: document._id, version: document.version, state: this.codec.fromDocument(document.state), counters: document.counters ?? {} };
  }

  /** One `updateOne({_id, version})`: the state, the next version and the events, or undefined on a lost race. */
  private async write(current: Loaded<State>, state: State, events: readonly PendingEvent[]): Promise<Loaded<State> | undefined> {
    const filter: Filter<AggregateDocument> = { _id: current.id, version: current.version };
    // A relay that is down must not let an outbox grow without bound: refuse instead.
    if (events.length > 0) (filter as Document)[`outbox.${outboxEventsPerAggregateMax - events.length}`] = { $exists: false };
    const update: UpdateFilter<AggregateDocument> = {
      $set: { state: this.codec.toDocument(state), version: current.version + 1, updatedAt: this.clock.now(), ...(events.length > 0 ? { outboxPending: true } : {}) },
      ...(events.length > 0 ? { $push: { outbox: { $each: storedEvents(events) } } } : {}),
    };
    const result = await this.collection.updateOne(filter, update);
    if (result.matchedCount === 0) {
      if (events.length > 0 && (await this.collection.countDocuments({ _id: current.id, version: current.version }, { limit: 1 })) > 0) {
        this.logger.error({ aggregate: this.name, id: current.id }, 'outbox full: the relay is not publishing');
        throw new Error(`${this.name} ${current.id}: ${outboxEventsPerAggregateMax} events wait on its outbox; the relay is not publishing`);
      }
      return undefined;
    }
    this.notify(current.id, events);
    return { id: current.id, version: current.version + 1, state, counters: current.counters };
  }

  private notify(id: string, events: readonly PendingEvent[]): void {
    if (events.length > 0) for (const listener of this.listeners) listener(id);
  }
}

function storedEvents(events: readonly PendingEvent[]): StoredOutboxEvent[] {
  if (events.length > eventsPerCommandMax) throw new Error(`a command emitted ${events.length} events; at most ${eventsPerCommandMax}`);
  return events.map(({ topic, envelope }) => ({ eventId: envelope.id, topic, key: envelope.aggregateId, bytes: Buffer.from(encodeEnvelope(envelope)) }));
}
