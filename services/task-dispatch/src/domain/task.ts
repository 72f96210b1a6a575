/**
 * The task lifecycle (a discriminated union on `state`, one function per transition returning the
 * new task and its events, or throwing DomainError). Pure: time comes in as `now`.
 *
 *   bidding:  open ─award→ awarding ─funded→ awarded ─(milestones settled)→ completed
 *                               └─refused→ open
 *   contest, dispatch: funding ─funded→ open ─winners named (contest)→ completed
 *                          └─refused→ refused
 *   open | awarded ─cancel→ cancelled
 *   dispatch: open ─deadline passes→ closed (unclaimed slots refunded; open assignments go on)
 *   bidding:  open ─deadline passes without an award→ closed (nothing was funded)
 *   contest:  open ─deadline + decision window without winners→ completed (prize split equally among
 *             the entries) | closed (no entries: the prize refunded)
 *
 * Money enters the task's escrow account once (`funded`): at award for bidding, at posting for
 * contests and dispatch. Every transfer out of it is a function of the state (payments.ts), so a
 * crash between a decision and its transfers is repaired by issuing them again.
 */
import { DomainError, type Money, money, isCurrencyCode, splitMoney, zero, add } from '@sizhong/kit/domain';
import type { TaskEvent } from './events';
import { budgetMinorMax, creditScoreMax, creditScoreMin, descriptionLengthMax, milestonesPerTaskMax, skillLengthMax, skillPattern, skillsPerTaskMax, slotsPerTaskMax, titleLengthMax, winnersPerContestMax } from './limits';
import type { TaskPolicy } from './policy';
import { abandonWork, acceptWork, autoAcceptWork, checkImpartial, isSettled, newWork, openWorkDispute, payout, refundWork, rejectWork, resolveWorkDispute, submitWork, type Work } from './work';

export const taskKinds = ['rnd', 'service', 'operations'] as const;
export type TaskKind = (typeof taskKinds)[number];
export const taskModes = ['bidding', 'contest', 'dispatch'] as const;
export type TaskMode = (typeof taskModes)[number];
export const taskStates = ['funding', 'refused', 'open', 'awarding', 'awarded', 'completed', 'cancelled', 'closed'] as const;
export type TaskState = (typeof taskStates)[number];

export interface Milestone {
  readonly title: string;
  readonly work: Work;
}

export interface Award {
  readonly bidId: string;
  readonly solverId: string;
  readonly price: Money;
  /** The award command's idempotency key: it names the funding transfer. */
  readonly key: string;
}

export interface Winner {
  readonly submissionId: string;
  readonly solverId: string;
  readonly shareBps: number;
  readonly solverPaid: Money;
  readonly fee: Money;
}

export interface Task {
  readonly id: string;
  readonly ownerId: string;
  readonly title: string;
  readonly description: string;
  readonly kind: TaskKind;
  readonly mode: TaskMode;
  readonly budget: Money;
  readonly skills: readonly string[];
  readonly deadline: Date;
  readonly minCreditScore?: number;
  /** Dispatch: identical assignments, each paid `perSlot`; 0 otherwise. */
  readonly slots: number;
  readonly perSlot?: Money;
  readonly milestones: readonly Milestone[];
  readonly state: TaskState;
  readonly postedAt: Date;
  /** What has moved into the task's escrow account. */
  readonly funded: Money;
  /** Names the transfer that funds the task: `post` (contest, dispatch) or `award:<key>` (bidding). */
  readonly fundingKey?: string;
  readonly award?: Award;
  readonly winners?: readonly Winner[];
  readonly cancellation?: { readonly at: Date; readonly stage: 'open' | 'awarded'; readonly refunded: Money };
  /** A dispatch task closed by its deadline: the unclaimed slots' money returned. */
  readonly closure?: { readonly at: Date; readonly refunded: Money };
  readonly refusalCode?: string;
  /** Dispatch: the owner is cancelling; no claim or slot return lands any more (see the app's cancel). */
  readonly claimsStopped?: boolean;
  /** Contest: entries stopped (a cancellation or the decision rule is reading the final count of entries). */
  readonly entriesStopped?: boolean;
}

