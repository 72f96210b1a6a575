/** Escrow's domain events as outbox entries on `sizhong.escrow.events.v1` (key = aggregate id). */
import { buildEnvelope, deterministicId, eventsTopic, type PayloadType, type PendingEvent } from '@sizhong/kit';

export const escrowServiceName = 'escrow';

export interface EscrowEventInput<Payload> {
  readonly type: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  /** The aggregate version this event comes with; with the type it makes the event id deterministic. */
  readonly aggregateVersion: number;
  /** Tells apart two events of the same type from one write (a campaign write may release one milestone and report another overdue). */
  readonly idDiscriminator?: string;
  readonly payloadType: string;
  readonly codec: PayloadType<Payload>;
  readonly payload: Payload;
  readonly occurredAt: Date;
}

export function escrowEvent<Payload>(input: EscrowEventInput<Payload>, topicPrefix = ''): PendingEvent {
  return {
    topic: eventsTopic(escrowServiceName, topicPrefix),
    envelope: buildEnvelope(
      {
        id: deterministicId('ev', input.type, input.aggregateId, String(input.aggregateVersion), ...(input.idDiscriminator === undefined ? [] : [input.idDiscriminator])),
        type: input.type,
        aggregateId: input.aggregateId,
        aggregateType: input.aggregateType,
        aggregateVersion: BigInt(input.aggregateVersion),
        occurredAt: input.occurredAt,
        producer: escrowServiceName,
        payloadType: input.payloadType,
        payload: input.payload,
      },
      input.codec,
    ),
  };
}
