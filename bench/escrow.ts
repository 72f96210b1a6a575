/**
 * `npm run bench:escrow`: pledges through escrow's gRPC API (escrow runs as its own process, as in
 * production), against a bare baseline of one `insertOne` per request on the same MongoDB-wire
 * server, all at BENCH_CONCURRENCY in flight. Scenarios, each with its goal:
 *   (a) BENCH_PLEDGES pledges spread over BENCH_CAMPAIGNS campaigns: at least 35 % of the
 *       baseline's requests per second;
 *   (b) BENCH_PLEDGES pledges on one hot campaign: at least 20 % of the baseline;
 *   (c) one campaign grown to BENCH_GROWTH_PLEDGES pledges: the last BENCH_GROWTH_WINDOW pledges
 *       at least 80 % of the throughput of the first BENCH_GROWTH_WINDOW (a growing campaign must
 *       not slow its pledges down).
 * Campaigns are keep-it-all with an unlimited tier and a limited one (1 000 000 units, so every
 * second pledge decrements stock and none sells out), ending an hour from now. Backers are funded
 * through the signed payment-provider webhook, each with far more than they pledge; there are
 * enough of them that none holds more than pledgesPerBackerMax (10) pledges on one campaign.
 * Before measuring, BENCH_WARMUP pledges and inserts warm up escrow, the driver and the server.
 *
 * Settings (environment), with their defaults:
 *   BENCH_CONCURRENCY=16      requests in flight
 *   BENCH_PLEDGES=2000        pledges of (a) and of (b), and inserts of the baseline
 *   BENCH_CAMPAIGNS=50        campaigns of (a)
 *   BENCH_GROWTH_PLEDGES=10000  pledges of (c); BENCH_GROWTH_WINDOW=1000 its first and last windows
 *   BENCH_BACKERS             default: enough for the largest campaign (BENCH_GROWTH_PLEDGES / 10)
 *   BENCH_WARMUP=500          unmeasured pledges and inserts first (the JVM server compiles its hot paths early)
 *   BENCH_SCENARIOS=a,b,c     which scenarios to run (the baseline always runs)
 *   BENCH_LOG_LEVEL=warn      escrow's LOG_LEVEL
 *   BENCH_CPU_PROFILE=1       escrow runs with --cpu-prof; the profile lands in .cache/bench-profiles/
 *   BENCH_COUNT_COMMANDS=1    escrow counts its MongoDB commands; prints them per pledge per scenario
 * A quick run: `BENCH_PLEDGES=100 BENCH_CAMPAIGNS=10 BENCH_GROWTH_PLEDGES=400 BENCH_GROWTH_WINDOW=100 npm run bench:escrow`.
 * MONGO_URL / KAFKA_BROKERS point it at other servers (ensureInfrastructure). Not part of
 * `npm test`: timings depend on the machine; figures are in docs/benchmarks.md. Everything the run
 * creates (escrow, its database and topics, the baseline database) is removed at the end, also on
 * failure or Ctrl-C.
 */
import { connectMongo, createGrpcClient, type GrpcClient, type MongoConnection } from '@sizhong/kit';
import { escrowV1 } from '@sizhong/proto';
import { CpuMeter, findServerProcesses } from './support/cpu-meter';
import { completedPerSecond, requireAllCompleted, runClosedLoop, type RunResult, windowPerSecond } from './support/driver';
import { backersFor, type CampaignSpecification, campaignSpecification, currency, launchedCampaign, type LaunchedCampaign, PledgePlanner, signedDeposit } from './support/fixtures';
import { describePerPledge, MongoCommandCounts, mongoCommandsPreload, mongoCommandsReportPrefix } from './support/mongo-commands';
import { Cleanup, deleteTopicsAtCleanup, dropDatabasesAtCleanup, startEscrowChild, startInfrastructure } from './support/processes';
import { describeMachine, formatInteger, formatPercent, type Goal, integerSetting, printHeader, printPasteBlock, printResultLine, resultTable, type TableRow } from './support/report';

