/**
 * Delivery: after success the creator's net money is released in stages.
 *
 *   startDelivery: succeeded → delivering, milestone 0 open (no milestones: everything released at
 *                  once, → delivered).
 *   acceptMilestone: a backer votes for the open milestone. The rule: it is released once the
 *                  backers who accepted hold MORE THAN HALF of the collected money. Weighting by
 *                  money means a creator cannot release funds through one cheap friendly pledge,
 *                  and the silence window keeps passive backers from blocking a creator forever.
 *                  A backer's weight is their collected money on this campaign, an input: the
 *                  campaign no longer lists pledges, the backer's position document holds it.
 *   advanceDelivery (scheduler): the open milestone is reported overdue (DeliveryOverdue) once
 *                  `dueAt + deliveryGraceMs` passes unreleased, and released by silence at
 *                  `dueAt + milestoneSilenceMs`. Releasing the last milestone → delivered.
 *   failDelivery (admin): delivering → delivery_failed; every unreleased milestone is refunded.
 * Milestones open one at a time, in order: a later one cannot be released before an earlier one.
 */
import { add, assert, compare, money, type Money } from '@sizhong/kit/domain';
import type {
  Campaign,
  CampaignPayout,
  DeliveredCampaign,
  DeliveringCampaign,
  DeliveryFailedCampaign,
  Milestone,
  MilestoneReleaseReason,
  OpenMilestone,
  ReleasedMilestone,
} from './campaign';
import type { CampaignDelivered, CampaignDeliveryFailed, CampaignDeliveryStarted, CampaignEvent, MilestoneAccepted, MilestoneReleased } from './events';
import { assertCampaignInvariants } from './invariants';
import { assertCampaignPolicy, type CampaignPolicy } from './policy';
import { addMs, refuse } from './rules';
import { assertPlanConserves, type SettlementPlan } from './settlement-plan';

/** Records what settlement moved and starts paying the creator. */
export function startDelivery(
  campaign: Campaign,
  plan: SettlementPlan,
  now: Date,
): { campaign: DeliveringCampaign | DeliveredCampaign; events: CampaignEvent[] } {
  if (campaign.state !== 'succeeded') refuse('INVALID_STATE', `a ${campaign.state} campaign has no delivery to start`, { campaignId: campaign.id, state: campaign.state });
  assert(plan.campaignId === campaign.id && plan.outcome === 'succeeded', `settlement plan of ${plan.campaignId} does not fit campaign ${campaign.id}`);
  assertPlanConserves(plan);
  assert(compare(plan.collected, campaign.settled.pledged) === 0, `settlement plan collected differs from the pledged total campaign ${campaign.id} settled on`);

  const payout: CampaignPayout = { collected: plan.collected, fee: plan.fee, net: plan.net, startedAt: now };
  const started: CampaignDeliveryStarted = {
    type: 'CampaignDeliveryStarted',
    ...eventFields(campaign, now),
    collected: plan.collected,
    fee: plan.fee,
    net: plan.net,
    milestoneAmounts: plan.payouts.filter((part) => part.kind === 'milestone').map((part) => part.amount),
  };

  if (campaign.milestones.length === 0) {
    assert(plan.payouts.length === 1 && plan.payouts[0]?.kind === 'immediate', 'a campaign without milestones is paid in one immediate release');
    const delivered: DeliveredCampaign = { ...campaign, state: 'delivered', payout, deliveredAt: now };
    assertCampaignInvariants(delivered);
    return {
      campaign: delivered,
      events: [
        started,
        { type: 'CampaignPayoutReleased', ...eventFields(campaign, now), amount: plan.net },
        { type: 'CampaignDelivered', ...eventFields(campaign, now), released: plan.net, milestonesCount: 0, deliveryDate: campaign.deliveryDate },
      ],
    };
  }

  const milestones = campaign.milestones.map((milestone, index): Milestone => {
    const part = plan.payouts[index];
    assert(part !== undefined && part.kind === 'milestone' && part.milestoneIndex === index, `settlement plan has no part for milestone ${index}`);
    assert(milestone.state === 'planned', `milestone ${index} of campaign ${campaign.id} is already ${milestone.state}`);
    const { state: _state, ...fields } = milestone;
    return index === 0 ? openMilestone(fields, part.amount, now) : { ...fields, state: 'waiting', amount: part.amount };
  });
  assert(plan.payouts.length === milestones.length, 'settlement plan has more parts than the campaign has milestones');
  const delivering: DeliveringCampaign = { ...campaign, state: 'delivering', payout, milestones };
  assertCampaignInvariants(delivering);
  return { campaign: delivering, events: [started] };
}

export type AcceptMilestoneOutcome = 'accepted' | 'already_accepted';

/**
 * A backer's vote for the open milestone, weighted by `backerCollected`: the money the backer's
 * collected pledges put into this campaign, which the app reads from the backer's position
 * document (recorded at settlement). Anyone without such money, the creator included, is refused.
 */
