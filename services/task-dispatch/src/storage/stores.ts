/**
 * The task-dispatch collections, each one document per aggregate on the kit's AggregateStore:
 * tasks (with guarded counters: `slotsAvailable` for dispatch claims, `bids`, `submissions`),
 * bids, contest submissions, dispatch assignments (the assignment document is the claim),
 * per-solver loads (the counter of open assignments) and dispute records (where a dispute lives).
 * Hot paths read and write by `_id`; lists query `state.taskId` or the task filters and may scan.
 */
import { type AggregateDocument, AggregateStore, type Clock, type Logger, type Money, type MongoConnection, plainCodec } from '@sizhong/kit';
import type { Document, Filter } from 'mongodb';
import type { Assignment, Bid, ContestSubmission, Task } from '../domain';

export interface SolverLoad {
  readonly solverId: string;
}

export interface DisputeRecord {
  readonly id: string;
  readonly taskId: string;
  /** Set for a dispatch assignment; otherwise the milestone index names the work. */
  readonly assignmentId?: string;
  readonly milestoneIndex: number;
  readonly ownerId: string;
  readonly solverId: string;
  readonly openedAt: Date;
  /** The disputed amount, held in the task's escrow until the dispute is resolved. */
  readonly amount?: Money;
  /** Set when the dispute outlived DISPUTE_RESOLUTION_MS (a regulator alert was raised). */
  readonly overdueAt?: Date;
}

/** Counter names on a task document. */
export const taskCounters = { slotsAvailable: 'slotsAvailable', bids: 'bids', submissions: 'submissions' } as const;

export interface TaskStores {
  readonly tasks: AggregateStore<Task>;
  readonly bids: AggregateStore<Bid>;
  readonly submissions: AggregateStore<ContestSubmission>;
  readonly assignments: AggregateStore<Assignment>;
  readonly solverLoads: AggregateStore<SolverLoad>;
  readonly disputes: AggregateStore<DisputeRecord>;
  /** The slots of tasks and the places of solvers, each held by an assignment and known exactly. */
  readonly held: HeldCounters;
}

/**
 * Where each counted unit's holder is kept, on the counter's own document: a task's claimed slots
 * (`slotHolders`, at most its slots) and a solver's open assignments (`placeHolders`, at most
 * `openAssignmentsPerSolverMax`). Reads never return them (the store's `unloadedFields`).
 */
export const holderFields = { slots: 'slotHolders', places: 'placeHolders' } as const;

export type TakeOutcome = { readonly kind: 'taken' } | { readonly kind: 'already_held' } | { readonly kind: 'refused'; readonly state: Document | undefined };
export type GiveBackOutcome = { readonly kind: 'given_back' } | { readonly kind: 'not_held' } | { readonly kind: 'refused' };

/**
 * Counters whose every unit is held by a named holder recorded in the same write as the change:
 * `$inc` plus `$push` of the holder guarded on it not holding yet, and `$inc` back plus `$pull`
 * guarded on it holding. Whether an assignment holds its slot or its place is therefore known
 * exactly for as long as it holds — unlike increment keys, of which a document remembers the last
 * 64 — so a claim resumed after any amount of traffic neither takes twice nor gives back twice.
 * One write each; a refusal costs one more read.
 */
export class HeldCounters {
  constructor(
    private readonly stores: { tasks: AggregateStore<Task>; solverLoads: AggregateStore<SolverLoad> },
    private readonly clock: Clock,
  ) {}

  /** Takes a slot of a task that takes claims. */
  async takeSlot(taskId: string, assignmentId: string): Promise<TakeOutcome> {
    return this.take(this.stores.tasks, taskId, holderFields.slots, assignmentId, 'slotsAvailable', -1, {
      'counters.slotsAvailable': { $gte: 1 },
      'state.state': 'open',
      'state.claimsStopped': { $ne: true },
    });
  }

