/**
 * Product campaign and pledge routes (docs/escrow.md, /openapi.json). Each handler
 * decodes, makes one gRPC call to escrow's CampaignService with the caller's identity, and
 * encodes; escrow decides (ownership, visibility, tier stock, funds, the last-call rule) and its
 * refusals reach the client through the one error table. Without ESCROW_GRPC_ADDRESS they answer
 * 503 UNAVAILABLE (see escrow-connection.ts).
 */
import { moneyMessage } from '../http/money';
import type { RouteRegistrar } from '../openapi/route';
import {
  campaignListQuerySchema,
  campaignPageSchema,
  campaignParamsSchema,
  campaignSchema,
  campaignView,
  createCampaignMessage,
  createCampaignRequestSchema,
  idPageQuerySchema,
  milestoneParamsSchema,
  placePledgeRequestSchema,
  pledgePageSchema,
  pledgeParamsSchema,
  pledgeSchema,
  pledgeView,
} from './campaign-views';
import type { EscrowConnection } from './escrow-connection';
import { sameNotFound } from '../downstream/same-not-found';

const downstreamProblems = {
  503: 'The escrow service is unavailable, or this gateway is not connected to it (UNAVAILABLE).',
  504: 'The escrow service did not answer in time (DEADLINE_EXCEEDED).',
} as const;

const unknownCampaign = 'No campaign has this id, or it is a draft of another creator (NOT_FOUND).';

/** From an answer holding a campaign (`id`, `goal`) to the operations on that campaign. */
const campaignLinks = {
  get: { operationId: 'getCampaign', description: 'The campaign.', parameters: { id: '$response.body#/id' } },
  launch: { operationId: 'launchCampaign', description: 'Its creator opens the draft for pledges.', parameters: { id: '$response.body#/id' } },
  pledge: {
    operationId: 'placePledge',
    description: 'A backer pledges the goal, without reward (a pledge for a tier names `tierId` and at least its `price`).',
    parameters: { id: '$response.body#/id' },
    requestBody: { amount: '$response.body#/goal' },
  },
  pledges: { operationId: 'listCampaignPledges', description: 'Its pledges (its creator, regulators, admins).', parameters: { id: '$response.body#/id' } },
  acceptMilestone: { operationId: 'acceptMilestone', description: 'A backer accepts the first delivery milestone.', parameters: { id: '$response.body#/id', n: '0' } },
  failDelivery: { operationId: 'failCampaignDelivery', description: 'An admin records a failed delivery.', parameters: { id: '$response.body#/id' } },
} as const;

/** From an answer holding a pledge (`pledgeId`, `campaignId`) to the operations on it. */
const pledgeLinks = {
  get: { operationId: 'getPledge', description: 'The pledge.', parameters: { id: '$response.body#/pledgeId' } },
  cancel: { operationId: 'cancelPledge', description: 'Its backer cancels it.', parameters: { id: '$response.body#/pledgeId' } },
  campaign: { operationId: 'getCampaign', description: 'The campaign pledged to.', parameters: { id: '$response.body#/campaignId' } },
  campaignPledges: { operationId: 'listCampaignPledges', description: "The campaign's pledges.", parameters: { id: '$response.body#/campaignId' } },
} as const;

