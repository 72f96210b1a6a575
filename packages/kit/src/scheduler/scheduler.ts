/**
 * Deadlines as data (docs/storage.md "Scheduler"). A job is one document in `<name>_jobs` with the time it
 * is due; every replica of a service runs a worker that claims due jobs and runs their handlers.
 *
 * A worker claims a job with one findOneAndUpdate that moves a due job to `running`, names itself
 * `owner`, sets a lease and increments `attempt`. That write is atomic on one document in MongoDB,
 * and mongo-java-server serialises each collection's operations, so when replicas race for a job
 * exactly one of them gets it. The lease makes a dead worker harmless: a `running` job whose
 * `leaseUntil` has passed is claimable again. Every later write of an attempt (done, retry,
 * failed) is guarded by `{_id, owner, attempt}`, so a worker that outlived its lease cannot
 * overwrite the attempt that took over. A handler can therefore run twice (a slow holder and its
 * successor): handlers must be idempotent, and `leaseMs` should exceed the longest handler run so
 * that this stays rare. There is deliberately no lease renewal: a handler that hangs in a live
 * process must lose its job as a crashed one does.
 *
 * The id names the deadline: scheduling an id again is a no-op that returns 'exists', even with
 * another `dueAt`. Moving the job instead would let a replayed request that recomputes its due time
 * postpone a deadline forever, and a caller could not tell whether its move came before or after a
 * worker ran the job. A caller whose deadline changes schedules a new id (escrow puts the due time
 * into the ids of jobs that move).
 *
 * **No job gives up.** A failing job is retried with a doubling pause capped at
 * `schedulerRetryDelayMaxMs`, for as long as it fails: a deadline whose work moves money must end
 * with the money where the rules say, however long a dependency is down. A job that has failed
 * `schedulerStuckAfterAttempts` times is reported (an error log at that attempt, a warning at each
 * later one, and `stuckJobs()` with its last error for the admin command). Jobs a former version
 * marked `failed` are claimed again like scheduled ones.
 *
 * Done jobs stay for `schedulerDoneRetentionMs` (who ran what, when) and are then deleted by the
 * loop, so that the due query, which scans the collection on mongo-java-server (it accepts
 * non-unique indexes but does not use them), does not slow down as jobs accumulate. Failed jobs are
 * kept until they succeed. On MongoDB the `{state: 1, dueAt: 1}` index serves both
 * branches of the due query (the `running` branch reads only running jobs, at most one per worker
 * plus those of dead workers) and the prune's `state: 'done'` range.
 *
 * Round trips: `schedule` 1 insert; each job 1 claim, the handler and 1 guarded update; an idle
 * round 1 claim that matches nothing; pruning 2 (find ids, delete them) at most once per
 * `schedulerPruneIntervalMs`, or once per round while a backlog lasts.
 */
import type { Collection, Filter, UpdateFilter } from 'mongodb';
import type { Logger } from 'pino';
import type { Clock } from '../clock';
import { isDuplicateKeyError, type MongoConnection } from '../mongo/connection';
import { findingReintroduced } from '../chaos-finding';

export const schedulerIntervalDefaultMs = 1_000;
export const schedulerLeaseDefaultMs = 30_000;
/**
 * Jobs one worker runs per round. A full round starts the next one at once, so the limit does not
 * slow a backlog down; it bounds how long a round keeps pruning and `stop()` waiting.
 */
export const schedulerBatchSize = 50;
/** Claims of one job (each run, failed or lost with an expired lease) after which it is reported as stuck; it is still retried. */
export const schedulerStuckAfterAttempts = 5;
/** When a job given up by the fault-injection run's `jobs-give-up` switch is due again: never. */
const jobNeverDueAt = new Date(8_640_000_000_000_000);
/** Stuck jobs one `stuckJobs()` call returns. */
export const schedulerStuckListMax = 1_000;
/** Pause before the first retry of a failed job; it doubles with each further failure. */
export const schedulerRetryDelayMs = 1_000;
/** The longest pause between two attempts of a failing job. */
export const schedulerRetryDelayMaxMs = 60_000;
export const jobPayloadBytesMax = 16 * 1024;
/** Characters of a handler's error message kept in `lastError`. */
export const jobErrorLengthMax = 500;
/** How long done jobs are kept for audit before the loop deletes them. */
export const schedulerDoneRetentionMs = 7 * 24 * 60 * 60 * 1_000;
/** How often a worker deletes done jobs past their retention. */
export const schedulerPruneIntervalMs = 60 * 60 * 1_000;
/** Done jobs deleted per prune; a full batch makes the next round prune again. */
export const schedulerPruneBatchSize = 1_000;

