// Proves the dispatch assignment lifecycle: claim under a lease, expiry only without a submission, work decisions only by the owner, eligibility by credit score and skills.
import { DomainError } from '@sizhong/kit/domain';
import { acceptAssignment, autoAcceptAssignment, claimAssignment, expireLease, isOpenAssignment, openAssignmentDispute, rejectAssignment, resolveAssignmentDispute, submitAssignment } from './assignment';
import { checkCreditScore, checkOpenFor, checkSkills } from './eligibility';
import { cny, day, later, policy, posted, t0 } from './fixtures';
import { paymentsOfAssignment, paymentsOfTask, totalMinor } from './payments';
import { closeAtDeadline, fundingSucceeded } from './task';

function code(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
  return 'NO_ERROR';
}

const task = fundingSucceeded(posted({ mode: 'dispatch', kind: 'operations', milestones: [], slots: 4, skills: ['forklift', 'excel'], minCreditScore: 600 }), t0).task;
const deliverable = { deliverableUrl: 'https://example.org/d', note: 'done' };
const claimed = () => claimAssignment(task, { assignmentId: 'as_1', solverId: 'solver' }, policy, t0).assignment;

describe('dispatch assignments', () => {
  it('claims a slot under a lease', () => {
    const { assignment, events } = claimAssignment(task, { assignmentId: 'as_1', solverId: 'solver' }, policy, t0);
    expect(assignment).toMatchObject({ lease: 'held', leaseExpiresAt: later(day), work: { amount: cny(2_500), state: 'pending' } });
    expect(events[0]).toMatchObject({ type: 'AssignmentClaimed', assignmentId: 'as_1' });
    expect(isOpenAssignment(assignment)).toBe(true);
  });

  it('expires a lease never handed in, only once it has passed', () => {
    expect(expireLease(claimed(), 'pool', later(day - 1)).events).toEqual([]);
    const expired = expireLease(claimed(), 'pool', later(day));
    expect(expired.assignment).toMatchObject({ lease: 'expired', slotReturnedTo: 'pool' });
    expect(expired.events[0]?.type).toBe('AssignmentLeaseExpired');
    expect(isOpenAssignment(expired.assignment)).toBe(false);
    expect(expireLease(expired.assignment, 'pool', later(2 * day)).events).toEqual([]);
    expect(code(() => submitAssignment(expired.assignment, 'solver', deliverable, later(day)))).toBe('INVALID_STATE');
    expect(code(() => submitAssignment(claimed(), 'solver', deliverable, later(day)))).toBe('INVALID_STATE');
  });

  it('keeps a submitted assignment past its lease and pays it on acceptance', () => {
    const submitted = submitAssignment(claimed(), 'solver', deliverable, later(day / 2)).assignment;
    expect(expireLease(submitted, 'pool', later(2 * day)).events).toEqual([]);
    const accepted = acceptAssignment(submitted, 'owner', policy, later(day));
    expect(accepted.events[0]).toMatchObject({ type: 'TaskMilestoneAccepted', paid: cny(2_375), fee: cny(125), assignmentId: 'as_1' });
    expect(totalMinor(paymentsOfAssignment(accepted.assignment))).toBe(2_500n);
    expect(isOpenAssignment(accepted.assignment)).toBe(false);
  });

  it('answers NOT_FOUND to everyone but its solver (submit) and its owner (decide)', () => {
    expect(code(() => submitAssignment(claimed(), 'other', deliverable, t0))).toBe('NOT_FOUND');
    const submitted = submitAssignment(claimed(), 'solver', deliverable, t0).assignment;
    expect(code(() => acceptAssignment(submitted, 'solver', policy, t0))).toBe('NOT_FOUND');
    expect(code(() => rejectAssignment(submitted, 'other', 'no', t0))).toBe('NOT_FOUND');
    expect(code(() => openAssignmentDispute(submitted, 'other', 'dp', 'no', t0))).toBe('NOT_FOUND');
  });

  it('rejects, auto-accepts and resolves disputes like milestones', () => {
    const submitted = submitAssignment(claimed(), 'solver', deliverable, t0).assignment;
    const rejected = rejectAssignment(submitted, 'owner', 'blurry', t0);
    expect(rejected.events[0]).toMatchObject({ type: 'TaskMilestoneRejected', rejections: 1 });
    const again = submitAssignment(rejected.assignment, 'solver', deliverable, t0).assignment;
    expect(autoAcceptAssignment(again, 1, policy, later(14 * day)).events).toEqual([]);
    expect(autoAcceptAssignment(again, 2, policy, later(14 * day)).events[0]).toMatchObject({ acceptedBy: 'silence' });
    const disputed = openAssignmentDispute(again, 'solver', 'dp_1', 'unfair', t0).assignment;
    const resolved = resolveAssignmentDispute(disputed, { solverShareBps: 6_000, arbiterId: 'arb' }, policy, t0);
    expect(resolved.assignment.work.settlement).toMatchObject({ solverPaid: cny(1_425), fee: cny(75), ownerRefunded: cny(1_000) });
    expect(totalMinor(paymentsOfAssignment(resolved.assignment))).toBe(2_500n);
  });

  it('refunds a slot returned after cancellation to the owner', () => {
    const returned = expireLease(claimed(), 'owner', later(day)).assignment;
    expect(paymentsOfAssignment(returned)).toEqual([{ key: 'a:as_1:returned', payee: { kind: 'owner' }, amount: cny(2_500) }]);
  });
});

describe('eligibility', () => {
  it('needs the minimum credit score', () => {
    expect(code(() => checkCreditScore(task, 599))).toBe('CREDIT_TOO_LOW');
    expect(code(() => checkCreditScore(task, undefined))).toBe('CREDIT_TOO_LOW');
    expect(code(() => checkCreditScore(task, 600))).toBe('NO_ERROR');
    expect(code(() => checkCreditScore(posted(), undefined))).toBe('NO_ERROR');
  });

  it('needs every skill the task lists; a task without skills takes anyone', () => {
    expect(code(() => checkSkills(task, ['forklift']))).toBe('PERMISSION_DENIED');
    expect(code(() => checkSkills(task, ['excel', 'forklift', 'more']))).toBe('NO_ERROR');
    expect(code(() => checkSkills(posted({ skills: [] }), []))).toBe('NO_ERROR');
  });

  it('needs an open task of the mode before its deadline', () => {
    expect(code(() => checkOpenFor(task, 'dispatch', t0))).toBe('NO_ERROR');
    expect(code(() => checkOpenFor(task, 'bidding', t0))).toBe('INVALID_STATE');
    expect(code(() => checkOpenFor(task, 'dispatch', task.deadline))).toBe('INVALID_STATE');
    expect(code(() => checkOpenFor(posted({ mode: 'dispatch', milestones: [], slots: 1 }), 'dispatch', t0))).toBe('INVALID_STATE');
  });
});

describe('closing a dispatch task at its deadline', () => {
  it('refunds the unclaimed slots once the deadline has passed, and only then', () => {
    expect(closeAtDeadline(task, { slotsAvailable: 3 }, later(day)).task).toBe(task);
    const closed = closeAtDeadline(task, { slotsAvailable: 3 }, task.deadline).task;
    expect(closed).toMatchObject({ state: 'closed', closure: { refunded: cny(7_500) } });
    expect(totalMinor(paymentsOfTask(closed))).toBe(7_500n);
    expect(closeAtDeadline(closed, { slotsAvailable: 3 }, task.deadline).task).toBe(closed);
    expect(closeAtDeadline(posted(), { slotsAvailable: 0 }, later(30 * day)).task.state).toBe('open');
  });
});
