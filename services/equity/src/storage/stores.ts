/**
 * Where rounds, commitments, investors and positions live (docs/storage.md).
 *
 * - `rounds`: one document per round: definition and lifecycle in `state` (version-guarded writes:
 *   creation, the lead joining or leaving, close) and the live totals in `counters` (guarded `$inc`):
 *   `committedMinor`, `investorsCount`, `leadPresent`. At close the allocation is written into the
 *   state once (bounded by the round's investorsMax).
 * - `commitments`: one document per commitment; the commitment is the reservation.
 * - `investors`: one document per investor: the sealed profile and the last 12 months' usage
 *   (bounded); only the investor's own commands write it.
 * - `round_positions`: one small document per (round, investor): their pending commitment ids,
 *   what makes an investor count once. (The commitment sagas' records are the kit's, in `equity_sagas`.)
 */
import { type AggregateDocument, AggregateStore, type Clock, type CounterOutcome, counterKeysKept, type Counters, type Logger, type MongoConnection, plainCodec } from '@sizhong/kit';
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

/** A commitment getting into a round (the fence: guarded by the open state and the deadline read now). */
export interface AdmissionWrite {
  readonly amountMinor: bigint;
  /** The investor's first pending commitment in the round: counts one more investor, within investorsMax. */
  readonly newInvestor: boolean;
  /** A lead joins in the same write: open_for_lead → open with its id (the fields `leadJoined` sets). */
  readonly lead?: { readonly investorId: string; readonly commitmentId: string };
}

/**
 * The round's guarded writes of commitments getting in and out, each one `updateOne` on the round
 * document, applied once per key. A lead's joining or leaving changes the round's state in the
 * same write as its counters (and moves the version, so the close's version-guarded writes see
 * it), so a lead's cancellation racing its own commitment cannot leave the round `open` without
 * a lead. Followers are admitted only while the round is `open` with its lead present, a lead only
 * while it is `open_for_lead`; never once the close has fenced it (`closing`).
 */
export class RoundAdmissions {
  constructor(
    private readonly rounds: AggregateStore<Round>,
    private readonly clock: Clock,
  ) {}

  /** Takes a commitment in: guarded by the state, `endsAt > now` (now read here), the cap, the lead and the investor count. */
  async admit(round: Pick<Round, 'id' | 'commitmentsCapMinor' | 'investorsMax'>, key: string, write: AdmissionWrite): Promise<CounterOutcome> {
    const now = this.clock.now();
    const guard: Filter<AggregateDocument> = {
      'state.state': write.lead ? 'open_for_lead' : 'open',
      'state.endsAt': { $gt: now },
      'counters.committedMinor': { $lte: round.commitmentsCapMinor - write.amountMinor },
      'counters.leadPresent': write.lead ? 0 : 1,
      ...(write.newInvestor ? { 'counters.investorsCount': { $lt: round.investorsMax } } : {}),
    };
    const increments: Counters = { committedMinor: write.amountMinor, ...(write.newInvestor ? { investorsCount: 1 } : {}), ...(write.lead ? { leadPresent: 1 } : {}) };
    const set = write.lead ? { 'state.state': 'open', 'state.leadId': write.lead.investorId, 'state.leadCommitmentId': write.lead.commitmentId } : {};
    return this.apply(round.id, key, increments, guard, set, {}, now);
  }

  /**
   * A cancellation takes a commitment out: guarded by the open states and `cancellableUntil > now`
   * (the cooling-off window, now read here). A lead's takes the round back to open_for_lead.
   */
  async cancel(roundId: string, key: string, write: { amountMinor: bigint; leadCommitmentId?: string }): Promise<CounterOutcome> {
    const now = this.clock.now();
    const guard: Filter<AggregateDocument> = {
      'state.state': write.leadCommitmentId ? 'open' : { $in: ['open_for_lead', 'open'] },
      'state.cancellableUntil': { $gt: now },
      ...(write.leadCommitmentId ? { 'state.leadCommitmentId': write.leadCommitmentId } : {}),
    };
    const increments: Counters = { committedMinor: -write.amountMinor, ...(write.leadCommitmentId ? { leadPresent: -1 } : {}) };
    const set = write.leadCommitmentId ? { 'state.state': 'open_for_lead' } : {};
    const unset: Record<string, ''> = write.leadCommitmentId ? { 'state.leadId': '', 'state.leadCommitmentId': '' } : {};
    return this.apply(roundId, key, increments, guard, set, unset, now);
  }

  /** An investor's last pending commitment in the round left: they no longer count. */
  async investorLeft(roundId: string, key: string): Promise<CounterOutcome> {
    return this.apply(roundId, key, { investorsCount: -1 }, {}, {}, {}, this.clock.now());
  }

  private async apply(roundId: string, key: string, increments: Counters, guard: Filter<AggregateDocument>, set: Record<string, unknown>, unset: Record<string, ''>, now: Date): Promise<CounterOutcome> {
    const inc: Record<string, bigint | number> = {};
    for (const [name, by] of Object.entries(increments)) inc[`counters.${name}`] = by;
    const changesState = Object.keys(set).length > 0 || Object.keys(unset).length > 0;
    const update: UpdateFilter<AggregateDocument> = {
      $inc: { ...inc, ...(changesState ? { version: 1 } : {}) },
      $push: { counterKeys: { $each: [key], $slice: -counterKeysKept } },
      $set: { ...set, updatedAt: now },
      ...(Object.keys(unset).length > 0 ? { $unset: unset } : {}),
    } as UpdateFilter<AggregateDocument>;
    const result = await this.rounds.collection.updateOne({ ...guard, _id: roundId, counterKeys: { $ne: key } } as Filter<AggregateDocument>, update);
    if (result.matchedCount === 1) return { kind: 'applied' };
    if (await this.rounds.hasCounterKey(roundId, key)) return { kind: 'already_applied' };
    return { kind: 'refused', current: await this.rounds.load(roundId) };
  }
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
