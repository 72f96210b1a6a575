/**
 * What a benchmark starts and must stop: the infrastructure, escrow and the gateway as child
 * processes (as in production), and a cleanup list that runs on success, on failure and on
 * Ctrl-C, so no child process, database or topic outlives the run.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkHealth, connectMongo, createKafka, createLogger } from '@sizhong/kit';
import { ensureInfrastructure, findFreePort, type Infrastructure } from '../../packages/testkit/src/infra';
import { sleep } from './driver';

export const repositoryRoot = join(__dirname, '..', '..');
/** Where BENCH_CPU_PROFILE=1 leaves the children's .cpuprofile files, one folder per child and run. */
export const profileDirectory = join(repositoryRoot, '.cache', 'bench-profiles');
/** Makes a child stop itself when this process ends, however it ends (see the file). */
const exitWithParentPreload = join(__dirname, 'exit-with-parent.ts');
/** A JVM-free node child with tsx starts in about two seconds; the margin is for a busy machine. */
const childReadyTimeoutMs = 60_000;
/** A child gets this long to stop on SIGTERM (its requests finish, profiles are written) before SIGKILL. */
const childStopGraceMs = 15_000;
/** Lines of a child's output kept to explain its death. */
const childOutputLinesKept = 40;

/**
 * Ordered cleanup: the last added runs first. It also owns the abort signal the drivers watch, so
 * a dying child or Ctrl-C stops the load at once.
 */
export class Cleanup {
  private readonly steps: Array<{ label: string; run: () => Promise<void> }> = [];
  private readonly children = new Set<ChildProcess>();
  private readonly controller = new AbortController();
  private running: Promise<void> | undefined;

