/**
 * Where sagas keep their records: one document per saga in `<service>_sagas`, written first and
 * never deleted (there is deliberately no delete here). A record moves running → completed, or
 * running → compensating → given_back; every move is one write guarded by the state it leaves, so
 * two drivers of one saga (a same-key retry and the recovery loop, or two replicas) agree on one
 * outcome. The recovery loop claims due records with one findOneAndUpdate that moves
 * `nextAttemptAt` forward, so replicas do not drive the same saga at the same moment.
 *
 * Round trips: `begin` 1 insert (a duplicate is answered by 1 read); `complete` 1 update;
 * `compensating` 1 update; `givenBack` 1 update; a recovery claim 1.
 */
import type { Collection, Document, Filter } from 'mongodb';
import type { ErrorCode, ErrorDetails } from '../errors';
import { isDuplicateKeyError, type MongoConnection } from '../mongo/connection';
import { isInjectedFault } from '../grpc/faults';

/** `running` and `compensating` are driven on by recovery; `completed` and `given_back` are terminal. */
export type SagaState = 'running' | 'compensating' | 'completed' | 'given_back';
export const terminalSagaStates: readonly SagaState[] = ['completed', 'given_back'];
export const unfinishedSagaStates: readonly SagaState[] = ['running', 'compensating'];

/** The definite refusal a given-back saga answers with, every time it is asked again. */
export interface SagaRefusal {
  readonly code: ErrorCode;
  readonly message: string;
  readonly details: ErrorDetails;
}

export interface SagaRecord {
  _id: string;
  kind: string;
  state: SagaState;
  /** Plain data (bigint, Date, strings, numbers, arrays, objects): what every step needs to run or resume. */
  input: Document;
  /** SHA-256 of the canonical request: a same-key request with another input is IDEMPOTENCY_KEY_REUSED. */
  fingerprint: string;
  /** Facts steps learned (plain data), kept when compensation starts so it undoes exactly what was taken. */
  facts?: Document;
  /** Names of the steps that took effect, written when compensation starts. */
  taken?: string[];
  answer?: Document;
  refusal?: SagaRefusal;
  /** Recovery attempts so far (a request's own run is not counted). */
  attempts: number;
  /** When recovery may next drive the saga on. */
  nextAttemptAt: Date;
  lastError?: string;
  /** Failures of its steps on a fault the fault-injection run injected (kit's grpc/faults.ts); absent: none. */
  injectedFaults?: number;
  createdAt: Date;
  updatedAt: Date;
  finishedAt?: Date;
}

/** Characters of an error message kept in `lastError`. */
export const sagaErrorLengthMax = 500;

/**
 * What the saga model needs of a record store. `SagaLog` (one collection per service) is the
 * store of every saga unless its definition names another: a hot path may keep its records inside
 * a document it writes anyway (see `SagaDefinition.records`), with the same states and guards.
 */
export interface SagaRecordStore {
  /** `facts` the store learned while writing the record (e.g. whether it was the first of its kind) seed the saga's facts. */
  begin(record: SagaRecord): Promise<{ kind: 'begun'; facts?: Document } | { kind: 'exists'; record: SagaRecord }>;
  load(id: string): Promise<SagaRecord | null>;
  complete(id: string, answer: Document, now: Date): Promise<boolean>;
  compensating(id: string, change: { refusal: SagaRefusal; taken: readonly string[]; facts: Document }, now: Date): Promise<boolean>;
  givenBack(id: string, now: Date): Promise<void>;
  noteFailure(id: string, error: unknown, now: Date): Promise<void>;
  /**
   * The recovery loop's claim. A store that keeps its records inside other documents may answer
   * null and drive its unfinished sagas on with a sweep of its own that calls `Saga.resume`.
   */
  claimDue(kinds: readonly string[], now: Date, backoffMs: (attempts: number) => number): Promise<SagaRecord | null>;
}

export class SagaLog implements SagaRecordStore {
  readonly records: Collection<SagaRecord>;

  constructor(mongo: MongoConnection, serviceName: string) {
    this.records = mongo.collection<SagaRecord>(`${serviceName}_sagas`);
  }

  async ensureIndexes(): Promise<void> {
    await this.records.createIndex({ state: 1, nextAttemptAt: 1 });
  }

