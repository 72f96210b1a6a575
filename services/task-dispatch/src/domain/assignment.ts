/**
 * A dispatch assignment: the claim of one slot of a dispatch task by one solver under a lease.
 * It is its own document (claims never rewrite the task), and its work is submitted and decided
 * like a milestone. An assignment not handed in by `leaseExpiresAt` expires and its slot returns to
 * the pool (or to the owner, when the task was cancelled meanwhile).
 *
 *   held ─lease passes without a submission→ expired
 *   held: work pending ─submit→ submitted ─accept | reject | dispute→ …   (see work.ts)
 */
import { DomainError } from '@sizhong/kit/domain';
import type { TaskEvent } from './events';
import type { TaskPolicy } from './policy';
import type { Task } from './task';
import { abandonWork, acceptWork, autoAcceptWork, checkImpartial, newWork, openWorkDispute, rejectWork, resolveWorkDispute, submitWork, type Work } from './work';

export interface Assignment {
  readonly id: string;
  readonly taskId: string;
  readonly ownerId: string;
  readonly solverId: string;
  readonly claimedAt: Date;
  readonly leaseExpiresAt: Date;
  readonly lease: 'held' | 'expired';
  /** Where an expired lease's slot went: back to the pool of claims, or to the owner (the task was cancelled). */
  readonly slotReturnedTo?: 'pool' | 'owner';
  readonly work: Work;
}

export interface DecidedAssignment {
  readonly assignment: Assignment;
  readonly events: readonly TaskEvent[];
}

export function claimAssignment(task: Task, input: { assignmentId: string; solverId: string }, policy: TaskPolicy, now: Date): DecidedAssignment {
  const leaseExpiresAt = new Date(now.getTime() + policy.leaseMs);
  const assignment: Assignment = {
    id: input.assignmentId,
    taskId: task.id,
    ownerId: task.ownerId,
    solverId: input.solverId,
    claimedAt: now,
    leaseExpiresAt,
    lease: 'held',
    work: newWork(task.perSlot!, task.deadline),
  };
  return { assignment, events: [{ type: 'AssignmentClaimed', occurredAt: now, taskId: task.id, ownerId: task.ownerId, solverId: input.solverId, assignmentId: input.assignmentId, leaseExpiresAt }] };
}

/** The lease's end: an assignment never handed in expires; anything else is left as it is. */
export function expireLease(assignment: Assignment, slotReturnedTo: 'pool' | 'owner', now: Date): DecidedAssignment {
  if (assignment.lease !== 'held' || assignment.work.submission !== undefined || now.getTime() < assignment.leaseExpiresAt.getTime()) return { assignment, events: [] };
  return {
    assignment: { ...assignment, lease: 'expired', slotReturnedTo },
    events: [{ type: 'AssignmentLeaseExpired', occurredAt: now, taskId: assignment.taskId, ownerId: assignment.ownerId, solverId: assignment.solverId, assignmentId: assignment.id }],
  };
}

function reachable(assignment: Assignment, callerId: string, who: 'owner' | 'solver' | 'either'): void {
  const ok = (who !== 'solver' && assignment.ownerId === callerId) || (who !== 'owner' && assignment.solverId === callerId);
  if (!ok) throw new DomainError('NOT_FOUND', `assignment ${assignment.id} not found`);
}

function ref(assignment: Assignment) {
  return { taskId: assignment.taskId, ownerId: assignment.ownerId, solverId: assignment.solverId, milestoneIndex: 0, assignmentId: assignment.id };
}

export function submitAssignment(assignment: Assignment, callerId: string, input: { deliverableUrl: string; note: string }, now: Date): DecidedAssignment {
  reachable(assignment, callerId, 'solver');
  if (assignment.lease === 'expired' || (assignment.work.submission === undefined && now.getTime() >= assignment.leaseExpiresAt.getTime())) {
    throw new DomainError('INVALID_STATE', `the lease of assignment ${assignment.id} has expired`, { state: 'expired' });
  }
  const work = submitWork(assignment.work, input, now);
  if (work === assignment.work) return { assignment, events: [] };
  return {
    assignment: { ...assignment, work },
    events: [{ type: 'MilestoneSubmitted', occurredAt: now, ...ref(assignment), dueAt: work.dueAt, onTime: work.submission!.onTime, resubmission: work.submission!.number - 1 }],
  };
}

function accepted(assignment: Assignment, work: Work, now: Date): DecidedAssignment {
  const settlement = work.settlement!;
  return {
    assignment: { ...assignment, work },
    events: [{ type: 'TaskMilestoneAccepted', occurredAt: now, ...ref(assignment), paid: settlement.solverPaid, fee: settlement.fee, onTime: work.submission?.onTime ?? false, acceptedBy: settlement.by === 'silence' ? 'silence' : 'owner' }],
  };
}

