/**
 * Posting, funding, listing, bids, awards, contests and cancellation.
 *
 * Funding is a saga of the kit's model (kind `task-funding`, id `fund:<task>:<funding key>`, the
 * key `post` at posting or `award:<Idempotency-Key>` at award): the task is written in `funding`
 * (posting) or `awarding` (award), the saga's record next, then its steps: the decision (verifies
 * the task still waits for this very funding), the transfer owner wallet → task escrow (definite
 * refusals INSUFFICIENT_FUNDS and CURRENCY_MISMATCH, which give the decision back: the posting is
 * `refused`, the award undone and the task `open` again), and the finish, which writes the outcome
 * (`open` with TaskPosted / `awarded` with TaskAwarded). Any other failure (a lost answer, an
 * unreachable escrow) leaves the saga running for a same-key retry or the recovery loop; the
 * transfer id derives from the task and the funding key, so it is made once. A same-key retry
 * reads the record: a refused funding answers its refusal again, even after a top-up (a new key
 * tries again). A `resume-task-funding` job scheduled before the task is written starts the saga
 * if the process died between the task's write and the saga's record.
 */
import { type CallerIdentity, DomainError, deterministicId, type ErrorCode, findingReintroduced, type Loaded, type Money, refusalError, requestFingerprint, type Saga } from '@sizhong/kit';
import {
  bidsPerTaskMax,
  type Bid,
  cancelTask,
  checkCreditScore,
  closeAtDeadline,
  closeBiddingAtDeadline,
  checkOpenFor,
  decideContestByRule,
  type ContestSubmission,
  fundingRefused,
  fundingSucceeded,
  nameWinners,
  placeBid,
  postTask,
  type PostTaskInput,
  reopenEntries,
  startAward,
  awardFundingKey,
  stopTaking,
  submissionsPerTaskMax,
  submitToContest,
  type Task,
  visibleBids,
} from '../domain';
import { taskCounters } from '../storage/stores';
import { requireCaller, requireRole, type StoreFilter, type TaskContext, taskJobKinds, taskPageSizeDefault, taskPageSizeMax, type TaskView } from './context';
import { taskEventsToOutbox } from './events';
import { accountIds } from './ports';

export interface TaskFilters {
  readonly state?: string;
  readonly kind?: string;
  readonly mode?: string;
  readonly skill?: string;
  readonly mine?: boolean;
}

export interface Page {
  readonly limit: number;
  readonly cursor?: string;
}

function view(loaded: Loaded<Task>): TaskView {
  return { task: loaded.state, counters: loaded.counters };
}

export function pageLimit(limit: number): number {
  if (limit > taskPageSizeMax) throw new DomainError('LIMIT_EXCEEDED', `a page holds at most ${taskPageSizeMax} items`, { max: taskPageSizeMax });
  return limit === 0 ? taskPageSizeDefault : limit;
}

/** The saga kind of a task's funding (posting or award). */
export const fundingSagaKind = 'task-funding';

export function fundingSagaId(taskId: string, fundingKey: string): string {
  return `fund:${taskId}:${fundingKey}`;
}

/** The funding transfer's definite refusals. */
const transferRefusals: readonly ErrorCode[] = ['INSUFFICIENT_FUNDS', 'CURRENCY_MISMATCH'];
/** Refusals that end a funding saga: the transfer's, and a task that no longer waits for this funding. */
const fundingRefusals: readonly ErrorCode[] = [...transferRefusals, 'INVALID_STATE', 'NOT_FOUND'];

interface FundingInput {
  readonly taskId: string;
  readonly fundingKey: string;
}

interface FundingFacts {
  readonly amount?: Money;
  readonly ownerId?: string;
}

/** What a funding moves: the award's price at award, the budget at posting. */
function fundingAmount(task: Task): Money {
  return task.fundingKey?.startsWith('award:') && task.award ? task.award.price : task.budget;
}

export class Tasks {
  private readonly funding: Saga<FundingInput, { taskId: string }>;