  /** Writes the record first; an existing record (a same-key retry, a replay) is returned instead. */
  async begin(record: SagaRecord): Promise<{ kind: 'begun' } | { kind: 'exists'; record: SagaRecord }> {
    try {
      await this.records.insertOne(record);
      return { kind: 'begun' };
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
      const existing = await this.records.findOne({ _id: record._id });
      if (!existing) throw error;
      return { kind: 'exists', record: existing };
    }
  }

  async load(id: string): Promise<SagaRecord | null> {
    return this.records.findOne({ _id: id });
  }

  /** running → completed with the answer; false when the record had already left `running`. */
  async complete(id: string, answer: Document, now: Date): Promise<boolean> {
    const result = await this.records.updateOne({ _id: id, state: 'running' }, { $set: { state: 'completed', answer, updatedAt: now, finishedAt: now }, $unset: { lastError: '' } });
    return result.matchedCount === 1;
  }

  /** running → compensating, recording the refusal and what was taken; false when the record had left `running`. */
  async compensating(id: string, change: { refusal: SagaRefusal; taken: readonly string[]; facts: Document }, now: Date): Promise<boolean> {
    const result = await this.records.updateOne(
      { _id: id, state: 'running' },
      { $set: { state: 'compensating', refusal: change.refusal, taken: [...change.taken], facts: change.facts, updatedAt: now } },
    );
    return result.matchedCount === 1;
  }

  /** compensating → given_back. */
  async givenBack(id: string, now: Date): Promise<void> {
    await this.records.updateOne({ _id: id, state: 'compensating' }, { $set: { state: 'given_back', updatedAt: now, finishedAt: now }, $unset: { lastError: '' } });
  }

  /** Notes why an attempt did not finish (best effort: the saga stays unfinished either way). */
  async noteFailure(id: string, error: unknown, now: Date): Promise<void> {
    const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    // A fault the fault-injection run injected is counted on the record: how many hit the saga mid-flight.
    await this.records.updateOne(
      { _id: id, state: { $in: [...unfinishedSagaStates] } },
      { $set: { lastError: message.slice(0, sagaErrorLengthMax), updatedAt: now }, ...(isInjectedFault(error) ? { $inc: { injectedFaults: 1 } } : {}) },
    );
  }

  /**
   * Claims one due unfinished saga of the given kinds for a recovery attempt: moves its
   * `nextAttemptAt` past the attempt's backoff, so no other replica takes it meanwhile.
   */
  async claimDue(kinds: readonly string[], now: Date, backoffMs: (attempts: number) => number): Promise<SagaRecord | null> {
    const due: Filter<SagaRecord> = { state: { $in: [...unfinishedSagaStates] }, kind: { $in: [...kinds] }, nextAttemptAt: { $lte: now } };
    const found = await this.records.findOne(due, { sort: { nextAttemptAt: 1 }, projection: { _id: 1, attempts: 1 } });
    if (!found) return null;
    const claimed = await this.records.findOneAndUpdate(
      { _id: found._id, attempts: found.attempts, state: { $in: [...unfinishedSagaStates] } },
      { $set: { nextAttemptAt: new Date(now.getTime() + backoffMs(found.attempts + 1)), updatedAt: now }, $inc: { attempts: 1 } },
      { returnDocument: 'after' },
    );
    return claimed ?? null;
  }

  /** Makes a saga due now (the admin command's "drive it on"); false when it is terminal or unknown. */
  async makeDue(id: string, now: Date): Promise<boolean> {
    const result = await this.records.updateOne({ _id: id, state: { $in: [...unfinishedSagaStates] } }, { $set: { nextAttemptAt: now, updatedAt: now } });
    return result.matchedCount === 1;
  }

  /**
   * Unfinished sagas of one kind whose input has the given plain fields (e.g. `{campaignId}`): what
   * a deadline's fence drives on before it decides (a scan locally, the state index on MongoDB).
   */
  async unfinishedOf(kind: string, input: Readonly<Record<string, string>>, limit: number): Promise<SagaRecord[]> {
    const filter: Filter<SagaRecord> = { state: { $in: [...unfinishedSagaStates] }, kind };
    for (const [field, value] of Object.entries(input)) (filter as Record<string, unknown>)[`input.${field}`] = value;
    return this.records.find(filter, { sort: { createdAt: 1 }, limit }).toArray();
  }

  /** Unfinished sagas, oldest first (the admin listing and the metric; a scan locally, the state index on MongoDB). */
  async unfinished(limit: number): Promise<SagaRecord[]> {
    return this.records.find({ state: { $in: [...unfinishedSagaStates] } }, { sort: { createdAt: 1 }, limit }).toArray();
  }
}