export function registerCampaignRoutes(routes: RouteRegistrar, escrow: EscrowConnection): void {
  const campaigns = () => escrow.clients('campaign operations').campaigns;
  const deadlineMs = escrow.campaignWriteDeadlineMs;

  routes.define(
    {
      method: 'post',
      path: '/v1/campaigns',
      operationId: 'createCampaign',
      summary: 'Create a draft campaign owned by the caller',
      description:
        'The campaign stays a `draft`, visible to its creator only, until launched. The Idempotency-Key also names the campaign inside escrow, ' +
        'so a retry creates nothing twice.\n\n' +
        'Rules between fields and against the clock, which the schema cannot state (400 with `field` naming the first one broken): ' +
        '`endsAt` at least DEADLINE_MIN_MS (default a day) and at most 60 days from now; `deliveryDate` and every milestone `dueAt` after `endsAt` ' +
        'and at most 730 days after it; each milestone due after the one before; milestone `shareBps` summing to 10000; ' +
        "every tier's `price` in the goal's currency (CURRENCY_MISMATCH).",
      tags: ['campaigns'],
      access: ['creator'],
      idempotency: 'required',
      request: { body: createCampaignRequestSchema },
      responses: { 201: { description: 'The draft campaign, tiers with their ids.', schema: campaignSchema, links: campaignLinks } },
      problems: {
        400: 'A rule between fields or against the clock refused a field (INVALID_ARGUMENT, LIMIT_EXCEEDED, CURRENCY_MISMATCH); `field` names it.',
        ...downstreamProblems,
      },
    },
    async ({ body }, { identity, signal, idempotencyKey }) => {
      const campaign = await campaigns().createCampaign(createCampaignMessage(body, idempotencyKey), { identity, signal });
      return { status: 201, body: campaignView(campaign) };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/campaigns/{id}/launch',
      operationId: 'launchCampaign',
      summary: 'Open a draft for pledges (its creator)',
      description: 'Launching a live campaign again answers it unchanged. Settlement at `endsAt` is automatic.',
      tags: ['campaigns'],
      access: ['creator'],
      request: { params: campaignParamsSchema },
      responses: { 200: { description: 'The live campaign.', schema: campaignSchema, links: { get: campaignLinks.get, pledge: campaignLinks.pledge, pledges: campaignLinks.pledges } } },
      problems: {
        403: 'The campaign is live and belongs to another creator (PERMISSION_DENIED).',
        404: unknownCampaign,
        422: 'The campaign is past `draft`, or its `endsAt` is now too close (INVALID_STATE).',
        ...downstreamProblems,
      },
    },
    async ({ params }, { identity, signal }) => {
      const campaign = await campaigns().launchCampaign({ campaignId: params.id }, { identity, signal, deadlineMs });
      return { status: 200, body: campaignView(campaign) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/campaigns',
      operationId: 'listCampaigns',
      summary: 'List campaigns',
      description: "Drafts are listed only with `?state=draft`, and then only the caller's own.",
      tags: ['campaigns'],
      access: 'authenticated',
      request: { query: campaignListQuerySchema },
      responses: {
        200: {
          description: 'A page of campaigns.',
          schema: campaignPageSchema,
          links: { firstCampaign: { operationId: 'getCampaign', description: 'The first campaign of the page.', parameters: { id: '$response.body#/items/0/id' } } },
        },
      },
      problems: downstreamProblems,
    },
    async ({ query }, { identity, signal }) => {
      const found = await campaigns().listCampaigns({ state: query.state ?? '', page: { limit: query.limit, cursor: query.cursor ?? '' } }, { identity, signal });
      return { status: 200, body: { items: found.campaigns.map(campaignView), nextCursor: cursorAfter(found.page?.nextCursor) } };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/campaigns/{id}',
      operationId: 'getCampaign',
      summary: 'One campaign',
      tags: ['campaigns'],
      access: 'authenticated',
      request: { params: campaignParamsSchema },
      responses: { 200: { description: 'The campaign.', schema: campaignSchema, links: { launch: campaignLinks.launch, pledge: campaignLinks.pledge, pledges: campaignLinks.pledges } } },
      problems: { 404: unknownCampaign, ...downstreamProblems },
    },
    async ({ params }, { identity, signal }) => {
      const campaign = await sameNotFound(campaigns().getCampaign({ campaignId: params.id }, { identity, signal }), `campaign ${params.id} not found`);
      return { status: 200, body: campaignView(campaign) };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/campaigns/{id}/pledges',
      operationId: 'placePledge',
      summary: "Pledge to a live campaign: the amount is held on the caller's wallet",
      description:
        'Takes one unit of the tier (if named) and holds the amount until settlement: collected if the campaign succeeds, returned if it fails. ' +
        'The Idempotency-Key also names the pledge inside escrow (per backer and campaign), so even a retry after a 5xx pledges once. ' +
        'A backer holds at most 10 active pledges on one campaign (422 PLEDGE_LIMIT_REACHED).\n\n' +
        "Rules against the campaign, which the schema cannot state (400 with `field`): `amount` in the campaign's currency (CURRENCY_MISMATCH) " +
        "and, with `tierId`, at least that tier's `price` (INVALID_ARGUMENT).",
      tags: ['campaigns'],
      access: ['backer'],
      idempotency: 'required',
      request: { params: campaignParamsSchema, body: placePledgeRequestSchema },
      responses: { 201: { description: 'The pending pledge.', schema: pledgeSchema, links: pledgeLinks } },
      problems: {
        400: "The amount is below the tier's price (INVALID_ARGUMENT) or in another currency than the campaign's (CURRENCY_MISMATCH).",
        403: 'A creator may not back their own campaign (PERMISSION_DENIED).',
        404: `${unknownCampaign} Or the campaign has no such tier.`,
        422: 'The wallet lacks the amount (INSUFFICIENT_FUNDS), the tier is sold out (TIER_SOLD_OUT), the backer already holds the most pledges one campaign allows (PLEDGE_LIMIT_REACHED), or the campaign is not live or has ended (CAMPAIGN_NOT_LIVE).',
        ...downstreamProblems,
      },
    },
    async ({ params, body }, { identity, signal, idempotencyKey }) => {
      const pledge = await campaigns().placePledge(
        { campaignId: params.id, idempotencyKey, tierId: body.tierId ?? '', amount: moneyMessage(body.amount) },
        { identity, signal, deadlineMs },
      );
      return { status: 201, body: pledgeView(pledge) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/campaigns/{id}/pledges',
      operationId: 'listCampaignPledges',
      summary: "A campaign's pledges (its creator, regulators, admins)",
      description: 'Anyone else gets 404, as if the campaign had no pledge list.',
      tags: ['campaigns'],
      access: 'authenticated',
      request: { params: campaignParamsSchema, query: idPageQuerySchema },
      responses: {
        200: {
          description: 'A page of pledges.',
          schema: pledgePageSchema,
          links: { firstPledge: { operationId: 'getPledge', description: 'The first pledge of the page.', parameters: { id: '$response.body#/items/0/pledgeId' } } },
        },
      },
      problems: { 404: `${unknownCampaign} Or the caller is not its creator, a regulator or an admin.`, ...downstreamProblems },
    },
    async ({ params, query }, { identity, signal }) => {
      const found = await sameNotFound(
        campaigns().listCampaignPledges({ campaignId: params.id, page: { limit: query.limit, cursor: query.cursor ?? '' } }, { identity, signal }),
        `campaign ${params.id} not found, or its pledges are not visible to the caller`,
      );
      return { status: 200, body: { items: found.pledges.map(pledgeView), nextCursor: cursorAfter(found.page?.nextCursor) } };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/pledges/{id}',
      operationId: 'getPledge',
      summary: 'One pledge (its backer, the campaign creator, regulators, admins)',
      tags: ['campaigns'],
      access: 'authenticated',
      request: { params: pledgeParamsSchema },
      responses: { 200: { description: 'The pledge.', schema: pledgeSchema, links: { cancel: pledgeLinks.cancel, campaign: pledgeLinks.campaign } } },
      problems: { 404: 'No pledge has this id, or the caller may not see it (NOT_FOUND).', ...downstreamProblems },
    },
    async ({ params }, { identity, signal }) => {
      const pledge = await sameNotFound(campaigns().getPledge({ pledgeId: params.id }, { identity, signal }), `pledge ${params.id} not found`);
      return { status: 200, body: pledgeView(pledge) };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/pledges/{id}/cancel',
      operationId: 'cancelPledge',
      summary: 'Cancel a pending pledge (its backer): the hold is released',
      description:
        'Allowed while the campaign is live, except in the last call (CAMPAIGN_LAST_CALL_MS before `endsAt`) when it would drop a met goal below it. ' +
        'Cancelling a cancelled pledge answers it unchanged.',
      tags: ['campaigns'],
      access: ['backer'],
      request: { params: pledgeParamsSchema },
      responses: { 200: { description: 'The cancelled pledge.', schema: pledgeSchema, links: { get: pledgeLinks.get, campaign: pledgeLinks.campaign } } },
      problems: {
        404: 'No pledge has this id, or it is not the caller\'s (NOT_FOUND).',
        422: 'The last call forbids it, the campaign has ended or the pledge was settled (CANCELLATION_WINDOW_CLOSED), or the campaign is not live (CAMPAIGN_NOT_LIVE).',
        ...downstreamProblems,
      },
    },
    async ({ params }, { identity, signal }) => {
      const pledge = await sameNotFound(
        campaigns().cancelPledge({ pledgeId: params.id }, { identity, signal, deadlineMs }),
        `pledge ${params.id} not found`,
      );
      return { status: 200, body: pledgeView(pledge) };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/campaigns/{id}/milestones/{n}/accept',
      operationId: 'acceptMilestone',
      summary: 'Vote to release the open delivery milestone (a backer of the campaign)',
      description:
        "Each backer's vote weighs their collected pledges; the milestone is released to the creator once the accepting backers hold more than half " +
        'of the collected money. A repeated vote answers the campaign unchanged.',
      tags: ['campaigns'],
      access: ['backer'],
      request: { params: milestoneParamsSchema },
      responses: { 200: { description: 'The campaign after the vote.', schema: campaignSchema, links: { get: campaignLinks.get } } },
      problems: {
        403: 'The caller has no collected pledge on this campaign (PERMISSION_DENIED).',
        404: `${unknownCampaign} Or it has no milestone \`n\`.`,
        422: 'The campaign is not delivering, or the milestone is not the open one (INVALID_STATE).',
        ...downstreamProblems,
      },
    },
    async ({ params }, { identity, signal }) => {
      const campaign = await campaigns().acceptMilestone({ campaignId: params.id, index: params.n }, { identity, signal, deadlineMs });
      return { status: 200, body: campaignView(campaign) };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/campaigns/{id}/delivery-failure',
      operationId: 'failCampaignDelivery',
      summary: 'Record that the creator failed to deliver (admin): unreleased money is refunded',
      description:
        'The unreleased milestones are refunded to the backers pro rata to their collected pledges; released milestones and the platform fee stay. ' +
        'Repeating it answers the campaign unchanged.',
      tags: ['campaigns'],
      access: ['admin'],
      request: { params: campaignParamsSchema },
      responses: { 200: { description: 'The campaign, now `delivery_failed`.', schema: campaignSchema, links: { get: campaignLinks.get, pledges: campaignLinks.pledges } } },
      problems: { 404: 'No campaign has this id (NOT_FOUND).', 422: 'The campaign is not delivering (INVALID_STATE).', ...downstreamProblems },
    },
    async ({ params }, { identity, signal }) => {
      const campaign = await campaigns().failDelivery({ campaignId: params.id }, { identity, signal, deadlineMs });
      return { status: 200, body: campaignView(campaign) };
    },
  );
}

function cursorAfter(lastId: string | undefined): string | null {
  return lastId === undefined || lastId === '' ? null : lastId;
}
