/**
 * The public JSON of tasks, bids, assignments, contest submissions and disputes (docs/task-dispatch.md, /openapi.json),
 * as zod schemas that validate requests, document answers and type the handlers, and the functions
 * that build them from task-dispatch's gRPC messages. Amounts leave as decimal strings, times as
 * RFC 3339 UTC. The request schemas carry task-dispatch's field limits
 * (services/task-dispatch/src/domain/limits.ts); rules between fields and against stored state
 * (milestones summing to the budget, slots dividing it, the deadline's distance) are refused there.
 */
import type { taskDispatchV1 } from '@sizhong/proto';
import { instantField, integerParameter, textField } from '../http/fields';
import { pathIdLengthMax } from '../http/limits';
import { moneyJson, moneySchema, positiveMoneySchemaUpTo } from '../http/money';
import { pageQuerySchema, pageSchema } from '../http/paging';
import { skillSchema } from '../identity/skills';
import { z } from '../openapi/zod';

export const taskLimits = {
  titleLengthMax: 120,
  descriptionLengthMax: 10_000,
  skillsPerTaskMax: 20,
  milestonesPerTaskMax: 10,
  slotsPerTaskMax: 10_000,
  winnersPerContestMax: 20,
  proposalLengthMax: 5_000,
  noteLengthMax: 2_000,
  reasonLengthMax: 2_000,
  urlLengthMax: 2_000,
  etaDaysMax: 3_650,
  amountMinorMax: 1_000_000_000_000n,
} as const;

export const taskKinds = ['rnd', 'service', 'operations'] as const;
export const taskModes = ['bidding', 'contest', 'dispatch'] as const;
export const taskStates = ['funding', 'refused', 'open', 'awarding', 'awarded', 'completed', 'cancelled', 'closed'] as const;
export const workStates = ['pending', 'submitted', 'rejected', 'accepted', 'disputed', 'resolved', 'refunded'] as const;

const idSchema = (what: string) => z.string().min(1).max(pathIdLengthMax).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only').describe(`opaque ${what} id`);

export const taskParamsSchema = z.object({ id: idSchema('task') });
export const assignmentParamsSchema = z.object({ id: idSchema('assignment') });
export const disputeParamsSchema = z.object({ id: idSchema('dispute') });
export const milestoneParamsSchema = z.object({
  id: idSchema('task'),
  n: integerParameter({ minimum: 0, maximum: taskLimits.milestonesPerTaskMax - 1 }).describe("the milestone's index, from 0"),
});

export const taskListQuerySchema = pageQuerySchema(idSchema('task')).extend({
  state: z.enum(taskStates).optional().describe('only tasks in this state; without it, every posted state (tasks still funding or refused appear only in their owner\'s `mine` list)'),
  kind: z.enum(taskKinds).optional(),
  mode: z.enum(taskModes).optional(),
  skill: skillSchema.optional().describe('only tasks listing this skill'),
  mine: z.enum(['true', 'false']).optional().transform((value) => value === 'true').describe("`true`: only the caller's own tasks"),
});
export const idPageQuerySchema = pageQuerySchema(idSchema('assignment'));

const taskMoneySchema = positiveMoneySchemaUpTo(taskLimits.amountMinorMax, 'TaskMoney');
const titleSchema = textField({ lengthMax: taskLimits.titleLengthMax, trimmed: true }).describe(`1 to ${taskLimits.titleLengthMax} characters, not only whitespace`);
const urlSchema = z.string().max(taskLimits.urlLengthMax).regex(/^https?:\/\/\S+$/, 'an http(s) URL').describe('where the deliverable is, an http(s) URL');
const noteSchema = textField({ lengthMax: taskLimits.noteLengthMax }).describe(`at most ${taskLimits.noteLengthMax} characters`);
const reasonSchema = textField({ lengthMax: taskLimits.reasonLengthMax, trimmed: true }).describe(`1 to ${taskLimits.reasonLengthMax} characters`);

