/**
 * The data both pledge benchmarks use: campaigns (keep-it-all, an unlimited tier and one limited
 * tier, ending an hour after the run starts), deposits signed as the payment provider signs them,
 * and the plan of which backer pledges to which campaign and tier.
 */
import { assert } from '@sizhong/kit';
import { depositEventBody } from '../../scripts/psp';
import { signPayload } from '../../services/escrow/src/app/payment-provider';

export const currency = 'CNY';
/** A backer may hold at most this many active pledges on one campaign (escrow's pledgesPerBackerMax). */
export const pledgesPerBackerMax = 10;
export const unlimitedTierPriceMinor = 100n;
export const limitedTierPriceMinor = 500n;
/** Escrow's tierQuantityMax: every pledge on the limited tier decrements its stock, and none sells out. */
export const limitedTierQuantity = 1_000_000;
/** Every backer gets this much (100 million CNY): far more than all of their pledges in every scenario. */
export const backerDepositMinor = 10_000_000_000n;
export const campaignGoalMinor = 100_000_000n;
const campaignDurationMs = 3_600_000;

export interface CampaignSpecification {
  readonly title: string;
  readonly description: string;
  readonly goalMinor: bigint;
  readonly fundingModel: 'keep_it_all';
  readonly endsAt: Date;
  readonly deliveryDate: Date;
  readonly tiers: ReadonlyArray<{ readonly title: string; readonly priceMinor: bigint; readonly quantity?: number }>;
}

export const unlimitedTierTitle = 'Unlimited';
export const limitedTierTitle = 'Limited';

export function campaignSpecification(title: string, now = new Date()): CampaignSpecification {
  return {
    title,
    description: 'A benchmark campaign: keep-it-all, one unlimited tier and one limited tier.',
    goalMinor: campaignGoalMinor,
    fundingModel: 'keep_it_all',
    endsAt: new Date(now.getTime() + campaignDurationMs),
    deliveryDate: new Date(now.getTime() + 2 * campaignDurationMs),
    tiers: [
      { title: unlimitedTierTitle, priceMinor: unlimitedTierPriceMinor },
      { title: limitedTierTitle, priceMinor: limitedTierPriceMinor, quantity: limitedTierQuantity },
    ],
  };
}

/** The ids a pledge needs, read from escrow's answer to the launch. */
export interface LaunchedCampaign {
  readonly id: string;
  readonly unlimitedTierId: string;
  readonly limitedTierId: string;
}

export function launchedCampaign(campaign: { id: string; tiers: ReadonlyArray<{ id: string; title: string }> }): LaunchedCampaign {
  const tierId = (title: string) => {
    const tier = campaign.tiers.find((candidate) => candidate.title === title);
    assert(tier !== undefined, `campaign ${campaign.id} has no tier "${title}"`);
    return tier.id;
  };
  return { id: campaign.id, unlimitedTierId: tierId(unlimitedTierTitle), limitedTierId: tierId(limitedTierTitle) };
}

/** A `deposit.succeeded` webhook body and its signature, exactly as `npm run psp -- deposit` sends them. */
export function signedDeposit(secret: string, eventId: string, participantId: string, amountMinor = backerDepositMinor): { body: string; signature: string } {
  const body = depositEventBody({ participantId, currency, amountMinor, eventId, gatewayUrl: '', replay: false });
  return { body, signature: signPayload(new TextEncoder().encode(secret), body, Math.floor(Date.now() / 1_000)) };
}

export interface PlannedPledge {
  readonly campaign: LaunchedCampaign;
  readonly backerIndex: number;
  readonly tierId: string;
  readonly amountMinor: bigint;
}

/**
 * Hands out pledges round-robin over its campaigns. Within a campaign, consecutive pledges go to
 * consecutive backers, each campaign starting at a different backer, so the pledges in flight
 * touch different wallets, and no backer exceeds pledgesPerBackerMax on one campaign. Every
 * second pledge of a campaign takes the limited tier, so stock decrements are part of the load.
 */
export class PledgePlanner {
  private readonly placedByCampaign: number[];
  private next = 0;

  constructor(
    private readonly campaigns: readonly LaunchedCampaign[],
    private readonly backers: number,
  ) {
    assert(campaigns.length > 0 && backers > 0, 'a pledge plan needs campaigns and backers');
    this.placedByCampaign = campaigns.map(() => 0);
  }

  /** Pledges one campaign can take from these backers. */
  get capacityPerCampaign(): number {
    return this.backers * pledgesPerBackerMax;
  }

  take(): PlannedPledge {
    const campaignIndex = this.next % this.campaigns.length;
    this.next += 1;
    const placed = this.placedByCampaign[campaignIndex] ?? 0;
    assert(placed < this.capacityPerCampaign, `campaign ${campaignIndex} would take a backer past ${pledgesPerBackerMax} pledges: use more backers (BENCH_BACKERS)`);
    this.placedByCampaign[campaignIndex] = placed + 1;
    const stride = Math.ceil(this.backers / this.campaigns.length);
    const campaign = this.campaigns[campaignIndex]!;
    const limited = placed % 2 === 1;
    return {
      campaign,
      backerIndex: (placed + campaignIndex * stride) % this.backers,
      tierId: limited ? campaign.limitedTierId : campaign.unlimitedTierId,
      amountMinor: limited ? limitedTierPriceMinor : unlimitedTierPriceMinor,
    };
  }

  /** The next `count` pledges, planned up front so a request does no planning. */
  takeMany(count: number): PlannedPledge[] {
    return Array.from({ length: count }, () => this.take());
  }
}

/** Backers needed so that `pledgesOnOneCampaign` pledges fit under pledgesPerBackerMax. */
export function backersFor(pledgesOnOneCampaign: number): number {
  return Math.ceil(pledgesOnOneCampaign / pledgesPerBackerMax);
}
