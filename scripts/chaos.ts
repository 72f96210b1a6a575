/**
 * `npm run chaos -- --seed S [--faults N] [--duration-ms D] [--replicas R] [--skew-ms K] [--no-build]
 * [--root DIR]`: the seeded fault-injection run (docs/reliability.md). It builds, starts a private
 * platform (its own Kafka and MongoDB-wire server, R processes of every service and one gateway;
 * state and logs in `.cache/chaos/<seed>`), drives a seeded workload through the public HTTP API
 * for D ms while the seed's schedule SIGKILLs and restarts each service replica (one at a time),
 * the gateway, the broker and the database, every Node process runs the seed's gRPC fault plan
 * (GRPC_FAULTS) and, at two replicas, each service process its seeded clock skew (CLOCK_SKEW_MS).
 * Then it lets every deadline pass, waits for quiet and checks the invariants by reading the
 * databases, the topics and the API as a regulator. It counts the sagas the seed ran and the faults
 * that hit one mid-flight; a seed with too few of either is reported as not counting.
 *
 * Exit codes: 0 every invariant held (a summary is printed); 1 a violation (each printed with the
 * seed, the step of the schedule reached and the invariant) or the run could not be carried out;
 * 2 usage error. Ctrl-C stops everything it started before it exits.
 *
 * `--root DIR` runs the `dist/` builds of another checkout of this repository (a clean `git
 * worktree` of a commit, say, while this working tree is mid-edit); its build runs there.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { findRepositoryRoot } from '../packages/testkit/src/infra';
import { ChaosClient } from './chaos/client';
import { activeClusters, ChaosCluster } from './chaos/cluster';
import { checkInvariants, type FaultRecord, midFlightHitsPerSeedMin, sagasPerSeedMin, unfinishedSagasNow, waitForQuiet, withMongo } from './chaos/invariants';
import { clockSkewMaxMs } from '../packages/kit/src/service/service-main';
import { type ChaosFinding, chaosFindingNames, chaosFindings } from '../packages/kit/src/chaos-finding';
import { describeFault, drawSchedule, faultCountMax, replicasMax, type ScheduledFault, serviceOf, skewMsDefault } from './chaos/schedule';
import { injectedFaultHits } from './chaos/sagas';
import { Workload } from './chaos/workload';

export const chaosUsage = `Usage:
  npm run chaos -- --seed <S> [--faults <N>] [--duration-ms <D>] [--replicas <R>] [--skew-ms <K>] [--state-dir <dir>] [--no-build] [--root <dir>] [--reintroduce <finding>]

  --seed         the run's seed, an integer in [0, 2^32): the same seed replays the same schedule
  --faults       SIGKILLs (each followed by a restart) during the workload; default ${10}
  --duration-ms  how long the workload starts new flows; default 60000
  --replicas     processes of every service (1 or 2…${replicasMax}; the gateway stays one); default 1
  --skew-ms      each service process's clock is shifted by a seeded amount up to this;
                 default ${skewMsDefault} at two replicas or more, 0 at one
  --state-dir    where the run keeps its servers' state, the logs and the action log; default .cache/chaos/<seed>
  --no-build     skip \`turbo run build\` (use after \`npm run build\`)
  --root         run the dist/ builds of another checkout of this repository
  --reintroduce  bring one fixed finding back in every service, to show the run catches it:
                 ${chaosFindingNames.join(', ')}`;

export const faultCountDefault = 10;
export const durationMsDefault = 60_000;
/** After the workload, how long the run waits for the platform to become quiet before it checks anyway. */
export const quietTimeoutMs = 240_000;

class UsageError extends Error {}

interface ChaosArguments {
  readonly seed: number;
  readonly faultCount: number;
  readonly durationMs: number;
  readonly replicas: number;
  readonly skewMs: number;
  readonly build: boolean;
  readonly root: string;
  readonly stateDirectory: string | undefined;
  readonly reintroduce: ChaosFinding | undefined;
}