  constructor() {
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.once(signal, () => {
        console.error(`\n${signal}: stopping the benchmark and cleaning up (again to exit at once)`);
        process.once(signal, () => process.exit(130));
        this.abort(new Error(`interrupted by ${signal}`));
        void this.run().finally(() => process.exit(130));
      });
    }
    // Last resort when the process exits without running the steps: no child is left behind.
    process.once('exit', () => {
      for (const child of this.children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  abort(reason: Error): void {
    if (!this.controller.signal.aborted) this.controller.abort(reason);
  }

  add(label: string, run: () => Promise<void>): void {
    this.steps.push({ label, run });
  }

  track(child: ChildProcess): void {
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
  }

  run(): Promise<void> {
    this.running ??= (async () => {
      for (const step of this.steps.reverse()) {
        try {
          await step.run();
        } catch (error) {
          console.error(`  cleanup: ${step.label} failed: ${(error as Error).message}`);
        }
      }
    })();
    return this.running;
  }
}

export async function startInfrastructure(cleanup: Cleanup): Promise<Infrastructure> {
  const infrastructure = await ensureInfrastructure({ log: (line) => console.log(`  infra: ${line}`) });
  cleanup.add('stop the infrastructure this run started', () => infrastructure.stop());
  return infrastructure;
}

/** Drops the databases at cleanup (first the ones added last, like every step). */
export function dropDatabasesAtCleanup(cleanup: Cleanup, mongoUrl: string, databaseNames: readonly string[]): void {
  cleanup.add(`drop ${databaseNames.join(', ')}`, async () => {
    for (const name of databaseNames) await dropDatabase(mongoUrl, name);
  });
}

/** Drops one database; when the server refuses the whole drop, drops its collections one by one and tries again. */
async function dropDatabase(mongoUrl: string, name: string): Promise<void> {
  const connection = await connectMongo(mongoUrl, name);
  try {
    await connection.db.dropDatabase();
  } catch (error) {
    console.error(`  cleanup: dropping database ${name} failed (${(error as Error).message}); dropping its collections one by one`);
    for (const collection of await connection.db.listCollections({}, { nameOnly: true }).toArray()) {
      await connection.db.dropCollection(collection.name).catch((dropError: unknown) => console.error(`  cleanup: dropping ${name}.${collection.name} failed: ${(dropError as Error).message}`));
    }
    await connection.db.dropDatabase();
  } finally {
    await connection.close();
  }
}

/** Deletes the run's Kafka topics (every topic under its prefix) at cleanup. */
export function deleteTopicsAtCleanup(cleanup: Cleanup, brokers: readonly string[], topicPrefix: string): void {
  cleanup.add(`delete the topics ${topicPrefix}*`, async () => {
    const admin = createKafka({ brokers, clientId: 'bench-cleanup', logger: createLogger({ service: 'bench', level: 'error' }) }).admin();
    await admin.connect();
    try {
      const topics = (await admin.listTopics()).filter((topic) => topic.startsWith(topicPrefix));
      if (topics.length > 0) await admin.deleteTopics({ topics });
    } finally {
      await admin.disconnect();
    }
  });
}

export interface NodeChild {
  readonly name: string;
  readonly child: ChildProcess;
  /** The output lines seen so far (the last few). */
  readonly recentLines: string[];
  /** Resolves with the first output line that matches, rejects when the child exits first. */
  waitForLine(pattern: RegExp, timeoutMs?: number): Promise<string>;
  stop(): Promise<void>;
}

export interface NodeChildOptions {
  readonly name: string;
  /** A TypeScript entry point, run through tsx. */
  readonly script: string;
  readonly environment: NodeJS.ProcessEnv;
  /** Output lines starting with this are handed to `onReport` instead of being printed. */
  readonly reportPrefix?: string;
  readonly onReport?: (line: string) => void;
  /** Extra `--import` modules (diagnostics), after tsx and exit-with-parent. */
  readonly preloads?: readonly string[];
}

/**
 * Starts `node --import tsx <script>` with its output prefixed by its name. An exit before
 * `stop()` aborts the benchmark. BENCH_CPU_PROFILE=1 adds --cpu-prof (written when it stops).
 */
export function startNodeChild(cleanup: Cleanup, options: NodeChildOptions): NodeChild {
  const preloads = [exitWithParentPreload, ...(options.preloads ?? [])];
  const nodeArguments = ['--import', 'tsx', ...preloads.flatMap((module) => ['--import', module])];
  if (process.env['BENCH_CPU_PROFILE'] === '1') {
    // One directory per child: the main thread and tsx's loader thread each write a profile (the main one is the largest).
    const directory = join(profileDirectory, `${options.name}-${new Date().toISOString().replaceAll(':', '-')}`);
    mkdirSync(directory, { recursive: true });
    nodeArguments.push('--cpu-prof', `--cpu-prof-dir=${directory}`);
    console.log(`  ${options.name} writes its CPU profile to ${directory} when it stops`);
  }
  // Standard input stays an open pipe: its end tells the child that the benchmark is gone.
  const child = spawn(process.execPath, [...nodeArguments, options.script], { cwd: repositoryRoot, env: options.environment, stdio: ['pipe', 'pipe', 'pipe'] });
  cleanup.track(child);
  const recentLines: string[] = [];
  /** Each returns true when it took the line. */
  const lineWaiters = new Set<(line: string) => boolean>();
  let stopping = false;
  const onLine = (line: string) => {
    if (options.reportPrefix !== undefined && line.startsWith(options.reportPrefix)) {
      options.onReport?.(line.slice(options.reportPrefix.length));
      return;
    }
    recentLines.push(line);
    if (recentLines.length > childOutputLinesKept) recentLines.shift();
    let taken = false;
    for (const waiter of lineWaiters) taken = waiter(line) || taken;
    // Once stopping, its farewell lines are noise; they stay in recentLines.
    if (!taken && !stopping) console.error(`  [${options.name}] ${line}`);
  };
  for (const stream of [child.stdout, child.stderr]) splitLines(stream, onLine);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.once('exit', (code, signal) => {
    if (stopping) return;
    const message = `${options.name} exited unexpectedly (${signal ?? `code ${code}`}); its last lines:\n${recentLines.map((line) => `    ${line}`).join('\n')}`;
    console.error(`  ${message}`);
    cleanup.abort(new Error(message));
  });
  const stop = async () => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    stopping = true;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), childStopGraceMs);
    await exited;
    clearTimeout(timer);
  };
  cleanup.add(`stop ${options.name}`, stop);
  const waitForLine = (pattern: RegExp, timeoutMs = childReadyTimeoutMs) =>
    new Promise<string>((resolve, reject) => {
      const found = (line: string) => {
        if (!pattern.test(line)) return false;
        finish();
        resolve(line);
        return true;
      };
      const timer = setTimeout(() => {
        finish();
        reject(new Error(`${options.name} printed no line matching ${pattern} within ${timeoutMs} ms`));
      }, timeoutMs);
      const onAbort = () => {
        finish();
        reject(cleanup.signal.reason as Error);
      };
      const finish = () => {
        clearTimeout(timer);
        lineWaiters.delete(found);
        cleanup.signal.removeEventListener('abort', onAbort);
      };
      lineWaiters.add(found);
      cleanup.signal.addEventListener('abort', onAbort);
    });
  return { name: options.name, child, recentLines, waitForLine, stop };
}

function splitLines(stream: NodeJS.ReadableStream | null, onLine: (line: string) => void): void {
  let pending = '';
  stream?.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) if (line.trim() !== '') onLine(line);
  });
}

export interface EscrowChildOptions {
  /** Its output prefix (default "escrow"), when a run starts several. */
  readonly name?: string;
  readonly infrastructure: Infrastructure;
  readonly database: string;
  readonly topicPrefix: string;
  readonly webhookSecret: string;
  readonly logLevel: string;
  /** More variables, over the rest (tracing on or off, for instance). */
  readonly environment?: NodeJS.ProcessEnv;
  readonly preloads?: readonly string[];
  readonly reportPrefix?: string;
  readonly onReport?: (line: string) => void;
}

