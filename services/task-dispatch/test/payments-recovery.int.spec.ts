// Proves payments always finish: with escrow down (its port closed) while an owner accepts handed-in assignments, every solver is paid once escrow is back — also when an earlier submission's auto-accept already ran a backstop for the same work (a job id names one piece of work once).
import { eventually } from '@sizhong/testkit';
import { as, cny, inDays, startTaskHarness, type TaskHarness } from './support';

jest.setTimeout(120_000);

let harness: TaskHarness;
/** Longer than the settlement job's old five attempts (about 15 s after TASK_PAYMENT_RETRY_MS). */
const escrowDownMs = 20_000;
const autoAcceptMs = 1_500;

beforeAll(async () => {
  harness = await startTaskHarness(
    'task-dispatch-escrow-down',
    { TASK_PAYMENT_RETRY_MS: '500', TASK_AUTO_ACCEPT_MS: String(autoAcceptMs), SAGA_RECOVERY_AGE_MS: '500', SAGA_RECOVERY_INTERVAL_MS: '200' },
    { escrowBehindProxy: true },
  );
});

afterAll(async () => {
  await harness?.stop();
});

const wallet = (participantId: string) => harness.balance(`wallet:${participantId}:CNY`);
const assignmentRef = (assignmentId: string) => ({ taskId: '', milestoneIndex: 0, assignmentId });

it('pays every solver whose work was accepted while escrow was down, after escrow returns', async () => {
  const { client } = harness;
  const owner = as('pt_down_owner', 'enterprise');
  const solvers = ['pt_down_s1', 'pt_down_s2', 'pt_down_s3'];
  await harness.escrow.deposit('pt_down_owner', 3_000n);
  const task = await client.call.postTask({ idempotencyKey: 'down-1', title: 'Sort mail', description: '', kind: 'operations', mode: 'dispatch', budget: cny(3_000n), skills: [], deadline: inDays(5), milestones: [], slots: 3 }, owner);
  const assignments = [];
  for (const solverId of solvers) {
    const assignment = await client.call.claimAssignment({ taskId: task.id, idempotencyKey: `claim-${solverId}`, solverSkills: [] }, as(solverId, 'solver'));
    await client.call.submitWork({ work: assignmentRef(assignment.id), deliverableUrl: 'https://x.org/mail', note: '' }, as(solverId, 'solver'));
    assignments.push(assignment);
  }

  // Given escrow's port closed, when the owner accepts every hand-in, then every accept answers.
  await harness.escrowProxy!.close();
  for (const assignment of assignments) {
    const accepted = await client.call.acceptWork(assignmentRef(assignment.id), owner);
    expect(accepted.result).toMatchObject({ $case: 'assignment' });
  }
  await new Promise((resolve) => setTimeout(resolve, escrowDownMs));

  // When escrow is back, then every solver is paid (less the fee) and the task's escrow is empty.
  await harness.escrowProxy!.open();
  for (const solverId of solvers) await eventually(() => wallet(solverId), (balance) => balance === 950n, `${solverId} paid after escrow returned`, 60_000);
  await eventually(() => harness.balance(task.escrowAccountId), (balance) => balance === 0n, 'the task’s escrow empty');
});

it('pays an accepted second submission although the first submission’s auto-accept already ran its backstop', async () => {
  const { client } = harness;
  const owner = as('pt_again_owner', 'enterprise');
  const solver = as('pt_again_solver', 'solver');
  await harness.escrow.deposit('pt_again_owner', 1_000n);
  const task = await client.call.postTask({ idempotencyKey: 'again-1', title: 'Tag photos', description: '', kind: 'operations', mode: 'dispatch', budget: cny(1_000n), skills: [], deadline: inDays(5), milestones: [], slots: 1 }, owner);
  const assignment = await client.call.claimAssignment({ taskId: task.id, idempotencyKey: 'again-claim', solverSkills: [] }, solver);
  await client.call.submitWork({ work: assignmentRef(assignment.id), deliverableUrl: 'https://x.org/tags', note: '' }, solver);
  await client.call.rejectWork({ work: assignmentRef(assignment.id), reason: 'missing tags' }, owner);
  // The first hand-in's silence window ends after its rejection: its auto-accept job runs (and does nothing).
  await eventually(() => harness.job(`auto-accept:${assignment.id}:1`), (job) => job?.state === 'done', 'the first auto-accept job run');
  await new Promise((resolve) => setTimeout(resolve, 1_500));

  await client.call.submitWork({ work: assignmentRef(assignment.id), deliverableUrl: 'https://x.org/tags2', note: '' }, solver);
  await harness.escrowProxy!.close();
  const accepted = await client.call.acceptWork(assignmentRef(assignment.id), owner);
  expect(accepted.result).toMatchObject({ $case: 'assignment' });
  await new Promise((resolve) => setTimeout(resolve, autoAcceptMs * 2));
  await harness.escrowProxy!.open();

  await eventually(() => wallet('pt_again_solver'), (balance) => balance === 950n, 'the solver paid after escrow returned', 45_000);
  await eventually(() => harness.balance(task.escrowAccountId), (balance) => balance === 0n, 'the task’s escrow empty');
});
