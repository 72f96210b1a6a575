/**
 * The public JSON of product campaigns and pledges (docs/escrow.md, /openapi.json), as
 * zod schemas that both document the answers and type the handlers, and the functions that build
 * them from escrow's gRPC messages (and the messages from validated requests). Amounts leave as
 * decimal strings, never as numbers; times leave as RFC 3339 UTC.
 *
 * The request schemas carry escrow's own field rules (domain/campaign/limits.ts: 120-character
 * titles, 20 tiers, 10 milestones, amounts up to 10^12 minor units, …), so a request the document
 * allows is never refused for its shape. What JSON Schema cannot say is written in the operation's
 * description and refused by escrow: relations between fields (delivery after the end, milestone
 * dates rising, shares summing to 10 000 bps, one currency), to the clock (how far away `endsAt`
 * may be) and to stored state (a tier's price, the campaign's currency).
 */
import { assert } from '@sizhong/kit';
import type { escrowV1 } from '@sizhong/proto';
import { instantField, integerParameter, textField } from '../http/fields';
import { pathIdLengthMax } from '../http/limits';
import { moneyJson, moneyMessage, moneySchema, positiveMoneySchemaUpTo } from '../http/money';
import { pageQuerySchema, pageSchema } from '../http/paging';
import { z } from '../openapi/zod';

export const campaignStates = ['draft', 'live', 'closing', 'succeeded', 'failed', 'delivering', 'delivered', 'delivery_failed'] as const;
export const fundingModels = ['all_or_nothing', 'keep_it_all'] as const;
export const milestoneStates = ['planned', 'waiting', 'open', 'released', 'refunded'] as const;
export const pledgeStates = ['pending', 'collected', 'refunded', 'cancelled'] as const;
export const refundReasons = ['campaign_failed', 'delivery_failed'] as const;

/**
 * Escrow's campaign limits (services/escrow/src/domain/campaign/limits.ts), repeated here because
 * the gateway documents them; gateway/test/fuzz/openapi-truth.e2e.spec.ts pins them to escrow's.
 */
export const campaignLimits = {
  titleLengthMax: 120,
  descriptionLengthMax: 10_000,
  tiersPerCampaignMax: 20,
  tierQuantityMax: 1_000_000,
  milestonesPerCampaignMax: 10,
  amountMinorMax: 1_000_000_000_000n,
} as const;

/** Escrow's ids (campaigns, tiers, pledges): the pattern escrow accepts, so a malformed one is 400 here. */
export const escrowIdPattern = /^[A-Za-z0-9_-]+$/;
/** A milestone's `{n}`: a campaign has at most milestonesPerCampaignMax milestones, indexed from 0. */
export const milestoneIndexMax = campaignLimits.milestonesPerCampaignMax - 1;

const escrowIdSchema = (what: string) =>
  z
    .string()
    .min(1)
    .max(pathIdLengthMax)
    .regex(escrowIdPattern, 'letters, digits, - and _ only')
    .describe(`opaque ${what} id`);

export const campaignParamsSchema = z.object({ id: escrowIdSchema('campaign') });
export const pledgeParamsSchema = z.object({ id: escrowIdSchema('pledge') });
export const milestoneParamsSchema = z.object({
  id: escrowIdSchema('campaign'),
  n: integerParameter({ minimum: 0, maximum: milestoneIndexMax }).describe("the milestone's index, from 0"),
});
/** Campaigns and pledges are listed in id order; a page starts after the id given as cursor. */
export const idPageQuerySchema = pageQuerySchema(escrowIdSchema('campaign or pledge'));
export const campaignListQuerySchema = idPageQuerySchema.extend({
  state: z.enum(campaignStates).optional().describe('only campaigns in this state; without it, every state but `draft`. `draft` lists the caller\'s own drafts'),
});

const answeredInstantSchema = z.iso.datetime().describe('RFC 3339, UTC');

const titleSchema = textField({ lengthMax: campaignLimits.titleLengthMax, trimmed: true }).describe(
  `1 to ${campaignLimits.titleLengthMax} characters, not only whitespace (trimmed)`,
);

/** Goals, tier prices and pledges: escrow takes at most 10^12 minor units (10 billion yuan). */
export const campaignMoneySchema = positiveMoneySchemaUpTo(campaignLimits.amountMinorMax, 'CampaignMoney');

