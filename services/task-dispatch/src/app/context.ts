/**
 * What the task use cases share: stores, ports, policy, clock and scheduler, the writes that put a
 * decision and its events in one guarded update, and the payments that a state implies.
 *
 * Money steps are idempotent transfers whose ids derive from the task and a stable key (the
 * funding key, a payment's key), so any step can be repeated. The payments a decision implies are
 * a saga of the kit's model (`task-payments`), named by the decision once
 * (`settle:<task or assignment>:<decision>`, e.g. `m0:accept:2`, `accept:1`, `abandon:1`,
 * `resolve:<dispute>`, `cancel`): the command writes its decision, then runs the saga, whose record
 * the recovery loop drives on with capped backoff until every transfer is made (an escrow outage
 * leaves it running, never given up). A `settle-task-payments` job scheduled before the decision's
 * write with the same name starts the saga if the process died between the write and the saga's
 * first record; it starts it only once the decision is visible, so a saga never completes early.
 * Funding (posting, award) is the `task-funding` saga (tasks.ts), claims the `dispatch-claim` saga
 * (dispatch.ts); the recovery loop drives every unfinished one on.
 */
import { type AggregateStore, type CallerIdentity, type Clock, DomainError, deterministicId, hasRole, type Loaded, type Logger, type Saga, type Sagas, type Scheduler } from '@sizhong/kit';
import { type Assignment, isOpenAssignment, isSettled, isVisibleTo, type Payment, paymentsOfAssignment, paymentsOfTask, type Task, type TaskEvent, type TaskPolicy } from '../domain';
import type { TaskStores } from '../storage/stores';
import { taskEventsToOutbox } from './events';
import { accountIds, type CreditPort, type EscrowPort } from './ports';

export const taskJobKinds = {
  /** Issues the payments a task's or an assignment's state implies (idempotent). */
  settle: 'settle-task-payments',
  /** Starts the funding saga of a task whose process died between the task's write and the saga's record. */
  resumeFunding: 'resume-task-funding',
  autoAccept: 'auto-accept-work',
  leaseExpiry: 'expire-assignment-lease',
  /** Closes a dispatch task at its deadline and refunds its unclaimed slots; closes a bidding task without an award. */
  closeAtDeadline: 'close-dispatch-task',
  /** A rejected piece of work not handed in again within TASK_RESUBMIT_WINDOW_MS closes as abandoned. */
  abandonWork: 'abandon-rejected-work',
  /** A contest without winners TASK_CONTEST_DECISION_MS after its deadline: the prize split by rule, or refunded. */
  decideContest: 'decide-contest-by-rule',
  /** A dispute unresolved after DISPUTE_RESOLUTION_MS: DisputeOverdue (a regulator alert) and the stuck list. */
  disputeOverdue: 'flag-overdue-dispute',
} as const;

/** The saga kind of the payments a decision implies. */
export const taskPaymentsSagaKind = 'task-payments';

/** Whose payments: a task's own (milestones, winners, refunds) or a dispatch assignment's. */
export type PaymentSubject = { readonly taskId: string } | { readonly assignmentId: string };

/** What a settlement is for: names the saga and the backstop job once per piece of work. */
export interface PaymentDecision {
  readonly subject: PaymentSubject;
  /** `m<i>:accept:<submission n>`, `accept:<n>`, `abandon:<rejections>`, `resolve:<dispute>`, `returned`, `winners`, `rule`, `cancel`, `close`. */
  readonly decision: string;
}

export function paymentSagaId(decision: PaymentDecision): string {
  const subject = 'taskId' in decision.subject ? decision.subject.taskId : decision.subject.assignmentId;
  return `settle:${subject}:${decision.decision}`;
}

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
  readonly sagas: Sagas;
}

export interface TaskView {
  readonly task: Task;
  readonly counters: Loaded<Task>['counters'];
}

export class TaskContext {
  private readonly payments: Saga<PaymentSubject, { transfers: number }>;

