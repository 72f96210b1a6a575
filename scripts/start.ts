/**
 * `npm start`: builds what is needed, brings up Kafka and the MongoDB-wire server unless
 * KAFKA_BROKERS / MONGO_URL point elsewhere, starts every service and the gateway as separate
 * processes, waits until the gateway's /readyz is green and prints where it listens. Ctrl-C stops
 * everything it started (a second Ctrl-C kills at once).
 *
 * Flags: --no-build skips the build (use after `npm run build`).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { ensureInfrastructure, findFreePort, findRepositoryRoot, formatSeconds, InfrastructureError, type Infrastructure } from '../packages/testkit/src/infra';
import { entryPoint, gatewayDirectory, portVariable, presentServices } from './platform/components';
import { ManagedProcess } from './platform/managed-process';

/** How long the platform may take to become ready before the runner gives up. */
export const readinessTimeoutMs = 120_000;
export const readinessPollMs = 250;
export const gatewayPortDefault = 8080;

const repositoryRoot = findRepositoryRoot();
const say = (line: string) => process.stdout.write(`${line}\n`);
const processes: ManagedProcess[] = [];
let infrastructure: Infrastructure | undefined;
let shuttingDown: Promise<void> | undefined;

async function main(): Promise<void> {
  const startedAtMs = Date.now();
  if (!process.argv.includes('--no-build')) await build();

  infrastructure = await ensureInfrastructure({ log: (line) => say(`  infra: ${line}`) });
  say(`✓ infrastructure (${infrastructure.source}): Kafka ${infrastructure.kafkaBrokers.join(',')}, MongoDB ${infrastructure.mongoUrl}`);
  if (shuttingDown) return;

  const shared = { ...process.env, KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','), MONGO_URL: infrastructure.mongoUrl, SIZHONG_REPOSITORY_ROOT: repositoryRoot };
  const gatewayEnvironment: NodeJS.ProcessEnv = { ...shared };
  for (const service of presentServices(repositoryRoot)) {
    const port = Number(process.env[portVariable(service)] ?? service.grpcPortDefault);
    await assertPortFree(port, portVariable(service));
    processes.push(supervise(service.name, entryPoint(repositoryRoot, service.directory), { ...shared, GRPC_HOST: '127.0.0.1', GRPC_PORT: String(port) }));
    gatewayEnvironment[service.addressVariable] = `127.0.0.1:${port}`;
    say(`  started ${service.name} (gRPC 127.0.0.1:${port})`);
  }

  const gatewayPort = await choosePort(process.env['GATEWAY_PORT']);
  processes.push(supervise('gateway', entryPoint(repositoryRoot, gatewayDirectory), { ...gatewayEnvironment, GATEWAY_PORT: String(gatewayPort), GATEWAY_HOST: '127.0.0.1' }));
  const url = `http://127.0.0.1:${gatewayPort}`;
  await waitUntilReady(url);
  say('');
  say(`Sizhong is running at ${url}   (ready in ${formatSeconds(Date.now() - startedAtMs)})`);
  say(`  API reference  ${url}/docs`);
  say(`  readiness      ${url}/readyz`);
  say(`  logs           ${join(repositoryRoot, '.cache', 'logs')}`);
  say('Press Ctrl-C to stop.');
}

async function build(): Promise<void> {
  const startedAtMs = Date.now();
  say('• building (turbo run build)…');
  const turbo = join(repositoryRoot, 'node_modules', '.bin', 'turbo');
  const exitCode = await new Promise<number>((resolve) => {
    const child = spawn(turbo, ['run', 'build', '--output-logs=errors-only'], {
      cwd: repositoryRoot,
      env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' },
      stdio: 'inherit',
    });
    child.on('exit', (code) => resolve(code ?? 1));
  });
  if (exitCode !== 0) throw new Error(`the build failed (turbo exited with ${exitCode})`);
  say(`✓ built in ${formatSeconds(Date.now() - startedAtMs)}`);
}

function supervise(name: string, entry: string, environment: NodeJS.ProcessEnv): ManagedProcess {
  if (!existsSync(entry)) throw new Error(`${entry} is missing; run without --no-build`);
  const managed = new ManagedProcess({
    name,
    command: process.execPath,
    args: ['--enable-source-maps', entry],
    environment,
    logFile: join(repositoryRoot, '.cache', 'logs', `${name}.log`),
    say,
    onGiveUp: () => void shutdown(1),
  });
  managed.start();
  return managed;
}

async function choosePort(requested: string | undefined): Promise<number> {
  if (requested === '0') return findFreePort();
  const port = requested ? Number(requested) : gatewayPortDefault;
  await assertPortFree(port, 'GATEWAY_PORT');
  return port;
}

function assertPortFree(port: number, variable: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', () => reject(new Error(`port 127.0.0.1:${port} is taken; set ${variable} to another port (or stop what uses it)`)));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve()));
  });
}

async function waitUntilReady(url: string): Promise<void> {
  const deadline = Date.now() + readinessTimeoutMs;
  let lastReport = Date.now();
  let lastProblem = 'no answer yet';
  while (Date.now() < deadline) {
    if (shuttingDown) throw new Error('stopped while starting');
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

function shutdown(exitCode: number): Promise<void> {
  shuttingDown ??= (async () => {
    say('\nstopping…');
    await Promise.all(processes.map((managed) => managed.stop()));
    if (infrastructure?.startedHere) {
      say('  stopping the local Kafka and MongoDB-wire servers');
      await infrastructure.stop();
    }
    say('stopped.');
    process.exit(exitCode);
  })();
  return shuttingDown;
}

let interrupts = 0;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    interrupts += 1;
    if (interrupts > 1) {
      say('killing everything now');
      for (const managed of processes) managed.kill();
      process.exit(130);
    }
    void shutdown(0);
  });
}

main().catch((error: unknown) => {
  const message = error instanceof InfrastructureError ? `infra: ${error.message}` : error instanceof Error ? error.message : String(error);
  say(`✗ ${message}`);
  void shutdown(1);
});