export function parseChaosArgs(argv: readonly string[], defaultRoot: string): ChaosArguments {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        seed: { type: 'string' },
        faults: { type: 'string' },
        'duration-ms': { type: 'string' },
        replicas: { type: 'string' },
        'skew-ms': { type: 'string' },
        'state-dir': { type: 'string' },
        'no-build': { type: 'boolean' },
        root: { type: 'string' },
        reintroduce: { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const integer = (text: string | undefined, name: string, fallback: number | undefined, maximum: number) => {
    if (text === undefined) {
      if (fallback === undefined) throw new UsageError(`--${name} is required`);
      return fallback;
    }
    const value = Number(text);
    if (!/^\d+$/.test(text) || !Number.isSafeInteger(value) || value > maximum) throw new UsageError(`--${name} "${text}" must be a whole number of at most ${maximum}`);
    return value;
  };
  const root = resolve(values.root ?? defaultRoot);
  if (!existsSync(join(root, 'services'))) throw new UsageError(`--root ${root} is not a checkout of this repository`);
  const stateDirectory = values['state-dir'] === undefined ? undefined : resolve(values['state-dir']);
  // The run empties its state directory first: never one that holds anything but an earlier run's state.
  if (stateDirectory !== undefined && existsSync(stateDirectory) && readdirSync(stateDirectory).length > 0 && !existsSync(join(stateDirectory, 'logs'))) {
    throw new UsageError(`--state-dir ${stateDirectory} is not empty and holds no earlier run (no logs/); the run empties it, so choose another`);
  }
  const reintroduce = values.reintroduce as ChaosFinding | undefined;
  if (reintroduce !== undefined && !chaosFindingNames.includes(reintroduce)) throw new UsageError(`--reintroduce "${reintroduce}" must be one of ${chaosFindingNames.join(', ')}`);
  const replicas = integer(values.replicas, 'replicas', 1, replicasMax);
  if (replicas < 1) throw new UsageError('--replicas must be at least 1');
  return {
    seed: integer(values.seed, 'seed', undefined, 0xffff_ffff),
    replicas,
    skewMs: integer(values['skew-ms'], 'skew-ms', replicas > 1 ? skewMsDefault : 0, clockSkewMaxMs),
    faultCount: integer(values.faults, 'faults', faultCountDefault, faultCountMax),
    durationMs: integer(values['duration-ms'], 'duration-ms', durationMsDefault, 24 * 3_600_000),
    build: !values['no-build'],
    root,
    stateDirectory,
    reintroduce,
  };
}

const say = (line: string) => process.stdout.write(`${line}\n`);
const seconds = (ms: number) => `${(ms / 1_000).toFixed(1)} s`;
let cluster: ChaosCluster | undefined;
let stopped = false;

async function main(argv: readonly string[]): Promise<number> {
  const repositoryRoot = findRepositoryRoot();
  let options: ChaosArguments;
  try {
    options = parseChaosArgs(argv, repositoryRoot);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`chaos: ${error.message}\n\n${chaosUsage}\n`);
    return 2;
  }
  const { seed, faultCount, durationMs, replicas, skewMs } = options;
  const schedule = drawSchedule({ seed, faultCount, durationMs, replicas, skewMs });
  const stateDirectory = options.stateDirectory ?? join(repositoryRoot, '.cache', 'chaos', String(seed));
  say(`chaos: seed ${seed}, ${faultCount} faults over ${seconds(durationMs)} of workload, ${replicas === 1 ? 'one replica' : `${replicas} replicas`} per service${skewMs > 0 ? `, clocks skewed up to ±${skewMs} ms` : ''}`);
  for (const fault of schedule.faults) say(`  ${describeFault(fault)}`);
  for (const [process, plan] of Object.entries(schedule.grpcFaults)) say(`  GRPC_FAULTS of ${process}: ${plan}`);
  if (options.reintroduce) say(`  CHAOS_FINDING ${options.reintroduce}: ${chaosFindings[options.reintroduce]}`);
  if (skewMs > 0) say(`  CLOCK_SKEW_MS: ${Object.entries(schedule.clockSkews).map(([process, skew]) => `${process} ${skew}`).join(', ')}`);
  if (options.build) await build(options.root);

  const startedAtMs = Date.now();
  say(`• starting a private platform (state and logs in ${stateDirectory})…`);
  cluster = await ChaosCluster.start({ seed, repositoryRoot: options.root, stateDirectory, grpcFaults: schedule.grpcFaults, replicas, clockSkews: schedule.clockSkews, reintroduce: options.reintroduce, say });
  const running = () => !stopped && cluster?.failure === undefined;
  say(`✓ platform ready at ${cluster.gatewayUrl} in ${seconds(Date.now() - startedAtMs)}`);
  mkdirSync(stateDirectory, { recursive: true });
  const client = new ChaosClient(cluster.gatewayUrl, `s${seed}`, join(stateDirectory, 'actions.jsonl'), running);
  const workload = await Workload.prepare({ seed, gatewayUrl: cluster.gatewayUrl, mongoUrl: cluster.mongoUrl, pspWebhookSecret: cluster.secrets.pspWebhookSecret, client, say });
  say(`✓ ${Object.values(workload.cast).flat().length} actors signed up and funded; the workload runs ${seconds(durationMs)} with the schedule`);

  const faults: FaultRecord[] = [];
  let stepReached = 0;
  const workloadStartedAtMs = Date.now();
  // Faults of different processes may overlap (a broker restart takes seconds; the next kill need not
  // wait for it); the two replicas of a service share a lane, so they are never down at once by the schedule.
  const lanes = new Map<string, Promise<void>>();
  const inject = async (fault: ScheduledFault): Promise<void> => {
    const waitMs = fault.atMs - (Date.now() - workloadStartedAtMs);
    if (waitMs > 0) await new Promise((resolveWait) => setTimeout(resolveWait, waitMs));
    if (!running()) return;
    stepReached = Math.max(stepReached, fault.step);
    const activeCluster = cluster!;
    const service = serviceOf(fault.target);
    // A replica's kill hits its service's sagas (either replica may be driving one); the gateway, the broker and the database every service's.
    const unfinished = await unfinishedSagasNow(activeCluster.mongoUrl, service);
    const killedAtMs = Date.now() - workloadStartedAtMs;
    await activeCluster.kill(fault.target);
    await new Promise((resolveWait) => setTimeout(resolveWait, fault.downMs));
    await activeCluster.restart(fault.target);
    const record: FaultRecord = { ...fault, killedAtMs, backAtMs: Date.now() - workloadStartedAtMs, unfinishedSagas: unfinished };
    faults.push(record);
    say(`  ⚡ step ${fault.step}: killed ${fault.target} at +${seconds(killedAtMs)} (${unfinished === undefined ? 'sagas unknown' : `${unfinished} saga(s) unfinished`}), back at +${seconds(record.backAtMs)}`);
  };
  // A fault that cannot be carried out (a restart that never listens) stops the run as not carried
  // out, never as an unhandled rejection that would leave the servers running.
  const faultFailures: string[] = [];
  const injecting = Promise.all(
    schedule.faults.map((fault) => {
      const lane = serviceOf(fault.target) ?? fault.target;
      const done = (lanes.get(lane) ?? Promise.resolve()).then(() =>
        inject(fault).catch((error: unknown) => {
          faultFailures.push(`step ${fault.step} (${fault.target}): ${error instanceof Error ? error.message : String(error)}`);
        }),
      );
      lanes.set(lane, done);
      return done;
    }),
  );
  const progress = setInterval(() => {
    const counts = client.counts;
    say(`  … +${seconds(Date.now() - workloadStartedAtMs)}: ${counts.actions} actions, ${counts.answered} answered, ${counts.abandoned} abandoned, ${counts.retries} retries; ${faults.length}/${schedule.faults.length} faults`);
  }, 10_000);
  try {
    await workload.run(durationMs, running);
    await injecting;
  } finally {
    clearInterval(progress);
  }
  if (cluster.failure) throw cluster.failure;
  if (faultFailures.length > 0) throw new Error(`the schedule could not be carried out: ${faultFailures.join('; ')}`);
  say(`✓ workload done at +${seconds(Date.now() - workloadStartedAtMs)}; ${faults.length} faults injected`);
  await cluster.waitGatewayReady();
  say('  waiting for every deadline to pass and for quiet…');
  let quiet = await waitForQuiet(cluster.mongoUrl, quietTimeoutMs, say);
  // Then the owners come back, as people do after an outage, to what their flows gave up on (an
  // award whose request gave up may have been funded by recovery minutes later), and the platform
  // settles what they did.
  const leftovers = await workload.finishLeftovers();
  if (leftovers > 0) {
    say(`✓ owners came back to ${leftovers} task(s) their flows had given up on; waiting for quiet again…`);
    quiet = (await waitForQuiet(cluster.mongoUrl, quietTimeoutMs, say)) && quiet;
  }
  const grpcHits = await withMongo(cluster.mongoUrl, (client) => injectedFaultHits(client));
  const report = await checkInvariants({ cluster, regulatorToken: workload.cast.regulator.token, workload: workload.record, say });

  const killsMidFlight = faults.filter((fault) => (fault.unfinishedSagas ?? 0) > 0).length;
  const hitMidFlight = killsMidFlight + grpcHits.sagas;
  const counts = report.sagasRun >= sagasPerSeedMin && hitMidFlight >= midFlightHitsPerSeedMin;
  say('');
  say(`Summary of seed ${seed}`);
  say(`  actions ${client.counts.actions} sent, ${client.counts.answered} answered, ${client.counts.abandoned} abandoned (${client.counts.attempts} attempts, ${client.counts.retries} retries)`);
  say(`  flows ${Object.entries(workload.record.flows).map(([kind, count]) => `${kind} ${count}`).join(', ')}`);
  say(`  sagas run ${report.sagasRun} (${Object.entries(report.sagasByService).map(([service, count]) => `${service} ${count}`).join(', ')})`);
  say(`  faults injected ${faults.length} kills (${replicas} replica(s) per service) and the gRPC fault plans; crashes of their own ${JSON.stringify(cluster.crashesByProcess)}`);
  say(`  hit a saga mid-flight ${hitMidFlight}: ${killsMidFlight} kills while a saga of the killed service was unfinished, ${grpcHits.sagas} sagas failed on an injected gRPC fault (${grpcHits.hits} failures; ${JSON.stringify(grpcHits.sagasByService)})`);
  say(`  the seed ${counts ? 'counts' : `does not count (needs at least ${sagasPerSeedMin} sagas and ${midFlightHitsPerSeedMin} mid-flight hits)`}: sagas ${report.sagasRun}, mid-flight ${hitMidFlight}`);
  say(`  quiet ${quiet ? 'reached' : `not reached within ${seconds(quietTimeoutMs)}`}; ${report.checked} checks`);
  for (const note of [...report.notes, ...workload.record.notes]) say(`  note: ${note}`);
  const result = { seed, replicas, skewMs, durationMs, ...(options.reintroduce ? { reintroduce: options.reintroduce } : {}), faults: faults.length, sagas: report.sagasRun, midFlight: hitMidFlight, counts, quiet, checks: report.checked, violations: report.violations.length };
  say(`  result ${JSON.stringify(result)}`);
  for (const error of workload.record.flowErrors) say(`  workload error: ${error}`);
  if (report.violations.length === 0) {
    say(`✓ seed ${seed}: every invariant held`);
    return 0;
  }
  for (const violation of report.violations) say(`✗ seed ${seed}, step ${stepReached} of ${schedule.faults.length}: ${violation}`);
  say(`  logs and the action log: ${stateDirectory}`);
  return 1;
}