const concurrency = integerSetting('BENCH_CONCURRENCY', 16);
const pledges = integerSetting('BENCH_PLEDGES', 2_000);
const spreadCampaigns = integerSetting('BENCH_CAMPAIGNS', 50);
const growthPledges = integerSetting('BENCH_GROWTH_PLEDGES', 10_000);
const growthWindow = integerSetting('BENCH_GROWTH_WINDOW', Math.min(1_000, Math.floor(growthPledges / 2)));
const backers = integerSetting('BENCH_BACKERS', backersFor(Math.max(pledges, growthPledges)));
const warmup = integerSetting('BENCH_WARMUP', 500, 0);
const scenarios = new Set((process.env['BENCH_SCENARIOS'] ?? 'a,b,c').split(',').map((name) => name.trim()));
const logLevel = process.env['BENCH_LOG_LEVEL'] ?? 'warn';
const countCommands = process.env['BENCH_COUNT_COMMANDS'] === '1';

/** The goals, as fractions of the baseline's throughput (c: of the first window's). */
const spreadGoal = 0.35;
const hotGoal = 0.2;
const growthGoal = 0.8;

const webhookSecret = `bench-webhook-secret-${'0123456789abcdef'.repeat(2)}`;
const runId = Date.now().toString(36);
/** gRPC deadline of every call: generous, so a slow pledge is measured rather than failed. */
const callDeadlineMs = 120_000;

type CampaignClient = GrpcClient<typeof escrowV1.CampaignServiceService>;

const backerIdentity = (index: number) => ({ participantId: `pt_bench_backer_${index}`, roles: ['backer' as const] });

async function main(): Promise<void> {
  if (growthWindow * 2 > growthPledges) throw new Error('BENCH_GROWTH_WINDOW must be at most half of BENCH_GROWTH_PLEDGES');
  const cleanup = new Cleanup();
  try {
    await run(cleanup);
  } finally {
    await cleanup.run();
  }
}

