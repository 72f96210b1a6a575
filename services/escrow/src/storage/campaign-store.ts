/**
 * Where campaigns, pledges and backer positions live (ARCHITECTURE.md §2).
 *
 * - `campaigns`: one document per campaign: the definition and lifecycle in `state` (version-guarded
 *   writes) and the live totals in `counters` (guarded `$inc`, never touching `version`):
 *   `pledgedMinor`, `pledgesCount`, `backersCount` and `remaining_<tier index>` for limited tiers.
 * - `pledges`: one document per pledge; the pledge is the reservation.
 * - `campaign_backers`: one small document per (campaign, backer): the backer's active pledge ids
 *   (at most `pledgesPerBackerMax`), what makes a backer count once and caps their pledges, and,
 *   once settled, the money they have in the campaign (their weight in milestone votes).
 * No document grows with the number of pledges a campaign takes.
 */
import { AggregateStore, type Counters, type Logger, type MongoConnection, isDuplicateKeyError, money, plainCodec } from '@sizhong/kit';
import type { Collection, Filter, UpdateFilter } from 'mongodb';
import { Schema, type Model } from 'mongoose';
import { type Campaign, type CampaignTotals, type Pledge, type PledgePlan, pledgesPerBackerMax } from '../domain/campaign';

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

interface PositionPledge {
  pledgeId: string;
  amountMinor: bigint;
  tierId?: string;
}

export interface BackerPositionDocument {
  _id: string;
  campaignId: string;
  backerId: string;
  pledges: PositionPledge[];
  /** Set at settlement: the backer's collected money, their weight in milestone votes. */
  collectedMinor?: bigint;
}

const positionSchema = new Schema<BackerPositionDocument>(
  {
    _id: String,
    campaignId: { type: String, required: true },
    backerId: { type: String, required: true },
    pledges: [Schema.Types.Mixed],
    collectedMinor: Schema.Types.BigInt,
  },
  { versionKey: false, autoIndex: false, autoCreate: false },
);
positionSchema.index({ campaignId: 1 });

export type AddToPosition = 'added_first' | 'added' | 'present' | 'limit_reached';

/** Positions change only by `_id`; a refusal costs one more read to say why. */
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
   * Adds the pledge to the backer's position, within `pledgesPerBackerMax` active pledges.
   * `added_first` when the backer had none before (they count as a new backer).
   */
  async add(plan: Pick<PledgePlan, 'campaignId' | 'backerId' | 'pledgeId' | 'amount' | 'tierId'>): Promise<AddToPosition> {
    const _id = BackerPositions.idOf(plan.campaignId, plan.backerId);
    const entry: PositionPledge = { pledgeId: plan.pledgeId, amountMinor: plan.amount.amountMinor, ...(plan.tierId === undefined ? {} : { tierId: plan.tierId }) };
    for (let attempt = 1; attempt <= 3; attempt += 1) {
      try {
        const before = await this.collection.findOneAndUpdate(
          { _id, 'pledges.pledgeId': { $ne: plan.pledgeId }, [`pledges.${pledgesPerBackerMax - 1}`]: { $exists: false } } as Filter<BackerPositionDocument>,
          { $push: { pledges: entry }, $setOnInsert: { campaignId: plan.campaignId, backerId: plan.backerId } } as UpdateFilter<BackerPositionDocument>,
          { upsert: true, returnDocument: 'before', projection: { pledges: 1 } },
        );
        return before === null || before.pledges.length === 0 ? 'added_first' : 'added';
      } catch (error) {
        // The upsert met an existing document its filter refused: say why, or race again.
        if (!isDuplicateKeyError(error)) throw error;
        const current = await this.collection.findOne({ _id });
        if (current?.pledges.some((pledge) => pledge.pledgeId === plan.pledgeId)) return 'present';
        if (current && current.pledges.length >= pledgesPerBackerMax) return 'limit_reached';
      }
    }
    throw new Error(`backer position ${_id} kept changing`);
  }

  /** Removes the pledge; 'emptied' when it was the backer's last one (they no longer count as a backer). */
  async remove(campaignId: string, backerId: string, pledgeId: string): Promise<'removed' | 'emptied' | 'absent'> {
    const after = await this.collection.findOneAndUpdate(
      { _id: BackerPositions.idOf(campaignId, backerId), 'pledges.pledgeId': pledgeId },
      { $pull: { pledges: { pledgeId } } } as UpdateFilter<BackerPositionDocument>,
      { returnDocument: 'after', projection: { pledges: 1 } },
    );
    if (after === null) return 'absent';
    return after.pledges.length === 0 ? 'emptied' : 'removed';
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
