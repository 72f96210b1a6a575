/**
 * Named limits of the campaign domain (each has a test at the limit and one past it). Each bounds a document's size or an
 * amount's range, so a campaign stays one MongoDB document and no sum leaves int64.
 *
 * A campaign takes any number of pledges: they are separate documents and the campaign keeps only
 * counters. There is deliberately no pledges-per-campaign limit. What bounds its money total is the
 * money itself: every counted pledge holds its amount on a backer's wallet, the ledger conserves
 * money, and the external funding account every deposit comes from stays within int64, so all the
 * money that can be held at once (a campaign's `pledged` included) fits in int64.
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
 * Active pledges one backer holds on one campaign (several tiers are allowed, floods are not).
 * Enforced by the storage: the backer's position document takes a pledge only while it lists fewer
 * than this many, in the same guarded write (the app answers a refusal with PLEDGE_LIMIT_REACHED).
 * It also bounds that position document.
 */
export const pledgesPerBackerMax = 10;
/**
 * Ended pledge sagas (given back after a refusal, or cancelled) one backer's position keeps on one
 * campaign: saga records are never deleted, so a same-key retry always finds its outcome. Past this
 * many the backer may place no further pledge on the campaign (PLEDGE_LIMIT_REACHED); with the
 * active cap it bounds the position document (about 200 bytes an entry).
 */
export const endedPledgesPerBackerMax = 100;
/**
 * The largest goal, tier price or pledge amount in minor units (10 billion of a currency with two
 * decimals), so `goal + amount` in the last-call guard and one backer's position stay far inside
 * int64.
 */
export const campaignAmountMinorMax = 1_000_000_000_000n;