/**
 * scheduled → running (claimed) → done | scheduled (retry after a failure). A running job whose
 * lease has passed is claimed again as if it were scheduled. `failed` is only ever read: jobs a
 * former version gave up on, which are claimed again like scheduled ones.
 */
export type JobState = 'scheduled' | 'running' | 'done' | 'failed';

export interface JobDocument {
  _id: string;
  kind: string;
  /** When the job may next run: the scheduled time, moved later by each retry. */
  dueAt: Date;
  payload: Record<string, unknown>;
  state: JobState;
  /** Claims so far; the running attempt's number. */
  attempt: number;
  /** The worker that made the latest claim. */
  owner?: string;
  /** Only while running: when another worker may take the job over. */
  leaseUntil?: Date;
  lastError?: string;
  scheduledAt: Date;
  finishedAt?: Date;
}

export interface JobRequest {
  /** Deterministic: the same deadline always gets the same id. */
  readonly id: string;
  readonly kind: string;
  readonly dueAt: Date;
  /** JSON-serialisable, at most `jobPayloadBytesMax` bytes as JSON. */
  readonly payload?: Record<string, unknown>;
}

export interface DueJob {
  readonly id: string;
  readonly kind: string;
  /** When this attempt became due (a retry's is later than the first). */
  readonly dueAt: Date;
  readonly payload: Record<string, unknown>;
  /** 1 for the first run; higher after failures or an expired lease. */
  readonly attempt: number;
}

export type JobHandler = (job: DueJob) => Promise<void>;

export interface SchedulerOptions {
  readonly mongo: MongoConnection;
  /** Collection prefix, e.g. "escrow" → `escrow_jobs`. */
  readonly name: string;
  /** Identifies this worker in claims (host:pid or a test label); unique among live workers. */
  readonly owner: string;
  readonly clock: Clock;
  /**
   * By job kind. A worker claims only the kinds it has handlers for. Handlers may also be added
   * with `handle()` before `start()`, for use cases that themselves schedule through this scheduler.
   */
  readonly handlers?: Readonly<Record<string, JobHandler>>;
  readonly logger: Logger;
  /** Pause between rounds that found less than a full batch (default `schedulerIntervalDefaultMs`). */
  readonly intervalMs?: number;
  /** How long a claim is reserved for its worker (default `schedulerLeaseDefaultMs`). */
  readonly leaseMs?: number;
  /** Default `schedulerStuckAfterAttempts`. */
  readonly stuckAfterAttempts?: number;
}

/** The pause before attempt `failedAttempt + 1`: 1 s, 2 s, 4 s, … up to `schedulerRetryDelayMaxMs`. */
export function schedulerRetryDelayAfterMs(failedAttempt: number): number {
  return Math.min(schedulerRetryDelayMs * 2 ** Math.max(0, failedAttempt - 1), schedulerRetryDelayMaxMs);
}

interface RoundOutcome {
  claimed: number;
  completed: number;
}

/** The filter that holds only while a worker's claim is the job's latest. */
type Claim = Filter<JobDocument> & { _id: string; owner: string; attempt: number; state: 'running' };

