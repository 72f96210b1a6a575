// Proves the scheduler against the real MongoDB-wire server: due jobs run once and future ones wait, competing workers on
// separate connections run each job exactly once, a dead worker's lease expires and a stale worker cannot record its
// attempt, failures retry with capped pauses until they succeed (never given up) and are listed as stuck, stop() waits for handlers, and done jobs are pruned.
import { testDatabaseName, testInfrastructure } from '@sizhong/testkit';
import pino from 'pino';
import { ManualClock } from '../clock';
import { connectMongo, type MongoConnection } from '../mongo/connection';
import {
  jobErrorLengthMax,
  jobPayloadBytesMax,
  Scheduler,
  schedulerRetryDelayMaxMs,
  schedulerStuckAfterAttempts,
  schedulerBatchSize,
  schedulerDoneRetentionMs,
  schedulerPruneBatchSize,
  schedulerPruneIntervalMs,
  schedulerRetryDelayAfterMs,
  type DueJob,
  type JobDocument,
  type JobHandler,
} from './scheduler';

const logger = pino({ level: 'silent' });
const start = '2026-11-25T12:00:00Z';
const leaseMs = 5_000;
/** One connection per competing worker, as separate replicas would have. */
const connectionCount = 4;
let connections: MongoConnection[] = [];

beforeAll(async () => {
  const { mongoUrl } = testInfrastructure();
  const database = testDatabaseName('scheduler');
  connections = await Promise.all(Array.from({ length: connectionCount }, () => connectMongo(mongoUrl, database)));
});

afterAll(async () => {
  await connections[0]?.db.dropDatabase();
  await Promise.all(connections.map((connection) => connection.close()));
});

interface WorkerOptions {
  readonly connection?: number;
  readonly intervalMs?: number;
}

/** A worker on `name`'s jobs, running `handler` for the kind 'settle'. */
function worker(name: string, owner: string, clock: ManualClock, handler: JobHandler, options: WorkerOptions = {}): Scheduler {
  const { connection = 0, ...rest } = options;
  return new Scheduler({ mongo: connections[connection]!, name, owner, clock, logger, leaseMs, handlers: { settle: handler }, ...rest });
}

function secondsFrom(clock: ManualClock, seconds: number): Date {
  return new Date(clock.now().getTime() + seconds * 1_000);
}

