/**
 * Idempotency-Key handling. Claims are unique-key inserts: one round trip for a fresh key, and
 * exactly one winner among concurrent requests on any MongoDB-wire server.
 *
 * A key is scoped to (caller, method, route template, key); the caller is the participant, or the
 * client IP when anonymous. Each scope has a chain of attempt records `<scopeId>#1`, `#2`, …:
 * - the first request inserts `#1` (state `in_progress`, with a lease); the unique `_id` lets
 *   exactly one of several concurrent requests win;
 * - when it finishes, its owner (and nobody else) marks its own record `completed` with the
 *   response, or `released` when the outcome is worth retrying (5xx, 429, a lost write race), so
 *   a failure does not lock the key;
 * - a later request reads the chain: `completed` → replay; `in_progress` within its lease → 409;
 *   `released`, or `in_progress` past its lease (the owner crashed) → insert the next attempt.
 * Every record keeps the fingerprint of its request: a key names one request forever, so another
 * body under the same key is 422 IDEMPOTENCY_KEY_REUSED whatever state the chain is in.
 */
import { type Clock, DomainError, deterministicId, type MongoConnection } from '@sizhong/kit';
import { isDuplicateKeyError } from '@sizhong/kit';
import type { Collection } from 'mongodb';

export const idempotencyCollectionName = 'idempotency_records';
/** Attempts one key may take (each a released failure or a lapsed lease) before it is refused. */
export const idempotencyAttemptsMax = 10;
/** Responses larger than this are not kept for replay (the claim is released instead). */
export const idempotentResponseBytesMax = 256 * 1024;

export type IdempotencyRecordState = 'in_progress' | 'completed' | 'released';

export interface StoredResponse {
  readonly status: number;
  readonly contentType: string;
  /** Header name/value pairs as an array: stored keys must not contain `.` or `$`. */
  readonly headers: ReadonlyArray<readonly [string, string]>;
  /** The exact body text sent the first time; stored as text for the same reason. */
  readonly bodyText: string;
}

interface IdempotencyRecord {
  _id: string;
  scopeId: string;
  attempt: number;
  fingerprint: string;
  state: IdempotencyRecordState;
  claimedAt: Date;
  leaseUntil: Date;
  completedAt?: Date;
  response?: StoredResponse;
}

export interface IdempotencyScope {
  /** `pt_…` for a participant, `ip:<address>` for an anonymous caller. */
  readonly subject: string;
  readonly method: string;
  readonly route: string;
  readonly key: string;
}

export interface IdempotencyClaim {
  readonly recordId: string;
  readonly attempt: number;
}

export type IdempotencyBegin =
  | { readonly kind: 'claimed'; readonly claim: IdempotencyClaim }
  | { readonly kind: 'replay'; readonly response: StoredResponse };

export class IdempotencyStore {
  private readonly records: Collection<IdempotencyRecord>;

  constructor(
    mongo: MongoConnection,
    private readonly clock: Clock,
    private readonly leaseMs: number,
  ) {
    this.records = mongo.collection<IdempotencyRecord>(idempotencyCollectionName);
  }

  async ensureIndexes(): Promise<void> {
    await this.records.createIndex({ completedAt: 1 });
  }

  async begin(scope: IdempotencyScope, fingerprint: string): Promise<IdempotencyBegin> {
    const scopeId = deterministicId('idem', 'idempotency', scope.subject, scope.method, scope.route, scope.key);
    for (let attempt = 1; attempt <= idempotencyAttemptsMax; attempt += 1) {
      const recordId = `${scopeId}#${attempt}`;
      const now = this.clock.now();
      try {
        await this.records.insertOne({
          _id: recordId,
          scopeId,
          attempt,
          fingerprint,
          state: 'in_progress',
          claimedAt: now,
          leaseUntil: new Date(now.getTime() + this.leaseMs),
        });
        return { kind: 'claimed', claim: { recordId, attempt } };
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
      const record = await this.records.findOne({ _id: recordId });
      if (!record) throw new DomainError('CONCURRENT_MODIFICATION', 'the idempotency record changed while it was read; try again');
      if (record.fingerprint !== fingerprint) {
        throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this Idempotency-Key was already used for a different request');
      }
      if (record.state === 'completed' && record.response) return { kind: 'replay', response: record.response };
      if (record.state === 'in_progress' && record.leaseUntil.getTime() > now.getTime()) {
        throw new DomainError('IDEMPOTENT_REQUEST_IN_PROGRESS', 'a request with this Idempotency-Key is still being processed; retry later');
      }
      // Released, or its owner's lease lapsed: the next attempt id is free to claim.
    }
    throw new DomainError('LIMIT_EXCEEDED', `this Idempotency-Key failed ${idempotencyAttemptsMax} times; use a new key`, {
      idempotencyAttemptsMax,
    });
  }

  /** Keeps the response for replays. Only the claim's owner calls this, on its own record. */
  async complete(claim: IdempotencyClaim, response: StoredResponse): Promise<void> {
    await this.records.updateOne({ _id: claim.recordId }, { $set: { state: 'completed', response, completedAt: this.clock.now() } });
  }

  /** Frees the key for a retry. Only the claim's owner calls this, on its own record. */
  async release(claim: IdempotencyClaim): Promise<void> {
    await this.records.updateOne({ _id: claim.recordId }, { $set: { state: 'released', completedAt: this.clock.now() } });
  }
}

/** Outcomes worth retrying under the same key are not kept: server failures, rate limits, lost races. */
export function isRetryableOutcome(status: number, code: string | undefined): boolean {
  return status >= 500 || status === 429 || code === 'CONCURRENT_MODIFICATION' || code === 'IDEMPOTENT_REQUEST_IN_PROGRESS';
}