async function run(cleanup: Cleanup): Promise<void> {
  printHeader('Escrow pledge benchmark', 'bench:escrow', { concurrency, pledges, campaigns: spreadCampaigns, growthPledges, growthWindow, backers, warmup, scenarios: [...scenarios].join(',') });
  const infrastructure = await startInfrastructure(cleanup);
  const machine = await describeMachine(infrastructure);
  for (const line of machine) console.log(`  ${line}`);

  const database = `bench_${runId}`;
  const topicPrefix = `bench.${runId}.`;
  dropDatabasesAtCleanup(cleanup, infrastructure.mongoUrl, [database, `${database}_baseline`]);
  deleteTopicsAtCleanup(cleanup, infrastructure.kafkaBrokers, topicPrefix);
  const commandCounts = new MongoCommandCounts();
  const escrow = await startEscrowChild(cleanup, {
    infrastructure,
    database,
    topicPrefix,
    webhookSecret,
    logLevel,
    ...(countCommands ? { preloads: [mongoCommandsPreload], reportPrefix: mongoCommandsReportPrefix, onReport: commandCounts.onReport } : {}),
  });
  const wallet = createGrpcClient(escrowV1.WalletServiceService, escrow.address, { deadlineMs: callDeadlineMs });
  const campaigns = createGrpcClient(escrowV1.CampaignServiceService, escrow.address, { deadlineMs: callDeadlineMs });
  cleanup.add('close the gRPC clients', async () => {
    wallet.close();
    campaigns.close();
  });
  console.log(`  escrow answers at ${escrow.address}; funding ${backers} backers through the payment-provider webhook`);
  await runClosedLoop({
    label: 'funding backers',
    count: backers,
    concurrency,
    signal: cleanup.signal,
    request: async (index) => {
      const deposit = signedDeposit(webhookSecret, `bench_${runId}_${index}`, backerIdentity(index).participantId);
      await wallet.call.applyPaymentProviderEvent({ body: Buffer.from(deposit.body), signature: deposit.signature });
    },
  }).then(requireAllCompleted);

  const campaignsNeeded = 1 + (scenarios.has('a') ? spreadCampaigns : 0) + (scenarios.has('b') ? 1 : 0) + (scenarios.has('c') ? 1 : 0);
  console.log(`  creating and launching ${campaignsNeeded} campaigns`);
  const launched = await launchCampaigns(campaigns, campaignsNeeded, cleanup.signal);
  const [warmupCampaign, ...rest] = launched;
  const spread = scenarios.has('a') ? rest.splice(0, spreadCampaigns) : [];
  const hot = scenarios.has('b') ? rest.splice(0, 1) : [];
  const growth = scenarios.has('c') ? rest.splice(0, 1) : [];

  const mongo = await connectMongo(infrastructure.mongoUrl, `${database}_baseline`);
  cleanup.add('close the baseline connection', () => mongo.close());
  const pledge = (label: string, key: string, campaignList: readonly LaunchedCampaign[], count: number) =>
    pledgeRun(campaigns, cleanup, label, key, new PledgePlanner(campaignList, backers), count);

  if (warmup > 0) {
    await pledge('warm-up pledges', 'w', [warmupCampaign!], Math.min(warmup, backers * 10));
    await insertRun(mongo, cleanup, 'warm-up inserts', 'w', warmup);
  }
  const cpu = new CpuMeter([{ name: 'bench', pid: process.pid }, { name: 'escrow', pid: escrow.child.pid ?? 0 }, ...findServerProcesses(infrastructure.mongoUrl)]);
  const measure = async (label: string, work: () => Promise<RunResult>, pledgeCount: number) => {
    if (countCommands) await commandCounts.collect(escrow.child);
    const since = cpu.start();
    const result = await work();
    console.log(`  ${label}: ${cpu.describe(label, since)}`);
    if (countCommands) for (const line of describePerPledge(label, await commandCounts.collect(escrow.child), pledgeCount)) console.log(line);
    return result;
  };
  const baseline = await measure('baseline', () => insertRun(mongo, cleanup, 'bare insertOne (baseline)', 'b', pledges), pledges);
  printResultLine('baseline', baseline);
  const rows: TableRow[] = [{ scenario: 'bare `insertOne` (baseline)', result: baseline }];
  const goals: Goal[] = [];
  const ofBaseline = (result: RunResult) => completedPerSecond(result) / completedPerSecond(baseline);

  if (spread.length > 0) {
    const result = await measure('(a)', () => pledge(`(a) ${pledges} pledges over ${spread.length} campaigns`, 'a', spread, pledges), pledges);
    const goal = { text: `(a) ≥ ${formatPercent(spreadGoal)} of baseline`, met: ofBaseline(result) >= spreadGoal };
    rows.push({ scenario: `(a) ${spread.length} campaigns`, result, ofBaseline: ofBaseline(result), goal });
    goals.push(goal);
    printResultLine('(a)', result, { ofBaseline: ofBaseline(result), baselineName: 'baseline', goal });
  }
  if (hot.length > 0) {
    const result = await measure('(b)', () => pledge(`(b) ${pledges} pledges on one campaign`, 'b', hot, pledges), pledges);
    const goal = { text: `(b) ≥ ${formatPercent(hotGoal)} of baseline`, met: ofBaseline(result) >= hotGoal };
    rows.push({ scenario: '(b) one hot campaign', result, ofBaseline: ofBaseline(result), goal });
    goals.push(goal);
    printResultLine('(b)', result, { ofBaseline: ofBaseline(result), baselineName: 'baseline', goal });
  }
  const sections: string[] = [];
  if (growth.length > 0) {
    const result = await measure('(c)', () => pledge(`(c) one campaign to ${growthPledges} pledges`, 'c', growth, growthPledges), growthPledges);
    const first = windowPerSecond(result, 0, growthWindow);
    const last = windowPerSecond(result, result.completed - growthWindow, result.completed);
    const goal = { text: `(c) last ${formatInteger(growthWindow)} ≥ ${formatPercent(growthGoal)} of the first ${formatInteger(growthWindow)}`, met: last / first >= growthGoal };
    rows.push({ scenario: `(c) one campaign to ${formatInteger(growthPledges)}`, result, ofBaseline: ofBaseline(result), goal });
    goals.push(goal);
    printResultLine('(c)', result, { ofBaseline: ofBaseline(result), baselineName: 'baseline', goal });
    const windowLine = `(c) first ${formatInteger(growthWindow)} pledges: ${formatInteger(first)}/s; last ${formatInteger(growthWindow)}: ${formatInteger(last)}/s (${formatPercent(last / first)} of the first).`;
    console.log(`  ${windowLine}`);
    sections.push('', windowLine);
  }
  printPasteBlock({ script: 'bench:escrow', machine, sections: [...resultTable('pledges', concurrency, rows), ...sections], goals, disturbed: cpu.disturbed });
  if (rows.some((row) => row.result.failed > 0)) throw new Error('some requests failed (see above): the figures are not valid');
}

