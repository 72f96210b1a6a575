/**
 * Facts the campaign and pledge aggregates publish through their outbox. Each carries what its
 * consumers need without loading anything (credit scoring, risk rules, the regulator feed): the
 * ids, both participants, the amounts and `occurredAt`. The app layer adds the envelope (event id,
 * aggregate version) when it writes the outbox.
 */
import type { Money } from '@sizhong/kit/domain';
import type { CampaignFailureReason, FundingModel, MilestoneReleaseReason } from './campaign';

interface CampaignEventFields {
  readonly campaignId: string;
  readonly creatorId: string;
  readonly occurredAt: Date;
}

export interface CampaignCreated extends CampaignEventFields {
  readonly type: 'CampaignCreated';
  readonly goal: Money;
  readonly fundingModel: FundingModel;
  readonly endsAt: Date;
  readonly tiersCount: number;
  readonly milestonesCount: number;
}

export interface CampaignLaunched extends CampaignEventFields {
  readonly type: 'CampaignLaunched';
  readonly goal: Money;
  readonly fundingModel: FundingModel;
  readonly endsAt: Date;
  readonly deliveryDate: Date;
}

/** `pledged`, `pledgesCount` and `backersCount` are the settled totals the outcome was decided on. */
export interface CampaignSucceeded extends CampaignEventFields {
  readonly type: 'CampaignSucceeded';
  readonly fundingModel: FundingModel;
  readonly goal: Money;
  readonly pledged: Money;
  readonly pledgesCount: number;
  readonly backersCount: number;
}

/** `pledged`, `pledgesCount` and `backersCount` are the settled totals the outcome was decided on. */
export interface CampaignFailed extends CampaignEventFields {
  readonly type: 'CampaignFailed';
  readonly fundingModel: FundingModel;
  readonly reason: CampaignFailureReason;
  readonly goal: Money;
  readonly pledged: Money;
  readonly pledgesCount: number;
  readonly backersCount: number;
}

export interface CampaignDeliveryStarted extends CampaignEventFields {
  readonly type: 'CampaignDeliveryStarted';
  readonly collected: Money;
  readonly fee: Money;
  readonly net: Money;
  readonly milestoneAmounts: readonly Money[];
}

/** The whole net amount released at once: the campaign has no delivery milestones. */
export interface CampaignPayoutReleased extends CampaignEventFields {
  readonly type: 'CampaignPayoutReleased';
  readonly amount: Money;
}

export interface MilestoneAccepted extends CampaignEventFields {
  readonly type: 'MilestoneAccepted';
  readonly milestoneIndex: number;
  readonly backerId: string;
  readonly backerWeight: Money;
  readonly acceptedAmount: Money;
  readonly collected: Money;
}

export interface MilestoneReleased extends CampaignEventFields {
  readonly type: 'MilestoneReleased';
  readonly milestoneIndex: number;
  readonly amount: Money;
  readonly reason: MilestoneReleaseReason;
  readonly dueAt: Date;
}

export interface DeliveryOverdue extends CampaignEventFields {
  readonly type: 'DeliveryOverdue';
  readonly milestoneIndex: number;
  readonly dueAt: Date;
  readonly amount: Money;
}

export interface CampaignDelivered extends CampaignEventFields {
  readonly type: 'CampaignDelivered';
  readonly released: Money;
  /** 0 when the campaign had no milestones: the payout was immediate, nothing was verified. */
  readonly milestonesCount: number;
  readonly deliveryDate: Date;
}

export interface CampaignDeliveryFailed extends CampaignEventFields {
  readonly type: 'CampaignDeliveryFailed';
  readonly released: Money;
  readonly refundAmount: Money;
  readonly milestonesReleasedCount: number;
  readonly milestonesRefundedCount: number;
}

export type CampaignEvent =
  | CampaignCreated
  | CampaignLaunched
  | CampaignSucceeded
  | CampaignFailed
  | CampaignDeliveryStarted
  | CampaignPayoutReleased
  | MilestoneAccepted
  | MilestoneReleased
  | DeliveryOverdue
  | CampaignDelivered
  | CampaignDeliveryFailed;

interface PledgeEventFields {
  readonly pledgeId: string;
  readonly campaignId: string;
  readonly creatorId: string;
  readonly backerId: string;
  readonly tierId?: string;
  readonly amount: Money;
  readonly transferId: string;
  readonly occurredAt: Date;
}

export interface PledgePlaced extends PledgeEventFields {
  readonly type: 'PledgePlaced';
}

export interface PledgeCancelled extends PledgeEventFields {
  readonly type: 'PledgeCancelled';
}

export interface PledgeCollected extends PledgeEventFields {
  readonly type: 'PledgeCollected';
}

export type PledgeRefundReason = 'campaign_failed' | 'delivery_failed';

export interface PledgeRefunded extends PledgeEventFields {
  readonly type: 'PledgeRefunded';
  readonly reason: PledgeRefundReason;
  /** The whole amount when the campaign failed (the hold is voided); a pro-rata share after a delivery failure. */
  readonly refundedAmount: Money;
}

export type PledgeEvent = PledgePlaced | PledgeCancelled | PledgeCollected | PledgeRefunded;
