/**
 * The fault-injection run's plan, drawn from its seed and nothing else, so a seed replays the same
 * schedule: which process is SIGKILLed when and for how long it stays down (at two replicas, one
 * replica at a time), the gRPC fault plan (`GRPC_FAULTS`, kit's grpc/faults.ts) each service
 * replica and the gateway runs with, and each replica's clock skew (`CLOCK_SKEW_MS`). The workload draws
 * from its own stream of the same seed (`streamFor`), so adding an action never moves a fault.
 *
 * What a seed cannot fix is the machine: a fault is due at `atMs` after the workload starts and runs
 * when the one before it has finished (a broker restart may take longer than the gap), so the
 * order and the targets replay exactly and the instants only approximately.
 */
import { clockSkewMaxMs } from '../../packages/kit/src/service/service-main';

/** The services of the platform, each run as one process per replica. */
export const chaosServices = ['escrow', 'task-dispatch', 'equity', 'credit'] as const;
export type ChaosService = (typeof chaosServices)[number];

/**
 * A process a fault may kill: a service replica (`escrow` at one replica; `escrow-r1`, `escrow-r2`
 * at two), the gateway (always one), the broker or the MongoDB-wire server.
 */
export type FaultTarget = string;

/** The targets at one replica, in the order the schedule shuffles them (a seed replays phase 1's schedule). */
export const faultTargets: readonly FaultTarget[] = [...chaosServices, 'gateway', 'kafka', 'mongo'];

/** The most replicas per service a run may ask for. */
export const replicasMax = 4;
/** Default bound of each replica's clock skew at two replicas or more (`--skew-ms`). */
export const skewMsDefault = 2_000;

/** The process name of a service's replica (1-based): the service's own name at one replica. */
export function replicaName(service: string, replica: number, replicas: number): string {
  return replicas === 1 ? service : `${service}-r${replica}`;
}

/** The service a process belongs to; undefined for the gateway, the broker and the database. */
export function serviceOf(process: string): ChaosService | undefined {
  return chaosServices.find((service) => process === service || new RegExp(`^${service}-r\\d+$`).test(process));
}

/** Every service replica's process name, service by service. */
export function serviceProcesses(replicas: number): string[] {
  return chaosServices.flatMap((service) => Array.from({ length: replicas }, (_, index) => replicaName(service, index + 1, replicas)));
}

/** What a schedule may kill at this many replicas: every replica, the gateway, the broker, the database. */
export function targetsAt(replicas: number): FaultTarget[] {
  return [...serviceProcesses(replicas), 'gateway', 'kafka', 'mongo'];
}

export interface ScheduledFault {
  /** Position in the schedule, from 1: what a violation names as "the step". */
  readonly step: number;
  /** When it is due, from the start of the workload. */
  readonly atMs: number;
  readonly target: FaultTarget;
  readonly kind: 'kill';
  /** How long the process stays down before it is started again. */
  readonly downMs: number;
}

export interface ChaosSchedule {
  readonly seed: number;
  readonly durationMs: number;
  readonly faults: readonly ScheduledFault[];
  readonly replicas: number;
  /** `GRPC_FAULTS` by process. */
  readonly grpcFaults: Readonly<Record<string, string>>;
  /** `CLOCK_SKEW_MS` by service process (the gateway is not skewed). */
  readonly clockSkews: Readonly<Record<string, number>>;
}

export interface ScheduleOptions {
  readonly seed: number;
  readonly faultCount: number;
  /** How long the workload runs; faults fall inside it. */
  readonly durationMs: number;
  /** Processes per service (default 1). */
  readonly replicas?: number;
  /** Each service process's clock is shifted by a seeded amount in [-skewMs, skewMs] (default 0). */
  readonly skewMs?: number;
}

/** No fault before the actors exist and have money: a kill during sign-up tests nothing about money. */
export const faultQuietStartMs = 5_000;
/** Shortest and longest time a killed process stays down (a crash, then a supervisor's restart). */
export const downMinMs = 300;
export const downMaxMs = 4_000;
/**
 * A tenth of the kills are long outages: the process stays down 20–40 s, longer than a job's first
 * retries add up to (1 + 2 + 4 + 8 s), as a dependency that is away for half a minute. Drawn from a
 * stream of their own (`outages`), so the targets, instants and short pauses stay what they were.
 */
export const longOutageChance = 0.1;
export const longOutageMinMs = 20_000;
export const longOutageMaxMs = 40_000;
/** Bounds of the per-call gRPC fault probabilities and of an injected delay. */
export const grpcDelayChanceMax = 0.08;
export const grpcLostAnswerChanceMax = 0.04;
export const grpcUnavailableChanceMax = 0.04;
export const grpcDelayMaxMsBound = 3_000;
/** The most faults one run may ask for (each is a kill and a restart, seconds of a slow machine). */
export const faultCountMax = 500;