export interface Decided {
  readonly task: Task;
  readonly events: readonly TaskEvent[];
}

export interface PostTaskInput {
  readonly id: string;
  readonly ownerId: string;
  readonly title: string;
  readonly description: string;
  readonly kind: string;
  readonly mode: string;
  readonly budget: Money;
  readonly skills: readonly string[];
  readonly deadline: Date;
  readonly milestones: readonly { title: string; amount: Money }[];
  readonly minCreditScore?: number | undefined;
  readonly slots?: number | undefined;
}

function invalid(field: string, message: string): never {
  throw new DomainError('INVALID_ARGUMENT', message, { field });
}

function tooMany(field: string, max: number): never {
  throw new DomainError('LIMIT_EXCEEDED', `${field} holds at most ${max} items`, { field, max });
}

function checkText(field: string, value: string, max: number, required: boolean): string {
  const trimmed = value.trim();
  if (required && trimmed.length === 0) invalid(field, `${field} is required`);
  if ([...trimmed].length > max) throw new DomainError('LIMIT_EXCEEDED', `${field} is at most ${max} characters`, { field, max });
  return trimmed;
}

function checkAmount(field: string, amount: Money): void {
  if (!isCurrencyCode(amount.currency)) invalid(`${field}.currency`, `${field}.currency must be an ISO 4217 code`);
  if (amount.amountMinor <= 0n || amount.amountMinor > budgetMinorMax) invalid(`${field}.amountMinor`, `${field} must be within 1..${budgetMinorMax} minor units`);
}

function checkSkills(skills: readonly string[]): string[] {
  if (skills.length > skillsPerTaskMax) tooMany('skills', skillsPerTaskMax);
  for (const skill of skills) {
    if (skill.length > skillLengthMax || !skillPattern.test(skill)) invalid('skills', `skills are lower-case words joined by '-', at most ${skillLengthMax} characters`);
  }
  return [...new Set(skills)];
}

/** Validates a new task. Bidding tasks open at once; contests and dispatch tasks wait for their funding. */
export function postTask(input: PostTaskInput, policy: TaskPolicy, now: Date): Decided {
  const kind = taskKinds.find((known) => known === input.kind) ?? invalid('kind', `kind must be one of ${taskKinds.join(', ')}`);
  const mode = taskModes.find((known) => known === input.mode) ?? invalid('mode', `mode must be one of ${taskModes.join(', ')}`);
  const title = checkText('title', input.title, titleLengthMax, true);
  const description = checkText('description', input.description, descriptionLengthMax, false);
  checkAmount('budget', input.budget);
  const skills = checkSkills(input.skills);
  if (input.deadline.getTime() < now.getTime() + policy.deadlineMinMs) invalid('deadline', `deadline must be at least ${policy.deadlineMinMs} ms from now`);
  if (input.minCreditScore !== undefined && (!Number.isInteger(input.minCreditScore) || input.minCreditScore < creditScoreMin || input.minCreditScore > creditScoreMax)) {
    invalid('minCreditScore', `minCreditScore must be an integer within ${creditScoreMin}..${creditScoreMax}`);
  }
  const milestones = planMilestones(mode, input, input.deadline);
  let slots = 0;
  let perSlot: Money | undefined;
  if (mode === 'dispatch') {
    slots = input.slots ?? 0;
    if (!Number.isInteger(slots) || slots < 1) invalid('slots', 'a dispatch task needs slots of at least 1');
    if (slots > slotsPerTaskMax) throw new DomainError('LIMIT_EXCEEDED', `a dispatch task has at most ${slotsPerTaskMax} slots`, { field: 'slots', max: slotsPerTaskMax });
    if (input.budget.amountMinor % BigInt(slots) !== 0n) invalid('budget', 'a dispatch budget must divide exactly by its slots');
    perSlot = money(input.budget.currency, input.budget.amountMinor / BigInt(slots));
  } else if (input.slots !== undefined && input.slots !== 0) {
    invalid('slots', 'only dispatch tasks have slots');
  }
  const task: Task = {
    id: input.id,
    ownerId: input.ownerId,
    title,
    description,
    kind,
    mode,
    budget: input.budget,
    skills,
    deadline: input.deadline,
    ...(input.minCreditScore === undefined ? {} : { minCreditScore: input.minCreditScore }),
    slots,
    ...(perSlot ? { perSlot } : {}),
    milestones,
    state: mode === 'bidding' ? 'open' : 'funding',
    postedAt: now,
    funded: zero(input.budget.currency),
    ...(mode === 'bidding' ? {} : { fundingKey: 'post' }),
  };
  return { task, events: mode === 'bidding' ? [posted(task, now)] : [] };
}