  constructor(readonly options: TaskContextOptions) {
    this.payments = options.sagas.define<PaymentSubject, object, { transfers: number }>({
      kind: taskPaymentsSagaKind,
      stages: [],
      // Payments have no definite refusal: an escrow that refuses or is unreachable leaves the saga for recovery.
      finish: { refusals: [], run: async (subject) => ({ transfers: await this.payWhatStateImplies(subject) }) },
      initialFacts: () => ({}),
    });
  }

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

  /**
   * The payments of a decision: schedules the backstop job, writes the decision (`write`), then runs
   * the payments saga. A failed payment is logged and left to the saga's recovery: the decision
   * stands and the caller gets its answer.
   */
  async decideAndPay<Result>(decision: PaymentDecision, write: () => Promise<Result>): Promise<Result> {
    await this.options.scheduler.schedule({
      id: paymentSagaId(decision),
      kind: taskJobKinds.settle,
      dueAt: new Date(this.now().getTime() + this.options.retryMs),
      payload: { ...decision.subject, decision: decision.decision },
    });
    const result = await write();
    await this.runPayments(decision).catch((error: unknown) => this.options.logger.warn({ err: error, sagaId: paymentSagaId(decision) }, 'payments left to the recovery loop'));
    return result;
  }

  /** Runs (or answers from its record) the payments saga of a decision; throws while a transfer fails. */
  async runPayments(decision: PaymentDecision): Promise<void> {
    const id = paymentSagaId(decision);
    await this.payments.run({ id, input: decision.subject, fingerprint: id });
  }

  /** The backstop job: starts the payments saga once the decision it names is visible (see the file comment). */
  async settleJob(decision: PaymentDecision): Promise<void> {
    if (!(await this.isDecisionVisible(decision))) return;
    await this.runPayments(decision);
  }

  private async isDecisionVisible({ subject, decision }: PaymentDecision): Promise<boolean> {
    if ('assignmentId' in subject) {
      const assignment = (await this.stores.assignments.load(subject.assignmentId))?.state;
      return assignment !== undefined && (isSettled(assignment.work) || assignment.slotReturnedTo !== undefined);
    }
    const task = (await this.stores.tasks.load(subject.taskId))?.state;
    if (!task) return false;
    const milestone = /^m(\d+):/.exec(decision);
    if (milestone) return task.milestones[Number(milestone[1])] !== undefined && isSettled(task.milestones[Number(milestone[1])]!.work);
    if (decision === 'winners' || decision === 'rule') return task.winners !== undefined || task.closure !== undefined;
    if (decision === 'cancel') return task.cancellation !== undefined;
    if (decision === 'close') return task.closure !== undefined;
    return true;
  }

  /** Gives back a solver's place under the cap once (the assignment is its recorded holder). */
  async releaseSolverLoad(solverId: string, assignmentId: string): Promise<void> {
    await this.stores.held.releasePlace(solverId, assignmentId);
  }

  /** The payments saga's one step: every transfer the state implies (made ones are no-ops), and a closed assignment's solver place. */
  private async payWhatStateImplies(subject: PaymentSubject): Promise<number> {
    if ('assignmentId' in subject) {
      const assignment = (await this.stores.assignments.load(subject.assignmentId))?.state;
      if (!assignment) return 0;
      if (!isOpenAssignment(assignment)) await this.releaseSolverLoad(assignment.solverId, assignment.id);
      const payments = paymentsOfAssignment(assignment);
      await this.pay({ id: assignment.taskId, ownerId: assignment.ownerId }, payments, { throwOnFailure: true });
      return payments.length;
    }
    const task = (await this.stores.tasks.load(subject.taskId))?.state;
    if (!task) return 0;
    const payments = paymentsOfTask(task);
    await this.pay(task, payments, { throwOnFailure: true });
    return payments.length;
  }

  /** Issues payments out of the task's escrow (idempotent by key); a failure is thrown (the payments saga stays unfinished) or, without `throwOnFailure`, logged. */
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
