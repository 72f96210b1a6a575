/**
 * `npm run bench:tracing`: what exporting traces costs. Two copies of the pledge path run side by
 * side on the same databases (as two replicas would): escrow and a gateway with tracing off (no
 * OTLP endpoint: spans are made for log correlation and propagation, and dropped) and escrow and a
 * gateway exporting every span over OTLP/HTTP to a collector stand-in in this process (it accepts
 * `POST /v1/traces` and counts what arrives; a real collector would do more, elsewhere). The
 * driver alternates rounds, off then on, BENCH_ROUNDS times each, so drift on a shared machine
 * falls on both; each round sends BENCH_PLEDGES pledges spread over BENCH_CAMPAIGNS campaigns at
 * BENCH_CONCURRENCY in flight. Goal: pledges/s with tracing on within 10 % of off.
 *
 * Settings (environment), with their defaults:
 *   BENCH_CONCURRENCY=16   requests in flight
 *   BENCH_PLEDGES=600      pledges per round
 *   BENCH_ROUNDS=3         rounds per mode (off, on, off, on, …)
 *   BENCH_CAMPAIGNS=20     campaigns the pledges are spread over
 *   BENCH_BACKERS          default: enough that none pledges more than 10 times on one campaign
 *   BENCH_WARMUP=200       unmeasured pledges through each copy first
 *   BENCH_LOG_LEVEL=warn   LOG_LEVEL of the four processes
 * A quick run: `BENCH_PLEDGES=100 BENCH_ROUNDS=1 BENCH_WARMUP=20 npm run bench:tracing`.
 * Everything the run creates is removed at the end, also on failure or Ctrl-C.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CpuMeter, findServerProcesses } from './support/cpu-meter';
import { completedPerSecond, percentile, type RunResult, runClosedLoop } from './support/driver';
import { backersFor, currency, type LaunchedCampaign, type PlannedPledge, PledgePlanner } from './support/fixtures';
import { fundBackers, launchCampaigns, type Participant, signUpParticipants } from './support/gateway-fixtures';
import { HttpClient } from './support/http-client';
import { Cleanup, deleteTopicsAtCleanup, dropDatabasesAtCleanup, startEscrowChild, startGatewayChild, startInfrastructure } from './support/processes';
import { describeMachine, formatInteger, formatMs, formatPercent, type Goal, integerSetting, printHeader, printPasteBlock } from './support/report';

const concurrency = integerSetting('BENCH_CONCURRENCY', 16);
const pledgesPerRound = integerSetting('BENCH_PLEDGES', 600);
const rounds = integerSetting('BENCH_ROUNDS', 3);
const campaignCount = integerSetting('BENCH_CAMPAIGNS', 20);
const warmup = integerSetting('BENCH_WARMUP', 200, 0);
// Enough that no backer pledges more than escrow allows on one campaign: the warm-up campaign takes both copies' warm-up.
const backers = integerSetting('BENCH_BACKERS', backersFor(Math.max(2 * warmup, Math.ceil((pledgesPerRound * rounds * 2) / campaignCount))));
const logLevel = process.env['BENCH_LOG_LEVEL'] ?? 'warn';

/** The cost of exporting every span that the goal allows, as a share of the throughput without. */
const tracingCostGoal = 0.1;
const webhookSecret = `bench-webhook-secret-${'0123456789abcdef'.repeat(2)}`;
const runId = Date.now().toString(36);

type Mode = 'off' | 'on';

interface Copy {
  readonly mode: Mode;
  readonly http: HttpClient;
}

/** Counts what the exporters deliver; answers as an OTLP/HTTP collector does (200, empty partial success). */
class CollectorStandIn {
  requests = 0;
  bytes = 0;
  private server: Server | undefined;

