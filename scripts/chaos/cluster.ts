/**
 * A private platform for one fault-injection run: its own Kafka and MongoDB-wire server (state in
 * `.cache/chaos/<seed>/infra`, free ports), each service (`node services/<name>/dist/main.js`) and
 * the gateway as separate processes with their logs in `.cache/chaos/<seed>/logs`, and two
 * verbs the schedule uses: `kill(target)` (SIGKILL, as a crash) and `restart(target)`.
 *
 * It never meets the shared servers of the jest run or a developer's `npm start`: every port is
 * chosen free, every secret is its own, every database lives in its own MongoDB-wire file. `stop()`
 * stops everything it started and waits until it is gone, whatever state the run is in; it is safe
 * to call twice and while a restart is under way.
 *
 * A process that exits without being killed (a crash of its own) is counted and started again after
 * `crashRestartPauseMs`, as a supervisor would; one that refuses its configuration (exit code 78)
 * stops the run, since restarting it would read the same environment.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { configurationErrorExitCode } from '../../packages/kit/src/config';
import { findFreePort, isPortAnswering, LocalKafka, LocalMongo } from '../../packages/testkit/src/infra';
import { entryPoint, gatewayDirectory, gatewayDownstreamEnvironment, type PlatformService, presentServices } from '../platform/components';
import type { ChaosFinding } from '../../packages/kit/src/chaos-finding';
import { chaosServices, type FaultTarget, replicaName } from './schedule';

/** The deadlines of the run: short, so campaigns, rounds, leases and silences end during it. */
export const chaosServiceSettings: Readonly<Record<string, string>> = {
  // The sandbox's shortest deadline (scripts/start.ts): campaigns, rounds and tasks may end 10 s out.
  DEADLINE_MIN_MS: '10000',
  // task-dispatch: silence accepts handed-in work, unsubmitted claims expire, interrupted payments retry soon.
  TASK_AUTO_ACCEPT_MS: '15000',
  TASK_LEASE_MS: '20000',
  TASK_PAYMENT_RETRY_MS: '5000',
  // task-dispatch: rejected work not handed in again is abandoned, a contest left undecided is decided by
  // rule, soon; an unresolved dispute is reported overdue (its work stays open until the arbiter decides).
  TASK_RESUBMIT_WINDOW_MS: '10000',
  TASK_CONTEST_DECISION_MS: '10000',
  DISPUTE_RESOLUTION_MS: '30000',
  // escrow: delivery milestones release by silence; cancellations allowed until 2 s before the end; stranded transfers recovered soon.
  MILESTONE_SILENCE_MS: '5000',
  CAMPAIGN_LAST_CALL_MS: '2000',
  RECOVERY_INTERVAL_MS: '2000',
  TRANSFER_RECOVERY_AGE_MS: '10000',
  // equity: commitments cancellable until 2 s before the end; lost closes looked for every 10 s; any
  // investor may lead (credit's score of an accredited newcomer arrives asynchronously, and the run
  // is about money under faults, not about lead qualification).
  EQUITY_COOLING_OFF_MS: '2000',
  EQUITY_CLOSE_RECOVERY_INTERVAL_MS: '10000',
  EQUITY_LEAD_SCORE_MIN: '350',
  // every service: a saga left by its request is recovered after 10 s, not 30.
  SAGA_RECOVERY_AGE_MS: '10000',
  LOG_LEVEL: 'info',
};

/** The gateway's settings for the run: the workload comes from one IP, and a crashed claim unlocks sooner. */
export const chaosGatewaySettings: Readonly<Record<string, string>> = {
  RATE_LIMIT_IP_BURST: '100000',
  RATE_LIMIT_IP_PER_SECOND: '100000',
  RATE_LIMIT_PARTICIPANT_BURST: '100000',
  RATE_LIMIT_PARTICIPANT_PER_SECOND: '100000',
  // A claim the gateway held when it was killed blocks its key this long (409); it must exceed the
  // longest downstream deadline, so that one is shortened with it.
  IDEMPOTENCY_LEASE_MS: '20000',
  ESCROW_CAMPAIGN_WRITE_DEADLINE_MS: '15000',
  LOG_LEVEL: 'info',
};

