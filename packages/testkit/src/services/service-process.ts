/**
 * A service as a child process (`services/<name>/src/main.ts` through tsx), for tests that kill
 * it: SIGKILL at random moments, start again on the same database, and a supervisor that starts
 * it again when it exits by itself (as a platform would), except on a configuration error (exit 78).
 * `CrashableMongo` does the same to a MongoDB-wire server of the test's own.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { configurationErrorExitCode } from '@sizhong/kit';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMongo } from '../infra/local-mongo';
import { findFreePort } from '../infra/ports';
import { findRepositoryRoot } from '../infra/repository-paths';

/** A service process that exits by itself is started again after this pause. */
export const supervisorRestartDelayMs = 500;
/** Log kept for a failing test's message. */
const recentLogBytesMax = 5_000;

export interface Gap {
  readonly min: number;
  readonly max: number;
}

export class ServiceProcess {
  kills = 0;
  exitCodes: (number | null)[] = [];
  private child: ChildProcess | undefined;
  private log = '';
  private stopped = false;
  private killing = false;

  private constructor(
    readonly name: string,
    readonly port: number,
    private readonly environment: Readonly<Record<string, string>>,
  ) {}

  /** A process of `services/<name>` on a free port with these settings; call `start()`. */
  static async create(name: string, environment: Readonly<Record<string, string>>): Promise<ServiceProcess> {
    return new ServiceProcess(name, await findFreePort(), environment);
  }

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get recentLog(): string {
    return this.log;
  }

  start(): void {
    this.stopped = false;
    const root = findRepositoryRoot();
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'services', this.name, 'src', 'main.ts')], {
      cwd: root,
      env: { ...process.env, LOG_LEVEL: 'warn', ...this.environment, GRPC_PORT: String(this.port) },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer) => (this.log = (this.log + chunk.toString()).slice(-recentLogBytesMax));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.once('exit', (code) => {
      this.exitCodes.push(code);
      if (this.child !== child || this.stopped || this.killing || code === configurationErrorExitCode) return;
      setTimeout(() => this.child === child && !this.stopped && this.start(), supervisorRestartDelayMs);
    });
  }

  /** SIGKILL, as a crash; waits until the process is gone. */
  async kill(): Promise<void> {
    const victim = this.child;
    if (!victim || victim.exitCode !== null || victim.signalCode !== null) return;
    this.killing = true;
    const exited = new Promise((resolve) => victim.once('exit', resolve));
    victim.kill('SIGKILL');
    await exited;
    this.killing = false;
    this.kills += 1;
  }

  /** Kills and restarts at random moments until `until()` says stop or `killsMax` is reached. */
  async chaos(random: () => number, killsMax: number, until: () => boolean, gapMs: Gap): Promise<void> {
    for (let kill = 0; kill < killsMax && !until(); kill += 1) {
      await pause(gapMs.min + random() * (gapMs.max - gapMs.min));
      if (until()) break;
      await this.kill();
      await pause(random() * 500);
      this.start();
    }
  }

  /** SIGTERM and wait for the exit (a graceful stop). */
  async stop(): Promise<void> {
    this.stopped = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  }
}

/** A MongoDB-wire server of the test's own (own port, own files), so killing it disturbs no other test file. */
export class CrashableMongo {
  kills = 0;

  private constructor(
    readonly server: LocalMongo,
    private readonly stateDirectory: string,
  ) {}

  static async start(): Promise<CrashableMongo> {
    const stateDirectory = mkdtempSync(join(tmpdir(), 'sizhong-crash-db-'));
    const database = new CrashableMongo(new LocalMongo({ port: await findFreePort(), stateDirectory, log: () => undefined }), stateDirectory);
    await database.server.up();
    return database;
  }

  get mongoUrl(): string {
    return this.server.mongoUrl;
  }

  /** SIGKILLs the server and starts it again on its file at random moments, until `until()` or `killsMax`. */
  async chaos(random: () => number, killsMax: number, until: () => boolean, gapMs: Gap): Promise<void> {
    for (let kill = 0; kill < killsMax && !until(); kill += 1) {
      await pause(gapMs.min + random() * (gapMs.max - gapMs.min));
      if (until()) break;
      await this.server.kill();
      this.kills += 1;
      await pause(random() * 1_000);
      await this.server.up();
    }
  }

  async stop(): Promise<void> {
    await this.server.down();
    rmSync(this.stateDirectory, { recursive: true, force: true });
  }
}

/** A small seeded generator, so a failing run can be replayed with the printed seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
