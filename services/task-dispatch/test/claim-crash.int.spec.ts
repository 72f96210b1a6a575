// Proves a claim interrupted between its steps (the solver's place and the slot taken, the assignment never written, as after a crash) leaks nothing: the lease job gives the solver's place and the slot back.
import { deterministicId } from '@sizhong/kit';
import { taskCounters } from '../src/storage/stores';
import { as, cny, inDays, startTaskHarness, type TaskHarness } from './support';

jest.setTimeout(60_000);

let harness: TaskHarness;

beforeAll(async () => {
  harness = await startTaskHarness('task-dispatch-claim-crash');
});

afterAll(async () => {
  await harness?.stop();
});

it('returns the solver’s place and the slot of a claim that crashed before its assignment was written', async () => {
  const { client, service } = harness;
  const { stores, dispatch } = service.exposed;
  await harness.escrow.deposit('pt_crash_owner', 2_000n);
  const task = await client.call.postTask({ idempotencyKey: 'crash-1', title: 'Count stock', description: '', kind: 'operations', mode: 'dispatch', budget: cny(2_000n), skills: [], deadline: inDays(5), milestones: [], slots: 2 }, as('pt_crash_owner', 'enterprise'));

  // The claim's first steps as the process made them before it died: the solver's place, then the slot.
  const assignmentId = deterministicId('as', 'claim', task.id, 'pt_crash_solver', 'crash-key');
  await stores.solverLoads.create('pt_crash_solver', { solverId: 'pt_crash_solver' }, [], undefined, { open: 0 });
  await stores.solverLoads.incrementCounters('pt_crash_solver', `claim:${assignmentId}`, { open: 1 });
  await stores.tasks.incrementCounters(task.id, `claim:${assignmentId}`, { [taskCounters.slotsAvailable]: -1 });
  expect((await client.call.getTask({ taskId: task.id }, as('pt_crash_owner', 'enterprise'))).slotsAvailable).toBe(1);

  // The lease job of that claim runs.
  await dispatch.expireLease(assignmentId, task.id);
  expect((await client.call.getTask({ taskId: task.id }, as('pt_crash_owner', 'enterprise'))).slotsAvailable).toBe(2);
  expect(Number((await stores.solverLoads.load('pt_crash_solver'))?.counters['open'] ?? 0)).toBe(0);
});
