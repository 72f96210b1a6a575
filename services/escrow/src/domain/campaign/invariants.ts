/**
 * What must hold for every campaign the rules return and for the totals they are given. A failure
 * means a bug (or corrupted counters), never a client mistake: these are assertions, they stay on.
 *
 * The totals come from the storage's counters and from settlement's count of pending pledges, so
 * they are checked where a rule takes them in; a rule must not decide on impossible totals.
 */
import { add, assert, compare, type Money } from '@sizhong/kit/domain';
import type { Campaign, CampaignTotals, SettledTotals } from './campaign';
import { campaignAmountMinorMax } from './limits';
import { sumMoney } from './rules';

export function assertCampaignInvariants(campaign: Campaign): void {
  const currency = campaign.goal.currency;
  for (const tier of campaign.tiers) {
    assert(tier.price.currency === currency, `tier ${tier.id} is priced in another currency than campaign ${campaign.id}`);
    assert(tier.quantity === undefined || (Number.isSafeInteger(tier.quantity) && tier.quantity > 0), `tier ${tier.id} has a bad quantity`);
  }
  if (campaign.milestones.length > 0) {
    const shareBpsSum = campaign.milestones.reduce((sum, milestone) => sum + milestone.shareBps, 0);
    assert(shareBpsSum === 10_000, `campaign ${campaign.id} milestone shares sum to ${shareBpsSum}, not 10000`);
    campaign.milestones.forEach((milestone, index) => assert(milestone.index === index, `campaign ${campaign.id} milestone ${index} has index ${milestone.index}`));
  }
  if ('settled' in campaign) assertSettledTotals(campaign, campaign.settled);

  if ('payout' in campaign) {
    const { collected, fee, net } = campaign.payout;
    assert(compare(add(fee, net), collected) === 0, `campaign ${campaign.id} payout does not conserve money`);
    assert(compare(collected, campaign.settled.pledged) === 0, `campaign ${campaign.id} collected differs from the pledged total it settled on`);
    if (campaign.milestones.length > 0) {
      const milestoneTotal = sumMoney(
        currency,
        campaign.milestones.map((milestone) => {
          assert(milestone.state !== 'planned', `milestone ${milestone.index} of campaign ${campaign.id} has no amount after settlement`);
          return milestone.amount;
        }),
      );
      assert(compare(milestoneTotal, net) === 0, `campaign ${campaign.id} milestone amounts differ from the net payout`);
      assert(campaign.milestones.filter((milestone) => milestone.state === 'open').length <= 1, `campaign ${campaign.id} has more than one open milestone`);
    }
  }
}

/**
 * Totals counted from pending pledges: counts are whole and non-negative, every backer has at least
 * one pledge, every pledge is at least one minor unit and at most `campaignAmountMinorMax` (so
 * nothing pledged means no pledges).
 */
export function assertSettledTotals(campaign: Campaign, totals: SettledTotals): void {
  assertPledgeCounts(campaign, totals.pledged, totals.pledgesCount, totals.backersCount);
  assert(totals.backersCount <= totals.pledgesCount, `campaign ${campaign.id} counts ${totals.backersCount} backers for ${totals.pledgesCount} pledges`);
  assert(totals.pledgesCount === 0 || totals.backersCount > 0, `campaign ${campaign.id} counts pledges without backers`);
}

/**
 * The live counters: money and pledges as above, and no tier below zero (oversold) or above its
 * quantity (a unit given back twice). `backersCount` is only checked for sign: a cancellation gives
 * the pledge back first and the backer (when it was their last pledge) in a later step, so for a
 * moment it may count a backer whose pledges are all gone.
 */
export function assertCampaignTotals(campaign: Campaign, totals: CampaignTotals): void {
  assertPledgeCounts(campaign, totals.pledged, totals.pledgesCount, totals.backersCount);
  for (const tier of campaign.tiers) {
    const remaining = totals.remainingByTier[tier.id];
    if (tier.quantity === undefined) {
      assert(remaining === undefined, `unlimited tier ${tier.id} has a remaining count`);
      continue;
    }
    assert(remaining !== undefined && Number.isSafeInteger(remaining), `limited tier ${tier.id} has no remaining count`);
    assert(remaining >= 0, `tier ${tier.id} is oversold: ${remaining} units left`);
    assert(remaining <= tier.quantity, `tier ${tier.id} has ${remaining} units left of ${tier.quantity}`);
  }
  for (const tierId of Object.keys(totals.remainingByTier)) {
    assert(campaign.tiers.some((tier) => tier.id === tierId), `campaign ${campaign.id} counts units of an unknown tier ${tierId}`);
  }
}

function assertPledgeCounts(campaign: Campaign, pledged: Money, pledgesCount: number, backersCount: number): void {
  const id = campaign.id;
  assert(pledged.currency === campaign.goal.currency, `campaign ${id} totals are in ${pledged.currency}, not ${campaign.goal.currency}`);
  assert(Number.isSafeInteger(pledgesCount) && pledgesCount >= 0, `campaign ${id} has a bad pledgesCount ${pledgesCount}`);
  assert(Number.isSafeInteger(backersCount) && backersCount >= 0, `campaign ${id} has a bad backersCount ${backersCount}`);
  const count = BigInt(pledgesCount);
  assert(pledged.amountMinor >= count, `campaign ${id} pledged ${pledged.amountMinor} cannot hold ${pledgesCount} positive pledges`);
  assert(pledged.amountMinor <= count * campaignAmountMinorMax, `campaign ${id} pledged ${pledged.amountMinor} exceeds ${pledgesCount} pledges of at most ${campaignAmountMinorMax}`);
}
