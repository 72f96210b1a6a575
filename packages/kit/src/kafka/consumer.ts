/**
 * An at-least-once consumer that applies each event once: it skips event ids it has already
 * processed, retries a failing handler, parks poison messages in a dead-letter topic, and commits
 * offsets only after the messages before them are done.
 *
 * What a failure means decides how long it is retried. Undecodable bytes are parked at once. A
 * handler that fails `attemptsMax` times with an error of its own (a refusal, a bug) is parked, so
 * one bad message does not stop its partition. An **infrastructure failure** — the database or a
 * peer unreachable, a gRPC call's outcome unknown (`isInfrastructureFailure`) — says nothing about
 * the message: it is retried without limit, with capped backoff, holding its partition (order is
 * kept), logged as stuck from `attemptsMax` on. Otherwise a database restart longer than the
 * retries would park good events and credit would miss them for good.
 */
import { context, SpanKind } from '@opentelemetry/api';
import type { Consumer, EachBatchPayload, IHeaders, Kafka, KafkaMessage, Producer } from 'kafkajs';
import type { Logger } from 'pino';
import { findingReintroduced } from '../chaos-finding';
import { DomainError, unknownOutcomeCodes } from '../errors';
import { extractTraceContext, withSpan } from '../telemetry';
import { decodeEnvelope, type EventEnvelope, UndecodableEventError } from './envelope';
import { deadLetterTopic } from './topics';

/** Attempts at one message before it is parked in the dead-letter topic (infrastructure failures are retried without limit). */
export const consumerAttemptsMax = 5;

/** Error names of the MongoDB driver and kafkajs that mean the server or the network failed, not the message. */
const infrastructureErrorNames = /^(Mongo(Network|NetworkTimeout|ServerSelection|NotConnected|TopologyClosed|PoolCleared|ServerClosed|WriteConcern)Error|KafkaJS(Connection|RequestTimeout|NumberOfRetriesExceeded|BrokerNotFound|ServerDoesNotExist)Error)$/;

/** A failure that says nothing about the message: the infrastructure was unavailable, or a call's outcome is unknown. */
export function isInfrastructureFailure(error: unknown): boolean {
  if (error instanceof DomainError) return unknownOutcomeCodes.includes(error.code);
  if (!(error instanceof Error)) return false;
  if (infrastructureErrorNames.test(error.name)) return true;
  const labels = (error as { errorLabels?: unknown }).errorLabels;
  return error.cause !== undefined && isInfrastructureFailure(error.cause) ? true : Array.isArray(labels) && labels.includes('ResetPool');
}
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
      await this.consumeMessage(batch.topic, batch.partition, message, { heartbeat, stillOurs: () => isRunning() && !isStale() });
      resolveOffset(message.offset);
      lastDone = message.offset;
      sinceCommit += 1;
      if (sinceCommit >= this.commitEveryMessages) await commit();
      await heartbeat();
    }
    await commit();
  }

  /** `control` keeps the group's session alive through long retries and says when the partition was taken away (then the message is left for whoever has it). */
  private async consumeMessage(topic: string, partition: number, message: KafkaMessage, control: { heartbeat: () => Promise<void>; stillOurs: () => boolean }): Promise<void> {
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
        // The fault-injection run's switch brings back what its seed 4 found: every failure counted towards parking.
        const infrastructure = isInfrastructureFailure(error) && !findingReintroduced('consumer-parks');
        if (error instanceof UndecodableEventError || (attempt >= this.attemptsMax && !infrastructure)) {
          await this.park(topic, partition, message, error instanceof UndecodableEventError ? 'undecodable' : 'handler-failed', error as Error, attempt);
          return;
        }
        if (!control.stillOurs()) throw error;
        const backoffMs = Math.min(this.retryBackoffBaseMs * 2 ** (attempt - 1), consumerRetryBackoffMaxMs);
        if (attempt === this.attemptsMax) logger.error({ err: error, eventId: envelope.id, attempt, backoffMs }, 'event handler keeps failing on the infrastructure; the partition waits, retrying without limit');
        else logger.warn({ err: error, eventId: envelope.id, attempt, backoffMs, infrastructure }, 'event handler failed; retrying');
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        await control.heartbeat().catch(() => undefined);
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