function planMilestones(mode: TaskMode, input: PostTaskInput, dueAt: Date): Milestone[] {
  if (mode !== 'bidding') {
    if (input.milestones.length > 0) invalid('milestones', `${mode} tasks have no milestones`);
    return [];
  }
  if (input.milestones.length === 0) invalid('milestones', 'a bidding task needs at least one milestone');
  if (input.milestones.length > milestonesPerTaskMax) tooMany('milestones', milestonesPerTaskMax);
  let sum = zero(input.budget.currency);
  const milestones = input.milestones.map((milestone, index) => {
    checkAmount(`milestones[${index}].amount`, milestone.amount);
    if (milestone.amount.currency !== input.budget.currency) throw new DomainError('CURRENCY_MISMATCH', 'milestones are in the budget currency', { field: `milestones[${index}].amount` });
    sum = add(sum, milestone.amount);
    return { title: checkText(`milestones[${index}].title`, milestone.title, titleLengthMax, true), work: newWork(milestone.amount, dueAt) };
  });
  if (sum.amountMinor !== input.budget.amountMinor) invalid('milestones', 'milestone amounts must sum to the budget');
  return milestones;
}

function posted(task: Task, now: Date): TaskEvent {
  return { type: 'TaskPosted', occurredAt: now, taskId: task.id, ownerId: task.ownerId, kind: task.kind, mode: task.mode, budget: task.budget, deadline: task.deadline, skills: task.skills, slots: task.slots };
}

/** Who may see the task: anyone once it is posted; only its owner while it waits for funding or was refused. */
export function isVisibleTo(task: Task, participantId: string | undefined): boolean {
  return task.ownerId === participantId || (task.state !== 'funding' && task.state !== 'refused');
}

/**
 * Who reads a task's work in full — each milestone's deliverable, note and last rejection reason:
 * the owner, the awarded solver, and arbiters, admins and regulators (who rule on and supervise
 * it). Every other reader sees the work's progress (state, amounts, dates, counts) only.
 */
export function readsWorkOf(task: Task, reader: { readonly participantId: string; readonly roles: readonly string[] } | undefined): boolean {
  if (!reader) return false;
  if (reader.participantId === task.ownerId || (task.award !== undefined && reader.participantId === task.award.solverId)) return true;
  return reader.roles.some((role) => role === 'arbiter' || role === 'admin' || role === 'regulator');
}

function notFound(task: Task): never {
  throw new DomainError('NOT_FOUND', `task ${task.id} not found`);
}

function requireOwner(task: Task, callerId: string): void {
  if (task.ownerId !== callerId) notFound(task);
}

function requireState(task: Task, states: readonly TaskState[], action: string): void {
  if (!states.includes(task.state)) throw new DomainError('INVALID_STATE', `cannot ${action} a task that is ${task.state}`, { state: task.state });
}

