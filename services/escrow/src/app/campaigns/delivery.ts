/**
 * Delivery after success: backers' milestone votes (weighted by the money each collected, read
 * from their position), releases by silence and overdue reports at the scheduler's call, payouts
 * to the creator once each, and pro-rata refunds when an admin finds that delivery failed.
 *
 * Every delivery decision runs as a `campaign-delivery` saga (kit model): its record is written
 * before the decision, so a payout that fails after the decision (the last milestone's, when the
 * campaign is already `delivered` and no job is left to retry it) is driven on by the kit's
 * recovery loop until the money has moved. Its two steps: `decide` (a refusal of the decision is
 * kept as a fact and answered, nothing to give back) and the payouts (idempotent: deterministic
 * transfer ids). Costs 2 writes more than the bare decision (the record and its completion).
 */
import { type CallerIdentity, DomainError, deterministicId, type ErrorCode, hasRole, money, type Money, requestFingerprint, type Saga, type SagaRefusal, refusalError } from '@sizhong/kit';
import { randomUUID } from 'node:crypto';
import { acceptMilestone, advanceDelivery, type Campaign, type CollectedPledge, failDelivery, nextDueAt, planRefunds, refundPledge } from '../../domain/campaign';
import { walletAccount } from '../../domain/ledger/account';
import { campaignJobKinds, type CampaignView, type CampaignWrites } from './context';

export const deliverySagaKind = 'campaign-delivery';

/** The codes a delivery decision refuses with (the domain's): answered, never retried. */
export const deliveryDecisionRefusals: readonly ErrorCode[] = ['PERMISSION_DENIED', 'INVALID_STATE', 'NOT_FOUND', 'INVALID_ARGUMENT'];

export type DeliveryAction =
  | { readonly kind: 'accept'; readonly campaignId: string; readonly backerId: string; readonly index: number; readonly collected: Money }
  | { readonly kind: 'advance'; readonly campaignId: string }
  | { readonly kind: 'fail'; readonly campaignId: string };

interface DeliveryFacts {
  refusal?: SagaRefusal;
}

interface DeliveryAnswer {
  refusal?: SagaRefusal;
}

export class Delivery {
  private saga: Saga<DeliveryAction, DeliveryAnswer> | undefined;

  constructor(private readonly writes: CampaignWrites) {}

  private get options() {
    return this.writes.options;
  }

  /** Defines the delivery saga on the service's sagas (once, at build). */
  defineSaga(): void {
    this.saga = this.options.sagas.define<DeliveryAction, DeliveryFacts, DeliveryAnswer>({
      kind: deliverySagaKind,
      initialFacts: () => ({}),
      stages: [
        {
          name: 'decide',
          refusals: [],
          run: async (action) => {
            try {
              await this.decide(action);
              return {};
            } catch (error) {
              // A refused decision changed nothing: the payouts still run (they pay what earlier decisions released).
              if (error instanceof DomainError && deliveryDecisionRefusals.includes(error.code)) return { refusal: { code: error.code, message: error.message, details: error.details } };
              throw error;
            }
          },
        },
      ],
      finish: {
        refusals: [],
        run: async (action, facts) => {
          await this.payOut(action.campaignId);
          return facts.refusal ? { refusal: facts.refusal } : {};
        },
      },
    });
  }

  async acceptMilestone(caller: CallerIdentity, campaign: Campaign, index: number): Promise<CampaignView> {
    if (!hasRole(caller, 'backer')) throw new DomainError('PERMISSION_DENIED', 'only backers accept milestones');
    const position = await this.options.positions.get(campaign.id, caller.participantId);
    const action: DeliveryAction = { kind: 'accept', campaignId: campaign.id, backerId: caller.participantId, index, collected: money(campaign.goal.currency, BigInt(position?.collectedMinor ?? 0n)) };
    return this.run(`accept:${campaign.id}:${index}:${caller.participantId}:${randomUUID()}`, action);
  }

