/**
 * The campaign side of a backer's cancellation. Backers may cancel while the campaign is live,
 * except in the last call (`policy.lastCallMs` before `endsAt`) when the cancellation would drop
 * a met goal below it: creators must be able to count on a goal met at the end.
 *
 * Whether the goal is met depends on the live totals, which other backers change at the same
 * moment. So the rule is a guard the storage evaluates in the same guarded write that gives the
 * pledge's money and unit back:
 *
 *   { state: 'live', endsAt > now, guard } → $inc pledged −amount, pledgesCount −1, remaining[tier] +1
 *   guard 'any':           no condition (before the last call)
 *   guard 'keep_goal_met': pledged < goal  or  pledged ≥ goal + amount  (that is, pledged − amount ≥ goal)
 *
 * Two concurrent cancellations that would together drop a met goal cannot both pass: each is
 * decided on the totals the other left. `checkCancellationAllowed` asks the same question over
 * given totals, for read models ("can I still cancel?") and to explain a refused write.
 */
import { assert, compare, DomainError, subtract, type Money } from '@sizhong/kit/domain';
import type { Campaign, CampaignTotals } from './campaign';
import { assertCampaignTotals } from './invariants';
import { assertCampaignPolicy, type CampaignPolicy } from './policy';
import { refuse } from './rules';

/** What the check needs of a pledge (a `Pledge` fits). */
export interface PledgeToCancel {
  readonly id: string;
  readonly campaignId: string;
  readonly amount: Money;
}

export type CancellationGuard =
  | { readonly kind: 'any' }
  /** Allowed only if, at the moment of the write, `pledged < goal` or `pledged - amount >= goal`. */
  | { readonly kind: 'keep_goal_met'; readonly goal: Money; readonly amount: Money };

/**
 * The condition the storage must check when it gives this pledge back, or the refusal when no
 * totals could allow it: CAMPAIGN_NOT_LIVE when the campaign is not live, CANCELLATION_WINDOW_CLOSED
 * at or after `endsAt` (its pledges are being settled).
 */
export function cancellationGuard(campaign: Campaign, pledge: PledgeToCancel, now: Date, policy: CampaignPolicy): CancellationGuard {
  assertCampaignPolicy(policy);
  assert(pledge.campaignId === campaign.id, `pledge ${pledge.id} belongs to campaign ${pledge.campaignId}, not ${campaign.id}`);
  assert(pledge.amount.currency === campaign.goal.currency && pledge.amount.amountMinor > 0n, `pledge ${pledge.id} has a bad amount`);
  if (campaign.state !== 'live') refuse('CAMPAIGN_NOT_LIVE', `campaign is ${campaign.state}`, { campaignId: campaign.id, state: campaign.state });
  if (now.getTime() >= campaign.endsAt.getTime()) {
    refuse('CANCELLATION_WINDOW_CLOSED', 'the campaign has ended; its pledges are being settled', { campaignId: campaign.id, endsAt: campaign.endsAt.toISOString() });
  }
  if (now.getTime() < lastCallStartsAt(campaign, policy).getTime()) return { kind: 'any' };
  return { kind: 'keep_goal_met', goal: campaign.goal, amount: pledge.amount };
}

/** What the storage's guard decides, over the pledged total at the moment of the write. */
export function cancellationGuardAllows(guard: CancellationGuard, pledged: Money): boolean {
  if (guard.kind === 'any') return true;
  return compare(pledged, guard.goal) < 0 || compare(subtract(pledged, guard.amount), guard.goal) >= 0;
}

/** Throws the refusal (CAMPAIGN_NOT_LIVE, CANCELLATION_WINDOW_CLOSED) or returns when cancelling is allowed on these totals. */
export function checkCancellationAllowed(campaign: Campaign, totals: CampaignTotals, pledge: PledgeToCancel, now: Date, policy: CampaignPolicy): void {
  const guard = cancellationGuard(campaign, pledge, now, policy);
  assertCampaignTotals(campaign, totals);
  if (cancellationGuardAllows(guard, totals.pledged)) return;
  refuse('CANCELLATION_WINDOW_CLOSED', 'in the last call before the end, a cancellation may not drop a met goal below it', {
    campaignId: campaign.id,
    lastCallStartsAt: lastCallStartsAt(campaign, policy).toISOString(),
  });
}

/** The same rule as a question, for read models ("can I still cancel?"). */
export function cancellationAllowed(campaign: Campaign, totals: CampaignTotals, pledge: PledgeToCancel, now: Date, policy: CampaignPolicy): boolean {
  try {
    checkCancellationAllowed(campaign, totals, pledge, now, policy);
    return true;
  } catch (error) {
    if (error instanceof DomainError) return false;
    throw error;
  }
}

function lastCallStartsAt(campaign: Campaign, policy: CampaignPolicy): Date {
  return new Date(campaign.endsAt.getTime() - policy.lastCallMs);
}