/** A promise tests resolve or reject by hand, to hold a handler mid-run. */
function gate(): { promise: Promise<void>; open: () => void; fail: (error: Error) => void } {
  let open!: () => void;
  let fail!: (error: Error) => void;
  const promise = new Promise<void>((resolve, reject) => {
    open = resolve;
    fail = reject;
  });
  return { promise, open, fail };
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  for (let waitedMs = 0; !condition(); waitedMs += 10) {
    if (waitedMs >= timeoutMs) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function countPerJob(runs: readonly { jobId: string }[]): Map<string, number> {
  const perJob = new Map<string, number>();
  for (const run of runs) perJob.set(run.jobId, (perJob.get(run.jobId) ?? 0) + 1);
  return perJob;
}

describe('Scheduler', () => {
  it('creates the {state, dueAt} index that serves the due query on MongoDB', async () => {
    const subject = worker('indexes', 'worker-a', new ManualClock(start), async () => undefined);
    await subject.ensureIndexes();
    const indexes = await subject.jobs.listIndexes().toArray();
    expect(indexes.map((index) => index['key'])).toContainEqual({ state: 1, dueAt: 1 });
  });

  it('runs a due job once and leaves a future job alone until it is due', async () => {
    const clock = new ManualClock(start);
    const ran: DueJob[] = [];
    const subject = worker('once', 'worker-a', clock, async (job) => void ran.push(job));
    await expect(subject.schedule({ id: 'job-due', kind: 'settle', dueAt: clock.now(), payload: { campaignId: 'c-1' } })).resolves.toBe('scheduled');
    await subject.schedule({ id: 'job-future', kind: 'settle', dueAt: secondsFrom(clock, 60) });

    await expect(subject.runOnce()).resolves.toBe(1);
    await expect(subject.runOnce()).resolves.toBe(0);
    expect(ran).toEqual([{ id: 'job-due', kind: 'settle', dueAt: clock.now(), payload: { campaignId: 'c-1' }, attempt: 1 }]);
    await expect(subject.jobs.findOne({ _id: 'job-due' })).resolves.toMatchObject({ state: 'done', attempt: 1, owner: 'worker-a', finishedAt: clock.now() });
    await expect(subject.jobs.findOne({ _id: 'job-future' })).resolves.toMatchObject({ state: 'scheduled', attempt: 0 });

    clock.advance(59_999);
    await expect(subject.runOnce()).resolves.toBe(0);
    clock.advance(1);
    await expect(subject.runOnce()).resolves.toBe(1);
    expect(ran.map((job) => job.id)).toEqual(['job-due', 'job-future']);
  });

  it('schedules an id once: the first schedule stands, with its due time, before and after the job ran', async () => {
    const clock = new ManualClock(start);
    const ran: string[] = [];
    const subject = worker('idempotent', 'worker-a', clock, async (job) => void ran.push(job.id));
    const dueAt = secondsFrom(clock, 10);
    await expect(subject.schedule({ id: 'job-1', kind: 'settle', dueAt })).resolves.toBe('scheduled');
    await expect(subject.schedule({ id: 'job-1', kind: 'settle', dueAt })).resolves.toBe('exists');
    await expect(subject.schedule({ id: 'job-1', kind: 'settle', dueAt: clock.now() })).resolves.toBe('exists');
    await expect(subject.jobs.findOne({ _id: 'job-1' })).resolves.toMatchObject({ dueAt, state: 'scheduled' });
    await expect(subject.runOnce()).resolves.toBe(0);

    clock.advance(10_000);
    await expect(subject.runOnce()).resolves.toBe(1);
    await expect(subject.schedule({ id: 'job-1', kind: 'settle', dueAt: clock.now() })).resolves.toBe('exists');
    await expect(subject.runOnce()).resolves.toBe(0);
    expect(ran).toEqual(['job-1']);
  });

  it(`accepts a payload of exactly ${jobPayloadBytesMax} bytes and refuses one byte more, or a kind without a handler`, async () => {
    const clock = new ManualClock(start);
    const subject = worker('limits', 'worker-a', clock, async () => undefined);
    const envelopeBytes = Buffer.byteLength(JSON.stringify({ data: '' }));
    const atLimit = { data: 'x'.repeat(jobPayloadBytesMax - envelopeBytes) };
    expect(Buffer.byteLength(JSON.stringify(atLimit))).toBe(jobPayloadBytesMax);
    await expect(subject.schedule({ id: 'job-at-limit', kind: 'settle', dueAt: clock.now(), payload: atLimit })).resolves.toBe('scheduled');
    await expect(subject.schedule({ id: 'job-past-limit', kind: 'settle', dueAt: clock.now(), payload: { data: `${atLimit.data}x` } })).rejects.toThrow(
      `over ${jobPayloadBytesMax}`,
    );
    await expect(subject.schedule({ id: 'job-unknown', kind: 'unknown', dueAt: clock.now() })).rejects.toThrow('no handler for job kind unknown');
    await expect(subject.jobs.countDocuments({ _id: { $in: ['job-past-limit', 'job-unknown'] } })).resolves.toBe(0);
  });

  it(`runs at most ${schedulerBatchSize} jobs per round, earliest due first, and the rest in the next round`, async () => {
    const clock = new ManualClock(start);
    const ran: string[] = [];
    const subject = worker('batch', 'worker-a', clock, async (job) => void ran.push(job.id));
    for (let index = 0; index <= schedulerBatchSize; index += 1) {
      await subject.schedule({ id: `job-${index}`, kind: 'settle', dueAt: secondsFrom(clock, -index) });
    }
    await expect(subject.runOnce()).resolves.toBe(schedulerBatchSize);
    expect(ran[0]).toBe(`job-${schedulerBatchSize}`);
    expect(ran).not.toContain('job-0');
    await expect(subject.runOnce()).resolves.toBe(1);
    expect(ran.at(-1)).toBe('job-0');
    await expect(subject.runOnce()).resolves.toBe(0);
  });

  it('starts the next round at once after a full batch instead of waiting for the interval', async () => {
    const clock = new ManualClock(start);
    const ran: string[] = [];
    const subject = worker('backlog', 'worker-a', clock, async (job) => void ran.push(job.id), { intervalMs: 60_000 });
    const jobCount = schedulerBatchSize * 2 + 1;
    for (let index = 0; index < jobCount; index += 1) await subject.schedule({ id: `job-${index}`, kind: 'settle', dueAt: clock.now() });
    subject.start();
    try {
      await waitFor(() => ran.length === jobCount);
    } finally {
      await subject.stop();
    }
    expect(new Set(ran).size).toBe(jobCount);
  });

  it('runs each of 100 due jobs exactly once across 4 competing workers on separate connections', async () => {
    const clock = new ManualClock(start);
    const runs: { jobId: string; owner: string }[] = [];
    const workers = Array.from({ length: connectionCount }, (_, index) => {
      const owner = `worker-${index}`;
      return worker('race', owner, clock, async (job) => {
        runs.push({ jobId: job.id, owner });
        await new Promise((resolve) => setImmediate(resolve));
      }, { connection: index });
    });
    const jobCount = 100;
    for (let index = 0; index < jobCount; index += 1) await workers[0]!.schedule({ id: `job-${index}`, kind: 'settle', dueAt: secondsFrom(clock, -index) });

    let completed = 0;
    for (let round = 0; round < 10 && completed < jobCount; round += 1) {
      const perWorker = await Promise.all(workers.map((subject) => subject.runOnce()));
      completed += perWorker.reduce((sum, count) => sum + count, 0);
    }

    const perJob = countPerJob(runs);
    expect(completed).toBe(jobCount);
    expect(perJob.size).toBe(jobCount);
    expect([...perJob.values()].filter((count) => count !== 1)).toEqual([]);
    expect(new Set(runs.map((run) => run.owner)).size).toBeGreaterThan(1);
    await expect(workers[0]!.jobs.countDocuments({ state: 'done', attempt: 1 })).resolves.toBe(jobCount);
  });

  it('only claims the kinds it has handlers for', async () => {
    const clock = new ManualClock(start);
    const ran: string[] = [];
    const settler = worker('kinds', 'worker-settle', clock, async (job) => void ran.push(job.id));
    const other = new Scheduler({ mongo: connections[1]!, name: 'kinds', owner: 'worker-other', clock, logger, handlers: { remind: async () => undefined } });
    await settler.schedule({ id: 'job-settle', kind: 'settle', dueAt: clock.now() });
    await expect(other.runOnce()).resolves.toBe(0);
    await expect(settler.jobs.findOne({ _id: 'job-settle' })).resolves.toMatchObject({ state: 'scheduled', attempt: 0 });
    await expect(settler.runOnce()).resolves.toBe(1);
    expect(ran).toEqual(['job-settle']);
  });

  it('takes handlers added with handle() before start, and refuses them after start or twice', async () => {
    const clock = new ManualClock(start);
    const ran: string[] = [];
    const late = new Scheduler({ mongo: connections[0]!, name: 'handle', owner: 'worker-late', clock, logger });
    await expect(late.schedule({ id: 'job-early', kind: 'remind', dueAt: clock.now() })).rejects.toThrow('no handler for job kind remind');
    late.handle('remind', async (job) => void ran.push(job.id));
    expect(() => late.handle('remind', async () => undefined)).toThrow('already has a handler');
    await late.schedule({ id: 'job-late', kind: 'remind', dueAt: clock.now() });
    await expect(late.runOnce()).resolves.toBe(1);
    expect(ran).toEqual(['job-late']);
    late.start();
    expect(() => late.handle('other', async () => undefined)).toThrow('add handlers before start()');
    await late.stop();
  });

  it('lets another worker take over a job whose holder died, once its lease has ended', async () => {
    const clock = new ManualClock(start);
    const ran: DueJob[] = [];
    let deadCalls = 0;
    const dead = worker('lease', 'worker-dead', clock, () => {
      deadCalls += 1;
      return new Promise<void>(() => undefined);
    });
    const alive = worker('lease', 'worker-alive', clock, async (job) => void ran.push(job), { connection: 1 });
    await dead.schedule({ id: 'job-lease', kind: 'settle', dueAt: clock.now() });
    void dead.runOnce(); // Claims the job and hangs forever, as a crashed process would.
    await waitFor(() => deadCalls === 1);
    await expect(dead.jobs.findOne({ _id: 'job-lease' })).resolves.toMatchObject({ state: 'running', owner: 'worker-dead', attempt: 1 });

    clock.advance(leaseMs - 1);
    await expect(alive.runOnce()).resolves.toBe(0);
    clock.advance(1);
    await expect(alive.runOnce()).resolves.toBe(1);
    expect(ran.map((job) => [job.id, job.attempt])).toEqual([['job-lease', 2]]);
    await expect(alive.jobs.findOne({ _id: 'job-lease' })).resolves.toMatchObject({ state: 'done', owner: 'worker-alive', attempt: 2 });
  });

  it.each(['returns', 'throws'] as const)('keeps the outcome of the worker that took over when the stale worker\'s handler %s late', async (ending) => {
    const clock = new ManualClock(start);
    const held = gate();
    let staleCalls = 0;
    const stale = worker(`stale-${ending}`, 'worker-stale', clock, async () => {
      staleCalls += 1;
      await held.promise;
    });
    const successor = worker(`stale-${ending}`, 'worker-successor', clock, async () => undefined, { connection: 1 });
    await stale.schedule({ id: 'job-lost', kind: 'settle', dueAt: clock.now() });
    const staleRound = stale.runOnce();
    await waitFor(() => staleCalls === 1);

    clock.advance(leaseMs);
    await expect(successor.runOnce()).resolves.toBe(1);
    if (ending === 'returns') held.open();
    else held.fail(new Error('downstream unavailable'));

    await expect(staleRound).resolves.toBe(0);
    const job = await stale.jobs.findOne({ _id: 'job-lost' });
    expect(job).toMatchObject({ state: 'done', owner: 'worker-successor', attempt: 2 });
    expect(job?.lastError).toBeUndefined();
  });

  it(`retries a failing job after growing pauses capped at ${schedulerRetryDelayMaxMs} ms, past ${schedulerStuckAfterAttempts} attempts, until it succeeds`, async () => {
    const clock = new ManualClock(start);
    const attempts: number[] = [];
    const failuresBeforeSuccess = schedulerStuckAfterAttempts * 2;
    const subject = worker('failing', 'worker-a', clock, async (job) => {
      attempts.push(job.attempt);
      if (attempts.length <= failuresBeforeSuccess) throw new Error(`downstream unavailable ${'!'.repeat(1_000)}`);
    });
    await subject.schedule({ id: 'job-fails', kind: 'settle', dueAt: clock.now() });
    await expect(subject.runOnce()).resolves.toBe(0);
    for (let failed = 1; failed <= failuresBeforeSuccess; failed += 1) {
      const job = await subject.jobs.findOne({ _id: 'job-fails' });
      expect(job).toMatchObject({ state: 'scheduled', attempt: failed });
      expect(job?.lastError).toMatch(/^downstream unavailable !+$/);
      expect(job?.lastError).toHaveLength(jobErrorLengthMax);
      expect(schedulerRetryDelayAfterMs(failed)).toBeLessThanOrEqual(schedulerRetryDelayMaxMs);
      clock.advance(schedulerRetryDelayAfterMs(failed) - 1);
      await subject.runOnce();
      expect(attempts).toHaveLength(failed);
      clock.advance(1);
      await subject.runOnce();
      expect(attempts).toHaveLength(failed + 1);
    }
    expect(schedulerRetryDelayAfterMs(failuresBeforeSuccess)).toBe(schedulerRetryDelayMaxMs);
    await expect(subject.jobs.findOne({ _id: 'job-fails' })).resolves.toMatchObject({ state: 'done', attempt: failuresBeforeSuccess + 1, finishedAt: expect.any(Date) });
  });

  it(`lists a job as stuck from its ${schedulerStuckAfterAttempts}th failed attempt, with why, and makes it due again on demand`, async () => {
    const clock = new ManualClock(start);
    let healthy = false;
    const subject = worker('stuck', 'worker-a', clock, async () => {
      if (!healthy) throw new Error('escrow unavailable');
    });
    await subject.schedule({ id: 'job-stuck', kind: 'settle', dueAt: clock.now() });
    await subject.schedule({ id: 'job-fine', kind: 'settle', dueAt: secondsFrom(clock, 3_600) });
    for (let attempt = 1; attempt < schedulerStuckAfterAttempts; attempt += 1) {
      await subject.runOnce();
      clock.advance(schedulerRetryDelayAfterMs(attempt));
    }
    await expect(subject.stuckJobs()).resolves.toEqual([]);
    await subject.runOnce();
    const stuck = await subject.stuckJobs();
    expect(stuck.map((job) => ({ id: job._id, attempt: job.attempt, lastError: job.lastError }))).toEqual([{ id: 'job-stuck', attempt: schedulerStuckAfterAttempts, lastError: 'escrow unavailable' }]);

    healthy = true;
    await expect(subject.runOnce()).resolves.toBe(0);
    await expect(subject.makeDue('job-stuck')).resolves.toBe(true);
    await expect(subject.runOnce()).resolves.toBe(1);
    await expect(subject.stuckJobs()).resolves.toEqual([]);
    await expect(subject.makeDue('job-stuck')).resolves.toBe(false);
  });

  it('claims again a job a former version marked failed, and completes it', async () => {
    const clock = new ManualClock(start);
    let calls = 0;
    const subject = worker('revived', 'worker-a', clock, async () => void (calls += 1));
    await subject.jobs.insertOne({ _id: 'job-given-up', kind: 'settle', dueAt: secondsFrom(clock, -60), payload: {}, state: 'failed', attempt: 5, lastError: 'gave up', scheduledAt: secondsFrom(clock, -120), finishedAt: secondsFrom(clock, -60) });
    await expect(subject.runOnce()).resolves.toBe(1);
    expect(calls).toBe(1);
    await expect(subject.jobs.findOne({ _id: 'job-given-up' })).resolves.toMatchObject({ state: 'done', attempt: 6 });
  });

  it('takes over a job whose lease expired any number of times, and completes it when a worker finishes', async () => {
    const clock = new ManualClock(start);
    let hangingCalls = 0;
    const hanging = worker('lease-exhausted', 'worker-hanging', clock, () => {
      hangingCalls += 1;
      return new Promise<void>(() => undefined);
    });
    let calls = 0;
    const survivor = worker('lease-exhausted', 'worker-survivor', clock, async () => void (calls += 1), { connection: 1 });
    await hanging.schedule({ id: 'job-hangs', kind: 'settle', dueAt: clock.now() });
    for (let hung = 1; hung <= schedulerStuckAfterAttempts + 1; hung += 1) {
      void hanging.runOnce();
      await waitFor(() => hangingCalls === hung);
      clock.advance(leaseMs);
    }

    await expect(survivor.runOnce()).resolves.toBe(1);
    expect(calls).toBe(1);
    await expect(survivor.jobs.findOne({ _id: 'job-hangs' })).resolves.toMatchObject({ state: 'done', attempt: schedulerStuckAfterAttempts + 2, owner: 'worker-survivor' });
  });

  it('stop() waits for a running handler and claims nothing more', async () => {
    const clock = new ManualClock(start);
    const held = gate();
    const started: string[] = [];
    const finished: string[] = [];
    const subject = worker('stop', 'worker-a', clock, async (job) => {
      started.push(job.id);
      await held.promise;
      finished.push(job.id);
    }, { intervalMs: 10 });
    await subject.schedule({ id: 'job-1', kind: 'settle', dueAt: secondsFrom(clock, -1) });
    await subject.schedule({ id: 'job-2', kind: 'settle', dueAt: clock.now() });
    subject.start();
    await waitFor(() => started.length === 1);

    let stopped = false;
    const stopping = subject.stop().then(() => void (stopped = true));
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(stopped).toBe(false);
    held.open();
    await stopping;
    expect(finished).toEqual(['job-1']);
    await expect(subject.jobs.findOne({ _id: 'job-1' })).resolves.toMatchObject({ state: 'done' });
    await expect(subject.jobs.findOne({ _id: 'job-2' })).resolves.toMatchObject({ state: 'scheduled', attempt: 0 });
  });

  it(`deletes done jobs past the retention, ${schedulerPruneBatchSize} per prune, and keeps recent and unfinished ones`, async () => {
    const clock = new ManualClock(start);
    const subject = worker('prune', 'worker-a', clock, async () => undefined);
    const expiredAt = new Date(clock.now().getTime() - schedulerDoneRetentionMs);
    const job = (id: string, state: JobDocument['state'], finishedAt: Date): JobDocument => ({
      _id: id,
      kind: 'settle',
      dueAt: finishedAt,
      payload: {},
      state,
      attempt: 1,
      owner: 'worker-a',
      scheduledAt: finishedAt,
      finishedAt,
    });
    await subject.jobs.insertMany([
      ...Array.from({ length: schedulerPruneBatchSize + 1 }, (_, index) => job(`job-expired-${index}`, 'done', expiredAt)),
      job('job-recent', 'done', new Date(expiredAt.getTime() + 1)),
      job('job-failed', 'failed', expiredAt),
    ]);

    await expect(subject.pruneDoneJobs()).resolves.toBe(schedulerPruneBatchSize);
    await expect(subject.pruneDoneJobs()).resolves.toBe(1);
    await expect(subject.pruneDoneJobs()).resolves.toBe(0);
    const left = await subject.jobs.find({}, { projection: { _id: 1 } }).toArray();
    expect(left.map((kept) => kept._id).sort()).toEqual(['job-failed', 'job-recent']);
  });

  it(`prunes from the loop once per ${schedulerPruneIntervalMs} ms, and again at once while a full batch comes back`, async () => {
    const clock = new ManualClock(start);
    const subject = worker('prune-loop', 'worker-a', clock, async () => undefined);
    const expired = (id: string): JobDocument => {
      const finishedAt = new Date(clock.now().getTime() - schedulerDoneRetentionMs);
      return { _id: id, kind: 'settle', dueAt: finishedAt, payload: {}, state: 'done', attempt: 1, scheduledAt: finishedAt, finishedAt };
    };
    await subject.jobs.insertMany(Array.from({ length: schedulerPruneBatchSize + 1 }, (_, index) => expired(`job-backlog-${index}`)));
    await subject.runOnce();
    await expect(subject.jobs.countDocuments({})).resolves.toBe(1);
    await subject.runOnce();
    await expect(subject.jobs.countDocuments({})).resolves.toBe(0);

    await subject.jobs.insertOne(expired('job-later'));
    clock.advance(schedulerPruneIntervalMs - 1);
    await subject.runOnce();
    await expect(subject.jobs.countDocuments({})).resolves.toBe(1);
    clock.advance(1);
    await subject.runOnce();
    await expect(subject.jobs.countDocuments({})).resolves.toBe(0);
  });
});
