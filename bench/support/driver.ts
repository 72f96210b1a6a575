/**
 * The load drivers of the benchmarks: a closed loop (a fixed number of requests, a fixed number in
 * flight, the next one started when one finishes) and an open loop (requests started on a fixed
 * schedule whatever the completions, each latency measured from its scheduled start, so a stalled
 * server shows as latency instead of hiding as fewer requests: no coordinated omission).
 */

/** How often a running loop prints its progress line. */
export const progressIntervalMs = 5_000;
/** A run stops after this many failed requests: the figures of a failing system mean nothing. */
export const failuresMax = 10;
/** An open loop waits this long for its last requests before it gives up on them. */
export const openLoopDrainTimeoutMs = 60_000;

export type Request = (index: number) => Promise<unknown>;

export interface ClosedLoopOptions {
  readonly label: string;
  readonly count: number;
  readonly concurrency: number;
  readonly request: Request;
  /** Aborted when a child process dies or the user presses Ctrl-C: no new request starts. */
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

export interface RunResult {
  readonly label: string;
  readonly completed: number;
  readonly failed: number;
  /** The first few failures' messages, with the index of their request. */
  readonly failures: readonly string[];
  readonly wallMs: number;
  /** Latencies of the completed requests, ascending. */
  readonly latenciesMs: readonly number[];
  /** When each completion happened, in milliseconds from the start, in completion order. */
  readonly completionsMs: readonly number[];
}

export async function runClosedLoop(options: ClosedLoopOptions): Promise<RunResult> {
  const log = options.log ?? console.log;
  const recorder = new Recorder(options.label);
  let next = 0;
  const progress = startProgress(options.label, options.count, recorder, log);
  try {
    await Promise.all(
      Array.from({ length: Math.min(options.concurrency, options.count) }, async () => {
        for (let index = next++; index < options.count; index = next++) {
          if (options.signal?.aborted || recorder.failed >= failuresMax) return;
          const begin = performance.now();
          try {
            await options.request(index);
            recorder.complete(begin);
          } catch (error) {
            recorder.fail(index, error);
          }
        }
      }),
    );
  } finally {
    clearInterval(progress);
  }
  return recorder.finish(log, options.count, options.signal);
}

export interface OpenLoopOptions {
  readonly label: string;
  readonly ratePerSecond: number;
  readonly durationMs: number;
  readonly request: Request;
  readonly signal?: AbortSignal;
  readonly log?: (line: string) => void;
}

export interface OpenLoopResult extends RunResult {
  readonly offeredPerSecond: number;
  readonly scheduled: number;
  /** The most requests in flight at once. */
  readonly inFlightMax: number;
  /** How late the driver started requests after their scheduled time, p99: large means the driver, not the server, was the bottleneck. */
  readonly startLagP99Ms: number;
}

export async function runOpenLoop(options: OpenLoopOptions): Promise<OpenLoopResult> {
  const log = options.log ?? console.log;
  const scheduled = Math.max(1, Math.round((options.ratePerSecond * options.durationMs) / 1_000));
  const intervalMs = 1_000 / options.ratePerSecond;
  const recorder = new Recorder(options.label);
  const startLagsMs: number[] = [];
  const pending = new Set<Promise<void>>();
  let inFlightMax = 0;
  const progress = startProgress(options.label, scheduled, recorder, log);
  try {
    for (let index = 0; index < scheduled; index += 1) {
      if (options.signal?.aborted || recorder.failed >= failuresMax) break;
      const dueAt = recorder.startedAt + index * intervalMs;
      const waitMs = dueAt - performance.now();
      if (waitMs > 1) await sleep(waitMs);
      startLagsMs.push(Math.max(0, performance.now() - dueAt));
      const requested = options.request(index).then(
        () => recorder.complete(dueAt),
        (error: unknown) => recorder.fail(index, error),
      );
      const tracked = requested.finally(() => pending.delete(tracked));
      pending.add(tracked);
      inFlightMax = Math.max(inFlightMax, pending.size);
    }
    const drained = await Promise.race([Promise.all(pending).then(() => true), sleep(openLoopDrainTimeoutMs).then(() => false)]);
    if (!drained) recorder.fail(-1, new Error(`${pending.size} requests still unanswered ${openLoopDrainTimeoutMs} ms after the last arrival`));
  } finally {
    clearInterval(progress);
  }
  const result = recorder.finish(log, scheduled, options.signal);
  startLagsMs.sort((left, right) => left - right);
  return { ...result, offeredPerSecond: options.ratePerSecond, scheduled, inFlightMax, startLagP99Ms: percentile(startLagsMs, 0.99) };
}

/** Collects one run's outcomes. */
class Recorder {
  readonly startedAt = performance.now();
  readonly latenciesMs: number[] = [];
  readonly completionsMs: number[] = [];
  readonly failures: string[] = [];
  failed = 0;

