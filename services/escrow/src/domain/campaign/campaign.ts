/**
 * The campaign aggregate: one document, one atomic write per change (docs/storage.md).
 *
 *   draft ─launch→ live ─close→ closing ─settle→ succeeded ─startDelivery→ delivering ─last milestone→ delivered
 *                                       └─settle→ failed      └─(no milestones)──────────────────────→ delivered
 *                                                          delivering ─failDelivery→ delivery_failed
 *
 * The document holds the campaign's definition and lifecycle, changed by version-guarded writes.
 * What many backers change at once lives beside it as counters changed by guarded `$inc`
 * (`CampaignTotals`: money pledged, pledges, backers, units left per limited tier), and each pledge
 * is its own document, which is the reservation. So the campaign never grows with its pledges and
 * pledges on one campaign never serialise behind one another's rewrites. The rules that depend on
 * the live totals are guards the storage evaluates in the same write that changes them (see
 * plan-pledge.ts and cancellation.ts); the domain takes totals as input where it decides on them.
 *
 * `closing` is the deadline's fence: settlement's first write moves a live campaign there, and
 * every pledge and cancellation write is guarded on `live`, so none lands after the books are
 * read, whatever the clock of the replica taking it says.
 */
import { money, type Money } from '@sizhong/kit/domain';

export type FundingModel = 'all_or_nothing' | 'keep_it_all';
export const fundingModels: readonly FundingModel[] = ['all_or_nothing', 'keep_it_all'];

export type CampaignState = Campaign['state'];

export interface Tier {
  /** `${campaignId}-t${index}`: derived, so a replayed create names the same tiers. */
  readonly id: string;
  readonly title: string;
  readonly price: Money;
  /** Units on offer; absent for an unlimited tier. The units left are a counter (`CampaignTotals`). */
  readonly quantity?: number;
}

/**
 * The live totals of a campaign's active (placed, not cancelled) pledges, kept by the storage as
 * counters beside the campaign document and changed only by guarded increments. Rules that need
 * them take them as input; the storage's guards apply the same rules atomically.
 */
export interface CampaignTotals {
  readonly pledged: Money;
  readonly pledgesCount: number;
  /** Distinct backers among the active pledges (a backer with two pledges counts once). */
  readonly backersCount: number;
  /** Tier id → units left, only for tiers with a quantity. */
  readonly remainingByTier: Readonly<Record<string, number>>;
}

/**
 * The facts a campaign's outcome was decided on: its pending pledges once it stopped taking new
 * ones. Fixed at settlement, so the published outcome, the settlement plan and the payout agree.
 */
export interface SettledTotals {
  readonly pledged: Money;
  readonly pledgesCount: number;
  readonly backersCount: number;
}

interface MilestoneFields {
  /** Position in the campaign, from 0 (the `{n}` of the API paths). */
  readonly index: number;
  readonly title: string;
  readonly shareBps: number;
  readonly dueAt: Date;
}

/** Before delivery starts: the amount is not known until settlement. */
export interface PlannedMilestone extends MilestoneFields {
  readonly state: 'planned';
}

/** Delivery started; an earlier milestone is still open. */
export interface WaitingMilestone extends MilestoneFields {
  readonly state: 'waiting';
  readonly amount: Money;
}

/** The one milestone backers can accept now. */
export interface OpenMilestone extends MilestoneFields {
  readonly state: 'open';
  readonly amount: Money;
  readonly openedAt: Date;
  /**
   * Backers who accepted, dropped on release. Grows with the accepting backers of the one open
   * milestone (see README "Decisions" on its bound).
   */
  readonly acceptedBackerIds: readonly string[];
  /** Collected money of the backers who accepted: their weight in the vote. */
  readonly acceptedAmount: Money;
  readonly overdueReportedAt?: Date;
}

export type MilestoneReleaseReason = 'backer_acceptance' | 'silence';

export interface ReleasedMilestone extends MilestoneFields {
  readonly state: 'released';
  readonly amount: Money;
  readonly openedAt: Date;
  readonly releasedAt: Date;
  readonly releaseReason: MilestoneReleaseReason;
  readonly acceptedBackersCount: number;
  readonly acceptedAmount: Money;
  readonly overdueReportedAt?: Date;
}

