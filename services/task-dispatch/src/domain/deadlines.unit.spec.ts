// Every transition a deadline or a stop makes (abandonment after the resubmit window, the contest rule, a bidding task's close, an overdue dispute, stopping and reopening claims and entries): each legal one, and each illegal one left as it is (same object, no events).
import { abandonAssignment, type Assignment, claimAssignment, markDisputeOverdue, openAssignmentDispute, rejectAssignment, submitAssignment } from './assignment';
import { cny, day, later, policy, posted, t0 } from './fixtures';
import { paymentsOfAssignment, paymentsOfTask, totalMinor } from './payments';
import {
  abandonMilestone,
  acceptMilestone,
  cancelTask,
  closeBiddingAtDeadline,
  decideContestByRule,
  fundingSucceeded,
  markMilestoneDisputeOverdue,
  openMilestoneDispute,
  rejectMilestone,
  reopenEntries,
  resolveMilestoneDispute,
  startAward,
  stopTaking,
  submitMilestone,
  type Task,
} from './task';
import { abandonWork } from './work';

const deliverable = { deliverableUrl: 'https://example.org/d', note: '' };
const bid = { bidId: 'bd_1', solverId: 'solver', price: cny(10_000), taskId: 'tk_1' };

function awarded(): Task {
  return fundingSucceeded(startAward(posted(), 'owner', bid, 'key1').task, t0).task;
}

/** An awarded task whose milestone `index` was handed in and rejected once. */
function rejected(index = 0, task = awarded()): Task {
  return rejectMilestone(submitMilestone(task, 'solver', index, deliverable, t0).task, 'owner', index, 'not yet', later(day)).task;
}

const contest = () => fundingSucceeded(posted({ mode: 'contest', milestones: [] }), t0).task;
const dispatchTask = () => fundingSucceeded(posted({ mode: 'dispatch', kind: 'operations', milestones: [], slots: 4 }), t0).task;
const claimed = (): Assignment => claimAssignment(dispatchTask(), { assignmentId: 'as_1', solverId: 'solver' }, policy, t0).assignment;
const rejectedAssignment = () => rejectAssignment(submitAssignment(claimed(), 'solver', deliverable, t0).assignment, 'owner', 'blurry', later(day)).assignment;

describe('abandonment after the resubmit window', () => {
  it('abandons work still waiting in the same rejection, refunding the owner or nobody yet', () => {
    const work = rejected().milestones[0]!.work;
    expect(abandonWork(work, 1, 'owner', later(8 * day))).toMatchObject({ state: 'abandoned', settlement: { by: 'abandonment', solverPaid: cny(0), fee: cny(0), ownerRefunded: cny(4_000) } });
    expect(abandonWork(work, 1, 'none', later(8 * day))?.settlement?.ownerRefunded).toEqual(cny(0));
  });

  it('leaves work handed in again, disputed, decided, pending or in another rejection as it is', () => {
    const task = rejected();
    const work = task.milestones[0]!.work;
    expect(abandonWork(work, 2, 'owner', later(8 * day))).toBeUndefined();
    expect(abandonWork(submitMilestone(task, 'solver', 0, deliverable, later(2 * day)).task.milestones[0]!.work, 1, 'owner', later(8 * day))).toBeUndefined();
    expect(abandonWork(openMilestoneDispute(task, 'solver', 0, 'dp_1', 'it is done', later(2 * day)).task.milestones[0]!.work, 1, 'owner', later(8 * day))).toBeUndefined();
    expect(abandonWork(acceptMilestone(submitMilestone(awarded(), 'solver', 0, deliverable, t0).task, 'owner', 0, policy, t0).task.milestones[0]!.work, 0, 'owner', later(8 * day))).toBeUndefined();
    expect(abandonWork(awarded().milestones[0]!.work, 0, 'owner', later(8 * day))).toBeUndefined();
  });

  it('refunds an abandoned milestone to the owner and completes the task when it was the last one', () => {
    const oneAccepted = acceptMilestone(submitMilestone(rejected(), 'solver', 1, deliverable, t0).task, 'owner', 1, policy, t0).task;
    const { task, events } = abandonMilestone(oneAccepted, 0, 1, later(8 * day));
    expect(task.state).toBe('completed');
    expect(events).toEqual([expect.objectContaining({ type: 'TaskCompleted', paid: cny(5_700), fees: cny(300), refunded: cny(4_000) })]);
    expect(totalMinor(paymentsOfTask(task))).toBe(10_000n);
    const first = abandonMilestone(rejected(), 0, 1, later(8 * day));
    expect(first.task.state).toBe('awarded');
    expect(first.task.milestones[0]!.work.state).toBe('abandoned');
    expect(paymentsOfTask(first.task)).toEqual([expect.objectContaining({ payee: { kind: 'owner' }, amount: cny(4_000) })]);
  });

  it('leaves a milestone of a task not awarded, a missing milestone or another rejection as it is', () => {
    const task = rejected();
    for (const [subject, index, rejections] of [[posted(), 0, 1], [task, 5, 1], [task, 0, 2], [task, 1, 1]] as const) {
      const decided = abandonMilestone(subject, index, rejections, later(8 * day));
      expect(decided.task).toBe(subject);
      expect(decided.events).toEqual([]);
    }
  });

  it('abandons an assignment with its slot back to the pool (no payment) or its money to the owner', () => {
    const toPool = abandonAssignment(rejectedAssignment(), 1, 'pool', later(8 * day)).assignment;
    expect(toPool).toMatchObject({ slotReturnedTo: 'pool', work: { state: 'abandoned' } });
    expect(paymentsOfAssignment(toPool)).toEqual([]);
    const toOwner = abandonAssignment(rejectedAssignment(), 1, 'owner', later(8 * day)).assignment;
    expect(toOwner.slotReturnedTo).toBe('owner');
    expect(totalMinor(paymentsOfAssignment(toOwner))).toBe(2_500n);
  });

  it('leaves an assignment handed in again, disputed, in another rejection or never rejected as it is', () => {
    const waiting = rejectedAssignment();
    const subjects = [
      [waiting, 2],
      [submitAssignment(waiting, 'solver', deliverable, later(2 * day)).assignment, 1],
      [openAssignmentDispute(waiting, 'solver', 'dp_1', 'done', later(2 * day)).assignment, 1],
      [claimed(), 0],
    ] as const;
    for (const [assignment, rejections] of subjects) {
      const decided = abandonAssignment(assignment, rejections, 'owner', later(8 * day));
      expect(decided.assignment).toBe(assignment);
      expect(decided.events).toEqual([]);
    }
  });
});

