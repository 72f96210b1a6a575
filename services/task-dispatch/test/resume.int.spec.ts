// Proves the money sagas resume after a crash without paying twice: an award whose transfer went through before the process died is completed by the resume job (even two at once), and the settlement job repeated any number of times pays a milestone once.
import { deterministicId } from '@sizhong/kit';
import { startAward } from '../src/domain';
import { as, cny, inDays, startTaskHarness, type TaskHarness } from './support';

jest.setTimeout(120_000);

let harness: TaskHarness;
const owner = as('pt_resume_owner', 'enterprise');
const solver = as('pt_resume_solver', 'solver');

beforeAll(async () => {
  harness = await startTaskHarness('task-dispatch-resume');
});

afterAll(async () => {
  await harness?.stop();
});

const wallet = (participantId: string) => harness.balance(`wallet:${participantId}:CNY`);

it('completes an award interrupted after its transfer, once, and pays a milestone once however often settlement runs', async () => {
  const { client, service } = harness;
  const { tasks, work, stores } = service.exposed;
  const task = await client.call.postTask(
    { idempotencyKey: 'resume-1', title: 'Audit', description: '', kind: 'service', mode: 'bidding', budget: cny(8_000n), skills: [], deadline: inDays(5), milestones: [{ title: 'all', amount: cny(8_000n) }], slots: 0 },
    owner,
  );
  const bid = await client.call.placeBid({ taskId: task.id, price: cny(8_000n), etaDays: 2, proposal: 'ok' }, solver);
  await harness.escrow.deposit('pt_resume_owner', 8_000n);

  // The process wrote step 1 (the task is `awarding`) and made the transfer, then died before step 3.
  await stores.tasks.update(task.id, (current) => ({ state: startAward(current.state, 'pt_resume_owner', { bidId: bid.id, solverId: 'pt_resume_solver', price: cny(8_000n), taskId: task.id }, 'award-key').task, events: [], result: undefined }));
  await harness.escrow.ledger.call.openAccount({ kind: 2, ownerId: `task:${task.id}`, currency: 'CNY' });
  await harness.escrow.ledger.call.createTransfer({
    transferId: deterministicId('tr', 'task-funding', task.id, 'award:award-key'),
    mode: 1,
    debitAccountId: 'wallet:pt_resume_owner:CNY',
    creditAccountId: `escrow:task:${task.id}:CNY`,
    amount: cny(8_000n),
    timeoutMs: 0n,
    referenceKind: 'task',
    referenceId: task.id,
  });
  expect((await client.call.getTask({ taskId: task.id }, owner)).state).toBe('awarding');

  // The resume job (twice at once, as two replicas might) and a client retry with the same key.
  await Promise.all([tasks.resumeFunding(task.id), tasks.resumeFunding(task.id)]);
  const retried = await client.call.awardTask({ taskId: task.id, bidId: bid.id, idempotencyKey: 'award-key' }, owner);
  expect(retried.state).toBe('awarded');
  expect(await harness.balance(retried.escrowAccountId)).toBe(8_000n);
  expect(await wallet('pt_resume_owner')).toBe(0n);

  await client.call.submitWork({ work: { taskId: task.id, milestoneIndex: 0, assignmentId: '' }, deliverableUrl: 'https://x.org/audit', note: '' }, solver);
  await client.call.acceptWork({ taskId: task.id, milestoneIndex: 0, assignmentId: '' }, owner);
  for (let run = 0; run < 3; run += 1) await work.settle({ subject: { taskId: task.id }, decision: 'm0:accept:1' });
  await Promise.all([work.settle({ subject: { taskId: task.id }, decision: 'm0:accept:1' }), work.settle({ subject: { taskId: task.id }, decision: 'm0:accept:1' })]);
  expect(await wallet('pt_resume_solver')).toBe(7_600n);
  expect(await harness.balance(retried.escrowAccountId)).toBe(0n);
});
