// Proves every deadline closes something: a contest past its deadline takes no entries and, with no winners named within TASK_CONTEST_DECISION_MS, splits its prize equally among the entries (or refunds an empty contest); a bidding task past its deadline without an award closes; a dispute unresolved after DISPUTE_RESOLUTION_MS shows on the stuck list (and as a stuck job, with why) with its money still held, until an arbiter decides.
import { schedulerStuckAfterAttempts } from '@sizhong/kit';
import { eventually } from '@sizhong/testkit';
import { as, cny, inDays, startTaskHarness, type TaskHarness } from './support';

jest.setTimeout(180_000);

let harness: TaskHarness;
const deadlineInMs = 2_500;

beforeAll(async () => {
  harness = await startTaskHarness('task-dispatch-deadlines', { TASK_CONTEST_DECISION_MS: '1000', DISPUTE_RESOLUTION_MS: '1000', TASK_AUTO_ACCEPT_MS: '600000' });
});

afterAll(async () => {
  await harness?.stop();
});

const wallet = (participantId: string) => harness.balance(`wallet:${participantId}:CNY`);
const soon = () => new Date(Date.now() + deadlineInMs);

it('splits a contest’s prize equally among its entries when the owner names no winners, and refunds an empty contest', async () => {
  const { client } = harness;
  const owner = as('pt_dl_owner', 'enterprise');
  await harness.escrow.deposit('pt_dl_owner', 10_001n + 5_000n);
  const contest = await client.call.postTask({ idempotencyKey: 'dl-contest', title: 'Logo', description: '', kind: 'rnd', mode: 'contest', budget: cny(10_001n), skills: [], deadline: soon(), milestones: [], slots: 0 }, owner);
  const empty = await client.call.postTask({ idempotencyKey: 'dl-empty', title: 'Icon', description: '', kind: 'rnd', mode: 'contest', budget: cny(5_000n), skills: [], deadline: soon(), milestones: [], slots: 0 }, owner);
  for (const solverId of ['pt_dl_c1', 'pt_dl_c2', 'pt_dl_c3']) await client.call.submitToContest({ taskId: contest.id, deliverableUrl: `https://x.org/${solverId}`, note: '' }, as(solverId, 'solver'));

  await eventually(() => client.call.getTask({ taskId: contest.id }, owner), (task) => task.state !== 'open' || Date.now() > contest.deadline!.getTime(), 'the deadline');
  await expect(client.call.submitToContest({ taskId: contest.id, deliverableUrl: 'https://x.org/late', note: '' }, as('pt_dl_late', 'solver'))).rejects.toMatchObject({ code: 'INVALID_STATE' });

  const decided = await eventually(() => client.call.getTask({ taskId: contest.id }, owner), (task) => task.state === 'completed', 'the prize split by rule');
  expect(decided.winners).toHaveLength(3);
  await eventually(() => harness.balance(contest.escrowAccountId), (balance) => balance === 0n, 'the prize paid out');
  // 10 001 split 3 334 / 3 334 / 3 333 (largest remainder), each share less the fee.
  expect(decided.winners.map((winner) => (winner.solverPaid?.amountMinor ?? 0n) + (winner.fee?.amountMinor ?? 0n)).sort()).toEqual([3_333n, 3_334n, 3_334n]);
  for (const winner of decided.winners) expect(await wallet(winner.solverId)).toBe(winner.solverPaid?.amountMinor);

  await eventually(() => client.call.getTask({ taskId: empty.id }, owner), (task) => task.state === 'closed', 'the empty contest closed');
  await eventually(() => wallet('pt_dl_owner'), (balance) => balance === 5_000n, 'the empty contest refunded');
  expect(await harness.balance(empty.escrowAccountId)).toBe(0n);
});

it('closes a bidding task past its deadline without an award', async () => {
  const { client } = harness;
  const owner = as('pt_dl_bid_owner', 'enterprise');
  const task = await client.call.postTask({ idempotencyKey: 'dl-bid', title: 'Audit', description: '', kind: 'service', mode: 'bidding', budget: cny(1_000n), skills: [], deadline: soon(), milestones: [{ title: 'all', amount: cny(1_000n) }], slots: 0 }, owner);
  await client.call.placeBid({ taskId: task.id, price: cny(900n), etaDays: 1, proposal: 'ok' }, as('pt_dl_bidder', 'solver'));
  await eventually(() => client.call.getTask({ taskId: task.id }, owner), (current) => current.state === 'closed', 'the bidding task closed at its deadline');
});

it('lists a dispute unresolved past DISPUTE_RESOLUTION_MS as stuck, its money still held', async () => {
  const { client, service } = harness;
  const owner = as('pt_dl_dp_owner', 'enterprise');
  const solver = as('pt_dl_dp_solver', 'solver');
  await harness.escrow.deposit('pt_dl_dp_owner', 2_000n);
  const task = await client.call.postTask({ idempotencyKey: 'dl-dispute', title: 'Pack', description: '', kind: 'operations', mode: 'dispatch', budget: cny(2_000n), skills: [], deadline: inDays(5), milestones: [], slots: 1 }, owner);
  const assignment = await client.call.claimAssignment({ taskId: task.id, idempotencyKey: 'dl-dp-claim', solverSkills: [] }, solver);
  await client.call.submitWork({ work: { taskId: '', milestoneIndex: 0, assignmentId: assignment.id }, deliverableUrl: 'https://x.org/pack', note: '' }, solver);
  const dispute = await client.call.openDispute({ work: { taskId: '', milestoneIndex: 0, assignmentId: assignment.id }, reason: 'damaged' }, owner);

  const stuck = await eventually(() => service.exposed.work.stuckDisputes(), (records) => records.some((record) => record.id === dispute.id), 'the dispute on the stuck list');
  expect(stuck.find((record) => record.id === dispute.id)).toMatchObject({ taskId: task.id, assignmentId: assignment.id, amount: cny(2_000n) });
  expect(await harness.balance(task.escrowAccountId)).toBe(2_000n);
  // What `npm run admin -- stuck` shows: the overdue job, unfinished until an arbiter decides, with why.
  // Read between attempts (a read during one sees it `running`, its failure not yet recorded).
  const job = await eventually(() => harness.job(`dispute-overdue:${dispute.id}`), (found) => (found?.attempt ?? 0) >= schedulerStuckAfterAttempts && found?.state === 'scheduled', 'the overdue dispute listed as stuck', 60_000);
  expect(job).toMatchObject({ state: 'scheduled', lastError: expect.stringContaining(`dispute ${dispute.id} on task ${task.id} awaits an arbiter`) });

  await client.call.resolveDispute({ disputeId: dispute.id, solverShareBps: 5_000 }, as('pt_dl_dp_arbiter', 'arbiter'));
  await eventually(() => harness.job(`dispute-overdue:${dispute.id}`), (found) => found?.state === 'done', 'the overdue job done once the dispute is resolved', 90_000);
});
