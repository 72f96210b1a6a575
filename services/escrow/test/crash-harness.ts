/** An escrow service process that a test can SIGKILL and restart, with the helpers crash tests share. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { DomainError } from '@sizhong/kit';
import { findFreePort, LocalMongo } from '@sizhong/testkit';

const repositoryRoot = join(__dirname, '..', '..', '..');
/** A service process that exits by itself is started again after this pause. */
const supervisorRestartDelayMs = 500;
/** Transient failures (the service is down) are retried this often before the test gives up. */
export const retryAttemptsMax = 400;
export const retryPauseMs = 100;
const transientCodes = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'INTERNAL', 'CONCURRENT_MODIFICATION']);

/** A small seeded generator, so a failing run can be replayed with the printed seed. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1_664_525 + 1_013_904_223) >>> 0;
    return state / 2 ** 32;
  };
}

/** A free loopback port, chosen by the operating system. */
export const freePort = (): Promise<number> => findFreePort();

/** Retries an idempotent call through crashes; a domain refusal ends it. */
export async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof DomainError) || !transientCodes.has(error.code) || attempt >= retryAttemptsMax) throw error;
      await new Promise((resolve) => setTimeout(resolve, retryPauseMs));
    }
  }
}

export class CrashableEscrow {
  private child: ChildProcess | undefined;
  private log = '';
  kills = 0;
  private stopped = false;
  private killing = false;

  constructor(
    readonly port: number,
    private readonly environment: Record<string, string>,
  ) {}

  get address(): string {
    return `127.0.0.1:${this.port}`;
  }

  get recentLog(): string {
    return this.log;
  }

  start(): void {
    this.stopped = false;
    const child = spawn(process.execPath, ['--import', 'tsx', join(repositoryRoot, 'services', 'escrow', 'src', 'main.ts')], {
      cwd: repositoryRoot,
      env: { ...process.env, GRPC_PORT: String(this.port), LOG_LEVEL: 'warn', ...this.environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child = child;
    const keep = (chunk: Buffer) => (this.log = (this.log + chunk.toString()).slice(-5_000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    // A service that exits on its own (its database was down when it started) is restarted, as a supervisor would.
    child.once('exit', () => {
      if (this.child === child && !this.stopped && !this.killing) setTimeout(() => this.child === child && !this.stopped && this.start(), supervisorRestartDelayMs);
    });
  }

  async kill(): Promise<void> {
    const victim = this.child;
    if (!victim || victim.exitCode !== null) return;
    this.killing = true;
    const exited = new Promise((resolve) => victim.once('exit', resolve));
    victim.kill('SIGKILL');
    await exited;
    this.killing = false;
    this.kills += 1;
  }

  /** Kills and restarts at random moments until `until()` says stop or `killsMax` is reached. */
  async chaos(random: () => number, killsMax: number, until: () => boolean, gapMs: { min: number; max: number }): Promise<void> {
    for (let kill = 0; kill < killsMax && !until(); kill += 1) {
      await new Promise((resolve) => setTimeout(resolve, gapMs.min + random() * (gapMs.max - gapMs.min)));
      if (until()) break;
      await this.kill();
      await new Promise((resolve) => setTimeout(resolve, random() * 500));
      this.start();
    }
  }

  stop(): void {
    this.stopped = true;
    this.child?.kill('SIGTERM');
  }
}

/** A MongoDB-wire server of the test's own (own port, own files), so killing it disturbs no other test file. */
export class CrashableDatabase {
  kills = 0;
  private constructor(
    readonly server: LocalMongo,
    private readonly stateDirectory: string,
  ) {}

  static async start(): Promise<CrashableDatabase> {
    const stateDirectory = mkdtempSync(join(tmpdir(), 'sizhong-crash-db-'));
    const database = new CrashableDatabase(new LocalMongo({ port: await findFreePort(), stateDirectory, log: () => undefined }), stateDirectory);
    await database.server.up();
    return database;
  }

  get mongoUrl(): string {
    return this.server.mongoUrl;
  }

  /** SIGKILLs the server and starts it again on its file at random moments, until `until()` or `killsMax`. */
  async chaos(random: () => number, killsMax: number, until: () => boolean, gapMs: { min: number; max: number }): Promise<void> {
    for (let kill = 0; kill < killsMax && !until(); kill += 1) {
      await new Promise((resolve) => setTimeout(resolve, gapMs.min + random() * (gapMs.max - gapMs.min)));
      if (until()) break;
      await this.server.kill();
      this.kills += 1;
      await new Promise((resolve) => setTimeout(resolve, random() * 1_000));
      await this.server.up();
    }
  }

  async stop(): Promise<void> {
    await this.server.down();
    rmSync(this.stateDirectory, { recursive: true, force: true });
  }
}