/** Escrow as its own process on a free port; resolves once its gRPC health check answers SERVING. */
export async function startEscrowChild(cleanup: Cleanup, options: EscrowChildOptions): Promise<NodeChild & { address: string }> {
  const port = await findFreePort();
  const escrow = startNodeChild(cleanup, {
    name: options.name ?? 'escrow',
    script: join(repositoryRoot, 'services', 'escrow', 'src', 'main.ts'),
    environment: {
      ...process.env,
      MONGO_URL: options.infrastructure.mongoUrl,
      KAFKA_BROKERS: options.infrastructure.kafkaBrokers.join(','),
      ESCROW_DATABASE: options.database,
      KAFKA_TOPIC_PREFIX: options.topicPrefix,
      PSP_WEBHOOK_SECRET: options.webhookSecret,
      GRPC_HOST: '127.0.0.1',
      GRPC_PORT: String(port),
      LOG_LEVEL: options.logLevel,
      // Campaigns end an hour after the run starts; escrow's default minimum is a day.
      DEADLINE_MIN_MS: '1000',
      ...options.environment,
    },
    ...(options.preloads ? { preloads: options.preloads } : {}),
    ...(options.reportPrefix !== undefined ? { reportPrefix: options.reportPrefix } : {}),
    ...(options.onReport ? { onReport: options.onReport } : {}),
  });
  const address = `127.0.0.1:${port}`;
  const deadline = Date.now() + childReadyTimeoutMs;
  while (!(await checkHealth(address, { deadlineMs: 1_000 }))) {
    if (cleanup.signal.aborted) throw cleanup.signal.reason as Error;
    if (Date.now() > deadline) throw new Error(`escrow did not answer its health check within ${childReadyTimeoutMs} ms`);
    await sleep(100);
  }
  return { ...escrow, address };
}

export interface GatewayChildOptions {
  /** Its output prefix (default "gateway"), when a run starts several. */
  readonly name?: string;
  readonly mongoUrl: string;
  readonly database: string;
  readonly escrowAddress: string;
  readonly logLevel: string;
  /** Two gateways given the same secret accept each other's tokens (default: a secret of its own). */
  readonly tokenSecret?: string;
  /** More variables, over the rest. */
  readonly environment?: NodeJS.ProcessEnv;
  readonly preloads?: readonly string[];
  readonly reportPrefix?: string;
  readonly onReport?: (line: string) => void;
}

/**
 * The gateway as its own process (gateway/src/main.ts), as `npm start` runs it, with rate limits
 * out of the way (one client IP sends everything) and its own token secret, so the run writes no
 * secret file. Resolves with its URL once /readyz answers 200.
 */
export async function startGatewayChild(cleanup: Cleanup, options: GatewayChildOptions): Promise<NodeChild & { url: string }> {
  const gateway = startNodeChild(cleanup, {
    name: options.name ?? 'gateway',
    script: join(repositoryRoot, 'gateway', 'src', 'main.ts'),
    environment: {
      ...process.env,
      MONGO_URL: options.mongoUrl,
      GATEWAY_DATABASE: options.database,
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_PORT: '0',
      ESCROW_GRPC_ADDRESS: options.escrowAddress,
      AUTH_TOKEN_SECRET: options.tokenSecret ?? `bench-token-secret-${randomUUID()}`,
      ACCESS_TOKEN_TTL_MS: String(4 * 3_600_000),
      RATE_LIMIT_IP_BURST: '1000000',
      RATE_LIMIT_IP_PER_SECOND: '1000000',
      RATE_LIMIT_PARTICIPANT_BURST: '1000000',
      RATE_LIMIT_PARTICIPANT_PER_SECOND: '1000000',
      LOG_LEVEL: options.logLevel,
      ...options.environment,
    },
    ...(options.preloads ? { preloads: options.preloads } : {}),
    ...(options.reportPrefix !== undefined ? { reportPrefix: options.reportPrefix } : {}),
    ...(options.onReport ? { onReport: options.onReport } : {}),
  });
  // main.ts prints this line whatever LOG_LEVEL says.
  const listening = await gateway.waitForLine(/"msg":"gateway listening"/);
  const url = (JSON.parse(listening) as { url: string }).url;
  const deadline = Date.now() + childReadyTimeoutMs;
  for (;;) {
    const status = await fetch(`${url}/readyz`).then(
      async (response) => {
        await response.arrayBuffer();
        return response.status;
      },
      () => 0,
    );
    if (status === 200) break;
    if (cleanup.signal.aborted) throw cleanup.signal.reason as Error;
    if (Date.now() > deadline) throw new Error(`the gateway's /readyz did not answer 200 within ${childReadyTimeoutMs} ms (last: ${status})`);
    await sleep(100);
  }
  return { ...gateway, url };
}
