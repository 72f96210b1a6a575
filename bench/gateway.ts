/**
 * `npm run bench:gateway`: pledges through the public HTTP API. Escrow and the gateway run as
 * their own processes (as `npm start` runs them); the driver sends `POST /v1/campaigns/{id}/pledges`
 * with a bearer token and an Idempotency-Key per request over keep-alive connections.
 *   1. Closed loop, scenario (a) of bench:escrow: BENCH_PLEDGES pledges spread over BENCH_CAMPAIGNS
 *      campaigns at BENCH_CONCURRENCY in flight, against a baseline of a bare express route doing
 *      one `insertOne` per request on the same MongoDB-wire server, driven the same way (same
 *      request bytes). Goal: the gateway's pledges/s at least 25 % of the bare route's.
 *   2. Open loop: pledges arriving at a fixed rate, BENCH_OPEN_LOOP_FRACTION (0.7) of the closed
 *      loop's measured pledges/s, for BENCH_OPEN_LOOP_SECONDS; each started on schedule whatever
 *      the answers, its latency measured from its scheduled start. Goal: p99 below 50 ms.
 * The bare route runs inside this process (an express app on a free port), so it shares a core
 * with the driver; the gateway has a process of its own. Participants sign up and get tokens
 * through `/v1/auth/signup` and `/v1/auth/token` (scrypt: about half a second of CPU each, which
 * is why there are fewer backers than in bench:escrow), are funded through the signed payment-
 * provider webhook `POST /v1/psp/webhooks`, and one creator creates and launches the campaigns
 * (keep-it-all, an unlimited and a limited tier, ending in an hour) over HTTP.
 *
 * Settings (environment), with their defaults:
 *   BENCH_CONCURRENCY=16          requests in flight in the closed loop
 *   BENCH_PLEDGES=2000            pledges of the closed loop, and requests to the bare route
 *   BENCH_CAMPAIGNS=50            campaigns they are spread over
 *   BENCH_BACKERS                 default BENCH_PLEDGES / 10 (200)
 *   BENCH_WARMUP=500              unmeasured pledges and bare requests first
 *   BENCH_OPEN_LOOP_SECONDS=20    length of the open loop (0 skips it)
 *   BENCH_OPEN_LOOP_FRACTION=0.7  its arrival rate as a fraction of the closed loop's pledges/s
 *   BENCH_OPEN_LOOP_RATE          an arrival rate in pledges/s instead of the fraction
 *   BENCH_LOG_LEVEL=warn          LOG_LEVEL of escrow and the gateway
 *   BENCH_CPU_PROFILE=1           escrow and the gateway run with --cpu-prof (.cache/bench-profiles/)
 *   BENCH_COUNT_COMMANDS=1        escrow and the gateway count their MongoDB commands per pledge
 * A quick run: `BENCH_PLEDGES=100 BENCH_CAMPAIGNS=10 BENCH_WARMUP=20 BENCH_OPEN_LOOP_SECONDS=5 npm run bench:gateway`.
 * Everything the run creates (both processes, their databases and topics, the baseline database)
 * is removed at the end, also on failure or Ctrl-C. Figures are in docs/benchmarks.md.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connectMongo, type MongoConnection } from '@sizhong/kit';
import express from 'express';
import { CpuMeter, findServerProcesses } from './support/cpu-meter';
import { completedPerSecond, type OpenLoopResult, percentile, runClosedLoop, runOpenLoop } from './support/driver';
import { backersFor, currency, type PlannedPledge, PledgePlanner } from './support/fixtures';
import { fundBackers, launchCampaigns, signUpParticipants } from './support/gateway-fixtures';
import { HttpClient } from './support/http-client';
import { type CommandTallies, describePerPledge, MongoCommandCounts, mongoCommandsPreload, mongoCommandsReportPrefix } from './support/mongo-commands';
import { Cleanup, deleteTopicsAtCleanup, dropDatabasesAtCleanup, type NodeChild, startEscrowChild, startGatewayChild, startInfrastructure } from './support/processes';
import { describeMachine, formatInteger, formatMs, formatPercent, fractionSetting, type Goal, integerSetting, printHeader, printPasteBlock, printResultLine, resultTable } from './support/report';

const concurrency = integerSetting('BENCH_CONCURRENCY', 16);
const pledges = integerSetting('BENCH_PLEDGES', 2_000);
const spreadCampaigns = integerSetting('BENCH_CAMPAIGNS', 50);
const backers = integerSetting('BENCH_BACKERS', backersFor(pledges));
const warmup = integerSetting('BENCH_WARMUP', 500, 0);
const openLoopSeconds = integerSetting('BENCH_OPEN_LOOP_SECONDS', 20, 0);
const openLoopFraction = fractionSetting('BENCH_OPEN_LOOP_FRACTION', 0.7);
const openLoopRate = process.env['BENCH_OPEN_LOOP_RATE'] ? integerSetting('BENCH_OPEN_LOOP_RATE', 1) : undefined;
const logLevel = process.env['BENCH_LOG_LEVEL'] ?? 'warn';
const countCommands = process.env['BENCH_COUNT_COMMANDS'] === '1';

const throughputGoal = 0.25;
const openLoopP99GoalMs = 50;

const webhookSecret = `bench-webhook-secret-${'0123456789abcdef'.repeat(2)}`;
const runId = Date.now().toString(36);

async function main(): Promise<void> {
  const cleanup = new Cleanup();
  try {
    await run(cleanup);
  } finally {
    await cleanup.run();
  }
}

async function run(cleanup: Cleanup): Promise<void> {
  printHeader('Gateway pledge benchmark', 'bench:gateway', { concurrency, pledges, campaigns: spreadCampaigns, backers, warmup, openLoopSeconds, openLoopFraction, openLoopRate: openLoopRate ?? '-' });
  const infrastructure = await startInfrastructure(cleanup);
  const machine = await describeMachine(infrastructure);
  for (const line of machine) console.log(`  ${line}`);

  const database = `bench_${runId}`;
  const topicPrefix = `bench.${runId}.`;
  dropDatabasesAtCleanup(cleanup, infrastructure.mongoUrl, [database, `${database}_gateway`, `${database}_baseline`]);
  deleteTopicsAtCleanup(cleanup, infrastructure.kafkaBrokers, topicPrefix);
  const escrowCounts = new MongoCommandCounts();
  const gatewayCounts = new MongoCommandCounts();
  const diagnostics = (counts: MongoCommandCounts) => (countCommands ? { preloads: [mongoCommandsPreload], reportPrefix: mongoCommandsReportPrefix, onReport: counts.onReport } : {});
  const escrow = await startEscrowChild(cleanup, { infrastructure, database, topicPrefix, webhookSecret, logLevel, ...diagnostics(escrowCounts) });
  const gateway = await startGatewayChild(cleanup, { mongoUrl: infrastructure.mongoUrl, database: `${database}_gateway`, escrowAddress: escrow.address, logLevel, ...diagnostics(gatewayCounts) });
  console.log(`  escrow answers at ${escrow.address}, the gateway at ${gateway.url}`);
  const http = new HttpClient(gateway.url);
  cleanup.add('close the HTTP connections', async () => http.close());

  const { creator, backerList } = await signUpParticipants(http, { runId, backers, signal: cleanup.signal });
  await fundBackers(http, backerList, { runId, webhookSecret, concurrency, signal: cleanup.signal });
  const [warmupCampaign, ...spread] = await launchCampaigns(http, creator, 1 + spreadCampaigns, { runId, concurrency, signal: cleanup.signal });

  const mongo = await connectMongo(infrastructure.mongoUrl, `${database}_baseline`);
  cleanup.add('close the baseline connection', () => mongo.close());
  const bareUrl = await startBareRoute(cleanup, mongo);
  const bare = new HttpClient(bareUrl);
  cleanup.add('close the bare route connections', async () => bare.close());

  const pledgeRequest = (client: HttpClient, plan: readonly PlannedPledge[], keyPrefix: string, pathOf: (pledge: PlannedPledge, key: string) => string) => (index: number) => {
    const pledge = plan[index]!;
    const key = `${runId}-${keyPrefix}${index}`;
    return client.expect(201, 'POST', pathOf(pledge, key), {
      json: { tierId: pledge.tierId, amount: { currency, amountMinor: pledge.amountMinor.toString() } },
      token: backerList[pledge.backerIndex]!.token,
      headers: { 'idempotency-key': key },
    });
  };
  const throughGateway = (pledge: PlannedPledge) => `/v1/campaigns/${pledge.campaign.id}/pledges`;
  const throughBareRoute = (_pledge: PlannedPledge, key: string) => `/v1/bare/${key}`;
  const closedLoop = (label: string, count: number, request: (index: number) => Promise<unknown>) => runClosedLoop({ label, count, concurrency, signal: cleanup.signal, request });

  if (warmup > 0) {
    const warmupPlan = new PledgePlanner([warmupCampaign!], backers).takeMany(Math.min(warmup, backers * 10));
    await closedLoop('warm-up pledges', warmupPlan.length, pledgeRequest(http, warmupPlan, 'w', throughGateway));
    await closedLoop('warm-up bare requests', warmupPlan.length, pledgeRequest(bare, warmupPlan, 'w', throughBareRoute));
  }
  const cpu = new CpuMeter([
    { name: 'bench', pid: process.pid },
    { name: 'gateway', pid: gateway.child.pid ?? 0 },
    { name: 'escrow', pid: escrow.child.pid ?? 0 },
    ...findServerProcesses(infrastructure.mongoUrl),
  ]);
  const counted = countingWith(countCommands, cpu, [
    { label: 'escrow', counts: escrowCounts, child: escrow },
    { label: 'gateway', counts: gatewayCounts, child: gateway },
  ]);
  const planner = new PledgePlanner(spread, backers);
  const plan = planner.takeMany(pledges);
  const baseline = await counted('baseline', pledges, () => closedLoop('bare express route + insertOne (baseline)', pledges, pledgeRequest(bare, plan, 'b', throughBareRoute)));
  printResultLine('baseline', baseline);
  const closed = await counted(`(a) ${pledges} pledges`, pledges, () => closedLoop(`(a) ${pledges} pledges over ${spread.length} campaigns`, pledges, pledgeRequest(http, plan, 'a', throughGateway)));
  const ofBaseline = completedPerSecond(closed) / completedPerSecond(baseline);
  const closedGoal: Goal = { text: `gateway ≥ ${formatPercent(throughputGoal)} of the bare route`, met: ofBaseline >= throughputGoal };
  printResultLine('(a) through the gateway', closed, { ofBaseline, baselineName: 'the bare route', goal: closedGoal });
  const goals = [closedGoal];
  const sections = resultTable('pledges', concurrency, [
    { scenario: 'bare express route + `insertOne` (baseline)', result: baseline },
    { scenario: `(a) through the gateway, ${spread.length} campaigns`, result: closed, ofBaseline, goal: closedGoal },
  ]);

  if (openLoopSeconds > 0) {
    const ratePerSecond = openLoopRate ?? Math.max(1, Math.floor(completedPerSecond(closed) * openLoopFraction));
    const openPlan = planner.takeMany(Math.round(ratePerSecond * openLoopSeconds));
    console.log(`  open loop: ${ratePerSecond} pledges/s for ${openLoopSeconds} s${openLoopRate === undefined ? ` (${formatPercent(openLoopFraction)} of the closed loop's ${formatInteger(completedPerSecond(closed))}/s)` : ''}`);
    const open = await counted('open loop', openPlan.length, () =>
      runOpenLoop({ label: 'open loop through the gateway', ratePerSecond, durationMs: openLoopSeconds * 1_000, signal: cleanup.signal, request: pledgeRequest(http, openPlan, 'o', throughGateway) }),
    );
    const openGoal: Goal = { text: `open loop p99 < ${openLoopP99GoalMs} ms`, met: open.failed === 0 && percentile(open.latenciesMs, 0.99) < openLoopP99GoalMs };
    goals.push(openGoal);
    const openLine = describeOpenLoop(open, openGoal);
    console.log(`  ${openLine}`);
    sections.push('', openLine);
  }
  printPasteBlock({ script: 'bench:gateway', machine, sections, goals, disturbed: cpu.disturbed });
  if (baseline.failed + closed.failed > 0) throw new Error('some requests failed (see above): the figures are not valid');
}

/**
 * The baseline: an express app in this process whose one route parses the same JSON body a pledge
 * carries and does one `insertOne`, answering 201 with a small JSON body.
 */