  constructor(private readonly context: TaskContext) {
    this.funding = context.options.sagas.define<FundingInput, FundingFacts, { taskId: string }>({
      kind: fundingSagaKind,
      initialFacts: () => ({}),
      stages: [
        {
          name: 'decision',
          refusals: fundingRefusals,
          run: async ({ taskId, fundingKey }) => {
            const task = (await this.stores.tasks.get(taskId, 'task')).state;
            if (task.fundingKey !== fundingKey) throw new DomainError('INVALID_STATE', `task ${taskId} does not wait for funding ${fundingKey}`, { state: task.state });
            if (task.state === 'refused') throw new DomainError((task.refusalCode as ErrorCode | undefined) ?? 'INSUFFICIENT_FUNDS', 'the task could not be funded from the wallet', { taskId });
            return { amount: fundingAmount(task), ownerId: task.ownerId };
          },
          // The transfer was refused: the posting is refused, the award undone (the task open again).
          compensate: async ({ taskId, fundingKey }) => {
            const refusal = (await this.context.options.sagas.log.load(fundingSagaId(taskId, fundingKey)))?.refusal;
            await this.context.decideTask(taskId, (current) => (current.fundingKey === fundingKey ? fundingRefused(current, refusal?.code ?? 'INSUFFICIENT_FUNDS') : { task: current, events: [] }));
          },
        },
        {
          name: 'transfer',
          refusals: transferRefusals,
          run: async ({ taskId, fundingKey }, { amount, ownerId }) => {
            await this.context.options.escrow.openTaskEscrow(taskId, amount!.currency);
            await this.context.options.escrow.transfer({
              transferId: deterministicId('tr', 'task-funding', taskId, fundingKey),
              debitAccountId: accountIds.wallet(ownerId!, amount!.currency),
              creditAccountId: accountIds.taskEscrow(taskId, amount!.currency),
              amount: amount!,
              referenceId: taskId,
            });
          },
        },
      ],
      finish: {
        refusals: [],
        run: async ({ taskId, fundingKey }) => {
          const { loaded } = await this.context.decideTask(taskId, (current) => (current.fundingKey === fundingKey ? fundingSucceeded(current, this.context.now()) : { task: current, events: [] }));
          await this.scheduleAfterFunding(loaded.state);
          return { taskId };
        },
      },
    });
  }

  private get stores() {
    return this.context.stores;
  }

  async post(caller: CallerIdentity | undefined, idempotencyKey: string, input: Omit<PostTaskInput, 'id' | 'ownerId'>): Promise<TaskView> {
    const owner = requireRole(caller, 'enterprise');
    const id = deterministicId('tk', 'task', owner.participantId, idempotencyKey);
    const decided = postTask({ ...input, id, ownerId: owner.participantId }, this.context.options.policy, this.context.now());
    const events = taskEventsToOutbox(decided.events, { aggregateType: 'task', aggregateId: id, version: 1, topicPrefix: this.context.options.topicPrefix });
    const counters = { [taskCounters.slotsAvailable]: decided.task.slots, [taskCounters.bids]: 0, [taskCounters.submissions]: 0 };
    const fingerprint = requestFingerprint({ ...input, deadline: input.deadline.toISOString() });
    if (decided.task.fundingKey) await this.scheduleFundingBackstop(id, decided.task.fundingKey);
    const outcome = await this.stores.tasks.create(id, decided.task, events, fingerprint, counters);
    // A bidding task opens at once: its deadline closes it unless it was awarded by then.
    if (decided.task.mode === 'bidding') await this.scheduleDeadline(decided.task);
    return view(await this.fund(outcome.aggregate));
  }

  /** Runs the funding saga of a task that waits for one (or answers its refusal); a task that needs none is returned as it is. */
  async fund(loaded: Loaded<Task>): Promise<Loaded<Task>> {
    const task = loaded.state;
    if (!task.fundingKey || !['funding', 'awarding', 'refused'].includes(task.state)) return loaded;
    const id = fundingSagaId(task.id, task.fundingKey);
    // The id names the funding (task and key) and the task's own write checked the request: it is its own fingerprint.
    await this.funding.run({ id, input: { taskId: task.id, fundingKey: task.fundingKey }, fingerprint: id });
    return this.stores.tasks.get(task.id, 'task');
  }

  /** Starts the funding saga if the process dies between the task's write and the saga's record. */
  private async scheduleFundingBackstop(taskId: string, fundingKey: string): Promise<void> {
    await this.context.options.scheduler.schedule({ id: fundingSagaId(taskId, fundingKey), kind: taskJobKinds.resumeFunding, dueAt: new Date(this.context.now().getTime() + this.context.options.retryMs), payload: { taskId } });
  }