function requireMode(task: Task, mode: TaskMode, action: string): void {
  if (task.mode !== mode) throw new DomainError('INVALID_STATE', `only ${mode} tasks ${action}`, { mode: task.mode });
}

/** The funding transfer went through: the task opens (posting) or is awarded (bidding). */
export function fundingSucceeded(task: Task, now: Date): Decided {
  if (task.state === 'funding') return { task: { ...task, state: 'open', funded: task.budget }, events: [posted(task, now)] };
  if (task.state === 'awarding' && task.award) {
    const award = task.award;
    const amounts = splitMoney(award.price, task.milestones.map((milestone) => milestone.work.amount.amountMinor));
    const milestones = task.milestones.map((milestone, index) => ({ ...milestone, work: { ...milestone.work, amount: amounts[index]! } }));
    return {
      task: { ...task, state: 'awarded', funded: award.price, milestones },
      events: [{ type: 'TaskAwarded', occurredAt: now, taskId: task.id, ownerId: task.ownerId, solverId: award.solverId, bidId: award.bidId, amount: award.price }],
    };
  }
  return { task, events: [] };
}

/** The funding transfer was refused (INSUFFICIENT_FUNDS): a posting is refused, an award is undone. */
export function fundingRefused(task: Task, code: string): Decided {
  if (task.state === 'funding') return { task: { ...task, state: 'refused', refusalCode: code }, events: [] };
  if (task.state === 'awarding') {
    const { award: _undone, fundingKey: _key, ...rest } = task;
    return { task: { ...rest, state: 'open' }, events: [] };
  }
  return { task, events: [] };
}

/** The funding key of an award: names its transfer and its funding saga. */
export function awardFundingKey(idempotencyKey: string): string {
  return `award:${idempotencyKey}`;
}

/**
 * The owner awards a bid: the task waits for the award's funding (the bid's price, at most the
 * budget; milestones are rescaled to it by `split`). The same key again resumes the same award.
 */
export function startAward(task: Task, callerId: string, bid: { bidId: string; solverId: string; price: Money; taskId: string }, key: string): Decided {
  requireOwner(task, callerId);
  requireMode(task, 'bidding', 'are awarded');
  if (task.state === 'awarding' || task.state === 'awarded') {
    if (task.award?.key === key && task.award.bidId === bid.bidId) return { task, events: [] };
    // Another award is being funded: the caller raced it and may try again once it is decided.
    if (task.state === 'awarding') throw new DomainError('CONCURRENT_MODIFICATION', `another award of task ${task.id} is being funded; try again`, { state: task.state });
    // Awarded: the same bid is the decision already made; another bid is contrary to it.
    if (task.award?.bidId === bid.bidId) return { task, events: [] };
    throw new DomainError('ALREADY_DECIDED', `task ${task.id} was already awarded to another bid`, { decision: 'award', awardedBidId: task.award?.bidId ?? null });
  }
  requireState(task, ['open'], 'award');
  if (bid.taskId !== task.id) throw new DomainError('NOT_FOUND', `bid ${bid.bidId} not found`);
  return { task: { ...task, state: 'awarding', award: { bidId: bid.bidId, solverId: bid.solverId, price: bid.price, key }, fundingKey: awardFundingKey(key) }, events: [] };
}

function milestoneAt(task: Task, index: number): Milestone {
  const milestone = task.milestones[index];
  if (!Number.isInteger(index) || !milestone) throw new DomainError('NOT_FOUND', `task ${task.id} has no milestone ${index}`);
  return milestone;
}

/** A milestone of an awarded task, reachable only by its owner or its solver (others get NOT_FOUND). */
function workOf(task: Task, callerId: string, index: number, who: 'owner' | 'solver' | 'either'): Milestone {
  const isOwner = task.ownerId === callerId;
  const isSolver = task.state !== 'awarding' && task.award?.solverId === callerId;
  if (!((who !== 'solver' && isOwner) || (who !== 'owner' && isSolver))) throw new DomainError('NOT_FOUND', `task ${task.id} has no milestone ${index} of yours`);
  requireMode(task, 'bidding', 'have milestones');
  requireState(task, ['awarded'], 'work on');
  return milestoneAt(task, index);
}

