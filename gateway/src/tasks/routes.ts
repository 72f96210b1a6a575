/**
 * Task routes (docs/task-dispatch.md, /openapi.json). Each handler decodes, makes one gRPC call to task-dispatch with the
 * caller's identity, and encodes; task-dispatch decides (ownership, eligibility, funds) and its
 * refusals reach the client through the one error table. Anything not the caller's to see is 404.
 * Without TASK_DISPATCH_GRPC_ADDRESS they answer 503 UNAVAILABLE.
 *
 * Idempotency-Key: required on posting (it names the task and may fund it), on awards and on
 * naming contest winners (money moves); honoured when sent elsewhere (claims use it to name the
 * assignment). Accepting, resolving and cancelling are idempotent by their nature as well.
 */
import { DomainError } from '@sizhong/kit';
import type { taskDispatchV1 } from '@sizhong/proto';
import { moneyMessage } from '../http/money';
import type { SkillStore } from '../identity/skills';
import type { RouteRegistrar } from '../openapi/route';
import type { TaskConnection } from './task-connection';
import {
  assignmentPageSchema,
  assignmentParamsSchema,
  assignmentSchema,
  assignmentView,
  awardRequestSchema,
  bidPageSchema,
  bidSchema,
  bidView,
  disputeParamsSchema,
  disputeSchema,
  disputeView,
  idPageQuerySchema,
  milestoneParamsSchema,
  openDisputeRequestSchema,
  placeBidRequestSchema,
  postTaskRequestSchema,
  rejectWorkRequestSchema,
  resolveDisputeRequestSchema,
  submissionPageSchema,
  submissionSchema,
  submissionView,
  submitWorkRequestSchema,
  taskListQuerySchema,
  taskPageSchema,
  taskParamsSchema,
  taskSchema,
  taskView,
  winnersRequestSchema,
} from './task-views';
import { sameNotFound } from '../downstream/same-not-found';

/** Commands that move money or race on a hot task wait longer than reads. */
export const taskWriteDeadlineMs = 30_000;

const downstreamProblems = {
  503: 'The task-dispatch service (or escrow, or credit) is unavailable, or this gateway is not connected to it (UNAVAILABLE).',
  504: 'The task-dispatch service did not answer in time (DEADLINE_EXCEEDED).',
} as const;
const unknownTask = 'No task has this id, or it is still being funded by another enterprise (NOT_FOUND).';

const taskLinks = {
  get: { operationId: 'getTask', description: 'The task.', parameters: { id: '$response.body#/id' } },
  bids: { operationId: 'listTaskBids', description: 'Its bids (its owner; a bidder sees their own).', parameters: { id: '$response.body#/id' } },
  cancel: { operationId: 'cancelTask', description: 'Its owner cancels it.', parameters: { id: '$response.body#/id' } },
} as const;

function workResultTask(result: taskDispatchV1.WorkResult): taskDispatchV1.Task {
  if (result.result?.$case !== 'task') throw new DomainError('INTERNAL', 'task-dispatch answered without the task');
  return result.result.value;
}

function workResultAssignment(result: taskDispatchV1.WorkResult): taskDispatchV1.Assignment {
  if (result.result?.$case !== 'assignment') throw new DomainError('INTERNAL', 'task-dispatch answered without the assignment');
  return result.result.value;
}

const cursorOf = (next: string | undefined) => (next ? next : null);