  /** A funded task's deadlines: a dispatch task closes at its deadline, a contest is decided by rule after the decision window. */
  private async scheduleAfterFunding(task: Task): Promise<void> {
    if (task.mode === 'dispatch' && task.state === 'open') await this.scheduleDeadline(task);
    // The fault-injection run's switch brings back issue 17's third finding: nothing decides a contest its owner leaves undecided.
    if (task.mode === 'contest' && task.state === 'open' && !findingReintroduced('no-contest-rule')) {
      await this.context.options.scheduler.schedule({
        id: `decide-contest:${task.id}`,
        kind: taskJobKinds.decideContest,
        dueAt: new Date(task.deadline.getTime() + this.context.options.policy.contestDecisionMs),
        payload: { taskId: task.id },
      });
    }
  }

  private async scheduleDeadline(task: Task): Promise<void> {
    await this.context.options.scheduler.schedule({ id: `close:${task.id}`, kind: taskJobKinds.closeAtDeadline, dueAt: task.deadline, payload: { taskId: task.id } });
  }

  /** The funding backstop job: drives on the funding a task still waits for (a refusal ends it; anything else is tried again). */
  async resumeFunding(taskId: string): Promise<void> {
    const loaded = await this.stores.tasks.load(taskId);
    if (!loaded || !['funding', 'awarding'].includes(loaded.state.state)) return;
    await this.fund(loaded).catch((error: unknown) => {
      if (!(error instanceof DomainError) || !fundingRefusals.includes(error.code)) throw error;
    });
  }

  async get(caller: CallerIdentity | undefined, taskId: string): Promise<TaskView> {
    return view(await this.context.visibleTask(caller, taskId));
  }

  /** Tasks in id order after `cursor`; funding and refused tasks only in the owner's own list. */
  async list(caller: CallerIdentity | undefined, filters: TaskFilters, page: Page): Promise<{ items: TaskView[]; nextCursor: string }> {
    const who = requireCaller(caller);
    const limit = pageLimit(page.limit);
    const filter: Record<string, unknown> = {};
    if (filters.mine) filter['state.ownerId'] = who.participantId;
    if (filters.state) filter['state.state'] = filters.state;
    else if (!filters.mine) filter['state.state'] = { $nin: ['funding', 'refused'] };
    if (filters.state && !filters.mine && ['funding', 'refused'].includes(filters.state)) filter['state.ownerId'] = who.participantId;
    if (filters.kind) filter['state.kind'] = filters.kind;
    if (filters.mode) filter['state.mode'] = filters.mode;
    if (filters.skill) filter['state.skills'] = filters.skill;
    if (page.cursor) filter['_id'] = { $gt: page.cursor };
    const found = await this.stores.tasks.find(filter as StoreFilter, { limit: limit + 1 });
    const items = found.slice(0, limit).map(view);
    return { items, nextCursor: found.length > limit ? (items.at(-1)?.task.id ?? '') : '' };
  }

  async placeBid(caller: CallerIdentity | undefined, taskId: string, input: { price: Money; etaDays: number; proposal: string }): Promise<{ bid: Bid; task: Task }> {
    const solver = requireRole(caller, 'solver');
    const { state: task } = await this.context.visibleTask(caller, taskId);
    const now = this.context.now();
    checkOpenFor(task, 'bidding', now);
    const bidId = deterministicId('bd', 'bid', taskId, solver.participantId);
    const bid = placeBid(task, { id: bidId, solverId: solver.participantId, ...input }, now);
    checkCreditScore(task, await this.context.scoreIfNeeded(task, solver.participantId));
    const existing = await this.stores.bids.load(bidId);
    if (existing) throw new DomainError('ALREADY_EXISTS', 'a solver bids once per task', { bidId });
    const counted = await this.stores.tasks.incrementCounters(taskId, `bid:${bidId}`, { [taskCounters.bids]: 1 }, { [`counters.${taskCounters.bids}`]: { $lt: bidsPerTaskMax }, 'state.state': 'open' } as StoreFilter);
    if (counted.kind === 'refused') {
      if (counted.current && (counted.current.state as Task).state !== 'open') throw new DomainError('INVALID_STATE', `task ${taskId} is no longer open`);
      throw new DomainError('LIMIT_EXCEEDED', `a task takes at most ${bidsPerTaskMax} bids`, { max: bidsPerTaskMax });
    }
    const outcome = await this.stores.bids.create(bidId, bid, []);
    return { bid: outcome.aggregate.state, task };
  }

