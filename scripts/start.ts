/**
 * `npm start`: builds what is needed, brings up Kafka and the MongoDB-wire server unless
 * KAFKA_BROKERS / MONGO_URL point elsewhere, starts every service and the gateway as separate
 * processes, waits until the gateway's /readyz is green, records where the platform runs (for
 * `npm run admin` and `npm run psp`) and prints the gateway's URL.
 *
 * Stopping. A SIGINT or SIGTERM stops the services and the gateway (SIGTERM, SIGKILL after 10 s),
 * then the Kafka and MongoDB-wire servers this run started, waits until they are gone, and exits 0.
 * One Ctrl-C can reach this process two or three times (the terminal signals the whole process
 * group, and npm forwards the signal as well), so signals within `repeatedSignalWindowMs` of the
 * first count as one. A later signal hurries: it SIGKILLs the services, but the servers are still
 * stopped and waited for, so that nothing keeps a port. However many signals come, the runner
 * exits only after that.
 *
 * A process that refuses its configuration (exit code 78) is not restarted: its reason is shown
 * once, the platform stops, and the runner exits with 78. So does the runner for its own settings
 * (GATEWAY_PORT, <SERVICE>_GRPC_PORT).
 *
 * Deadlines: every service gets DEADLINE_MIN_MS=10000 (10 s) unless it is exported, so that the
 * guided demo's campaigns and rounds settle while one watches; this is a choice of the local
 * sandbox only (the services' default, one day, is what production runs with). Likewise task-dispatch's
 * windows after a deadline (TASK_RESUBMIT_WINDOW_MS, TASK_CONTEST_DECISION_MS, DISPUTE_RESOLUTION_MS)
 * are 60 s each unless exported, so abandonment, the contest rule and overdue disputes happen while
 * one watches (their defaults are 7 and 14 days).
 *
 * Flags: --no-build skips the build (use after `npm run build`).
 * SIZHONG_SERVICES (comma-separated names) runs only those services; unset runs every one.
 * SIZHONG_STATE_DIR moves the runner's state (logs, the platform record, the local servers' data)
 * away from `<repository>/.cache`, for a second platform from the same clone; give it other ports too.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ConfigurationError, configFields, configurationErrorExitCode, configurationProblem, loadConfig } from '../packages/kit/src/config';
import { defaultDataDirectory } from '../packages/kit/src/local-secrets';
import { findLocalPlatform, localStateDirectory, removeLocalPlatform, writeLocalPlatform } from '../packages/kit/src/local-platform';
import { ensureInfrastructure, findFreePort, findRepositoryRoot, formatSeconds, InfrastructureError, type Infrastructure } from '../packages/testkit/src/infra';
import { entryPoint, gatewayDirectory, gatewayDownstreamEnvironment, type PlatformService, portVariable, presentServices } from './platform/components';
import { ManagedProcess } from './platform/managed-process';

/** How long the platform may take to become ready before the runner gives up. */
export const readinessTimeoutMs = 120_000;
export const readinessPollMs = 250;
export const gatewayPortDefault = 8080;
/** Signals this soon after the first are the same keypress delivered again (process group, npm). */
export const repeatedSignalWindowMs = 500;
/**
 * The local sandbox's shortest deadline (DEADLINE_MIN_MS for every service) unless it is exported:
 * 10 s, so that campaigns, rounds and tasks can end while you watch (`npm run demo`). The services'
 * own default, and so production's, stays one day.
 */
export const sandboxDeadlineMinMs = 10_000;
/**
 * The local sandbox's windows after a deadline, each unless it is exported: 60 s instead of 7 or 14
 * days, so that rejected work is abandoned, a contest without winners is decided by its rule and an
 * unresolved dispute raises its alert while you watch (docs/task-dispatch.md "Deadlines").
 */
export const sandboxWindowsMs = { TASK_RESUBMIT_WINDOW_MS: 60_000, TASK_CONTEST_DECISION_MS: 60_000, DISPUTE_RESOLUTION_MS: 60_000 } as const;

const repositoryRoot = findRepositoryRoot();
const stateDirectory = localStateDirectory();
const say = (line: string) => process.stdout.write(`${line}\n`);
const processes: ManagedProcess[] = [];
let build: { child: ChildProcess; exited: Promise<number> } | undefined;
let infrastructureStarting: Promise<Infrastructure> | undefined;
let shuttingDown: Promise<void> | undefined;

/** The runner's own settings: the ports it hands out, each `0` for a free one. */
function runnerConfigShape(services: readonly PlatformService[]) {
  const shape: Record<string, ReturnType<typeof configFields.port>> = {
    GATEWAY_PORT: configFields.port(gatewayPortDefault, 'TCP port of the gateway; 0 picks a free one'),
  };
  for (const service of services) shape[portVariable(service)] = configFields.port(service.grpcPortDefault, `gRPC port of ${service.name}; 0 picks a free one`);
  return shape;
}

