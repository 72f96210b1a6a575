/**
 * The lifecycle every local server shares: a pid file, a lock so that two callers (say `npm start`
 * and a jest run) never start the same server twice, a clear error when a port is held by
 * something else, a detached start with a readiness wait, and a stop that leaves nothing behind.
 * What differs per server (how to prepare, launch and probe it) comes in a LocalServerDefinition.
 */
import { existsSync, linkSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfrastructureError } from './infrastructure-error';
import { isPortAnswering, isPortFree } from './ports';
import { formatSeconds, withProgress, type InfrastructureLog } from './progress';
import { isProcessAlive, isProcessRunningIn, readLogTail, signalProcessGroup, sleep, spawnDetached, waitForProcessExit, type DetachedProcess } from './processes';
import { waitUntilReady } from './readiness';

/** How often `down` looks whether a signalled server has exited. */
const stopPollIntervalMs = 100;
/** How long `down` waits after SIGKILL for the kernel to remove the process. */
const killWaitMs = 5_000;
/** How long a caller waits for another process that holds the lock; covers a cold download and build. */
const lockWaitMs = 15 * 60_000;
/** The pause between two attempts to take the lock. */
const lockPollIntervalMs = 250;

export interface ServerPort {
  port: number;
  /** The variable that overrides this port, named in the port-taken message. */
  environmentVariable: string;
  /** `client` for the port applications use; anything else is shown next to the number. */
  purpose: string;
}

export interface LaunchCommand {
  command: string;
  args: string[];
  environment?: NodeJS.ProcessEnv;
}

export interface LocalServerDefinition {
  /** Shown in messages, such as `Kafka`. */
  displayName: string;
  /** Names the pid and log files (`<stem>.pid`, `logs/<stem>.log`); defaults to the lower-cased display name. */
  fileStem?: string;
  /** Data, configuration, pid file, lock and log; also the server's working directory. */
  stateDirectory: string;
  host: string;
  /** The first port is the one clients use. */
  ports: readonly ServerPort[];
  readyTimeoutMs: number;
  /** How long `down` waits after SIGTERM before it sends SIGKILL. */
  stopGraceMs: number;
  /** Downloads or builds what is missing, writes configuration, and says how to start. */
  prepare(log: InfrastructureLog): Promise<LaunchCommand>;
  /** Succeeds only when the server does real work; called repeatedly while starting. */
  checkReady(): Promise<void>;
}

/** What the pid file holds: enough to find, describe and verify the running server. */
interface PidRecord {
  pid: number;
  host: string;
  ports: number[];
  startedAt: string;
}

export type LocalServerStatus =
  | { state: 'running'; name: string; pid: number; address: string }
  /** The process lives but its port does not answer: starting right now, or hung. */
  | { state: 'not-answering'; name: string; pid: number; address: string }
  | { state: 'stopped'; name: string; address: string; detail?: string };

export interface LocalServerStarted {
  name: string;
  pid: number;
  /** The client address, `host:port`. */
  address: string;
  /** False when the server was already running; only whoever started it should stop it. */
  startedHere: boolean;
  elapsedMs: number;
}

export interface LocalServerStopped {
  name: string;
  outcome: 'stopped' | 'killed' | 'was-not-running';
  pid?: number;
  elapsedMs: number;
}

export interface LocalServerKilled {
  name: string;
  /** `killed`: SIGKILL was sent and the process is gone; `was-not-running`: there was nothing to kill. */
  outcome: 'killed' | 'was-not-running';
  pid?: number;
  elapsedMs: number;
}

export class LocalServer {
  private readonly pidFile: string;
  private readonly lockFile: string;
  readonly logFile: string;

  constructor(
    private readonly definition: LocalServerDefinition,
    private readonly log: InfrastructureLog,
  ) {
    const fileStem = definition.fileStem ?? definition.displayName.toLowerCase();
    this.pidFile = join(definition.stateDirectory, `${fileStem}.pid`);
    this.lockFile = join(definition.stateDirectory, 'manager.lock');
    this.logFile = join(definition.stateDirectory, 'logs', `${fileStem}.log`);
  }