/** Never released: its amount went back to the backers after the creator failed to deliver. */
export interface RefundedMilestone extends MilestoneFields {
  readonly state: 'refunded';
  readonly amount: Money;
  readonly refundedAt: Date;
}

export type Milestone = PlannedMilestone | WaitingMilestone | OpenMilestone | ReleasedMilestone | RefundedMilestone;

/** What settlement moved: fixed when delivery starts. `collected = fee + net`. */
export interface CampaignPayout {
  readonly collected: Money;
  readonly fee: Money;
  readonly net: Money;
  readonly startedAt: Date;
}

interface CampaignFields {
  readonly id: string;
  readonly creatorId: string;
  readonly title: string;
  readonly description: string;
  readonly goal: Money;
  readonly fundingModel: FundingModel;
  readonly endsAt: Date;
  readonly deliveryDate: Date;
  readonly tiers: readonly Tier[];
  readonly milestones: readonly Milestone[];
  readonly createdAt: Date;
}

/** Every campaign past `live` keeps the totals its outcome was decided on. */
interface SettledFields extends LaunchedFields {
  readonly settledAt: Date;
  readonly settled: SettledTotals;
}

export interface DraftCampaign extends CampaignFields {
  readonly state: 'draft';
}

/** Fixed when the campaign goes live and kept through every later state. */
interface LaunchedFields {
  readonly launchedAt: Date;
  /**
   * The platform fee charged at settlement, fixed at launch so a configuration change never
   * reprices a running campaign. Absent on campaigns launched before it was recorded: those are
   * charged the configured fee of the settling service.
   */
  readonly feeBps?: number;
}

export interface LiveCampaign extends CampaignFields, LaunchedFields {
  readonly state: 'live';
}

/** Past the deadline: taking no pledge or cancellation while settlement closes the books. */
export interface ClosingCampaign extends CampaignFields, LaunchedFields {
  readonly state: 'closing';
  readonly closingAt: Date;
}

export interface SucceededCampaign extends CampaignFields, SettledFields {
  readonly state: 'succeeded';
}

export type CampaignFailureReason = 'goal_not_met' | 'no_pledges';

export interface FailedCampaign extends CampaignFields, SettledFields {
  readonly state: 'failed';
  readonly failureReason: CampaignFailureReason;
}

export interface DeliveringCampaign extends CampaignFields, SettledFields {
  readonly state: 'delivering';
  readonly payout: CampaignPayout;
}

export interface DeliveredCampaign extends CampaignFields, SettledFields {
  readonly state: 'delivered';
  readonly payout: CampaignPayout;
  readonly deliveredAt: Date;
}

export interface DeliveryFailedCampaign extends CampaignFields, SettledFields {
  readonly state: 'delivery_failed';
  readonly payout: CampaignPayout;
  readonly deliveryFailedAt: Date;
  /** Net money never released to the creator; it goes back to the backers pro rata. */
  readonly refundAmount: Money;
}

export type Campaign =
  | DraftCampaign
  | LiveCampaign
  | ClosingCampaign
  | SucceededCampaign
  | FailedCampaign
  | DeliveringCampaign
  | DeliveredCampaign
  | DeliveryFailedCampaign;

export function findTier(campaign: Campaign, tierId: string): Tier | undefined {
  return campaign.tiers.find((tier) => tier.id === tierId);
}

/** The totals of a campaign nobody has pledged to yet: what the storage writes as its first counters. */
export function initialTotals(campaign: Campaign): CampaignTotals {
  const remainingByTier: Record<string, number> = {};
  for (const tier of campaign.tiers) {
    if (tier.quantity !== undefined) remainingByTier[tier.id] = tier.quantity;
  }
  return { pledged: money(campaign.goal.currency, 0n), pledgesCount: 0, backersCount: 0, remainingByTier };
}

/** The tier id rule: the campaign id, `-t`, and the tier's position from 0. */
export function tierIdFor(campaignId: string, index: number): string {
  return `${campaignId}-t${index}`;
}
