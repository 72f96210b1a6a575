/**
 * A platform process under supervision: output to a log file (warnings and errors echoed to the
 * terminal), a crash reported with the last lines of its log and restarted a bounded number of
 * times, and a stop that escalates from SIGTERM to SIGKILL.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdirSync, readFileSync, type WriteStream } from 'node:fs';
import { dirname } from 'node:path';

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
    const forward = (chunk: Buffer) => {
      this.log?.write(chunk);
      for (const line of chunk.toString().split('\n')) this.echoIfImportant(line);
    };
    child.stdout?.on('data', forward);
    child.stderr?.on('data', forward);
    child.on('exit', (code, signal) => this.exited(code, signal));
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

  /** Kills at once (a second Ctrl-C). */
  kill(): void {
    this.stopping = true;
    this.child?.kill('SIGKILL');
  }

  private exited(code: number | null, signal: NodeJS.Signals | null): void {
    if (this.stopping) return;
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
