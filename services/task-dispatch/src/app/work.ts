/**
 * Handing in and deciding work — a bidding task's milestones (on the task document) and dispatch
 * assignments (their own documents) — and disputes over it. Each command is one guarded write of
 * the decision with its events; the payments the new state implies follow (idempotent transfers),
 * with a settlement job scheduled before the write as the backstop for a crash or an escrow outage.
 * A submission schedules its auto-acceptance after TASK_AUTO_ACCEPT_MS.
 */
import { type CallerIdentity, DomainError, deterministicId, hasRole } from '@sizhong/kit';
import {
  acceptAssignment,
  acceptMilestone,
  type Assignment,
  autoAcceptAssignment,
  autoAcceptMilestone,
  checkDeliverableUrl,
  checkNote,
  isOpenAssignment,
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
import { requireCaller, requireRole, type TaskContext, taskJobKinds } from './context';
import type { Dispatch } from './dispatch';

/** A milestone of a bidding task, or a dispatch assignment. */
export type WorkRef = { readonly taskId: string; readonly milestoneIndex: number } | { readonly assignmentId: string };

export type WorkOutcome = { readonly kind: 'task'; readonly task: Task } | { readonly kind: 'assignment'; readonly assignment: Assignment };

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
      await this.assignmentFor(owner, ref.assignmentId);
      await this.context.scheduleSettlement({ assignmentId: ref.assignmentId }, 'work');
      const assignment = await this.context.decideAssignment(ref.assignmentId, (current) => acceptAssignment(current, owner.participantId, this.policy, now));
      await this.afterAssignmentSettled(assignment);
      return { kind: 'assignment', assignment };
    }
    await this.context.visibleTask(caller, ref.taskId);
    await this.context.scheduleSettlement({ taskId: ref.taskId }, `m${ref.milestoneIndex}`);
    const { loaded } = await this.context.decideTask(ref.taskId, (task) => acceptMilestone(task, owner.participantId, ref.milestoneIndex, this.policy, now));
    await this.context.payTask(loaded.state);
    return { kind: 'task', task: loaded.state };
  }

  async reject(caller: CallerIdentity | undefined, ref: WorkRef, reason: string): Promise<WorkOutcome> {
    const owner = requireRole(caller, 'enterprise');
    const now = this.context.now();
    if ('assignmentId' in ref) {
      await this.assignmentFor(owner, ref.assignmentId);
      return { kind: 'assignment', assignment: await this.context.decideAssignment(ref.assignmentId, (current) => rejectAssignment(current, owner.participantId, reason, now)) };
    }
    await this.context.visibleTask(caller, ref.taskId);
    const { loaded } = await this.context.decideTask(ref.taskId, (task) => rejectMilestone(task, owner.participantId, ref.milestoneIndex, reason, now));
    return { kind: 'task', task: loaded.state };
  }

  /** The auto-accept job: accepts the submission it was scheduled for, if it still waits. */
  async autoAccept(subject: { taskId?: string; milestoneIndex?: number; assignmentId?: string; submissionNumber: number }): Promise<void> {
    const now = this.context.now();
    if (subject.assignmentId) {
      await this.context.scheduleSettlement({ assignmentId: subject.assignmentId }, 'work');
      const assignment = await this.context.decideAssignment(subject.assignmentId, (current) => autoAcceptAssignment(current, subject.submissionNumber, this.policy, now));
      await this.afterAssignmentSettled(assignment);
      return;
    }
    const taskId = subject.taskId!;
    await this.context.scheduleSettlement({ taskId }, `m${subject.milestoneIndex}`);
    const { loaded } = await this.context.decideTask(taskId, (task) => autoAcceptMilestone(task, subject.milestoneIndex!, subject.submissionNumber, this.policy, now));
    await this.context.payTask(loaded.state, { throwOnFailure: true });
  }

  private async afterAssignmentSettled(assignment: Assignment): Promise<void> {
    if (isOpenAssignment(assignment)) return;
    await this.dispatch.releaseSolverLoad(assignment.solverId, assignment.id);
    await this.context.payAssignment(assignment);
  }

  /** Either party of submitted work opens a dispute; the work is frozen until an arbiter resolves it. */
  async openDispute(caller: CallerIdentity | undefined, ref: WorkRef, reason: string): Promise<DisputeView> {
    const who = requireCaller(caller);
    const now = this.context.now();
    if ('assignmentId' in ref) {
      const before = await this.assignmentFor(who, ref.assignmentId);
      const disputeId = deterministicId('dp', 'dispute', ref.assignmentId, String(before.work.submission?.number ?? 0));
      const assignment = await this.context.decideAssignment(ref.assignmentId, (current) => openAssignmentDispute(current, who.participantId, disputeId, reason, now));
      const record: DisputeRecord = { id: disputeId, taskId: assignment.taskId, assignmentId: assignment.id, milestoneIndex: 0, ownerId: assignment.ownerId, solverId: assignment.solverId, openedAt: now };
      await this.stores.disputes.create(disputeId, record, []);
      return { record, work: assignment.work };
    }
    const { state: before } = await this.context.visibleTask(caller, ref.taskId);
    const number = before.milestones[ref.milestoneIndex]?.work.submission?.number ?? 0;
    const disputeId = deterministicId('dp', 'dispute', ref.taskId, String(ref.milestoneIndex), String(number));
    const { loaded } = await this.context.decideTask(ref.taskId, (task) => openMilestoneDispute(task, who.participantId, ref.milestoneIndex, disputeId, reason, now));
    const record: DisputeRecord = { id: disputeId, taskId: ref.taskId, milestoneIndex: ref.milestoneIndex, ownerId: loaded.state.ownerId, solverId: loaded.state.award?.solverId ?? '', openedAt: now };
    await this.stores.disputes.create(disputeId, record, []);
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
      await this.context.scheduleSettlement({ assignmentId: record.assignmentId }, 'work');
      const assignment = await this.context.decideAssignment(record.assignmentId, (current) => resolveAssignmentDispute(current, resolution, this.policy, now));
      await this.afterAssignmentSettled(assignment);
      return { record, work: assignment.work };
    }
    await this.context.scheduleSettlement({ taskId: record.taskId }, `m${record.milestoneIndex}`);
    const { loaded } = await this.context.decideTask(record.taskId, (task) => resolveMilestoneDispute(task, record.milestoneIndex, resolution, this.policy, now));
    await this.context.payTask(loaded.state);
    return { record, work: loaded.state.milestones[record.milestoneIndex]!.work };
  }

  /** The settlement job: pays whatever the task's or assignment's state implies (a no-op when paid). */
  async settle(subject: { taskId?: string; assignmentId?: string }): Promise<void> {
    if (subject.assignmentId) {
      const loaded = await this.stores.assignments.load(subject.assignmentId);
      if (loaded) {
        if (!isOpenAssignment(loaded.state)) await this.dispatch.releaseSolverLoad(loaded.state.solverId, loaded.state.id);
        await this.context.payAssignment(loaded.state, { throwOnFailure: true });
      }
      return;
    }
    const loaded = await this.stores.tasks.load(subject.taskId ?? '');
    if (loaded) await this.context.payTask(loaded.state, { throwOnFailure: true });
  }
}