  get name(): string {
    return this.definition.displayName;
  }

  /** `host:port` of the client port. */
  get address(): string {
    return `${this.definition.host}:${this.clientPort().port}`;
  }

  async status(): Promise<LocalServerStatus> {
    const record = this.readPidRecord();
    const name = this.definition.displayName;
    if (record === undefined) {
      const answering = await isPortAnswering(this.definition.host, this.clientPort().port);
      return { state: 'stopped', name, address: this.describePorts(), ...(answering ? { detail: `port ${this.clientPort().port} is answered by a process this clone did not start` } : {}) };
    }
    const address = this.describePorts(record.ports);
    if (!isProcessRunningIn(record.pid, this.definition.stateDirectory)) {
      return { state: 'stopped', name, address, detail: `stale pid file (pid ${record.pid} is gone); the next up or down removes it` };
    }
    const clientPort = record.ports[0] ?? this.clientPort().port;
    const answering = await isPortAnswering(record.host, clientPort);
    return { state: answering ? 'running' : 'not-answering', name, pid: record.pid, address };
  }

  /** Starts the server unless it already runs; safe to call any number of times, concurrently too. */
  async up(): Promise<LocalServerStarted> {
    const startedAtMs = Date.now();
    mkdirSync(join(this.definition.stateDirectory, 'logs'), { recursive: true });
    return this.withLock('start', async () => {
      const running = await this.findRunning();
      if (running !== undefined) {
        return { name: this.name, pid: running.pid, address: this.address, startedHere: false, elapsedMs: Date.now() - startedAtMs };
      }
      await this.assertPortsFree();
      const launch = await this.definition.prepare(this.log);
      // Preparing may have taken minutes (a cold build); look again right before binding.
      await this.assertPortsFree();
      const child = this.launch(launch);
      try {
        await withProgress(this.log, `Waiting for ${this.name} to answer on ${this.address}`, () =>
          waitUntilReady(this.name, () => this.definition.checkReady(), {
            timeoutMs: this.definition.readyTimeoutMs,
            abortReason: () => this.exitDescription(child),
          }),
        );
      } catch (error) {
        await this.stopProcess(child.pid);
        this.removePidFile();
        if (error instanceof InfrastructureError) {
          throw new InfrastructureError(error.code, `${error.message}\nLast lines of ${this.logFile}:\n${readLogTail(this.logFile)}`);
        }
        throw error;
      }
      return { name: this.name, pid: child.pid, address: this.address, startedHere: true, elapsedMs: Date.now() - startedAtMs };
    });
  }

  /** Stops the server if this clone's pid file names a live one; removes a stale pid file. */
  async down(): Promise<LocalServerStopped> {
    const startedAtMs = Date.now();
    if (!existsSync(this.definition.stateDirectory)) return { name: this.name, outcome: 'was-not-running', elapsedMs: 0 };
    return this.withLock('stop', async () => {
      const record = this.readPidRecord();
      if (record === undefined || !isProcessRunningIn(record.pid, this.definition.stateDirectory)) {
        this.removePidFile();
        return { name: this.name, outcome: 'was-not-running', elapsedMs: Date.now() - startedAtMs };
      }
      const outcome = await this.stopProcess(record.pid);
      this.removePidFile();
      return { name: this.name, outcome, pid: record.pid, elapsedMs: Date.now() - startedAtMs };
    });
  }