export const createCampaignRequestSchema = z
  .object({
    title: titleSchema,
    description: textField({ lengthMax: campaignLimits.descriptionLengthMax, trimmed: true }).describe(
      `1 to ${campaignLimits.descriptionLengthMax} characters, not only whitespace (trimmed)`,
    ),
    goal: campaignMoneySchema.describe('the amount to raise; tiers and pledges use its currency'),
    fundingModel: z
      .enum(fundingModels)
      .describe('`all_or_nothing`: collected only if the goal is met by `endsAt`, else every pledge is refunded; `keep_it_all`: whatever was pledged is collected'),
    endsAt: instantField.describe('when pledging ends and the campaign settles: at least DEADLINE_MIN_MS (a day) and at most 60 days from now'),
    deliveryDate: instantField.describe('promised delivery: after `endsAt`, at most 730 days after it'),
    tiers: z
      .array(
        z
          .object({
            title: titleSchema,
            price: campaignMoneySchema.describe("the least a pledge for this tier may be, in the goal's currency"),
            quantity: z.number().int().min(1).max(campaignLimits.tierQuantityMax).optional().describe('units on offer; absent: unlimited'),
          })
          .openapi('CampaignTierInput'),
      )
      .max(campaignLimits.tiersPerCampaignMax)
      .describe('reward tiers; each gets an id'),
    milestones: z
      .array(
        z
          .object({
            title: titleSchema,
            shareBps: z.number().int().min(1).max(10_000).describe('share of the net payout released with this milestone; the shares sum to 10000'),
            dueAt: instantField.describe("after `endsAt` (at most 730 days after it) and after the previous milestone's"),
          })
          .openapi('CampaignMilestoneInput'),
      )
      .max(campaignLimits.milestonesPerCampaignMax)
      .optional()
      .describe('delivery milestones; absent or empty: the net is paid out at settlement'),
  })
  .openapi('CreateCampaignRequest');

export const placePledgeRequestSchema = z
  .object({
    tierId: escrowIdSchema('tier').optional().describe('the tier to take one unit of; absent: a pledge without reward'),
    amount: campaignMoneySchema.describe("at least the tier's price, in the campaign's currency"),
  })
  .openapi('PlacePledgeRequest');

export const campaignTierSchema = z
  .object({
    id: z.string().describe('names the tier in a pledge (`tierId`)'),
    title: z.string(),
    price: moneySchema,
    quantity: z.number().int().nullable().describe('units on offer; null: unlimited'),
    remaining: z.number().int().nullable().describe('units not yet pledged; null: unlimited'),
  })
  .openapi('CampaignTier');

export const campaignMilestoneSchema = z
  .object({
    index: z.number().int().min(0).describe('`{n}` in the milestone paths'),
    title: z.string(),
    shareBps: z.number().int(),
    dueAt: answeredInstantSchema,
    state: z
      .enum(milestoneStates)
      .describe('`planned` until settlement; then one milestone at a time is `open` for acceptance, the later ones `waiting`; `released` paid to the creator; `refunded` after a delivery failure'),
    amount: moneySchema.describe('its share of the net payout; zero while `planned` (decided at settlement)'),
    releasedAt: answeredInstantSchema.optional().describe('present once released'),
  })
  .openapi('CampaignMilestone');

export const campaignPayoutSchema = z
  .object({
    collected: moneySchema.describe('the pledges collected at settlement'),
    fee: moneySchema.describe('the platform fee (PLATFORM_FEE_BPS of collected)'),
    net: moneySchema.describe('collected − fee: what the creator receives, at once or by milestones'),
  })
  .openapi('CampaignPayout');

export const campaignSchema = z
  .object({
    id: z.string(),
    state: z
      .enum(campaignStates)
      .describe('draft → live → succeeded | failed; succeeded → delivering → delivered | delivery_failed (settlement at `endsAt` is automatic)'),
    title: z.string(),
    description: z.string(),
    creatorId: z.string().describe('the participant who created the campaign'),
    goal: moneySchema,
    fundingModel: z.enum(fundingModels),
    pledged: moneySchema.describe('the sum of active pledges'),
    backersCount: z.number().int().min(0).describe('distinct backers with an active pledge'),
    pledgesCount: z.number().int().min(0).describe('active pledges'),
    endsAt: answeredInstantSchema,
    deliveryDate: answeredInstantSchema,
    tiers: z.array(campaignTierSchema),
    milestones: z.array(campaignMilestoneSchema),
    createdAt: answeredInstantSchema,
    launchedAt: answeredInstantSchema.optional().describe('present once launched'),
    settledAt: answeredInstantSchema.optional().describe('present once settled'),
    payout: campaignPayoutSchema.optional().describe('present once a succeeded campaign has started paying out (`delivering`, `delivered`, `delivery_failed`)'),
  })
  .openapi('Campaign');

export const campaignPageSchema = pageSchema(campaignSchema).describe('in id order').openapi('CampaignPage');

