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
}

export class Scheduler {
  readonly jobs: Collection<JobDocument>;
  private readonly claims: Collection<ClaimDocument>;
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<number> | undefined;
  private stopped = true;
  private stopRequested = false;

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

  /** One round: claims and runs every due job it can; returns how many it ran successfully. */
  async runOnce(): Promise<number> {
    const now = this.options.clock.now();
    const due = await this.jobs.find({ state: 'scheduled', dueAt: { $lte: now } }).sort({ dueAt: 1, _id: 1 }).limit(schedulerBatchSize).toArray();
    let ran = 0;
    for (const job of due) {
      if (this.stopRequested) break;
      const attempt = await this.claim(job);
      if (attempt === undefined) continue;
      if (await this.run(job, attempt)) ran += 1;
    }
    return ran;
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
      this.round = this.runOnce().catch((error: unknown) => {
        this.options.logger.error({ err: error }, 'scheduler round failed');
        return 0;
      });
      void this.round.finally(() => this.tick(this.options.intervalMs ?? schedulerIntervalDefaultMs));
    }, delayMs);
  }
}