/**
 * How long a started Node process may take to listen before the run gives up on it. A service
 * started while the broker or the database is down exits and is restarted until they are back, so
 * this covers the longest outage (40 s), a broker's start and a service's own retries.
 */
export const processReadyTimeoutMs = 240_000;
/** Pause before a process that crashed on its own is started again. */
export const crashRestartPauseMs = 1_000;
/** How long a stopped process may take to exit after SIGTERM. */
export const stopGraceMs = 10_000;

export interface ClusterOptions {
  readonly seed: number;
  /** The checkout whose `dist/` builds run. */
  readonly repositoryRoot: string;
  /** `.cache/chaos/<seed>`; emptied first. */
  readonly stateDirectory: string;
  readonly grpcFaults: Readonly<Record<string, string>>;
  /** Processes per service; the gateway stays one. */
  readonly replicas: number;
  /** `CLOCK_SKEW_MS` by service process. */
  readonly clockSkews: Readonly<Record<string, number>>;
  /** A fixed finding every service process re-introduces (`CHAOS_FINDING`, kit's chaos-finding.ts); none by default. */
  readonly reintroduce?: ChaosFinding | undefined;
  readonly say: (line: string) => void;
}

interface NodeProcess {
  readonly name: string;
  readonly entry: string;
  readonly port: number;
  environment: NodeJS.ProcessEnv;
  child?: ChildProcess;
  /** Set while the schedule holds it down, and while the cluster stops. */
  heldDown: boolean;
  crashes: number;
}

export class ChaosCluster {
  readonly secrets: { readonly pspWebhookSecret: string; readonly authTokenSecret: string };
  readonly mongoUrl: string;
  readonly gatewayUrl: string;
  readonly services: readonly PlatformService[];
  /** Exits nobody asked for, by process: a finding in itself. */
  readonly unexpectedExits: string[] = [];
  private readonly processes = new Map<string, NodeProcess>();
  private stopping: Promise<void> | undefined;
  private fatal: Error | undefined;

  private constructor(
    private readonly options: ClusterOptions,
    private readonly kafka: LocalKafka,
    private readonly mongo: LocalMongo,
    private readonly brokers: readonly string[],
    gatewayPort: number,
  ) {
    const padded = (label: string) => `chaos-${label}-${options.seed}-`.padEnd(40, 'x');
    this.secrets = { pspWebhookSecret: padded('psp'), authTokenSecret: padded('token') };
    this.mongoUrl = mongo.mongoUrl;
    this.gatewayUrl = `http://127.0.0.1:${gatewayPort}`;
    // The services the workload drives and the invariants read (schedule.ts), not whatever else is
    // under services/ at the moment (a test scaffolding a new service writes one there meanwhile).
    this.services = presentServices(options.repositoryRoot).filter((service) => (chaosServices as readonly string[]).includes(service.name));
  }

  /** Starts the servers, then every service, then the gateway, and waits until the gateway is ready. */
  static async start(options: ClusterOptions): Promise<ChaosCluster> {
    rmSync(options.stateDirectory, { recursive: true, force: true });
    mkdirSync(join(options.stateDirectory, 'logs'), { recursive: true });
    const quietLog = (line: string) => options.say(`  infra: ${line}`);
    const [kafkaPort, controllerPort, mongoPort, gatewayPort] = [await findFreePort(), await findFreePort(), await findFreePort(), await findFreePort()];
    const infra = join(options.stateDirectory, 'infra');
    const kafka = new LocalKafka({ repositoryRoot: options.repositoryRoot, stateDirectory: join(infra, 'kafka'), port: kafkaPort, controllerPort, log: quietLog });
    const mongo = new LocalMongo({ repositoryRoot: options.repositoryRoot, stateDirectory: join(infra, 'mongo'), port: mongoPort, log: quietLog });
    const cluster = new ChaosCluster(options, kafka, mongo, kafka.brokers, gatewayPort);
    activeClusters.add(cluster);
    await Promise.all([kafka.up(), mongo.up()]);
    await cluster.startNodeProcesses(gatewayPort);
    return cluster;
  }

