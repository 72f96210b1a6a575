/**
 * Dispatch claims and leases. A claim never rewrites the task document: the task's slots are a
 * guarded counter and the assignment document is the claim. A claim is a saga of the kit's model
 * (kind `dispatch-claim`, id `claim:<assignment>`), so a crash between its steps is finished
 * forward by the recovery loop (or a same-key retry, or the lease job) and never leaks the
 * solver's place or the slot. Round trips of a claim:
 *   1. the task, read by _id ........................................................ 1 read
 *   2. (only with a minimum score) the solver's score from credit .................... 1 gRPC call
 *   3. the saga's record, written first ............................................. 1 insert
 *   4. the lease-expiry job, scheduled before anything is taken ...................... 1 insert
 *   5. the solver's place under the cap (load document created once per process) ..... 1 write
 *   6. the task's slot, guarded by `slotsAvailable >= 1` and the task taking claims .... 1 write
 *   7. the assignment document with AssignmentClaimed on its outbox (the finish) ...... 1 insert
 *   8. the saga's record completed ................................................... 1 write
 * (the saga adds 3 and 8: seven round trips where the claim had five; a retry with the same key
 * reads the assignment first, 1 read). Steps 5 and 6 record the assignment as the holder of the
 * place and the slot in the same write (`HeldCounters`), so a resumed step knows exactly whether
 * it took effect, however many claims moved the counters since. Only LIMIT_EXCEEDED (5) and
 * NO_SLOT_AVAILABLE / INVALID_STATE (6) are definite refusals: a refused slot gives the place
 * back and the saga ends given back, answering that refusal to every retry with the same key.
 * A lease that ends without a submission expires the assignment (its version write makes a late
 * submission fail), releases the place and returns the slot to the pool, or, if the task stopped
 * taking claims meanwhile, refunds the slot to the owner.
 */
import { type CallerIdentity, DomainError, deterministicId, randomId, type Saga } from '@sizhong/kit';
import { abandonAssignment, type Assignment, checkCreditScore, checkOpenFor, checkSkills, claimAssignment, expireLease, openAssignmentsPerSolverMax, type Task, type TaskEvent } from '../domain';
import { requireCaller, requireRole, type StoreFilter, type TaskContext, taskJobKinds } from './context';
import { taskEventsToOutbox } from './events';
import { pageLimit } from './tasks';

/** Solver load documents known to exist, remembered per process (bounded). */
export const solverLoadsKnownMax = 100_000;

/** The saga kind of a dispatch claim. */
export const claimSagaKind = 'dispatch-claim';

export function claimSagaId(assignmentId: string): string {
  return `claim:${assignmentId}`;
}

/** What the claim saga's record keeps: the assignment as decided and its events (written by the finish). */
export interface ClaimInput {
  readonly assignment: Assignment;
  readonly events: readonly TaskEvent[];
}

interface ClaimFacts {
  /** A resumed claim found its assignment written: the steps before the finish took effect long ago. */
  readonly written: boolean;
}

export class Dispatch {
  private readonly knownSolverLoads = new Set<string>();
  private readonly claims: Saga<ClaimInput, Assignment>;