/** The services SIZHONG_SERVICES names (all when unset); a name with no service under services/ is a configuration error. */
function selectServices(present: readonly PlatformService[], selection: string | undefined): PlatformService[] {
  const wanted = (selection ?? '').split(',').map((name) => name.trim()).filter(Boolean);
  if (wanted.length === 0) return [...present];
  const unknown = wanted.filter((name) => !present.some((service) => service.name === name));
  if (unknown.length > 0) {
    const names = present.map((service) => service.name).join(',');
    throw new ConfigurationError([
      configurationProblem('SIZHONG_SERVICES', selection, `no service ${unknown.join(', ')} under services/`, `comma-separated names of services under services/ (${names}); unset runs them all`, names),
    ]);
  }
  return present.filter((service) => wanted.includes(service.name));
}

async function main(): Promise<void> {
  const startedAtMs = Date.now();
  const services = selectServices(presentServices(repositoryRoot), process.env['SIZHONG_SERVICES']);
  const ports = loadConfig(runnerConfigShape(services)) as Record<string, number>;
  const running = findLocalPlatform();
  if (running) throw new Error(`Sizhong from this clone already runs at ${running.gatewayUrl} (npm start, pid ${running.runnerPid}); stop it first (Ctrl-C in its terminal)`);
  if (!process.argv.includes('--no-build')) await buildWorkspaces();

  infrastructureStarting = ensureInfrastructure({ log: (line) => say(`  infra: ${line}`), stateDirectory: join(stateDirectory, 'infra') });
  const infrastructure = await infrastructureStarting;
  assertStillStarting();
  say(`✓ infrastructure (${infrastructure.source}): Kafka ${infrastructure.kafkaBrokers.join(',')}, MongoDB ${infrastructure.mongoUrl}`);

  const deadlineMinMs = process.env['DEADLINE_MIN_MS']?.trim() || String(sandboxDeadlineMinMs);
  const windows = Object.fromEntries(Object.entries(sandboxWindowsMs).map(([name, ms]) => [name, process.env[name]?.trim() || String(ms)]));
  const shared = { ...process.env, KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','), MONGO_URL: infrastructure.mongoUrl, SIZHONG_REPOSITORY_ROOT: repositoryRoot, DEADLINE_MIN_MS: deadlineMinMs, ...windows };
  say(
    process.env['DEADLINE_MIN_MS']?.trim()
      ? `  deadlines: DEADLINE_MIN_MS=${deadlineMinMs} (exported)`
      : `  deadlines: DEADLINE_MIN_MS=${deadlineMinMs} (local sandbox: campaigns, rounds and tasks may end ${sandboxDeadlineMinMs / 1000} s from now; the services' default is one day; export DEADLINE_MIN_MS to change)`,
  );
  say(
    `  windows after a deadline: ${Object.entries(windows)
      .map(([name, ms]) => `${name}=${ms}${process.env[name]?.trim() ? ' (exported)' : ''}`)
      .join(', ')} (local sandbox: 60 s each unless exported; the services' defaults are 7 and 14 days)`,
  );
  // Every port first, so each service learns every other's address (task-dispatch and equity call
  // escrow and credit; credit asks escrow for its invariants) through `<NAME>_GRPC_ADDRESS`.
  const addresses = new Map<PlatformService, string>();
  for (const service of services) {
    const port = await choosePort(ports[portVariable(service)] ?? service.grpcPortDefault, portVariable(service));
    addresses.set(service, `127.0.0.1:${port}`);
  }
  const serviceAddresses = Object.fromEntries([...addresses].map(([service, address]) => [service.addressVariable, address]));
  for (const [service, address] of addresses) {
    const port = address.slice(address.lastIndexOf(':') + 1);
    supervise(service.name, entryPoint(repositoryRoot, service.directory), { ...shared, ...serviceAddresses, GRPC_HOST: '127.0.0.1', GRPC_PORT: port });
    say(`  started ${service.name} (gRPC ${address})`);
  }
  const gatewayEnvironment: NodeJS.ProcessEnv = { ...shared, ...gatewayDownstreamEnvironment(addresses) };

  const gatewayPort = await choosePort(ports['GATEWAY_PORT'] ?? gatewayPortDefault, 'GATEWAY_PORT');
  supervise('gateway', entryPoint(repositoryRoot, gatewayDirectory), { ...gatewayEnvironment, GATEWAY_PORT: String(gatewayPort), GATEWAY_HOST: '127.0.0.1' });
  const url = `http://127.0.0.1:${gatewayPort}`;
  await waitUntilReady(url);
  const gatewayDatabase = process.env['GATEWAY_DATABASE']?.trim();
  writeLocalPlatform({
    runnerPid: process.pid,
    startedAt: new Date(startedAtMs).toISOString(),
    gatewayUrl: url,
    mongoUrl: infrastructure.mongoUrl,
    kafkaBrokers: infrastructure.kafkaBrokers,
    ...(gatewayDatabase ? { gatewayDatabase } : {}),
    dataDirectory: defaultDataDirectory(),
  });
  say('');
  say(`Sizhong is running at ${url}   (ready in ${formatSeconds(Date.now() - startedAtMs)})`);
  say(`  API reference  ${url}/docs`);
  say(`  readiness      ${url}/readyz`);
  say(`  logs           ${join(stateDirectory, 'logs')}`);
  say('`npm run admin` and `npm run psp` find this platform by themselves. Press Ctrl-C to stop.');
}

