/**
 * Product crowdfunding use cases: load → decide in the pure domain → save (with the outbox),
 * with money moved through the ledger. Every multi-step flow (pledge, cancel, settle, release,
 * refund) is a saga of idempotent steps with deterministic ids, so a retry or the scheduler can
 * repeat any of it after a crash and nothing happens twice.
 */
import {
  type AggregateStore,
  type CallerIdentity,
  type Clock,
  DomainError,
  deterministicId,
  hasRole,
  type Loaded,
  type Money,
  requestFingerprint,
  type Scheduler,
} from '@sizhong/kit';
import {
  acceptMilestone,
  advanceDelivery,
  type Campaign,
  type CampaignEvent,
  type CampaignPolicy,
  cancelPledge,
  cancelPledgeReservation,
  collectPledge,
  type CollectedPledge,
  createCampaign,
  type CreateCampaignCommand,
  failDelivery,
  launchCampaign,
  nextDueAt,
  placePledge,
  planRefunds,
  planSettlement,
  type Pledge,
  type PledgeEvent,
  refundPledge,
  releasePledgeReservation,
  reservePledge,
  settleCampaign,
  startDelivery,
  viewablePledge,
  voidPledge,
} from '../domain/campaign';
import { escrowAccount, feeAccount, walletAccount } from '../domain/ledger/account';
import { campaignEventsToOutbox, pledgeEventsToOutbox } from './campaign-events';
import type { Ledger } from './ledger';

/** Holds outlive the deadline by this much, so settlement can run late without losing them. */
export const pledgeHoldGraceMs = 30 * 24 * 3_600_000;
export const campaignPageSizeMax = 100;

export type CreateCampaignInput = Omit<CreateCampaignCommand, 'campaignId' | 'creatorId'>;

export interface CampaignsOptions {
  readonly campaigns: AggregateStore<Campaign>;
  readonly pledges: AggregateStore<Pledge>;
  readonly ledger: Ledger;
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly policy: CampaignPolicy;
  readonly feeBps: number;
  readonly topicPrefix: string;
}

export const campaignJobKinds = { settle: 'settle-campaign', advance: 'advance-delivery' } as const;

function escrowOf(campaign: Campaign) {
  return escrowAccount('campaign', campaign.id, campaign.goal.currency);
}

export function holdTransferId(pledgeId: string): string {
  return deterministicId('tr', 'pledge-hold', pledgeId);
}

export class Campaigns {
  constructor(private readonly options: CampaignsOptions) {}

  private now(): Date {
    return this.options.clock.now();
  }

  /** Writes a campaign decision with its events on the outbox. */
  private async decideCampaign<Result>(
    campaignId: string,
    decide: (campaign: Campaign) => { campaign: Campaign; events: readonly CampaignEvent[]; result?: Result },
  ): Promise<{ campaign: Campaign; result: Result | undefined }> {
    const { aggregate, result } = await this.options.campaigns.update(
      campaignId,
      (current: Loaded<Campaign>) => {
        const decision = decide(current.state);
        const outbox = campaignEventsToOutbox(decision.events, { aggregateId: campaignId, version: current.version + 1, topicPrefix: this.options.topicPrefix });
        return { state: decision.campaign, events: outbox, result: decision.result };
      },
      'campaign',
    );
    return { campaign: aggregate.state, result };
  }

