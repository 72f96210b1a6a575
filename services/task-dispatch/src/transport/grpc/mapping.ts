/** Domain ⇄ wire conversions of the task-dispatch gRPC service. */
import { type CallerIdentity, checkServiceIdempotencyKey, DomainError, isCurrencyCode, type Money } from '@sizhong/kit';
import type { commonV1, taskDispatchV1 } from '@sizhong/proto';
import type { TaskView } from '../../app/context';
import type { DisputeView } from '../../app/work';
import { accountIds } from '../../app/ports';
import { type Assignment, type Bid, bidState, type ContestSubmission, readsWorkOf, type Settlement, type Task, type Work } from '../../domain';
import { taskCounters } from '../../storage/stores';

const idPattern = /^[A-Za-z0-9_-]{1,64}$/;

export function idIn(value: string, field: string): string {
  if (!idPattern.test(value)) throw new DomainError('INVALID_ARGUMENT', `${field} is malformed`, { field });
  return value;
}

export function keyIn(value: string): string {
  return checkServiceIdempotencyKey(value);
}

export function optionalKeyIn(value: string): string | undefined {
  return value === '' ? undefined : keyIn(value);
}

export function moneyIn(value: commonV1.Money | undefined, field: string): Money {
  if (!value || !isCurrencyCode(value.currency)) throw new DomainError('INVALID_ARGUMENT', `${field} needs a currency`, { field });
  return { currency: value.currency, amountMinor: value.amountMinor };
}

export function dateIn(value: Date | undefined, field: string): Date {
  if (!value || Number.isNaN(value.getTime())) throw new DomainError('INVALID_ARGUMENT', `${field} is required`, { field });
  return value;
}

function settlementOut(settlement: Settlement): taskDispatchV1.Settlement {
  return { by: settlement.by, solverPaid: settlement.solverPaid, fee: settlement.fee, ownerRefunded: settlement.ownerRefunded, settledAt: settlement.at };
}

/** `full` false: the deliverable, the note and the rejection reason are withheld (empty), the progress shown (`readsWorkOf`). */
export function workOut(work: Work, autoAcceptMs: number, full = true): taskDispatchV1.Work {
  const submission = work.submission;
  return {
    amount: work.amount,
    state: work.state,
    dueAt: work.dueAt,
    ...(submission ? { submission: { deliverableUrl: full ? submission.deliverableUrl : '', note: full ? submission.note : '', submittedAt: submission.at, number: submission.number, onTime: submission.onTime } } : {}),
    rejections: work.rejections,
    lastRejectionReason: full ? (work.lastRejectionReason ?? '') : '',
    disputeId: work.dispute?.disputeId ?? '',
    ...(work.settlement ? { settlement: settlementOut(work.settlement) } : {}),
    ...(work.state === 'submitted' && submission ? { autoAcceptAt: new Date(submission.at.getTime() + autoAcceptMs) } : {}),
  };
}

/** The task as `reader` may see it: its milestones' work in full or progress only (`readsWorkOf`). */
export function taskOut({ task, counters }: TaskView, autoAcceptMs: number, reader: CallerIdentity | undefined): taskDispatchV1.Task {
  const full = readsWorkOf(task, reader);
  return {
    id: task.id,
    ownerId: task.ownerId,
    title: task.title,
    description: task.description,
    kind: task.kind,
    mode: task.mode,
    budget: task.budget,
    skills: [...task.skills],
    deadline: task.deadline,
    ...(task.minCreditScore === undefined ? {} : { minCreditScore: task.minCreditScore }),
    slots: task.slots,
    slotsAvailable: Number(counters[taskCounters.slotsAvailable] ?? 0),
    ...(task.perSlot ? { perSlot: task.perSlot } : {}),
    state: task.state,
    milestones: task.milestones.map((milestone, index) => ({ index, title: milestone.title, work: workOut(milestone.work, autoAcceptMs, full) })),
    postedAt: task.postedAt,
    funded: task.funded,
    awardedBidId: task.state === 'awarding' ? '' : (task.award?.bidId ?? ''),
    solverId: task.state === 'awarding' ? '' : (task.award?.solverId ?? ''),
    winners: (task.winners ?? []).map((winner) => ({ submissionId: winner.submissionId, solverId: winner.solverId, shareBps: winner.shareBps, solverPaid: winner.solverPaid, fee: winner.fee })),
    ...(task.cancellation ? { refundedAtCancellation: task.cancellation.refunded } : {}),
    ...(task.closure ? { refundedAtClose: task.closure.refunded } : {}),
    bidsCount: Number(counters[taskCounters.bids] ?? 0),
    submissionsCount: Number(counters[taskCounters.submissions] ?? 0),
    escrowAccountId: accountIds.taskEscrow(task.id, task.budget.currency),
  };
}

export function bidOut(task: Task, bid: Bid): taskDispatchV1.Bid {
  return { id: bid.id, taskId: bid.taskId, solverId: bid.solverId, price: bid.price, etaDays: bid.etaDays, proposal: bid.proposal, state: bidState(task, bid), placedAt: bid.at };
}

export function assignmentOut(assignment: Assignment, autoAcceptMs: number): taskDispatchV1.Assignment {
  return {
    id: assignment.id,
    taskId: assignment.taskId,
    ownerId: assignment.ownerId,
    solverId: assignment.solverId,
    claimedAt: assignment.claimedAt,
    leaseExpiresAt: assignment.leaseExpiresAt,
    lease: assignment.lease,
    work: workOut(assignment.work, autoAcceptMs),
  };
}

export function submissionOut(submission: ContestSubmission): taskDispatchV1.ContestSubmission {
  return { id: submission.id, taskId: submission.taskId, solverId: submission.solverId, deliverableUrl: submission.deliverableUrl, note: submission.note, submittedAt: submission.at };
}

export function disputeOut({ record, work }: DisputeView): taskDispatchV1.Dispute {
  const dispute = work.dispute;
  const resolved = work.state === 'resolved' && dispute?.disputeId === record.id;
  return {
    id: record.id,
    taskId: record.taskId,
    milestoneIndex: record.milestoneIndex,
    assignmentId: record.assignmentId ?? '',
    ownerId: record.ownerId,
    solverId: record.solverId,
    openedBy: dispute?.disputeId === record.id ? dispute.openedBy : '',
    reason: dispute?.disputeId === record.id ? dispute.reason : '',
    state: resolved ? 'resolved' : 'open',
    amount: work.amount,
    ...(resolved && dispute?.solverShareBps !== undefined ? { solverShareBps: dispute.solverShareBps } : {}),
    ...(resolved && work.settlement ? { settlement: settlementOut(work.settlement) } : {}),
    openedAt: record.openedAt,
  };
}