function withWork(task: Task, index: number, work: Work): Task {
  return { ...task, milestones: task.milestones.map((milestone, at) => (at === index ? { ...milestone, work } : milestone)) };
}

function workRef(task: Task, index: number) {
  return { taskId: task.id, ownerId: task.ownerId, solverId: task.award?.solverId ?? '', milestoneIndex: index, assignmentId: '' };
}

export function submitMilestone(task: Task, callerId: string, index: number, input: { deliverableUrl: string; note: string }, now: Date): Decided {
  const before = workOf(task, callerId, index, 'solver').work;
  const work = submitWork(before, input, now);
  if (work === before) return { task, events: [] };
  const submission = work.submission!;
  return {
    task: withWork(task, index, work),
    events: [{ type: 'MilestoneSubmitted', occurredAt: now, ...workRef(task, index), dueAt: work.dueAt, onTime: submission.onTime, resubmission: submission.number - 1 }],
  };
}

function accepted(task: Task, index: number, work: Work, now: Date): Decided {
  const settlement = work.settlement!;
  const event: TaskEvent = {
    type: 'TaskMilestoneAccepted',
    occurredAt: now,
    discriminator: `m${index}`,
    ...workRef(task, index),
    paid: settlement.solverPaid,
    fee: settlement.fee,
    onTime: work.submission?.onTime ?? false,
    acceptedBy: settlement.by === 'silence' ? 'silence' : 'owner',
  };
  return completeIfSettled(withWork(task, index, work), [event], now);
}

export function acceptMilestone(task: Task, callerId: string, index: number, policy: TaskPolicy, now: Date): Decided {
  const before = workOf(task, callerId, index, 'owner').work;
  const work = acceptWork(before, policy.feeBps, 'owner', now);
  return work === before ? { task, events: [] } : accepted(task, index, work, now);
}

/** The silence window after submission `submissionNumber` ended; nothing happens if that hand-in was decided meanwhile. */
export function autoAcceptMilestone(task: Task, index: number, submissionNumber: number, policy: TaskPolicy, now: Date): Decided {
  const milestone = task.milestones[index];
  if (task.state !== 'awarded' || !milestone) return { task, events: [] };
  const work = autoAcceptWork(milestone.work, submissionNumber, policy.feeBps, now);
  return work ? accepted(task, index, work, now) : { task, events: [] };
}

export function rejectMilestone(task: Task, callerId: string, index: number, reason: string, now: Date): Decided {
  const trimmed = checkText('reason', reason, 2_000, true);
  const before = workOf(task, callerId, index, 'owner').work;
  const work = rejectWork(before, trimmed, now);
  if (work === before) return { task, events: [] };
  return { task: withWork(task, index, work), events: [{ type: 'TaskMilestoneRejected', occurredAt: now, ...workRef(task, index), reason: trimmed, rejections: work.rejections }] };
}

/** The resubmit window after rejection `rejections` of milestone `index` ended: abandoned unless handed in again or disputed. */
export function abandonMilestone(task: Task, index: number, rejections: number, now: Date): Decided {
  const milestone = task.milestones[index];
  if (task.state !== 'awarded' || !milestone) return { task, events: [] };
  const work = abandonWork(milestone.work, rejections, 'owner', now);
  return work ? completeIfSettled(withWork(task, index, work), [], now) : { task, events: [] };
}