  /** Puts a held slot back in the pool, unless the task stopped taking claims (`refused`: the slot stays taken, its money is the owner's). */
  async returnSlot(taskId: string, assignmentId: string): Promise<GiveBackOutcome> {
    return this.giveBack(this.stores.tasks, taskId, holderFields.slots, assignmentId, 'slotsAvailable', 1, { 'state.state': 'open', 'state.claimsStopped': { $ne: true } });
  }

  /** Takes one of the solver's places under `max` (the load document must exist). */
  async takePlace(solverId: string, assignmentId: string, max: number): Promise<TakeOutcome> {
    return this.take(this.stores.solverLoads, solverId, holderFields.places, assignmentId, 'open', 1, { 'counters.open': { $lt: max } });
  }

  /** Gives the solver's place back (once: a second call finds it not held). */
  async releasePlace(solverId: string, assignmentId: string): Promise<GiveBackOutcome> {
    return this.giveBack(this.stores.solverLoads, solverId, holderFields.places, assignmentId, 'open', -1, {});
  }

  private async take(store: AggregateStore<unknown>, id: string, field: string, holder: string, counter: string, by: number, guard: Document): Promise<TakeOutcome> {
    const result = await store.collection.updateOne({ ...guard, _id: id, [field]: { $ne: holder } } as Filter<AggregateDocument>, {
      $inc: { [`counters.${counter}`]: by },
      $push: { [field]: holder },
      $set: { updatedAt: this.clock.now() },
    } as Document);
    if (result.matchedCount === 1) return { kind: 'taken' };
    const current = await store.collection.findOne({ _id: id }, { projection: { state: 1, [field]: 1 } });
    if ((current?.[field as keyof AggregateDocument] as string[] | undefined)?.includes(holder)) return { kind: 'already_held' };
    return { kind: 'refused', state: current?.state };
  }

  private async giveBack(store: AggregateStore<unknown>, id: string, field: string, holder: string, counter: string, by: number, guard: Document): Promise<GiveBackOutcome> {
    const result = await store.collection.updateOne({ ...guard, _id: id, [field]: holder } as Filter<AggregateDocument>, {
      $inc: { [`counters.${counter}`]: by },
      $pull: { [field]: holder },
      $set: { updatedAt: this.clock.now() },
    } as Document);
    if (result.matchedCount === 1) return { kind: 'given_back' };
    const holding = (await store.collection.countDocuments({ _id: id, [field]: holder } as Filter<AggregateDocument>, { limit: 1 })) > 0;
    return holding ? { kind: 'refused' } : { kind: 'not_held' };
  }
}

export async function createTaskStores(mongo: MongoConnection, logger: Logger, clock: Clock): Promise<TaskStores> {
  const options = (indexes: object[] = [], unloadedFields: string[] = []) => ({ clock, indexes, unloadedFields });
  const tasks = new AggregateStore<Task>(mongo, 'tasks', plainCodec<Task>(), logger, options([{ 'state.state': 1 }, { 'state.ownerId': 1 }], [holderFields.slots]));
  const solverLoads = new AggregateStore<SolverLoad>(mongo, 'solver_loads', plainCodec<SolverLoad>(), logger, options([], [holderFields.places]));
  const stores: TaskStores = {
    tasks,
    bids: new AggregateStore<Bid>(mongo, 'bids', plainCodec<Bid>(), logger, options([{ 'state.taskId': 1 }])),
    submissions: new AggregateStore<ContestSubmission>(mongo, 'contest_submissions', plainCodec<ContestSubmission>(), logger, options([{ 'state.taskId': 1 }])),
    assignments: new AggregateStore<Assignment>(mongo, 'assignments', plainCodec<Assignment>(), logger, options([{ 'state.taskId': 1 }])),
    solverLoads,
    disputes: new AggregateStore<DisputeRecord>(mongo, 'disputes', plainCodec<DisputeRecord>(), logger, options()),
    held: new HeldCounters({ tasks, solverLoads }, clock),
  };
  for (const store of [stores.tasks, stores.bids, stores.submissions, stores.assignments, stores.solverLoads, stores.disputes]) await store.ensureIndexes();
  return stores;
}