export const postTaskRequestSchema = z
  .object({
    title: titleSchema,
    description: textField({ lengthMax: taskLimits.descriptionLengthMax }).describe(`at most ${taskLimits.descriptionLengthMax} characters`),
    kind: z.enum(taskKinds).describe('`rnd`: R&D and creative work; `service`: professional services; `operations`: standardised operations work'),
    mode: z.enum(taskModes).describe('`bidding`: solvers bid, the owner awards one; `contest`: the prize pool is funded now and split among winners; `dispatch`: `slots` identical assignments, funded now'),
    budget: taskMoneySchema.describe('bidding: the most a bid may ask; contest: the prize pool; dispatch: slots × the pay of one assignment'),
    skills: z.array(skillSchema).max(taskLimits.skillsPerTaskMax).describe('dispatch claims need all of them'),
    deadline: instantField.describe('at least DEADLINE_MIN_MS (a day) from now; work handed in later is marked late'),
    milestones: z
      .array(z.object({ title: titleSchema, amount: taskMoneySchema }).openapi('TaskMilestoneInput'))
      .max(taskLimits.milestonesPerTaskMax)
      .optional()
      .describe('bidding only (at least one), summing to the budget; omitted for contests and dispatch'),
    minCreditScore: z.number().int().min(350).max(950).optional().describe('solvers below this credit score are refused (CREDIT_TOO_LOW)'),
    slots: z.number().int().min(1).max(taskLimits.slotsPerTaskMax).optional().describe('dispatch only: the number of assignments; must divide the budget exactly'),
  })
  .openapi('PostTaskRequest');

export const placeBidRequestSchema = z
  .object({
    price: taskMoneySchema.describe("in the task's currency, at most its budget"),
    etaDays: z.number().int().min(1).max(taskLimits.etaDaysMax),
    proposal: textField({ lengthMax: taskLimits.proposalLengthMax, trimmed: true }),
  })
  .openapi('PlaceBidRequest');
export const awardRequestSchema = z.object({ bidId: idSchema('bid') }).openapi('AwardTaskRequest');
export const submitWorkRequestSchema = z.object({ deliverableUrl: urlSchema, note: noteSchema.optional() }).openapi('SubmitWorkRequest');
export const rejectWorkRequestSchema = z.object({ reason: reasonSchema }).openapi('RejectWorkRequest');
export const winnersRequestSchema = z
  .object({
    winners: z
      .array(z.object({ submissionId: idSchema('submission'), shareBps: z.number().int().min(1).max(10_000) }).openapi('WinnerInput'))
      .min(1)
      .max(taskLimits.winnersPerContestMax)
      .describe('shares sum to 10000'),
  })
  .openapi('NameWinnersRequest');
export const openDisputeRequestSchema = z
  .union([
    z.object({ assignmentId: idSchema('assignment').describe('the disputed assignment of a dispatch task'), reason: reasonSchema }).openapi('OpenAssignmentDisputeRequest'),
    z.object({ milestone: z.number().int().min(0).max(taskLimits.milestonesPerTaskMax - 1).describe('the disputed milestone of a bidding task'), reason: reasonSchema }).openapi('OpenMilestoneDisputeRequest'),
  ])
  .describe('names the disputed work: `milestone` (bidding) or `assignmentId` (dispatch); with both, the assignment');
export const resolveDisputeRequestSchema = z.object({ solverShareBps: z.number().int().min(0).max(10_000).describe("the solver's share of the disputed amount; the rest returns to the owner") }).openapi('ResolveDisputeRequest');

const instantOut = z.iso.datetime().describe('RFC 3339, UTC');
const settlementSchema = z
  .object({ by: z.enum(['owner', 'silence', 'arbiter', 'cancellation']), solverPaid: moneySchema, fee: moneySchema, ownerRefunded: moneySchema, settledAt: instantOut })
  .openapi('WorkSettlement');
const workFields = {
  amount: moneySchema,
  state: z.enum(workStates),
  dueAt: instantOut,
  submission: z
    .object({
      deliverableUrl: z.string().optional().describe('to the owner, the solver, arbiters, admins and regulators only'),
      note: z.string().optional().describe('to the owner, the solver, arbiters, admins and regulators only'),
      submittedAt: instantOut,
      number: z.number().int(),
      onTime: z.boolean(),
    })
    .nullable(),
  rejections: z.number().int(),
  lastRejectionReason: z.string().nullable().describe('null when there is none, and to anyone but the owner, the solver, arbiters, admins and regulators'),
  disputeId: z.string().nullable(),
  settlement: settlementSchema.optional().describe('absent until the work is settled'),
  autoAcceptAt: instantOut.nullable().describe('when silence accepts the waiting submission'),
};

