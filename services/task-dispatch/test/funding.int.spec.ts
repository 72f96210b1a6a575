// Proves funding (a contest or dispatch task at posting, a bidding task at award) is a saga whose same-key retries answer from its record: a refused funding answers the same refusal even after a top-up (a new key funds), and a funding whose answer was lost (escrow made the transfer, the caller saw DEADLINE_EXCEEDED) is completed by recovery, never refunded.
import { deterministicId, installGrpcFaults, parseGrpcFaultPlan } from '@sizhong/kit';
import { eventually } from '@sizhong/testkit';
import { as, cny, inDays, startTaskHarness, type TaskHarness } from './support';

jest.setTimeout(60_000);

let harness: TaskHarness;

beforeAll(async () => {
  harness = await startTaskHarness('task-dispatch-funding', { SAGA_RECOVERY_AGE_MS: '500', SAGA_RECOVERY_INTERVAL_MS: '200', TASK_PAYMENT_RETRY_MS: '600000' });
});

afterAll(async () => {
  installGrpcFaults(undefined);
  await harness?.stop();
});

const wallet = (participantId: string) => harness.balance(`wallet:${participantId}:CNY`);
/** One deadline for every posting, so a retry is the same request. */
const deadline = inDays(5);
const contest = (key: string) => ({ idempotencyKey: key, title: 'Poster', description: '', kind: 'service', mode: 'contest', budget: cny(3_000n), skills: [], deadline, milestones: [], slots: 0 });

it('answers a refused posting’s same-key retry with the same refusal after a top-up; a new key funds it', async () => {
  const { client } = harness;
  const owner = as('pt_fund_poor', 'enterprise');
  await harness.escrow.deposit('pt_fund_poor', 1_000n);
  await expect(client.call.postTask(contest('poor-1'), owner)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });

  await harness.escrow.deposit('pt_fund_poor', 5_000n);
  await expect(client.call.postTask(contest('poor-1'), owner)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
  expect(await wallet('pt_fund_poor')).toBe(6_000n);

  const posted = await client.call.postTask(contest('poor-2'), owner);
  expect(posted.state).toBe('open');
  expect(await wallet('pt_fund_poor')).toBe(3_000n);
});

it('answers a refused award’s same-key retry with the same refusal after a top-up, and the task stays open for a new key', async () => {
  const { client } = harness;
  const owner = as('pt_fund_award_owner', 'enterprise');
  const solver = as('pt_fund_award_solver', 'solver');
  const task = await client.call.postTask(
    { idempotencyKey: 'award-task', title: 'Audit', description: '', kind: 'service', mode: 'bidding', budget: cny(4_000n), skills: [], deadline, milestones: [{ title: 'all', amount: cny(4_000n) }], slots: 0 },
    owner,
  );
  const bid = await client.call.placeBid({ taskId: task.id, price: cny(4_000n), etaDays: 2, proposal: 'ok' }, solver);
  await expect(client.call.awardTask({ taskId: task.id, bidId: bid.id, idempotencyKey: 'award-a' }, owner)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
  expect((await client.call.getTask({ taskId: task.id }, owner)).state).toBe('open');

  await harness.escrow.deposit('pt_fund_award_owner', 4_000n);
  await expect(client.call.awardTask({ taskId: task.id, bidId: bid.id, idempotencyKey: 'award-a' }, owner)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
  expect((await client.call.getTask({ taskId: task.id }, owner)).state).toBe('open');

  const awarded = await client.call.awardTask({ taskId: task.id, bidId: bid.id, idempotencyKey: 'award-b' }, owner);
  expect(awarded.state).toBe('awarded');
  expect(await harness.balance(awarded.escrowAccountId)).toBe(4_000n);
});

it('completes a posting whose funding transfer’s answer was lost, by recovery, without refunding it', async () => {
  const { client, service } = harness;
  const owner = as('pt_fund_lost', 'enterprise');
  await harness.escrow.deposit('pt_fund_lost', 3_000n);

  // Escrow makes the transfer; its answer is lost on the way back (the kit's fault injection, for this one call).
  const { escrow } = service.exposed;
  const transfer = escrow.transfer.bind(escrow);
  jest.spyOn(escrow, 'transfer').mockImplementationOnce(async (order) => {
    installGrpcFaults(parseGrpcFaultPlan('seed=1,lostAnswer=1'));
    try {
      await transfer(order);
    } finally {
      installGrpcFaults(undefined);
    }
  });
  await expect(client.call.postTask(contest('lost-1'), owner)).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  jest.restoreAllMocks();
  expect(await wallet('pt_fund_lost')).toBe(0n);

  // Recovery finishes the funding: the task opens with its money in escrow, nothing goes back.
  const taskId = deterministicId('tk', 'task', 'pt_fund_lost', 'lost-1');
  const opened = await eventually(() => client.call.getTask({ taskId }, owner), (task) => task.state === 'open', 'the task opened by recovery', 15_000);
  expect(await harness.balance(opened.escrowAccountId)).toBe(3_000n);
  expect(await wallet('pt_fund_lost')).toBe(0n);
  const retried = await client.call.postTask(contest('lost-1'), owner);
  expect(retried.id).toBe(taskId);
  expect(retried.state).toBe('open');
});
