/**
 * The outbox relay: publishes the events stored in aggregate revisions, in version order per
 * aggregate, then marks them relayed. A crash between the two republishes them later; consumers
 * dedupe by event id, so each event is still applied once.
 */
import { Binary } from 'mongodb';
import type { Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { eventHeaders } from '../kafka/publisher';
import { decodeEnvelope } from '../kafka/envelope';
import type { AggregateStore } from './aggregate-store';

export const outboxPollIntervalMs = 250;
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
  async relayOnce(): Promise<number> {
    let published = 0;
    for (const store of this.options.stores) {
      for (;;) {
        const revisions = await store.revisions
          .find({ outboxPending: true })
          .sort({ aggregateId: 1, version: 1 })
          .limit(this.options.batchSize ?? outboxBatchSize)
          .toArray();
        if (revisions.length === 0) break;
        for (const revision of revisions) {
          const byTopic = new Map<string, typeof revision.outbox>();
          for (const event of revision.outbox) byTopic.set(event.topic, [...(byTopic.get(event.topic) ?? []), event]);
          await this.options.producer.sendBatch({
            acks: -1,
            topicMessages: [...byTopic].map(([topic, events]) => ({
              topic,
              messages: events.map((event) => {
                const bytes = bytesOf(event.bytes);
                const envelope = decodeEnvelope(bytes);
                return {
                  key: event.key,
                  value: bytes,
                  headers: {
                    [eventHeaders.eventId]: envelope.id,
                    [eventHeaders.eventType]: envelope.type,
                    ...(envelope.traceContext?.traceparent ? { [eventHeaders.traceparent]: envelope.traceContext.traceparent } : {}),
                  },
                };
              }),
            })),
          });
          await this.options.faults?.afterPublishBeforeMark?.();
          await store.revisions.updateOne({ _id: revision._id }, { $set: { outboxPending: false, outboxRelayedAt: new Date() } });
          published += revision.outbox.length;
        }
        if (revisions.length < (this.options.batchSize ?? outboxBatchSize)) break;
      }
    }
    return published;
  }

  private schedule(delayMs: number): void {
    if (this.stopped) return;
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.running = this.relayOnce()
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
