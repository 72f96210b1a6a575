/**
 * Test support for the runner's end-to-end tests: `npm start` run as a user runs it, in its own
 * process group (as a terminal would), with its own state directory and ports, so that it never
 * meets the servers of the jest run, a developer's `npm start`, or another test. Then: what is left
 * of its process group, and which of its ports still answer.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findFreePort, findRepositoryRoot, isPortAnswering, LocalKafka, LocalMongo } from '../../packages/testkit/src/infra';

export const repositoryRoot = findRepositoryRoot();

/** Ports the runner's tests pick for themselves; none of them may answer once the runner is gone. */
export interface PlatformPorts {
  readonly kafka: number;
  readonly kafkaController: number;
  readonly mongo: number;
}

export interface PlatformUnderTestOptions {
  /** Extra environment for the runner, such as an invalid setting. */
  readonly environment?: Record<string, string>;
  /** `--no-build` unless told otherwise: the first test of the file builds. */
  readonly build?: boolean;
  /**
   * The services to run (SIZHONG_SERVICES); unset runs every one under services/, including any
   * that another test file generates there meanwhile.
   */
  readonly services?: readonly string[];
  /** Use these servers instead of starting a Kafka and a MongoDB-wire server of its own. */
  readonly infrastructure?: { readonly kafkaBrokers: readonly string[]; readonly mongoUrl: string };
}

export class PlatformUnderTest {
  output = '';
  readonly exited: Promise<number | null>;