async function startBareRoute(cleanup: Cleanup, mongo: MongoConnection): Promise<string> {
  const collection = mongo.collection('inserts');
  const app = express();
  app.post('/v1/bare/:key', express.json(), async (request, response) => {
    const body = request.body as { tierId: string; amount: { currency: string; amountMinor: string } };
    const document = { _id: request.params['key'] as never, tierId: body.tierId, currency: body.amount.currency, amountMinor: BigInt(body.amount.amountMinor), placedAt: new Date() };
    await collection.insertOne(document);
    response.status(201).json({ key: request.params['key'], state: 'pending' });
  });
  const server = await new Promise<Server>((resolve, reject) => {
    const listening = app.listen(0, '127.0.0.1', (error?: Error) => (error ? reject(error) : resolve(listening)));
  });
  cleanup.add('stop the bare route', async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/** Wraps a measured run: prints the CPU each process used, and each child's command counts when BENCH_COUNT_COMMANDS=1. */
function countingWith(enabled: boolean, cpu: CpuMeter, children: ReadonlyArray<{ label: string; counts: MongoCommandCounts; child: NodeChild }>) {
  return async <Result>(label: string, pledgeCount: number, work: () => Promise<Result>): Promise<Result> => {
    if (enabled) await Promise.all(children.map(({ counts, child }) => counts.collect(child.child)));
    const since = cpu.start();
    const result = await work();
    console.log(`  ${label}: ${cpu.describe(label, since)}`);
    if (!enabled) return result;
    const tallies: CommandTallies[] = await Promise.all(children.map(({ counts, child }) => counts.collect(child.child)));
    children.forEach(({ label: childLabel }, index) => {
      for (const line of describePerPledge(`${label}, ${childLabel}`, tallies[index]!, pledgeCount)) console.log(line);
    });
    return result;
  };
}

function describeOpenLoop(open: OpenLoopResult, goal: Goal): string {
  return (
    `Open loop through the gateway: ${formatInteger(open.offeredPerSecond)} pledges/s offered for ${formatInteger(open.wallMs / 1_000)} s ` +
    `(${formatInteger(open.completed)} of ${formatInteger(open.scheduled)} answered${open.failed > 0 ? `, ${open.failed} failed` : ''}): ` +
    `p50 ${formatMs(percentile(open.latenciesMs, 0.5))}, p99 ${formatMs(percentile(open.latenciesMs, 0.99))}, max ${formatMs(open.latenciesMs.at(-1) ?? Number.NaN)}, ` +
    `at most ${open.inFlightMax} in flight, driver start lag p99 ${formatMs(open.startLagP99Ms)}. Goal p99 < ${openLoopP99GoalMs} ms: ${goal.met ? 'met' : '**not met**'}.`
  );
}

main().catch((error: unknown) => {
  console.error(`bench:gateway failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
