/**
 * Where campaigns, pledges and backer positions live (docs/storage.md).
 *
 * - `campaigns`: one document per campaign: the definition and lifecycle in `state` (version-guarded
 *   writes) and the live totals in `counters` (guarded `$inc`, never touching `version`):
 *   `pledgedMinor`, `pledgesCount`, `backersCount` and `remaining_<tier index>` for limited tiers.
 * - `pledges`: one document per pledge; the pledge is the reservation.
 * - `campaign_backers`: one small document per (campaign, backer): the backer's active pledge ids
 *   (at most `pledgesPerBackerMax`), what makes a backer count once and caps their pledges, the
 *   records of their pledge sagas (active and ended entries, never deleted) and, once settled, the
 *   money they have in the campaign (their weight in milestone votes).
 * No document grows with the number of pledges a campaign takes.
 */
import { AggregateStore, type Counters, type ErrorCode, type ErrorDetails, type Logger, type MongoConnection, isDuplicateKeyError, money, plainCodec } from '@sizhong/kit';
import type { Collection, Filter, UpdateFilter } from 'mongodb';
import { Schema, type Model } from 'mongoose';
import { type Campaign, type CampaignTotals, endedPledgesPerBackerMax, type Pledge, type PledgePlan, pledgesPerBackerMax } from '../domain/campaign';

export function createCampaignStore(mongo: MongoConnection, logger: Logger): AggregateStore<Campaign> {
  return new AggregateStore<Campaign>(mongo, 'campaigns', plainCodec<Campaign>(), logger, { indexes: [{ 'state.state': 1 }] });
}

export function createPledgeStore(mongo: MongoConnection, logger: Logger): AggregateStore<Pledge> {
  return new AggregateStore<Pledge>(mongo, 'pledges', plainCodec<Pledge>(), logger, { indexes: [{ 'state.campaignId': 1, 'state.state': 1 }, { 'state.backerId': 1 }] });
}

/** The counter of a limited tier's units left. */
export function remainingCounter(campaign: Campaign, tierId: string): string {
  const index = campaign.tiers.findIndex((tier) => tier.id === tierId);
  if (index < 0) throw new Error(`campaign ${campaign.id} has no tier ${tierId}`);
  return `remaining_${index}`;
}

export function initialCounters(campaign: Campaign): Counters {
  const counters: Record<string, bigint | number> = { pledgedMinor: 0n, pledgesCount: 0, backersCount: 0 };
  campaign.tiers.forEach((tier, index) => {
    if (tier.quantity !== undefined) counters[`remaining_${index}`] = tier.quantity;
  });
  return counters;
}

export function totalsOf(campaign: Campaign, counters: Counters): CampaignTotals {
  const remainingByTier: Record<string, number> = {};
  campaign.tiers.forEach((tier, index) => {
    if (tier.quantity !== undefined) remainingByTier[tier.id] = Number(counters[`remaining_${index}`] ?? tier.quantity);
  });
  return {
    pledged: money(campaign.goal.currency, BigInt(counters['pledgedMinor'] ?? 0n)),
    pledgesCount: Number(counters['pledgesCount'] ?? 0),
    backersCount: Number(counters['backersCount'] ?? 0),
    remainingByTier,
  };
}

/** The counter changes of one pledge taking its place (sign 1) or giving it back (sign -1). */
export function pledgeIncrements(campaign: Campaign, plan: Pick<PledgePlan, 'amount' | 'tierId' | 'limitedTier'>, sign: 1 | -1, backersDelta: number): Counters {
  const increments: Record<string, bigint | number> = { pledgedMinor: BigInt(sign) * plan.amount.amountMinor, pledgesCount: sign };
  if (backersDelta !== 0) increments['backersCount'] = backersDelta;
  if (plan.limitedTier && plan.tierId !== undefined) increments[remainingCounter(campaign, plan.tierId)] = -sign;
  return increments;
}

/** A definite refusal a given-back pledge saga answers every same-key retry with. */
export interface PledgeRefusal {
  code: ErrorCode;
  message: string;
  details: ErrorDetails;
}

/** The steps of a pledge saga that can take effect before its pledge document is written. */
export type PledgeStepName = 'reserve' | 'hold';

/**
 * An active entry is a pledge saga that is running (no pledge document yet) or completed (its
 * pledge document exists: completion costs no write of its own).
 */
export interface PositionPledge {
  pledgeId: string;
  amountMinor: bigint;
  tierId?: string;
  /** When the saga began (the recovery sweep drives on those left unfinished). */
  startedAt?: Date;
}

