/**
 * createCampaign: a creator's command becomes a draft, or a refusal naming the first bad field.
 * Checks run in the order of the command's fields so a client fixes them top to bottom.
 */
import { assert, isCurrencyCode, type Money } from '@sizhong/kit/domain';
import { fundingModels, tierIdFor, type DraftCampaign, type FundingModel, type PlannedMilestone, type Tier } from './campaign';
import type { CampaignCreated, CampaignEvent } from './events';
import {
  campaignAmountMinorMax,
  descriptionLengthMax,
  milestonesPerCampaignMax,
  tierQuantityMax,
  tiersPerCampaignMax,
  titleLengthMax,
} from './limits';
import { assertCampaignPolicy, type CampaignPolicy } from './policy';
import { isValidDate, refuse, textLength } from './rules';

export interface CreateCampaignTier {
  readonly title: string;
  readonly price: Money;
  readonly quantity?: number;
}

export interface CreateCampaignMilestone {
  readonly title: string;
  readonly shareBps: number;
  readonly dueAt: Date;
}

export interface CreateCampaignCommand {
  /** Derived by the app layer from the creator's idempotency key. */
  readonly campaignId: string;
  readonly creatorId: string;
  readonly title: string;
  readonly description: string;
  readonly goal: Money;
  readonly fundingModel: FundingModel;
  readonly endsAt: Date;
  readonly deliveryDate: Date;
  readonly tiers: readonly CreateCampaignTier[];
  readonly milestones?: readonly CreateCampaignMilestone[];
}

export function createCampaign(
  command: CreateCampaignCommand,
  now: Date,
  policy: CampaignPolicy,
): { campaign: DraftCampaign; events: CampaignEvent[] } {
  assertCampaignPolicy(policy);
  // Both ids come from the app layer (idempotency key, caller identity), never from the client.
  assert(command.campaignId.length > 0, 'createCampaign needs a campaignId');
  assert(command.creatorId.length > 0, 'createCampaign needs a creatorId');

  const title = checkedText(command.title, 'title', titleLengthMax);
  const description = checkedText(command.description, 'description', descriptionLengthMax);
  checkAmount(command.goal, 'goal', command.goal.currency);
  if (!(fundingModels as readonly string[]).includes(command.fundingModel)) {
    refuse('INVALID_ARGUMENT', `fundingModel must be one of ${fundingModels.join(', ')}`, { field: 'fundingModel' });
  }
  checkSchedule(command, now, policy);
  const tiers = checkedTiers(command);
  const milestones = checkedMilestones(command, policy);

  const campaign: DraftCampaign = {
    id: command.campaignId,
    creatorId: command.creatorId,
    state: 'draft',
    title,
    description,
    goal: command.goal,
    fundingModel: command.fundingModel,
    endsAt: command.endsAt,
    deliveryDate: command.deliveryDate,
    tiers,
    milestones,
    createdAt: now,
  };
  const created: CampaignCreated = {
    type: 'CampaignCreated',
    campaignId: campaign.id,
    creatorId: campaign.creatorId,
    occurredAt: now,
    goal: campaign.goal,
    fundingModel: campaign.fundingModel,
    endsAt: campaign.endsAt,
    tiersCount: tiers.length,
    milestonesCount: milestones.length,
  };
  return { campaign, events: [created] };
}

/** Refuses an `endsAt` too close or too far for the policy; shared with launch, where time has moved. */
export function durationRefusal(endsAt: Date, now: Date, policy: CampaignPolicy): string | undefined {
  const durationMs = endsAt.getTime() - now.getTime();
  if (durationMs < policy.durationMinMs) return `endsAt must be at least ${policy.durationMinMs} ms from now`;
  if (durationMs > policy.durationMaxMs) return `endsAt must be at most ${policy.durationMaxMs} ms from now`;
  return undefined;
}

function checkedText(text: string, field: string, lengthMax: number): string {
  const trimmed = text.trim();
  if (trimmed.length === 0) refuse('INVALID_ARGUMENT', `${field} must not be empty`, { field });
  if (textLength(trimmed) > lengthMax) refuse('LIMIT_EXCEEDED', `${field} must be at most ${lengthMax} characters`, { field, max: lengthMax });
  return trimmed;
}

function checkAmount(amount: Money, field: string, currency: string): void {
  if (!isCurrencyCode(amount.currency)) refuse('INVALID_ARGUMENT', `${field}.currency must be a three-letter ISO 4217 code`, { field: `${field}.currency` });
  if (amount.currency !== currency) {
    refuse('CURRENCY_MISMATCH', `${field} is in ${amount.currency} but the goal is in ${currency}`, { field: `${field}.currency` });
  }
  if (amount.amountMinor <= 0n) refuse('INVALID_ARGUMENT', `${field} must be positive`, { field: `${field}.amountMinor` });
  if (amount.amountMinor > campaignAmountMinorMax) {
    refuse('LIMIT_EXCEEDED', `${field} must be at most ${campaignAmountMinorMax} minor units`, {
      field: `${field}.amountMinor`,
      max: campaignAmountMinorMax.toString(),
    });
  }
}