  async start(cleanup: Cleanup): Promise<string> {
    const server = createServer((request, response) => {
      request.on('data', (chunk: Buffer) => {
        this.bytes += chunk.length;
      });
      request.on('end', () => {
        if (request.method === 'POST' && request.url === '/v1/traces') this.requests += 1;
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    this.server = server;
    cleanup.add('stop the collector stand-in', async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    });
    return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  }

  get listening(): boolean {
    return this.server?.listening ?? false;
  }
}

async function main(): Promise<void> {
  const cleanup = new Cleanup();
  try {
    await run(cleanup);
  } finally {
    await cleanup.run();
  }
}

async function run(cleanup: Cleanup): Promise<void> {
  printHeader('Tracing cost benchmark', 'bench:tracing', { concurrency, pledgesPerRound, rounds, campaigns: campaignCount, backers, warmup });
  const infrastructure = await startInfrastructure(cleanup);
  const machine = await describeMachine(infrastructure);
  for (const line of machine) console.log(`  ${line}`);
  const collector = new CollectorStandIn();
  const collectorUrl = await collector.start(cleanup);

  const database = `bench_${runId}`;
  const topicPrefix = `bench.${runId}.`;
  dropDatabasesAtCleanup(cleanup, infrastructure.mongoUrl, [database, `${database}_gateway`]);
  deleteTopicsAtCleanup(cleanup, infrastructure.kafkaBrokers, topicPrefix);
  // Both copies share the databases and the token secret: a token from one works on the other.
  const tokenSecret = `bench-token-secret-${randomUUID()}`;
  const environmentOf = (mode: Mode): NodeJS.ProcessEnv => ({ OTEL_EXPORTER_OTLP_ENDPOINT: mode === 'on' ? collectorUrl : '' });
  const processes = [];
  const copies: Copy[] = [];
  for (const mode of ['off', 'on'] as const) {
    const escrow = await startEscrowChild(cleanup, { name: `escrow-${mode}`, infrastructure, database, topicPrefix, webhookSecret, logLevel, environment: environmentOf(mode) });
    const gateway = await startGatewayChild(cleanup, { name: `gateway-${mode}`, mongoUrl: infrastructure.mongoUrl, database: `${database}_gateway`, escrowAddress: escrow.address, logLevel, tokenSecret, environment: environmentOf(mode) });
    const http = new HttpClient(gateway.url);
    cleanup.add(`close the HTTP connections of ${mode}`, async () => http.close());
    copies.push({ mode, http });
    processes.push({ name: `escrow-${mode}`, pid: escrow.child.pid ?? 0 }, { name: `gateway-${mode}`, pid: gateway.child.pid ?? 0 });
    console.log(`  tracing ${mode}: escrow at ${escrow.address}, the gateway at ${gateway.url}`);
  }

  const setup = copies[0]!.http;
  const { creator, backerList } = await signUpParticipants(setup, { runId, backers, signal: cleanup.signal });
  await fundBackers(setup, backerList, { runId, webhookSecret, concurrency, signal: cleanup.signal });
  const campaigns = await launchCampaigns(setup, creator, campaignCount + 1, { runId, concurrency, signal: cleanup.signal });
  const [warmupCampaign, ...spread] = campaigns as [LaunchedCampaign, ...LaunchedCampaign[]];

  const pledge = (copy: Copy, plan: readonly PlannedPledge[], keyPrefix: string) => (index: number) => {
    const planned = plan[index]!;
    const key = `${runId}-${keyPrefix}${index}`;
    return copy.http.expect(201, 'POST', `/v1/campaigns/${planned.campaign.id}/pledges`, {
      json: { tierId: planned.tierId, amount: { currency, amountMinor: planned.amountMinor.toString() } },
      token: (backerList[planned.backerIndex] as Participant).token,
      headers: { 'idempotency-key': key },
    });
  };
  if (warmup > 0) {
    const warmupPlanner = new PledgePlanner([warmupCampaign], backers);
    for (const copy of copies) {
      const plan = warmupPlanner.takeMany(warmup);
      await runClosedLoop({ label: `warm-up, tracing ${copy.mode}`, count: plan.length, concurrency, signal: cleanup.signal, request: pledge(copy, plan, `w${copy.mode}`) });
    }
  }

  const cpu = new CpuMeter([{ name: 'bench', pid: process.pid }, ...processes, ...findServerProcesses(infrastructure.mongoUrl)]);
  const since = cpu.start();
  const planner = new PledgePlanner(spread, backers);
  const results: Record<Mode, RunResult[]> = { off: [], on: [] };
  const exportedBefore = { requests: collector.requests, bytes: collector.bytes };
  for (let round = 1; round <= rounds; round += 1) {
    for (const copy of copies) {
      const plan = planner.takeMany(pledgesPerRound);
      const result = await runClosedLoop({ label: `round ${round}, tracing ${copy.mode}`, count: plan.length, concurrency, signal: cleanup.signal, request: pledge(copy, plan, `r${round}${copy.mode}`) });
      results[copy.mode].push(result);
      console.log(`  round ${round}, tracing ${copy.mode}: ${formatInteger(completedPerSecond(result))} pledges/s, p99 ${formatMs(percentile(result.latenciesMs, 0.99))}`);
    }
  }
  console.log(`  CPU during the rounds: ${cpu.describe('rounds', since)}`);

  const rate = (mode: Mode) => {
    const completed = results[mode].reduce((sum, result) => sum + result.completed, 0);
    const wallMs = results[mode].reduce((sum, result) => sum + result.wallMs, 0);
    return completed / (wallMs / 1_000);
  };
  const latencies = (mode: Mode) => results[mode].flatMap((result) => result.latenciesMs).sort((a, b) => a - b);
  const off = rate('off');
  const on = rate('on');
  const cost = 1 - on / off;
  const goal: Goal = { text: `tracing on within ${formatPercent(tracingCostGoal)} of off`, met: cost < tracingCostGoal };
  const exported = { requests: collector.requests - exportedBefore.requests, bytes: collector.bytes - exportedBefore.bytes };
  const failed = [...results.off, ...results.on].reduce((sum, result) => sum + result.failed, 0);
  const sections = [
    `| tracing | pledges | pledges/s | p50 | p99 |`,
    `|---|---:|---:|---:|---:|`,
    ...(['off', 'on'] as const).map((mode) => {
      const sorted = latencies(mode);
      return `| ${mode === 'off' ? 'off (no exporter)' : 'on (OTLP/HTTP, every span)'} | ${formatInteger(sorted.length)} | ${formatInteger(mode === 'off' ? off : on)} | ${formatMs(percentile(sorted, 0.5))} | ${formatMs(percentile(sorted, 0.99))} |`;
    }),
    '',
    `Cost of tracing: ${formatPercent(cost)} of the throughput (${rounds} alternating rounds of ${formatInteger(pledgesPerRound)} pledges at ${concurrency} in flight); ` +
      `the exporters sent ${formatInteger(exported.requests)} batches, ${formatInteger(exported.bytes / 1_024)} KiB, ${formatInteger(exported.bytes / Math.max(1, pledgesPerRound * rounds))} bytes per traced pledge. Goal: ${goal.met ? 'met' : '**not met**'}.`,
  ];
  for (const line of sections) console.log(`  ${line}`);
  if (!collector.listening) throw new Error('the collector stand-in stopped during the run');
  printPasteBlock({ script: 'bench:tracing', machine, sections, goals: [goal], disturbed: cpu.disturbed });
  if (failed > 0) throw new Error(`${failed} pledges failed (see above): the figures are not valid`);
}

main().catch((error: unknown) => {
  console.error(`bench:tracing failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