/** A small seeded generator (mulberry32, as kit's gRPC fault injector): the same seed gives the same draws everywhere. */
export class SeededRandom {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** A number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  }

  /** An integer in [minimum, maximum]. */
  integer(minimum: number, maximum: number): number {
    return minimum + Math.floor(this.next() * (maximum - minimum + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[Math.floor(this.next() * items.length)]!;
  }

  /** A choice weighted by each entry's weight (non-negative, not all zero). */
  weighted<T>(entries: readonly (readonly [T, number])[]): T {
    const total = entries.reduce((sum, [, weight]) => sum + weight, 0);
    let draw = this.next() * total;
    for (const [item, weight] of entries) {
      draw -= weight;
      if (draw < 0) return item;
    }
    return entries[entries.length - 1]![0];
  }

  shuffle<T>(items: readonly T[]): T[] {
    const copy = [...items];
    for (let index = copy.length - 1; index > 0; index--) {
      const other = Math.floor(this.next() * (index + 1));
      [copy[index], copy[other]] = [copy[other]!, copy[index]!];
    }
    return copy;
  }
}

/** An independent stream of the seed for one purpose (`schedule`, `workload`, `grpc:escrow`…). */
export function streamFor(seed: number, purpose: string): SeededRandom {
  let hash = 0x811c9dc5 ^ (seed >>> 0);
  for (const character of purpose) hash = Math.imul(hash ^ character.charCodeAt(0), 0x01000193) >>> 0;
  return new SeededRandom(Math.imul(hash ^ (seed >>> 0), 0x9e3779b1) >>> 0);
}

/**
 * The schedule of a seed. Every target is hit once before any is hit twice (as far as the count
 * goes), in a seeded order, so a short run still kills the broker and the database.
 */
export function drawSchedule(options: ScheduleOptions): ChaosSchedule {
  const { seed, faultCount, durationMs } = options;
  const replicas = options.replicas ?? 1;
  const skewMs = options.skewMs ?? 0;
  if (!Number.isInteger(replicas) || replicas < 1 || replicas > replicasMax) throw new Error(`replicas ${replicas} must be an integer in [1, ${replicasMax}]`);
  if (!Number.isInteger(skewMs) || skewMs < 0 || skewMs > clockSkewMaxMs) throw new Error(`skew ${skewMs} ms must be an integer in [0, ${clockSkewMaxMs}]`);
  if (!Number.isInteger(seed) || seed < 0 || seed > 0xffff_ffff) throw new Error(`seed ${seed} must be an integer in [0, 2^32)`);
  if (!Number.isInteger(faultCount) || faultCount < 0 || faultCount > faultCountMax) throw new Error(`faults ${faultCount} must be an integer in [0, ${faultCountMax}]`);
  if (durationMs < faultQuietStartMs * 2) throw new Error(`duration ${durationMs} ms must be at least ${faultQuietStartMs * 2} ms`);
  const random = streamFor(seed, 'schedule');
  const targets: FaultTarget[] = [];
  // One process at a time: a replica is restarted before the next fault, so both replicas of a service are never down at once.
  while (targets.length < faultCount) targets.push(...random.shuffle(targetsAt(replicas)));
  const window = durationMs - faultQuietStartMs;
  const instants = Array.from({ length: faultCount }, () => faultQuietStartMs + Math.floor(random.next() * window)).sort((first, second) => first - second);
  const outages = streamFor(seed, 'outages');
  const faults = instants.map((atMs, index) => {
    const shortMs = random.integer(downMinMs, downMaxMs);
    const downMs = outages.chance(longOutageChance) ? outages.integer(longOutageMinMs, longOutageMaxMs) : shortMs;
    return { step: index + 1, atMs, target: targets[index]!, kind: 'kill' as const, downMs };
  });
  const grpcFaults: Record<string, string> = {};
  for (const process of [...serviceProcesses(replicas), 'gateway']) grpcFaults[process] = grpcFaultPlan(seed, process);
  const clockSkews: Record<string, number> = {};
  for (const process of serviceProcesses(replicas)) clockSkews[process] = skewMs === 0 ? 0 : streamFor(seed, `skew:${process}`).integer(-skewMs, skewMs);
  return { seed, durationMs, replicas, faults, grpcFaults, clockSkews };
}

/** `GRPC_FAULTS` for one process: its own seed and probabilities, all drawn from the run's seed. */
function grpcFaultPlan(seed: number, process: FaultTarget): string {
  const random = streamFor(seed, `grpc:${process}`);
  const round = (value: number) => Math.round(value * 1_000) / 1_000;
  const plan = {
    seed: random.integer(1, 0x7fff_ffff),
    delay: round(random.next() * grpcDelayChanceMax),
    delayMaxMs: random.integer(100, grpcDelayMaxMsBound),
    lostAnswer: round(random.next() * grpcLostAnswerChanceMax),
    unavailable: round(random.next() * grpcUnavailableChanceMax),
  };
  return Object.entries(plan)
    .map(([key, value]) => `${key}=${value}`)
    .join(',');
}

/** One line per fault, for the run's header and for a violation's report. */
export function describeFault(fault: ScheduledFault): string {
  return `step ${fault.step}: kill ${fault.target} at +${(fault.atMs / 1_000).toFixed(1)} s, down ${(fault.downMs / 1_000).toFixed(1)} s`;
}
