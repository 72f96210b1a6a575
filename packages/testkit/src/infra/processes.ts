/** Child processes: detached servers that outlive us, and build tools whose output we keep. */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { InfrastructureError } from './infrastructure-error';

/** How many lines of a log a failure message quotes. */
export const logTailLines = 40;
/** How much of a build tool's output is kept for the failure message. */
const commandOutputBytesMax = 64 * 1024;

export function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}

/**
 * True when `pid` names a live process; a zombie (exited, not yet reaped) counts as gone. A
 * multi-threaded process (a JVM) whose main thread is a zombie while its other threads still exit
 * counts as alive: until the last thread is gone it still holds its files and listening sockets.
 */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM means it exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
  const statFile = `/proc/${pid}/stat`;
  if (!existsSync(statFile)) return true;
  try {
    // The state letter follows the parenthesised command name, which may itself contain spaces.
    const stat = readFileSync(statFile, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z') return true;
    return threadCount(pid) > 1;
  } catch {
    return false;
  }
}

/** The `Threads:` line of /proc/<pid>/status; 0 when it cannot be read (the process is gone). */
function threadCount(pid: number): number {
  try {
    const match = /^Threads:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match?.[1] === undefined ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

/**
 * Whether the live process `pid` runs in `directory`. Every server is started with its state
 * directory as working directory, so this tells our server from an unrelated process that was
 * given a recycled pid. Where /proc does not exist (macOS), liveness alone has to do.
 */
export function isProcessRunningIn(pid: number, directory: string): boolean {
  if (!isProcessAlive(pid)) return false;
  if (!existsSync('/proc/self/cwd')) return true;
  try {
    return readlinkSync(`/proc/${pid}/cwd`) === realpathSync(directory);
  } catch {
    // EACCES means another user's process, which cannot be one we started; ENOENT, that it just exited.
    return false;
  }
}

/** Sends `signal` to the process group led by `pid` (our servers lead their own group). */
export function signalProcessGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    try {
      process.kill(pid, signal);
    } catch (innerError) {
      if ((innerError as NodeJS.ErrnoException).code !== 'ESRCH') throw innerError;
    }
  }
}

/** Polls until `pid` is gone; false when it is still alive after `timeoutMs`. */
export async function waitForProcessExit(pid: number, timeoutMs: number, pollIntervalMs: number): Promise<boolean> {
  const deadlineMs = Date.now() + timeoutMs;
  while (isProcessAlive(pid)) {
    if (Date.now() >= deadlineMs) return false;
    await sleep(pollIntervalMs);
  }
  return true;
}

export interface DetachedProcess {
  pid: number;
  /** Set once the process has exited while we were still watching it. */
  exit: { code: number | null; signal: NodeJS.Signals | null; error?: Error } | undefined;
}

/**
 * Starts a server in its own session and process group, its output appended to `logFile`, and
 * lets go of it: it keeps running after this process exits, and is stopped later through its pid.
 */
export function spawnDetached(command: string, args: readonly string[], options: { cwd: string; logFile: string; environment: NodeJS.ProcessEnv }): DetachedProcess {
  const logDescriptor = openSync(options.logFile, 'a');
  try {
    const child = spawn(command, args, { cwd: options.cwd, env: options.environment, detached: true, stdio: ['ignore', logDescriptor, logDescriptor] });
    const detached: DetachedProcess = { pid: child.pid ?? -1, exit: undefined };
    child.on('exit', (code, signal) => {
      detached.exit = { code, signal };
    });
    child.on('error', (error) => {
      detached.exit = { code: null, signal: null, error };
    });
    child.unref();
    if (child.pid === undefined) {
      throw new InfrastructureError('server-exited', `could not start ${command}; see ${options.logFile}`);
    }
    return detached;
  } finally {
    closeSync(logDescriptor);
  }
}

/** The last `lineCount` lines of a log file, or a note that there is none. */
export function readLogTail(logFile: string, lineCount: number = logTailLines): string {
  if (!existsSync(logFile)) return `(no log at ${logFile})`;
  const lines = readFileSync(logFile, 'utf8').trimEnd().split('\n');
  return lines.slice(-lineCount).join('\n');
}

export interface ToolRequirement {
  /** The executable looked up on PATH, such as `mvn`. */
  command: string;
  /** Said when it is missing: what to install and why it is needed. */
  installHint: string;
}

/**
 * Runs a build tool to completion and returns its combined output. A missing executable, a
 * non-zero exit and a timeout each become an InfrastructureError quoting the output's end.
 */
export function runCommand(
  tool: ToolRequirement,
  args: readonly string[],
  options: { cwd: string; environment?: NodeJS.ProcessEnv; timeoutMs: number },
): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(tool.command, args, { cwd: options.cwd, env: options.environment ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer): void => {
      output = (output + chunk.toString('utf8')).slice(-commandOutputBytesMax);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    const commandLine = [tool.command, ...args].join(' ');
    child.on('error', (error: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(
        error.code === 'ENOENT'
          ? new InfrastructureError('tool-missing', `\`${tool.command}\` was not found on PATH. ${tool.installHint}`)
          : new InfrastructureError('command-failed', `\`${commandLine}\` could not run: ${error.message}`),
      );
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (code === 0) {
        resolve(output);
        return;
      }
      const tail = output.trimEnd().split('\n').slice(-logTailLines).join('\n');
      const outcome = timedOut ? `timed out after ${Math.round(options.timeoutMs / 1000)} s` : `failed (exit code ${code ?? signal})`;
      reject(new InfrastructureError('command-failed', `\`${commandLine}\` in ${options.cwd} ${outcome}:\n${tail}`));
    });
  });
}
