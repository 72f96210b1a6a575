// Proves the scheduler against the real MongoDB-wire server: competing workers run each due job exactly once,
// future jobs wait, failed jobs are retried and then given up, and a dead worker's lease expires.
import { testDatabaseName, testInfrastructure } from '@sizhong/testkit';
import pino from 'pino';
import { ManualClock } from '../clock';
import { connectMongo, type MongoConnection } from '../mongo/connection';
import { Scheduler, schedulerAttemptsMax, schedulerRetryDelayMs, type DueJob } from './scheduler';

const logger = pino({ level: 'silent' });
let first: MongoConnection;
let second: MongoConnection;

beforeAll(async () => {
  const { mongoUrl } = testInfrastructure();
  const database = testDatabaseName('scheduler');
  [first, second] = await Promise.all([connectMongo(mongoUrl, database), connectMongo(mongoUrl, database)]);
});

afterAll(async () => {
  await first.db.dropDatabase();
  await Promise.all([first.close(), second.close()]);
});

function worker(mongo: MongoConnection, name: string, owner: string, clock: ManualClock, handler: (job: DueJob) => Promise<void>, leaseMs = 30_000) {
  return new Scheduler({ mongo, name, owner, clock, logger, leaseMs, handlers: { settle: handler } });
}

describe('Scheduler', () => {
  it('runs each due job exactly once across two competing workers, and leaves future jobs alone', async () => {
    const clock = new ManualClock('2026-11-25T12:00:00Z');
    const runs: { jobId: string; owner: string }[] = [];
    const handler = (owner: string) => async (job: DueJob) => {
      runs.push({ jobId: job.id, owner });
      await new Promise((resolve) => setTimeout(resolve, 2));
    };
    const workerA = worker(first, 'race', 'worker-a', clock, handler('worker-a'));
    const workerB = worker(second, 'race', 'worker-b', clock, handler('worker-b'));
    await workerA.ensureIndexes();
    const dueCount = 40;
    for (let index = 0; index < dueCount; index += 1) {
      await workerA.schedule({ id: `job-${index}`, kind: 'settle', dueAt: new Date(clock.now().getTime() - index * 1_000) });
    }
    await workerA.schedule({ id: 'job-future', kind: 'settle', dueAt: new Date(clock.now().getTime() + 60_000) });
    await expect(workerB.schedule({ id: 'job-0', kind: 'settle', dueAt: clock.now() })).resolves.toBe('exists');

    for (let round = 0; round < 3; round += 1) await Promise.all([workerA.runOnce(), workerB.runOnce(), workerA.runOnce(), workerB.runOnce()]);

    const perJob = new Map<string, number>();
    for (const run of runs) perJob.set(run.jobId, (perJob.get(run.jobId) ?? 0) + 1);
    expect(perJob.size).toBe(dueCount);
    expect([...perJob.values()].every((count) => count === 1)).toBe(true);
    expect(perJob.has('job-future')).toBe(false);
    await expect(workerA.jobs.countDocuments({ state: 'done' })).resolves.toBe(dueCount);

    clock.advance(60_000);
    await Promise.all([workerA.runOnce(), workerB.runOnce()]);
    expect(runs.filter((run) => run.jobId === 'job-future')).toHaveLength(1);
  });

  it('retries a failing job after a pause and gives up after the attempt limit', async () => {
    const clock = new ManualClock('2026-11-25T12:00:00Z');
    let calls = 0;
    const subject = worker(first, 'failing', 'worker-a', clock, async () => {
      calls += 1;
      throw new Error('downstream unavailable');
    });
    await subject.schedule({ id: 'job-fails', kind: 'settle', dueAt: clock.now() });
    await subject.runOnce();
    await subject.runOnce();
    expect(calls).toBe(1);
    for (let attempt = 2; attempt <= schedulerAttemptsMax + 1; attempt += 1) {
      clock.advance(schedulerRetryDelayMs);
      await subject.runOnce();
    }
    expect(calls).toBe(schedulerAttemptsMax);
    await expect(subject.jobs.findOne({ _id: 'job-fails' })).resolves.toMatchObject({ state: 'failed', lastError: 'downstream unavailable' });
  });

  it('lets another worker take over a job whose holder died, once the lease ends', async () => {
    const clock = new ManualClock('2026-11-25T12:00:00Z');
    const ran: string[] = [];
    const dead = worker(first, 'lease', 'worker-dead', clock, () => new Promise<void>(() => undefined), 5_000);
    const alive = worker(second, 'lease', 'worker-alive', clock, async (job) => void ran.push(job.id), 5_000);
    await dead.schedule({ id: 'job-lease', kind: 'settle', dueAt: clock.now() });
    void dead.runOnce(); // Claims the job and hangs forever, as a crashed process would.
    await new Promise((resolve) => setTimeout(resolve, 200));
    await alive.runOnce();
    expect(ran).toEqual([]);
    clock.advance(5_001);
    await alive.runOnce();
    expect(ran).toEqual(['job-lease']);
  });

  it('between full scans, runs the jobs it knows by id, and learns of other workers\' jobs at the next full scan', async () => {
    const clock = new ManualClock('2026-11-25T12:00:00Z');
    const ran: string[] = [];
    const here = worker(first, 'known', 'worker-here', clock, async (job) => void ran.push(job.id));
    const elsewhere = worker(second, 'known', 'worker-elsewhere', clock, async (job) => void ran.push(job.id));
    await here.schedule({ id: 'job-mine', kind: 'settle', dueAt: new Date(clock.now().getTime() + 1_000) });
    await elsewhere.schedule({ id: 'job-theirs', kind: 'settle', dueAt: new Date(clock.now().getTime() + 1_000) });
    await expect(here.runKnownDue()).resolves.toBe(0);
    clock.advance(1_000);
    await expect(here.runKnownDue()).resolves.toBe(1);
    expect(ran).toEqual(['job-mine']);
    await expect(here.runOnce()).resolves.toBe(1);
    expect(ran).toEqual(['job-mine', 'job-theirs']);
    // Done jobs are forgotten: nothing runs twice.
    await expect(here.runKnownDue()).resolves.toBe(0);
    await expect(elsewhere.runKnownDue()).resolves.toBe(0);
    expect(ran).toEqual(['job-mine', 'job-theirs']);
  });
});