async function build(root: string): Promise<void> {
  const startedAtMs = Date.now();
  say(`• building ${root} (turbo run build)…`);
  const child = spawn(join(root, 'node_modules', '.bin', 'turbo'), ['run', 'build', '--output-logs=errors-only'], { cwd: root, env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' }, stdio: 'inherit' });
  const exitCode = await new Promise<number>((resolveExit) => child.on('exit', (code) => resolveExit(code ?? 1)));
  if (exitCode !== 0) throw new Error(`the build failed (turbo exited with ${exitCode})`);
  say(`✓ built in ${seconds(Date.now() - startedAtMs)}`);
}

async function stopAndExit(exitCode: number): Promise<never> {
  stopped = true;
  // Every cluster started, including one whose start threw before `cluster` was set.
  const clusters = new Set([...activeClusters, ...(cluster ? [cluster] : [])]);
  if (clusters.size > 0) {
    say('• stopping the platform…');
    for (const started of clusters) await started.stop().catch((error: unknown) => say(`✗ could not stop everything: ${error instanceof Error ? error.message : String(error)}`));
    say('✓ stopped');
  }
  process.exit(exitCode);
}

// A parent that went away (a closed pipe) must not stop the clean-up half way: what cannot be printed is dropped.
process.stdout.on('error', () => undefined);
process.stderr.on('error', () => undefined);

// Whatever escapes (a bug of the runner) still stops every server the run started before it exits.
for (const event of ['unhandledRejection', 'uncaughtException'] as const) {
  process.on(event, (error: unknown) => {
    say(`✗ chaos: ${event}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    void stopAndExit(1);
  });
}

let signalled = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (signalled) return;
    signalled = true;
    say(`\n${signal} received; stopping everything this run started`);
    void stopAndExit(130);
  });
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (exitCode) => stopAndExit(exitCode),
    (error: unknown) => {
      say(`✗ chaos: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      void stopAndExit(1);
    },
  );
}