/** Creates and launches `count` campaigns, each by a creator of its own. */
async function launchCampaigns(campaigns: CampaignClient, count: number, signal: AbortSignal): Promise<LaunchedCampaign[]> {
  const launched: LaunchedCampaign[] = [];
  const now = new Date();
  await runClosedLoop({
    label: 'campaigns',
    count,
    concurrency,
    signal,
    request: async (index) => {
      const identity = { participantId: `pt_bench_creator_${index}`, roles: ['creator' as const] };
      const draft = await campaigns.call.createCampaign(createCampaignMessage(campaignSpecification(`Benchmark campaign ${index}`, now), `${runId}-${index}`), { identity });
      launched[index] = launchedCampaign(await campaigns.call.launchCampaign({ campaignId: draft.id }, { identity }));
    },
  }).then(requireAllCompleted);
  return launched;
}

function createCampaignMessage(specification: CampaignSpecification, idempotencyKey: string): escrowV1.CreateCampaignRequest {
  return {
    idempotencyKey,
    title: specification.title,
    description: specification.description,
    goal: { currency, amountMinor: specification.goalMinor },
    fundingModel: specification.fundingModel,
    endsAt: specification.endsAt,
    deliveryDate: specification.deliveryDate,
    tiers: specification.tiers.map((tier) => ({ title: tier.title, price: { currency, amountMinor: tier.priceMinor }, ...(tier.quantity === undefined ? {} : { quantity: tier.quantity }) })),
    milestones: [],
  };
}

function pledgeRun(campaigns: CampaignClient, cleanup: Cleanup, label: string, keyPrefix: string, planner: PledgePlanner, count: number): Promise<RunResult> {
  const plan = planner.takeMany(count);
  return runClosedLoop({
    label,
    count,
    concurrency,
    signal: cleanup.signal,
    request: (index) => {
      const pledge = plan[index]!;
      return campaigns.call.placePledge(
        { campaignId: pledge.campaign.id, idempotencyKey: `${keyPrefix}${index}`, tierId: pledge.tierId, amount: { currency, amountMinor: pledge.amountMinor } },
        { identity: backerIdentity(pledge.backerIndex) },
      );
    },
  });
}

/** One `insertOne` per request, a document the size of a small pledge. */
function insertRun(mongo: MongoConnection, cleanup: Cleanup, label: string, keyPrefix: string, count: number): Promise<RunResult> {
  const collection = mongo.collection('inserts');
  return runClosedLoop({
    label,
    count,
    concurrency,
    signal: cleanup.signal,
    request: (index) =>
      collection.insertOne({
        _id: `${keyPrefix}${index}` as never,
        campaignId: 'bench',
        backerId: backerIdentity(index % backers).participantId,
        amountMinor: 100n,
        placedAt: new Date(),
      }),
  });
}

main().catch((error: unknown) => {
  console.error(`bench:escrow failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
  process.exitCode = 1;
});