async function buildWorkspaces(): Promise<void> {
  const startedAtMs = Date.now();
  say('• building (turbo run build)…');
  const turbo = join(repositoryRoot, 'node_modules', '.bin', 'turbo');
  const child = spawn(turbo, ['run', 'build', '--output-logs=errors-only'], {
    cwd: repositoryRoot,
    env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' },
    stdio: 'inherit',
  });
  build = { child, exited: new Promise<number>((resolve) => child.on('exit', (code) => resolve(code ?? 1))) };
  const exitCode = await build.exited;
  assertStillStarting();
  if (exitCode !== 0) throw new Error(`the build failed (turbo exited with ${exitCode})`);
  say(`✓ built in ${formatSeconds(Date.now() - startedAtMs)}`);
}

function supervise(name: string, entry: string, environment: NodeJS.ProcessEnv): void {
  assertStillStarting();
  if (!existsSync(entry)) throw new Error(`${entry} is missing; run without --no-build`);
  const managed = new ManagedProcess({
    name,
    command: process.execPath,
    args: ['--enable-source-maps', entry],
    environment,
    logFile: join(stateDirectory, 'logs', `${name}.log`),
    say,
    onGiveUp: () => void shutdown(1),
    onConfigurationError: () => void shutdown(configurationErrorExitCode),
  });
  processes.push(managed);
  managed.start();
}

class StoppedWhileStarting extends Error {}

/** Nothing new starts once stopping has begun: what `shutdown` did not see, it could not stop. */
function assertStillStarting(): void {
  if (shuttingDown) throw new StoppedWhileStarting('stopped while starting');
}

async function choosePort(requested: number, variable: string): Promise<number> {
  if (requested === 0) return findFreePort();
  await assertPortFree(requested, variable);
  return requested;
}

function assertPortFree(port: number, variable: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', () => reject(new Error(`port 127.0.0.1:${port} is taken; set ${variable} to another port, 0 for a free one (or stop what uses it)`)));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

async function waitUntilReady(url: string): Promise<void> {
  const deadline = Date.now() + readinessTimeoutMs;
  let lastReport = Date.now();
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    assertStillStarting();
    try {
      const response = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(2_000) });
      if (response.ok) return;
      lastProblem = `${response.status} ${await response.text()}`;
    } catch (error) {
      lastProblem = (error as Error).message;
    }
    if (Date.now() - lastReport > 5_000) {
      say(`  waiting for ${url}/readyz… (${lastProblem})`);
      lastReport = Date.now();
    }
    await new Promise((resolve) => setTimeout(resolve, readinessPollMs));
  }
  throw new Error(`the platform was not ready within ${readinessTimeoutMs / 1000} s: ${lastProblem}`);
}

/** Stops everything this run started, once, however often it is asked, then exits. */
function shutdown(exitCode: number): Promise<void> {
  shuttingDown ??= stopEverything().then(
    () => process.exit(exitCode),
    (error: unknown) => {
      say(`✗ could not stop everything: ${error instanceof Error ? error.message : String(error)}`);
      process.exit(1);
    },
  );
  return shuttingDown;
}

async function stopEverything(): Promise<void> {
  say('stopping…');
  // Everything below starts synchronously, before any await: nothing can be added after it.
  build?.child.kill('SIGTERM');
  await Promise.all(processes.map((managed) => managed.stop()));
  await build?.exited;
  removeLocalPlatform(process.pid);
  if (infrastructureStarting) {
    // A signal during the start lands here too: wait for the servers, then stop the ones this run started.
    const infrastructure = await infrastructureStarting.catch(() => undefined);
    if (infrastructure?.startedHere) {
      say('  stopping the local Kafka and MongoDB-wire servers');
      await infrastructure.stop();
    }
  }
  say('stopped.');
}

let firstSignalAtMs: number | undefined;
let hurried = false;
function onSignal(signal: NodeJS.Signals): void {
  const now = Date.now();
  if (firstSignalAtMs === undefined) {
    firstSignalAtMs = now;
    say(`\n${signal} received; a second Ctrl-C kills the services at once`);
    void shutdown(0);
    return;
  }
  if (hurried || now - firstSignalAtMs < repeatedSignalWindowMs) return;
  hurried = true;
  say('killing the services now; the Kafka and MongoDB-wire servers are still stopped and waited for');
  build?.child.kill('SIGKILL');
  for (const managed of processes) managed.kill();
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);

main().catch((error: unknown) => {
  if (error instanceof StoppedWhileStarting) return;
  if (error instanceof ConfigurationError) {
    say(`✗ npm start: ${error.message}`);
    void shutdown(configurationErrorExitCode);
    return;
  }
  const message = error instanceof InfrastructureError ? `infra: ${error.message}` : error instanceof Error ? error.message : String(error);
  say(`✗ ${message}`);
  void shutdown(1);
});
