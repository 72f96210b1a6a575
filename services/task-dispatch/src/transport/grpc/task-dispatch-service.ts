/** gRPC adapter of task-dispatch: decode, call one use case, encode. */
import { type CallerIdentity, DomainError, type ServiceHandlers } from '@sizhong/kit';
import type { taskDispatchV1 } from '@sizhong/proto';
import type { Dispatch } from '../../app/dispatch';
import type { Tasks } from '../../app/tasks';
import type { WorkFlows, WorkOutcome, WorkRef } from '../../app/work';
import { assignmentOut, bidOut, dateIn, disputeOut, idIn, keyIn, moneyIn, optionalKeyIn, submissionOut, taskOut } from './mapping';

export interface TaskDispatchUseCaseSet {
  readonly tasks: Tasks;
  readonly dispatch: Dispatch;
  readonly work: WorkFlows;
  readonly autoAcceptMs: number;
}

function workRefIn(ref: taskDispatchV1.WorkRef | undefined): WorkRef {
  if (!ref) throw new DomainError('INVALID_ARGUMENT', 'work is required', { field: 'work' });
  if (ref.assignmentId) return { assignmentId: idIn(ref.assignmentId, 'work.assignment_id') };
  return { taskId: idIn(ref.taskId, 'work.task_id'), milestoneIndex: ref.milestoneIndex };
}

export function taskDispatchServiceHandlers(useCases: TaskDispatchUseCaseSet): ServiceHandlers<typeof taskDispatchV1.TaskDispatchServiceService> {
  const { tasks, dispatch, work, autoAcceptMs } = useCases;
  const workOut = (outcome: WorkOutcome, reader: CallerIdentity | undefined): taskDispatchV1.WorkResult =>
    outcome.kind === 'task' ? { result: { $case: 'task', value: taskOut({ task: outcome.task, counters: {} }, autoAcceptMs, reader) } } : { result: { $case: 'assignment', value: assignmentOut(outcome.assignment, autoAcceptMs) } };
  return {
    postTask: async (request, { identity }) => {
      const view = await tasks.post(identity, keyIn(request.idempotencyKey), {
        title: request.title,
        description: request.description,
        kind: request.kind,
        mode: request.mode,
        budget: moneyIn(request.budget, 'budget'),
        skills: request.skills,
        deadline: dateIn(request.deadline, 'deadline'),
        milestones: request.milestones.map((milestone, index) => ({ title: milestone.title, amount: moneyIn(milestone.amount, `milestones[${index}].amount`) })),
        minCreditScore: request.minCreditScore,
        slots: request.slots,
      });
      return taskOut(view, autoAcceptMs, identity);
    },
    getTask: async (request, { identity }) => taskOut(await tasks.get(identity, idIn(request.taskId, 'task_id')), autoAcceptMs, identity),
    listTasks: async (request, { identity }) => {
      const found = await tasks.list(
        identity,
        { state: request.state, kind: request.kind, mode: request.mode, skill: request.skill, mine: request.mine },
        { limit: request.page?.limit ?? 0, ...(request.page?.cursor ? { cursor: idIn(request.page.cursor, 'cursor') } : {}) },
      );
      return { tasks: found.items.map((view) => taskOut(view, autoAcceptMs, identity)), page: { nextCursor: found.nextCursor } };
    },
    placeBid: async (request, { identity }) => {
      const { bid, task } = await tasks.placeBid(identity, idIn(request.taskId, 'task_id'), { price: moneyIn(request.price, 'price'), etaDays: request.etaDays, proposal: request.proposal });
      return bidOut(task, bid);
    },
    listBids: async (request, { identity }) => {
      const { bids, task } = await tasks.listBids(identity, idIn(request.taskId, 'task_id'));
      return { bids: bids.map((bid) => bidOut(task, bid)), page: { nextCursor: '' } };
    },
    awardTask: async (request, { identity }) => taskOut(await tasks.award(identity, idIn(request.taskId, 'task_id'), idIn(request.bidId, 'bid_id'), keyIn(request.idempotencyKey)), autoAcceptMs, identity),
    claimAssignment: async (request, { identity }) => {
      const key = optionalKeyIn(request.idempotencyKey);
      const assignment = await dispatch.claim(identity, idIn(request.taskId, 'task_id'), { ...(key ? { idempotencyKey: key } : {}), solverSkills: request.solverSkills });
      return assignmentOut(assignment, autoAcceptMs);
    },
    getAssignment: async (request, { identity }) => assignmentOut(await dispatch.get(identity, idIn(request.assignmentId, 'assignment_id')), autoAcceptMs),
    listAssignments: async (request, { identity }) => {
      const found = await dispatch.list(identity, idIn(request.taskId, 'task_id'), { limit: request.page?.limit ?? 0, ...(request.page?.cursor ? { cursor: idIn(request.page.cursor, 'cursor') } : {}) });
      return { assignments: found.items.map((assignment) => assignmentOut(assignment, autoAcceptMs)), page: { nextCursor: found.nextCursor } };
    },
    submitWork: async (request, { identity }) => workOut(await work.submit(identity, workRefIn(request.work), { deliverableUrl: request.deliverableUrl, note: request.note }), identity),
    acceptWork: async (request, { identity }) => workOut(await work.accept(identity, workRefIn(request)), identity),
    rejectWork: async (request, { identity }) => workOut(await work.reject(identity, workRefIn(request.work), request.reason), identity),
    submitToContest: async (request, { identity }) => submissionOut(await tasks.submitToContest(identity, idIn(request.taskId, 'task_id'), { deliverableUrl: request.deliverableUrl, note: request.note })),
    listSubmissions: async (request, { identity }) => ({ submissions: (await tasks.listSubmissions(identity, idIn(request.taskId, 'task_id'))).map(submissionOut), page: { nextCursor: '' } }),
    nameWinners: async (request, { identity }) =>
      taskOut(await tasks.nameWinners(identity, idIn(request.taskId, 'task_id'), request.winners.map((winner) => ({ submissionId: idIn(winner.submissionId, 'winners.submission_id'), shareBps: winner.shareBps }))), autoAcceptMs, identity),
    openDispute: async (request, { identity }) => disputeOut(await work.openDispute(identity, workRefIn(request.work), request.reason)),
    getDispute: async (request, { identity }) => disputeOut(await work.getDispute(identity, idIn(request.disputeId, 'dispute_id'))),
    resolveDispute: async (request, { identity }) => disputeOut(await work.resolveDispute(identity, idIn(request.disputeId, 'dispute_id'), request.solverShareBps)),
    cancelTask: async (request, { identity }) => taskOut(await tasks.cancel(identity, idIn(request.taskId, 'task_id')), autoAcceptMs, identity),
  };
}
