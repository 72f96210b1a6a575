/**
 * Risk storage: the rules' states (one document per rule and key, version-guarded writes), the
 * alerts (one aggregate each, with the RiskAlertRaised event in its outbox, and a feed sequence
 * number), and the counters that number the feed (guarded increments).
 */
import { AggregateStore, type Logger, type MongoConnection, plainCodec } from '@sizhong/kit';
import type { Collection } from 'mongodb';
import type { AlertDraft } from '../domain/risk/rule';

export interface RuleState {
  readonly data: unknown;
  /** Ids of the last events applied to this state (a retried event is recognised). */
  readonly applied: readonly string[];
}

export const ruleStateAppliedKept = 64;

/** One collection per rule (`risk_state_<rule id>`): the server serialises writes per collection, so rules do not queue behind each other. */
export function createRuleStateStore(mongo: MongoConnection, logger: Logger, ruleId: string): AggregateStore<RuleState> {
  return new AggregateStore<RuleState>(mongo, `risk_state_${ruleId.toLowerCase()}`, plainCodec<RuleState>(), logger);
}

export interface StoredAlert extends AlertDraft {
  readonly id: string;
  /** Position in the feed, from 1. */
  readonly seq: number;
  readonly raisedAt: Date;
}

export function createAlertStore(mongo: MongoConnection, logger: Logger): AggregateStore<StoredAlert> {
  return new AggregateStore<StoredAlert>(mongo, 'risk_alerts', plainCodec<StoredAlert>(), logger, { indexes: [{ 'state.seq': 1 }] });
}

interface CounterDocument {
  _id: string;
  value: number;
}

export class Counters {
  private readonly collection: Collection<CounterDocument>;

  constructor(mongo: MongoConnection) {
    this.collection = mongo.collection<CounterDocument>('risk_counters');
  }

  /** The next value of a counter (1, 2, …): one guarded increment by _id. */
  async next(name: string): Promise<number> {
    const updated = await this.collection.findOneAndUpdate({ _id: name }, { $inc: { value: 1 } }, { upsert: true, returnDocument: 'after' });
    if (!updated) throw new Error(`counter ${name} did not answer`);
    return updated.value;
  }

  async current(name: string): Promise<number> {
    return (await this.collection.findOne({ _id: name }))?.value ?? 0;
  }
}