export const taskSchema = z
  .object({
    id: z.string(),
    ownerId: z.string(),
    title: z.string(),
    description: z.string(),
    kind: z.enum(taskKinds),
    mode: z.enum(taskModes),
    state: z.enum(taskStates),
    budget: moneySchema,
    skills: z.array(z.string()),
    deadline: instantOut,
    minCreditScore: z.number().int().nullable(),
    slots: z.number().int(),
    slotsAvailable: z.number().int(),
    perSlot: moneySchema.optional().describe('dispatch only: the pay of one assignment'),
    milestones: z.array(z.object({ index: z.number().int(), title: z.string(), ...workFields }).openapi('TaskMilestone')),
    postedAt: instantOut,
    funded: moneySchema.describe("what has moved into the task's escrow account"),
    awardedBidId: z.string().nullable(),
    solverId: z.string().nullable(),
    winners: z.array(z.object({ submissionId: z.string(), solverId: z.string(), shareBps: z.number().int(), solverPaid: moneySchema, fee: moneySchema })),
    refundedAtCancellation: moneySchema.optional().describe('present once cancelled'),
    refundedAtClose: moneySchema.optional().describe('dispatch: the unclaimed slots returned when the deadline closed the task'),
    bidsCount: z.number().int(),
    submissionsCount: z.number().int(),
    escrowAccountId: z.string(),
  })
  .openapi('Task');
export const taskPageSchema = pageSchema(taskSchema).openapi('TaskPage');

export const bidSchema = z
  .object({ bidId: z.string(), taskId: z.string(), solverId: z.string(), price: moneySchema, etaDays: z.number().int(), proposal: z.string(), state: z.enum(['open', 'awarded', 'declined']), placedAt: instantOut })
  .openapi('Bid');
export const bidPageSchema = pageSchema(bidSchema).openapi('BidPage');

export const assignmentSchema = z
  .object({ assignmentId: z.string(), taskId: z.string(), ownerId: z.string(), solverId: z.string(), claimedAt: instantOut, leaseExpiresAt: instantOut, lease: z.enum(['held', 'expired']), ...workFields })
  .openapi('Assignment');
export const assignmentPageSchema = pageSchema(assignmentSchema).openapi('AssignmentPage');

export const submissionSchema = z
  .object({ submissionId: z.string(), taskId: z.string(), solverId: z.string(), deliverableUrl: z.string(), note: z.string(), submittedAt: instantOut })
  .openapi('ContestSubmission');
export const submissionPageSchema = pageSchema(submissionSchema).openapi('ContestSubmissionPage');

export const disputeSchema = z
  .object({
    disputeId: z.string(),
    taskId: z.string(),
    milestone: z.number().int().nullable(),
    assignmentId: z.string().nullable(),
    ownerId: z.string(),
    solverId: z.string(),
    openedBy: z.enum(['owner', 'solver']),
    reason: z.string(),
    state: z.enum(['open', 'resolved']),
    amount: moneySchema,
    solverShareBps: z.number().int().nullable(),
    settlement: settlementSchema.optional().describe('present once resolved'),
    openedAt: instantOut,
  })
  .openapi('Dispute');

const iso = (value: Date | undefined) => (value ?? new Date(0)).toISOString();
const orNull = (value: string) => (value === '' ? null : value);

function workView(work: taskDispatchV1.Work | undefined) {
  const submission = work?.submission;
  const settlement = work?.settlement;
  return {
    amount: moneyJson(work?.amount),
    state: (work?.state ?? 'pending') as (typeof workStates)[number],
    dueAt: iso(work?.dueAt),
    // A submission without its deliverable was withheld by task-dispatch (`readsWorkOf`): its note goes with it.
    submission: submission
      ? { ...(submission.deliverableUrl === '' ? {} : { deliverableUrl: submission.deliverableUrl, note: submission.note }), submittedAt: iso(submission.submittedAt), number: submission.number, onTime: submission.onTime }
      : null,
    rejections: work?.rejections ?? 0,
    lastRejectionReason: orNull(work?.lastRejectionReason ?? ''),
    disputeId: orNull(work?.disputeId ?? ''),
    ...(settlement ? { settlement: settlementView(settlement) } : {}),
    autoAcceptAt: work?.autoAcceptAt ? iso(work.autoAcceptAt) : null,
  };
}