  constructor(private readonly label: string) {}

  get done(): number {
    return this.latenciesMs.length + this.failed;
  }

  complete(begin: number): void {
    const now = performance.now();
    this.latenciesMs.push(now - begin);
    this.completionsMs.push(now - this.startedAt);
  }

  fail(index: number, error: unknown): void {
    this.failed += 1;
    if (this.failures.length < 3) this.failures.push(`request ${index}: ${describeError(error)}`);
  }

  finish(log: (line: string) => void, count: number, signal: AbortSignal | undefined): RunResult {
    const wallMs = performance.now() - this.startedAt;
    log(`  ${this.label}: ${this.latenciesMs.length}/${count} done in ${(wallMs / 1_000).toFixed(1)} s${this.failed > 0 ? `, ${this.failed} failed` : ''}`);
    for (const failure of this.failures) log(`    failed: ${failure}`);
    if (signal?.aborted) throw new Error(`${this.label} was interrupted: ${describeError(signal.reason)}`);
    return {
      label: this.label,
      completed: this.latenciesMs.length,
      failed: this.failed,
      failures: [...this.failures],
      wallMs,
      latenciesMs: [...this.latenciesMs].sort((left, right) => left - right),
      completionsMs: [...this.completionsMs],
    };
  }
}

function startProgress(label: string, count: number, recorder: Recorder, log: (line: string) => void): NodeJS.Timeout {
  let previousDone = 0;
  let previousAt = recorder.startedAt;
  return setInterval(() => {
    const now = performance.now();
    const done = recorder.done;
    const perSecond = ((done - previousDone) / (now - previousAt)) * 1_000;
    log(`  ${label}: ${done}/${count} after ${((now - recorder.startedAt) / 1_000).toFixed(0)} s, ${perSecond.toFixed(0)}/s lately${recorder.failed > 0 ? `, ${recorder.failed} failed` : ''}`);
    previousDone = done;
    previousAt = now;
  }, progressIntervalMs);
}

/** Nearest rank: the smallest latency that at least `fraction` of the sorted values do not exceed. */
export function percentile(sortedValues: readonly number[], fraction: number): number {
  if (sortedValues.length === 0) return Number.NaN;
  const rank = Math.ceil(fraction * sortedValues.length);
  return sortedValues[Math.min(sortedValues.length - 1, Math.max(0, rank - 1))] ?? Number.NaN;
}

export function completedPerSecond(result: RunResult): number {
  return (result.completed / result.wallMs) * 1_000;
}

/**
 * Throughput of the completions numbered `from` (inclusive) to `to` (exclusive) in completion
 * order: their count over the time from the completion before `from` (or the start) to the last one.
 */
export function windowPerSecond(result: RunResult, from: number, to: number): number {
  const times = result.completionsMs;
  if (to <= from || to > times.length) return Number.NaN;
  const beginMs = from === 0 ? 0 : (times[from - 1] ?? 0);
  const endMs = times[to - 1] ?? 0;
  return ((to - from) / (endMs - beginMs)) * 1_000;
}

/** For setup steps (funding, sign-ups, campaigns): every request must succeed. */
export function requireAllCompleted(result: RunResult): RunResult {
  if (result.failed > 0) throw new Error(`${result.label}: ${result.failed} failed, first: ${result.failures[0] ?? ''}`);
  return result;
}

export function describeError(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return `${typeof code === 'string' ? `${code}: ` : ''}${error.message}`;
  }
  return String(error);
}

export function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}
