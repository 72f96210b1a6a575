/**
 * Envelope → CreditEvent: the payload is decoded with the generated codec its `payload_type` names
 * (`sizhong.events.v1.X` → eventsV1.X), so a new event type needs no code here; a payload type this
 * build does not know yields an empty payload (the fact table then adds nothing for it).
 */
import { decodePayload, type EventEnvelope, type PayloadType } from '@sizhong/kit';
import { eventsV1 } from '@sizhong/proto';
import type { CreditEvent } from '../domain/events';

const payloadPrefix = 'sizhong.events.v1.';

function codecOf(payloadType: string): PayloadType<Record<string, unknown>> | undefined {
  if (!payloadType.startsWith(payloadPrefix)) return undefined;
  const codec = (eventsV1 as Record<string, unknown>)[payloadType.slice(payloadPrefix.length)];
  if (!codec || typeof (codec as PayloadType<unknown>).decode !== 'function') return undefined;
  return codec as PayloadType<Record<string, unknown>>;
}

export function creditEventOf(envelope: EventEnvelope): CreditEvent {
  const codec = codecOf(envelope.payloadType);
  return {
    id: envelope.id,
    type: envelope.type,
    aggregateId: envelope.aggregateId,
    aggregateType: envelope.aggregateType,
    aggregateVersion: Number(envelope.aggregateVersion),
    occurredAt: envelope.occurredAt ?? new Date(0),
    payload: codec ? decodePayload(envelope, codec) : {},
  };
}