describe('the contest rule after the decision window', () => {
  const decidedAt = (task: Task) => new Date(task.deadline.getTime() + policy.contestDecisionMs);
  const entries = [
    { submissionId: 'sb_1', solverId: 's1' },
    { submissionId: 'sb_2', solverId: 's2' },
    { submissionId: 'sb_3', solverId: 's3' },
  ];

  it('splits the prize equally among the entries, exactly, each share less the fee', () => {
    const task = contest();
    const { task: completed, events } = decideContestByRule(task, entries, policy, decidedAt(task));
    expect(completed.state).toBe('completed');
    expect(completed.winners?.map((winner) => winner.shareBps)).toEqual([3_334, 3_333, 3_333]);
    expect(completed.winners?.map((winner) => winner.solverPaid.amountMinor + winner.fee.amountMinor)).toEqual([3_334n, 3_333n, 3_333n]);
    expect(events.map((event) => event.type)).toEqual(['ContestWinnersNamed', 'TaskCompleted']);
    expect(totalMinor(paymentsOfTask(completed))).toBe(10_000n);
  });

  it('closes a contest nobody entered and refunds the prize to the owner', () => {
    const task = contest();
    const { task: closed, events } = decideContestByRule(task, [], policy, decidedAt(task));
    expect(closed).toMatchObject({ state: 'closed', closure: { refunded: cny(10_000) } });
    expect(events).toEqual([]);
    expect(paymentsOfTask(closed)).toEqual([expect.objectContaining({ payee: { kind: 'owner' }, amount: cny(10_000) })]);
  });

  it('leaves a contest before the window ends, a decided or cancelled contest and other modes as they are', () => {
    const task = contest();
    const named = decideContestByRule(task, entries, policy, decidedAt(task)).task;
    const cancelled = cancelTask(task, 'owner', { submissionsCount: 0, slotsAvailable: 0 }, t0).task;
    const cases: [Task, Date][] = [
      [task, new Date(decidedAt(task).getTime() - 1)],
      [named, later(100 * day)],
      [cancelled, later(100 * day)],
      [awarded(), later(100 * day)],
      [posted(), later(100 * day)],
    ];
    for (const [subject, now] of cases) {
      const decided = decideContestByRule(subject, entries, policy, now);
      expect(decided.task).toBe(subject);
      expect(decided.events).toEqual([]);
    }
  });
});

