/**
 * Delivery after success: backers' milestone votes (weighted by the money each collected, read
 * from their position), releases by silence and overdue reports at the scheduler's call, payouts
 * to the creator once each, and pro-rata refunds when an admin finds that delivery failed.
 */
import { type CallerIdentity, DomainError, deterministicId, hasRole, money, type Money } from '@sizhong/kit';
import { acceptMilestone, advanceDelivery, type Campaign, type CollectedPledge, failDelivery, nextDueAt, planRefunds, refundPledge } from '../../domain/campaign';
import { walletAccount } from '../../domain/ledger/account';
import { campaignJobKinds, type CampaignView, type CampaignWrites } from './context';

export class Delivery {
  constructor(private readonly writes: CampaignWrites) {}

  private get options() {
    return this.writes.options;
  }

  async acceptMilestone(caller: CallerIdentity, campaign: Campaign, index: number): Promise<CampaignView> {
    if (!hasRole(caller, 'backer')) throw new DomainError('PERMISSION_DENIED', 'only backers accept milestones');
    const position = await this.options.positions.get(campaign.id, caller.participantId);
    const collected = money(campaign.goal.currency, BigInt(position?.collectedMinor ?? 0n));
    const view = await this.writes.decideCampaign(campaign.id, (current) => acceptMilestone(current, caller.participantId, collected, index, this.writes.now()));
    await this.payOutReleased(view.campaign);
    await this.scheduleNextDue(view.campaign);
    return view;
  }

  async failDelivery(caller: CallerIdentity, campaignId: string): Promise<CampaignView> {
    if (!hasRole(caller, 'admin')) throw new DomainError('PERMISSION_DENIED', 'only admins may fail a delivery');
    const view = await this.writes.decideCampaign(campaignId, (current) => (current.state === 'delivery_failed' ? { campaign: current, events: [] } : failDelivery(current, this.writes.now())));
    await this.refundAfterFailedDelivery(view.campaign);
    return view;
  }

  /** The scheduler's call at a milestone's overdue or silence time. */
  async advance(campaignId: string): Promise<CampaignView> {
    const view = await this.writes.decideCampaign(campaignId, (current) => (current.state === 'delivering' ? advanceDelivery(current, this.writes.now(), this.options.policy) : { campaign: current, events: [] }));
    await this.payOutReleased(view.campaign);
    await this.scheduleNextDue(view.campaign);
    return view;
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
    await this.payOutReleased(campaign);
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