  async failDelivery(caller: CallerIdentity, campaignId: string): Promise<CampaignView> {
    if (!hasRole(caller, 'admin')) throw new DomainError('PERMISSION_DENIED', 'only admins may fail a delivery');
    return this.run(`fail:${campaignId}:${randomUUID()}`, { kind: 'fail', campaignId });
  }

  /** The scheduler's call at a milestone's overdue or silence time: one saga per job. */
  async advance(campaignId: string, jobId: string): Promise<CampaignView> {
    return this.run(`advance:${jobId}`, { kind: 'advance', campaignId });
  }

  private async run(id: string, action: DeliveryAction): Promise<CampaignView> {
    if (!this.saga) throw new Error('the delivery saga is not defined');
    const answer = await this.saga.run({ id, input: action, fingerprint: requestFingerprint(action) });
    if (answer.refusal) throw refusalError(answer.refusal);
    return this.writes.view(action.campaignId);
  }

  /** One version-guarded write (none when nothing changes). */
  private async decide(action: DeliveryAction): Promise<void> {
    const now = this.writes.now();
    switch (action.kind) {
      case 'accept':
        await this.writes.decideCampaign(action.campaignId, (current) => acceptMilestone(current, action.backerId, action.collected, action.index, now));
        return;
      case 'advance':
        await this.writes.decideCampaign(action.campaignId, (current) => (current.state === 'delivering' ? advanceDelivery(current, now, this.options.policy) : { campaign: current, events: [] }));
        return;
      case 'fail':
        await this.writes.decideCampaign(action.campaignId, (current) => (current.state === 'delivery_failed' ? { campaign: current, events: [] } : failDelivery(current, now)));
        return;
    }
  }

  /** Everything the campaign's state says is owed: released amounts, refunds after a failed delivery, the next deadline. */
  private async payOut(campaignId: string): Promise<void> {
    const { campaign } = await this.writes.view(campaignId);
    await this.payOutReleased(campaign);
    await this.refundAfterFailedDelivery(campaign);
    await this.scheduleNextDue(campaign);
  }

  /** Moves every released amount (immediate payout or milestone) to the creator, once each. */
  async payOutReleased(campaign: Campaign): Promise<void> {
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
      await this.writes.payFromEscrow(campaign, { transferId: part.id, creditAccountId: creatorWallet.id, amount: part.amount, referenceKind: 'campaign-payout', referenceId: campaign.id });
    }
  }

  async scheduleNextDue(campaign: Campaign): Promise<void> {
    const dueAt = nextDueAt(campaign, this.options.policy);
    if (!dueAt || campaign.state === 'live') return;
    await this.options.scheduler.schedule({ id: `${campaignJobKinds.advance}:${campaign.id}:${dueAt.getTime()}`, kind: campaignJobKinds.advance, dueAt, payload: { campaignId: campaign.id } });
  }

  private async refundAfterFailedDelivery(campaign: Campaign): Promise<void> {
    if (campaign.state !== 'delivery_failed') return;
    const pledges = await this.writes.pledgesOf(campaign.id);
    // A rerun finds some pledges refunded already: they keep their place in the pro-rata plan.
    const collected: CollectedPledge[] = [];
    for (const pledge of pledges) {
      if (pledge.state === 'collected') collected.push(pledge);
      else if (pledge.state === 'refunded' && pledge.collectedAt !== undefined) {
        const { refundReason: _reason, refundedAmount: _amount, refundedAt: _at, collectedAt, ...fields } = pledge;
        collected.push({ ...fields, state: 'collected', collectedAt });
      }
    }
    for (const refund of planRefunds(campaign.refundAmount, collected)) {
      const refundTo = walletAccount(refund.backerId, refund.amount.currency).id;
      await this.writes.payFromEscrow(campaign, { transferId: deterministicId('tr', 'delivery-refund', refund.pledgeId), creditAccountId: refundTo, amount: refund.amount, referenceKind: 'pledge-refund', referenceId: refund.pledgeId });
      await this.writes.decidePledge(refund.pledgeId, (current) => refundPledge(current, refund.amount, this.writes.now()));
    }
  }
}
