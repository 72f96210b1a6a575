/**
 * `npm run bench:task-claims`:
 * claims on ONE hot dispatch task through task-dispatch's gRPC API (task-dispatch and escrow each
 * run as their own process, as in production), against a bare baseline of one `insertOne` per
 * request on the same MongoDB-wire server in the same run, both at BENCH_CONCURRENCY in flight.
 *
 * A claim is a guarded decrement of the task's slot counter plus the assignment document (the
 * claim) and the solver's open-assignment counter; it never rewrites the task document, so claims
 * on one task do not serialise on it (services/task-dispatch/src/app/dispatch.ts counts the round
 * trips: 1 read, 1 job insert, 2 guarded increments, 1 insert). Every claim is by a different solver
 * (the per-solver cap is 5), the task has exactly as many slots as claims, leases last an hour.
 *
 * Settings (environment), with their defaults:
 *   BENCH_CONCURRENCY=16   requests in flight
 *   BENCH_CLAIMS=2000      claims measured, and inserts of the baseline
 *   BENCH_WARMUP=300       unmeasured claims (on a task of their own) and inserts first
 *   BENCH_LOG_LEVEL=warn   the children's LOG_LEVEL
 * Not part of `npm test`. Everything the run creates is removed at the end, also on failure or Ctrl-C.
 */
import { checkHealth, connectMongo, createGrpcClient, type MongoConnection } from '@sizhong/kit';
import { escrowV1, taskDispatchV1 } from '@sizhong/proto';
import { findFreePort } from '../packages/testkit/src/infra';
import { join } from 'node:path';
import { CpuMeter, findServerProcesses } from './support/cpu-meter';
import { completedPerSecond, requireAllCompleted, runClosedLoop, type RunResult, sleep } from './support/driver';
import { signedDeposit } from './support/fixtures';
import { Cleanup, deleteTopicsAtCleanup, dropDatabasesAtCleanup, repositoryRoot, startEscrowChild, startInfrastructure, startNodeChild } from './support/processes';
import { describeMachine, formatPercent, integerSetting, printHeader, printPasteBlock, printResultLine, resultTable, type TableRow } from './support/report';

const concurrency = integerSetting('BENCH_CONCURRENCY', 16);
const claims = integerSetting('BENCH_CLAIMS', 2_000);
const warmup = integerSetting('BENCH_WARMUP', 300, 0);
const logLevel = process.env['BENCH_LOG_LEVEL'] ?? 'warn';
const webhookSecret = `bench-webhook-secret-${'0123456789abcdef'.repeat(2)}`;
const runId = Date.now().toString(36);
const callDeadlineMs = 120_000;
/** Pay of one assignment, in minor units. */
const perSlotMinor = 100n;
const owner = { participantId: `pt_bench_owner_${runId}`, roles: ['enterprise' as const] };
const solver = (scope: string, index: number) => ({ participantId: `pt_bench_${scope}_${runId}_${index}`, roles: ['solver' as const] });

async function main(): Promise<void> {
  const cleanup = new Cleanup();
  try {
    await run(cleanup);
  } finally {
    await cleanup.run();
  }
}

