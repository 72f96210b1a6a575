// Proves a claim interrupted between its steps (the solver's place and the slot taken, the assignment never written, as after a crash) leaks nothing: when its lease ends, the lease job finishes the claim and gives the solver's place and the slot back.
import { deterministicId, ManualClock } from '@sizhong/kit';
import { eventually } from '@sizhong/testkit';
import { as, cny, inDays, startTaskHarness, type TaskHarness } from './support';

jest.setTimeout(60_000);

let harness: TaskHarness;
const clock = new ManualClock(new Date());
const leaseMs = 3_600_000;

beforeAll(async () => {
  // Recovery is left far behind the lease here, so the lease job is what finds the interrupted claim.
  harness = await startTaskHarness('task-dispatch-claim-crash', { TASK_LEASE_MS: String(leaseMs), SAGA_RECOVERY_AGE_MS: String(100 * leaseMs) }, { clock });
});

afterAll(async () => {
  await harness?.stop();
});

it('returns the solver’s place and the slot of a claim that crashed before its assignment was written', async () => {
  const { client, service } = harness;
  const { stores } = service.exposed;
  const owner = as('pt_crash_owner', 'enterprise');
  await harness.escrow.deposit('pt_crash_owner', 2_000n);
  const task = await client.call.postTask({ idempotencyKey: 'crash-1', title: 'Count stock', description: '', kind: 'operations', mode: 'dispatch', budget: cny(2_000n), skills: [], deadline: inDays(5), milestones: [], slots: 2 }, owner);

  // The claim's first steps as the process made them before it died: the solver's place, then the slot.
  const create = jest.spyOn(stores.assignments, 'create').mockRejectedValueOnce(new Error('the process died'));
  await expect(client.call.claimAssignment({ taskId: task.id, idempotencyKey: 'crash-key', solverSkills: [] }, as('pt_crash_solver', 'solver'))).rejects.toThrow();
  create.mockRestore();
  const assignmentId = deterministicId('as', 'claim', task.id, 'pt_crash_solver', 'crash-key');
  expect(await stores.assignments.load(assignmentId)).toBeUndefined();
  expect((await client.call.getTask({ taskId: task.id }, owner)).slotsAvailable).toBe(1);

  // The lease of that claim ends: its job runs.
  clock.advance(leaseMs + 1_000);
  await eventually(async () => (await client.call.getTask({ taskId: task.id }, owner)).slotsAvailable, (available) => available === 2, 'the slot back in the pool');
  await eventually(async () => Number((await stores.solverLoads.load('pt_crash_solver'))?.counters['open'] ?? 0), (open) => open === 0, 'the solver’s place released');
  expect((await stores.assignments.get(assignmentId)).state.lease).toBe('expired');
});