export function acceptMilestone(
  campaign: Campaign,
  backerId: string,
  backerCollected: Money,
  milestoneIndex: number,
  now: Date,
): { campaign: Campaign; events: CampaignEvent[]; outcome: AcceptMilestoneOutcome } {
  if (campaign.state !== 'delivering') refuse('INVALID_STATE', `a ${campaign.state} campaign has no milestone to accept`, { campaignId: campaign.id, state: campaign.state });
  const milestone = campaign.milestones[milestoneIndex];
  if (milestone === undefined) refuse('NOT_FOUND', `campaign has no milestone ${milestoneIndex}`, { campaignId: campaign.id, milestoneIndex });
  assert(backerCollected.currency === campaign.goal.currency, `backer ${backerId} weight is in ${backerCollected.currency}, not ${campaign.goal.currency}`);
  assert(
    backerCollected.amountMinor >= 0n && compare(backerCollected, campaign.payout.collected) <= 0,
    `backer ${backerId} weight ${backerCollected.amountMinor} must lie within 0..${campaign.payout.collected.amountMinor} collected`,
  );
  // The creator cannot have pledged (planPledge refuses), so a weight for them is a bug upstream; refused either way.
  if (backerCollected.amountMinor === 0n || backerId === campaign.creatorId) {
    refuse('PERMISSION_DENIED', 'only backers with collected pledges may accept a milestone', { campaignId: campaign.id });
  }
  const backerWeight = backerCollected;
  if (milestone.state !== 'open') {
    refuse('INVALID_STATE', `milestone ${milestoneIndex} is ${milestone.state}, not open`, { campaignId: campaign.id, milestoneIndex, state: milestone.state });
  }
  if (milestone.acceptedBackerIds.includes(backerId)) return { campaign, events: [], outcome: 'already_accepted' };

  const accepted: OpenMilestone = {
    ...milestone,
    acceptedBackerIds: [...milestone.acceptedBackerIds, backerId],
    acceptedAmount: add(milestone.acceptedAmount, backerWeight),
  };
  const collected = campaign.payout.collected;
  assert(compare(accepted.acceptedAmount, collected) <= 0, `milestone ${milestoneIndex} of campaign ${campaign.id} accepted more money than was collected`);
  const acceptedEvent: MilestoneAccepted = {
    type: 'MilestoneAccepted',
    ...eventFields(campaign, now),
    milestoneIndex,
    backerId,
    backerWeight,
    acceptedAmount: accepted.acceptedAmount,
    collected,
  };
  const withVote: DeliveringCampaign = { ...campaign, milestones: replaceMilestone(campaign.milestones, accepted) };
  if (!acceptedByMajority(accepted.acceptedAmount, collected)) return { campaign: withVote, events: [acceptedEvent], outcome: 'accepted' };
  const released = releaseOpenMilestone(withVote, 'backer_acceptance', now);
  return { campaign: released.campaign, events: [acceptedEvent, ...released.events], outcome: 'accepted' };
}

/** The acceptance rule: accepting backers hold strictly more than half of the collected money. */
export function acceptedByMajority(acceptedAmount: Money, collected: Money): boolean {
  return acceptedAmount.amountMinor * 2n > collected.amountMinor;
}

/**
 * The scheduler's step for a delivering campaign: report the open milestone overdue, release it by
 * silence, and go on with the next one while its times have passed too (a scheduler that was down
 * catches up in one call). Returns the campaign unchanged with no events when nothing is due.
 */
export function advanceDelivery(
  campaign: Campaign,
  now: Date,
  policy: CampaignPolicy,
): { campaign: DeliveringCampaign | DeliveredCampaign; events: CampaignEvent[] } {
  assertCampaignPolicy(policy);
  if (campaign.state !== 'delivering') refuse('INVALID_STATE', `a ${campaign.state} campaign is not delivering`, { campaignId: campaign.id, state: campaign.state });
  let current: DeliveringCampaign | DeliveredCampaign = campaign;
  const events: CampaignEvent[] = [];
  while (current.state === 'delivering') {
    const open = openMilestoneOf(current);
    if (open.overdueReportedAt === undefined && now.getTime() >= open.dueAt.getTime() + policy.deliveryGraceMs) {
      current = { ...current, milestones: replaceMilestone(current.milestones, { ...open, overdueReportedAt: now }) };
      events.push({ type: 'DeliveryOverdue', ...eventFields(current, now), milestoneIndex: open.index, dueAt: open.dueAt, amount: open.amount });
    }
    if (now.getTime() < open.dueAt.getTime() + policy.milestoneSilenceMs) break;
    const released = releaseOpenMilestone(current, 'silence', now);
    current = released.campaign;
    events.push(...released.events);
  }
  return { campaign: current, events };
}

/**
 * An admin found that the creator failed to deliver: nothing more is released, and the unreleased
 * net money is refunded to the backers pro rata (planRefunds, then refundPledge for each pledge).
 * The platform fee is not refunded: it was earned when the pledges were collected.
 */