  /**
   * SIGKILLs the server's process group at once, as a crash would: no shutdown work, nothing saved
   * that the server had not saved itself. Returns when the process is gone, with the pid file
   * removed. The data stays as the kill left it, and the next `up` starts on it.
   */
  async kill(): Promise<LocalServerKilled> {
    const startedAtMs = Date.now();
    if (!existsSync(this.definition.stateDirectory)) return { name: this.name, outcome: 'was-not-running', elapsedMs: 0 };
    return this.withLock('kill', async () => {
      const record = this.readPidRecord();
      if (record === undefined || !isProcessRunningIn(record.pid, this.definition.stateDirectory)) {
        return { name: this.name, outcome: 'was-not-running', elapsedMs: Date.now() - startedAtMs };
      }
      signalProcessGroup(record.pid, 'SIGKILL');
      if (!(await waitForProcessExit(record.pid, killWaitMs, stopPollIntervalMs))) {
        throw new InfrastructureError('server-not-ready', `${this.name} (pid ${record.pid}) survived SIGKILL for ${formatSeconds(killWaitMs)}; check it with \`ps -p ${record.pid}\``);
      }
      this.removePidFile();
      return { name: this.name, outcome: 'killed', pid: record.pid, elapsedMs: Date.now() - startedAtMs };
    });
  }

  /** The running server of this clone, after waiting for one that is still starting. */
  private async findRunning(): Promise<PidRecord | undefined> {
    const record = this.readPidRecord();
    if (record === undefined) return undefined;
    if (!isProcessRunningIn(record.pid, this.definition.stateDirectory)) {
      this.log(`${this.name}: removing stale pid file (pid ${record.pid} is gone)`);
      this.removePidFile();
      return undefined;
    }
    const requestedPorts = this.definition.ports.map((port) => port.port);
    if (record.ports.join(',') !== requestedPorts.join(',')) {
      throw new InfrastructureError(
        'running-on-other-ports',
        `${this.name} from this clone already runs on ${this.describePorts(record.ports)} (pid ${record.pid}), not on the requested ${this.describePorts()}; run \`npm run infra:down\` first to change its ports`,
      );
    }
    // Usually instant; waits only when a previous starter died before the server became ready.
    try {
      await waitUntilReady(this.name, () => this.definition.checkReady(), { timeoutMs: this.definition.readyTimeoutMs });
    } catch (error) {
      throw new InfrastructureError(
        'server-not-ready',
        `${this.name} (pid ${record.pid}) runs but does not answer on ${this.address}: ${(error as Error).message}\nRestart it with \`npm run infra:down && npm run infra:up\`. Last lines of ${this.logFile}:\n${readLogTail(this.logFile)}`,
      );
    }
    return record;
  }

  private launch(launch: LaunchCommand): DetachedProcess {
    // Keep the previous run's log for diagnosis, start the new one empty.
    if (existsSync(this.logFile)) renameSync(this.logFile, this.logFile.replace(/\.log$/, '.previous.log'));
    const child = spawnDetached(launch.command, launch.args, {
      cwd: this.definition.stateDirectory,
      logFile: this.logFile,
      environment: launch.environment ?? process.env,
    });
    const record: PidRecord = { pid: child.pid, host: this.definition.host, ports: this.definition.ports.map((port) => port.port), startedAt: new Date().toISOString() };
    writeFileSync(this.pidFile, `${JSON.stringify(record)}\n`);
    return child;
  }

  private exitDescription(child: DetachedProcess): string | undefined {
    if (child.exit === undefined) return undefined;
    if (child.exit.error !== undefined) return `${this.name} could not start: ${child.exit.error.message}`;
    return (
      `${this.name} exited during start (exit code ${child.exit.code ?? child.exit.signal}). ` +
      `If its data under ${this.definition.stateDirectory} is damaged, delete that directory and run up again.`
    );
  }

  /** SIGTERM to the process group, then SIGKILL after the grace period. */
  private async stopProcess(pid: number): Promise<'stopped' | 'killed'> {
    signalProcessGroup(pid, 'SIGTERM');
    if (await waitForProcessExit(pid, this.definition.stopGraceMs, stopPollIntervalMs)) return 'stopped';
    this.log(`${this.name} (pid ${pid}) ignored SIGTERM for ${formatSeconds(this.definition.stopGraceMs)}; sending SIGKILL`);
    signalProcessGroup(pid, 'SIGKILL');
    if (!(await waitForProcessExit(pid, killWaitMs, stopPollIntervalMs))) {
      throw new InfrastructureError('server-not-ready', `${this.name} (pid ${pid}) survived SIGKILL for ${formatSeconds(killWaitMs)}; check it with \`ps -p ${pid}\``);
    }
    return 'killed';
  }

