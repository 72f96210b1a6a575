/**
 * The task domain's events, shaped like their payloads in task_dispatch_events.proto (the app puts
 * each on the outbox with its protobuf codec). `discriminator` tells apart two events of one type
 * from one write (several milestones accepted at once, for example).
 */
import type { Money } from '@sizhong/kit/domain';

interface EventBase {
  readonly occurredAt: Date;
  readonly discriminator?: string;
}

interface WorkRef {
  readonly taskId: string;
  readonly ownerId: string;
  readonly solverId: string;
  readonly milestoneIndex: number;
  readonly assignmentId: string;
}

export type TaskEvent = EventBase &
  (
    | { readonly type: 'TaskPosted'; readonly taskId: string; readonly ownerId: string; readonly kind: string; readonly mode: string; readonly budget: Money; readonly deadline: Date; readonly skills: readonly string[]; readonly slots: number }
    | { readonly type: 'TaskAwarded'; readonly taskId: string; readonly ownerId: string; readonly solverId: string; readonly bidId: string; readonly amount: Money }
    | { readonly type: 'AssignmentClaimed'; readonly taskId: string; readonly ownerId: string; readonly solverId: string; readonly assignmentId: string; readonly leaseExpiresAt: Date }
    | { readonly type: 'AssignmentLeaseExpired'; readonly taskId: string; readonly ownerId: string; readonly solverId: string; readonly assignmentId: string }
    | (WorkRef & { readonly type: 'MilestoneSubmitted'; readonly dueAt: Date; readonly onTime: boolean; readonly resubmission: number })
    | (WorkRef & { readonly type: 'TaskMilestoneAccepted'; readonly paid: Money; readonly fee: Money; readonly onTime: boolean; readonly acceptedBy: 'owner' | 'silence' })
    | (WorkRef & { readonly type: 'TaskMilestoneRejected'; readonly reason: string; readonly rejections: number })
    | { readonly type: 'DisputeOpened'; readonly disputeId: string; readonly taskId: string; readonly ownerId: string; readonly solverId: string; readonly milestoneIndex: number; readonly assignmentId: string; readonly openedBy: 'owner' | 'solver'; readonly amount: Money }
    /** A dispute unresolved past DISPUTE_RESOLUTION_MS (payload: DisputeOpened's message, the dispute as it stands). */
    | { readonly type: 'DisputeOverdue'; readonly disputeId: string; readonly taskId: string; readonly ownerId: string; readonly solverId: string; readonly milestoneIndex: number; readonly assignmentId: string; readonly openedBy: 'owner' | 'solver'; readonly amount: Money }
    | { readonly type: 'DisputeResolved'; readonly disputeId: string; readonly taskId: string; readonly ownerId: string; readonly solverId: string; readonly milestoneIndex: number; readonly assignmentId: string; readonly solverShareBps: number; readonly solverPaid: Money; readonly ownerRefunded: Money; readonly arbiterId: string }
    | { readonly type: 'ContestWinnersNamed'; readonly taskId: string; readonly ownerId: string; readonly winners: readonly { solverId: string; submissionId: string; shareBps: number; paid: Money }[] }
    | { readonly type: 'TaskCancelled'; readonly taskId: string; readonly ownerId: string; readonly stage: 'open' | 'awarded'; readonly refunded: Money }
    | { readonly type: 'TaskCompleted'; readonly taskId: string; readonly ownerId: string; readonly paid: Money; readonly fees: Money; readonly refunded: Money }
  );

export type TaskEventType = TaskEvent['type'];
