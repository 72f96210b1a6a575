/**
 * Where this clone's running platform is. `npm start` writes a record when the platform is ready
 * and removes it when it stops; the commands that talk to the platform (`npm run admin`,
 * `npm run psp`) read it when their own settings are unset, so that they work right after
 * `npm start` with nothing exported.
 *
 * The record lives in the clone's state directory, `<repository>/.cache` unless SIZHONG_STATE_DIR
 * says otherwise (a second platform from the same clone, as the runner's tests start, needs its own).
 * It holds addresses and paths only, never a secret.
 */
import { existsSync, readFileSync, renameSync, rmSync, mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { repositoryRoot } from './local-secrets';

export const stateDirectoryVariable = 'SIZHONG_STATE_DIR';
export const localPlatformFileName = 'platform.json';

export interface LocalPlatform {
  /** The `npm start` process; the record counts only while it lives. */
  readonly runnerPid: number;
  readonly startedAt: string;
  readonly gatewayUrl: string;
  readonly mongoUrl: string;
  readonly kafkaBrokers: readonly string[];
  /** GATEWAY_DATABASE as the runner's environment set it; absent means the gateway's default. */
  readonly gatewayDatabase?: string;
  /** Where the platform keeps its generated local secrets (SIZHONG_DATA_DIR, else `<repository>/.data`). */
  readonly dataDirectory: string;
}

type Environment = Readonly<Record<string, string | undefined>>;

/** `<repository>/.cache`, unless SIZHONG_STATE_DIR says otherwise: logs, local servers, the platform record. */
export function localStateDirectory(environment: Environment = process.env): string {
  const configured = environment[stateDirectoryVariable]?.trim();
  return configured ? resolve(configured) : join(repositoryRoot(), '.cache');
}

export function localPlatformFile(environment: Environment = process.env): string {
  return join(localStateDirectory(environment), localPlatformFileName);
}

/** The platform `npm start` runs from this clone, or undefined when none does. */
export function findLocalPlatform(environment: Environment = process.env): LocalPlatform | undefined {
  const path = localPlatformFile(environment);
  if (!existsSync(path)) return undefined;
  let record: Partial<LocalPlatform>;
  try {
    record = JSON.parse(readFileSync(path, 'utf8')) as Partial<LocalPlatform>;
  } catch {
    return undefined;
  }
  const complete =
    typeof record.runnerPid === 'number' &&
    typeof record.gatewayUrl === 'string' &&
    typeof record.mongoUrl === 'string' &&
    Array.isArray(record.kafkaBrokers) &&
    typeof record.dataDirectory === 'string';
  // A runner killed with SIGKILL leaves its record behind; a dead pid marks it stale. (A recycled
  // pid would make a stale record look alive; the command then fails to connect, and says where.)
  return complete && isProcessAlive(record.runnerPid as number) ? (record as LocalPlatform) : undefined;
}

/** Written whole under a temporary name and renamed, so a reader never sees half a record. */
export function writeLocalPlatform(platform: LocalPlatform, environment: Environment = process.env): string {
  const path = localPlatformFile(environment);
  mkdirSync(localStateDirectory(environment), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(platform, null, 2)}\n`);
  renameSync(temporary, path);
  return path;
}

/** Removes the record if it is the one `runnerPid` wrote; another runner's record stays. */
export function removeLocalPlatform(runnerPid: number, environment: Environment = process.env): void {
  const path = localPlatformFile(environment);
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as Partial<LocalPlatform>;
    if (record.runnerPid === runnerPid) rmSync(path, { force: true });
  } catch {
    // No record, or an unreadable one that is not ours to judge.
  }
}

/** The sentence a command prints when it needs the platform and finds none. */
export function noLocalPlatformMessage(environment: Environment = process.env): string {
  return `no platform is running from this clone (no live record in ${localPlatformFile(environment)}); start it first with \`npm start\` in another terminal`;
}

function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
