/** Escrow's domain events as outbox entries on `sizhong.escrow.events.v1` (see kit's outboxEvent). */
import { outboxEvent, type OutboxEventInput, type PendingEvent } from '@sizhong/kit';

export const escrowServiceName = 'escrow';

export type EscrowEventInput<Payload> = OutboxEventInput<Payload>;

export function escrowEvent<Payload>(input: EscrowEventInput<Payload>, topicPrefix = ''): PendingEvent {
  return outboxEvent(escrowServiceName, input, topicPrefix);
}
