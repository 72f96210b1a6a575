/**
 * Handing in and deciding work — a bidding task's milestones (on the task document) and dispatch
 * assignments (their own documents) — and disputes over it. Each command is one guarded write of
 * the decision with its events; the payments the new state implies follow (idempotent transfers),
 * as the payments saga of the decision (context.ts), driven on by recovery through an escrow outage.
 * A submission schedules its auto-acceptance after TASK_AUTO_ACCEPT_MS, a rejection its abandonment
 * after TASK_RESUBMIT_WINDOW_MS, a dispute its overdue flag after DISPUTE_RESOLUTION_MS.
 */
import { type CallerIdentity, DomainError, deterministicId, findingReintroduced, hasRole } from '@sizhong/kit';
import {
  acceptAssignment,
  acceptMilestone,
  type Assignment,
  autoAcceptAssignment,
  autoAcceptMilestone,
  checkDeliverableUrl,
  checkNote,
  abandonMilestone,
  markDisputeOverdue,
  markMilestoneDisputeOverdue,
  openAssignmentDispute,
  openMilestoneDispute,
  rejectAssignment,
  rejectMilestone,
  resolveAssignmentDispute,
  resolveMilestoneDispute,
  submitAssignment,
  submitMilestone,
  type Task,
  type Work,
} from '../domain';
import type { DisputeRecord } from '../storage/stores';
import { type PaymentDecision, requireCaller, requireRole, type StoreFilter, type TaskContext, taskJobKinds } from './context';
import type { Dispatch } from './dispatch';

/** A milestone of a bidding task, or a dispatch assignment. */
export type WorkRef = { readonly taskId: string; readonly milestoneIndex: number } | { readonly assignmentId: string };

export type WorkOutcome = { readonly kind: 'task'; readonly task: Task } | { readonly kind: 'assignment'; readonly assignment: Assignment };

/** Rows the stuck list of disputes returns. */
export const stuckDisputesMax = 200;

export interface DisputeView {
  readonly record: DisputeRecord;
  readonly work: Work;
}

export class WorkFlows {
  constructor(
    private readonly context: TaskContext,
    private readonly dispatch: Dispatch,
  ) {}

  private get stores() {
    return this.context.stores;
  }

  private get policy() {
    return this.context.options.policy;
  }

  /** The assignment, NOT_FOUND unless the caller is its solver or the task's owner. */
  private async assignmentFor(caller: CallerIdentity, assignmentId: string): Promise<Assignment> {
    return this.dispatch.get(caller, assignmentId);
  }

  async submit(caller: CallerIdentity | undefined, ref: WorkRef, input: { deliverableUrl: string; note: string }): Promise<WorkOutcome> {
    const solver = requireRole(caller, 'solver');
    const clean = { deliverableUrl: checkDeliverableUrl(input.deliverableUrl), note: checkNote(input.note) };
    const now = this.context.now();
    if ('assignmentId' in ref) {
      await this.assignmentFor(solver, ref.assignmentId);
      const assignment = await this.context.decideAssignment(ref.assignmentId, (current) => submitAssignment(current, solver.participantId, clean, now));
      await this.scheduleAutoAccept({ assignmentId: assignment.id }, assignment.work);
      return { kind: 'assignment', assignment };
    }
    await this.context.visibleTask(caller, ref.taskId);
    const { loaded } = await this.context.decideTask(ref.taskId, (task) => submitMilestone(task, solver.participantId, ref.milestoneIndex, clean, now));
    await this.scheduleAutoAccept({ taskId: ref.taskId, milestoneIndex: ref.milestoneIndex }, loaded.state.milestones[ref.milestoneIndex]!.work);
    return { kind: 'task', task: loaded.state };
  }

  private async scheduleAutoAccept(subject: { taskId: string; milestoneIndex: number } | { assignmentId: string }, work: Work): Promise<void> {
    const submission = work.submission!;
    // The fault-injection run's switch brings back issue 17's second finding: nothing closes rejected work nobody hands in again.
    if (findingReintroduced('no-abandonment')) return;
    const name = 'assignmentId' in subject ? subject.assignmentId : `${subject.taskId}:m${subject.milestoneIndex}`;
    await this.context.options.scheduler.schedule({
      id: `auto-accept:${name}:${submission.number}`,
      kind: taskJobKinds.autoAccept,
      dueAt: new Date(submission.at.getTime() + this.policy.autoAcceptMs),
      payload: { ...subject, submissionNumber: submission.number },
    });
  }

