/**
 * What the campaign use cases share: their stores and collaborators, the deal's escrow account,
 * and the two writes every flow uses (a campaign decision, a pledge decision), each one guarded
 * write with its events on the aggregate's outbox.
 */
import { type AggregateStore, type Clock, deterministicId, type Logger, type Money, type Sagas, type Scheduler } from '@sizhong/kit';
import type { Campaign, CampaignEvent, CampaignPolicy, CampaignTotals, Pledge, PledgeEvent } from '../../domain/campaign';
import { escrowAccount } from '../../domain/ledger/account';
import { type BackerPositions, totalsOf } from '../../storage/campaign-store';
import type { Ledger } from '../ledger';
import { campaignEventsToOutbox, pledgeEventsToOutbox } from './campaign-events';

/** Holds outlive the deadline by this much, so settlement can run late without losing them. */
export const pledgeHoldGraceMs = 30 * 24 * 3_600_000;
export const campaignPageSizeMax = 100;
/** Pledges settlement resolves at once (posting or voiding their holds). */
export const settlementConcurrency = 8;

export const campaignJobKinds = { settle: 'settle-campaign', advance: 'advance-delivery' } as const;

export interface CampaignsOptions {
  readonly campaigns: AggregateStore<Campaign>;
  readonly pledges: AggregateStore<Pledge>;
  readonly positions: BackerPositions;
  readonly ledger: Ledger;
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly policy: CampaignPolicy;
  /** The configured platform fee: what a campaign launched now fixes as its fee. */
  readonly feeBps: number;
  readonly topicPrefix: string;
  /** The service's sagas (the kit's model): settlement and delivery are defined on them. */
  readonly sagas: Sagas;
  /** How long past its deadline a campaign must be before the recovery loop settles it (the scheduler gets the first go). */
  readonly recoveryAgeMs: number;
  readonly logger: Logger;
}

/** A campaign as callers see it: its state and its live totals. */
export interface CampaignView {
  readonly campaign: Campaign;
  readonly totals: CampaignTotals;
}

export function escrowOf(campaign: Pick<Campaign, 'id' | 'goal'>) {
  return escrowAccount('campaign', campaign.id, campaign.goal.currency);
}

export function holdTransferId(pledgeId: string): string {
  return deterministicId('tr', 'pledge-hold', pledgeId);
}

/** The counter keys of a pledge's steps (see AggregateStore.incrementCounters). */
export const counterKeys = {
  reserve: (pledgeId: string) => `reserve:${pledgeId}`,
  release: (pledgeId: string) => `release:${pledgeId}`,
  cancel: (pledgeId: string) => `cancel:${pledgeId}`,
  left: (pledgeId: string) => `left:${pledgeId}`,
} as const;

export class CampaignWrites {
  constructor(readonly options: CampaignsOptions) {}

  now(): Date {
    return this.options.clock.now();
  }

  async view(campaignId: string): Promise<CampaignView> {
    const loaded = await this.options.campaigns.get(campaignId, 'campaign');
    return { campaign: loaded.state, totals: totalsOf(loaded.state, loaded.counters) };
  }

  /** Writes a campaign decision with its events on the outbox (one version-guarded update). */
  async decideCampaign(campaignId: string, decide: (campaign: Campaign) => { campaign: Campaign; events: readonly CampaignEvent[] }): Promise<CampaignView> {
    const { aggregate } = await this.options.campaigns.update(
      campaignId,
      (current) => {
        const decision = decide(current.state);
        const events = campaignEventsToOutbox(decision.events, { aggregateId: campaignId, version: current.version + 1, topicPrefix: this.options.topicPrefix });
        return { state: decision.campaign, events, result: undefined };
      },
      'campaign',
    );
    return { campaign: aggregate.state, totals: totalsOf(aggregate.state, aggregate.counters) };
  }

  async decidePledge(pledgeId: string, decide: (pledge: Pledge) => { pledge: Pledge; events: readonly PledgeEvent[] }): Promise<Pledge> {
    const { aggregate } = await this.options.pledges.update(
      pledgeId,
      (current) => {
        const decision = decide(current.state);
        return { state: decision.pledge, events: pledgeEventsToOutbox(decision.events, { aggregateId: pledgeId, version: current.version + 1, topicPrefix: this.options.topicPrefix }), result: undefined };
      },
      'pledge',
    );
    return aggregate.state;
  }

  /** Pays `amount` out of the campaign's escrow account to `creditAccountId`, once per `transferId`. */
  async payFromEscrow(campaign: Campaign, payment: { transferId: string; creditAccountId: string; amount: Money; referenceKind: string; referenceId: string }): Promise<void> {
    if (payment.amount.amountMinor === 0n) return;
    await this.options.ledger.createTransfer({
      id: payment.transferId,
      mode: 'single_phase',
      debitAccountId: escrowOf(campaign).id,
      creditAccountId: payment.creditAccountId,
      currency: payment.amount.currency,
      amountMinor: payment.amount.amountMinor,
      reference: { kind: payment.referenceKind, id: payment.referenceId },
    });
  }

  /** Every pledge of a campaign (settlement and refunds: a query that scans on the embedded server). */
  async pledgesOf(campaignId: string): Promise<Pledge[]> {
    return (await this.options.pledges.find({ 'state.campaignId': campaignId }, { limit: Number.MAX_SAFE_INTEGER })).map((loaded) => loaded.state);
  }
}

/** Runs `work` over `items` with at most `concurrency` in flight; the first failure is thrown after the rest settle. */
export async function forEachConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item).catch((error: unknown) => void failures.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}