export function acceptAssignment(assignment: Assignment, callerId: string, policy: TaskPolicy, now: Date): DecidedAssignment {
  reachable(assignment, callerId, 'owner');
  const work = acceptWork(assignment.work, policy.feeBps, 'owner', now);
  return work === assignment.work ? { assignment, events: [] } : accepted(assignment, work, now);
}

export function autoAcceptAssignment(assignment: Assignment, submissionNumber: number, policy: TaskPolicy, now: Date): DecidedAssignment {
  const work = autoAcceptWork(assignment.work, submissionNumber, policy.feeBps, now);
  return work ? accepted(assignment, work, now) : { assignment, events: [] };
}

export function rejectAssignment(assignment: Assignment, callerId: string, reason: string, now: Date): DecidedAssignment {
  reachable(assignment, callerId, 'owner');
  const trimmed = reason.trim();
  if (!trimmed) throw new DomainError('INVALID_ARGUMENT', 'reason is required', { field: 'reason' });
  const work = rejectWork(assignment.work, trimmed, now);
  if (work === assignment.work) return { assignment, events: [] };
  return { assignment: { ...assignment, work }, events: [{ type: 'TaskMilestoneRejected', occurredAt: now, ...ref(assignment), reason: trimmed, rejections: work.rejections }] };
}

export function openAssignmentDispute(assignment: Assignment, callerId: string, disputeId: string, reason: string, now: Date): DecidedAssignment {
  reachable(assignment, callerId, 'either');
  if (assignment.work.state === 'disputed' && assignment.work.dispute?.disputeId === disputeId) return { assignment, events: [] };
  const trimmed = reason.trim();
  if (!trimmed) throw new DomainError('INVALID_ARGUMENT', 'reason is required', { field: 'reason' });
  const openedBy = assignment.ownerId === callerId ? 'owner' : 'solver';
  const work = openWorkDispute(assignment.work, { disputeId, openedBy, reason: trimmed }, now);
  return {
    assignment: { ...assignment, work },
    events: [{ type: 'DisputeOpened', occurredAt: now, disputeId, taskId: assignment.taskId, ownerId: assignment.ownerId, solverId: assignment.solverId, milestoneIndex: 0, assignmentId: assignment.id, openedBy, amount: work.amount }],
  };
}

export function resolveAssignmentDispute(assignment: Assignment, resolution: { solverShareBps: number; arbiterId: string }, policy: TaskPolicy, now: Date): DecidedAssignment {
  checkImpartial(resolution.arbiterId, { ownerId: assignment.ownerId, solverId: assignment.solverId });
  const work = resolveWorkDispute(assignment.work, resolution, policy.feeBps, now);
  if (work === assignment.work) return { assignment, events: [] };
  const settlement = work.settlement!;
  return {
    assignment: { ...assignment, work },
    events: [
      {
        type: 'DisputeResolved',
        occurredAt: now,
        disputeId: work.dispute!.disputeId,
        ...ref(assignment),
        solverShareBps: resolution.solverShareBps,
        solverPaid: settlement.solverPaid,
        ownerRefunded: settlement.ownerRefunded,
        arbiterId: resolution.arbiterId,
      },
    ],
  };
}

/**
 * The resubmit window after rejection `rejections` ended with nothing handed in: the assignment is
 * abandoned and its slot goes back to the pool (the task still takes claims) or its money to the
 * owner. Anything else is left as it is.
 */
export function abandonAssignment(assignment: Assignment, rejections: number, slotReturnedTo: 'pool' | 'owner', now: Date): DecidedAssignment {
  const work = abandonWork(assignment.work, rejections, 'none', now);
  if (!work) return { assignment, events: [] };
  return { assignment: { ...assignment, work, slotReturnedTo }, events: [] };
}

/** Whether the assignment still counts against its solver's cap of open assignments. */
export function isOpenAssignment(assignment: Assignment): boolean {
  return assignment.lease === 'held' && !['accepted', 'resolved', 'refunded', 'abandoned'].includes(assignment.work.state);
}

/** The open dispute on the assignment's work, if any (the deadline job of disputes reads it). */
export function markDisputeOverdue(assignment: Assignment, disputeId: string, now: Date): DecidedAssignment {
  const dispute = assignment.work.dispute;
  if (assignment.work.state !== 'disputed' || dispute?.disputeId !== disputeId || dispute.overdueAt) return { assignment, events: [] };
  return {
    assignment: { ...assignment, work: { ...assignment.work, dispute: { ...dispute, overdueAt: now } } },
    events: [{ type: 'DisputeOverdue', occurredAt: now, disputeId, taskId: assignment.taskId, ownerId: assignment.ownerId, solverId: assignment.solverId, milestoneIndex: 0, assignmentId: assignment.id, openedBy: dispute.openedBy, amount: assignment.work.amount }],
  };
}