/**
 * An ended entry, never removed: a saga being given back (`compensating`, with the refusal and
 * the steps that took effect) or given back, or a completed pledge later cancelled.
 */
export interface EndedPledge extends PositionPledge {
  state: 'compensating' | 'given_back' | 'cancelled';
  refusal?: PledgeRefusal;
  taken?: PledgeStepName[];
  /** The entry was the backer's last active one when it ended: they no longer count as a backer. */
  leftLast: boolean;
  endedAt: Date;
}

export interface BackerPositionDocument {
  _id: string;
  campaignId: string;
  backerId: string;
  /** Active pledge sagas, at most `pledgesPerBackerMax`. */
  pledges: PositionPledge[];
  /** Ended pledge sagas, at most `endedPledgesPerBackerMax` (absent on positions written before sagas were kept). */
  ended?: EndedPledge[];
  /** Set at settlement: the backer's collected money, their weight in milestone votes. */
  collectedMinor?: bigint;
}

const positionSchema = new Schema<BackerPositionDocument>(
  {
    _id: String,
    campaignId: { type: String, required: true },
    backerId: { type: String, required: true },
    pledges: [Schema.Types.Mixed],
    ended: [Schema.Types.Mixed],
    collectedMinor: Schema.Types.BigInt,
  },
  { versionKey: false, autoIndex: false, autoCreate: false },
);
positionSchema.index({ campaignId: 1 });

export type AddToPosition =
  | { kind: 'added'; firstOfBacker: boolean }
  /** The saga exists: still active (running or completed), or ended. */
  | { kind: 'present'; entry: PositionPledge }
  | { kind: 'ended'; entry: EndedPledge }
  | { kind: 'limit_reached' }
  | { kind: 'history_full' };

/** How often an add races a concurrently changing position before giving up (each try is one write). */
export const positionWriteAttemptsMax = 3;

/**
 * Positions change only by `_id`; a refusal costs one more read to say why. Each position is also
 * where its pledge sagas keep their records (docs/storage.md "Pledge sagas"): an entry is written
 * first, moves to `ended` when given back or cancelled, and is never deleted.
 */
export class BackerPositions {
  readonly collection: Collection<BackerPositionDocument>;
  private readonly model: Model<BackerPositionDocument>;

  constructor(mongo: MongoConnection) {
    this.collection = mongo.collection<BackerPositionDocument>('campaign_backers');
    this.model = (mongo.connection.models['campaign_backers'] as Model<BackerPositionDocument> | undefined) ?? mongo.connection.model<BackerPositionDocument>('campaign_backers', positionSchema, 'campaign_backers');
  }

  static idOf(campaignId: string, backerId: string): string {
    return `${campaignId}:${backerId}`;
  }

  async ensureIndexes(): Promise<void> {
    await this.model.createIndexes();
  }

  /**
   * Begins the pledge saga: adds its entry to the backer's position, within `pledgesPerBackerMax`
   * active and `endedPledgesPerBackerMax` ended entries, unless an entry of that id exists
   * (returned: the saga's record). One write; a refusal costs a read to say why.
   */
  async add(plan: Pick<PledgePlan, 'campaignId' | 'backerId' | 'pledgeId' | 'amount' | 'tierId'>, now: Date): Promise<AddToPosition> {
    const _id = BackerPositions.idOf(plan.campaignId, plan.backerId);
    const entry: PositionPledge = { pledgeId: plan.pledgeId, amountMinor: plan.amount.amountMinor, ...(plan.tierId === undefined ? {} : { tierId: plan.tierId }), startedAt: now };
    for (let attempt = 1; attempt <= positionWriteAttemptsMax; attempt += 1) {
      try {
        const before = await this.collection.findOneAndUpdate(
          {
            _id,
            'pledges.pledgeId': { $ne: plan.pledgeId },
            'ended.pledgeId': { $ne: plan.pledgeId },
            [`pledges.${pledgesPerBackerMax - 1}`]: { $exists: false },
            [`ended.${endedPledgesPerBackerMax - 1}`]: { $exists: false },
          } as Filter<BackerPositionDocument>,
          { $push: { pledges: entry }, $setOnInsert: { campaignId: plan.campaignId, backerId: plan.backerId } } as UpdateFilter<BackerPositionDocument>,
          { upsert: true, returnDocument: 'before', projection: { pledges: 1 } },
        );
        return { kind: 'added', firstOfBacker: before === null || before.pledges.length === 0 };
      } catch (error) {
        // The upsert met an existing document its filter refused: say why, or race again.
        if (!isDuplicateKeyError(error)) throw error;
        const current = await this.collection.findOne({ _id });
        const active = current?.pledges.find((pledge) => pledge.pledgeId === plan.pledgeId);
        if (active) return { kind: 'present', entry: active };
        const ended = current?.ended?.find((pledge) => pledge.pledgeId === plan.pledgeId);
        if (ended) return { kind: 'ended', entry: ended };
        if (current && current.pledges.length >= pledgesPerBackerMax) return { kind: 'limit_reached' };
        if (current && (current.ended?.length ?? 0) >= endedPledgesPerBackerMax) return { kind: 'history_full' };
      }
    }
    throw new Error(`backer position ${_id} kept changing`);
  }

