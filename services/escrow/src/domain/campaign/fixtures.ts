/**
 * Builders shared by this folder's unit specs: a test policy in seconds (nothing here knows about
 * days), commands, and campaigns or pledges in every state. Pure like the domain it feeds.
 */
import { assert, DomainError, money, type Money } from '@sizhong/kit/domain';
import { initialTotals, type Campaign, type CampaignTotals, type DeliveringCampaign, type FailedCampaign, type LiveCampaign, type SettledTotals, type SucceededCampaign } from './campaign';
import { createCampaign, type CreateCampaignCommand } from './create-campaign';
import { startDelivery } from './delivery';
import { launchCampaign } from './launch-campaign';
import { planPledge } from './plan-pledge';
import { collectPledge, placePledge, type CollectedPledge, type PendingPledge, type Pledge } from './pledge';
import type { CampaignPolicy } from './policy';
import { settleCampaign, settledTotalsOf } from './settle-campaign';
import { planSettlement } from './settlement-plan';

export const secondMs = 1_000;
export const testPolicy: CampaignPolicy = {
  durationMinMs: 10 * secondMs,
  durationMaxMs: 3_600 * secondMs,
  lastCallMs: 5 * secondMs,
  milestoneSilenceMs: 60 * secondMs,
  deliveryGraceMs: 30 * secondMs,
  deliveryHorizonMaxMs: 86_400 * secondMs,
};

export const t0 = new Date('2026-03-01T00:00:00.000Z');
export const at = (offsetMs: number): Date => new Date(t0.getTime() + offsetMs);
export const endsAt = at(600 * secondMs);
export const afterEnd = (offsetMs: number): Date => new Date(endsAt.getTime() + offsetMs);
export const cny = (amountMinor: number | bigint): Money => money('CNY', BigInt(amountMinor));
export const usd = (amountMinor: number | bigint): Money => money('USD', BigInt(amountMinor));

export const creatorId = 'pt_creator';
export const campaignId = 'cp_1';

export function createCommand(overrides: Partial<CreateCampaignCommand> = {}): CreateCampaignCommand {
  return {
    campaignId,
    creatorId,
    title: 'A better teapot',
    description: 'Porcelain, hand made, ships worldwide.',
    goal: cny(100_000),
    fundingModel: 'all_or_nothing',
    endsAt,
    deliveryDate: afterEnd(3_600 * secondMs),
    tiers: [
      { title: 'Early bird', price: cny(1_000), quantity: 2 },
      { title: 'Standard', price: cny(2_000) },
    ],
    milestones: [
      { title: 'Prototype', shareBps: 3_000, dueAt: afterEnd(100 * secondMs) },
      { title: 'Shipping', shareBps: 7_000, dueAt: afterEnd(1_000 * secondMs) },
    ],
    ...overrides,
  };
}

export const earlyBirdTierId = `${campaignId}-t0`;
export const standardTierId = `${campaignId}-t1`;

export function liveCampaign(overrides: Partial<CreateCampaignCommand> = {}): LiveCampaign {
  const { campaign } = createCampaign(createCommand(overrides), t0, testPolicy);
  return launchCampaign(campaign, creatorId, t0, testPolicy, feeBps).campaign;
}

export interface TestPledge {
  readonly pledgeId: string;
  readonly backerId: string;
  readonly amount: Money;
  readonly tierId?: string;
}

/** Plans and places each pledge while the campaign is live (the storage's guards are not modelled here). */
export function placedPledges(campaign: Campaign, pledges: readonly TestPledge[]): PendingPledge[] {
  return pledges.map((pledge) => placePledge(planPledge(campaign, pledge, at(secondMs)), `tr_${pledge.pledgeId}`, at(secondMs)).pledge);
}

/** A live campaign and its placed pledges. */
export function withPledges(pledges: readonly TestPledge[], overrides: Partial<CreateCampaignCommand> = {}): { campaign: LiveCampaign; pledges: PendingPledge[] } {
  const campaign = liveCampaign(overrides);
  return { campaign, pledges: placedPledges(campaign, pledges) };
}

/** Live totals: a fresh campaign's, with the given changes. */
export function totalsOf(campaign: Campaign, overrides: Partial<CampaignTotals> = {}): CampaignTotals {
  return { ...initialTotals(campaign), ...overrides };
}

export function settledTotals(pledgedMinor: number | bigint, pledgesCount: number, backersCount = pledgesCount): SettledTotals {
  return { pledged: cny(pledgedMinor), pledgesCount, backersCount };
}

/** Settles at the end on the totals of the given pending pledges. */
export function settled(campaign: LiveCampaign, pledges: readonly Pledge[] = []): SucceededCampaign | FailedCampaign {
  return settleCampaign(campaign, settledTotalsOf(campaign, pledges), endsAt).campaign;
}

export const feeBps = 500;

/** A campaign started on its delivery: settled on the pledges, planned, every pledge collected. */
export function deliveringFrom(pledges: readonly TestPledge[], overrides: Partial<CreateCampaignCommand> = {}): { campaign: DeliveringCampaign; pledges: CollectedPledge[] } {
  const { campaign, pledges: pending } = withPledges(pledges, overrides);
  const succeeded = settled(campaign, pending);
  assert(succeeded.state === 'succeeded', 'fixture campaign succeeds');
  const plan = planSettlement(succeeded, pending, feeBps);
  const collected = pending.map((pledge) => collectPledge(pledge, endsAt).pledge as CollectedPledge);
  const started = startDelivery(succeeded, plan, endsAt).campaign;
  assert(started.state === 'delivering', 'fixture campaign is delivering');
  return { campaign: started, pledges: collected };
}

/**
 * A delivering campaign: backers A (60 000), B (30 000) and C (10 000) met the 100 000 goal; fee 5%
 * leaves 95 000, split 28 500 / 66 500 over the two milestones.
 */
export function deliveringCampaign(): { campaign: DeliveringCampaign; pledges: CollectedPledge[] } {
  return deliveringFrom([
    { pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(60_000) },
    { pledgeId: 'pl_b', backerId: 'pt_b', amount: cny(30_000) },
    { pledgeId: 'pl_c', backerId: 'pt_c', amount: cny(10_000) },
  ]);
}

/** What the backer's position document holds after settlement: their collected money on the campaign. */
export function collectedBy(pledges: readonly Pledge[], backerId: string): Money {
  const amountMinor = pledges.filter((pledge) => pledge.backerId === backerId && pledge.state === 'collected').reduce((sum, pledge) => sum + pledge.amount.amountMinor, 0n);
  return money('CNY', amountMinor);
}

/** Freezes a value deeply so a rule that mutates its input fails the test. */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof Date) && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const entry of Object.values(value as Record<string, unknown>)) deepFreeze(entry);
  }
  return value;
}

export function pledgeOf(pledges: readonly Pledge[], pledgeId: string): Pledge {
  const pledge = pledges.find((each) => each.id === pledgeId);
  assert(pledge !== undefined, `fixture has no pledge ${pledgeId}`);
  return pledge;
}

/** The DomainError an action throws; anything else (or nothing) fails the calling test. */
export function refusalOf(action: () => unknown): DomainError {
  try {
    action();
  } catch (error) {
    if (error instanceof DomainError) return error;
    throw error;
  }
  throw new Error('expected a DomainError, but the action succeeded');
}
