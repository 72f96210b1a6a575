/** Publishes envelopes: key = aggregate id (per-aggregate order), acks from all in-sync replicas. */
import type { Kafka, Producer } from 'kafkajs';
import { encodeEnvelope, type EventEnvelope } from './envelope';

export const eventHeaders = {
  eventId: 'sizhong-event-id',
  eventType: 'sizhong-event-type',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

export interface OutgoingEvent {
  readonly topic: string;
  readonly envelope: EventEnvelope;
}

export class EventPublisher {
  private readonly producer: Producer;
  private connected = false;

  constructor(kafka: Kafka) {
    this.producer = kafka.producer({ allowAutoTopicCreation: true, retry: { retries: 5 } });
  }

  async connect(): Promise<void> {
    if (!this.connected) {
      await this.producer.connect();
      this.connected = true;
    }
  }

  /** Resolves once every event is acknowledged; order within one topic and key is preserved. */
  async publish(events: readonly OutgoingEvent[]): Promise<void> {
    if (events.length === 0) return;
    await this.connect();
    const byTopic = new Map<string, EventEnvelope[]>();
    for (const { topic, envelope } of events) byTopic.set(topic, [...(byTopic.get(topic) ?? []), envelope]);
    await this.producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, envelopes]) => ({
        topic,
        messages: envelopes.map((envelope) => ({
          key: envelope.aggregateId,
          value: encodeEnvelope(envelope),
          headers: {
            [eventHeaders.eventId]: envelope.id,
            [eventHeaders.eventType]: envelope.type,
            ...(envelope.traceContext?.traceparent ? { [eventHeaders.traceparent]: envelope.traceContext.traceparent } : {}),
            ...(envelope.traceContext?.tracestate ? { [eventHeaders.tracestate]: envelope.traceContext.tracestate } : {}),
          },
        })),
      })),
    });
  }

  async disconnect(): Promise<void> {
    if (this.connected) {
      await this.producer.disconnect();
      this.connected = false;
    }
  }
}