  /** The run's own broker, for the checks that read the topics. */
  get kafkaBrokers(): readonly string[] {
    return this.brokers;
  }

  /** The first problem that ends the run (a configuration refused), if any. */
  get failure(): Error | undefined {
    return this.fatal;
  }

  get stateDirectory(): string {
    return this.options.stateDirectory;
  }

  /** Crashes each process had of its own, by name (only those with any). */
  get crashesByProcess(): Record<string, number> {
    return Object.fromEntries([...this.processes.values()].filter((process) => process.crashes > 0).map((process) => [process.name, process.crashes]));
  }

  private async startNodeProcesses(gatewayPort: number): Promise<void> {
    // Each replica its own port; every client (the gateway, the services' peers) gets all of a service's replicas as one list, balanced round robin by kit's grpcTarget.
    const ports = new Map<PlatformService, number[]>();
    for (const service of this.services) {
      const replicaPorts: number[] = [];
      for (let replica = 1; replica <= this.options.replicas; replica++) replicaPorts.push(await findFreePort());
      ports.set(service, replicaPorts);
    }
    const addressList = (replicaPorts: readonly number[]) => replicaPorts.map((port) => `127.0.0.1:${port}`).join(',');
    const addresses = Object.fromEntries([...ports].map(([service, replicaPorts]) => [service.addressVariable, addressList(replicaPorts)]));
    const dataDirectory = join(this.options.stateDirectory, 'data');
    const shared: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      NODE_ENV: 'production',
      KAFKA_BROKERS: this.brokers.join(','),
      MONGO_URL: this.mongoUrl,
      SIZHONG_REPOSITORY_ROOT: this.options.repositoryRoot,
      SIZHONG_DATA_DIR: dataDirectory,
      PSP_WEBHOOK_SECRET: this.secrets.pspWebhookSecret,
      EQUITY_PROFILE_KEY: `chaos-profile-${this.options.seed}-`.padEnd(40, 'x'),
    };
    for (const [service, replicaPorts] of ports) {
      for (const [index, port] of replicaPorts.entries()) {
        const name = replicaName(service.name, index + 1, this.options.replicas);
        const environment = {
          ...shared,
          ...chaosServiceSettings,
          ...addresses,
          GRPC_HOST: '127.0.0.1',
          GRPC_PORT: String(port),
          GRPC_FAULTS: this.options.grpcFaults[name] ?? '',
          CLOCK_SKEW_MS: String(this.options.clockSkews[name] ?? 0),
          CHAOS_FINDING: this.options.reintroduce ?? '',
        };
        this.register(name, entryPoint(this.options.repositoryRoot, service.directory), port, environment);
      }
    }
    const gatewayEnvironment = {
      ...shared,
      ...chaosGatewaySettings,
      ...gatewayDownstreamEnvironment(new Map([...ports].map(([service, replicaPorts]) => [service, addressList(replicaPorts)]))),
      GATEWAY_PORT: String(gatewayPort),
      GATEWAY_HOST: '127.0.0.1',
      GATEWAY_DATA_DIR: dataDirectory,
      AUTH_TOKEN_SECRET: this.secrets.authTokenSecret,
      GRPC_FAULTS: this.options.grpcFaults['gateway'] ?? '',
    };
    this.register('gateway', entryPoint(this.options.repositoryRoot, gatewayDirectory), gatewayPort, gatewayEnvironment);
    for (const process of this.processes.values()) this.spawn(process);
    await Promise.all([...this.processes.values()].map((process) => this.waitListening(process)));
    await this.waitGatewayReady();
  }

  private register(name: string, entry: string, port: number, environment: NodeJS.ProcessEnv): void {
    if (!existsSync(entry)) throw new Error(`${entry} is missing; build first (npm run build), or run without --no-build`);
    this.processes.set(name, { name, entry, port, environment, heldDown: false, crashes: 0 });
  }

  private spawn(process: NodeProcess): void {
    const log = openSync(join(this.options.stateDirectory, 'logs', `${process.name}.log`), 'a');
    const child = spawn(globalThis.process.execPath, ['--enable-source-maps', process.entry], { cwd: this.options.repositoryRoot, env: process.environment, stdio: ['ignore', log, log] });
    closeSync(log);
    process.child = child;
    child.on('exit', (code, signal) => {
      if (process.child !== child || process.heldDown || this.stopping) return;
      process.crashes += 1;
      const how = signal ? `was killed by ${signal}` : `exited with code ${code}`;
      this.unexpectedExits.push(`${process.name} ${how}`);
      if (code === configurationErrorExitCode) {
        this.fatal ??= new Error(`${process.name} refused its configuration (exit code ${code}); see ${join(this.options.stateDirectory, 'logs', `${process.name}.log`)}`);
        return;
      }
      this.options.say(`  ! ${process.name} ${how} on its own; starting it again in ${crashRestartPauseMs / 1000} s`);
      setTimeout(() => {
        if (process.child === child && !process.heldDown && !this.stopping) this.spawn(process);
      }, crashRestartPauseMs);
    });
  }

  private async waitListening(process: NodeProcess): Promise<void> {
    const deadline = Date.now() + processReadyTimeoutMs;
    while (!(await isPortAnswering('127.0.0.1', process.port))) {
      if (this.fatal) throw this.fatal;
      if (this.stopping) return;
      if (Date.now() > deadline) throw new Error(`${process.name} did not listen on 127.0.0.1:${process.port} within ${processReadyTimeoutMs / 1000} s; see its log`);
      await sleep(200);
    }
  }

  /** Until /readyz answers 200 (every downstream answers its health check). */
  async waitGatewayReady(timeoutMs = processReadyTimeoutMs): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (this.fatal) throw this.fatal;
      if (this.stopping) return false;
      try {
        const response = await fetch(`${this.gatewayUrl}/readyz`, { signal: AbortSignal.timeout(2_000) });
        if (response.ok) return true;
      } catch {
        // Not up yet.
      }
      await sleep(250);
    }
    return false;
  }

  /** SIGKILL, as a crash; the process stays down until `restart`. */
  async kill(target: FaultTarget): Promise<void> {
    if (target === 'kafka') {
      await this.kafka.kill();
      return;
    }
    if (target === 'mongo') {
      await this.mongo.kill();
      return;
    }
    const process = this.nodeProcess(target);
    process.heldDown = true;
    const child = process.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
  }

  /** Starts a killed target again and waits until it listens (the servers: until they answer). */
  async restart(target: FaultTarget): Promise<void> {
    if (this.stopping) return;
    if (target === 'kafka') {
      await this.kafka.up();
      return;
    }
    if (target === 'mongo') {
      await this.mongo.up();
      return;
    }
    const process = this.nodeProcess(target);
    process.heldDown = false;
    this.spawn(process);
    await this.waitListening(process);
  }

  private nodeProcess(name: string): NodeProcess {
    const process = this.processes.get(name);
    if (!process) throw new Error(`no process ${name} in this cluster (${[...this.processes.keys()].join(', ')})`);
    return process;
  }

  /** Stops every process and both servers, and waits until they are gone. Safe to call more than once. */
  stop(): Promise<void> {
    this.stopping ??= this.stopEverything();
    return this.stopping;
  }

  private async stopEverything(): Promise<void> {
    await Promise.all([...this.processes.values()].map((process) => stopChild(process.child)));
    await Promise.allSettled([this.kafka.down(), this.mongo.down()]);
    activeClusters.delete(this);
  }

  /** The tail of a process's log, for a report. */
  logTail(name: string, lines = 20): string {
    const file = join(this.options.stateDirectory, 'logs', `${name}.log`);
    if (!existsSync(file)) return '(no log)';
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  }
}

/** Clusters not yet stopped, for a last-resort stop when the runner is interrupted. */
export const activeClusters = new Set<ChaosCluster>();

async function stopChild(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), stopGraceMs);
  await exited;
  clearTimeout(timer);
}

export function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}