  private constructor(
    readonly child: ChildProcess,
    readonly stateDirectory: string,
    readonly ports: PlatformPorts,
    /** The environment a command run "next to it" gets: the same state directory, nothing else chosen. */
    readonly neighbourEnvironment: NodeJS.ProcessEnv,
  ) {
    child.stdout?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (this.output += chunk.toString()));
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  /** `npm start` detached, so that it leads a process group of its own, as in a terminal. */
  static async start(options: PlatformUnderTestOptions = {}): Promise<PlatformUnderTest> {
    const stateDirectory = mkdtempSync(join(tmpdir(), 'sizhong-start-'));
    const ports: PlatformPorts = { kafka: await findFreePort(), kafkaController: await findFreePort(), mongo: await findFreePort() };
    const environment: NodeJS.ProcessEnv = { ...process.env };
    for (const name of ['MONGO_URL', 'KAFKA_BROKERS', 'GATEWAY_DATABASE', 'AUTH_TOKEN_SECRET', 'PSP_WEBHOOK_SECRET', 'SIZHONG_DATA_DIR', 'SIZHONG_SERVICES']) delete environment[name];
    const neighbourEnvironment: NodeJS.ProcessEnv = { ...environment, SIZHONG_STATE_DIR: stateDirectory };
    Object.assign(environment, {
      SIZHONG_STATE_DIR: stateDirectory,
      SIZHONG_DATA_DIR: join(stateDirectory, 'data'),
      SIZHONG_INFRA_LOCAL: '1',
      SIZHONG_KAFKA_PORT: String(ports.kafka),
      SIZHONG_KAFKA_CONTROLLER_PORT: String(ports.kafkaController),
      SIZHONG_MONGO_PORT: String(ports.mongo),
      GATEWAY_PORT: '0',
      ESCROW_GRPC_PORT: '0',
      TASK_DISPATCH_GRPC_PORT: '0',
      EQUITY_GRPC_PORT: '0',
      CREDIT_GRPC_PORT: '0',
      ...(options.services ? { SIZHONG_SERVICES: options.services.join(',') } : {}),
      ...(options.infrastructure ? { KAFKA_BROKERS: options.infrastructure.kafkaBrokers.join(','), MONGO_URL: options.infrastructure.mongoUrl } : {}),
      ...options.environment,
    });
    const args = options.build ? ['start'] : ['start', '--', '--no-build'];
    const child = spawn('npm', args, { cwd: repositoryRoot, env: environment, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    return new PlatformUnderTest(child, stateDirectory, ports, neighbourEnvironment);
  }

  get groupId(): number {
    if (this.child.pid === undefined) throw new Error('npm did not start');
    return this.child.pid;
  }

  /** Waits until `pattern` shows in the output; fails with the output when the runner exits first. */
  async waitForOutput(pattern: RegExp, timeoutMs = 180_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const match = pattern.exec(this.output);
      if (match) return match;
      if (this.child.exitCode !== null || this.child.signalCode !== null) throw new Error(`npm start exited before ${pattern}:\n${this.output}`);
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${timeoutMs} ms:\n${this.output}`);
      await sleep(100);
    }
  }

  async waitUntilRunning(): Promise<string> {
    return (await this.waitForOutput(/Sizhong is running at (http:\/\/127\.0\.0\.1:\d+)/))[1] ?? '';
  }

  /** The terminal's Ctrl-C: the signal goes to every process of the group (if any is left). */
  signalGroup(signal: NodeJS.Signals): void {
    try {
      process.kill(-this.groupId, signal);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }

  /** The pid of a process of the group whose command line contains `text`, such as a service's entry point. */
  memberRunning(text: string): number | undefined {
    return groupMembers(this.groupId).find((pid) => describeProcess(pid).includes(text));
  }

  /**
   * Waits until npm has exited and its group is empty: npm may exit before the runner has finished
   * stopping (it dies of a SIGTERM), and the runner still owes the servers' stop then.
   */
  async waitUntilGone(timeoutMs = 120_000): Promise<void> {
    await this.exited;
    const deadline = Date.now() + timeoutMs;
    while (groupMembers(this.groupId).length > 0 && Date.now() < deadline) await sleep(100);
  }

  /** Every port the runner announced or was given: the gateway's, the services', Kafka's and MongoDB's. */
  announcedPorts(): number[] {
    const announced = [...this.output.matchAll(/(?:gRPC|running at http:\/\/)127\.0\.0\.1:(\d+)/g)].map((match) => Number(match[1]));
    return [...new Set([...announced, this.ports.kafka, this.ports.kafkaController, this.ports.mongo])];
  }

  /** The pids in the local servers' pid files (the servers are detached: outside the group). */
  serverPids(): number[] {
    return [join('kafka', 'kafka.pid'), join('mongo', 'mongo.pid')].flatMap((file) => {
      const path = join(this.stateDirectory, 'infra', file);
      return existsSync(path) ? [(JSON.parse(readFileSync(path, 'utf8')) as { pid: number }).pid] : [];
    });
  }

  /** What is left: live processes of the group, live server pids, answering ports; waits a moment for stragglers. */
  async leftBehind(serverPids: readonly number[], waitMs = 5_000): Promise<{ processes: string[]; ports: number[] }> {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const processes = [...groupMembers(this.groupId), ...serverPids.filter(isRunning)].map(describeProcess);
      const answering = await Promise.all(this.announcedPorts().map(async (port) => ((await isPortAnswering('127.0.0.1', port)) ? [port] : [])));
      const ports = answering.flat();
      if ((processes.length === 0 && ports.length === 0) || Date.now() > deadline) return { processes, ports };
      await sleep(100);
    }
  }

  /** After a test, pass or fail: kill what is left and stop servers left in the state directory. */
  async cleanUp(): Promise<void> {
    try {
      process.kill(-this.groupId, 'SIGKILL');
    } catch {
      // The group is gone, as it should be.
    }
    const infra = join(this.stateDirectory, 'infra');
    const quiet = () => undefined;
    await new LocalKafka({ stateDirectory: join(infra, 'kafka'), port: this.ports.kafka, controllerPort: this.ports.kafkaController, log: quiet }).down().catch(quiet);
    await new LocalMongo({ stateDirectory: join(infra, 'mongo'), port: this.ports.mongo, log: quiet }).down().catch(quiet);
    rmSync(this.stateDirectory, { recursive: true, force: true });
  }
}

export function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}

/** Live members of a process group (zombies awaiting their reaper do not count). */
export function groupMembers(groupId: number): number[] {
  const output = execFileSync('ps', ['-e', '-o', 'pid=,pgid='], { encoding: 'utf8' });
  return output
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number) as [number, number])
    .filter(([pid, group]) => group === groupId && isRunning(pid))
    .map(([pid]) => pid);
}

/** Running (not a zombie awaiting its reaper). */
export function isRunning(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== undefined && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

export function describeProcess(pid: number): string {
  try {
    return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim()}`;
  } catch {
    return `${pid} (gone)`;
  }
}
