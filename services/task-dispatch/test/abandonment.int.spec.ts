// Proves a rejected piece of work that is not handed in again within TASK_RESUBMIT_WINDOW_MS closes as abandoned: the solver's place is released and the money returns to the owner (a one-slot dispatch task and a bidding milestone), while a dispute opened within the window stops the clock.
import { eventually } from '@sizhong/testkit';
import { as, cny, inDays, startTaskHarness, type TaskHarness } from './support';

jest.setTimeout(90_000);

let harness: TaskHarness;
const arbiter = as('pt_ab_arbiter', 'arbiter');
const resubmitWindowMs = 1_500;

beforeAll(async () => {
  harness = await startTaskHarness('task-dispatch-abandonment', { TASK_RESUBMIT_WINDOW_MS: String(resubmitWindowMs), TASK_AUTO_ACCEPT_MS: '600000', TASK_LEASE_MS: '600000' });
});

afterAll(async () => {
  await harness?.stop();
});

const wallet = (participantId: string) => harness.balance(`wallet:${participantId}:CNY`);
const assignmentRef = (assignmentId: string) => ({ taskId: '', milestoneIndex: 0, assignmentId });

it('returns a one-slot dispatch task’s money to its owner when the solver walks away after a rejection', async () => {
  const { client, service } = harness;
  const owner = as('pt_ab_owner', 'enterprise');
  const solver = as('pt_ab_solver', 'solver');
  await harness.escrow.deposit('pt_ab_owner', 10_000n);
  const task = await client.call.postTask({ idempotencyKey: 'ab-1', title: 'Scan forms', description: '', kind: 'operations', mode: 'dispatch', budget: cny(10_000n), skills: [], deadline: new Date(Date.now() + 3_000), milestones: [], slots: 1 }, owner);
  const assignment = await client.call.claimAssignment({ taskId: task.id, idempotencyKey: 'ab-claim', solverSkills: [] }, solver);
  await client.call.submitWork({ work: assignmentRef(assignment.id), deliverableUrl: 'https://x.org/scan', note: '' }, solver);
  await client.call.rejectWork({ work: assignmentRef(assignment.id), reason: 'blurry' }, owner);

  // The solver never hands in again: after the window (and the task's deadline) the owner has the money back.
  await eventually(() => wallet('pt_ab_owner'), (balance) => balance === 10_000n, 'the slot’s money back with the owner');
  expect(await harness.balance(task.escrowAccountId)).toBe(0n);
  expect(await wallet('pt_ab_solver')).toBe(0n);
  expect((await client.call.getAssignment({ assignmentId: assignment.id }, owner)).work?.state).toBe('abandoned');
  // The solver's place under the cap is released.
  const load = await service.exposed.stores.solverLoads.load('pt_ab_solver');
  expect(Number(load?.counters['open'] ?? 0)).toBe(0);
});

it('refunds an abandoned bidding milestone to the owner, and a dispute opened within the window stops the clock', async () => {
  const { client } = harness;
  const owner = as('pt_ab_bid_owner', 'enterprise');
  const solver = as('pt_ab_bid_solver', 'solver');
  await harness.escrow.deposit('pt_ab_bid_owner', 10_000n);
  const task = await client.call.postTask(
    { idempotencyKey: 'ab-2', title: 'Report', description: '', kind: 'service', mode: 'bidding', budget: cny(10_000n), skills: [], deadline: inDays(5), milestones: [{ title: 'a', amount: cny(4_000n) }, { title: 'b', amount: cny(6_000n) }], slots: 0 },
    owner,
  );
  const bid = await client.call.placeBid({ taskId: task.id, price: cny(10_000n), etaDays: 2, proposal: 'ok' }, solver);
  await client.call.awardTask({ taskId: task.id, bidId: bid.id, idempotencyKey: 'ab-award' }, owner);
  const milestone = (index: number) => ({ taskId: task.id, milestoneIndex: index, assignmentId: '' });
  for (const index of [0, 1]) {
    await client.call.submitWork({ work: milestone(index), deliverableUrl: `https://x.org/r${index}`, note: '' }, solver);
    await client.call.rejectWork({ work: milestone(index), reason: 'not yet' }, owner);
  }
  // The solver disputes the second rejection within the window.
  const dispute = await client.call.openDispute({ work: milestone(1), reason: 'the report is complete' }, solver);

  // Milestone 0 is abandoned: its 40.00 returns to the owner; milestone 1 stays held while disputed.
  await eventually(() => wallet('pt_ab_bid_owner'), (balance) => balance === 4_000n, 'the abandoned milestone refunded');
  await new Promise((resolve) => setTimeout(resolve, resubmitWindowMs * 2));
  const current = await client.call.getTask({ taskId: task.id }, owner);
  expect(current.milestones.map((entry) => entry.work?.state)).toEqual(['abandoned', 'disputed']);
  expect(await harness.balance(task.escrowAccountId)).toBe(6_000n);

  await client.call.resolveDispute({ disputeId: dispute.id, solverShareBps: 10_000 }, arbiter);
  expect(await wallet('pt_ab_bid_solver')).toBe(5_700n);
  expect(await harness.balance(task.escrowAccountId)).toBe(0n);
  expect((await client.call.getTask({ taskId: task.id }, owner)).state).toBe('completed');
});
