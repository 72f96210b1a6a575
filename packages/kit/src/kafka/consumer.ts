/**
 * An at-least-once consumer that applies each event once: it skips event ids it has already
 * processed, retries a failing handler a bounded number of times, parks poison messages in a
 * dead-letter topic, and commits offsets only after the messages before them are done.
 */
import { context, SpanKind } from '@opentelemetry/api';
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { extractTraceContext, withSpan } from '../telemetry';
import { decodeEnvelope, type EventEnvelope, UndecodableEventError } from './envelope';
import { deadLetterTopic } from './topics';

/** Attempts at one message before it is parked in the dead-letter topic. */
export const consumerAttemptsMax = 5;
/** Backoff before the n-th retry is base × 2^(n-1), capped. */
export const consumerRetryBackoffBaseMs = 100;
export const consumerRetryBackoffMaxMs = 2_000;
/** Offsets are committed at least this often within a batch (and always at the batch's end). */
export const consumerCommitEveryMessages = 100;

export const deadLetterHeaders = {
  reason: 'sizhong-dlq-reason',
  error: 'sizhong-dlq-error',
  attempts: 'sizhong-dlq-attempts',
  originalTopic: 'sizhong-dlq-original-topic',
  originalPartition: 'sizhong-dlq-original-partition',
  originalOffset: 'sizhong-dlq-original-offset',
  consumerGroup: 'sizhong-dlq-consumer-group',
} as const;

/** Remembers which event ids a consumer group has applied. */
export interface ProcessedEventStore {
  isProcessed(consumerGroup: string, eventId: string): Promise<boolean>;
  markProcessed(consumerGroup: string, eventId: string): Promise<void>;
}

export interface DeliveredEvent {
  readonly envelope: EventEnvelope;
  readonly topic: string;
  readonly partition: number;
  readonly offset: string;
  /** 1 on the first try, 2 on the first retry, … */
  readonly attempt: number;
}

export type EventHandler = (event: DeliveredEvent) => Promise<void>;

export interface EventConsumerOptions {
  readonly kafka: Kafka;
  readonly groupId: string;
  readonly topics: readonly string[];
  readonly handler: EventHandler;
  readonly processedEvents: ProcessedEventStore;
  readonly logger: Logger;
  readonly fromBeginning?: boolean;
  /** Partitions handled at once (kafkajs partitionsConsumedConcurrently; default 1). */
  readonly partitionsConcurrently?: number;
  readonly attemptsMax?: number;
  readonly retryBackoffBaseMs?: number;
  readonly commitEveryMessages?: number;
}

export class EventConsumer {
  private readonly consumer: Consumer;
  private readonly deadLetterProducer: Producer;
  private readonly attemptsMax: number;
  private readonly retryBackoffBaseMs: number;
  private readonly commitEveryMessages: number;

  constructor(private readonly options: EventConsumerOptions) {
    this.consumer = options.kafka.consumer({ groupId: options.groupId, allowAutoTopicCreation: true, sessionTimeout: 10_000, heartbeatInterval: 1_000 });
    this.deadLetterProducer = options.kafka.producer({ allowAutoTopicCreation: true });
    this.attemptsMax = options.attemptsMax ?? consumerAttemptsMax;
    this.retryBackoffBaseMs = options.retryBackoffBaseMs ?? consumerRetryBackoffBaseMs;
    this.commitEveryMessages = options.commitEveryMessages ?? consumerCommitEveryMessages;
  }

  /** Joins the group and starts consuming; resolves once the group has assigned partitions. */
  async start(): Promise<void> {
    await this.deadLetterProducer.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topics: [...this.options.topics], fromBeginning: this.options.fromBeginning ?? true });
    const joined = new Promise<void>((resolve) => {
      const remove = this.consumer.on(this.consumer.events.GROUP_JOIN, () => {
        remove();
        resolve();
      });
    });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.options.partitionsConcurrently ?? 1,
      eachBatch: (payload) => this.consumeBatch(payload),
    });
    await joined;
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
    await this.deadLetterProducer.disconnect();
  }

  private async consumeBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    let sinceCommit = 0;
    let lastDone: string | undefined;
    const commit = async () => {
      if (lastDone === undefined) return;
      await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(lastDone) + 1n).toString() }]);
      sinceCommit = 0;
    };
    for (const message of batch.messages) {
      if (!isRunning() || isStale()) break;
      await this.consumeMessage(batch.topic, batch.partition, message);
      resolveOffset(message.offset);
      lastDone = message.offset;
      sinceCommit += 1;
      if (sinceCommit >= this.commitEveryMessages) await commit();
      await heartbeat();
    }
    await commit();
  }

  private async consumeMessage(topic: string, partition: number, message: KafkaMessage): Promise<void> {
    const logger = this.options.logger.child({ topic, partition, offset: message.offset });
    let envelope: EventEnvelope;
    try {
      envelope = decodeEnvelope(message.value);
    } catch (error) {
      // Retrying cannot make undecodable bytes decodable: park at once.
      await this.park(topic, partition, message, 'undecodable', error as Error, 1);
      return;
    }
    const { groupId, processedEvents } = this.options;
    if (await processedEvents.isProcessed(groupId, envelope.id)) {
      logger.debug({ eventId: envelope.id }, 'skipping an event already processed');
      return;
    }
    const parent = extractTraceContext({ traceparent: envelope.traceContext?.traceparent, tracestate: envelope.traceContext?.tracestate });
    for (let attempt = 1; ; attempt += 1) {
      try {
        await withSpan(
          `consume ${envelope.type}`,
          () => this.options.handler({ envelope, topic, partition, offset: message.offset, attempt }),
          { kind: SpanKind.CONSUMER, parent, attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': topic, 'messaging.message.id': envelope.id } },
        );
        await processedEvents.markProcessed(groupId, envelope.id);
        return;
      } catch (error) {
        if (error instanceof UndecodableEventError || attempt >= this.attemptsMax) {
          await this.park(topic, partition, message, error instanceof UndecodableEventError ? 'undecodable' : 'handler-failed', error as Error, attempt);
          return;
        }
        const backoffMs = Math.min(this.retryBackoffBaseMs * 2 ** (attempt - 1), consumerRetryBackoffMaxMs);
        logger.warn({ err: error, eventId: envelope.id, attempt, backoffMs }, 'event handler failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
      }
    }
  }

  private async park(topic: string, partition: number, message: KafkaMessage, reason: string, error: Error, attempts: number): Promise<void> {
    const headers: IHeaders = {
      ...(message.headers ?? {}),
      [deadLetterHeaders.reason]: reason,
      [deadLetterHeaders.error]: error.message.slice(0, 1_000),
      [deadLetterHeaders.attempts]: String(attempts),
      [deadLetterHeaders.originalTopic]: topic,
      [deadLetterHeaders.originalPartition]: String(partition),
      [deadLetterHeaders.originalOffset]: message.offset,
      [deadLetterHeaders.consumerGroup]: this.options.groupId,
    };
    await context.with(context.active(), () =>
      this.deadLetterProducer.send({ topic: deadLetterTopic(topic), acks: -1, messages: [{ key: message.key, value: message.value, headers }] }),
    );
    this.options.logger.error({ err: error, topic, partition, offset: message.offset, reason, attempts }, 'parked a message in the dead-letter topic');
  }
}