export function failDelivery(campaign: Campaign, now: Date): { campaign: DeliveryFailedCampaign; events: CampaignEvent[] } {
  if (campaign.state !== 'delivering') refuse('INVALID_STATE', `a ${campaign.state} campaign is not delivering`, { campaignId: campaign.id, state: campaign.state });
  const currency = campaign.goal.currency;
  let released = money(currency, 0n);
  let refundAmount = money(currency, 0n);
  let releasedCount = 0;
  const milestones = campaign.milestones.map((milestone): Milestone => {
    assert(milestone.state !== 'planned' && milestone.state !== 'refunded', `milestone ${milestone.index} cannot be ${milestone.state} while delivering`);
    if (milestone.state === 'released') {
      released = add(released, milestone.amount);
      releasedCount += 1;
      return milestone;
    }
    refundAmount = add(refundAmount, milestone.amount);
    return { index: milestone.index, title: milestone.title, shareBps: milestone.shareBps, dueAt: milestone.dueAt, state: 'refunded', amount: milestone.amount, refundedAt: now };
  });
  assert(compare(add(released, refundAmount), campaign.payout.net) === 0, `campaign ${campaign.id} released plus refunded differs from its net payout`);
  const failed: DeliveryFailedCampaign = { ...campaign, state: 'delivery_failed', milestones, deliveryFailedAt: now, refundAmount };
  assertCampaignInvariants(failed);
  const event: CampaignDeliveryFailed = {
    type: 'CampaignDeliveryFailed',
    ...eventFields(campaign, now),
    released,
    refundAmount,
    milestonesReleasedCount: releasedCount,
    milestonesRefundedCount: milestones.length - releasedCount,
  };
  return { campaign: failed, events: [event] };
}

/**
 * When the scheduler should next look at this campaign (deadlines are data: docs/storage.md "Scheduler"):
 * the end while live, at once while succeeded (the payout is still to start), the open
 * milestone's overdue or silence time while delivering, else never.
 */
export function nextDueAt(campaign: Campaign, policy: CampaignPolicy): Date | undefined {
  assertCampaignPolicy(policy);
  if (campaign.state === 'live') return campaign.endsAt;
  // Settled but not yet paying out (a crash between settlement and startDelivery): due at once.
  if (campaign.state === 'succeeded') return campaign.settledAt;
  if (campaign.state !== 'delivering') return undefined;
  const open = openMilestoneOf(campaign);
  // The grace ends before the silence (assertCampaignPolicy), so an unreported milestone is due first for its report.
  return addMs(open.dueAt, open.overdueReportedAt === undefined ? policy.deliveryGraceMs : policy.milestoneSilenceMs);
}

function releaseOpenMilestone(
  campaign: DeliveringCampaign,
  reason: MilestoneReleaseReason,
  now: Date,
): { campaign: DeliveringCampaign | DeliveredCampaign; events: CampaignEvent[] } {
  const open = openMilestoneOf(campaign);
  const { acceptedBackerIds, state: _state, ...fields } = open;
  const releasedMilestone: ReleasedMilestone = { ...fields, state: 'released', releasedAt: now, releaseReason: reason, acceptedBackersCount: acceptedBackerIds.length };
  let milestones = replaceMilestone(campaign.milestones, releasedMilestone);
  const releasedEvent: MilestoneReleased = { type: 'MilestoneReleased', ...eventFields(campaign, now), milestoneIndex: open.index, amount: open.amount, reason, dueAt: open.dueAt };

  const next = milestones[open.index + 1];
  if (next !== undefined) {
    assert(next.state === 'waiting', `milestone ${next.index} of campaign ${campaign.id} should be waiting, is ${next.state}`);
    const { state: _nextState, amount, ...nextFields } = next;
    milestones = replaceMilestone(milestones, openMilestone(nextFields, amount, now));
    const delivering: DeliveringCampaign = { ...campaign, milestones };
    assertCampaignInvariants(delivering);
    return { campaign: delivering, events: [releasedEvent] };
  }
  const delivered: DeliveredCampaign = { ...campaign, state: 'delivered', milestones, deliveredAt: now };
  assertCampaignInvariants(delivered);
  const deliveredEvent: CampaignDelivered = {
    type: 'CampaignDelivered',
    ...eventFields(campaign, now),
    released: campaign.payout.net,
    milestonesCount: milestones.length,
    deliveryDate: campaign.deliveryDate,
  };
  return { campaign: delivered, events: [releasedEvent, deliveredEvent] };
}

function openMilestone(fields: { index: number; title: string; shareBps: number; dueAt: Date }, amount: Money, now: Date): OpenMilestone {
  return { ...fields, state: 'open', amount, openedAt: now, acceptedBackerIds: [], acceptedAmount: money(amount.currency, 0n) };
}

function openMilestoneOf(campaign: DeliveringCampaign): OpenMilestone {
  const open = campaign.milestones.find((milestone): milestone is OpenMilestone => milestone.state === 'open');
  assert(open !== undefined, `delivering campaign ${campaign.id} has no open milestone`);
  return open;
}

function replaceMilestone(milestones: readonly Milestone[], replacement: Milestone): Milestone[] {
  return milestones.map((milestone) => (milestone.index === replacement.index ? replacement : milestone));
}

function eventFields(campaign: Campaign, now: Date) {
  return { campaignId: campaign.id, creatorId: campaign.creatorId, occurredAt: now };
}
