/**
 * The task-dispatch collections, each one document per aggregate on the kit's AggregateStore:
 * tasks (with guarded counters: `slotsAvailable` for dispatch claims, `bids`, `submissions`),
 * bids, contest submissions, dispatch assignments (the assignment document is the claim),
 * per-solver loads (the counter of open assignments) and dispute records (where a dispute lives).
 * Hot paths read and write by `_id`; lists query `state.taskId` or the task filters and may scan.
 */
import { AggregateStore, type Clock, type Logger, type Money, type MongoConnection, plainCodec } from '@sizhong/kit';
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
}

export async function createTaskStores(mongo: MongoConnection, logger: Logger, clock: Clock): Promise<TaskStores> {
  const options = (indexes: object[] = []) => ({ clock, indexes });
  const stores: TaskStores = {
    tasks: new AggregateStore<Task>(mongo, 'tasks', plainCodec<Task>(), logger, options([{ 'state.state': 1 }, { 'state.ownerId': 1 }])),
    bids: new AggregateStore<Bid>(mongo, 'bids', plainCodec<Bid>(), logger, options([{ 'state.taskId': 1 }])),
    submissions: new AggregateStore<ContestSubmission>(mongo, 'contest_submissions', plainCodec<ContestSubmission>(), logger, options([{ 'state.taskId': 1 }])),
    assignments: new AggregateStore<Assignment>(mongo, 'assignments', plainCodec<Assignment>(), logger, options([{ 'state.taskId': 1 }])),
    solverLoads: new AggregateStore<SolverLoad>(mongo, 'solver_loads', plainCodec<SolverLoad>(), logger, options()),
    disputes: new AggregateStore<DisputeRecord>(mongo, 'disputes', plainCodec<DisputeRecord>(), logger, options()),
  };
  for (const store of Object.values(stores)) await store.ensureIndexes();
  return stores;
}
