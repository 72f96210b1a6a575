/**
 * planRefunds: after a delivery failure, the unreleased money goes back to the backers pro rata
 * to their collected pledges, through the one split function (largest remainder, ties to the
 * earlier pledge), so the parts sum exactly to the refund and none exceeds its pledge.
 */
import { assert, compare, splitMoney, type Money } from '@sizhong/kit/domain';
import type { CollectedPledge } from './pledge';
import { sumMoney } from './rules';

export interface PledgeRefund {
  readonly pledgeId: string;
  readonly backerId: string;
  readonly amount: Money;
}

export function planRefunds(unreleasedAmount: Money, collectedPledges: readonly CollectedPledge[]): PledgeRefund[] {
  assert(unreleasedAmount.amountMinor >= 0n, 'the unreleased amount cannot be negative');
  if (collectedPledges.length === 0) {
    assert(unreleasedAmount.amountMinor === 0n, 'unreleased money needs collected pledges to go back to');
    return [];
  }
  const campaignId = collectedPledges[0]?.campaignId;
  for (const pledge of collectedPledges) {
    assert(pledge.state === 'collected', `pledge ${pledge.id} is ${pledge.state}, not collected`);
    assert(pledge.campaignId === campaignId, 'refunds are planned for the pledges of one campaign');
    assert(pledge.amount.currency === unreleasedAmount.currency, `pledge ${pledge.id} is in another currency than the refund`);
  }
  const collected = sumMoney(unreleasedAmount.currency, collectedPledges.map((pledge) => pledge.amount));
  // Milestones are carved out of the collected money after the fee, so there is never more to refund than was collected.
  assert(compare(unreleasedAmount, collected) <= 0, 'cannot refund more than was collected');

  const parts = splitMoney(unreleasedAmount, collectedPledges.map((pledge) => pledge.amount.amountMinor));
  const refunds = collectedPledges.map((pledge, index): PledgeRefund => {
    const amount = parts[index];
    assert(amount !== undefined && compare(amount, pledge.amount) <= 0, `refund of pledge ${pledge.id} exceeds its amount`);
    return { pledgeId: pledge.id, backerId: pledge.backerId, amount };
  });
  assert(compare(sumMoney(unreleasedAmount.currency, refunds.map((refund) => refund.amount)), unreleasedAmount) === 0, 'refunds must sum to the unreleased amount');
  return refunds;
}
