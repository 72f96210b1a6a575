// Proves a dispatch claim that crashed after taking the solver's place and the slot (its assignment never written) is finished forward by recovery and leaks neither, even after more than 64 other claims moved the task's counters (the window in which a keyed increment is recognised): the slot and the place are counted once, and given back once when the lease ends.
import { deterministicId, ManualClock } from '@sizhong/kit';
import { eventually } from '@sizhong/testkit';
import { as, cny, inDays, startTaskHarness, type TaskHarness } from './support';

jest.setTimeout(60_000);

let harness: TaskHarness;
const clock = new ManualClock(new Date());
const leaseMs = 3_600_000;
const recoveryAgeMs = 30_000;
/** More other claims on the task than the 64 increment keys a document remembers. */
const otherClaims = 70;
const slots = 100;

beforeAll(async () => {
  harness = await startTaskHarness('task-dispatch-claim-recovery', { TASK_LEASE_MS: String(leaseMs), SAGA_RECOVERY_AGE_MS: String(recoveryAgeMs), SAGA_RECOVERY_INTERVAL_MS: '200' }, { clock });
});

afterAll(async () => {
  await harness?.stop();
});

const openOf = async (solverId: string) => Number((await harness.service.exposed.stores.solverLoads.load(solverId))?.counters['open'] ?? 0);

it('finishes a claim that crashed after its slot was taken, forward, and gives its slot and place back once, after more than 64 other claims', async () => {
  const { client, service } = harness;
  const owner = as('pt_rec_owner', 'enterprise');
  const solver = as('pt_rec_solver', 'solver');
  await harness.escrow.deposit('pt_rec_owner', 10_000n);
  const task = await client.call.postTask({ idempotencyKey: 'rec-1', title: 'Label photos', description: '', kind: 'operations', mode: 'dispatch', budget: cny(10_000n), skills: [], deadline: inDays(5), milestones: [], slots }, owner);
  const slotsAvailable = async () => (await client.call.getTask({ taskId: task.id }, owner)).slotsAvailable;

  // The process dies after the place and the slot were taken, before the assignment is written.
  const create = jest.spyOn(service.exposed.stores.assignments, 'create').mockRejectedValueOnce(new Error('the process died'));
  await expect(client.call.claimAssignment({ taskId: task.id, idempotencyKey: 'crashed', solverSkills: [] }, solver)).rejects.toThrow();
  create.mockRestore();
  expect(await slotsAvailable()).toBe(slots - 1);

  for (let index = 0; index < otherClaims; index += 1) {
    await client.call.claimAssignment({ taskId: task.id, idempotencyKey: `other-${index}`, solverSkills: [] }, as(`pt_rec_other_${index}`, 'solver'));
  }
  expect(await slotsAvailable()).toBe(slots - 1 - otherClaims);

  // Recovery drives the crashed claim on: its assignment is written, its slot and place counted once.
  clock.advance(2 * recoveryAgeMs);
  const assignmentId = deterministicId('as', 'claim', task.id, 'pt_rec_solver', 'crashed');
  const recovered = await eventually(
    () => client.call.getAssignment({ assignmentId }, solver).catch(() => undefined),
    (assignment) => assignment !== undefined,
    'the crashed claim’s assignment written by recovery',
    15_000,
  );
  expect(recovered?.lease).toBe('held');
  expect(await slotsAvailable()).toBe(slots - 1 - otherClaims);
  expect(await openOf('pt_rec_solver')).toBe(1);

  // The client's same-key retry answers the same assignment and takes nothing more.
  const retried = await client.call.claimAssignment({ taskId: task.id, idempotencyKey: 'crashed', solverSkills: [] }, solver);
  expect(retried.id).toBe(assignmentId);
  expect(await slotsAvailable()).toBe(slots - 1 - otherClaims);
  expect(await openOf('pt_rec_solver')).toBe(1);

  // Every lease ends without a hand-in: every slot back in the pool once, every place released once.
  clock.advance(leaseMs);
  await eventually(slotsAvailable, (available) => available === slots, 'every slot back in the pool');
  expect(await openOf('pt_rec_solver')).toBe(0);
  for (let index = 0; index < otherClaims; index += 1) expect(await openOf(`pt_rec_other_${index}`)).toBe(0);
  expect(await slotsAvailable()).toBe(slots);
});