  /** The owner sees every bid, a bidder their own; anyone else NOT_FOUND, as if the task had no bid list. */
  async listBids(caller: CallerIdentity | undefined, taskId: string): Promise<{ bids: Bid[]; task: Task }> {
    const who = requireCaller(caller);
    const { state: task } = await this.context.visibleTask(caller, taskId);
    const all = (await this.stores.bids.find({ 'state.taskId': taskId } as StoreFilter, { limit: bidsPerTaskMax })).map((loaded) => loaded.state);
    const visible = visibleBids(task, who.participantId, all);
    if (!visible) throw new DomainError('NOT_FOUND', `task ${taskId} has no bids of yours`);
    return { bids: visible, task };
  }

  async award(caller: CallerIdentity | undefined, taskId: string, bidId: string, idempotencyKey: string): Promise<TaskView> {
    const owner = requireRole(caller, 'enterprise');
    await this.context.visibleTask(caller, taskId);
    const bid = await this.stores.bids.load(bidId);
    if (!bid || bid.state.taskId !== taskId) throw new DomainError('NOT_FOUND', `bid ${bidId} not found`);
    const fundingKey = awardFundingKey(idempotencyKey);
    // A refused award's retry with the same key answers its refusal (the task is open again: awarding it anew under that key would wait for a transfer the ledger refused).
    const earlier = await this.context.options.sagas.log.load(fundingSagaId(taskId, fundingKey));
    if (earlier?.state === 'given_back' && earlier.refusal) throw refusalError(earlier.refusal);
    await this.scheduleFundingBackstop(taskId, fundingKey);
    const { loaded } = await this.context.decideTask(taskId, (task) => startAward(task, owner.participantId, { bidId, solverId: bid.state.solverId, price: bid.state.price, taskId: bid.state.taskId }, idempotencyKey));
    return view(await this.fund(loaded));
  }

  async submitToContest(caller: CallerIdentity | undefined, taskId: string, input: { deliverableUrl: string; note: string }): Promise<ContestSubmission> {
    const solver = requireRole(caller, 'solver');
    const { state: task } = await this.context.visibleTask(caller, taskId);
    const now = this.context.now();
    checkOpenFor(task, 'contest', now);
    const id = deterministicId('sb', 'contest-submission', taskId, solver.participantId);
    const submission = submitToContest(task, { id, solverId: solver.participantId, ...input }, now);
    checkCreditScore(task, await this.context.scoreIfNeeded(task, solver.participantId));
    if (await this.stores.submissions.load(id)) throw new DomainError('ALREADY_EXISTS', 'a solver submits once per contest', { submissionId: id });
    // Guarded on entries not stopped: a cancellation or the decision rule reads a final count once it stopped them.
    const counted = await this.stores.tasks.incrementCounters(taskId, `submission:${id}`, { [taskCounters.submissions]: 1 }, {
      [`counters.${taskCounters.submissions}`]: { $lt: submissionsPerTaskMax },
      'state.state': 'open',
      'state.entriesStopped': { $ne: true },
    } as StoreFilter);
    if (counted.kind === 'refused') {
      const current = counted.current?.state as Task | undefined;
      if (current && (current.state !== 'open' || current.entriesStopped)) throw new DomainError('INVALID_STATE', `task ${taskId} no longer takes entries`, { state: current.state });
      throw new DomainError('LIMIT_EXCEEDED', `a contest takes at most ${submissionsPerTaskMax} submissions`, { max: submissionsPerTaskMax });
    }
    return (await this.stores.submissions.create(id, submission, [])).aggregate.state;
  }

  async listSubmissions(caller: CallerIdentity | undefined, taskId: string): Promise<ContestSubmission[]> {
    const who = requireCaller(caller);
    const { state: task } = await this.context.visibleTask(caller, taskId);
    const all = (await this.stores.submissions.find({ 'state.taskId': taskId } as StoreFilter, { limit: submissionsPerTaskMax })).map((loaded) => loaded.state);
    if (task.ownerId === who.participantId) return all;
    const own = all.filter((submission) => submission.solverId === who.participantId);
    if (own.length === 0) throw new DomainError('NOT_FOUND', `task ${taskId} has no submissions of yours`);
    return own;
  }

  async nameWinners(caller: CallerIdentity | undefined, taskId: string, winners: readonly { submissionId: string; shareBps: number }[]): Promise<TaskView> {
    const owner = requireRole(caller, 'enterprise');
    await this.context.visibleTask(caller, taskId);
    const named = await Promise.all(
      winners.map(async (winner) => {
        const submission = await this.stores.submissions.load(winner.submissionId);
        if (!submission || submission.state.taskId !== taskId) throw new DomainError('NOT_FOUND', `submission ${winner.submissionId} is not one of this contest`);
        return { ...winner, solverId: submission.state.solverId };
      }),
    );
    const { loaded } = await this.context.decideAndPay({ subject: { taskId }, decision: 'winners' }, () =>
      this.context.decideTask(taskId, (task) => nameWinners(task, owner.participantId, named, this.context.options.policy, this.context.now())),
    );
    return view(loaded);
  }