function settlementView(settlement: taskDispatchV1.Settlement) {
  return {
    by: settlement.by as 'owner' | 'silence' | 'arbiter' | 'cancellation',
    solverPaid: moneyJson(settlement.solverPaid),
    fee: moneyJson(settlement.fee),
    ownerRefunded: moneyJson(settlement.ownerRefunded),
    settledAt: iso(settlement.settledAt),
  };
}

export function taskView(task: taskDispatchV1.Task): z.input<typeof taskSchema> {
  return {
    id: task.id,
    ownerId: task.ownerId,
    title: task.title,
    description: task.description,
    kind: task.kind as (typeof taskKinds)[number],
    mode: task.mode as (typeof taskModes)[number],
    state: task.state as (typeof taskStates)[number],
    budget: moneyJson(task.budget),
    skills: task.skills,
    deadline: iso(task.deadline),
    minCreditScore: task.minCreditScore ?? null,
    slots: task.slots,
    slotsAvailable: task.slotsAvailable,
    ...(task.perSlot ? { perSlot: moneyJson(task.perSlot) } : {}),
    milestones: task.milestones.map((milestone) => ({ index: milestone.index, title: milestone.title, ...workView(milestone.work) })),
    postedAt: iso(task.postedAt),
    funded: moneyJson(task.funded),
    awardedBidId: orNull(task.awardedBidId),
    solverId: orNull(task.solverId),
    winners: task.winners.map((winner) => ({ submissionId: winner.submissionId, solverId: winner.solverId, shareBps: winner.shareBps, solverPaid: moneyJson(winner.solverPaid), fee: moneyJson(winner.fee) })),
    ...(task.refundedAtCancellation ? { refundedAtCancellation: moneyJson(task.refundedAtCancellation) } : {}),
    ...(task.refundedAtClose ? { refundedAtClose: moneyJson(task.refundedAtClose) } : {}),
    bidsCount: task.bidsCount,
    submissionsCount: task.submissionsCount,
    escrowAccountId: task.escrowAccountId,
  };
}

export function bidView(bid: taskDispatchV1.Bid): z.input<typeof bidSchema> {
  return { bidId: bid.id, taskId: bid.taskId, solverId: bid.solverId, price: moneyJson(bid.price), etaDays: bid.etaDays, proposal: bid.proposal, state: bid.state as 'open' | 'awarded' | 'declined', placedAt: iso(bid.placedAt) };
}

export function assignmentView(assignment: taskDispatchV1.Assignment): z.input<typeof assignmentSchema> {
  return {
    assignmentId: assignment.id,
    taskId: assignment.taskId,
    ownerId: assignment.ownerId,
    solverId: assignment.solverId,
    claimedAt: iso(assignment.claimedAt),
    leaseExpiresAt: iso(assignment.leaseExpiresAt),
    lease: assignment.lease as 'held' | 'expired',
    ...workView(assignment.work),
  };
}

export function submissionView(submission: taskDispatchV1.ContestSubmission): z.input<typeof submissionSchema> {
  return { submissionId: submission.id, taskId: submission.taskId, solverId: submission.solverId, deliverableUrl: submission.deliverableUrl, note: submission.note, submittedAt: iso(submission.submittedAt) };
}

export function disputeView(dispute: taskDispatchV1.Dispute): z.input<typeof disputeSchema> {
  return {
    disputeId: dispute.id,
    taskId: dispute.taskId,
    milestone: dispute.assignmentId ? null : dispute.milestoneIndex,
    assignmentId: orNull(dispute.assignmentId),
    ownerId: dispute.ownerId,
    solverId: dispute.solverId,
    openedBy: (dispute.openedBy || 'owner') as 'owner' | 'solver',
    reason: dispute.reason,
    state: dispute.state as 'open' | 'resolved',
    amount: moneyJson(dispute.amount),
    solverShareBps: dispute.solverShareBps ?? null,
    ...(dispute.settlement ? { settlement: settlementView(dispute.settlement) } : {}),
    openedAt: iso(dispute.openedAt),
  };
}