export const pledgeSchema = z
  .object({
    pledgeId: z.string(),
    campaignId: z.string(),
    backerId: z.string(),
    tierId: z.string().nullable().describe('null: a pledge without reward'),
    amount: moneySchema,
    state: z
      .enum(pledgeStates)
      .describe('`pending`: held on the backer\'s wallet; `collected` at a successful settlement; `refunded` after a failed campaign (all of it) or a failed delivery (a share); `cancelled` by the backer'),
    placedAt: answeredInstantSchema,
    refundedAmount: moneySchema.optional().describe('present when refunded: the whole amount, or the pro-rata share of the unreleased money'),
    refundReason: z.enum(refundReasons).optional().describe('present when refunded'),
  })
  .openapi('Pledge');

export const pledgePageSchema = pageSchema(pledgeSchema).describe('in id order').openapi('PledgePage');

export function createCampaignMessage(body: z.output<typeof createCampaignRequestSchema>, idempotencyKey: string): escrowV1.CreateCampaignRequest {
  return {
    idempotencyKey,
    title: body.title,
    description: body.description,
    goal: moneyMessage(body.goal),
    fundingModel: body.fundingModel,
    endsAt: new Date(body.endsAt),
    deliveryDate: new Date(body.deliveryDate),
    tiers: body.tiers.map((tier) => ({ title: tier.title, price: moneyMessage(tier.price), ...(tier.quantity !== undefined ? { quantity: tier.quantity } : {}) })),
    milestones: (body.milestones ?? []).map((milestone) => ({ title: milestone.title, shareBps: milestone.shareBps, dueAt: new Date(milestone.dueAt) })),
  };
}

function instant(value: Date | undefined, what: string): string {
  assert(value !== undefined, `escrow sent ${what} without its time`);
  return value.toISOString();
}

/** Escrow always sends a payout message (zeros before one exists); the state says whether it is real. */
const statesWithPayout: ReadonlySet<string> = new Set(['delivering', 'delivered', 'delivery_failed']);

export function campaignView(campaign: escrowV1.Campaign): z.input<typeof campaignSchema> {
  assert((campaignStates as readonly string[]).includes(campaign.state), `escrow sent campaign state ${campaign.state}`);
  const payout = campaign.payout;
  return {
    id: campaign.id,
    state: campaign.state as (typeof campaignStates)[number],
    title: campaign.title,
    description: campaign.description,
    creatorId: campaign.creatorId,
    goal: moneyJson(campaign.goal),
    fundingModel: campaign.fundingModel as (typeof fundingModels)[number],
    pledged: moneyJson(campaign.pledged),
    backersCount: campaign.backersCount,
    pledgesCount: campaign.pledgesCount,
    endsAt: instant(campaign.endsAt, 'a campaign end'),
    deliveryDate: instant(campaign.deliveryDate, 'a delivery date'),
    tiers: campaign.tiers.map((tier) => ({
      id: tier.id,
      title: tier.title,
      price: moneyJson(tier.price),
      quantity: tier.quantity ?? null,
      remaining: tier.remaining ?? null,
    })),
    milestones: campaign.milestones.map((milestone) => ({
      index: milestone.index,
      title: milestone.title,
      shareBps: milestone.shareBps,
      dueAt: instant(milestone.dueAt, 'a milestone'),
      state: milestone.state as (typeof milestoneStates)[number],
      amount: moneyJson(milestone.amount),
      ...(milestone.releasedAt ? { releasedAt: milestone.releasedAt.toISOString() } : {}),
    })),
    createdAt: instant(campaign.createdAt, 'a campaign'),
    ...(campaign.launchedAt ? { launchedAt: campaign.launchedAt.toISOString() } : {}),
    ...(campaign.settledAt ? { settledAt: campaign.settledAt.toISOString() } : {}),
    ...(statesWithPayout.has(campaign.state) && payout
      ? { payout: { collected: moneyJson(payout.collected), fee: moneyJson(payout.fee), net: moneyJson(payout.net) } }
      : {}),
  };
}

export function pledgeView(pledge: escrowV1.Pledge): z.input<typeof pledgeSchema> {
  assert((pledgeStates as readonly string[]).includes(pledge.state), `escrow sent pledge state ${pledge.state}`);
  const refunded = pledge.state === 'refunded';
  return {
    pledgeId: pledge.id,
    campaignId: pledge.campaignId,
    backerId: pledge.backerId,
    tierId: pledge.tierId === '' ? null : pledge.tierId,
    amount: moneyJson(pledge.amount),
    state: pledge.state as (typeof pledgeStates)[number],
    placedAt: instant(pledge.placedAt, 'a pledge'),
    ...(refunded ? { refundedAmount: moneyJson(pledge.refundedAmount), refundReason: pledge.refundReason as (typeof refundReasons)[number] } : {}),
  };
}