  constructor(private readonly context: TaskContext) {
    this.claims = context.options.sagas.define<ClaimInput, ClaimFacts, Assignment>({
      kind: claimSagaKind,
      initialFacts: () => ({ written: false }),
      stages: [
        {
          name: 'lease',
          refusals: [],
          // Scheduled before anything is taken: the lease job drives an unfinished claim on too.
          run: async ({ assignment }, _facts, drive) => {
            await this.context.options.scheduler.schedule({
              id: `lease:${assignment.id}`,
              kind: taskJobKinds.leaseExpiry,
              dueAt: assignment.leaseExpiresAt,
              payload: { assignmentId: assignment.id, taskId: assignment.taskId, solverId: assignment.solverId },
            });
            // A resumed claim whose assignment exists finished its steps before (its place and slot may even be given back since).
            // The request that wrote the record need not look (nothing can have happened yet).
            return { written: drive.resumed && (await this.stores.assignments.load(assignment.id)) !== undefined };
          },
        },
        {
          name: 'place',
          refusals: ['LIMIT_EXCEEDED'],
          run: async ({ assignment }, { written }) => {
            if (!written) await this.takePlace(assignment.solverId, assignment.id);
          },
          compensate: async ({ assignment }) => {
            await this.stores.held.releasePlace(assignment.solverId, assignment.id);
          },
        },
        {
          name: 'slot',
          refusals: ['NO_SLOT_AVAILABLE', 'INVALID_STATE'],
          // No compensation: the finish refuses nothing, so a taken slot is always the assignment's.
          run: async ({ assignment }, { written }) => {
            if (!written) await this.takeSlot(assignment.taskId, assignment.id);
          },
        },
      ],
      finish: {
        refusals: [],
        run: async ({ assignment, events }) => {
          const outbox = taskEventsToOutbox(events, { aggregateType: 'assignment', aggregateId: assignment.id, version: 1, topicPrefix: this.context.options.topicPrefix });
          return (await this.stores.assignments.create(assignment.id, assignment, outbox)).aggregate.state;
        },
      },
    });
  }

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
    const id = claimSagaId(assignmentId);
    // The id names the claim (task, solver, key), so it is its own fingerprint.
    return this.claims.run({ id, input: { assignment: decided.assignment, events: decided.events }, fingerprint: id });
  }

  /** Drives an unfinished claim on (the lease job found no assignment); false when there is no claim to finish (never begun, or given back). */
  private async finishClaim(assignmentId: string): Promise<boolean> {
    try {
      await this.claims.resume(claimSagaId(assignmentId));
      return true;
    } catch (error) {
      // No record: nothing was taken (the record is written first). A given-back claim answers its refusal: nothing is held.
      if (error instanceof DomainError && ['NOT_FOUND', 'LIMIT_EXCEEDED', 'NO_SLOT_AVAILABLE', 'INVALID_STATE'].includes(error.code)) return false;
      throw error;
    }
  }

  private async takePlace(solverId: string, assignmentId: string): Promise<void> {
    if (!this.knownSolverLoads.has(solverId)) {
      await this.stores.solverLoads.create(solverId, { solverId }, [], undefined, { open: 0 });
      if (this.knownSolverLoads.size >= solverLoadsKnownMax) this.knownSolverLoads.clear();
      this.knownSolverLoads.add(solverId);
    }
    const taken = await this.stores.held.takePlace(solverId, assignmentId, openAssignmentsPerSolverMax);
    if (taken.kind === 'refused') {
      throw new DomainError('LIMIT_EXCEEDED', `a solver holds at most ${openAssignmentsPerSolverMax} open assignments`, { max: openAssignmentsPerSolverMax });
    }
  }

  private async takeSlot(taskId: string, assignmentId: string): Promise<void> {
    const slot = await this.stores.held.takeSlot(taskId, assignmentId);
    if (slot.kind !== 'refused') return;
    const current = slot.state as Task | undefined;
    if (current && (current.state !== 'open' || current.claimsStopped)) throw new DomainError('INVALID_STATE', `task ${taskId} no longer takes claims`, { state: current.state });
    throw new DomainError('NO_SLOT_AVAILABLE', `every slot of task ${taskId} is taken`, { taskId });
  }

  /** Gives back a solver's place under the cap once. */
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
  async expireLease(assignmentId: string): Promise<void> {
    // A claim interrupted before its assignment was written is finished first (forward): what it
    // took is then the assignment's, and the lease gives it back below.
    if (!(await this.stores.assignments.load(assignmentId)) && !(await this.finishClaim(assignmentId))) return;
    let assignment = (await this.stores.assignments.get(assignmentId, 'assignment')).state;
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

  /** Puts the slot back in the pool unless the task stopped taking claims; true when it is (or already was) back. */
  private async returnSlot(taskId: string, assignmentId: string): Promise<boolean> {
    return (await this.stores.held.returnSlot(taskId, assignmentId)).kind !== 'refused';
  }
}
