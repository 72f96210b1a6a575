/**
 * A domain event as an outbox entry on its service's topic (`sizhong.<service>.events.v1`, key =
 * aggregate id). The event id is derived from the aggregate, the version its write produces and the
 * type (plus a discriminator when one write emits two events of one type), so a command retried
 * after a crash produces the same ids and consumers dedupe them.
 */
import { deterministicId } from '../ids';
import { buildEnvelope, type PayloadType } from '../kafka/envelope';
import { eventsTopic } from '../kafka/topics';
import type { PendingEvent } from './aggregate-store';

export interface OutboxEventInput<Payload> {
  readonly type: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** The aggregate's version after the write that carries this event. */
  readonly aggregateVersion: number;
  /** Tells apart two events of the same type from one write. */
  readonly idDiscriminator?: string;
  readonly payloadType: string;
  readonly codec: PayloadType<Payload>;
  readonly payload: Payload;
  readonly occurredAt: Date;
}

export function outboxEvent<Payload>(service: string, input: OutboxEventInput<Payload>, topicPrefix = ''): PendingEvent {
  return {
    topic: eventsTopic(service, topicPrefix),
    envelope: buildEnvelope(
      {
        id: deterministicId('ev', input.type, input.aggregateId, String(input.aggregateVersion), ...(input.idDiscriminator === undefined ? [] : [input.idDiscriminator])),
        type: input.type,
        aggregateId: input.aggregateId,
        aggregateType: input.aggregateType,
        aggregateVersion: BigInt(input.aggregateVersion),
        occurredAt: input.occurredAt,
        producer: service,
        payloadType: input.payloadType,
        payload: input.payload,
      },
      input.codec,
    ),
  };
}
