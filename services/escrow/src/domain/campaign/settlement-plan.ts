/**
 * planSettlement: which pledge holds to post and which to void, the platform fee, and how the
 * creator is paid. Pure arithmetic over the settled campaign and its pledge documents (pending
 * ones, and on a rerun those an earlier batch already collected or voided); the app layer carries
 * it out in batches (the plan is deterministic, so a retried batch recomputes the same).
 *
 *   collected = Σ collected pledges;  [fee, net] = splitByBasisPoints(collected, feeBps)
 *   milestones: net split by shareBps with the one split function;  none: one immediate release
 */
import { add, assert, compare, money, splitByBasisPoints, splitMoney, type Money } from '@sizhong/kit/domain';
import type { Campaign, SucceededCampaign } from './campaign';
import type { Pledge } from './pledge';
import { basisPoints, refuse, sumMoney } from './rules';

export interface SettlementPledge {
  readonly pledgeId: string;
  readonly backerId: string;
  readonly transferId: string;
  readonly amount: Money;
}

export type PayoutPart =
  | { readonly kind: 'immediate'; readonly amount: Money }
  | { readonly kind: 'milestone'; readonly milestoneIndex: number; readonly amount: Money };

export interface SettlementPlan {
  readonly campaignId: string;
  readonly creatorId: string;
  readonly outcome: 'succeeded' | 'failed';
  /** Pending holds to post in full (already collected ones are listed too: collecting is idempotent). */
  readonly pledgesToCollect: readonly SettlementPledge[];
  /** Pending holds to void (already voided ones are listed too). */
  readonly pledgesToVoid: readonly SettlementPledge[];
  readonly collected: Money;
  readonly fee: Money;
  /** collected − fee: what the creator receives, at once or by milestones. */
  readonly net: Money;
  readonly payouts: readonly PayoutPart[];
}

export function planSettlement(campaign: Campaign, pledges: readonly Pledge[], feeBps: number): SettlementPlan {
  const fee = basisPoints(feeBps, 'feeBps');
  for (const pledge of pledges) {
    assert(pledge.campaignId === campaign.id, `pledge ${pledge.id} belongs to campaign ${pledge.campaignId}, not ${campaign.id}`);
  }
  if (campaign.state !== 'succeeded' && campaign.state !== 'failed') {
    refuse('INVALID_STATE', `a ${campaign.state} campaign has no settlement to plan`, { campaignId: campaign.id, state: campaign.state });
  }
  const currency = campaign.goal.currency;
  const byId = (left: SettlementPledge, right: SettlementPledge) => (left.pledgeId < right.pledgeId ? -1 : left.pledgeId > right.pledgeId ? 1 : 0);

  if (campaign.state === 'failed') {
    // Voiding gives money back to its owner, so every pending hold found is voided, with no check
    // against the settled totals: a pledge counted late must not be stranded on a failed campaign.
    const pledgesToVoid = pledges
      .filter((pledge) => pledge.state === 'pending' || (pledge.state === 'refunded' && pledge.refundReason === 'campaign_failed'))
      .map(settlementPledge)
      .sort(byId);
    const nothing = money(currency, 0n);
    return { campaignId: campaign.id, creatorId: campaign.creatorId, outcome: 'failed', pledgesToCollect: [], pledgesToVoid, collected: nothing, fee: nothing, net: nothing, payouts: [] };
  }

  const pledgesToCollect = pledges.filter((pledge) => pledge.state === 'pending' || pledge.state === 'collected').map(settlementPledge).sort(byId);
  const collected = sumMoney(currency, pledgesToCollect.map((pledge) => pledge.amount));
  checkPledgesMatchSettledTotals(campaign, pledgesToCollect, collected);
  const [feeAmount, net] = splitByBasisPoints(collected, fee);
  const payouts: PayoutPart[] =
    campaign.milestones.length === 0
      ? [{ kind: 'immediate', amount: net }]
      : splitMoney(net, campaign.milestones.map((milestone) => BigInt(milestone.shareBps))).map((amount, milestoneIndex) => ({ kind: 'milestone', milestoneIndex, amount }));

  const plan: SettlementPlan = { campaignId: campaign.id, creatorId: campaign.creatorId, outcome: 'succeeded', pledgesToCollect, pledgesToVoid: [], collected, fee: feeAmount, net, payouts };
  assertPlanConserves(plan);
  return plan;
}

/** Money in = money out: collected = fee + Σ payouts, nothing negative, the fee within 100%. */
export function assertPlanConserves(plan: SettlementPlan): void {
  const currency = plan.collected.currency;
  const paidOut = sumMoney(currency, plan.payouts.map((part) => part.amount));
  assert(compare(add(plan.fee, paidOut), plan.collected) === 0, `settlement of campaign ${plan.campaignId} does not conserve money`);
  assert(compare(add(plan.fee, plan.net), plan.collected) === 0, `settlement of campaign ${plan.campaignId} net is not collected minus fee`);
  assert(compare(plan.fee, plan.collected) <= 0, `settlement of campaign ${plan.campaignId} takes a fee above the collected total`);
  for (const amount of [plan.collected, plan.fee, plan.net, ...plan.payouts.map((part) => part.amount)]) {
    assert(amount.currency === currency && amount.amountMinor >= 0n, `settlement of campaign ${plan.campaignId} has a negative or foreign amount`);
  }
}

/**
 * The campaign published its outcome on `settled`; posting anything else would collect a total
 * other than the one announced. A mismatch means a pledge saga finished after the totals were
 * counted, or the pledge list is incomplete: refuse, and let the app finish the sagas and look again.
 */
function checkPledgesMatchSettledTotals(campaign: SucceededCampaign, pledges: readonly SettlementPledge[], collected: Money): void {
  assert(new Set(pledges.map((pledge) => pledge.pledgeId)).size === pledges.length, `settlement of campaign ${campaign.id} lists a pledge twice`);
  if (compare(collected, campaign.settled.pledged) === 0 && pledges.length === campaign.settled.pledgesCount) return;
  refuse('INVALID_STATE', 'the pledges to collect differ from the totals the campaign settled on; finish the pledge sagas first', {
    campaignId: campaign.id,
    settledPledgedMinor: campaign.settled.pledged.amountMinor.toString(),
    settledPledgesCount: campaign.settled.pledgesCount,
    pledgesToCollectMinor: collected.amountMinor.toString(),
    pledgesToCollectCount: pledges.length,
  });
}

function settlementPledge(pledge: Pledge): SettlementPledge {
  return { pledgeId: pledge.id, backerId: pledge.backerId, transferId: pledge.transferId, amount: pledge.amount };
}
