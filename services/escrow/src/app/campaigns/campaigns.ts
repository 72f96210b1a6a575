/**
 * Product crowdfunding use cases, one class per flow: pledging (pledging.ts), settlement
 * (settlement.ts) and delivery (delivery.ts); this facade adds creating, launching and reading
 * campaigns, and is what the gRPC adapter and the scheduler call.
 */
import { type CallerIdentity, DomainError, deterministicId, hasRole, type Money, requestFingerprint, type Saga } from '@sizhong/kit';
import { createCampaign, type CreateCampaignCommand, launchCampaign, type Pledge } from '../../domain/campaign';
import { initialCounters, totalsOf } from '../../storage/campaign-store';
import { campaignEventsToOutbox } from './campaign-events';
import { campaignJobKinds, campaignPageSizeMax, type CampaignsOptions, type CampaignView, CampaignWrites, escrowOf } from './context';
import { Delivery } from './delivery';
import { Pledging } from './pledging';
import { CampaignRecovery } from './recovery';
import { Settlement } from './settlement';

export const settlementSagaKind = 'campaign-settlement';

/** The settlement saga of a campaign: one per campaign, so every starter names the same record. */
export function settlementSagaId(campaignId: string): string {
  return `settle:${campaignId}`;
}

export type CreateCampaignInput = Omit<CreateCampaignCommand, 'campaignId' | 'creatorId'>;

export class Campaigns {
  private readonly writes: CampaignWrites;
  private readonly pledging: Pledging;
  private readonly delivery: Delivery;
  private readonly settlement: Settlement;
  private readonly settlementSaga: Saga<{ campaignId: string }, { state: string }>;
  private readonly recovery: CampaignRecovery;

  constructor(private readonly options: CampaignsOptions) {
    this.writes = new CampaignWrites(options);
    this.pledging = new Pledging(this.writes);
    this.delivery = new Delivery(this.writes);
    this.delivery.defineSaga();
    this.settlement = new Settlement(this.writes, this.pledging, this.delivery);
    // Settlement never gives back: every failure leaves it running, and the kit's recovery loop drives it on until it completes.
    this.settlementSaga = options.sagas.define<{ campaignId: string }, object, { state: string }>({
      kind: settlementSagaKind,
      initialFacts: () => ({}),
      stages: [],
      finish: {
        refusals: [],
        run: async ({ campaignId }) => {
          const { campaign } = await this.settlement.settle(campaignId);
          // A replica whose clock is behind the deadline leaves the saga running for a later attempt.
          if (campaign.state === 'live') throw new Error(`campaign ${campaignId} ends at ${campaign.endsAt.toISOString()}, after this replica's now`);
          return { state: campaign.state };
        },
      },
    });
    this.recovery = new CampaignRecovery(this.writes, this.pledging, (campaignId) => this.settle(campaignId));
  }

  async create(caller: CallerIdentity, idempotencyKey: string, input: CreateCampaignInput): Promise<CampaignView> {
    if (!hasRole(caller, 'creator')) throw new DomainError('PERMISSION_DENIED', 'only creators may create campaigns');
    const campaignId = deterministicId('cp', 'campaign', caller.participantId, idempotencyKey);
    const { campaign, events } = createCampaign({ ...input, campaignId, creatorId: caller.participantId }, this.writes.now(), this.options.policy);
    const outbox = campaignEventsToOutbox(events, { aggregateId: campaignId, version: 1, topicPrefix: this.options.topicPrefix });
    const outcome = await this.options.campaigns.create(campaignId, campaign, outbox, requestFingerprint(input), initialCounters(campaign));
    return { campaign: outcome.aggregate.state, totals: totalsOf(outcome.aggregate.state, outcome.aggregate.counters) };
  }

  async launch(caller: CallerIdentity, campaignId: string): Promise<CampaignView> {
    await this.visibleCampaign(caller, campaignId);
    const view = await this.writes.decideCampaign(campaignId, (current) =>
      current.state === 'live' && current.creatorId === caller.participantId ? { campaign: current, events: [] } : launchCampaign(current, caller.participantId, this.writes.now(), this.options.policy, this.options.feeBps),
    );
    await this.options.ledger.openAccount(escrowOf(view.campaign));
    await this.options.scheduler.schedule({ id: `${campaignJobKinds.settle}:${campaignId}`, kind: campaignJobKinds.settle, dueAt: view.campaign.endsAt, payload: { campaignId } });
    return view;
  }

