/**
 * What an operator asks when money seems stuck: which sagas are not finished and which deadline
 * jobs keep failing, with why, in one service's database; and "drive this one on now". Read
 * straight from the service's collections (`<service>_sagas`, `<service>_jobs`), so it answers
 * while the service itself is down; driving on only makes the record due, and the service's own
 * recovery loop or scheduler does the work with its own code.
 */
import type { MongoConnection } from '../mongo/connection';
import { type JobDocument, schedulerStuckAfterAttempts, schedulerStuckListMax } from '../scheduler/scheduler';
import { type SagaRecord, unfinishedSagaStates } from './saga-log';

/** Rows one report lists of each kind (sagas, jobs). */
export const stuckWorkListMax = 200;

export interface StuckWorkReport {
  readonly service: string;
  readonly sagas: readonly { id: string; kind: string; state: string; ageSeconds: number; attempts: number; nextAttemptAt: string; lastError: string }[];
  readonly jobs: readonly { id: string; kind: string; state: string; attempt: number; dueAt: string; lastError: string }[];
}

/** Unfinished sagas at least `olderThanMs` old, and jobs with at least `schedulerStuckAfterAttempts` claims that are not done. */
export async function stuckWorkReport(mongo: MongoConnection, service: string, now: Date, olderThanMs = 0): Promise<StuckWorkReport> {
  const sagas = await mongo
    .collection<SagaRecord>(`${service}_sagas`)
    .find({ state: { $in: [...unfinishedSagaStates] }, createdAt: { $lte: new Date(now.getTime() - olderThanMs) } }, { sort: { createdAt: 1 }, limit: stuckWorkListMax })
    .toArray();
  const jobs = await mongo
    .collection<JobDocument>(`${service}_jobs`)
    .find({ state: { $ne: 'done' }, attempt: { $gte: schedulerStuckAfterAttempts } }, { sort: { dueAt: 1 }, limit: Math.min(stuckWorkListMax, schedulerStuckListMax) })
    .toArray();
  return {
    service,
    sagas: sagas.map((record) => ({
      id: record._id,
      kind: record.kind,
      state: record.state,
      ageSeconds: Math.round((now.getTime() - record.createdAt.getTime()) / 1000),
      attempts: record.attempts,
      nextAttemptAt: record.nextAttemptAt.toISOString(),
      lastError: record.lastError ?? '',
    })),
    jobs: jobs.map((job) => ({ id: job._id, kind: job.kind, state: job.state, attempt: job.attempt, dueAt: job.dueAt.toISOString(), lastError: job.lastError ?? '' })),
  };
}

/** Makes an unfinished saga or a job that is not done due now; what was found. */
export async function driveOn(mongo: MongoConnection, service: string, id: string, now: Date): Promise<'saga' | 'job' | 'not_found_or_finished'> {
  const saga = await mongo.collection<SagaRecord>(`${service}_sagas`).updateOne({ _id: id, state: { $in: [...unfinishedSagaStates] } }, { $set: { nextAttemptAt: now, updatedAt: now } });
  if (saga.matchedCount === 1) return 'saga';
  const job = await mongo.collection<JobDocument>(`${service}_jobs`).updateOne({ _id: id, state: { $in: ['scheduled', 'failed'] } }, { $set: { state: 'scheduled', dueAt: now } });
  return job.matchedCount === 1 ? 'job' : 'not_found_or_finished';
}
