/**
 * Builders shared by this folder's unit specs: a test policy in seconds (nothing here knows about
 * days), commands, and campaigns or pledges in every state. Pure like the domain it feeds.
 */
import { assert, DomainError, money, type Money } from '@sizhong/kit';
import type { Campaign, DeliveringCampaign, FailedCampaign, LiveCampaign, PledgeReservation, SucceededCampaign } from './campaign';
import { createCampaign, type CreateCampaignCommand } from './create-campaign';
import { startDelivery } from './delivery';
import { launchCampaign } from './launch-campaign';
import { collectPledge, placePledge, type CollectedPledge, type PendingPledge, type Pledge } from './pledge';
import type { CampaignPolicy } from './policy';
import { withReservations } from './reservations';
import { reservePledge } from './reserve-pledge';
import { settleCampaign } from './settle-campaign';
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
  return launchCampaign(campaign, creatorId, t0, testPolicy).campaign;
}

export interface TestPledge {
  readonly pledgeId: string;
  readonly backerId: string;
  readonly amount: Money;
  readonly tierId?: string;
}

/** Reserves and places each pledge while the campaign is live. */
export function withPledges(campaign: LiveCampaign, pledges: readonly TestPledge[]): { campaign: LiveCampaign; pledges: PendingPledge[] } {
  let current: Campaign = campaign;
  const placed: PendingPledge[] = [];
  for (const pledge of pledges) {
    const result = reservePledge(current, pledge, at(secondMs));
    assert(result.outcome === 'reserved', `fixture pledge ${pledge.pledgeId} was not reserved`);
    current = result.campaign;
    placed.push(placePledge(current, { pledgeId: pledge.pledgeId, transferId: `tr_${pledge.pledgeId}` }, at(secondMs)).pledge);
  }
  assert(current.state === 'live', 'fixture campaign stays live');
  return { campaign: current, pledges: placed };
}

export function settled(campaign: LiveCampaign): SucceededCampaign | FailedCampaign {
  return settleCampaign(campaign, endsAt).campaign;
}

export const feeBps = 500;

/**
 * A delivering campaign: backers A (60 000), B (30 000) and C (10 000) met the 100 000 goal; fee 5%
 * leaves 95 000, split 28 500 / 66 500 over the two milestones.
 */
export function deliveringCampaign(): { campaign: DeliveringCampaign; pledges: CollectedPledge[] } {
  const { campaign, pledges } = withPledges(liveCampaign(), [
    { pledgeId: 'pl_a', backerId: 'pt_a', amount: cny(60_000) },
    { pledgeId: 'pl_b', backerId: 'pt_b', amount: cny(30_000) },
    { pledgeId: 'pl_c', backerId: 'pt_c', amount: cny(10_000) },
  ]);
  const succeeded = settled(campaign);
  assert(succeeded.state === 'succeeded', 'fixture campaign succeeds');
  const plan = planSettlement(succeeded, pledges, feeBps);
  const collected = pledges.map((pledge) => collectPledge(pledge, endsAt).pledge as CollectedPledge);
  const started = startDelivery(succeeded, plan, endsAt).campaign;
  assert(started.state === 'delivering', 'fixture campaign is delivering');
  return { campaign: started, pledges: collected };
}

/** A live campaign holding `count` reservations of one backer each, built directly (fast). */
export function liveCampaignWithReservations(count: number, backerId?: (index: number) => string): LiveCampaign {
  const campaign = liveCampaign({ tiers: [] });
  const reservations: PledgeReservation[] = Array.from({ length: count }, (_, index) => ({
    pledgeId: `pl_bulk_${index}`,
    backerId: backerId === undefined ? `pt_bulk_${index}` : backerId(index),
    amount: cny(100),
    reservedAt: t0,
  }));
  return withReservations(campaign, reservations);
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
