// Proves a contest's cancellation cannot miss an entry submitted while it runs: an entry that lands between the cancel's read of the entries and its write makes the cancel refuse (422), the entry stands, the prize stays in escrow and the contest keeps taking entries.
import { as, cny, inDays, startTaskHarness, type TaskHarness } from './support';

jest.setTimeout(60_000);

let harness: TaskHarness;

beforeAll(async () => {
  harness = await startTaskHarness('task-dispatch-contest-cancel');
});

afterAll(async () => {
  await harness?.stop();
});

it('refuses to cancel a contest whose first entry lands while the cancel reads the entries', async () => {
  const { client, service } = harness;
  const { stores } = service.exposed;
  const owner = as('pt_cc_owner', 'enterprise');
  await harness.escrow.deposit('pt_cc_owner', 5_000n);
  const task = await client.call.postTask({ idempotencyKey: 'cc-1', title: 'Logo', description: '', kind: 'service', mode: 'contest', budget: cny(5_000n), skills: [], deadline: inDays(5), milestones: [], slots: 0 }, owner);

  // The cancel reads the task (no entries yet); the entry lands before the cancel's write.
  const get = stores.tasks.get.bind(stores.tasks);
  let entered: Promise<unknown> | undefined;
  jest.spyOn(stores.tasks, 'get').mockImplementationOnce(async (id, what) => {
    const before = await get(id, what);
    entered = client.call.submitToContest({ taskId: task.id, deliverableUrl: 'https://x.org/logo', note: '' }, as('pt_cc_entrant', 'solver'));
    await entered.catch(() => undefined);
    return before;
  });
  const cancelled = await client.call.cancelTask({ taskId: task.id }, owner).then(
    (answer) => ({ answer }),
    (error: { code?: string }) => ({ error }),
  );
  jest.restoreAllMocks();

  const entry = await entered!.then(
    () => 'entered',
    () => 'refused',
  );
  if (entry === 'entered') {
    // The entrant did the work: the contest cannot be cancelled, its prize stays in escrow, it still takes entries.
    expect(cancelled).toMatchObject({ error: { code: 'INVALID_STATE' } });
    expect((await client.call.getTask({ taskId: task.id }, owner)).state).toBe('open');
    expect(await harness.balance(task.escrowAccountId)).toBe(5_000n);
    await client.call.submitToContest({ taskId: task.id, deliverableUrl: 'https://x.org/logo-2', note: '' }, as('pt_cc_second', 'solver'));
  } else {
    // Or the cancel came first: no entry, the prize back with the owner.
    expect(cancelled).toHaveProperty('answer');
    expect(await harness.balance(task.escrowAccountId)).toBe(0n);
  }
  expect(entry).toBe('entered');
});
