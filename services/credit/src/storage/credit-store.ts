/**
 * Credit records (one document per participant, version-guarded writes through AggregateStore)
 * and the score history (one document per change, `_id` = participant|role|event, so writing a
 * change twice is a no-op).
 */
import { AggregateStore, isDuplicateKeyError, type Logger, type MongoConnection, plainCodec } from '@sizhong/kit';
import type { Collection } from 'mongodb';
import type { CreditRole } from '../domain/model';
import type { ParticipantCredit, ScoreChange } from '../domain/participant-credit';

export function createCreditStore(mongo: MongoConnection, logger: Logger): AggregateStore<ParticipantCredit> {
  return new AggregateStore<ParticipantCredit>(mongo, 'credit_records', plainCodec<ParticipantCredit>(), logger);
}

interface ScoreChangeDocument extends ScoreChange {
  _id: string;
}

export class ScoreHistory {
  private readonly collection: Collection<ScoreChangeDocument>;

  constructor(mongo: MongoConnection) {
    this.collection = mongo.collection<ScoreChangeDocument>('score_changes');
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ participantId: 1, role: 1, at: -1 });
  }

  async record(changes: readonly ScoreChange[]): Promise<void> {
    for (const change of changes) {
      try {
        await this.collection.insertOne({ _id: `${change.participantId}|${change.role}|${change.causeEventId}`, ...change });
      } catch (error) {
        if (!isDuplicateKeyError(error)) throw error;
      }
    }
  }

  /** Newest first; the cursor is the number of changes already returned. */
  async list(participantId: string, role: CreditRole | '', limit: number, skip: number): Promise<ScoreChange[]> {
    const documents = await this.collection.find({ participantId, role }).sort({ at: -1, _id: -1 }).skip(skip).limit(limit).toArray();
    return documents.map(({ _id, ...change }) => change);
  }
}