  private async decidePledge(pledgeId: string, decide: (pledge: Pledge) => { pledge: Pledge; events: readonly PledgeEvent[] }): Promise<Pledge> {
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

  async create(caller: CallerIdentity, idempotencyKey: string, input: CreateCampaignInput): Promise<Campaign> {
    if (!hasRole(caller, 'creator')) throw new DomainError('PERMISSION_DENIED', 'only creators may create campaigns');
    const campaignId = deterministicId('cp', 'campaign', caller.participantId, idempotencyKey);
    const { campaign, events } = createCampaign({ ...input, campaignId, creatorId: caller.participantId }, this.now(), this.options.policy);
    const outcome = await this.options.campaigns.create(
      campaignId,
      campaign,
      campaignEventsToOutbox(events, { aggregateId: campaignId, version: 1, topicPrefix: this.options.topicPrefix }),
      requestFingerprint(input),
    );
    return outcome.aggregate.state;
  }

  async launch(caller: CallerIdentity, campaignId: string): Promise<Campaign> {
    await this.visibleCampaign(caller, campaignId);
    const { campaign } = await this.decideCampaign(campaignId, (current) =>
      current.state === 'live' && current.creatorId === caller.participantId ? { campaign: current, events: [] } : launchCampaign(current, caller.participantId, this.now(), this.options.policy),
    );
    await this.options.ledger.openAccount(escrowOf(campaign));
    await this.options.scheduler.schedule({ id: `${campaignJobKinds.settle}:${campaignId}`, kind: campaignJobKinds.settle, dueAt: campaign.endsAt, payload: { campaignId } });
    return campaign;
  }

  /** Drafts are visible to their creator only; everyone else gets NOT_FOUND. */
  async visibleCampaign(caller: CallerIdentity | undefined, campaignId: string): Promise<Campaign> {
    const loaded = await this.options.campaigns.load(campaignId);
    if (!loaded || (loaded.state.state === 'draft' && loaded.state.creatorId !== caller?.participantId && !hasRole(caller, 'admin', 'regulator'))) {
      throw new DomainError('NOT_FOUND', `campaign ${campaignId} not found`);
    }
    return loaded.state;
  }

  async list(caller: CallerIdentity | undefined, options: { state?: string; limit: number; after?: string }): Promise<Campaign[]> {
    const filter: Record<string, unknown> = {};
    if (options.state) filter['state.state'] = options.state;
    if (options.state === 'draft') filter['state.creatorId'] = caller?.participantId ?? '';
    else if (!options.state) filter['state.state'] = { $ne: 'draft' };
    if (options.after) filter['_id'] = { $gt: options.after };
    const page = await this.options.campaigns.find(filter, { limit: Math.min(options.limit, campaignPageSizeMax) });
    return page.map((entry) => entry.state);
  }

  /**
   * Reserve a tier unit on the campaign, hold the money on the backer's wallet, record the pledge.
   * A refused hold gives the unit back. A replay (same key) finishes or returns the first pledge.
   */
  async placePledge(caller: CallerIdentity, campaignId: string, idempotencyKey: string, tierId: string | undefined, amount: Money): Promise<Pledge> {
    if (!hasRole(caller, 'backer')) throw new DomainError('PERMISSION_DENIED', 'only backers may pledge');
    await this.visibleCampaign(caller, campaignId);
    const pledgeId = deterministicId('pl', 'pledge', caller.participantId, campaignId, idempotencyKey);
    const existing = await this.options.pledges.load(pledgeId);
    if (existing) {
      const same = existing.state.amount.amountMinor === amount.amountMinor && existing.state.amount.currency === amount.currency && (existing.state.tierId ?? '') === (tierId ?? '');
      if (!same) throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for a different pledge');
      return existing.state;
    }
    const { campaign } = await this.decideCampaign(campaignId, (current) => ({
      ...reservePledge(current, { pledgeId, backerId: caller.participantId, ...(tierId ? { tierId } : {}), amount }, this.now()),
      events: [],
    }));
    return this.completePledge(campaign, pledgeId, { knownAbsent: true });
  }

  /** Steps after the reservation: hold the money, then record the pledge (or release on refusal). */
  private async completePledge(campaign: Campaign, pledgeId: string, options: { knownAbsent?: boolean } = {}): Promise<Pledge> {
    const reservation = campaign.reservations.find((candidate) => candidate.pledgeId === pledgeId);
    if (!options.knownAbsent) {
      const existing = await this.options.pledges.load(pledgeId);
      if (existing) return existing.state;
    }
    if (!reservation) throw new DomainError('NOT_FOUND', `pledge ${pledgeId} not found`);
    const transferId = holdTransferId(pledgeId);
    try {
      await this.options.ledger.createTransfer({
        id: transferId,
        mode: 'two_phase',
        debitAccountId: walletAccount(reservation.backerId, reservation.amount.currency).id,
        creditAccountId: escrowOf(campaign).id,
        currency: reservation.amount.currency,
        amountMinor: reservation.amount.amountMinor,
        reference: { kind: 'pledge', id: pledgeId },
        timeoutMs: Math.max(1, campaign.endsAt.getTime() + pledgeHoldGraceMs - this.now().getTime()),
      });
    } catch (error) {
      if (error instanceof DomainError && error.code === 'INSUFFICIENT_FUNDS') {
        await this.decideCampaign(campaign.id, (current) => ({ ...releasePledgeReservation(current, pledgeId), events: [] }));
      }
      throw error;
    }
    const { pledge, events } = placePledge(campaign, { pledgeId, transferId }, this.now());
    const outcome = await this.options.pledges.create(pledgeId, pledge, pledgeEventsToOutbox(events, { aggregateId: pledgeId, version: 1, topicPrefix: this.options.topicPrefix }));
    return outcome.aggregate.state;
  }

  async pledge(caller: CallerIdentity, pledgeId: string): Promise<Pledge> {
    const loaded = await this.options.pledges.load(pledgeId);
    // Worded exactly like viewablePledge's refusal: an unknown id and someone else's look alike.
    if (!loaded) throw new DomainError('NOT_FOUND', 'pledge not found', { pledgeId });
    const campaign = await this.options.campaigns.get(loaded.state.campaignId, 'campaign');
    return viewablePledge(loaded.state, campaign.state, caller);
  }

  async campaignPledges(caller: CallerIdentity, campaignId: string, options: { limit: number; after?: string }): Promise<Pledge[]> {
    const campaign = await this.visibleCampaign(caller, campaignId);
    if (campaign.creatorId !== caller.participantId && !hasRole(caller, 'admin', 'regulator')) throw new DomainError('NOT_FOUND', `campaign ${campaignId} pledges not found`);
    const filter: Record<string, unknown> = { 'state.campaignId': campaignId };
    if (options.after) filter['_id'] = { $gt: options.after };
    return (await this.options.pledges.find(filter, { limit: Math.min(options.limit, campaignPageSizeMax) })).map((entry) => entry.state);
  }

  /** The backer cancels: the campaign releases the reservation (deciding the last-call rule), the pledge is cancelled, the hold voided. */
  async cancelPledge(caller: CallerIdentity, pledgeId: string): Promise<Pledge> {
    const pledge = await this.pledge(caller, pledgeId);
    if (pledge.backerId !== caller.participantId) throw new DomainError('NOT_FOUND', 'pledge not found', { pledgeId });
    if (pledge.state === 'cancelled') {
      await this.options.ledger.voidPending(pledge.transferId).catch(() => undefined);
      return pledge;
    }
    cancelPledge(pledge, caller.participantId, this.now());
    await this.decideCampaign(pledge.campaignId, (current) => ({ ...cancelPledgeReservation(current, pledge, this.now(), this.options.policy), events: [] }));
    const cancelled = await this.decidePledge(pledgeId, (current) => cancelPledge(current, caller.participantId, this.now()));
    await this.options.ledger.voidPending(pledge.transferId);
    return cancelled;
  }

  async acceptMilestone(caller: CallerIdentity, campaignId: string, index: number): Promise<Campaign> {
    if (!hasRole(caller, 'backer')) throw new DomainError('PERMISSION_DENIED', 'only backers accept milestones');
    await this.visibleCampaign(caller, campaignId);
    const { campaign } = await this.decideCampaign(campaignId, (current) => acceptMilestone(current, caller.participantId, index, this.now()));
    await this.payOutReleased(campaign);
    await this.scheduleNextDue(campaign);
    return campaign;
  }

  async failDelivery(caller: CallerIdentity, campaignId: string): Promise<Campaign> {
    if (!hasRole(caller, 'admin')) throw new DomainError('PERMISSION_DENIED', 'only admins may fail a delivery');
    const { campaign } = await this.decideCampaign(campaignId, (current) => (current.state === 'delivery_failed' ? { campaign: current, events: [] } : failDelivery(current, this.now())));
    await this.refundAfterFailedDelivery(campaign);
    return campaign;
  }

  /** The scheduler's call at `endsAt` (and again until it completes): settle and move the money. */
  async settle(campaignId: string): Promise<Campaign> {
    let campaign = (await this.options.campaigns.get(campaignId, 'campaign')).state;
    // Finish pledge sagas a crash interrupted, so settlement decides on complete pledges.
    for (const reservation of campaign.reservations) {
      if (!(await this.options.pledges.load(reservation.pledgeId))) {
        await this.completePledge(campaign, reservation.pledgeId).catch((error: unknown) => {
          if (!(error instanceof DomainError && error.code === 'INSUFFICIENT_FUNDS')) throw error;
        });
      }
    }
    campaign = (await this.decideCampaign(campaignId, (current) => (current.state === 'live' ? settleCampaign(current, this.now()) : { campaign: current, events: [] }))).campaign;
    if (campaign.state === 'delivering' || campaign.state === 'delivered') {
      // A rerun after a crash past startDelivery: only the payouts may be missing.
      await this.payOutReleased(campaign);
      await this.scheduleNextDue(campaign);
      return campaign;
    }
    if (campaign.state !== 'succeeded' && campaign.state !== 'failed') return campaign;

    const pledges = await Promise.all(campaign.reservations.map(async (reservation) => (await this.options.pledges.get(reservation.pledgeId, 'pledge')).state));
    const plan = planSettlement(campaign, pledges, this.options.feeBps);
    for (const entry of plan.pledgesToVoid) {
      await this.options.ledger.voidPending(entry.transferId).catch(ignoreResolved);
      await this.decidePledge(entry.pledgeId, (current) => voidPledge(current, this.now()));
    }
    for (const entry of plan.pledgesToCollect) {
      await this.options.ledger.postPending(entry.transferId).catch(ignoreResolved);
      await this.decidePledge(entry.pledgeId, (current) => collectPledge(current, this.now()));
    }
    if (plan.outcome === 'failed') return campaign;

    const escrow = escrowOf(campaign);
    if (plan.fee.amountMinor > 0n) {
      const fee = await this.options.ledger.openAccount(feeAccount(plan.fee.currency));
      await this.options.ledger.createTransfer({
        id: deterministicId('tr', 'campaign-fee', campaignId),
        mode: 'single_phase',
        debitAccountId: escrow.id,
        creditAccountId: fee.id,
        currency: plan.fee.currency,
        amountMinor: plan.fee.amountMinor,
        reference: { kind: 'campaign-fee', id: campaignId },
      });
    }
    campaign = (await this.decideCampaign(campaignId, (current) => (current.state === 'succeeded' ? startDelivery(current, plan, this.now()) : { campaign: current, events: [] }))).campaign;
    await this.payOutReleased(campaign);
    await this.scheduleNextDue(campaign);
    return campaign;
  }

  /** The scheduler's call at a milestone's overdue or silence time. */
  async advance(campaignId: string): Promise<Campaign> {
    const { campaign } = await this.decideCampaign(campaignId, (current) => (current.state === 'delivering' ? advanceDelivery(current, this.now(), this.options.policy) : { campaign: current, events: [] }));
    await this.payOutReleased(campaign);
    await this.scheduleNextDue(campaign);
    return campaign;
  }

  /** Moves every released amount (immediate payout or milestone) to the creator, once each. */
  private async payOutReleased(campaign: Campaign): Promise<void> {
    if (campaign.state !== 'delivering' && campaign.state !== 'delivered' && campaign.state !== 'delivery_failed') return;
    const parts: { id: string; amount: Money }[] = [];
    if (campaign.milestones.length === 0 && campaign.state === 'delivered') {
      parts.push({ id: deterministicId('tr', 'campaign-payout', campaign.id), amount: campaign.payout.net });
    }
    for (const milestone of campaign.milestones) {
      if (milestone.state === 'released') parts.push({ id: deterministicId('tr', 'milestone-release', campaign.id, String(milestone.index)), amount: milestone.amount });
    }
    const creatorWallet = walletAccount(campaign.creatorId, campaign.goal.currency);
    for (const part of parts) {
      if (part.amount.amountMinor === 0n) continue;
      await this.options.ledger.createTransfer({
        id: part.id,
        mode: 'single_phase',
        debitAccountId: escrowOf(campaign).id,
        creditAccountId: creatorWallet.id,
        currency: part.amount.currency,
        amountMinor: part.amount.amountMinor,
        reference: { kind: 'campaign-payout', id: campaign.id },
      });
    }
  }

  private async refundAfterFailedDelivery(campaign: Campaign): Promise<void> {
    if (campaign.state !== 'delivery_failed') return;
    await this.payOutReleased(campaign);
    const pledges = await Promise.all(campaign.reservations.map(async (reservation) => (await this.options.pledges.get(reservation.pledgeId, 'pledge')).state));
    const collected = pledges.filter((pledge): pledge is CollectedPledge => pledge.state === 'collected' || (pledge.state === 'refunded' && pledge.collectedAt !== undefined)) as CollectedPledge[];
    const refunds = planRefunds(campaign.refundAmount, collected.map((pledge) => ({ ...pledge, state: 'collected', collectedAt: pledge.collectedAt })) as CollectedPledge[]);
    for (const refund of refunds) {
      if (refund.amount.amountMinor > 0n) {
        await this.options.ledger.createTransfer({
          id: deterministicId('tr', 'delivery-refund', refund.pledgeId),
          mode: 'single_phase',
          debitAccountId: escrowOf(campaign).id,
          creditAccountId: walletAccount(refund.backerId, refund.amount.currency).id,
          currency: refund.amount.currency,
          amountMinor: refund.amount.amountMinor,
          reference: { kind: 'pledge-refund', id: refund.pledgeId },
        });
      }
      await this.decidePledge(refund.pledgeId, (current) => refundPledge(current, refund.amount, this.now()));
    }
  }

  private async scheduleNextDue(campaign: Campaign): Promise<void> {
    const dueAt = nextDueAt(campaign, this.options.policy);
    if (!dueAt || campaign.state === 'live') return;
    await this.options.scheduler.schedule({ id: `${campaignJobKinds.advance}:${campaign.id}:${dueAt.getTime()}`, kind: campaignJobKinds.advance, dueAt, payload: { campaignId: campaign.id } });
  }
}

/** A hold already resolved the same way by an earlier attempt is fine; anything else is not. */
function ignoreResolved(error: unknown): void {
  if (error instanceof DomainError && error.code === 'TRANSFER_NOT_PENDING') return;
  throw error;
}
