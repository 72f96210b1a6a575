// Proves task-dispatch against real escrow over gRPC (MongoDB-wire server, Kafka, scheduler): bidding award refused then funded, milestones paid less the fee, a 60/40 dispute, contests split exactly, dispatch claims racing for slots with a per-solver cap, a lease expiring and its slot reclaimed, cancellation refunds, and every task's escrow at zero at the end.
import { eventually } from '../../escrow/test/support';
import { as, cny, inDays, startTaskHarness, type TaskHarness } from './support';

jest.setTimeout(120_000);

let harness: TaskHarness;
const owner = as('pt_owner', 'enterprise');
const solver = as('pt_solver', 'solver');
const arbiter = as('pt_arbiter', 'arbiter');
const fee = 'fee:platform:CNY';

beforeAll(async () => {
  harness = await startTaskHarness('task-dispatch-flows', { TASK_LEASE_MS: '5000', TASK_AUTO_ACCEPT_MS: '1500' });
});

afterAll(async () => {
  await harness?.stop();
});

const wallet = (participantId: string) => harness.balance(`wallet:${participantId}:CNY`);

describe('bidding', () => {
  it('refuses an award the wallet cannot fund, then funds, pays milestones and resolves a dispute 60/40', async () => {
    const { client } = harness;
    const task = await client.call.postTask(
      { idempotencyKey: 'bid-1', title: 'Brand book', description: 'd', kind: 'rnd', mode: 'bidding', budget: cny(10_000n), skills: ['design'], deadline: inDays(5), milestones: [{ title: 'a', amount: cny(4_000n) }, { title: 'b', amount: cny(6_000n) }], slots: 0 },
      owner,
    );
    expect(task.state).toBe('open');
    const bid = await client.call.placeBid({ taskId: task.id, price: cny(10_000n), etaDays: 3, proposal: 'I can' }, solver);
    await expect(client.call.awardTask({ taskId: task.id, bidId: bid.id, idempotencyKey: 'award-1' }, owner)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    expect((await client.call.getTask({ taskId: task.id }, owner)).state).toBe('open');

    await harness.escrow.deposit('pt_owner', 10_000n);
    const awarded = await client.call.awardTask({ taskId: task.id, bidId: bid.id, idempotencyKey: 'award-2' }, owner);
    expect(awarded).toMatchObject({ state: 'awarded', solverId: 'pt_solver' });
    expect(await harness.balance(awarded.escrowAccountId)).toBe(10_000n);
    expect(await wallet('pt_owner')).toBe(0n);
    // A replay of the award pays nothing twice.
    await client.call.awardTask({ taskId: task.id, bidId: bid.id, idempotencyKey: 'award-2' }, owner);
    expect(await harness.balance(awarded.escrowAccountId)).toBe(10_000n);

    await expect(client.call.submitWork({ work: { taskId: task.id, milestoneIndex: 0, assignmentId: '' }, deliverableUrl: 'https://x.org/a', note: '' }, as('pt_other', 'solver'))).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await client.call.submitWork({ work: { taskId: task.id, milestoneIndex: 0, assignmentId: '' }, deliverableUrl: 'https://x.org/a', note: '' }, solver);
    await client.call.acceptWork({ taskId: task.id, milestoneIndex: 0, assignmentId: '' }, owner);
    expect(await wallet('pt_solver')).toBe(3_800n);

    await client.call.submitWork({ work: { taskId: task.id, milestoneIndex: 1, assignmentId: '' }, deliverableUrl: 'https://x.org/b', note: '' }, solver);
    const dispute = await client.call.openDispute({ work: { taskId: task.id, milestoneIndex: 1, assignmentId: '' }, reason: 'incomplete' }, owner);
    const resolved = await client.call.resolveDispute({ disputeId: dispute.id, solverShareBps: 6_000 }, arbiter);
    expect(resolved.settlement).toMatchObject({ solverPaid: cny(3_420n), fee: cny(180n), ownerRefunded: cny(2_400n) });
    expect(await wallet('pt_solver')).toBe(3_800n + 3_420n);
    expect(await wallet('pt_owner')).toBe(2_400n);
    expect(await harness.balance(awarded.escrowAccountId)).toBe(0n);
    expect((await client.call.getTask({ taskId: task.id }, owner)).state).toBe('completed');
    expect(await harness.balance(fee)).toBeGreaterThanOrEqual(380n);
  });
});

describe('contest', () => {
  it('funds the pool at posting and splits it exactly among winners', async () => {
    const { client } = harness;
    await harness.escrow.deposit('pt_contest_owner', 10_001n);
    const contestOwner = as('pt_contest_owner', 'enterprise');
    const task = await client.call.postTask({ idempotencyKey: 'contest-1', title: 'Logo contest', description: '', kind: 'rnd', mode: 'contest', budget: cny(10_001n), skills: [], deadline: inDays(5), milestones: [], slots: 0 }, contestOwner);
    expect(task.state).toBe('open');
    expect(await harness.balance(task.escrowAccountId)).toBe(10_001n);
    const first = await client.call.submitToContest({ taskId: task.id, deliverableUrl: 'https://x.org/1', note: '' }, as('pt_c1', 'solver'));
    const second = await client.call.submitToContest({ taskId: task.id, deliverableUrl: 'https://x.org/2', note: '' }, as('pt_c2', 'solver'));
    const done = await client.call.nameWinners({ taskId: task.id, idempotencyKey: '', winners: [{ submissionId: first.id, shareBps: 7_000 }, { submissionId: second.id, shareBps: 3_000 }] }, contestOwner);
    expect(done.state).toBe('completed');
    const paid = (await wallet('pt_c1')) + (await wallet('pt_c2'));
    const fees = done.winners.reduce((sum, winner) => sum + (winner.fee?.amountMinor ?? 0n), 0n);
    expect(paid + fees).toBe(10_001n);
    expect(await harness.balance(task.escrowAccountId)).toBe(0n);
  });
});

describe('dispatch', () => {
  it('lets exactly `slots` of many racing solvers claim, caps each solver, expires a lease and lets another solver take the slot', async () => {
    const { client } = harness;
    await harness.escrow.deposit('pt_ops', 5_000n);
    const ops = as('pt_ops', 'enterprise');
    const task = await client.call.postTask({ idempotencyKey: 'dispatch-1', title: 'Label parcels', description: '', kind: 'operations', mode: 'dispatch', budget: cny(5_000n), skills: ['packing'], deadline: inDays(5), milestones: [], slots: 5 }, ops);
    await expect(client.call.claimAssignment({ taskId: task.id, idempotencyKey: '', solverSkills: [] }, as('pt_unskilled', 'solver'))).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    const outcomes = await Promise.allSettled(Array.from({ length: 20 }, (_, index) => client.call.claimAssignment({ taskId: task.id, idempotencyKey: '', solverSkills: ['packing'] }, as(`pt_racer_${index}`, 'solver'))));
    const claimed = outcomes.filter((outcome) => outcome.status === 'fulfilled');
    expect(claimed).toHaveLength(5);
    expect(outcomes.filter((outcome) => outcome.status === 'rejected').map((outcome) => (outcome as PromiseRejectedResult).reason.code)).toEqual(Array(15).fill('NO_SLOT_AVAILABLE'));
    expect((await client.call.getTask({ taskId: task.id }, ops)).slotsAvailable).toBe(0);

    // One solver hands in; the other four leases expire and their slots return.
    const kept = (claimed[0] as PromiseFulfilledResult<Awaited<ReturnType<typeof client.call.claimAssignment>>>).value;
    await client.call.submitWork({ work: { taskId: '', milestoneIndex: 0, assignmentId: kept.id }, deliverableUrl: 'https://x.org/p', note: '' }, as(kept.solverId, 'solver'));
    await eventually(() => client.call.getTask({ taskId: task.id }, ops), (current) => current.slotsAvailable === 4, 'four slots back');
    const late = await client.call.claimAssignment({ taskId: task.id, idempotencyKey: 'late-1', solverSkills: ['packing'] }, as('pt_late', 'solver'));
    expect(late.lease).toBe('held');
    // Silence accepts the handed-in assignment: paid less the fee.
    await eventually(() => wallet(kept.solverId), (balance) => balance === 950n, 'auto-accepted payout');

    // The per-solver cap of open assignments.
    await harness.escrow.deposit('pt_ops', 10_000n);
    const many = await client.call.postTask({ idempotencyKey: 'dispatch-2', title: 'More parcels', description: '', kind: 'operations', mode: 'dispatch', budget: cny(10_000n), skills: [], deadline: inDays(5), milestones: [], slots: 10 }, ops);
    const busy = as('pt_busy', 'solver');
    for (let index = 0; index < 5; index += 1) await client.call.claimAssignment({ taskId: many.id, idempotencyKey: `busy-${index}`, solverSkills: [] }, busy);
    await expect(client.call.claimAssignment({ taskId: many.id, idempotencyKey: 'busy-5', solverSkills: [] }, busy)).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });

    // Cancelling refunds the unclaimed slots now and the expiring leases as they end; the escrow ends at zero.
    const cancelled = await client.call.cancelTask({ taskId: many.id }, ops);
    expect(cancelled.refundedAtCancellation).toEqual(cny(5_000n));
    await eventually(() => harness.balance(many.escrowAccountId), (balance) => balance === 0n, 'escrow of the cancelled task at zero');
  });

  it('closes a dispatch task at its deadline: unclaimed slots refunded now, a claimed slot when its lease expires', async () => {
    const { client } = harness;
    const closer = as('pt_closer', 'enterprise');
    await harness.escrow.deposit('pt_closer', 3_000n);
    const task = await client.call.postTask(
      { idempotencyKey: 'close-1', title: 'Quick job', description: '', kind: 'operations', mode: 'dispatch', budget: cny(3_000n), skills: [], deadline: new Date(Date.now() + 3_000), milestones: [], slots: 3 },
      closer,
    );
    await client.call.claimAssignment({ taskId: task.id, idempotencyKey: 'close-claim', solverSkills: [] }, as('pt_close_solver', 'solver'));
    const closed = await eventually(() => client.call.getTask({ taskId: task.id }, closer), (current) => current.state === 'closed', 'the deadline to close the task');
    expect(closed.refundedAtClose).toEqual(cny(2_000n));
    await expect(client.call.claimAssignment({ taskId: task.id, idempotencyKey: '', solverSkills: [] }, as('pt_close_late', 'solver'))).rejects.toMatchObject({ code: 'INVALID_STATE' });
    await eventually(() => harness.balance(task.escrowAccountId), (balance) => balance === 0n, 'the claimed slot refunded after its lease');
    expect(await wallet('pt_closer')).toBe(3_000n);
  });
});
