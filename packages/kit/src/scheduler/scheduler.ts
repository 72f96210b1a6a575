/**
 * Deadlines as data. A job is due at `dueAt`; workers (one per service replica) look for due jobs
 * and claim one by inserting the claim `<jobId>#<attempt>`: the unique `_id` lets exactly one
 * worker win each attempt, even on FerretDB, whose updates are not atomic (see aggregate-store).
 * A claim is a lease: if its holder dies, the job becomes claimable again when the lease ends.
 * Completion inserts `<jobId>#done`, after which no worker runs the job again.
 */
import type { Collection } from 'mongodb';
import type { Logger } from 'pino';
import type { Clock } from '../clock';
import { isDuplicateKeyError, type MongoConnection } from '../mongo/connection';

export const schedulerIntervalDefaultMs = 1_000;
export const schedulerLeaseDefaultMs = 30_000;
/** Due jobs one worker looks at per round. */
export const schedulerBatchSize = 50;
/** A job that failed this many times stops being retried and is marked failed. */
export const schedulerAttemptsMax = 5;
/** Pause before a failed job may be claimed again. */
export const schedulerRetryDelayMs = 1_000;
export const jobPayloadBytesMax = 16 * 1024;
/**
 * Finding due jobs by query scans the jobs collection on FerretDB (about 150 ms per 5 000 jobs).
 * So the loop scans fully only this often; in between it checks the jobs it knows are coming
 * (scheduled by this worker or seen in the last scan) by id. Jobs another replica scheduled are
 * picked up at the next full scan at the latest.
 */
export const schedulerFullScanIntervalDefaultMs = 60_000;
/** Upcoming jobs remembered between scans; beyond this the loop relies on the full scans. */
export const schedulerKnownJobsMax = 100_000;

export type JobState = 'scheduled' | 'done' | 'failed';

export interface JobDocument {
  _id: string;
  kind: string;
  dueAt: Date;
  payload: Record<string, unknown>;
  state: JobState;
  scheduledAt: Date;
  finishedAt?: Date;
  lastError?: string;
}

interface ClaimDocument {
  _id: string;
  jobId: string;
  attempt: number | 'done';
  owner: string;
  claimedAt: Date;
  leaseUntil: Date;
}

export interface DueJob {
  readonly id: string;
  readonly kind: string;
  readonly dueAt: Date;
  readonly payload: Record<string, unknown>;
  readonly attempt: number;
}

export type JobHandler = (job: DueJob) => Promise<void>;

export interface SchedulerOptions {
  readonly mongo: MongoConnection;
  /** Collection prefix, e.g. "escrow" → `escrow_jobs`, `escrow_job_claims`. */
  readonly name: string;
  /** Identifies this worker in claims (host:pid or a test label). */
  readonly owner: string;
  readonly clock: Clock;
  readonly handlers: Readonly<Record<string, JobHandler>>;
  readonly logger: Logger;
  readonly intervalMs?: number;
  readonly leaseMs?: number;
  readonly attemptsMax?: number;
  readonly fullScanIntervalMs?: number;
}

export class Scheduler {
  readonly jobs: Collection<JobDocument>;
  private readonly claims: Collection<ClaimDocument>;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<number> | undefined;
  private stopped = true;
  private stopRequested = false;
  /** Job id → due time (ms) of jobs this worker expects. */
  private readonly upcoming = new Map<string, number>();
  private lastFullScanAtMs = Number.NEGATIVE_INFINITY;

  constructor(private readonly options: SchedulerOptions) {
    this.jobs = options.mongo.collection<JobDocument>(`${options.name}_jobs`);
    this.claims = options.mongo.collection<ClaimDocument>(`${options.name}_job_claims`);
  }

  async ensureIndexes(): Promise<void> {
    await this.jobs.createIndex({ state: 1, dueAt: 1 });
  }

  /** Schedules a job once: the same id again is a no-op (the first schedule stands). */
  async schedule(job: { id: string; kind: string; dueAt: Date; payload?: Record<string, unknown> }): Promise<'scheduled' | 'exists'> {
    if (!(job.kind in this.options.handlers)) throw new Error(`no handler for job kind ${job.kind}`);
    const payload = job.payload ?? {};
    if (Buffer.byteLength(JSON.stringify(payload)) > jobPayloadBytesMax) throw new Error(`job payload over ${jobPayloadBytesMax} bytes`);
    try {
      await this.jobs.insertOne({ _id: job.id, kind: job.kind, dueAt: job.dueAt, payload, state: 'scheduled', scheduledAt: this.options.clock.now() });
      this.remember(job.id, job.dueAt);
      return 'scheduled';
    } catch (error) {
      if (isDuplicateKeyError(error)) return 'exists';
      throw error;
    }
  }