  /** Drafts are visible to their creator only; everyone else gets NOT_FOUND. */
  async visibleCampaign(caller: CallerIdentity | undefined, campaignId: string): Promise<CampaignView> {
    const loaded = await this.options.campaigns.load(campaignId);
    if (!loaded || (loaded.state.state === 'draft' && loaded.state.creatorId !== caller?.participantId && !hasRole(caller, 'admin', 'regulator'))) {
      throw new DomainError('NOT_FOUND', `campaign ${campaignId} not found`);
    }
    return { campaign: loaded.state, totals: totalsOf(loaded.state, loaded.counters) };
  }

  async list(caller: CallerIdentity | undefined, options: { state?: string; limit: number; after?: string }): Promise<CampaignView[]> {
    const filter: Record<string, unknown> = {};
    if (options.state) filter['state.state'] = options.state;
    if (options.state === 'draft') filter['state.creatorId'] = caller?.participantId ?? '';
    else if (!options.state) filter['state.state'] = { $ne: 'draft' };
    if (options.after) filter['_id'] = { $gt: options.after };
    const page = await this.options.campaigns.find(filter, { limit: Math.min(options.limit, campaignPageSizeMax) });
    return page.map((loaded) => ({ campaign: loaded.state, totals: totalsOf(loaded.state, loaded.counters) }));
  }

  placePledge(caller: CallerIdentity, campaignId: string, idempotencyKey: string, tierId: string | undefined, amount: Money): Promise<Pledge> {
    return this.pledging.placePledge(caller, campaignId, idempotencyKey, tierId, amount);
  }

  pledge(caller: CallerIdentity, pledgeId: string): Promise<Pledge> {
    return this.pledging.pledge(caller, pledgeId);
  }

  cancelPledge(caller: CallerIdentity, pledgeId: string): Promise<Pledge> {
    return this.pledging.cancelPledge(caller, pledgeId);
  }

  async campaignPledges(caller: CallerIdentity, campaignId: string, options: { limit: number; after?: string }): Promise<Pledge[]> {
    const { campaign } = await this.visibleCampaign(caller, campaignId);
    if (campaign.creatorId !== caller.participantId && !hasRole(caller, 'admin', 'regulator')) throw new DomainError('NOT_FOUND', `campaign ${campaignId} pledges not found`);
    const filter: Record<string, unknown> = { 'state.campaignId': campaignId };
    if (options.after) filter['_id'] = { $gt: options.after };
    return (await this.options.pledges.find(filter, { limit: Math.min(options.limit, campaignPageSizeMax) })).map((entry) => entry.state);
  }

  async acceptMilestone(caller: CallerIdentity, campaignId: string, index: number): Promise<CampaignView> {
    const { campaign } = await this.visibleCampaign(caller, campaignId);
    return this.delivery.acceptMilestone(caller, campaign, index);
  }

  failDelivery(caller: CallerIdentity, campaignId: string): Promise<CampaignView> {
    return this.delivery.failDelivery(caller, campaignId);
  }

  /** The scheduler's call at `endsAt` and the recovery loop's: starts the campaign's settlement saga, or answers from its record. */
  async settle(campaignId: string): Promise<CampaignView> {
    await this.settlementSaga.run({ id: settlementSagaId(campaignId), input: { campaignId }, fingerprint: requestFingerprint({ campaignId }) });
    return this.writes.view(campaignId);
  }

  /** The scheduler's call at a milestone's overdue or silence time (one delivery saga per job). */
  advance(campaignId: string, jobId: string): Promise<CampaignView> {
    return this.delivery.advance(campaignId, jobId);
  }

  /** The campaigns' recovery loop (recovery.ts). */
  recover(): Promise<number> {
    return this.recovery.recover();
  }
}