  /**
   * Ends an active entry: moves it to `ended` in `state`, recording whether it was the backer's
   * last active one. One guarded write (two when the position changed in between); 'absent' when
   * the entry is not active (another driver ended it first).
   */
  async end(campaignId: string, backerId: string, pledgeId: string, change: Pick<EndedPledge, 'state' | 'refusal' | 'taken'>, now: Date): Promise<'ended' | 'absent'> {
    const _id = BackerPositions.idOf(campaignId, backerId);
    for (let attempt = 1; attempt <= positionWriteAttemptsMax * 2; attempt += 1) {
      const current = await this.collection.findOne({ _id }, { projection: { pledges: 1 } });
      const entry = current?.pledges.find((pledge) => pledge.pledgeId === pledgeId);
      if (!current || !entry) return 'absent';
      const leftLast = current.pledges.length === 1;
      // Guarded on the count of active entries it read, so `leftLast` is true of the write itself.
      const countGuard = leftLast ? { 'pledges.1': { $exists: false } } : { 'pledges.1': { $exists: true } };
      const ended: EndedPledge = { ...entry, ...change, leftLast, endedAt: now };
      const result = await this.collection.updateOne({ _id, 'pledges.pledgeId': pledgeId, ...countGuard } as Filter<BackerPositionDocument>, {
        $pull: { pledges: { pledgeId } },
        $push: { ended: ended },
      } as UpdateFilter<BackerPositionDocument>);
      if (result.matchedCount === 1) return 'ended';
    }
    throw new Error(`backer position ${_id} kept changing`);
  }

  /** compensating → given_back (terminal). */
  async givenBack(campaignId: string, backerId: string, pledgeId: string): Promise<void> {
    await this.collection.updateOne({ _id: BackerPositions.idOf(campaignId, backerId), 'ended.pledgeId': pledgeId } as Filter<BackerPositionDocument>, { $set: { 'ended.$.state': 'given_back' } } as UpdateFilter<BackerPositionDocument>);
  }

  /** The saga's record: its active or ended entry. */
  async entry(campaignId: string, backerId: string, pledgeId: string): Promise<{ kind: 'active'; entry: PositionPledge } | { kind: 'ended'; entry: EndedPledge } | undefined> {
    const position = await this.get(campaignId, backerId);
    const active = position?.pledges.find((pledge) => pledge.pledgeId === pledgeId);
    if (active) return { kind: 'active', entry: active };
    const ended = position?.ended?.find((pledge) => pledge.pledgeId === pledgeId);
    return ended ? { kind: 'ended', entry: ended } : undefined;
  }

  /**
   * Positions that may hold an unfinished pledge saga: an active entry begun in (after, upTo], or
   * an entry being given back, by `_id` after `afterId` (the recovery sweep's pages: a scan locally).
   */
  async withUnfinished(after: Date, upTo: Date, afterId: string, limit: number): Promise<BackerPositionDocument[]> {
    return this.collection
      .find({ _id: { $gt: afterId }, $or: [{ pledges: { $elemMatch: { startedAt: { $gt: after, $lte: upTo } } } }, { 'ended.state': 'compensating' }] } as Filter<BackerPositionDocument>, { limit, sort: { _id: 1 } })
      .toArray();
  }

  async get(campaignId: string, backerId: string): Promise<BackerPositionDocument | null> {
    return this.collection.findOne({ _id: BackerPositions.idOf(campaignId, backerId) });
  }

  /** Every position of a campaign (settlement only: a query that scans on the embedded server). */
  async ofCampaign(campaignId: string): Promise<BackerPositionDocument[]> {
    return this.collection.find({ campaignId }).toArray();
  }

  async setCollected(campaignId: string, collectedByBacker: ReadonlyMap<string, bigint>): Promise<void> {
    if (collectedByBacker.size === 0) return;
    await this.collection.bulkWrite(
      [...collectedByBacker].map(([backerId, collectedMinor]) => ({ updateOne: { filter: { _id: BackerPositions.idOf(campaignId, backerId) }, update: { $set: { collectedMinor } } } })),
      { ordered: false },
    );
  }
}
