/**
 * What must hold for every campaign the rules return. Checked by assertion after each change to
 * reservations and by the property tests; a failure means a bug, never a client mistake.
 */
import { add, assert, compare } from '@sizhong/kit';
import type { Campaign } from './campaign';
import { pledgesPerCampaignMax } from './limits';
import { distinctBackersCount, sumMoney } from './rules';

export function assertCampaignInvariants(campaign: Campaign): void {
  const currency = campaign.goal.currency;
  assert(campaign.reservations.length <= pledgesPerCampaignMax, `campaign ${campaign.id} holds more than ${pledgesPerCampaignMax} reservations`);
  assert(new Set(campaign.reservations.map((reservation) => reservation.pledgeId)).size === campaign.reservations.length, `campaign ${campaign.id} reserves a pledge twice`);
  const pledged = sumMoney(currency, campaign.reservations.map((reservation) => reservation.amount));
  assert(compare(pledged, campaign.pledged) === 0, `campaign ${campaign.id} pledged ${campaign.pledged.amountMinor} differs from its reservations ${pledged.amountMinor}`);
  assert(campaign.backersCount === distinctBackersCount(campaign.reservations), `campaign ${campaign.id} backersCount is stale`);

  const reservedCountByTier = new Map<string, number>();
  for (const reservation of campaign.reservations) {
    if (reservation.tierId !== undefined) reservedCountByTier.set(reservation.tierId, (reservedCountByTier.get(reservation.tierId) ?? 0) + 1);
  }
  for (const tier of campaign.tiers) {
    const reservedCount = reservedCountByTier.get(tier.id) ?? 0;
    if (tier.quantity === undefined) {
      assert(tier.remaining === undefined, `unlimited tier ${tier.id} has a remaining count`);
      continue;
    }
    assert(tier.remaining !== undefined && tier.remaining >= 0, `tier ${tier.id} is oversold`);
    assert(tier.remaining + reservedCount === tier.quantity, `tier ${tier.id} remaining ${tier.remaining} + reserved ${reservedCount} differs from quantity ${tier.quantity}`);
  }
  for (const reservation of campaign.reservations) {
    assert(reservation.amount.currency === currency && reservation.amount.amountMinor > 0n, `reservation ${reservation.pledgeId} has a bad amount`);
    assert(reservation.tierId === undefined || campaign.tiers.some((tier) => tier.id === reservation.tierId), `reservation ${reservation.pledgeId} names an unknown tier`);
  }

  if ('payout' in campaign) {
    const { collected, fee, net } = campaign.payout;
    assert(compare(add(fee, net), collected) === 0, `campaign ${campaign.id} payout does not conserve money`);
    assert(compare(collected, campaign.pledged) === 0, `campaign ${campaign.id} collected differs from its pledges`);
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