export function registerTaskRoutes(routes: RouteRegistrar, connection: TaskConnection, skills: SkillStore): void {
  const tasks = () => connection.clients('task operations').tasks;
  const deadlineMs = taskWriteDeadlineMs;

  routes.define(
    {
      method: 'post',
      path: '/v1/tasks',
      operationId: 'postTask',
      summary: 'Post a task owned by the caller',
      description:
        'Bidding tasks open at once. Contests and dispatch tasks are funded from the caller\'s wallet first (the whole budget moves into the task\'s escrow account): 422 INSUFFICIENT_FUNDS when the wallet lacks it. ' +
        'The Idempotency-Key names the task, so a retry posts and funds once.\n\nRules the schema cannot state (400 with `field`): bidding milestones sum to the budget; contests and dispatch tasks have no milestones; dispatch `slots` divide the budget exactly; the deadline is at least DEADLINE_MIN_MS away; milestones in the budget\'s currency (CURRENCY_MISMATCH).',
      tags: ['tasks'],
      access: ['enterprise'],
      idempotency: 'required',
      request: { body: postTaskRequestSchema },
      responses: { 201: { description: 'The task (state `open`).', schema: taskSchema, links: taskLinks } },
      problems: { 400: 'A rule between fields refused a field (INVALID_ARGUMENT, LIMIT_EXCEEDED, CURRENCY_MISMATCH).', 422: 'The wallet lacks the budget (INSUFFICIENT_FUNDS).', ...downstreamProblems },
    },
    async ({ body }, { identity, signal, idempotencyKey }) => {
      const task = await tasks().postTask(
        {
          idempotencyKey,
          title: body.title,
          description: body.description,
          kind: body.kind,
          mode: body.mode,
          budget: moneyMessage(body.budget),
          skills: body.skills,
          deadline: new Date(body.deadline),
          milestones: (body.milestones ?? []).map((milestone) => ({ title: milestone.title, amount: moneyMessage(milestone.amount) })),
          ...(body.minCreditScore === undefined ? {} : { minCreditScore: body.minCreditScore }),
          slots: body.slots ?? 0,
        },
        { identity, signal, deadlineMs },
      );
      return { status: 201, body: taskView(task) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/tasks',
      operationId: 'listTasks',
      summary: 'List tasks',
      description: 'In id order, filtered by state, kind, mode and skill; `mine=true` lists only the caller\'s own (including those still funding).',
      tags: ['tasks'],
      access: 'authenticated',
      request: { query: taskListQuerySchema },
      responses: { 200: { description: 'A page of tasks.', schema: taskPageSchema } },
      problems: downstreamProblems,
    },
    async ({ query }, { identity, signal }) => {
      const found = await tasks().listTasks(
        { state: query.state ?? '', kind: query.kind ?? '', mode: query.mode ?? '', skill: query.skill ?? '', mine: query.mine, page: { limit: query.limit, cursor: query.cursor ?? '' } },
        { identity, signal },
      );
      return { status: 200, body: { items: found.tasks.map(taskView), nextCursor: cursorOf(found.page?.nextCursor) } };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/tasks/{id}',
      operationId: 'getTask',
      summary: 'One task',
      tags: ['tasks'],
      access: 'authenticated',
      request: { params: taskParamsSchema },
      responses: { 200: { description: 'The task.', schema: taskSchema, links: { bids: taskLinks.bids, cancel: taskLinks.cancel } } },
      problems: { 404: unknownTask, ...downstreamProblems },
    },
    async ({ params }, { identity, signal }) => ({ status: 200, body: taskView(await sameNotFound(tasks().getTask({ taskId: params.id }, { identity, signal }), `task ${params.id} not found`)) }),
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/tasks/{id}/bids',
      operationId: 'placeBid',
      summary: 'Bid on an open bidding task (one bid per solver)',
      tags: ['tasks'],
      access: ['solver'],
      request: { params: taskParamsSchema, body: placeBidRequestSchema },
      responses: { 201: { description: 'The bid.', schema: bidSchema } },
      problems: {
        400: "The price is above the budget or in another currency (INVALID_ARGUMENT, CURRENCY_MISMATCH).",
        404: unknownTask,
        409: 'The caller already bid on this task (ALREADY_EXISTS).',
        422: 'The task is not an open bidding task (INVALID_STATE), the caller\'s credit score is below its minimum (CREDIT_TOO_LOW), or it has the most bids a task takes (LIMIT_EXCEEDED is 400).',
        ...downstreamProblems,
      },
    },
    async ({ params, body }, { identity, signal }) => {
      const bid = await tasks().placeBid({ taskId: params.id, price: moneyMessage(body.price), etaDays: body.etaDays, proposal: body.proposal }, { identity, signal, deadlineMs });
      return { status: 201, body: bidView(bid) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/tasks/{id}/bids',
      operationId: 'listTaskBids',
      summary: "A task's bids: every bid for its owner, their own for a bidder",
      description: 'Anyone else gets 404, as if the task had no bid list.',
      tags: ['tasks'],
      access: 'authenticated',
      request: { params: taskParamsSchema },
      responses: { 200: { description: 'The bids the caller may see.', schema: bidPageSchema } },
      problems: { 404: `${unknownTask} Or the caller is neither its owner nor a bidder.`, ...downstreamProblems },
    },
    async ({ params }, { identity, signal }) => {
      const found = await sameNotFound(tasks().listBids({ taskId: params.id }, { identity, signal }), `task ${params.id} has no bids for you`);
      return { status: 200, body: { items: found.bids.map(bidView), nextCursor: null } };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/tasks/{id}/award',
      operationId: 'awardTask',
      summary: "Award a bid: its price moves from the owner's wallet into the task's escrow",
      description: 'Milestones are rescaled to the bid\'s price (in proportion, through the one split function). The Idempotency-Key names the funding transfer: a retry funds once; after INSUFFICIENT_FUNDS the task stays open and a new key may try again.',
      tags: ['tasks'],
      access: ['enterprise'],
      idempotency: 'required',
      request: { params: taskParamsSchema, body: awardRequestSchema },
      responses: { 200: { description: 'The awarded task.', schema: taskSchema, links: { get: taskLinks.get } } },
      problems: { 404: `${unknownTask} Or the bid is not one of this task's.`, 409: 'Another award of this task is being funded (CONCURRENT_MODIFICATION: try again), or the task was awarded to another bid (ALREADY_DECIDED, the problem member `awardedBidId`); the same bid again is answered 200.', 422: 'The wallet lacks the price (INSUFFICIENT_FUNDS), or the task is not open (INVALID_STATE).', ...downstreamProblems },
    },
    async ({ params, body }, { identity, signal, idempotencyKey }) => ({
      status: 200,
      body: taskView(await sameNotFound(tasks().awardTask({ taskId: params.id, bidId: body.bidId, idempotencyKey }, { identity, signal, deadlineMs }), `task ${params.id} or its bid not found`)),
    }),
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/tasks/{id}/claims',
      operationId: 'claimAssignment',
      summary: 'Claim one assignment of a dispatch task under a lease',
      description:
        'Needs every skill the task lists (PUT /v1/me/skills) and its minimum credit score. A solver holds at most 5 open assignments. The lease ends at `leaseExpiresAt`: an assignment not handed in by then expires and its slot returns to the pool. With an Idempotency-Key, a retry returns the same claim.',
      tags: ['tasks'],
      access: ['solver'],
      request: { params: taskParamsSchema },
      responses: { 201: { description: 'The assignment.', schema: assignmentSchema } },
      problems: {
        400: 'The caller holds the most open assignments allowed (LIMIT_EXCEEDED).',
        403: 'The caller lacks a skill the task lists (PERMISSION_DENIED).',
        404: unknownTask,
        422: 'Every slot is taken (NO_SLOT_AVAILABLE), the credit score is below the minimum (CREDIT_TOO_LOW), or the task takes no claims (INVALID_STATE).',
        ...downstreamProblems,
      },
    },
    async ({ params }, { identity, signal, idempotencyKey }) => {
      const solverSkills = await skills.skillsOf(identity.participantId);
      const assignment = await tasks().claimAssignment({ taskId: params.id, idempotencyKey: idempotencyKey ?? '', solverSkills }, { identity, signal, deadlineMs });
      return { status: 201, body: assignmentView(assignment) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/tasks/{id}/assignments',
      operationId: 'listTaskAssignments',
      summary: "A dispatch task's assignments: all for its owner, their own for a solver",
      tags: ['tasks'],
      access: 'authenticated',
      request: { params: taskParamsSchema, query: idPageQuerySchema },
      responses: { 200: { description: 'A page of assignments.', schema: assignmentPageSchema } },
      problems: { 404: unknownTask, ...downstreamProblems },
    },
    async ({ params, query }, { identity, signal }) => {
      const found = await sameNotFound(tasks().listAssignments({ taskId: params.id, page: { limit: query.limit, cursor: query.cursor ?? '' } }, { identity, signal }), `task ${params.id} not found`);
      return { status: 200, body: { items: found.assignments.map(assignmentView), nextCursor: cursorOf(found.page?.nextCursor) } };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/assignments/{id}',
      operationId: 'getAssignment',
      summary: 'One assignment (its solver, the task owner)',
      tags: ['tasks'],
      access: 'authenticated',
      request: { params: assignmentParamsSchema },
      responses: { 200: { description: 'The assignment.', schema: assignmentSchema } },
      problems: { 404: 'No assignment has this id, or it is neither the caller\'s nor on the caller\'s task (NOT_FOUND).', ...downstreamProblems },
    },
    async ({ params }, { identity, signal }) => ({ status: 200, body: assignmentView(await sameNotFound(tasks().getAssignment({ assignmentId: params.id }, { identity, signal }), `assignment ${params.id} not found`)) }),
  );

  const assignmentWork = [
    { verb: 'submit', operationId: 'submitAssignment', summary: 'Hand in an assignment (its solver)', access: ['solver'] as const },
    { verb: 'accept', operationId: 'acceptAssignment', summary: 'Accept an assignment: its solver is paid less the platform fee (the task owner)', access: ['enterprise'] as const },
    { verb: 'reject', operationId: 'rejectAssignment', summary: 'Reject an assignment with a reason (the task owner; at most 3 resubmissions)', access: ['enterprise'] as const },
  ] as const;
  for (const spec of assignmentWork) {
    routes.define(
      {
        method: 'post',
        path: `/v1/assignments/{id}/${spec.verb}`,
        operationId: spec.operationId,
        summary: spec.summary,
        tags: ['tasks'],
        access: spec.access,
        request: { params: assignmentParamsSchema, ...(spec.verb === 'submit' ? { body: submitWorkRequestSchema } : spec.verb === 'reject' ? { body: rejectWorkRequestSchema } : {}) },
        responses: { 200: { description: 'The assignment.', schema: assignmentSchema } },
        problems: { 404: 'No assignment has this id that the caller may act on (NOT_FOUND).', 409: 'The work was already decided otherwise (ALREADY_DECIDED: the problem member `decision` names it — accepted, rejected, resolution, abandoned, refunded); the same decision again is answered 200.', 422: 'The work is not in a state for this (INVALID_STATE), e.g. its lease expired.', ...downstreamProblems },
      },
      async ({ params, body }, { identity, signal }) => {
        const work = { taskId: '', milestoneIndex: 0, assignmentId: params.id };
        const options = { identity, signal, deadlineMs };
        const input = (body ?? {}) as { deliverableUrl?: string; note?: string; reason?: string };
        const call =
          spec.verb === 'submit'
            ? tasks().submitWork({ work, deliverableUrl: input.deliverableUrl ?? '', note: input.note ?? '' }, options)
            : spec.verb === 'accept'
              ? tasks().acceptWork(work, options)
              : tasks().rejectWork({ work, reason: input.reason ?? '' }, options);
        return { status: 200, body: assignmentView(workResultAssignment(await sameNotFound(call, `assignment ${params.id} not found`))) };
      },
    );
  }

  const milestoneWork = [
    { verb: 'submit', operationId: 'submitMilestone', summary: 'Hand in a milestone (the awarded solver)', access: ['solver'] as const },
    { verb: 'accept', operationId: 'acceptMilestone', summary: 'Accept a milestone: the solver is paid less the platform fee (the owner)', access: ['enterprise'] as const },
    { verb: 'reject', operationId: 'rejectMilestone', summary: 'Reject a milestone with a reason (the owner; at most 3 resubmissions)', access: ['enterprise'] as const },
  ] as const;
  for (const spec of milestoneWork) {
    routes.define(
      {
        method: 'post',
        path: `/v1/tasks/{id}/milestones/{n}/${spec.verb}`,
        operationId: `${spec.operationId}OfTask`,
        summary: spec.summary,
        description: 'Silence for TASK_AUTO_ACCEPT_MS (14 days) after a submission accepts it.',
        tags: ['tasks'],
        access: spec.access,
        request: { params: milestoneParamsSchema, ...(spec.verb === 'submit' ? { body: submitWorkRequestSchema } : spec.verb === 'reject' ? { body: rejectWorkRequestSchema } : {}) },
        responses: { 200: { description: 'The task.', schema: taskSchema } },
        problems: {
          400: 'A further rejection after 3 resubmissions (LIMIT_EXCEEDED): accept or open a dispute.',
          404: `${unknownTask} Or the milestone is not the caller's to act on.`,
          409: 'The work was already decided otherwise (ALREADY_DECIDED: the problem member `decision` names it — accepted, rejected, resolution, abandoned, refunded); the same decision again is answered 200.',
          422: 'The task is not awarded, or the milestone is not in a state for this (INVALID_STATE).',
          ...downstreamProblems,
        },
      },
      async ({ params, body }, { identity, signal }) => {
        const work = { taskId: params.id, milestoneIndex: params.n, assignmentId: '' };
        const options = { identity, signal, deadlineMs };
        const input = (body ?? {}) as { deliverableUrl?: string; note?: string; reason?: string };
        const call =
          spec.verb === 'submit'
            ? tasks().submitWork({ work, deliverableUrl: input.deliverableUrl ?? '', note: input.note ?? '' }, options)
            : spec.verb === 'accept'
              ? tasks().acceptWork(work, options)
              : tasks().rejectWork({ work, reason: input.reason ?? '' }, options);
        return { status: 200, body: taskView(workResultTask(await sameNotFound(call, `task ${params.id} has no milestone ${params.n} of yours`))) };
      },
    );
  }

  routes.define(
    {
      method: 'post',
      path: '/v1/tasks/{id}/submissions',
      operationId: 'submitToContest',
      summary: 'Enter an open contest (one submission per solver)',
      tags: ['tasks'],
      access: ['solver'],
      request: { params: taskParamsSchema, body: submitWorkRequestSchema },
      responses: { 201: { description: 'The submission.', schema: submissionSchema } },
      problems: { 404: unknownTask, 409: 'The caller already entered (ALREADY_EXISTS).', 422: 'The task is not an open contest (INVALID_STATE), or the credit score is below its minimum (CREDIT_TOO_LOW).', ...downstreamProblems },
    },
    async ({ params, body }, { identity, signal }) => ({
      status: 201,
      body: submissionView(await tasks().submitToContest({ taskId: params.id, deliverableUrl: body.deliverableUrl, note: body.note ?? '' }, { identity, signal, deadlineMs })),
    }),
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/tasks/{id}/submissions',
      operationId: 'listContestSubmissions',
      summary: "A contest's submissions: all for its owner, their own for a solver",
      tags: ['tasks'],
      access: 'authenticated',
      request: { params: taskParamsSchema },
      responses: { 200: { description: 'The submissions the caller may see.', schema: submissionPageSchema } },
      problems: { 404: `${unknownTask} Or the caller is neither its owner nor an entrant.`, ...downstreamProblems },
    },
    async ({ params }, { identity, signal }) => {
      const found = await sameNotFound(tasks().listSubmissions({ taskId: params.id }, { identity, signal }), `task ${params.id} has no submissions for you`);
      return { status: 200, body: { items: found.submissions.map(submissionView), nextCursor: null } };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/tasks/{id}/winners',
      operationId: 'nameContestWinners',
      summary: 'Name the winners of a contest: the pool is split by their shares, each less the fee',
      tags: ['tasks'],
      access: ['enterprise'],
      idempotency: 'required',
      request: { params: taskParamsSchema, body: winnersRequestSchema },
      responses: { 200: { description: 'The completed task.', schema: taskSchema } },
      problems: {
        400: 'Shares do not sum to 10000, or a submission wins twice (INVALID_ARGUMENT).',
        404: `${unknownTask} Or a submission is not one of this contest.`,
        409: 'Other winners were already named, by the owner or by rule (ALREADY_DECIDED: the problem member `winners` is the recorded list, `submission:shareBps` comma-separated); the same list again is answered 200.',
        422: 'The task is not an open contest (INVALID_STATE).',
        ...downstreamProblems,
      },
    },
    async ({ params, body }, { identity, signal, idempotencyKey }) => ({
      status: 200,
      body: taskView(await sameNotFound(tasks().nameWinners({ taskId: params.id, winners: body.winners, idempotencyKey }, { identity, signal, deadlineMs }), `task ${params.id} not found`)),
    }),
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/tasks/{id}/disputes',
      operationId: 'openTaskDispute',
      summary: 'Dispute submitted work (its owner or solver): the work is frozen until an arbiter resolves it',
      tags: ['tasks'],
      access: ['enterprise', 'solver'],
      request: { params: taskParamsSchema, body: openDisputeRequestSchema },
      responses: { 201: { description: 'The dispute.', schema: disputeSchema, links: { get: { operationId: 'getDispute', description: 'The dispute.', parameters: { id: '$response.body#/disputeId' } } } } },
      problems: { 404: `${unknownTask} Or the work is not the caller's.`, 422: 'The work is not submitted (INVALID_STATE).', ...downstreamProblems },
    },
    async ({ params, body }, { identity, signal }) => {
      const work = 'assignmentId' in body ? { taskId: params.id, milestoneIndex: 0, assignmentId: body.assignmentId } : { taskId: params.id, milestoneIndex: body.milestone, assignmentId: '' };
      const dispute = await sameNotFound(tasks().openDispute({ work, reason: body.reason }, { identity, signal, deadlineMs }), `task ${params.id} has no such work of yours`);
      if (dispute.taskId !== params.id) throw new DomainError('NOT_FOUND', `task ${params.id} has no such work of yours`);
      return { status: 201, body: disputeView(dispute) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/disputes/{id}',
      operationId: 'getDispute',
      summary: 'One dispute (its parties, arbiters, regulators)',
      tags: ['tasks'],
      access: 'authenticated',
      request: { params: disputeParamsSchema },
      responses: { 200: { description: 'The dispute.', schema: disputeSchema } },
      problems: { 404: 'No dispute has this id that the caller may see (NOT_FOUND).', ...downstreamProblems },
    },
    async ({ params }, { identity, signal }) => ({ status: 200, body: disputeView(await sameNotFound(tasks().getDispute({ disputeId: params.id }, { identity, signal }), `dispute ${params.id} not found`)) }),
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/disputes/{id}/resolve',
      operationId: 'resolveDispute',
      summary: "Resolve a dispute with the solver's share in basis points (arbiter)",
      description: "The solver's share is paid less the platform fee; the rest returns to the owner. Resolving again with the same share answers the same dispute.",
      tags: ['tasks'],
      access: ['arbiter'],
      request: { params: disputeParamsSchema, body: resolveDisputeRequestSchema },
      responses: { 200: { description: 'The resolved dispute.', schema: disputeSchema } },
      problems: { 403: 'The caller is a party to the dispute — its task owner or solver (PERMISSION_DENIED, `reason: party_to_dispute`): another arbiter must resolve it.', 404: 'No dispute has this id (NOT_FOUND).', 409: 'It was resolved with another share (ALREADY_DECIDED, the problem member `solverShareBps`); the same share again is answered 200.', ...downstreamProblems },
    },
    async ({ params, body }, { identity, signal }) => ({
      status: 200,
      body: disputeView(await sameNotFound(tasks().resolveDispute({ disputeId: params.id, solverShareBps: body.solverShareBps }, { identity, signal, deadlineMs }), `dispute ${params.id} not found`)),
    }),
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/tasks/{id}/cancel',
      operationId: 'cancelTask',
      summary: 'Cancel a task (its owner): unspent escrow returns',
      description:
        'Before award (or before any contest submission) everything funded returns; after award the milestones never handed in return, and handed-in ones must be decided first. A dispatch task returns its unclaimed slots now, and the slots of leases that expire later as they do.',
      tags: ['tasks'],
      access: ['enterprise'],
      request: { params: taskParamsSchema },
      responses: { 200: { description: 'The cancelled task.', schema: taskSchema } },
      problems: { 404: unknownTask, 422: 'The task is finished, a contest has submissions, or handed-in work waits for a decision (INVALID_STATE).', ...downstreamProblems },
    },
    async ({ params }, { identity, signal }) => ({ status: 200, body: taskView(await sameNotFound(tasks().cancelTask({ taskId: params.id }, { identity, signal, deadlineMs }), `task ${params.id} not found`)) }),
  );
}
