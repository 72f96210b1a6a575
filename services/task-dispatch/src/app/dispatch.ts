/**
 * Dispatch claims and leases. A claim never rewrites the task document: the task's slots are a
 * guarded counter and the assignment document is the claim. Round trips of a claim:
 *   1. the task, read by _id ........................................................ 1 read
 *   2. (only with a minimum score) the solver's score from credit .................... 1 gRPC call
 *   3. the lease-expiry job, scheduled first so a crash after the slot is taken still returns it . 1 insert
 *   4. the solver's open-assignment counter, guarded by the cap (created once per process) . 1 write
 *   5. the task's slot counter, guarded by `slotsAvailable >= 1` and the task being open .... 1 write
 *   6. the assignment document with AssignmentClaimed on its outbox .................... 1 insert
 * A refusal at 5 gives step 4 back. A lease that ends without a submission expires the assignment
 * (its version write makes a late submission fail), then returns the slot to the pool with a
 * keyed increment, or, if the task was cancelled meanwhile, refunds the slot to the owner.
 */
import { type CallerIdentity, DomainError, deterministicId, randomId } from '@sizhong/kit';
import { abandonAssignment, type Assignment, checkCreditScore, checkOpenFor, checkSkills, claimAssignment, expireLease, openAssignmentsPerSolverMax, type Task } from '../domain';
import { taskCounters } from '../storage/stores';
import { requireCaller, requireRole, type StoreFilter, type TaskContext, taskJobKinds } from './context';
import { taskEventsToOutbox } from './events';
import { pageLimit } from './tasks';

/** Solver load documents known to exist, remembered per process (bounded). */
export const solverLoadsKnownMax = 100_000;

export class Dispatch {
  private readonly knownSolverLoads = new Set<string>();

  constructor(private readonly context: TaskContext) {}

  private get stores() {
    return this.context.stores;
  }

  async claim(caller: CallerIdentity | undefined, taskId: string, input: { idempotencyKey?: string; solverSkills: readonly string[] }): Promise<Assignment> {
    const solver = requireRole(caller, 'solver');
    const { state: task } = await this.context.visibleTask(caller, taskId);
    const now = this.context.now();
    checkOpenFor(task, 'dispatch', now);
    if (task.ownerId === solver.participantId) throw new DomainError('PERMISSION_DENIED', 'an owner does not claim their own task');
    checkSkills(task, input.solverSkills);
    checkCreditScore(task, await this.context.scoreIfNeeded(task, solver.participantId));
    const assignmentId = deterministicId('as', 'claim', taskId, solver.participantId, input.idempotencyKey ?? randomId('claim'));
    if (input.idempotencyKey) {
      const existing = await this.stores.assignments.load(assignmentId);
      if (existing) return existing.state;
    }
    const decided = claimAssignment(task, { assignmentId, solverId: solver.participantId }, this.context.options.policy, now);
    await this.context.options.scheduler.schedule({ id: `lease:${assignmentId}`, kind: taskJobKinds.leaseExpiry, dueAt: decided.assignment.leaseExpiresAt, payload: { assignmentId, taskId, solverId: solver.participantId } });
    await this.takeSolverLoad(solver.participantId, assignmentId);
    const slot = await this.stores.tasks.incrementCounters(taskId, `claim:${assignmentId}`, { [taskCounters.slotsAvailable]: -1 }, {
      [`counters.${taskCounters.slotsAvailable}`]: { $gte: 1 },
      'state.state': 'open',
      'state.claimsStopped': { $ne: true },
    } as StoreFilter);
    if (slot.kind === 'refused') {
      await this.releaseSolverLoad(solver.participantId, assignmentId);
      const current = slot.current?.state as Task | undefined;
      if (current && (current.state !== 'open' || current.claimsStopped)) throw new DomainError('INVALID_STATE', `task ${taskId} no longer takes claims`, { state: current.state });
      throw new DomainError('NO_SLOT_AVAILABLE', `every slot of task ${taskId} is taken`, { taskId });
    }
    const events = taskEventsToOutbox(decided.events, { aggregateType: 'assignment', aggregateId: assignmentId, version: 1, topicPrefix: this.context.options.topicPrefix });
    return (await this.stores.assignments.create(assignmentId, decided.assignment, events)).aggregate.state;
  }

  private async takeSolverLoad(solverId: string, assignmentId: string): Promise<void> {
    if (!this.knownSolverLoads.has(solverId)) {
      await this.stores.solverLoads.create(solverId, { solverId }, [], undefined, { open: 0 });
      if (this.knownSolverLoads.size >= solverLoadsKnownMax) this.knownSolverLoads.clear();
      this.knownSolverLoads.add(solverId);
    }
    const taken = await this.stores.solverLoads.incrementCounters(solverId, `claim:${assignmentId}`, { open: 1 }, { 'counters.open': { $lt: openAssignmentsPerSolverMax } } as StoreFilter);
    if (taken.kind === 'refused') {
      throw new DomainError('LIMIT_EXCEEDED', `a solver holds at most ${openAssignmentsPerSolverMax} open assignments`, { max: openAssignmentsPerSolverMax });
    }
  }

  /** Gives back a solver's place under the cap once (keyed by the assignment). */
  async releaseSolverLoad(solverId: string, assignmentId: string): Promise<void> {
    await this.context.releaseSolverLoad(solverId, assignmentId);
  }