/** A milestone's dispute outlived DISPUTE_RESOLUTION_MS: marked once, with DisputeOverdue for the regulator; its money stays held. */
export function markMilestoneDisputeOverdue(task: Task, index: number, disputeId: string, now: Date): Decided {
  const work = task.milestones[index]?.work;
  const dispute = work?.dispute;
  if (!work || work.state !== 'disputed' || dispute?.disputeId !== disputeId || dispute.overdueAt) return { task, events: [] };
  return {
    task: withWork(task, index, { ...work, dispute: { ...dispute, overdueAt: now } }),
    events: [{ type: 'DisputeOverdue', occurredAt: now, disputeId, taskId: task.id, ownerId: task.ownerId, solverId: task.award?.solverId ?? '', milestoneIndex: index, assignmentId: '', openedBy: dispute.openedBy, amount: work.amount }],
  };
}

export function openMilestoneDispute(task: Task, callerId: string, index: number, disputeId: string, reason: string, now: Date): Decided {
  const openedBy = task.ownerId === callerId ? 'owner' : 'solver';
  const current = workOf(task, callerId, index, 'either').work;
  if (current.state === 'disputed' && current.dispute?.disputeId === disputeId) return { task, events: [] };
  const work = openWorkDispute(current, { disputeId, openedBy, reason: checkText('reason', reason, 2_000, true) }, now);
  return {
    task: withWork(task, index, work),
    events: [{ type: 'DisputeOpened', occurredAt: now, disputeId, taskId: task.id, ownerId: task.ownerId, solverId: task.award?.solverId ?? '', milestoneIndex: index, assignmentId: '', openedBy, amount: work.amount }],
  };
}

export function resolveMilestoneDispute(task: Task, index: number, resolution: { solverShareBps: number; arbiterId: string }, policy: TaskPolicy, now: Date): Decided {
  checkImpartial(resolution.arbiterId, { ownerId: task.ownerId, solverId: task.award?.solverId });
  const before = milestoneAt(task, index).work;
  const work = resolveWorkDispute(before, resolution, policy.feeBps, now);
  if (work === before) return { task, events: [] };
  const settlement = work.settlement!;
  const event: TaskEvent = {
    type: 'DisputeResolved',
    occurredAt: now,
    disputeId: work.dispute!.disputeId,
    taskId: task.id,
    ownerId: task.ownerId,
    solverId: task.award?.solverId ?? '',
    milestoneIndex: index,
    assignmentId: '',
    solverShareBps: resolution.solverShareBps,
    solverPaid: settlement.solverPaid,
    ownerRefunded: settlement.ownerRefunded,
    arbiterId: resolution.arbiterId,
  };
  return completeIfSettled(withWork(task, index, work), [event], now);
}

/** A bidding task whose every milestone is settled is completed, with the totals of where its money went. */
function completeIfSettled(task: Task, events: TaskEvent[], now: Date): Decided {
  if (task.state !== 'awarded' || !task.milestones.every((milestone) => isSettled(milestone.work))) return { task, events };
  const currency = task.budget.currency;
  let paid = zero(currency);
  let fees = zero(currency);
  let refunded = zero(currency);
  for (const { work } of task.milestones) {
    paid = add(paid, work.settlement!.solverPaid);
    fees = add(fees, work.settlement!.fee);
    refunded = add(refunded, work.settlement!.ownerRefunded);
  }
  return { task: { ...task, state: 'completed' }, events: [...events, { type: 'TaskCompleted', occurredAt: now, taskId: task.id, ownerId: task.ownerId, paid, fees, refunded }] };
}

/**
 * The owner cancels. Before award (or before any contest submission) everything funded returns;
 * after award the milestones never handed in return, and handed-in ones must be decided first.
 * A dispatch task returns its unclaimed slots (`slotsAvailable`, read after the task stopped taking
 * claims); slots that come back later from expired leases return one by one.
 */
/**
 * The one write after which an open contest takes no entry (entries are guarded on it) or an open
 * dispatch task no claim (claims and slot returns likewise): a count read after it is final, so a
 * cancellation, a deadline or the contest rule decides on it. Anything else is left as it is.
 */