  async accept(caller: CallerIdentity | undefined, ref: WorkRef): Promise<WorkOutcome> {
    const owner = requireRole(caller, 'enterprise');
    const now = this.context.now();
    if ('assignmentId' in ref) {
      const before = await this.assignmentFor(owner, ref.assignmentId);
      const decision = { subject: { assignmentId: ref.assignmentId }, decision: `accept:${before.work.submission?.number ?? 0}` };
      const assignment = await this.context.decideAndPay(decision, () => this.context.decideAssignment(ref.assignmentId, (current) => acceptAssignment(current, owner.participantId, this.policy, now)));
      return { kind: 'assignment', assignment };
    }
    const { state: before } = await this.context.visibleTask(caller, ref.taskId);
    const decision = { subject: { taskId: ref.taskId }, decision: `m${ref.milestoneIndex}:accept:${before.milestones[ref.milestoneIndex]?.work.submission?.number ?? 0}` };
    const { loaded } = await this.context.decideAndPay(decision, () => this.context.decideTask(ref.taskId, (task) => acceptMilestone(task, owner.participantId, ref.milestoneIndex, this.policy, now)));
    return { kind: 'task', task: loaded.state };
  }

  async reject(caller: CallerIdentity | undefined, ref: WorkRef, reason: string): Promise<WorkOutcome> {
    const owner = requireRole(caller, 'enterprise');
    const now = this.context.now();
    if ('assignmentId' in ref) {
      await this.assignmentFor(owner, ref.assignmentId);
      const assignment = await this.context.decideAssignment(ref.assignmentId, (current) => rejectAssignment(current, owner.participantId, reason, now));
      await this.scheduleAbandonment({ assignmentId: assignment.id }, assignment.work);
      return { kind: 'assignment', assignment };
    }
    await this.context.visibleTask(caller, ref.taskId);
    const { loaded } = await this.context.decideTask(ref.taskId, (task) => rejectMilestone(task, owner.participantId, ref.milestoneIndex, reason, now));
    await this.scheduleAbandonment({ taskId: ref.taskId, milestoneIndex: ref.milestoneIndex }, loaded.state.milestones[ref.milestoneIndex]!.work);
    return { kind: 'task', task: loaded.state };
  }

  /** The rejection's deadline: the job abandons the work if it still waits in this very rejection (written after the rejection: a crash in between is answered by the owner's retry, which schedules it again). */
  private async scheduleAbandonment(subject: { taskId: string; milestoneIndex: number } | { assignmentId: string }, work: Work): Promise<void> {
    // The fault-injection run's switch brings back issue 17's second finding: nothing closes rejected work nobody hands in again.
    if (findingReintroduced('no-abandonment')) return;
    const name = 'assignmentId' in subject ? subject.assignmentId : `${subject.taskId}:m${subject.milestoneIndex}`;
    await this.context.options.scheduler.schedule({
      id: `abandon:${name}:${work.rejections}`,
      kind: taskJobKinds.abandonWork,
      dueAt: new Date((work.rejectedAt ?? this.context.now()).getTime() + this.policy.resubmitWindowMs),
      payload: { ...subject, rejections: work.rejections },
    });
  }

  /** The abandonment job: closes work still waiting in the rejection it was scheduled for. */
  async abandon(subject: { taskId?: string; milestoneIndex?: number; assignmentId?: string; rejections: number }): Promise<void> {
    if (subject.assignmentId) return this.dispatch.abandon(subject.assignmentId, subject.rejections);
    const taskId = subject.taskId!;
    const now = this.context.now();
    const decision = { subject: { taskId }, decision: `m${subject.milestoneIndex}:abandon:${subject.rejections}` };
    await this.context.decideAndPay(decision, () => this.context.decideTask(taskId, (task) => abandonMilestone(task, subject.milestoneIndex!, subject.rejections, now)));
    await this.context.runPayments(decision);
  }