describe('a bidding task at its deadline', () => {
  it('closes an open bidding task without an award at (or after) its deadline; nothing was funded', () => {
    const task = posted();
    expect(closeBiddingAtDeadline(task, task.deadline).task).toMatchObject({ state: 'closed', closure: { refunded: cny(0) } });
    expect(paymentsOfTask(closeBiddingAtDeadline(task, later(30 * day)).task)).toEqual([]);
  });

  it('leaves it before the deadline, once awarded, and other modes as they are', () => {
    const task = posted();
    const cases: [Task, Date][] = [
      [task, new Date(task.deadline.getTime() - 1)],
      [awarded(), later(30 * day)],
      [startAward(posted(), 'owner', bid, 'key1').task, later(30 * day)],
      [contest(), later(30 * day)],
      [closeBiddingAtDeadline(task, task.deadline).task, later(30 * day)],
    ];
    for (const [subject, now] of cases) {
      const decided = closeBiddingAtDeadline(subject, now);
      expect(decided.task).toBe(subject);
      expect(decided.events).toEqual([]);
    }
  });
});

describe('a dispute past the resolution deadline', () => {
  const disputedMilestone = () => openMilestoneDispute(submitMilestone(awarded(), 'solver', 1, deliverable, t0).task, 'owner', 1, 'dp_1', 'not what we asked', t0).task;
  const disputedAssignment = () => openAssignmentDispute(submitAssignment(claimed(), 'solver', deliverable, t0).assignment, 'owner', 'dp_a', 'wrong', t0).assignment;

  it('marks an open milestone dispute overdue once, with DisputeOverdue; the money stays held', () => {
    const { task, events } = markMilestoneDisputeOverdue(disputedMilestone(), 1, 'dp_1', later(15 * day));
    expect(task.milestones[1]!.work).toMatchObject({ state: 'disputed', dispute: { overdueAt: later(15 * day) } });
    expect(events).toEqual([expect.objectContaining({ type: 'DisputeOverdue', disputeId: 'dp_1', amount: cny(6_000) })]);
    expect(paymentsOfTask(task)).toEqual([]);
    const again = markMilestoneDisputeOverdue(task, 1, 'dp_1', later(16 * day));
    expect(again.task).toBe(task);
    expect(again.events).toEqual([]);
  });

  it('leaves another dispute, a resolved one, a milestone never disputed or a missing one as it is', () => {
    const disputed = disputedMilestone();
    const resolved = resolveMilestoneDispute(disputed, 1, { solverShareBps: 5_000, arbiterId: 'arb' }, policy, t0).task;
    for (const [subject, index, disputeId] of [[disputed, 1, 'dp_other'], [resolved, 1, 'dp_1'], [disputed, 0, 'dp_1'], [disputed, 7, 'dp_1']] as const) {
      const decided = markMilestoneDisputeOverdue(subject, index, disputeId, later(15 * day));
      expect(decided.task).toBe(subject);
      expect(decided.events).toEqual([]);
    }
  });

  it('marks an open assignment dispute overdue once, and leaves anything else as it is', () => {
    const { assignment, events } = markDisputeOverdue(disputedAssignment(), 'dp_a', later(15 * day));
    expect(assignment.work.dispute?.overdueAt).toEqual(later(15 * day));
    expect(events).toEqual([expect.objectContaining({ type: 'DisputeOverdue', assignmentId: 'as_1' })]);
    for (const [subject, disputeId] of [[assignment, 'dp_a'], [disputedAssignment(), 'dp_other'], [claimed(), 'dp_a']] as const) {
      const decided = markDisputeOverdue(subject, disputeId, later(15 * day));
      expect(decided.assignment).toBe(subject);
      expect(decided.events).toEqual([]);
    }
  });
});

describe('stopping and reopening claims and entries', () => {
  it('stops entries of an open contest and claims of an open dispatch task, once', () => {
    const stoppedContest = stopTaking(contest()).task;
    expect(stoppedContest.entriesStopped).toBe(true);
    expect(stopTaking(stoppedContest).task).toBe(stoppedContest);
    const stoppedDispatch = stopTaking(dispatchTask()).task;
    expect(stoppedDispatch.claimsStopped).toBe(true);
    expect(stopTaking(stoppedDispatch).task).toBe(stoppedDispatch);
  });

  it('stops nothing on a bidding task or a task that is not open', () => {
    for (const subject of [posted(), awarded(), posted({ mode: 'contest', milestones: [] }), cancelTask(contest(), 'owner', { submissionsCount: 0, slotsAvailable: 0 }, t0).task]) {
      expect(stopTaking(subject).task).toBe(subject);
    }
  });

  it('reopens entries of a stopped contest before its deadline only', () => {
    const stopped = stopTaking(contest()).task;
    const reopened = reopenEntries(stopped, t0).task;
    expect(reopened.entriesStopped).toBeUndefined();
    expect(reopened.state).toBe('open');
    for (const [subject, now] of [
      [stopped, stopped.deadline],
      [contest(), t0],
      [stopTaking(dispatchTask()).task, t0],
      [cancelTask(stopped, 'owner', { submissionsCount: 0, slotsAvailable: 0 }, t0).task, t0],
    ] as const) {
      expect(reopenEntries(subject, now).task).toBe(subject);
    }
  });
});
