// Proves every task transition and refusal: posting rules, funding, award, milestones (submit, accept, reject with bounded resubmissions, auto-accept, disputes), contests and cancellation.
import { DomainError } from '@sizhong/kit/domain';
import { cny, day, input, later, policy, posted, t0 } from './fixtures';
import { resubmissionsMax } from './limits';
import { paymentsOfTask, totalMinor } from './payments';
import { acceptMilestone, autoAcceptMilestone, cancelTask, fundingRefused, fundingSucceeded, isVisibleTo, nameWinners, openMilestoneDispute, postTask, rejectMilestone, resolveMilestoneDispute, startAward, submitMilestone, type Task } from './task';

function code(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error.code;
    throw error;
  }
  return 'NO_ERROR';
}

function refusalOf(run: () => unknown): DomainError | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  return undefined;
}

const deliverable = { deliverableUrl: 'https://example.org/d', note: '' };
const bid = { bidId: 'bd_1', solverId: 'solver', price: cny(10_000), taskId: 'tk_1' };

function awarded(price = 10_000): Task {
  const awarding = startAward(posted(), 'owner', { ...bid, price: cny(price) }, 'key1').task;
  return fundingSucceeded(awarding, t0).task;
}

describe('posting', () => {
  it('opens a bidding task at once with TaskPosted', () => {
    const { task, events } = postTask(input(), policy, t0);
    expect(task.state).toBe('open');
    expect(events.map((event) => event.type)).toEqual(['TaskPosted']);
  });

  it('makes contests and dispatch tasks wait for funding, then opens them', () => {
    const contest = posted({ mode: 'contest', milestones: [] });
    expect(contest.state).toBe('funding');
    expect(isVisibleTo(contest, 'someone')).toBe(false);
    const opened = fundingSucceeded(contest, t0);
    expect(opened.task).toMatchObject({ state: 'open', funded: cny(10_000) });
    expect(opened.events[0]?.type).toBe('TaskPosted');
    expect(fundingRefused(contest, 'INSUFFICIENT_FUNDS').task.state).toBe('refused');
  });

  it('splits a dispatch budget into equal slots', () => {
    expect(posted({ mode: 'dispatch', milestones: [], slots: 4, kind: 'operations' }).perSlot).toEqual(cny(2_500));
    expect(code(() => posted({ mode: 'dispatch', milestones: [], slots: 3 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => posted({ mode: 'dispatch', milestones: [], slots: 0 }))).toBe('INVALID_ARGUMENT');
    expect(code(() => posted({ mode: 'dispatch', milestones: [], slots: 10_001, budget: cny(10_001) }))).toBe('LIMIT_EXCEEDED');
  });

  it.each([
    ['kind', { kind: 'x' }, 'INVALID_ARGUMENT'],
    ['mode', { mode: 'x' }, 'INVALID_ARGUMENT'],
    ['title', { title: '  ' }, 'INVALID_ARGUMENT'],
    ['title length', { title: 'x'.repeat(121) }, 'LIMIT_EXCEEDED'],
    ['budget', { budget: cny(0) }, 'INVALID_ARGUMENT'],
    ['deadline', { deadline: later(day - 1) }, 'INVALID_ARGUMENT'],
    ['milestone sum', { milestones: [{ title: 'a', amount: cny(1) }] }, 'INVALID_ARGUMENT'],
    ['no milestones', { milestones: [] }, 'INVALID_ARGUMENT'],
    ['milestones on a contest', { mode: 'contest' }, 'INVALID_ARGUMENT'],
    ['skills', { skills: ['Not A Skill'] }, 'INVALID_ARGUMENT'],
    ['too many skills', { skills: Array.from({ length: 21 }, (_, index) => `s${index}`) }, 'LIMIT_EXCEEDED'],
    ['credit score', { minCreditScore: 100 }, 'INVALID_ARGUMENT'],
    ['slots on bidding', { slots: 2 }, 'INVALID_ARGUMENT'],
    ['too many milestones', { milestones: Array.from({ length: 11 }, () => ({ title: 'm', amount: cny(1) })), budget: cny(11) }, 'LIMIT_EXCEEDED'],
  ])('refuses a bad %s', (_name, overrides, expected) => {
    expect(code(() => postTask(input(overrides as never), policy, t0))).toBe(expected);
  });

  it('takes every list at its limit', () => {
    expect(postTask(input({ milestones: Array.from({ length: 10 }, () => ({ title: 'm', amount: cny(1_000) })) }), policy, t0).task.milestones).toHaveLength(10);
    expect(postTask(input({ skills: Array.from({ length: 20 }, (_, index) => `s${index}`) }), policy, t0).task.skills).toHaveLength(20);
    expect(posted({ mode: 'dispatch', milestones: [], slots: 10_000, budget: cny(10_000) }).slots).toBe(10_000);
    expect(postTask(input({ title: 'x'.repeat(120) }), policy, t0).task.title).toHaveLength(120);
  });

  it('accepts the deadline exactly at the minimum', () => {
    expect(postTask(input({ deadline: later(day) }), policy, t0).task.state).toBe('open');
  });
});

describe('award', () => {
  it('awards the owner-chosen bid once funded, rescaling milestones to the price', () => {
    const awarding = startAward(posted(), 'owner', { ...bid, price: cny(5_000) }, 'key1');
    expect(awarding.task.state).toBe('awarding');
    expect(startAward(awarding.task, 'owner', { ...bid, price: cny(5_000) }, 'key1').task).toBe(awarding.task);
    // Another key while the award is being funded raced it: try again (the gateway releases the key on this code).
    expect(code(() => startAward(awarding.task, 'owner', bid, 'other'))).toBe('CONCURRENT_MODIFICATION');
    const done = fundingSucceeded(awarding.task, t0);
    expect(done.task.state).toBe('awarded');
    expect(done.task.milestones.map((milestone) => milestone.work.amount.amountMinor)).toEqual([2_000n, 3_000n]);
    expect(done.events[0]).toMatchObject({ type: 'TaskAwarded', solverId: 'solver', amount: cny(5_000) });
    // Awarded: the same bid under another key is the decision already made; another bid is contrary to it.
    expect(startAward(done.task, 'owner', bid, 'key2')).toEqual({ task: done.task, events: [] });
    expect(refusalOf(() => startAward(done.task, 'owner', { ...bid, bidId: 'bd_2' }, 'key3'))).toMatchObject({ code: 'ALREADY_DECIDED', details: { decision: 'award', awardedBidId: 'bd_1' } });
  });

  it('goes back to open when the funding is refused', () => {
    const awarding = startAward(posted(), 'owner', bid, 'key1').task;
    const back = fundingRefused(awarding, 'INSUFFICIENT_FUNDS').task;
    expect(back.state).toBe('open');
    expect(back.award).toBeUndefined();
  });

  it('hides the task from anyone but its owner, and refuses other modes', () => {
    expect(code(() => startAward(posted(), 'intruder', bid, 'k'))).toBe('NOT_FOUND');
    expect(code(() => startAward(fundingSucceeded(posted({ mode: 'contest', milestones: [] }), t0).task, 'owner', bid, 'k'))).toBe('INVALID_STATE');
    expect(code(() => startAward(posted(), 'owner', { ...bid, taskId: 'tk_other' }, 'k'))).toBe('NOT_FOUND');
  });
});

describe('milestones', () => {
  it('submits, accepts and pays the solver less the fee', () => {
    const submitted = submitMilestone(awarded(), 'solver', 0, deliverable, later(day));
    expect(submitted.events[0]).toMatchObject({ type: 'MilestoneSubmitted', onTime: true, resubmission: 0 });
    const accepted = acceptMilestone(submitted.task, 'owner', 0, policy, later(2 * day));
    expect(accepted.task.milestones[0]?.work.settlement).toMatchObject({ solverPaid: cny(3_800), fee: cny(200), by: 'owner' });
    expect(accepted.events.map((event) => event.type)).toEqual(['TaskMilestoneAccepted']);
  });

  it('marks a late submission and completes the task when the last milestone settles', () => {
    let task = awarded();
    for (const index of [0, 1]) {
      task = submitMilestone(task, 'solver', index, deliverable, later(11 * day)).task;
      expect(task.milestones[index]?.work.submission?.onTime).toBe(false);
    }
    task = acceptMilestone(task, 'owner', 0, policy, later(12 * day)).task;
    const last = acceptMilestone(task, 'owner', 1, policy, later(12 * day));
    expect(last.task.state).toBe('completed');
    expect(last.events.at(-1)).toMatchObject({ type: 'TaskCompleted', paid: cny(9_500), fees: cny(500), refunded: cny(0) });
  });

  it('answers NOT_FOUND to anyone who is not the solver or the owner', () => {
    const task = awarded();
    expect(code(() => submitMilestone(task, 'other-solver', 0, deliverable, t0))).toBe('NOT_FOUND');
    expect(code(() => submitMilestone(task, 'owner', 0, deliverable, t0))).toBe('NOT_FOUND');
    const submitted = submitMilestone(task, 'solver', 0, deliverable, t0).task;
    expect(code(() => acceptMilestone(submitted, 'solver', 0, policy, t0))).toBe('NOT_FOUND');
    expect(code(() => rejectMilestone(submitted, 'solver', 0, 'no', t0))).toBe('NOT_FOUND');
    expect(code(() => submitMilestone(task, 'solver', 7, deliverable, t0))).toBe('NOT_FOUND');
  });

  it('refuses work on a task not awarded, and decisions on work not submitted', () => {
    expect(code(() => acceptMilestone(posted(), 'owner', 0, policy, t0))).toBe('INVALID_STATE');
    expect(code(() => acceptMilestone(awarded(), 'owner', 0, policy, t0))).toBe('INVALID_STATE');
    expect(code(() => rejectMilestone(awarded(), 'owner', 0, 'no', t0))).toBe('INVALID_STATE');
    const submitted = submitMilestone(awarded(), 'solver', 0, deliverable, t0).task;
    // The same hand-in again is the one waiting (a retry after a lost answer); another one waits for the decision first.
    expect(submitMilestone(submitted, 'solver', 0, deliverable, t0)).toEqual({ task: submitted, events: [] });
    expect(code(() => submitMilestone(submitted, 'solver', 0, { ...deliverable, deliverableUrl: 'https://files.example.org/other' }, t0))).toBe('INVALID_STATE');
    const accepted = acceptMilestone(submitted, 'owner', 0, policy, t0).task;
    expect(acceptMilestone(accepted, 'owner', 0, policy, t0)).toEqual({ task: accepted, events: [] });
    expect(refusalOf(() => rejectMilestone(accepted, 'owner', 0, 'late', t0))).toMatchObject({ code: 'ALREADY_DECIDED', details: { decision: 'accepted' } });
    expect(refusalOf(() => submitMilestone(accepted, 'solver', 0, deliverable, t0))).toMatchObject({ code: 'ALREADY_DECIDED', details: { decision: 'accepted' } });
    expect(code(() => rejectMilestone(submitted, 'owner', 0, '  ', t0))).toBe('INVALID_ARGUMENT');
  });

  it(`allows ${resubmissionsMax} resubmissions, then refuses another rejection`, () => {
    let task = awarded();
    for (let round = 1; round <= resubmissionsMax; round += 1) {
      task = submitMilestone(task, 'solver', 0, deliverable, t0).task;
      const rejected = rejectMilestone(task, 'owner', 0, 'not yet', t0);
      expect(rejected.events[0]).toMatchObject({ type: 'TaskMilestoneRejected', rejections: round });
      task = rejected.task;
    }
    const last = submitMilestone(task, 'solver', 0, deliverable, t0);
    expect(last.events[0]).toMatchObject({ resubmission: resubmissionsMax });
    expect(code(() => rejectMilestone(last.task, 'owner', 0, 'still no', t0))).toBe('LIMIT_EXCEEDED');
  });

  it('auto-accepts only the submission whose silence window ended', () => {
    const submitted = submitMilestone(awarded(), 'solver', 0, deliverable, t0).task;
    const auto = autoAcceptMilestone(submitted, 0, 1, policy, later(14 * day));
    expect(auto.events[0]).toMatchObject({ type: 'TaskMilestoneAccepted', acceptedBy: 'silence' });
    expect(autoAcceptMilestone(submitted, 0, 2, policy, later(14 * day)).events).toEqual([]);
    expect(autoAcceptMilestone(auto.task, 0, 1, policy, later(15 * day)).events).toEqual([]);
  });

  it('freezes a disputed milestone and pays a 60/40 resolution exactly', () => {
    const submitted = submitMilestone(awarded(), 'solver', 1, deliverable, t0).task;
    const disputed = openMilestoneDispute(submitted, 'owner', 1, 'dp_1', 'not what we asked', t0);
    expect(disputed.events[0]).toMatchObject({ type: 'DisputeOpened', openedBy: 'owner', amount: cny(6_000) });
    expect(openMilestoneDispute(disputed.task, 'owner', 1, 'dp_1', 'again', t0).task).toBe(disputed.task);
    expect(code(() => acceptMilestone(disputed.task, 'owner', 1, policy, t0))).toBe('INVALID_STATE');
    expect(autoAcceptMilestone(disputed.task, 1, 1, policy, later(20 * day)).events).toEqual([]);
    const resolved = resolveMilestoneDispute(disputed.task, 1, { solverShareBps: 6_000, arbiterId: 'arb' }, policy, t0);
    expect(resolved.task.milestones[1]?.work.settlement).toMatchObject({ solverPaid: cny(3_420), fee: cny(180), ownerRefunded: cny(2_400) });
    expect(resolved.events[0]).toMatchObject({ type: 'DisputeResolved', solverShareBps: 6_000 });
    expect(resolveMilestoneDispute(resolved.task, 1, { solverShareBps: 6_000, arbiterId: 'arb' }, policy, t0).task).toBe(resolved.task);
    expect(refusalOf(() => resolveMilestoneDispute(resolved.task, 1, { solverShareBps: 5_000, arbiterId: 'arb' }, policy, t0))).toMatchObject({ code: 'ALREADY_DECIDED', details: { decision: 'resolution', solverShareBps: 6_000 } });
    expect(code(() => resolveMilestoneDispute(disputed.task, 1, { solverShareBps: 10_001, arbiterId: 'arb' }, policy, t0))).toBe('INVALID_ARGUMENT');
    expect(code(() => openMilestoneDispute(awarded(), 'solver', 0, 'dp_2', 'x', t0))).toBe('INVALID_STATE');
    expect(code(() => openMilestoneDispute(submitted, 'stranger', 1, 'dp_3', 'x', t0))).toBe('NOT_FOUND');
  });
});

describe('cancellation', () => {
  it('refunds nothing for an open bidding task and everything for an open contest', () => {
    expect(cancelTask(posted(), 'owner', { submissionsCount: 0, slotsAvailable: 0 }, t0).task.cancellation?.refunded).toEqual(cny(0));
    const contest = fundingSucceeded(posted({ mode: 'contest', milestones: [] }), t0).task;
    const cancelled = cancelTask(contest, 'owner', { submissionsCount: 0, slotsAvailable: 0 }, t0).task;
    expect(totalMinor(paymentsOfTask(cancelled))).toBe(10_000n);
    expect(code(() => cancelTask(contest, 'owner', { submissionsCount: 1, slotsAvailable: 0 }, t0))).toBe('INVALID_STATE');
  });

  it('returns only the unspent milestones after award, and waits for handed-in work', () => {
    let task = submitMilestone(awarded(), 'solver', 0, deliverable, t0).task;
    expect(code(() => cancelTask(task, 'owner', { submissionsCount: 0, slotsAvailable: 0 }, t0))).toBe('INVALID_STATE');
    task = acceptMilestone(task, 'owner', 0, policy, t0).task;
    const cancelled = cancelTask(task, 'owner', { submissionsCount: 0, slotsAvailable: 0 }, t0);
    expect(cancelled.events[0]).toMatchObject({ type: 'TaskCancelled', stage: 'awarded', refunded: cny(6_000) });
    expect(totalMinor(paymentsOfTask(cancelled.task))).toBe(10_000n);
  });

  it('returns the unclaimed slots of a dispatch task', () => {
    const dispatch = fundingSucceeded(posted({ mode: 'dispatch', milestones: [], slots: 10 }), t0).task;
    expect(cancelTask(dispatch, 'owner', { submissionsCount: 0, slotsAvailable: 7 }, t0).task.cancellation?.refunded).toEqual(cny(7_000));
  });

  it('refuses others and finished tasks, and repeats nothing', () => {
    expect(code(() => cancelTask(posted(), 'intruder', { submissionsCount: 0, slotsAvailable: 0 }, t0))).toBe('NOT_FOUND');
    const cancelled = cancelTask(posted(), 'owner', { submissionsCount: 0, slotsAvailable: 0 }, t0).task;
    expect(cancelTask(cancelled, 'owner', { submissionsCount: 0, slotsAvailable: 0 }, t0).events).toEqual([]);
    expect(code(() => cancelTask(posted({ mode: 'contest', milestones: [] }), 'owner', { submissionsCount: 0, slotsAvailable: 0 }, t0))).toBe('INVALID_STATE');
  });
});

describe('contest winners', () => {
  const contest = () => fundingSucceeded(posted({ mode: 'contest', milestones: [], budget: cny(10_001) }), t0).task;

  it('splits the pool exactly by shares, each less the fee', () => {
    const named = nameWinners(contest(), 'owner', [{ submissionId: 's1', solverId: 'a', shareBps: 7_000 }, { submissionId: 's2', solverId: 'b', shareBps: 3_000 }], policy, t0);
    // Named: the same list (in any order) is that decision; another is contrary to it.
    expect(nameWinners(named.task, 'owner', [{ submissionId: 's2', solverId: 'b', shareBps: 3_000 }, { submissionId: 's1', solverId: 'a', shareBps: 7_000 }], policy, t0)).toEqual({ task: named.task, events: [] });
    expect(refusalOf(() => nameWinners(named.task, 'owner', [{ submissionId: 's1', solverId: 'a', shareBps: 10_000 }], policy, t0))).toMatchObject({ code: 'ALREADY_DECIDED', details: { decision: 'winners', winners: 's1:7000,s2:3000' } });
    expect(named.task.state).toBe('completed');
    expect(totalMinor(paymentsOfTask(named.task))).toBe(10_001n);
    expect(named.events.map((event) => event.type)).toEqual(['ContestWinnersNamed', 'TaskCompleted']);
  });

  it.each([
    ['no winners', []],
    ['shares not summing to 10000', [{ submissionId: 's1', solverId: 'a', shareBps: 5_000 }]],
    ['a zero share', [{ submissionId: 's1', solverId: 'a', shareBps: 10_000 }, { submissionId: 's2', solverId: 'b', shareBps: 0 }]],
    ['a submission twice', [{ submissionId: 's1', solverId: 'a', shareBps: 5_000 }, { submissionId: 's1', solverId: 'a', shareBps: 5_000 }]],
  ])('refuses %s', (_name, winners) => {
    expect(code(() => nameWinners(contest(), 'owner', winners, policy, t0))).toBe('INVALID_ARGUMENT');
  });

  it('takes exactly the winner limit', () => {
    const twenty = Array.from({ length: 20 }, (_, index) => ({ submissionId: `s${index}`, solverId: 'a', shareBps: index === 0 ? 8_100 : 100 }));
    expect(nameWinners(contest(), 'owner', twenty, policy, t0).task.winners).toHaveLength(20);
  });

  it('refuses more than the winner limit, strangers and bidding tasks', () => {
    const many = Array.from({ length: 21 }, (_, index) => ({ submissionId: `s${index}`, solverId: 'a', shareBps: index === 0 ? 8_000 : 100 }));
    expect(code(() => nameWinners(contest(), 'owner', many, policy, t0))).toBe('LIMIT_EXCEEDED');
    expect(code(() => nameWinners(contest(), 'x', [{ submissionId: 's1', solverId: 'a', shareBps: 10_000 }], policy, t0))).toBe('NOT_FOUND');
    expect(code(() => nameWinners(posted(), 'owner', [{ submissionId: 's1', solverId: 'a', shareBps: 10_000 }], policy, t0))).toBe('INVALID_STATE');
  });
});
