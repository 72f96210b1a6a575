/**
 * The population random inspections draw from: campaigns, tasks and rounds credit has seen opened
 * (one document each, `_id` = kind:id, inserted once), and participants (the credit records).
 */
import { isDuplicateKeyError, type MongoConnection } from '@sizhong/kit';
import type { Collection } from 'mongodb';
import type { InspectionSubject } from '../domain/inspection';

interface SubjectDocument {
  _id: string;
  kind: string;
  id: string;
}

export class Subjects {
  private readonly collection: Collection<SubjectDocument>;
  private readonly records: Collection<{ _id: string }>;

  constructor(mongo: MongoConnection) {
    this.collection = mongo.collection<SubjectDocument>('inspection_subjects');
    this.records = mongo.collection<{ _id: string }>('credit_records');
  }

  async remember(subject: InspectionSubject): Promise<void> {
    try {
      await this.collection.insertOne({ _id: `${subject.kind}:${subject.id}`, kind: subject.kind, id: subject.id });
    } catch (error) {
      if (!isDuplicateKeyError(error)) throw error;
    }
  }

  /** Everything of these kinds, as it is now (a scan; draws are rare). */
  async population(kinds: readonly string[], limit: number): Promise<InspectionSubject[]> {
    const subjects: InspectionSubject[] = [];
    const others = kinds.filter((kind) => kind !== 'participant');
    if (others.length > 0) {
      for (const document of await this.collection.find({ kind: { $in: others } }).limit(limit + 1).toArray()) subjects.push({ kind: document.kind as InspectionSubject['kind'], id: document.id });
    }
    if (kinds.includes('participant')) {
      for (const document of await this.records.find({}, { projection: { _id: 1 } }).limit(limit + 1).toArray()) subjects.push({ kind: 'participant', id: document._id });
    }
    return subjects;
  }
}

/** The subject an event opens, if any. */
export function subjectOpenedBy(type: string, aggregateId: string): InspectionSubject | undefined {
  if (type === 'CampaignLaunched') return { kind: 'campaign', id: aggregateId };
  if (type === 'TaskPosted') return { kind: 'task', id: aggregateId };
  if (type === 'RoundOpened') return { kind: 'round', id: aggregateId };
  return undefined;
}
