/** An escrow service process that a test can SIGKILL and restart, with the helpers crash tests share. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { DomainError } from '@sizhong/kit';
import { findFreePort } from '@sizhong/testkit';

const repositoryRoot = join(__dirname, '..', '..', '..');
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
    this.child = spawn(process.execPath, ['--import', 'tsx', join(repositoryRoot, 'services', 'escrow', 'src', 'main.ts')], {
      cwd: repositoryRoot,
      env: { ...process.env, GRPC_PORT: String(this.port), LOG_LEVEL: 'warn', ...this.environment },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const keep = (chunk: Buffer) => (this.log = (this.log + chunk.toString()).slice(-5_000));
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
  }

  async kill(): Promise<void> {
    const victim = this.child;
    if (!victim || victim.exitCode !== null) return;
    const exited = new Promise((resolve) => victim.once('exit', resolve));
    victim.kill('SIGKILL');
    await exited;
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
    this.child?.kill('SIGTERM');
  }
}
