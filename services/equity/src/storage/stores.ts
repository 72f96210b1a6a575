/**
 * Where rounds, commitments, investors and positions live (ARCHITECTURE.md §2).
 *
 * - `rounds`: one document per round: definition and lifecycle in `state` (version-guarded writes:
 *   creation, the lead joining or leaving, close) and the live totals in `counters` (guarded `$inc`):
 *   `committedMinor`, `investorsCount`, `leadPresent`. At close the allocation is written into the
 *   state once (bounded by the round's investorsMax).
 * - `commitments`: one document per commitment; the commitment is the reservation.
 * - `investors`: one document per investor: the sealed profile and the last 12 months' usage
 *   (bounded); only the investor's own commands write it.
 * - `round_positions`: one small document per (round, investor): their pending commitment ids,
 *   what makes an investor count once, and the saga's durable record of a commitment under way.
 */
import { AggregateStore, type Counters, type Logger, type MongoConnection, plainCodec } from '@sizhong/kit';
import type { Collection, Filter, UpdateFilter } from 'mongodb';
import type { Commitment, Investor, Round, RoundTotals } from '../domain';
import { commitmentsPerInvestorPerRoundMax } from '../domain';

export function createRoundStore(mongo: MongoConnection, logger: Logger): AggregateStore<Round> {
  return new AggregateStore<Round>(mongo, 'rounds', plainCodec<Round>(), logger, { indexes: [{ 'state.state': 1 }] });
}

export function createCommitmentStore(mongo: MongoConnection, logger: Logger): AggregateStore<Commitment> {
  return new AggregateStore<Commitment>(mongo, 'commitments', plainCodec<Commitment>(), logger, { indexes: [{ 'state.roundId': 1 }, { 'state.investorId': 1 }] });
}

export function createInvestorStore(mongo: MongoConnection, logger: Logger): AggregateStore<Investor> {
  return new AggregateStore<Investor>(mongo, 'investors', plainCodec<Investor>(), logger);
}

export const initialRoundCounters: Counters = { committedMinor: 0n, investorsCount: 0, leadPresent: 0 };

export function totalsOf(counters: Counters): RoundTotals {
  return { committedMinor: BigInt(counters['committedMinor'] ?? 0n), investorsCount: Number(counters['investorsCount'] ?? 0), leadPresent: Number(counters['leadPresent'] ?? 0) > 0 };
}

export interface PositionEntry {
  commitmentId: string;
  amountMinor: bigint;
  role: 'lead' | 'follower';
  placedAt: Date;
}

export interface PositionDocument {
  _id: string;
  roundId: string;
  investorId: string;
  commitments: PositionEntry[];
}

export type AddToPosition = 'added_first' | 'added' | 'present' | 'limit_reached';

/** Positions change only by `_id` (one findOneAndUpdate); a refusal costs one more read to say why. */
export class RoundPositions {
  readonly collection: Collection<PositionDocument>;

  constructor(mongo: MongoConnection) {
    this.collection = mongo.collection<PositionDocument>('round_positions');
  }

  static idOf(roundId: string, investorId: string): string {
    return `${roundId}:${investorId}`;
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ roundId: 1 });
  }

  async add(roundId: string, investorId: string, entry: PositionEntry): Promise<AddToPosition> {
    const _id = RoundPositions.idOf(roundId, investorId);
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      try {
        const before = await this.collection.findOneAndUpdate(
          { _id, 'commitments.commitmentId': { $ne: entry.commitmentId }, [`commitments.${commitmentsPerInvestorPerRoundMax - 1}`]: { $exists: false } } as Filter<PositionDocument>,
          { $push: { commitments: entry }, $setOnInsert: { roundId, investorId } } as UpdateFilter<PositionDocument>,
          { upsert: true, returnDocument: 'before' },
        );
        return before === null || before.commitments.length === 0 ? 'added_first' : 'added';
      } catch (error) {
        // The guard failed on an existing document, so the upsert tried to insert a duplicate _id.
        if ((error as { code?: number }).code !== 11000) throw error;
        const existing = await this.collection.findOne({ _id });
        if (existing?.commitments.some((each) => each.commitmentId === entry.commitmentId)) return 'present';
        if (existing && existing.commitments.length >= commitmentsPerInvestorPerRoundMax) return 'limit_reached';
      }
    }
    return 'present';
  }

  /** Takes a commitment off; 'emptied' when it was the investor's last one in the round (they no longer count). */
  async remove(roundId: string, investorId: string, commitmentId: string): Promise<'emptied' | 'removed' | 'absent'> {
    const before = await this.collection.findOneAndUpdate(
      { _id: RoundPositions.idOf(roundId, investorId), 'commitments.commitmentId': commitmentId } as Filter<PositionDocument>,
      { $pull: { commitments: { commitmentId } } } as UpdateFilter<PositionDocument>,
      { returnDocument: 'before' },
    );
    if (!before) return 'absent';
    return before.commitments.length === 1 ? 'emptied' : 'removed';
  }

  async get(roundId: string, investorId: string): Promise<PositionDocument | null> {
    return this.collection.findOne({ _id: RoundPositions.idOf(roundId, investorId) });
  }

  /** Every position of a round (close and cap-table visibility: a scan on the embedded server). */
  async ofRound(roundId: string): Promise<PositionDocument[]> {
    return this.collection.find({ roundId }).toArray();
  }
}