export function stopTaking(task: Task): Decided {
  if (task.state !== 'open') return { task, events: [] };
  if (task.mode === 'contest' && !task.entriesStopped) return { task: { ...task, entriesStopped: true }, events: [] };
  if (task.mode === 'dispatch' && !task.claimsStopped) return { task: { ...task, claimsStopped: true }, events: [] };
  return { task, events: [] };
}

/**
 * A cancellation refused because the contest has entries gives entries back to a contest that is
 * still open and before its deadline (after it, the contest takes none anyway).
 */
export function reopenEntries(task: Task, now: Date): Decided {
  if (task.state !== 'open' || task.mode !== 'contest' || !task.entriesStopped || now.getTime() >= task.deadline.getTime()) return { task, events: [] };
  const { entriesStopped: _stopped, ...reopened } = task;
  return { task: reopened, events: [] };
}

export function cancelTask(task: Task, callerId: string, context: { submissionsCount: number; slotsAvailable: number }, now: Date): Decided {
  requireOwner(task, callerId);
  if (task.state === 'cancelled') return { task, events: [] };
  requireState(task, ['open', 'awarded'], 'cancel');
  const currency = task.budget.currency;
  if (task.state === 'awarded') {
    const milestones = task.milestones.map((milestone) => ({ ...milestone, work: refundWork(milestone.work, now) }));
    let refunded = zero(currency);
    task.milestones.forEach((milestone, index) => {
      if (milestone.work.state !== 'refunded' && milestones[index]!.work.state === 'refunded') refunded = add(refunded, milestone.work.amount);
    });
    const cancelled: Task = { ...task, milestones, state: 'cancelled', cancellation: { at: now, stage: 'awarded', refunded } };
    return { task: cancelled, events: [{ type: 'TaskCancelled', occurredAt: now, taskId: task.id, ownerId: task.ownerId, stage: 'awarded', refunded }] };
  }
  if (task.mode === 'contest' && context.submissionsCount > 0) {
    throw new DomainError('INVALID_STATE', 'a contest with submissions cannot be cancelled; name the winners', { state: task.state });
  }
  const refunded = task.mode === 'contest' ? task.funded : task.mode === 'dispatch' ? money(currency, task.perSlot!.amountMinor * BigInt(context.slotsAvailable)) : zero(currency);
  return {
    task: { ...task, state: 'cancelled', cancellation: { at: now, stage: 'open', refunded } },
    events: [{ type: 'TaskCancelled', occurredAt: now, taskId: task.id, ownerId: task.ownerId, stage: 'open', refunded }],
  };
}

/** The owner names the winners of a contest: the pool is split by their shares, each share less the fee. */
export function nameWinners(task: Task, callerId: string, winners: readonly { submissionId: string; solverId: string; shareBps: number }[], policy: TaskPolicy, now: Date): Decided {
  requireOwner(task, callerId);
  requireMode(task, 'contest', 'name winners');
  if (task.state === 'completed' && task.winners) {
    // Decided (by the owner or by rule): the same list is that decision, any other is contrary to it.
    const recorded = winnersText(task.winners);
    if (winnersText(winners) === recorded) return { task, events: [] };
    throw new DomainError('ALREADY_DECIDED', `the winners of task ${task.id} were already named`, { decision: 'winners', winners: recorded });
  }
  requireState(task, ['open'], 'name winners of');
  if (winners.length === 0) invalid('winners', 'name at least one winner');
  if (winners.length > winnersPerContestMax) tooMany('winners', winnersPerContestMax);
  if (new Set(winners.map((winner) => winner.submissionId)).size !== winners.length) invalid('winners', 'each submission wins once');
  if (winners.some((winner) => !Number.isInteger(winner.shareBps) || winner.shareBps < 1)) invalid('winners', 'each shareBps is a positive integer');
  if (winners.reduce((sum, winner) => sum + winner.shareBps, 0) !== 10_000) invalid('winners', 'shareBps must sum to 10000');
  const shares = splitMoney(task.funded, winners.map((winner) => BigInt(winner.shareBps)));
  const named: Winner[] = winners.map((winner, index) => ({ ...winner, ...payout(shares[index]!, policy.feeBps) }));
  return completeContest(task, named, now);
}

