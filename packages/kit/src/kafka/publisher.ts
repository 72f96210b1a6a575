/** Publishes envelopes: key = aggregate id (per-aggregate order), acks from all in-sync replicas. */
import type { Kafka, Message, Producer } from 'kafkajs';
import { encodeEnvelope, type EventEnvelope } from './envelope';

export const eventHeaders = {
  eventId: 'sizhong-event-id',
  eventType: 'sizhong-event-type',
  traceparent: 'traceparent',
  tracestate: 'tracestate',
} as const;

/** The Kafka message of an envelope: key = aggregate id, event id, type and trace context in headers. */
export function kafkaMessageOf(envelope: EventEnvelope, value: Buffer = encodeEnvelope(envelope)): Message {
  return {
    key: envelope.aggregateId,
    value,
    headers: {
      [eventHeaders.eventId]: envelope.id,
      [eventHeaders.eventType]: envelope.type,
      ...(envelope.traceContext?.traceparent ? { [eventHeaders.traceparent]: envelope.traceContext.traceparent } : {}),
      ...(envelope.traceContext?.tracestate ? { [eventHeaders.tracestate]: envelope.traceContext.tracestate } : {}),
    },
  };
}

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
        messages: envelopes.map((envelope) => kafkaMessageOf(envelope)),
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