  /** The auto-accept job: accepts the submission it was scheduled for, if it still waits. */
  async autoAccept(subject: { taskId?: string; milestoneIndex?: number; assignmentId?: string; submissionNumber: number }): Promise<void> {
    const now = this.context.now();
    let decision: PaymentDecision;
    if (subject.assignmentId) {
      decision = { subject: { assignmentId: subject.assignmentId }, decision: `accept:${subject.submissionNumber}` };
      await this.context.decideAndPay(decision, () => this.context.decideAssignment(subject.assignmentId!, (current) => autoAcceptAssignment(current, subject.submissionNumber, this.policy, now)));
    } else {
      const taskId = subject.taskId!;
      decision = { subject: { taskId }, decision: `m${subject.milestoneIndex}:accept:${subject.submissionNumber}` };
      await this.context.decideAndPay(decision, () => this.context.decideTask(taskId, (task) => autoAcceptMilestone(task, subject.milestoneIndex!, subject.submissionNumber, this.policy, now)));
    }
    // A job: the payments' failure is its failure too (it runs again, and the saga's recovery drives on meanwhile).
    await this.context.settleJob(decision);
  }

  /** Either party of submitted work opens a dispute; the work is frozen until an arbiter resolves it. */
  async openDispute(caller: CallerIdentity | undefined, ref: WorkRef, reason: string): Promise<DisputeView> {
    const who = requireCaller(caller);
    const now = this.context.now();
    if ('assignmentId' in ref) {
      const before = await this.assignmentFor(who, ref.assignmentId);
      const disputeId = deterministicId('dp', 'dispute', ref.assignmentId, String(before.work.submission?.number ?? 0));
      const assignment = await this.context.decideAssignment(ref.assignmentId, (current) => openAssignmentDispute(current, who.participantId, disputeId, reason, now));
      const record: DisputeRecord = { id: disputeId, taskId: assignment.taskId, assignmentId: assignment.id, milestoneIndex: 0, ownerId: assignment.ownerId, solverId: assignment.solverId, openedAt: now, amount: assignment.work.amount };
      await this.stores.disputes.create(disputeId, record, []);
      await this.scheduleOverdue(record);
      return { record, work: assignment.work };
    }
    const { state: before } = await this.context.visibleTask(caller, ref.taskId);
    const number = before.milestones[ref.milestoneIndex]?.work.submission?.number ?? 0;
    const disputeId = deterministicId('dp', 'dispute', ref.taskId, String(ref.milestoneIndex), String(number));
    const { loaded } = await this.context.decideTask(ref.taskId, (task) => openMilestoneDispute(task, who.participantId, ref.milestoneIndex, disputeId, reason, now));
    const work = loaded.state.milestones[ref.milestoneIndex]!.work;
    const record: DisputeRecord = { id: disputeId, taskId: ref.taskId, milestoneIndex: ref.milestoneIndex, ownerId: loaded.state.ownerId, solverId: loaded.state.award?.solverId ?? '', openedAt: work.dispute?.at ?? now, amount: work.amount };
    await this.stores.disputes.create(disputeId, record, []);
    await this.scheduleOverdue(record);
    return { record, work: loaded.state.milestones[ref.milestoneIndex]!.work };
  }

  /** Its parties, arbiters, regulators and admins; NOT_FOUND for anyone else. */
  async getDispute(caller: CallerIdentity | undefined, disputeId: string): Promise<DisputeView> {
    const who = requireCaller(caller);
    const loaded = await this.stores.disputes.load(disputeId);
    const record = loaded?.state;
    if (!record || !(record.ownerId === who.participantId || record.solverId === who.participantId || hasRole(who, 'arbiter', 'regulator', 'admin'))) {
      throw new DomainError('NOT_FOUND', `dispute ${disputeId} not found`);
    }
    return { record, work: await this.workOf(record) };
  }

  private async workOf(record: DisputeRecord): Promise<Work> {
    if (record.assignmentId) return (await this.stores.assignments.get(record.assignmentId, 'assignment')).state.work;
    return (await this.stores.tasks.get(record.taskId, 'task')).state.milestones[record.milestoneIndex]!.work;
  }

