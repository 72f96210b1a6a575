/**
 * Named limits of the campaign domain (STYLE.md rule 7). Each bounds a document's size or an
 * amount's range, so a campaign stays one MongoDB document and no sum leaves int64.
 */

/** Campaign, tier and milestone titles, counted in Unicode code points after trimming. */
export const titleLengthMax = 120;
/** Campaign description, counted in Unicode code points after trimming. */
export const descriptionLengthMax = 10_000;
export const tiersPerCampaignMax = 20;
/** A tier's quantity, when it has one. */
export const tierQuantityMax = 1_000_000;
export const milestonesPerCampaignMax = 10;
/**
 * Active pledges (reservations) a campaign holds at once. The campaign document lists them, which
 * is what makes reservations idempotent and the totals exact, so the list must stay bounded.
 */
export const pledgesPerCampaignMax = 10_000;
/** Active pledges one backer holds on one campaign (several tiers are allowed, floods are not). */
export const pledgesPerBackerMax = 10;
/**
 * The largest goal, tier price or pledge amount in minor units (10 billion of a currency with two
 * decimals). With `pledgesPerCampaignMax` it keeps every campaign total far inside int64.
 */
export const campaignAmountMinorMax = 1_000_000_000_000n;
