/**
 * What the task use cases share: stores, ports, policy, clock and scheduler, the writes that put a
 * decision and its events in one guarded update, and the payments that a state implies.
 *
 * Money steps are idempotent transfers whose ids derive from the task and a stable key (the
 * funding key, a payment's key), so any step can be repeated: a command that crashed after its
 * decision is completed by a scheduled job (`taskJobKinds.settle`) that issues the payments of the
 * state as it is, and a funding interrupted midway is resumed by `taskJobKinds.resumeFunding`.
 */
import { type AggregateStore, type CallerIdentity, type Clock, DomainError, deterministicId, hasRole, type Loaded, type Logger, type Scheduler } from '@sizhong/kit';
import { type Assignment, isVisibleTo, type Payment, paymentsOfAssignment, paymentsOfTask, type Task, type TaskEvent, type TaskPolicy } from '../domain';
import type { TaskStores } from '../storage/stores';
import { taskEventsToOutbox } from './events';
import { accountIds, type CreditPort, type EscrowPort } from './ports';

export const taskJobKinds = {
  /** Issues the payments a task's or an assignment's state implies (idempotent). */
  settle: 'settle-task-payments',
  /** Completes a funding (posting or award) a crash interrupted. */
  resumeFunding: 'resume-task-funding',
  autoAccept: 'auto-accept-work',
  leaseExpiry: 'expire-assignment-lease',
  /** Closes a dispatch task at its deadline and refunds its unclaimed slots. */
  closeAtDeadline: 'close-dispatch-task',
} as const;

/** A query filter or counter guard on an aggregate collection. */
export type StoreFilter = Parameters<AggregateStore<unknown>['find']>[0];

export const taskPageSizeDefault = 20;
export const taskPageSizeMax = 100;

export interface TaskContextOptions {
  readonly stores: TaskStores;
  readonly escrow: EscrowPort;
  readonly credit: CreditPort;
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly policy: TaskPolicy;
  readonly topicPrefix: string;
  /** When an interrupted money step is tried again (TASK_PAYMENT_RETRY_MS). */
  readonly retryMs: number;
}

export interface TaskView {
  readonly task: Task;
  readonly counters: Loaded<Task>['counters'];
}

export class TaskContext {
  constructor(readonly options: TaskContextOptions) {}

  get stores(): TaskStores {
    return this.options.stores;
  }

  now(): Date {
    return this.options.clock.now();
  }

  /** The task if the caller may see it; NOT_FOUND otherwise (never revealing other tenants' drafts). */
  async visibleTask(caller: CallerIdentity | undefined, taskId: string): Promise<Loaded<Task>> {
    const loaded = await this.stores.tasks.load(taskId);
    if (!loaded || !(isVisibleTo(loaded.state, caller?.participantId) || hasRole(caller, 'admin', 'regulator'))) throw new DomainError('NOT_FOUND', `task ${taskId} not found`);
    return loaded;
  }

  /** One guarded write of a task decision with its events on the task's outbox. */
  async decideTask<Result = void>(taskId: string, decide: (task: Task, loaded: Loaded<Task>) => { task: Task; events: readonly TaskEvent[]; result?: Result }): Promise<{ loaded: Loaded<Task>; result: Result | undefined }> {
    const { aggregate, result } = await this.stores.tasks.update(
      taskId,
      (current) => {
        const decision = decide(current.state, current);
        return {
          state: decision.task,
          events: taskEventsToOutbox(decision.events, { aggregateType: 'task', aggregateId: taskId, version: current.version + 1, topicPrefix: this.options.topicPrefix }),
          result: decision.result,
        };
      },
      'task',
    );
    return { loaded: aggregate, result };
  }

  async decideAssignment(assignmentId: string, decide: (assignment: Assignment) => { assignment: Assignment; events: readonly TaskEvent[] }): Promise<Assignment> {
    const { aggregate } = await this.stores.assignments.update(
      assignmentId,
      (current) => {
        const decision = decide(current.state);
        return {
          state: decision.assignment,
          events: taskEventsToOutbox(decision.events, { aggregateType: 'assignment', aggregateId: assignmentId, version: current.version + 1, topicPrefix: this.options.topicPrefix }),
          result: undefined,
        };
      },
      'assignment',
    );
    return aggregate.state;
  }

  fundingTransferId(task: Task): string {
    return deterministicId('tr', 'task-funding', task.id, task.fundingKey ?? '');
  }

  /** A backstop for the payments of a decision about to be written: the job pays whatever the state then implies. */
  async scheduleSettlement(subject: { taskId: string } | { assignmentId: string }, key: string): Promise<void> {
    const id = 'taskId' in subject ? `settle:${subject.taskId}:${key}` : `settle:${subject.assignmentId}:${key}`;
    await this.options.scheduler.schedule({ id, kind: taskJobKinds.settle, dueAt: new Date(this.now().getTime() + this.options.retryMs), payload: { ...subject } });
  }

  /** Issues payments out of the task's escrow (idempotent by key). A failure is logged: the settlement job retries. */
  async pay(task: Pick<Task, 'id' | 'ownerId'>, payments: readonly Payment[], options: { throwOnFailure?: boolean } = {}): Promise<void> {
    try {
      for (const payment of payments) {
        const currency = payment.amount.currency;
        const creditAccountId = payment.payee.kind === 'solver' ? accountIds.wallet(payment.payee.solverId, currency) : payment.payee.kind === 'owner' ? accountIds.wallet(task.ownerId, currency) : accountIds.fee(currency);
        await this.options.escrow.transfer({
          transferId: deterministicId('tr', 'task-payment', task.id, payment.key),
          debitAccountId: accountIds.taskEscrow(task.id, currency),
          creditAccountId,
          amount: payment.amount,
          referenceId: task.id,
        });
      }
    } catch (error) {
      if (options.throwOnFailure) throw error;
      this.options.logger.warn({ err: error, taskId: task.id }, 'payments deferred to the settlement job');
    }
  }

  async payTask(task: Task, options: { throwOnFailure?: boolean } = {}): Promise<void> {
    await this.pay(task, paymentsOfTask(task), options);
  }

  async payAssignment(assignment: Assignment, options: { throwOnFailure?: boolean } = {}): Promise<void> {
    await this.pay({ id: assignment.taskId, ownerId: assignment.ownerId }, paymentsOfAssignment(assignment), options);
  }

  /** The solver's score where the task sets a minimum (one credit call), undefined otherwise. */
  async scoreIfNeeded(task: Task, solverId: string): Promise<number | undefined> {
    if (task.minCreditScore === undefined) return undefined;
    return this.options.credit.score(solverId, 'solver');
  }
}

export function requireRole(caller: CallerIdentity | undefined, role: 'enterprise' | 'solver' | 'arbiter'): CallerIdentity {
  if (!caller) throw new DomainError('UNAUTHENTICATED', 'a participant is required');
  if (!hasRole(caller, role)) throw new DomainError('PERMISSION_DENIED', `only participants with the role ${role} may do this`);
  return caller;
}

export function requireCaller(caller: CallerIdentity | undefined): CallerIdentity {
  if (!caller) throw new DomainError('UNAUTHENTICATED', 'a participant is required');
  return caller;
}