  start(): void {
    this.stopped = false;
    this.stopRequested = false;
    this.tick(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.stopRequested = true;
    if (this.timer) clearTimeout(this.timer);
    await this.round;
  }

  /**
   * One full round: reads every scheduled job, claims and runs the due ones it can, and remembers
   * the rest as upcoming. Returns how many it ran successfully.
   */
  async runOnce(): Promise<number> {
    this.lastFullScanAtMs = Date.now();
    const now = this.options.clock.now();
    const scheduled = await this.jobs.find({ state: 'scheduled' }).toArray();
    this.upcoming.clear();
    for (const job of scheduled) if (job.dueAt > now) this.remember(job._id, job.dueAt);
    const due = scheduled
      .filter((job) => job.dueAt <= now)
      .sort((left, right) => left.dueAt.getTime() - right.dueAt.getTime() || (left._id < right._id ? -1 : 1))
      .slice(0, schedulerBatchSize);
    // A full batch means more are due: keep them in view for the next (cheap) round.
    for (const job of scheduled.filter((candidate) => candidate.dueAt <= now).slice(schedulerBatchSize)) this.remember(job._id, job.dueAt);
    return this.runJobs(due);
  }

  /** A cheap round: only the remembered jobs that are due now, each read by id. */
  async runKnownDue(): Promise<number> {
    const nowMs = this.options.clock.now().getTime();
    const dueIds = [...this.upcoming]
      .filter(([, dueAtMs]) => dueAtMs <= nowMs)
      .sort(([, left], [, right]) => left - right)
      .slice(0, schedulerBatchSize)
      .map(([id]) => id);
    const due: JobDocument[] = [];
    for (const id of dueIds) {
      const job = await this.jobs.findOne({ _id: id });
      if (!job || job.state !== 'scheduled') this.upcoming.delete(id);
      else if (job.dueAt.getTime() > nowMs) this.remember(id, job.dueAt);
      else due.push(job);
    }
    return this.runJobs(due);
  }

  private async runJobs(due: readonly JobDocument[]): Promise<number> {
    let ran = 0;
    for (const job of due) {
      if (this.stopRequested) break;
      const attempt = await this.claim(job);
      if (attempt === undefined) continue;
      if (await this.run(job, attempt)) {
        ran += 1;
        this.upcoming.delete(job._id);
      }
    }
    return ran;
  }

  private remember(id: string, dueAt: Date): void {
    if (this.upcoming.size < schedulerKnownJobsMax || this.upcoming.has(id)) this.upcoming.set(id, dueAt.getTime());
  }

  /** Returns the attempt number this worker now holds, or undefined if it may not run the job. */
  private async claim(job: JobDocument): Promise<number | undefined> {
    const now = this.options.clock.now();
    if (await this.claims.findOne({ _id: `${job._id}#done` })) {
      await this.jobs.updateOne({ _id: job._id }, { $set: { state: 'done' } });
      return undefined;
    }
    let latest: ClaimDocument | null = null;
    let attempt = 0;
    const attemptsMax = this.options.attemptsMax ?? schedulerAttemptsMax;
    for (;;) {
      const next = await this.claims.findOne({ _id: `${job._id}#${attempt + 1}` });
      if (!next) break;
      latest = next;
      attempt += 1;
    }
    if (latest && latest.leaseUntil > now) return undefined;
    if (attempt >= attemptsMax) {
      await this.jobs.updateOne({ _id: job._id }, { $set: { state: 'failed', finishedAt: now } });
      this.options.logger.error({ jobId: job._id, kind: job.kind, attempts: attempt }, 'job failed too often; giving up');
      return undefined;
    }
    try {
      await this.claims.insertOne({
        _id: `${job._id}#${attempt + 1}`,
        jobId: job._id,
        attempt: attempt + 1,
        owner: this.options.owner,
        claimedAt: now,
        leaseUntil: new Date(now.getTime() + (this.options.leaseMs ?? schedulerLeaseDefaultMs)),
      });
      return attempt + 1;
    } catch (error) {
      if (isDuplicateKeyError(error)) return undefined;
      throw error;
    }
  }

  private async run(job: JobDocument, attempt: number): Promise<boolean> {
    const handler = this.options.handlers[job.kind];
    const logger = this.options.logger.child({ jobId: job._id, kind: job.kind, attempt });
    if (!handler) {
      logger.error('no handler for this job kind');
      return false;
    }
    try {
      await handler({ id: job._id, kind: job.kind, dueAt: job.dueAt, payload: job.payload, attempt });
    } catch (error) {
      logger.warn({ err: error }, 'job failed; it will be retried after a pause');
      const retryAt = new Date(this.options.clock.now().getTime() + schedulerRetryDelayMs);
      // Only the lease holder writes its own claim, so this update races with nobody.
      await this.claims.updateOne({ _id: `${job._id}#${attempt}` }, { $set: { leaseUntil: retryAt } });
      await this.jobs.updateOne({ _id: job._id }, { $set: { lastError: (error as Error).message.slice(0, 500) } });
      return false;
    }
    const now = this.options.clock.now();
    try {
      await this.claims.insertOne({ _id: `${job._id}#done`, jobId: job._id, attempt: 'done', owner: this.options.owner, claimedAt: now, leaseUntil: now });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
    await this.jobs.updateOne({ _id: job._id }, { $set: { state: 'done', finishedAt: now } });
    return true;
  }

  private tick(delayMs: number): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      const fullScanDue = Date.now() - this.lastFullScanAtMs >= (this.options.fullScanIntervalMs ?? schedulerFullScanIntervalDefaultMs);
      this.round = (fullScanDue ? this.runOnce() : this.runKnownDue()).catch((error: unknown) => {
        this.options.logger.error({ err: error }, 'scheduler round failed');
        return 0;
      });
      void this.round.finally(() => this.tick(this.options.intervalMs ?? schedulerIntervalDefaultMs));
    }, delayMs);
  }
}