  /**
   * The contest decision job (deadline + TASK_CONTEST_DECISION_MS): if the owner named no winners,
   * entries stop (one write), the final entries are read and the prize is split equally among them,
   * or refunded to the owner when there are none; the payments saga pays.
   */
  async decideContest(taskId: string): Promise<void> {
    const loaded = await this.stores.tasks.load(taskId);
    if (!loaded || loaded.state.mode !== 'contest') return;
    const now = this.context.now();
    if (loaded.state.state === 'open' && now.getTime() >= loaded.state.deadline.getTime() + this.context.options.policy.contestDecisionMs) {
      await this.stopEntries(taskId);
      const entries = (await this.stores.submissions.find({ 'state.taskId': taskId } as StoreFilter, { limit: submissionsPerTaskMax })).map(({ state }) => ({ submissionId: state.id, solverId: state.solverId }));
      const decision = { subject: { taskId }, decision: 'rule' };
      await this.context.decideAndPay(decision, () => this.context.decideTask(taskId, (current) => decideContestByRule(current, entries, this.context.options.policy, now)));
    }
    await this.context.settleJob({ subject: { taskId }, decision: 'rule' });
  }

  /** One write after which no contest entry lands (entries are guarded on it): the count read next is final. */
  private async stopEntries(taskId: string): Promise<void> {
    await this.context.decideTask(taskId, (current) => (current.mode === 'contest' ? stopTaking(current) : { task: current, events: [] }));
  }

  /**
   * The deadline job of a dispatch task: stops claims (one write, as a cancellation does), then
   * closes the task with the unclaimed slots' refund, which it pays.
   */
  async closeAtDeadline(taskId: string): Promise<void> {
    const loaded = await this.stores.tasks.load(taskId);
    const now = this.context.now();
    if (loaded?.state.mode === 'bidding') {
      await this.context.decideTask(taskId, (current) => closeBiddingAtDeadline(current, now));
      return;
    }
    if (!loaded || loaded.state.mode !== 'dispatch') return;
    if (loaded.state.state === 'open' && !loaded.state.claimsStopped && now.getTime() >= loaded.state.deadline.getTime()) {
      await this.context.decideTask(taskId, (current) => stopTaking(current));
    }
    const decision = { subject: { taskId }, decision: 'close' };
    await this.context.decideAndPay(decision, () => this.context.decideTask(taskId, (current, latest) => closeAtDeadline(current, { slotsAvailable: Number(latest.counters[taskCounters.slotsAvailable] ?? 0) }, now)));
    await this.context.settleJob(decision);
  }

  /**
   * Cancels a task. An open dispatch task or contest first stops taking claims or entries (one
   * write), so that the count of unclaimed slots or of entries read next is final: claims, slot
   * returns and entries are guarded on `open` and not stopped. Then the refund is decided and paid.
   * A contest found with entries is refused (the entrants did the work) and takes entries again.
   */
  async cancel(caller: CallerIdentity | undefined, taskId: string): Promise<TaskView> {
    const owner = requireRole(caller, 'enterprise');
    const { state: task } = await this.context.visibleTask(caller, taskId);
    if (task.ownerId !== owner.participantId) throw new DomainError('NOT_FOUND', `task ${taskId} not found`);
    if (task.state === 'open' && ((task.mode === 'dispatch' && !task.claimsStopped) || (task.mode === 'contest' && !task.entriesStopped))) {
      await this.context.decideTask(taskId, (current) => stopTaking(current));
    }
    try {
      const { loaded } = await this.context.decideAndPay({ subject: { taskId }, decision: 'cancel' }, () =>
        this.context.decideTask(taskId, (current, latest) =>
          cancelTask(current, owner.participantId, { submissionsCount: Number(latest.counters[taskCounters.submissions] ?? 0), slotsAvailable: Number(latest.counters[taskCounters.slotsAvailable] ?? 0) }, this.context.now()),
        ),
      );
      return view(loaded);
    } catch (error) {
      if (task.mode === 'contest' && error instanceof DomainError && error.code === 'INVALID_STATE') await this.context.decideTask(taskId, (current) => reopenEntries(current, this.context.now()));
      throw error;
    }
  }
}