  private async assertPortsFree(): Promise<void> {
    for (const { port, environmentVariable, purpose } of this.definition.ports) {
      if (await isPortFree(this.definition.host, port)) continue;
      const role = purpose === 'client' ? '' : ` (its ${purpose} port)`;
      throw new InfrastructureError(
        'port-taken',
        `${this.name} cannot start: ${this.definition.host}:${port}${role} is already in use by a process this clone did not start. ` +
          `Stop that process, or choose another port with ${environmentVariable}=<port>.`,
      );
    }
  }

  private clientPort(): ServerPort {
    const port = this.definition.ports[0];
    if (port === undefined) throw new Error(`${this.name} has no ports defined`);
    return port;
  }

  private describePorts(ports: readonly number[] = this.definition.ports.map((port) => port.port)): string {
    const [clientPort, ...otherPorts] = ports;
    const others = otherPorts.map((port, index) => `${this.definition.ports[index + 1]?.purpose ?? 'port'} ${this.definition.host}:${port}`);
    return `${this.definition.host}:${clientPort}${others.length > 0 ? ` (${others.join(', ')})` : ''}`;
  }

  private readPidRecord(): PidRecord | undefined {
    if (!existsSync(this.pidFile)) return undefined;
    try {
      const record = JSON.parse(readFileSync(this.pidFile, 'utf8')) as Partial<PidRecord>;
      if (typeof record.pid !== 'number' || !Array.isArray(record.ports)) return undefined;
      return { pid: record.pid, host: record.host ?? this.definition.host, ports: record.ports, startedAt: record.startedAt ?? '' };
    } catch {
      // A torn or hand-edited file: treat as absent so that up and down can replace it.
      return undefined;
    }
  }

  private removePidFile(): void {
    rmSync(this.pidFile, { force: true });
  }

  /**
   * Runs `work` holding this server's lock file. The lock is taken with link(2), which fails
   * atomically when the file exists, and names its holder's pid so that a crashed holder's lock
   * is recognised and removed.
   */
  private async withLock<T>(action: string, work: () => Promise<T>): Promise<T> {
    mkdirSync(this.definition.stateDirectory, { recursive: true });
    const candidate = `${this.lockFile}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    writeFileSync(candidate, `${process.pid}\n`);
    const deadlineMs = Date.now() + lockWaitMs;
    let announced = false;
    try {
      for (;;) {
        try {
          linkSync(candidate, this.lockFile);
          break;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        }
        const holder = this.readLockHolder();
        if (holder === undefined || !isProcessAlive(holder)) {
          // Two callers that find the same stale lock could both remove it and both proceed; that
          // needs a crash plus a race within milliseconds, and the second start would then fail
          // loudly on the taken port rather than corrupt anything.
          rmSync(this.lockFile, { force: true });
          continue;
        }
        if (Date.now() >= deadlineMs) {
          throw new InfrastructureError('lock-timeout', `gave up waiting ${formatSeconds(lockWaitMs)} for process ${holder}, which holds ${this.lockFile}`);
        }
        if (!announced) {
          this.log(`${this.name}: waiting for process ${holder}, which is starting or stopping it, before I ${action} it`);
          announced = true;
        }
        await sleep(lockPollIntervalMs);
      }
    } finally {
      rmSync(candidate, { force: true });
    }
    try {
      return await work();
    } finally {
      rmSync(this.lockFile, { force: true });
    }
  }

  private readLockHolder(): number | undefined {
    try {
      const holder = Number(readFileSync(this.lockFile, 'utf8').trim());
      return Number.isInteger(holder) && holder > 0 ? holder : undefined;
    } catch {
      return undefined;
    }
  }
}
