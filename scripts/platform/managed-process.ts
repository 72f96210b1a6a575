/**
 * A platform process under supervision: output to a log file (warnings and errors echoed to the
 * terminal), a crash reported with the last lines of its log and restarted a bounded number of
 * times, and a stop that escalates from SIGTERM to SIGKILL.
 *
 * A process that exits with `configurationErrorExitCode` (78) refused its configuration, and has
 * said why on its standard error, which is echoed as it comes. It is not restarted (a restart reads
 * the same environment) and its log is not quoted again: the reason appears once.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';
import type { Readable } from 'node:stream';
import { configurationErrorExitCode } from '../../packages/kit/src/config';

/** Restarts allowed per process before the platform gives up and stops. */
export const restartsMax = 3;
/** Pause before the n-th restart: base × 2^(n-1). */
export const restartBackoffBaseMs = 1_000;
/** How long a process may take to exit after SIGTERM before it is killed. */
export const stopGraceMs = 10_000;
/** Lines of a crashed process's log shown in the report. */
export const crashReportLines = 20;

export interface ManagedProcessOptions {
  readonly name: string;
  readonly command: string;
  readonly args: readonly string[];
  readonly environment: NodeJS.ProcessEnv;
  readonly logFile: string;
  readonly say: (line: string) => void;
  /** Called when the process crashed more often than `restartsMax`. */
  readonly onGiveUp: (name: string) => void;
  /** Called when the process exited with `configurationErrorExitCode`; it is not restarted. */
  readonly onConfigurationError: (name: string) => void;
}

export class ManagedProcess {
  private child: ChildProcess | undefined;
  private stopping = false;
  private restarts = 0;
  private log: WriteStream | undefined;

  constructor(private readonly options: ManagedProcessOptions) {}

  get pid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    mkdirSync(dirname(this.options.logFile), { recursive: true });
    this.log ??= createWriteStream(this.options.logFile, { flags: 'a' });
    const child = spawn(this.options.command, [...this.options.args], { env: this.options.environment, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    this.forward(child.stdout);
    this.forward(child.stderr);
    // 'close', not 'exit': by then the output is read, so a refusal is shown before the verdict on it.
    child.on('close', (code, signal) => this.exited(code, signal));
  }

  async stop(): Promise<void> {
    this.stopping = true;
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return this.closeLog();
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      this.options.say(`${this.options.name} did not stop within ${stopGraceMs / 1000} s; killing it`);
      child.kill('SIGKILL');
    }, stopGraceMs);
    await exited;
    clearTimeout(timer);
    await this.closeLog();
  }

  /** Kills at once (a second Ctrl-C); a `stop()` under way then returns as soon as the process is gone. */
  kill(): void {
    this.stopping = true;
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }

  /** Writes every chunk to the log and echoes whole lines, so that a line split across chunks is judged whole. */
  private forward(stream: Readable | null): void {
    let pending = '';
    stream?.on('data', (chunk: Buffer) => {
      this.log?.write(chunk);
      const lines = (pending + chunk.toString()).split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.echoIfImportant(line);
    });
    stream?.on('end', () => this.echoIfImportant(pending));
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping) return;
    if (code === configurationErrorExitCode) {
      this.options.say(`✗ ${this.options.name} refused its configuration (exit code ${code}, reason above); not restarting it`);
      this.options.onConfigurationError(this.options.name);
      return;
    }
    const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
    this.options.say(`✗ ${this.options.name} ${how}. Last lines of ${this.options.logFile}:\n${this.tail()}`);
    if (this.restarts >= restartsMax) {
      this.options.say(`✗ ${this.options.name} crashed ${this.restarts + 1} times; stopping the platform`);
      this.options.onGiveUp(this.options.name);
      return;
    }
    this.restarts += 1;
    const delayMs = restartBackoffBaseMs * 2 ** (this.restarts - 1);
    this.options.say(`↻ restarting ${this.options.name} in ${delayMs / 1000} s (restart ${this.restarts} of ${restartsMax})`);
    setTimeout(() => {
      if (!this.stopping) this.start();
    }, delayMs);
  }

  private echoIfImportant(line: string): void {
    if (line.trim() === '') return;
    try {
      const entry = JSON.parse(line) as { level?: string; msg?: string };
      if (entry.level === 'warn' || entry.level === 'error' || entry.level === 'fatal') {
        this.options.say(`[${this.options.name}] ${entry.level}: ${entry.msg ?? line}`);
      }
    } catch {
      // Not a JSON log line: a stack trace or a runtime message, which is worth seeing.
      this.options.say(`[${this.options.name}] ${line}`);
    }
  }

  private tail(): string {
    try {
      const lines = readFileSync(this.options.logFile, 'utf8').trimEnd().split('\n');
      return lines.slice(-crashReportLines).map((line) => `    ${line}`).join('\n');
    } catch {
      return '    (no log)';
    }
  }

  private closeLog(): Promise<void> {
    const log = this.log;
    this.log = undefined;
    return new Promise((resolve) => (log ? log.end(() => resolve()) : resolve()));
  }
}
