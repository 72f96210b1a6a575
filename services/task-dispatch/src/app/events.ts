/** The task domain's events as outbox entries on `sizhong.task-dispatch.events.v1` with their protobuf payloads. */
import { outboxEvent, type PayloadType, type PendingEvent } from '@sizhong/kit';
import { eventsV1 } from '@sizhong/proto';
import type { TaskEvent } from '../domain';

export const taskDispatchServiceName = 'task-dispatch';

const codecs: Record<TaskEvent['type'], PayloadType<never>> = {
  TaskPosted: eventsV1.TaskPosted as unknown as PayloadType<never>,
  TaskAwarded: eventsV1.TaskAwarded as unknown as PayloadType<never>,
  AssignmentClaimed: eventsV1.AssignmentClaimed as unknown as PayloadType<never>,
  AssignmentLeaseExpired: eventsV1.AssignmentLeaseExpired as unknown as PayloadType<never>,
  MilestoneSubmitted: eventsV1.MilestoneSubmitted as unknown as PayloadType<never>,
  TaskMilestoneAccepted: eventsV1.TaskMilestoneAccepted as unknown as PayloadType<never>,
  TaskMilestoneRejected: eventsV1.TaskMilestoneRejected as unknown as PayloadType<never>,
  DisputeOpened: eventsV1.DisputeOpened as unknown as PayloadType<never>,
  DisputeOverdue: eventsV1.DisputeOpened as unknown as PayloadType<never>,
  DisputeResolved: eventsV1.DisputeResolved as unknown as PayloadType<never>,
  ContestWinnersNamed: eventsV1.ContestWinnersNamed as unknown as PayloadType<never>,
  TaskCancelled: eventsV1.TaskCancelled as unknown as PayloadType<never>,
  TaskCompleted: eventsV1.TaskCompleted as unknown as PayloadType<never>,
};

/** Events whose payload is another event's message (no message of their own yet). */
const payloadMessages: Partial<Record<TaskEvent['type'], string>> = { DisputeOverdue: 'DisputeOpened' };

/** `aggregate`: which document the write goes to (`task`, `assignment`); `version` the version that write produces. */
export function taskEventsToOutbox(events: readonly TaskEvent[], target: { aggregateType: string; aggregateId: string; version: number; topicPrefix: string }): PendingEvent[] {
  return events.map((event) => {
    const { type, occurredAt, discriminator, ...payload } = event;
    return outboxEvent(
      taskDispatchServiceName,
      {
        type,
        aggregateType: target.aggregateType,
        aggregateId: target.aggregateId,
        aggregateVersion: target.version,
        ...(discriminator === undefined ? {} : { idDiscriminator: discriminator }),
        payloadType: `sizhong.events.v1.${payloadMessages[type] ?? type}`,
        codec: codecs[type],
        payload: payload as never,
        occurredAt,
      },
      target.topicPrefix,
    );
  });
}
