/**
 * The outbox relay: publishes the events stored in aggregate revisions, in version order per
 * aggregate, then marks them relayed. A crash between the two republishes them later; consumers
 * dedupe by event id, so each event is still applied once.
 */
import { Binary } from 'mongodb';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { kafkaMessageOf } from '../kafka/publisher';
import { decodeEnvelope } from '../kafka/envelope';
import { type AggregateStore, type RevisionDocument, revisionId } from './aggregate-store';

export const outboxPollIntervalMs = 250;
/** Every this many rounds the relay scans all revisions, finding events whose pointer a crash lost. */
export const outboxFullScanEveryRounds = 120;
/** Revisions one relay round reads from one store. */
export const outboxBatchSize = 100;

export interface OutboxRelayFaults {
  /** Test seam: runs after publishing and before marking; throwing here simulates a crash. */
  readonly afterPublishBeforeMark?: () => Promise<void>;
}

export interface OutboxRelayOptions {
  readonly stores: readonly AggregateStore<unknown>[];
  readonly producer: Producer;
  readonly logger: Logger;
  readonly pollIntervalMs?: number;
  readonly batchSize?: number;
  readonly faults?: OutboxRelayFaults;
}

export class OutboxRelay {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private again = false;
  private stopped = true;
  private readonly unsubscribers: (() => void)[] = [];

  constructor(private readonly options: OutboxRelayOptions) {}

  start(): void {
    this.stopped = false;
    for (const store of this.options.stores) this.unsubscribers.push(store.onWrite(() => this.wake()));
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

  /** Publishes everything pending now; returns how many events went out. */
  async relayOnce(options: { fullScan?: boolean } = {}): Promise<number> {
    let published = 0;
    const batchSize = this.options.batchSize ?? outboxBatchSize;
    for (const store of this.options.stores) {
      for (;;) {
        // Pointers name the revisions with events; the full scan also finds those whose pointer a crash lost.
        const pending = options.fullScan
          ? await store.revisions.find({ outboxPending: true }).sort({ aggregateId: 1, version: 1 }).limit(batchSize).toArray()
          : await this.revisionsOfPointers(store, batchSize);
        if (pending.length === 0) break;
        for (const revision of pending) published += await this.publishInOrder(store, revision);
        if (pending.length < batchSize) break;
      }
    }
    this.roundsSinceFullScan = options.fullScan ? 0 : this.roundsSinceFullScan + 1;
    return published;
  }

  // The first round after a start scans everything: the previous process may have died mid-way.
  private roundsSinceFullScan = outboxFullScanEveryRounds;

  private async revisionsOfPointers(store: AggregateStore<unknown>, batchSize: number): Promise<RevisionDocument[]> {
    const pointers = await store.outboxPointers.find({}).sort({ aggregateId: 1, version: 1 }).limit(batchSize).toArray();
    const revisions: RevisionDocument[] = [];
    for (const pointer of pointers) {
      const revision = await store.revisions.findOne({ _id: pointer._id });
      if (revision?.outboxPending) revisions.push(revision);
      else await store.outboxPointers.deleteOne({ _id: pointer._id });
    }
    return revisions;
  }

  /**
   * Publishes a revision's events after any earlier pending revision of the same aggregate, so
   * per-aggregate order holds even when an earlier pointer was lost.
   */
  private async publishInOrder(store: AggregateStore<unknown>, revision: RevisionDocument): Promise<number> {
    const chain: RevisionDocument[] = [revision];
    for (let version = revision.version - 1; version >= 1; version -= 1) {
      const earlier = await store.revisions.findOne({ _id: revisionId(revision.aggregateId, version) });
      if (!earlier?.outboxPending) break;
      chain.unshift(earlier);
    }
    let published = 0;
    for (const entry of chain) {
      const current = await store.revisions.findOne({ _id: entry._id });
      if (!current?.outboxPending) continue;
      await this.publish(current);
      await this.options.faults?.afterPublishBeforeMark?.();
      await store.revisions.updateOne({ _id: current._id }, { $set: { outboxPending: false, outboxRelayedAt: new Date() } });
      await store.outboxPointers.deleteOne({ _id: current._id });
      published += current.outbox.length;
    }
    return published;
  }

  private async publish(revision: RevisionDocument): Promise<void> {
    const byTopic = new Map<string, typeof revision.outbox>();
    for (const event of revision.outbox) byTopic.set(event.topic, [...(byTopic.get(event.topic) ?? []), event]);
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
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.relayOnce({ fullScan: this.roundsSinceFullScan >= outboxFullScanEveryRounds })
        .then(() => undefined)
        .catch((error: unknown) => this.options.logger.error({ err: error }, 'outbox relay round failed; retrying at the next poll'))
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