  async get(caller: CallerIdentity | undefined, assignmentId: string): Promise<Assignment> {
    const who = requireCaller(caller);
    const loaded = await this.stores.assignments.load(assignmentId);
    if (!loaded || (loaded.state.solverId !== who.participantId && loaded.state.ownerId !== who.participantId)) throw new DomainError('NOT_FOUND', `assignment ${assignmentId} not found`);
    return loaded.state;
  }

  /** The owner sees every assignment of the task, a solver their own. */
  async list(caller: CallerIdentity | undefined, taskId: string, page: { limit: number; cursor?: string }): Promise<{ items: Assignment[]; nextCursor: string }> {
    const who = requireCaller(caller);
    const { state: task } = await this.context.visibleTask(caller, taskId);
    const limit = pageLimit(page.limit);
    const filter: Record<string, unknown> = { 'state.taskId': taskId };
    if (task.ownerId !== who.participantId) filter['state.solverId'] = who.participantId;
    if (page.cursor) filter['_id'] = { $gt: page.cursor };
    const found = await this.stores.assignments.find(filter as StoreFilter, { limit: limit + 1 });
    const items = found.slice(0, limit).map((loaded) => loaded.state);
    return { items, nextCursor: found.length > limit ? (items.at(-1)?.id ?? '') : '' };
  }

  /** The lease-expiry job (idempotent: every step recognises its earlier application). */
  async expireLease(assignmentId: string, taskId: string, solverId?: string): Promise<void> {
    const loaded = await this.stores.assignments.load(assignmentId);
    if (!loaded) {
      // A crash between the claim's steps and its assignment: give back what it took. The place is
      // released only if it was taken (its keyed increment is known), the slot likewise.
      await this.releaseCrashedClaim(taskId, assignmentId, solverId);
      return;
    }
    let assignment = loaded.state;
    if (assignment.lease === 'held') assignment = await this.context.decideAssignment(assignmentId, (current) => expireLease(current, 'pool', this.context.now()));
    if (assignment.lease !== 'expired') return;
    await this.releaseAssignment(assignment, 'returned');
  }

  /**
   * The resubmit window after rejection `rejections` ended: an assignment still waiting in that
   * rejection is abandoned; its slot goes back to the pool while the task is open and before its
   * deadline, otherwise its money to the owner.
   */
  async abandon(assignmentId: string, rejections: number): Promise<void> {
    const loaded = await this.stores.assignments.load(assignmentId);
    if (!loaded) return;
    const now = this.context.now();
    const task = (await this.stores.tasks.get(loaded.state.taskId, 'task')).state;
    const slotReturnedTo = task.state === 'open' && !task.claimsStopped && now.getTime() < task.deadline.getTime() ? 'pool' : 'owner';
    const assignment = await this.context.decideAssignment(assignmentId, (current) => abandonAssignment(current, rejections, slotReturnedTo, now));
    if (assignment.work.state !== 'abandoned') return;
    await this.releaseAssignment(assignment, `abandon:${rejections}`);
  }

  /**
   * An assignment closed without pay (lease expired, abandoned): the solver's place back, and its
   * slot back to the pool or, when the task no longer takes claims, its money to the owner (the
   * payments saga named `decision`; a failure is thrown so the job that called tries again).
   */
  private async releaseAssignment(assignment: Assignment, decision: string): Promise<void> {
    const payment = { subject: { assignmentId: assignment.id }, decision };
    await this.releaseSolverLoad(assignment.solverId, assignment.id);
    if (assignment.slotReturnedTo === 'pool' && !(await this.returnSlot(assignment.taskId, assignment.id))) {
      // The task stopped taking claims meanwhile: the slot's money goes back to the owner instead.
      await this.context.decideAndPay(payment, () => this.context.decideAssignment(assignment.id, (current) => ({ assignment: { ...current, slotReturnedTo: 'owner' }, events: [] })));
    }
    const current = (await this.stores.assignments.get(assignment.id, 'assignment')).state;
    if (current.slotReturnedTo === 'owner') await this.context.runPayments(payment);
  }

  /**
   * What a claim took before a crash, given back once (keyed releases): the solver's place (the
   * solver from the lease job's payload; lease jobs scheduled before it carried one are matched by
   * the load's `claim:<assignment>` key, a scan on this rare path) and the slot.
   */
  private async releaseCrashedClaim(taskId: string, assignmentId: string, solverId: string | undefined): Promise<void> {
    const solverIds = solverId ? [solverId] : (await this.stores.solverLoads.find({ counterKeys: `claim:${assignmentId}` } as StoreFilter, { limit: 1 })).map((load) => load.id);
    for (const id of solverIds) {
      if (await this.stores.solverLoads.hasCounterKey(id, `claim:${assignmentId}`)) await this.releaseSolverLoad(id, assignmentId);
    }
    if (await this.stores.tasks.hasCounterKey(taskId, `claim:${assignmentId}`)) await this.returnSlot(taskId, assignmentId);
  }

  /** Puts the slot back in the pool unless the task stopped taking claims; true when it is (or already was) back. */
  private async returnSlot(taskId: string, assignmentId: string): Promise<boolean> {
    const returned = await this.stores.tasks.incrementCounters(taskId, `return:${assignmentId}`, { [taskCounters.slotsAvailable]: 1 }, { 'state.state': 'open', 'state.claimsStopped': { $ne: true } } as StoreFilter);
    return returned.kind !== 'refused';
  }
}