function checkSchedule(command: CreateCampaignCommand, now: Date, policy: CampaignPolicy): void {
  if (!isValidDate(command.endsAt)) refuse('INVALID_ARGUMENT', 'endsAt must be a valid time', { field: 'endsAt' });
  if (!isValidDate(command.deliveryDate)) refuse('INVALID_ARGUMENT', 'deliveryDate must be a valid time', { field: 'deliveryDate' });
  const durationProblem = durationRefusal(command.endsAt, now, policy);
  if (durationProblem !== undefined) refuse('INVALID_ARGUMENT', durationProblem, { field: 'endsAt' });
  checkAfterEnd(command.deliveryDate, command.endsAt, 'deliveryDate', policy);
}

/** Delivery dates and milestone due dates lie after the end and within the delivery horizon. */
function checkAfterEnd(instant: Date, endsAt: Date, field: string, policy: CampaignPolicy): void {
  if (instant.getTime() <= endsAt.getTime()) refuse('INVALID_ARGUMENT', `${field} must be after endsAt`, { field });
  if (instant.getTime() - endsAt.getTime() > policy.deliveryHorizonMaxMs) {
    refuse('LIMIT_EXCEEDED', `${field} must be at most ${policy.deliveryHorizonMaxMs} ms after endsAt`, { field, max: policy.deliveryHorizonMaxMs });
  }
}

function checkedTiers(command: CreateCampaignCommand): Tier[] {
  if (command.tiers.length > tiersPerCampaignMax) {
    refuse('LIMIT_EXCEEDED', `a campaign has at most ${tiersPerCampaignMax} tiers`, { field: 'tiers', max: tiersPerCampaignMax });
  }
  return command.tiers.map((tier, index): Tier => {
    const field = `tiers[${index}]`;
    const title = checkedText(tier.title, `${field}.title`, titleLengthMax);
    checkAmount(tier.price, `${field}.price`, command.goal.currency);
    const base = { id: tierIdFor(command.campaignId, index), title, price: tier.price };
    if (tier.quantity === undefined) return base;
    if (!Number.isSafeInteger(tier.quantity) || tier.quantity <= 0) {
      refuse('INVALID_ARGUMENT', `${field}.quantity must be a positive integer`, { field: `${field}.quantity` });
    }
    if (tier.quantity > tierQuantityMax) {
      refuse('LIMIT_EXCEEDED', `${field}.quantity must be at most ${tierQuantityMax}`, { field: `${field}.quantity`, max: tierQuantityMax });
    }
    return { ...base, quantity: tier.quantity };
  });
}

function checkedMilestones(command: CreateCampaignCommand, policy: CampaignPolicy): PlannedMilestone[] {
  const milestones = command.milestones ?? [];
  if (milestones.length === 0) return [];
  if (milestones.length > milestonesPerCampaignMax) {
    refuse('LIMIT_EXCEEDED', `a campaign has at most ${milestonesPerCampaignMax} milestones`, { field: 'milestones', max: milestonesPerCampaignMax });
  }
  let shareBpsSum = 0;
  let previousDueAt: Date | undefined;
  const planned = milestones.map((milestone, index): PlannedMilestone => {
    const field = `milestones[${index}]`;
    const title = checkedText(milestone.title, `${field}.title`, titleLengthMax);
    if (!Number.isSafeInteger(milestone.shareBps) || milestone.shareBps <= 0 || milestone.shareBps > 10_000) {
      refuse('INVALID_ARGUMENT', `${field}.shareBps must be an integer within 1..10000`, { field: `${field}.shareBps` });
    }
    if (!isValidDate(milestone.dueAt)) refuse('INVALID_ARGUMENT', `${field}.dueAt must be a valid time`, { field: `${field}.dueAt` });
    checkAfterEnd(milestone.dueAt, command.endsAt, `${field}.dueAt`, policy);
    if (previousDueAt !== undefined && milestone.dueAt.getTime() <= previousDueAt.getTime()) {
      refuse('INVALID_ARGUMENT', `${field}.dueAt must be after the previous milestone's`, { field: `${field}.dueAt` });
    }
    previousDueAt = milestone.dueAt;
    shareBpsSum += milestone.shareBps;
    return { index, title, shareBps: milestone.shareBps, dueAt: milestone.dueAt, state: 'planned' };
  });
  if (shareBpsSum !== 10_000) {
    refuse('INVALID_ARGUMENT', `milestone shares must sum to 10000 basis points, got ${shareBpsSum}`, { field: 'milestones', shareBpsSum });
  }
  return planned;
}
