/**
 * The outbox relay: publishes the events waiting on aggregate documents (in their order, key =
 * aggregate id, `acks: -1`), then pulls exactly those events off. A crash between the two
 * republishes them later; consumers dedupe by event id, so each event is still applied once.
 *
 * Stores tell the relay which aggregates they wrote, so a round reads only those by `_id`. The
 * first round after a start, and every `outboxScanIntervalMs` after that, also queries
 * `outboxPending` to find what a previous process left behind (that query scans on the embedded
 * server; on MongoDB the `{outboxPending: 1}` index serves it).
 */
import { Binary, type AnyBulkWriteOperation } from 'mongodb';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { kafkaMessageOf } from '../kafka/publisher';
import { decodeEnvelope } from '../kafka/envelope';
import type { AggregateDocument, AggregateStore } from './aggregate-store';

/**
 * The relay's own cadence (when to scan for leftovers) is operational timing, like its timers, not
 * business time: a monotonic reading, immune to wall-clock jumps, and never the service's clock
 * (a test's manual clock would stop the scans).
 */
const elapsedMs = (): number => performance.now();

export const outboxPollIntervalMs = 250;
/** How often the relay looks for pending events it was not told about (left by a crash or another replica). */
export const outboxScanIntervalMs = 30_000;
/** Aggregates one relay round publishes from one store. */
export const outboxBatchSize = 200;

export interface OutboxRelayFaults {
  /** Test seam: runs after publishing and before pulling; throwing here simulates a crash. */
  readonly afterPublishBeforeMark?: () => Promise<void>;
}

export interface OutboxRelayOptions {
  readonly stores: readonly AggregateStore<unknown>[];
  readonly producer: Producer;
  readonly logger: Logger;
  readonly pollIntervalMs?: number;
  readonly scanIntervalMs?: number;
  readonly batchSize?: number;
  readonly faults?: OutboxRelayFaults;
}

type Pending = Pick<AggregateDocument, '_id' | 'outbox'>;

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private readonly unsubscribers: (() => void)[] = [];
  /** Per store: aggregate ids written with events since they were last relayed. */
  private readonly dirty = new Map<AggregateStore<unknown>, Set<string>>();
  private lastScanAtMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: OutboxRelayOptions) {
    for (const store of options.stores) this.dirty.set(store, new Set());
  }

  start(): void {
    this.stopped = false;
    for (const store of this.options.stores) {
      this.unsubscribers.push(
        store.onWrite((id) => {
          this.dirty.get(store)?.add(id);
          this.wake();
        }),
      );
    }
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    for (const unsubscribe of this.unsubscribers.splice(0)) unsubscribe();
    await this.running;
  }

  /** Asks for a round soon (after a write), without waiting for the poll. */
  wake(): void {
    if (this.stopped) return;
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  /** Publishes everything pending now; returns how many events went out. `scan` also queries for what nobody announced. */
  async relayOnce(options: { scan?: boolean } = {}): Promise<number> {
    let published = 0;
    const batchSize = this.options.batchSize ?? outboxBatchSize;
    if (options.scan) this.lastScanAtMs = elapsedMs();
    for (const store of this.options.stores) {
      const dirty = this.dirty.get(store)!;
      if (options.scan) {
        for (;;) {
          const found = await store.collection.find({ outboxPending: true }, { projection: { _id: 1, outbox: 1 } }).limit(batchSize).toArray();
          const withEvents = found.filter((document) => document.outbox.length > 0);
          published += await this.publishAndPull(store, withEvents);
          // Documents whose outbox is already empty only need their flag cleared.
          await this.clearFlags(store, found.map((document) => document._id));
          if (found.length < batchSize) break;
        }
      }
      while (dirty.size > 0) {
        const ids = [...dirty].slice(0, batchSize);
        for (const id of ids) dirty.delete(id);
        const documents = await Promise.all(ids.map((id) => store.collection.findOne({ _id: id }, { projection: { _id: 1, outbox: 1 } })));
        published += await this.publishAndPull(store, documents.filter((document) => document !== null && document.outbox.length > 0) as Pending[]);
      }
    }
    return published;
  }

  private async publishAndPull(store: AggregateStore<unknown>, documents: readonly Pending[]): Promise<number> {
    if (documents.length === 0) return 0;
    const byTopic = new Map<string, Pending['outbox']>();
    for (const document of documents) for (const event of document.outbox) byTopic.set(event.topic, [...(byTopic.get(event.topic) ?? []), event]);
    await this.options.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, events]) => ({
        topic,
        messages: events.map((event) => {
          const bytes = bytesOf(event.bytes);
          return kafkaMessageOf(decodeEnvelope(bytes), bytes);
        }),
      })),
    });
    await this.options.faults?.afterPublishBeforeMark?.();
    // Pull exactly what was published: events pushed meanwhile stay for the next round.
    const pulls: AnyBulkWriteOperation<AggregateDocument>[] = documents.map((document) => ({
      updateOne: { filter: { _id: document._id }, update: { $pull: { outbox: { eventId: { $in: document.outbox.map((event) => event.eventId) } } } } },
    }));
    await store.collection.bulkWrite(pulls, { ordered: false });
    await this.clearFlags(
      store,
      documents.map((document) => document._id),
    );
    return documents.reduce((sum, document) => sum + document.outbox.length, 0);
  }

  /** Clears `outboxPending` where the outbox is empty now; a writer that pushed meanwhile keeps it set. */
  private async clearFlags(store: AggregateStore<unknown>, ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await store.collection.bulkWrite(
      ids.map((id) => ({ updateOne: { filter: { _id: id, outboxPending: true, 'outbox.0': { $exists: false } }, update: { $set: { outboxPending: false } } } })),
      { ordered: false },
    );
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      const scan = elapsedMs() - this.lastScanAtMs >= (this.options.scanIntervalMs ?? outboxScanIntervalMs);
      this.running = this.relayOnce({ scan })
        .then(() => undefined)
        .catch((error: unknown) => {
          // What was not pulled is found again by the next scan; make that scan come soon.
          this.lastScanAtMs = Number.NEGATIVE_INFINITY;
          this.options.logger.error({ err: error }, 'outbox relay round failed; retrying at the next poll');
        })
        .finally(() => {
          this.running = undefined;
          const again = this.again;
          this.again = false;
          this.schedule(again ? 0 : (this.options.pollIntervalMs ?? outboxPollIntervalMs));
        });
    }, delayMs);
  }
}

/** Stored bytes come back from the driver as a BSON Binary. */
function bytesOf(value: Buffer | Binary): Buffer {
  if (value instanceof Binary) return Buffer.from(value.buffer.subarray(0, value.position));
  return Buffer.from(value);
}