async function run(cleanup: Cleanup): Promise<void> {
  printHeader('Task claims benchmark (one hot dispatch task)', 'bench:task-claims', { concurrency, claims, warmup });
  const infrastructure = await startInfrastructure(cleanup);
  const database = `bench_tasks_${runId}`;
  const topicPrefix = `bench-tasks-${runId}.`;
  dropDatabasesAtCleanup(cleanup, infrastructure.mongoUrl, [`${database}_escrow`, `${database}_tasks`, `${database}_baseline`]);
  deleteTopicsAtCleanup(cleanup, infrastructure.kafkaBrokers, topicPrefix);
  const escrow = await startEscrowChild(cleanup, { infrastructure, database: `${database}_escrow`, topicPrefix, webhookSecret, logLevel });
  const port = await findFreePort();
  const tasksChild = startNodeChild(cleanup, {
    name: 'task-dispatch',
    script: join(repositoryRoot, 'services', 'task-dispatch', 'src', 'main.ts'),
    environment: {
      ...process.env,
      MONGO_URL: infrastructure.mongoUrl,
      KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
      TASK_DISPATCH_DATABASE: `${database}_tasks`,
      KAFKA_TOPIC_PREFIX: topicPrefix,
      ESCROW_GRPC_ADDRESS: escrow.address,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: String(port),
      LOG_LEVEL: logLevel,
      DEADLINE_MIN_MS: '1000',
      TASK_LEASE_MS: '3600000',
    },
  });
  const address = `127.0.0.1:${port}`;
  while (!(await checkHealth(address, { deadlineMs: 1_000 }))) await sleep(100);

  const wallet = createGrpcClient(escrowV1.WalletServiceService, escrow.address, { deadlineMs: callDeadlineMs });
  const tasks = createGrpcClient(taskDispatchV1.TaskDispatchServiceService, address, { deadlineMs: callDeadlineMs });
  cleanup.add('close the clients', async () => {
    wallet.close();
    tasks.close();
  });
  const deposit = signedDeposit(webhookSecret, `bench_tasks_${runId}`, owner.participantId);
  await wallet.call.applyPaymentProviderEvent({ body: Buffer.from(deposit.body), signature: deposit.signature });
  const postTask = async (key: string, slots: number) =>
    tasks.call.postTask(
      {
        idempotencyKey: key,
        title: 'Label parcels',
        description: '',
        kind: 'operations',
        mode: 'dispatch',
        budget: { currency: 'CNY', amountMinor: perSlotMinor * BigInt(slots) },
        skills: [],
        deadline: new Date(Date.now() + 86_400_000),
        milestones: [],
        slots,
      },
      { identity: owner },
    );
  const claimRun = (label: string, scope: string, taskId: string, count: number) =>
    runClosedLoop({ label, count, concurrency, signal: cleanup.signal, request: (index) => tasks.call.claimAssignment({ taskId, idempotencyKey: '', solverSkills: [] }, { identity: solver(scope, index) }) });

  const mongo = await connectMongo(infrastructure.mongoUrl, `${database}_baseline`);
  cleanup.add('close the baseline connection', () => mongo.close());
  if (warmup > 0) {
    const warm = await postTask('warm-up', warmup);
    await claimRun('warm-up claims', 'w', warm.id, warmup).then(requireAllCompleted);
    await insertRun(mongo, cleanup, 'warm-up inserts', 'w', warmup);
  }
  const hot = await postTask('hot', claims);
  const cpu = new CpuMeter([
    { name: 'bench', pid: process.pid },
    { name: 'escrow', pid: escrow.child.pid ?? 0 },
    { name: 'task-dispatch', pid: tasksChild.child.pid ?? 0 },
    ...findServerProcesses(infrastructure.mongoUrl),
  ]);
  const measure = async (label: string, work: () => Promise<RunResult>) => {
    const since = cpu.start();
    const result = await work();
    console.log(`  ${label}: ${cpu.describe(label, since)}`);
    return result;
  };
  const baseline = await measure('baseline', () => insertRun(mongo, cleanup, 'bare insertOne (baseline)', 'b', claims));
  printResultLine('baseline', baseline);
  const result = await measure('hot task claims', () => claimRun('claims on one hot dispatch task', 'h', hot.id, claims));
  requireAllCompleted(result);
  const after = await tasks.call.getTask({ taskId: hot.id }, { identity: owner });
  if (after.slotsAvailable !== 0) throw new Error(`expected every slot claimed, ${after.slotsAvailable} left`);
  const ofBaseline = completedPerSecond(result) / completedPerSecond(baseline);
  printResultLine('claims', result, { ofBaseline, baselineName: 'baseline', goal: { text: 'none (measured)', met: true } });
  const rows: TableRow[] = [
    { scenario: 'bare `insertOne` (baseline)', result: baseline },
    { scenario: `claims on one dispatch task of ${claims} slots`, result, ofBaseline },
  ];
  printPasteBlock({ script: 'bench:task-claims', machine: await describeMachine(infrastructure), sections: resultTable('claims', concurrency, rows), goals: [], disturbed: cpu.disturbed });
  console.log(`  claims/s on one hot task: ${completedPerSecond(result).toFixed(0)} (${formatPercent(ofBaseline)} of the bare-insert baseline)`);
}

/** One `insertOne` per request, a document the size of a small assignment. */
async function insertRun(mongo: MongoConnection, cleanup: Cleanup, label: string, key: string, count: number): Promise<RunResult> {
  const collection = mongo.db.collection<{ _id: string }>('baseline');
  return runClosedLoop({
    label,
    count,
    concurrency,
    signal: cleanup.signal,
    request: (index) =>
      collection.insertOne({ _id: `${key}_${runId}_${index}`, taskId: 'tk_bench', solverId: `pt_${index}`, state: 'held', leaseExpiresAt: new Date(), amountMinor: perSlotMinor, createdAt: new Date() } as { _id: string }),
  }).then(requireAllCompleted);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