export class Scheduler {
  readonly jobs: Collection<JobDocument>;
  private readonly handlers = new Map<string, JobHandler>();
  private readonly intervalMs: number;
  private readonly leaseMs: number;
  private readonly stuckAfterAttempts: number;
  private timer: NodeJS.Timeout | undefined;
  private stopped = true;
  private stopRequested = false;
  /** Rounds under way, whether started by the loop or by a direct `runOnce()`; `stop()` waits for them. */
  private readonly rounds = new Set<Promise<RoundOutcome>>();
  private lastPrunedAtMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: SchedulerOptions) {
    this.jobs = options.mongo.collection<JobDocument>(`${options.name}_jobs`);
    for (const [kind, handler] of Object.entries(options.handlers ?? {})) this.handlers.set(kind, handler);
    this.intervalMs = options.intervalMs ?? schedulerIntervalDefaultMs;
    this.leaseMs = options.leaseMs ?? schedulerLeaseDefaultMs;
    this.stuckAfterAttempts = options.stuckAfterAttempts ?? schedulerStuckAfterAttempts;
    if (!(this.intervalMs >= 0)) throw new Error(`scheduler intervalMs must be at least 0, not ${this.intervalMs}`);
    if (!(this.leaseMs > 0)) throw new Error(`scheduler leaseMs must be positive, not ${this.leaseMs}`);
    if (!Number.isInteger(this.stuckAfterAttempts) || this.stuckAfterAttempts < 1) throw new Error(`scheduler stuckAfterAttempts must be a positive integer, not ${this.stuckAfterAttempts}`);
  }

  /** Adds the handler of a job kind; only before `start()`, so every round claims the same kinds. */
  handle(kind: string, handler: JobHandler): this {
    if (!this.stopped) throw new Error(`scheduler ${this.options.name} has started; add handlers before start()`);
    if (this.handlers.has(kind)) throw new Error(`job kind ${kind} already has a handler`);
    this.handlers.set(kind, handler);
    return this;
  }

  async ensureIndexes(): Promise<void> {
    await this.jobs.createIndex({ state: 1, dueAt: 1 });
  }

  /** Schedules a job once: the same id again is a no-op (the first schedule stands, see above). */
  async schedule(job: JobRequest): Promise<'scheduled' | 'exists'> {
    if (!this.handlers.has(job.kind)) throw new Error(`no handler for job kind ${job.kind}`);
    const payload = job.payload ?? {};
    const payloadBytes = Buffer.byteLength(JSON.stringify(payload));
    if (payloadBytes > jobPayloadBytesMax) throw new Error(`job payload of ${payloadBytes} bytes is over ${jobPayloadBytesMax}`);
    try {
      await this.jobs.insertOne({ _id: job.id, kind: job.kind, dueAt: job.dueAt, payload, state: 'scheduled', attempt: 0, scheduledAt: this.options.clock.now() });
      return 'scheduled';
    } catch (error) {
      if (isDuplicateKeyError(error)) return 'exists';
      throw error;
    }
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopRequested = false;
    this.tick(0);
  }

  /** Stops claiming and waits for the handlers that are running to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopRequested = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await Promise.allSettled([...this.rounds]);
  }

  /**
   * One round: deletes expired done jobs when that is due, then claims and runs due jobs one at a
   * time, up to `schedulerBatchSize`. Returns how many jobs it completed (handler returned and
   * completion recorded).
   */
  async runOnce(): Promise<number> {
    return (await this.trackedRound()).completed;
  }

  /** Deletes up to `schedulerPruneBatchSize` done jobs finished more than the retention ago. */
  async pruneDoneJobs(): Promise<number> {
    const finishedBefore = new Date(this.options.clock.now().getTime() - schedulerDoneRetentionMs);
    const expired = await this.jobs
      .find({ state: 'done', finishedAt: { $lte: finishedBefore } }, { projection: { _id: 1 } })
      .limit(schedulerPruneBatchSize)
      .toArray();
    if (expired.length === 0) return 0;
    const deleted = await this.jobs.deleteMany({ _id: { $in: expired.map((job) => job._id) }, state: 'done' });
    return deleted.deletedCount;
  }

  private trackedRound(): Promise<RoundOutcome> {
    const round = this.round();
    this.rounds.add(round);
    void round.finally(() => this.rounds.delete(round)).catch(() => undefined);
    return round;
  }

  private async round(): Promise<RoundOutcome> {
    const outcome = { claimed: 0, completed: 0 };
    if (this.stopRequested) return outcome;
    await this.pruneIfDue();
    while (outcome.claimed < schedulerBatchSize && !this.stopRequested) {
      const job = await this.claim();
      if (!job) break;
      outcome.claimed += 1;
      if (await this.run(job)) outcome.completed += 1;
    }
    return outcome;
  }

  private async pruneIfDue(): Promise<void> {
    const nowMs = this.options.clock.now().getTime();
    if (nowMs - this.lastPrunedAtMs < schedulerPruneIntervalMs) return;
    const deleted = await this.pruneDoneJobs();
    // A full batch means more are waiting: the next round prunes again.
    if (deleted < schedulerPruneBatchSize) this.lastPrunedAtMs = nowMs;
    if (deleted > 0) this.options.logger.debug({ deleted }, 'deleted done jobs past their retention');
  }

  /** Claims the earliest due job of a kind this worker handles, or a job whose lease has passed. */
  private async claim(): Promise<JobDocument | null> {
    const now = this.options.clock.now();
    return this.jobs.findOneAndUpdate(
      { kind: { $in: [...this.handlers.keys()] }, $or: [{ state: { $in: ['scheduled', 'failed'] }, dueAt: { $lte: now } }, { state: 'running', leaseUntil: { $lte: now } }] },
      { $set: { state: 'running', owner: this.options.owner, leaseUntil: new Date(now.getTime() + this.leaseMs) }, $inc: { attempt: 1 }, $unset: { finishedAt: '' } },
      { sort: { dueAt: 1 }, returnDocument: 'after' },
    );
  }

  /** Runs a claimed job and records the outcome if the claim still holds; true when it completed. */
  private async run(job: JobDocument): Promise<boolean> {
    const logger = this.options.logger.child({ jobId: job._id, kind: job.kind, attempt: job.attempt });
    const claim: Claim = { _id: job._id, owner: this.options.owner, attempt: job.attempt, state: 'running' };
    const handler = this.handlers.get(job.kind);
    if (!handler) throw new Error(`claimed job ${job._id} of kind ${job.kind}, which this worker has no handler for`);
    try {
      await handler({ id: job._id, kind: job.kind, dueAt: job.dueAt, payload: job.payload, attempt: job.attempt });
    } catch (error) {
      await this.recordFailure(job, claim, error, logger);
      return false;
    }
    const recorded = await this.record(claim, { $set: { state: 'done', finishedAt: this.options.clock.now() }, $unset: { leaseUntil: '' } });
    if (!recorded) logger.warn('job finished after another worker took it over; that worker records the outcome');
    return recorded;
  }

  private async recordFailure(job: JobDocument, claim: Claim, error: unknown, logger: Logger): Promise<void> {
    const lastError = (error instanceof Error ? error.message : String(error)).slice(0, jobErrorLengthMax);
    const now = this.options.clock.now();
    // The fault-injection run's switch brings back issue 17's first finding: the job gives up after five attempts, for good.
    const givesUp = findingReintroduced('jobs-give-up') && job.attempt >= schedulerStuckAfterAttempts;
    const retryAt = givesUp ? jobNeverDueAt : new Date(now.getTime() + schedulerRetryDelayAfterMs(job.attempt));
    const recorded = await this.record(claim, { $set: { state: 'scheduled', dueAt: retryAt, lastError }, $unset: { leaseUntil: '' } });
    if (!recorded) logger.warn({ err: error }, 'job failed after another worker took it over; its outcome stands');
    else if (job.attempt === this.stuckAfterAttempts) logger.error({ err: error, retryAt }, `job has failed ${job.attempt} times; it is stuck and still retried (npm run admin -- stuck)`);
    else if (job.attempt > this.stuckAfterAttempts) logger.warn({ err: error, retryAt }, `stuck job failed again (attempt ${job.attempt}); it is retried`);
    else logger.warn({ err: error, retryAt }, 'job failed; it will be retried');
  }

  /** Jobs not done after `stuckAfterAttempts` claims, oldest due first, with why (their last error). */
  async stuckJobs(limit: number = schedulerStuckListMax): Promise<JobDocument[]> {
    return this.jobs.find({ state: { $ne: 'done' }, attempt: { $gte: this.stuckAfterAttempts } }, { sort: { dueAt: 1 }, limit }).toArray();
  }

  /** Makes a job that is not done or running due now (the admin command's "retry it now"); false otherwise. */
  async makeDue(jobId: string): Promise<boolean> {
    const result = await this.jobs.updateOne({ _id: jobId, state: { $in: ['scheduled', 'failed'] } }, { $set: { state: 'scheduled', dueAt: this.options.clock.now() } });
    return result.matchedCount === 1;
  }

  /** Writes an attempt's outcome if its claim is still the job's latest; false when it was taken over. */
  private async record(claim: Claim, update: UpdateFilter<JobDocument>): Promise<boolean> {
    const result = await this.jobs.updateOne(claim, update);
    return result.matchedCount === 1;
  }

  private tick(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.trackedRound()
        .catch((error: unknown) => {
          this.options.logger.error({ err: error }, 'scheduler round failed');
          return { claimed: 0, completed: 0 };
        })
        // A round that claimed a full batch leaves more due work: go on at once.
        .then((outcome) => this.tick(outcome.claimed >= schedulerBatchSize ? 0 : this.intervalMs));
    }, delayMs);
  }
}
