/** Changes to a campaign's reservation list that keep its totals and tier counts in step; internal. */
import type { Campaign, PledgeReservation, Tier } from './campaign';
import { assertCampaignInvariants } from './invariants';
import { distinctBackersCount, sumMoney } from './rules';

/** Removes a reservation the caller has already checked may go. */
export function withoutReservation<C extends Campaign>(campaign: C, reservation: PledgeReservation): C {
  assertCampaignInvariants(campaign);
  const tiers = reservation.tierId === undefined ? campaign.tiers : campaign.tiers.map((tier) => (tier.id === reservation.tierId ? returnUnit(tier) : tier));
  const released = withReservations(
    { ...campaign, tiers },
    campaign.reservations.filter((each) => each.pledgeId !== reservation.pledgeId),
  );
  assertCampaignInvariants(released);
  return released;
}

export function withReservations<C extends Campaign>(campaign: C, reservations: readonly PledgeReservation[]): C {
  return {
    ...campaign,
    reservations,
    pledged: sumMoney(campaign.goal.currency, reservations.map((reservation) => reservation.amount)),
    backersCount: distinctBackersCount(reservations),
  };
}

export function takeUnit(tier: Tier): Tier {
  return tier.remaining === undefined ? tier : { ...tier, remaining: tier.remaining - 1 };
}

function returnUnit(tier: Tier): Tier {
  return tier.remaining === undefined ? tier : { ...tier, remaining: tier.remaining + 1 };
}
