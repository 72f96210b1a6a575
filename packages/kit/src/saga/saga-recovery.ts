/**
 * The recovery loop every service that runs sagas has (the skeleton starts it): it claims due
 * unfinished sagas one at a time and drives them on, with a capped backoff between attempts of one
 * saga and no attempt limit, so recovery, not a hold's expiry, ends a saga. An unfinished saga
 * older than `sagaStuckAfterMs` is logged at each attempt; `sagaStatistics` gives the counts by
 * kind and state with the oldest age (the `sizhong.sagas.unfinished` gauge and the admin command).
 */
import { metrics } from '@opentelemetry/api';
import type { Logger } from 'pino';
import type { Scheduler } from '../scheduler/scheduler';
import type { BackgroundLoop } from '../service/service';
import type { Sagas } from './saga';
import type { SagaLog, SagaState } from './saga-log';

export const sagaRecoveryIntervalMs = 1_000;
/** Sagas one recovery run drives on; a full batch makes the next run start at once. */
export const sagaRecoveryBatch = 20;
/** Pause before the first recovery retry of a saga; it doubles with each further attempt. */
export const sagaRetryDelayMs = 1_000;
/** The longest pause between two recovery attempts of one saga. */
export const sagaRetryDelayMaxMs = 5 * 60_000;
/** An unfinished saga older than this is logged at every attempt and counted as stuck. */
export const sagaStuckAfterMs = 10 * 60_000;
/** Unfinished sagas one statistics read looks at. */
export const sagaStatisticsScanMax = 10_000;

/** The pause after recovery attempt `attempt` (1 s, 2 s, 4 s, … up to `sagaRetryDelayMaxMs`). */
export function sagaRetryDelayAfterMs(attempt: number): number {
  return Math.min(sagaRetryDelayMs * 2 ** Math.max(0, attempt - 1), sagaRetryDelayMaxMs);
}

export interface SagaRecoveryOptions {
  readonly sagas: Sagas;
  readonly logger: Logger;
  readonly intervalMs?: number;
  readonly stuckAfterMs?: number;
}

/** Drives due sagas on; returns how many it attempted (failed attempts included). */
export async function recoverSagas(options: SagaRecoveryOptions): Promise<number> {
  const { sagas, logger } = options;
  const stuckAfterMs = options.stuckAfterMs ?? sagaStuckAfterMs;
  let attempted = 0;
  const stores = [...sagas.stores];
  while (attempted < sagaRecoveryBatch && stores.length > 0) {
    const now = sagas.options.clock.now();
    const { store, kinds } = stores[0]!;
    const record = await store.claimDue(kinds, now, sagaRetryDelayAfterMs);
    if (!record) {
      stores.shift();
      continue;
    }
    attempted++;
    const ageMs = now.getTime() - record.createdAt.getTime();
    if (ageMs >= stuckAfterMs) {
      logger.warn({ sagaId: record._id, kind: record.kind, state: record.state, attempts: record.attempts, ageMs, lastError: record.lastError }, `saga ${record._id} (${record.kind}) is still ${record.state} after ${Math.round(ageMs / 1000)} s`);
    }
    await sagas.resume(record).catch((error: unknown) => {
      logger.info({ err: error, sagaId: record._id, kind: record.kind, attempts: record.attempts }, `saga ${record._id} (${record.kind}) stays ${record.state}; next attempt in ${sagaRetryDelayAfterMs(record.attempts) / 1000} s`);
    });
  }
  return attempted;
}

export function sagaRecoveryLoop(options: SagaRecoveryOptions): BackgroundLoop {
  return { name: 'saga-recovery', intervalMs: options.intervalMs ?? sagaRecoveryIntervalMs, run: () => recoverSagas(options) };
}

export interface SagaStatistics {
  /** Unfinished sagas by kind and state. */
  readonly unfinished: readonly { kind: string; state: SagaState; count: number; oldestAgeMs: number }[];
  /** Unfinished sagas older than the stuck threshold. */
  readonly stuck: number;
}

export async function sagaStatistics(log: SagaLog, now: Date, stuckAfterMs: number = sagaStuckAfterMs): Promise<SagaStatistics> {
  const records = await log.unfinished(sagaStatisticsScanMax);
  const groups = new Map<string, { kind: string; state: SagaState; count: number; oldestAgeMs: number }>();
  let stuck = 0;
  for (const record of records) {
    const ageMs = now.getTime() - record.createdAt.getTime();
    if (ageMs >= stuckAfterMs) stuck++;
    const key = `${record.kind}\u0000${record.state}`;
    const group = groups.get(key) ?? { kind: record.kind, state: record.state, count: 0, oldestAgeMs: 0 };
    group.count++;
    group.oldestAgeMs = Math.max(group.oldestAgeMs, ageMs);
    groups.set(key, group);
  }
  return { unfinished: [...groups.values()], stuck };
}

/**
 * Observable gauges of unfinished sagas by kind and state, and of the oldest one's age, read when
 * a metrics reader collects (nothing is read while no OpenTelemetry meter provider is installed).
 */
export function registerSagaGauges(serviceName: string, log: SagaLog, now: () => Date): void {
  const meter = metrics.getMeter('sizhong-kit');
  const unfinished = meter.createObservableGauge('sizhong.sagas.unfinished', { description: 'Sagas not yet completed or given back, by kind and state' });
  const oldest = meter.createObservableGauge('sizhong.sagas.oldest_age', { description: 'Age of the oldest unfinished saga, by kind and state', unit: 's' });
  meter.addBatchObservableCallback(
    async (observer) => {
      const statistics = await sagaStatistics(log, now());
      for (const group of statistics.unfinished) {
        const attributes = { service: serviceName, kind: group.kind, state: group.state };
        observer.observe(unfinished, group.count, attributes);
        observer.observe(oldest, group.oldestAgeMs / 1000, attributes);
      }
    },
    [unfinished, oldest],
  );
}

/**
 * Observable gauge of stuck deadline jobs (not done after `schedulerStuckAfterAttempts` claims) by
 * kind, read when a metrics reader collects; `npm run admin -- stuck` lists them with their errors.
 */
export function registerStuckJobGauge(serviceName: string, scheduler: Pick<Scheduler, 'stuckJobs'>): void {
  const meter = metrics.getMeter('sizhong-kit');
  const stuck = meter.createObservableGauge('sizhong.jobs.stuck', { description: 'Deadline jobs still failing after the stuck threshold of attempts, by kind' });
  meter.addBatchObservableCallback(
    async (observer) => {
      const counts = new Map<string, number>();
      for (const job of await scheduler.stuckJobs()) counts.set(job.kind, (counts.get(job.kind) ?? 0) + 1);
      for (const [kind, count] of counts) observer.observe(stuck, count, { service: serviceName, kind });
    },
    [stuck],
  );
}
