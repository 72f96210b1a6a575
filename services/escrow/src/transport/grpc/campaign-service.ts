/** gRPC adapter of product campaigns: decode, call one use case, encode. */
import { checkServiceIdempotencyKey, DomainError, type ServiceHandlers } from '@sizhong/kit';
import type { escrowV1 } from '@sizhong/proto';
import type { Campaigns, CampaignView } from '../../app/campaigns';
import type { FundingModel, Pledge } from '../../domain/campaign';
import { idIn, moneyIn, pageSize, requireParticipant } from './mapping';

function keyIn(value: string): string {
  return checkServiceIdempotencyKey(value);
}

function dateIn(value: Date | undefined, field: string): Date {
  if (!value || Number.isNaN(value.getTime())) throw new DomainError('INVALID_ARGUMENT', `${field} is required`, { field });
  return value;
}

export function campaignOut({ campaign, totals }: CampaignView): escrowV1.Campaign {
  const currency = campaign.goal.currency;
  const zero = { currency, amountMinor: 0n };
  return {
    id: campaign.id,
    creatorId: campaign.creatorId,
    title: campaign.title,
    description: campaign.description,
    state: campaign.state,
    goal: campaign.goal,
    fundingModel: campaign.fundingModel,
    endsAt: campaign.endsAt,
    deliveryDate: campaign.deliveryDate,
    pledged: totals.pledged,
    backersCount: totals.backersCount,
    pledgesCount: totals.pledgesCount,
    tiers: campaign.tiers.map((tier) => ({
      id: tier.id,
      title: tier.title,
      price: tier.price,
      ...(tier.quantity !== undefined ? { quantity: tier.quantity } : {}),
      ...(totals.remainingByTier[tier.id] !== undefined ? { remaining: totals.remainingByTier[tier.id] } : {}),
    })),
    milestones: campaign.milestones.map((milestone) => ({
      index: milestone.index,
      title: milestone.title,
      shareBps: milestone.shareBps,
      dueAt: milestone.dueAt,
      state: milestone.state,
      amount: 'amount' in milestone ? milestone.amount : zero,
      ...(milestone.state === 'released' ? { releasedAt: milestone.releasedAt } : {}),
    })),
    createdAt: campaign.createdAt,
    ...('launchedAt' in campaign ? { launchedAt: campaign.launchedAt } : {}),
    ...('settledAt' in campaign ? { settledAt: campaign.settledAt } : {}),
    payout: 'payout' in campaign ? { collected: campaign.payout.collected, fee: campaign.payout.fee, net: campaign.payout.net } : { collected: zero, fee: zero, net: zero },
  };
}

export function pledgeOut(pledge: Pledge): escrowV1.Pledge {
  return {
    id: pledge.id,
    campaignId: pledge.campaignId,
    backerId: pledge.backerId,
    tierId: pledge.tierId ?? '',
    amount: pledge.amount,
    state: pledge.state,
    transferId: pledge.transferId,
    placedAt: pledge.placedAt,
    refundedAmount: pledge.state === 'refunded' ? pledge.refundedAmount : { currency: pledge.amount.currency, amountMinor: 0n },
    refundReason: pledge.state === 'refunded' ? pledge.refundReason : '',
  };
}

export function campaignServiceHandlers(campaigns: Campaigns): ServiceHandlers<typeof escrowV1.CampaignServiceService> {
  return {
    createCampaign: async (request, context) => {
      const caller = requireParticipant(context.identity);
      const campaign = await campaigns.create(caller, keyIn(request.idempotencyKey), {
        title: request.title,
        description: request.description,
        goal: moneyIn(request.goal, 'goal'),
        fundingModel: request.fundingModel as FundingModel,
        endsAt: dateIn(request.endsAt, 'endsAt'),
        deliveryDate: dateIn(request.deliveryDate, 'deliveryDate'),
        tiers: request.tiers.map((tier, index) => ({ title: tier.title, price: moneyIn(tier.price, `tiers[${index}].price`), ...(tier.quantity !== undefined ? { quantity: tier.quantity } : {}) })),
        milestones: request.milestones.map((milestone, index) => ({ title: milestone.title, shareBps: milestone.shareBps, dueAt: dateIn(milestone.dueAt, `milestones[${index}].dueAt`) })),
      });
      return campaignOut(campaign);
    },
    launchCampaign: async (request, context) => campaignOut(await campaigns.launch(requireParticipant(context.identity), idIn(request.campaignId, 'campaign_id'))),
    getCampaign: async (request, context) => campaignOut(await campaigns.visibleCampaign(context.identity, idIn(request.campaignId, 'campaign_id'))),
    listCampaigns: async (request, context) => {
      const limit = pageSize(request.page);
      const page = await campaigns.list(context.identity, { ...(request.state ? { state: request.state } : {}), limit, ...(request.page?.cursor ? { after: idIn(request.page.cursor, 'cursor') } : {}) });
      return { campaigns: page.map(campaignOut), page: { nextCursor: page.length === limit ? (page.at(-1)?.campaign.id ?? '') : '' } };
    },
    placePledge: async (request, context) =>
      pledgeOut(
        await campaigns.placePledge(
          requireParticipant(context.identity),
          idIn(request.campaignId, 'campaign_id'),
          keyIn(request.idempotencyKey),
          request.tierId ? idIn(request.tierId, 'tier_id') : undefined,
          moneyIn(request.amount, 'amount'),
        ),
      ),
    cancelPledge: async (request, context) => pledgeOut(await campaigns.cancelPledge(requireParticipant(context.identity), idIn(request.pledgeId, 'pledge_id'))),
    getPledge: async (request, context) => pledgeOut(await campaigns.pledge(requireParticipant(context.identity), idIn(request.pledgeId, 'pledge_id'))),
    listCampaignPledges: async (request, context) => {
      const limit = pageSize(request.page);
      const page = await campaigns.campaignPledges(requireParticipant(context.identity), idIn(request.campaignId, 'campaign_id'), { limit, ...(request.page?.cursor ? { after: idIn(request.page.cursor, 'cursor') } : {}) });
      return { pledges: page.map(pledgeOut), page: { nextCursor: page.length === limit ? (page.at(-1)?.id ?? '') : '' } };
    },
    acceptMilestone: async (request, context) => campaignOut(await campaigns.acceptMilestone(requireParticipant(context.identity), idIn(request.campaignId, 'campaign_id'), request.index)),
    failDelivery: async (request, context) => campaignOut(await campaigns.failDelivery(requireParticipant(context.identity), idIn(request.campaignId, 'campaign_id'))),
  };
}