  /** An arbiter splits the disputed amount; escrow pays both sides exactly. */
  async resolveDispute(caller: CallerIdentity | undefined, disputeId: string, solverShareBps: number): Promise<DisputeView> {
    const arbiter = requireRole(caller, 'arbiter');
    const record = (await this.stores.disputes.load(disputeId))?.state;
    if (!record) throw new DomainError('NOT_FOUND', `dispute ${disputeId} not found`);
    const resolution = { solverShareBps, arbiterId: arbiter.participantId };
    const now = this.context.now();
    if (record.assignmentId) {
      const decision = { subject: { assignmentId: record.assignmentId }, decision: `resolve:${disputeId}` };
      const assignment = await this.context.decideAndPay(decision, () => this.context.decideAssignment(record.assignmentId!, (current) => resolveAssignmentDispute(current, resolution, this.policy, now)));
      return { record, work: assignment.work };
    }
    const decision = { subject: { taskId: record.taskId }, decision: `m${record.milestoneIndex}:resolve:${disputeId}` };
    const { loaded } = await this.context.decideAndPay(decision, () => this.context.decideTask(record.taskId, (task) => resolveMilestoneDispute(task, record.milestoneIndex, resolution, this.policy, now)));
    return { record, work: loaded.state.milestones[record.milestoneIndex]!.work };
  }

  private async scheduleOverdue(record: DisputeRecord): Promise<void> {
    await this.context.options.scheduler.schedule({ id: `dispute-overdue:${record.id}`, kind: taskJobKinds.disputeOverdue, dueAt: new Date(record.openedAt.getTime() + this.policy.disputeResolutionMs), payload: { disputeId: record.id } });
  }

  /**
   * The dispute deadline job: a dispute still open after DISPUTE_RESOLUTION_MS is marked overdue on
   * its work with DisputeOverdue (credit's risk engine raises the regulator alert), and on its record
   * for the stuck list. Its money stays held in the task's escrow until an arbiter resolves it.
   */
  async flagOverdueDispute(disputeId: string): Promise<void> {
    const record = (await this.stores.disputes.load(disputeId))?.state;
    if (!record) return;
    let work = await this.workOf(record);
    if (work.state !== 'disputed' || work.dispute?.disputeId !== disputeId) return;
    if (!record.overdueAt) {
      const now = this.context.now();
      let overdueAt: Date | undefined;
      if (record.assignmentId) {
        overdueAt = (await this.context.decideAssignment(record.assignmentId, (current) => markDisputeOverdue(current, disputeId, now))).work.dispute?.overdueAt;
      } else {
        const { loaded } = await this.context.decideTask(record.taskId, (task) => markMilestoneDisputeOverdue(task, record.milestoneIndex, disputeId, now));
        overdueAt = loaded.state.milestones[record.milestoneIndex]?.work.dispute?.overdueAt;
      }
      work = await this.workOf(record);
      if (!overdueAt || work.state !== 'disputed' || work.dispute?.disputeId !== disputeId) return;
      await this.stores.disputes.update(disputeId, (current) => ({ state: current.state.overdueAt ? current.state : { ...current.state, overdueAt }, events: [], result: undefined }), 'dispute');
    }
    // The job's work is done only when an arbiter has resolved the dispute: until then it stays
    // unfinished, retried every minute at most, and `npm run admin -- stuck` shows it with this reason.
    const held = record.amount ? `${record.amount.amountMinor} minor units of ${record.amount.currency}` : 'its money';
    throw new Error(`dispute ${disputeId} on task ${record.taskId} awaits an arbiter since ${record.openedAt.toISOString()}; ${held} stay held in the task's escrow`);
  }

  /** Disputes past DISPUTE_RESOLUTION_MS and not resolved, oldest first (the stuck list; at most `stuckDisputesMax`). */
  async stuckDisputes(): Promise<DisputeRecord[]> {
    const flagged = await this.stores.disputes.find({ 'state.overdueAt': { $exists: true } } as StoreFilter, { limit: stuckDisputesMax, sort: { 'state.openedAt': 1 } });
    const open = await Promise.all(flagged.map(async ({ state: record }) => ((await this.workOf(record)).state === 'disputed' ? record : undefined)));
    return open.filter((record): record is DisputeRecord => record !== undefined);
  }

  /** The settlement job: starts the payments saga of its decision once the decision is visible (context.ts). */
  async settle(decision: PaymentDecision): Promise<void> {
    await this.context.settleJob(decision);
  }
}
