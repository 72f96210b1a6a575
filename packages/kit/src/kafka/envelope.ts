/** Building, encoding and decoding the event envelope (sizhong.events.v1.EventEnvelope). */
import { eventsV1 } from '@sizhong/proto';
import { injectTraceContext } from '../telemetry';

export type EventEnvelope = eventsV1.EventEnvelope;

/** A payload message type as ts-proto generates it. */
export interface PayloadType<Payload> {
  encode(message: Payload): { finish(): Uint8Array };
  decode(bytes: Uint8Array): Payload;
}

export interface NewEvent<Payload> {
  readonly id: string;
  readonly type: string;
  readonly aggregateId: string;
  readonly aggregateType: string;
  readonly aggregateVersion: bigint;
  readonly occurredAt: Date;
  readonly producer: string;
  readonly payloadType: string;
  readonly payload: Payload;
}

export function buildEnvelope<Payload>(event: NewEvent<Payload>, codec: PayloadType<Payload>): EventEnvelope {
  const carrier = injectTraceContext();
  return {
    id: event.id,
    type: event.type,
    aggregateId: event.aggregateId,
    aggregateType: event.aggregateType,
    aggregateVersion: event.aggregateVersion,
    occurredAt: event.occurredAt,
    producer: event.producer,
    traceContext: { traceparent: carrier['traceparent'] ?? '', tracestate: carrier['tracestate'] ?? '' },
    payloadType: event.payloadType,
    payload: Buffer.from(codec.encode(event.payload).finish()),
  };
}

export function encodeEnvelope(envelope: EventEnvelope): Buffer {
  return Buffer.from(eventsV1.EventEnvelope.encode(envelope).finish());
}

export class UndecodableEventError extends Error {
  override readonly name = 'UndecodableEventError';
}

/** Decodes and checks the fields every consumer relies on; anything else is a poison message. */
export function decodeEnvelope(bytes: Buffer | null): EventEnvelope {
  if (!bytes || bytes.length === 0) throw new UndecodableEventError('empty message');
  let envelope: EventEnvelope;
  try {
    envelope = eventsV1.EventEnvelope.decode(bytes);
  } catch (error) {
    throw new UndecodableEventError(`not an EventEnvelope: ${(error as Error).message}`);
  }
  if (!envelope.id || !envelope.type || !envelope.aggregateId) {
    throw new UndecodableEventError('envelope lacks id, type or aggregate id');
  }
  return envelope;
}

export function decodePayload<Payload>(envelope: EventEnvelope, codec: PayloadType<Payload>): Payload {
  try {
    return codec.decode(envelope.payload);
  } catch (error) {
    throw new UndecodableEventError(`payload of ${envelope.type} is not ${envelope.payloadType}: ${(error as Error).message}`);
  }
}
