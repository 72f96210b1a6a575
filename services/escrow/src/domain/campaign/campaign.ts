/**
 * The campaign aggregate: one document, one atomic write per change (ARCHITECTURE.md §2).
 *
 *   draft ─launch→ live ─settle→ succeeded ─startDelivery→ delivering ─last milestone→ delivered
 *                      └─settle→ failed      └─(no milestones)──────────────────────→ delivered
 *                                                          delivering ─failDelivery→ delivery_failed
 *
 * The campaign keeps its active pledge reservations by pledge id. That list is what makes a
 * reservation idempotent (a retried saga step finds its own reservation), keeps `pledged`,
 * `backersCount` and each tier's `remaining` exact, and after success gives each backer's weight
 * in milestone acceptance votes.
 */
import type { Money } from '@sizhong/kit';

export type FundingModel = 'all_or_nothing' | 'keep_it_all';
export const fundingModels: readonly FundingModel[] = ['all_or_nothing', 'keep_it_all'];

export type CampaignState = Campaign['state'];

export interface Tier {
  /** `${campaignId}-t${index}`: derived, so a replayed create names the same tiers. */
  readonly id: string;
  readonly title: string;
  readonly price: Money;
  /** Units on offer; absent for an unlimited tier. */
  readonly quantity?: number;
  /** Units not reserved; present exactly when `quantity` is. */
  readonly remaining?: number;
}

/** A pledge's claim on the campaign: its money counts in `pledged` and it holds one tier unit. */
export interface PledgeReservation {
  readonly pledgeId: string;
  readonly backerId: string;
  readonly tierId?: string;
  readonly amount: Money;
  readonly reservedAt: Date;
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
  /** Backers who accepted; bounded by the campaign's distinct backers, dropped on release. */
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
  /** Sum of the active reservations' amounts. */
  readonly pledged: Money;
  /** Distinct backers among the active reservations. */
  readonly backersCount: number;
  readonly reservations: readonly PledgeReservation[];
  readonly createdAt: Date;
}

export interface DraftCampaign extends CampaignFields {
  readonly state: 'draft';
}

export interface LiveCampaign extends CampaignFields {
  readonly state: 'live';
  readonly launchedAt: Date;
}

export interface SucceededCampaign extends CampaignFields {
  readonly state: 'succeeded';
  readonly launchedAt: Date;
  readonly settledAt: Date;
}

export type CampaignFailureReason = 'goal_not_met' | 'no_pledges';

export interface FailedCampaign extends CampaignFields {
  readonly state: 'failed';
  readonly launchedAt: Date;
  readonly settledAt: Date;
  readonly failureReason: CampaignFailureReason;
}

export interface DeliveringCampaign extends CampaignFields {
  readonly state: 'delivering';
  readonly launchedAt: Date;
  readonly settledAt: Date;
  readonly payout: CampaignPayout;
}

export interface DeliveredCampaign extends CampaignFields {
  readonly state: 'delivered';
  readonly launchedAt: Date;
  readonly settledAt: Date;
  readonly payout: CampaignPayout;
  readonly deliveredAt: Date;
}

export interface DeliveryFailedCampaign extends CampaignFields {
  readonly state: 'delivery_failed';
  readonly launchedAt: Date;
  readonly settledAt: Date;
  readonly payout: CampaignPayout;
  readonly deliveryFailedAt: Date;
  /** Net money never released to the creator; it goes back to the backers pro rata. */
  readonly refundAmount: Money;
}

export type Campaign =
  | DraftCampaign
  | LiveCampaign
  | SucceededCampaign
  | FailedCampaign
  | DeliveringCampaign
  | DeliveredCampaign
  | DeliveryFailedCampaign;

export function findTier(campaign: Campaign, tierId: string): Tier | undefined {
  return campaign.tiers.find((tier) => tier.id === tierId);
}

export function findReservation(campaign: Campaign, pledgeId: string): PledgeReservation | undefined {
  return campaign.reservations.find((reservation) => reservation.pledgeId === pledgeId);
}

/** The tier id rule: the campaign id, `-t`, and the tier's position from 0. */
export function tierIdFor(campaignId: string, index: number): string {
  return `${campaignId}-t${index}`;
}