/** A winner list as one comparable text, `submission:shareBps` in submission order. */
function winnersText(winners: readonly { submissionId: string; shareBps: number }[]): string {
  return [...winners]
    .sort((first, second) => first.submissionId.localeCompare(second.submissionId))
    .map((winner) => `${winner.submissionId}:${winner.shareBps}`)
    .join(',');
}

/** A contest completed with its winners (named by the owner or by rule): what each is paid, the fees, the events. */
function completeContest(task: Task, named: readonly Winner[], now: Date): Decided {
  const currency = task.budget.currency;
  const paid = named.reduce((sum, winner) => add(sum, winner.solverPaid), zero(currency));
  const fees = named.reduce((sum, winner) => add(sum, winner.fee), zero(currency));
  return {
    task: { ...task, state: 'completed', winners: [...named] },
    events: [
      { type: 'ContestWinnersNamed', occurredAt: now, taskId: task.id, ownerId: task.ownerId, winners: named.map((winner) => ({ solverId: winner.solverId, submissionId: winner.submissionId, shareBps: winner.shareBps, paid: winner.solverPaid })) },
      { type: 'TaskCompleted', occurredAt: now, taskId: task.id, ownerId: task.ownerId, paid, fees, refunded: zero(currency) },
    ],
  };
}

/**
 * A contest whose owner named no winners within the decision window after its deadline: the prize
 * is split equally among the entries by the one split function (each share less the fee), or, with
 * no entries, refunded to the owner. `entries` is read after entries stopped, so it is final.
 */
export function decideContestByRule(task: Task, entries: readonly { submissionId: string; solverId: string }[], policy: TaskPolicy, now: Date): Decided {
  if (task.mode !== 'contest' || task.state !== 'open' || now.getTime() < task.deadline.getTime() + policy.contestDecisionMs) return { task, events: [] };
  const currency = task.budget.currency;
  if (entries.length === 0) return { task: { ...task, state: 'closed', closure: { at: now, refunded: task.funded } }, events: [] };
  const equal = entries.map(() => 1n);
  const shares = splitMoney(task.funded, equal);
  const sharesBps = splitMoney(money(currency, 10_000n), equal);
  const named: Winner[] = entries.map((entry, index) => ({ ...entry, shareBps: Number(sharesBps[index]!.amountMinor), ...payout(shares[index]!, policy.feeBps) }));
  return completeContest(task, named, now);
}

/** A bidding task past its deadline with no award closes (nothing was funded, nothing moves). */
export function closeBiddingAtDeadline(task: Task, now: Date): Decided {
  if (task.mode !== 'bidding' || task.state !== 'open' || now.getTime() < task.deadline.getTime()) return { task, events: [] };
  return { task: { ...task, state: 'closed', closure: { at: now, refunded: zero(task.budget.currency) } }, events: [] };
}

/**
 * A dispatch task's deadline passed: it takes no more claims and the unclaimed slots return to the
 * owner (`slotsAvailable` read after claims stopped, as for a cancellation). Assignments already
 * claimed go on; a lease that expires later refunds its slot. Anything else is left as it is.
 */
export function closeAtDeadline(task: Task, context: { slotsAvailable: number }, now: Date): Decided {
  if (task.mode !== 'dispatch' || task.state !== 'open' || now.getTime() < task.deadline.getTime()) return { task, events: [] };
  const refunded = money(task.budget.currency, task.perSlot!.amountMinor * BigInt(context.slotsAvailable));
  return { task: { ...task, state: 'closed', closure: { at: now, refunded } }, events: [] };
}
