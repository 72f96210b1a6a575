/**
 * Settlement after `endsAt`, the one step of the `campaign-settlement` saga (campaigns.ts): the
 * scheduler starts it at the deadline, the kit's recovery loop drives it on until it completes,
 * and the campaign recovery loop starts it for a campaign past its deadline whose job was lost.
 * Every step is idempotent, so a rerun redoes only what is missing:
 *   1. the fence: one guarded write moves the campaign `live` → `closing`; pledges and
 *      cancellations are guarded on `live`, so from here none lands, whatever the clock of the
 *      replica taking it says (the settling replica's clock only decides when to fence);
 *   2. the books: every unfinished pledge saga and cancellation saga is driven on (completed or
 *      given back: nothing new can land), and the outcome is decided on the pending
 *      pledge documents (not on the live counters);
 *   3. the money: every hold posted or voided, the fee (fixed at launch) split off, then delivery.
 */
import { deterministicId, findingReintroduced } from '@sizhong/kit';
import {
  type Campaign,
  cancelPledge,
  closeCampaign,
  collectPledge,
  planSettlement,
  type FailedCampaign,
  type SettledTotals,
  type SucceededCampaign,
  settleCampaign,
  startDelivery,
  voidPledge,
} from '../../domain/campaign';
import { feeAccount } from '../../domain/ledger/account';
import { type CampaignView, type CampaignWrites, counterKeys, forEachConcurrently, settlementConcurrency } from './context';
import type { Delivery } from './delivery';
import { ignoreResolved } from './pledge-saga';
import type { Pledging } from './pledging';

export class Settlement {
  constructor(
    private readonly writes: CampaignWrites,
    private readonly pledging: Pledging,
    private readonly delivery: Delivery,
  ) {}

  private get options() {
    return this.writes.options;
  }

  /** Settles a campaign past its end (by this replica's clock); a live one not yet ended is returned as it is. */
  async settle(campaignId: string): Promise<CampaignView> {
    let view = await this.writes.view(campaignId);
    if (view.campaign.state === 'live') {
      if (this.writes.now().getTime() < view.campaign.endsAt.getTime()) return view;
      if (findingReintroduced('no-deadline-fence')) return this.settleWithoutFence(view.campaign);
      view = await this.writes.decideCampaign(campaignId, (current) => (current.state === 'live' ? closeCampaign(current, this.writes.now()) : { campaign: current, events: [] }));
    }
    if (view.campaign.state === 'closing') {
      const totals = await this.closeBooks(view.campaign);
      view = await this.writes.decideCampaign(campaignId, (current) => (current.state === 'closing' ? settleCampaign(current, totals, this.writes.now()) : { campaign: current, events: [] }));
    }
    const { campaign } = view;
    if (campaign.state === 'delivering' || campaign.state === 'delivered') {
      // A rerun after a crash past startDelivery: only the payouts may be missing.
      await this.delivery.payOutReleased(campaign);
      await this.delivery.scheduleNextDue(campaign);
      return view;
    }
    if (campaign.state !== 'succeeded' && campaign.state !== 'failed') return view;
    return this.moveTheMoney(campaign);
  }

  /**
   * The fault-injection run's switch `no-deadline-fence` brings back issue 16's fourth finding: the
   * books are read while the campaign is still live, by this replica's clock alone, so a pledge a
   * replica whose clock is behind still takes may land after them.
   */
  private async settleWithoutFence(campaign: Campaign): Promise<CampaignView> {
    const totals = await this.closeBooks(campaign);
    const view = await this.writes.decideCampaign(campaign.id, (current) => (current.state === 'live' ? settleCampaign(current, totals, this.writes.now()) : { campaign: current, events: [] }));
    if (view.campaign.state !== 'succeeded' && view.campaign.state !== 'failed') return view;
    return this.moveTheMoney(view.campaign);
  }

  /**
   * Behind the fence: drives every unfinished pledge saga on (nothing new can land now) and
   * finishes half-done cancellations, then sums the pending pledges: the totals the outcome is
   * decided on.
   */
  private async closeBooks(campaign: Campaign): Promise<SettledTotals> {
    const recentKeys = await this.options.campaigns.counterKeys(campaign.id);
    const positions = await this.options.positions.ofCampaign(campaign.id);
    const written = new Set((await this.writes.pledgesOf(campaign.id)).map((pledge) => pledge.id));
    const unfinished = positions.flatMap((position) =>
      [...position.pledges.filter((entry) => !written.has(entry.pledgeId)), ...(position.ended ?? []).filter((entry) => entry.state === 'compensating')].map((entry) => ({ backerId: position.backerId, entry })),
    );
    await forEachConcurrently(unfinished, settlementConcurrency, ({ backerId, entry }) => this.pledging.sagas.driveOn(campaign, backerId, entry));
    await this.dropGivenBack(campaign);
    await this.pledging.finishCancellationsOf(campaign.id);
    const pledges = await this.writes.pledgesOf(campaign.id);
    // A cancellation begun before cancellations had saga records, that released its counters but stopped before the pledge write, is finished too.
    const halfCancelled = pledges.filter((pledge) => pledge.state === 'pending' && recentKeys.includes(counterKeys.cancel(pledge.id)));
    for (const pledge of halfCancelled) {
      const cancelled = await this.writes.decidePledge(pledge.id, (current) => cancelPledge(current, current.backerId, this.writes.now()));
      await this.pledging.finishCancellation(cancelled);
    }
    const pending = (await this.writes.pledgesOf(campaign.id)).filter((pledge) => pledge.state === 'pending');
    return {
      pledged: { currency: campaign.goal.currency, amountMinor: pending.reduce((sum, pledge) => sum + pledge.amount.amountMinor, 0n) },
      pledgesCount: pending.length,
      backersCount: new Set(pending.map((pledge) => pledge.backerId)).size,
    };
  }

  /**
   * A pledge document whose saga another driver gave back (its first driver wrote the document
   * while recovery, finding the reservation's key gone from the counters' window, gave the saga
   * back and voided the hold): it holds no money, so it does not stand. Cancelled, never collected.
   */
  private async dropGivenBack(campaign: Campaign): Promise<void> {
    const givenBack = new Set(
      (await this.options.positions.ofCampaign(campaign.id)).flatMap((position) => (position.ended ?? []).filter((entry) => entry.state !== 'cancelled').map((entry) => entry.pledgeId)),
    );
    if (givenBack.size === 0) return;
    const stranded = (await this.writes.pledgesOf(campaign.id)).filter((pledge) => pledge.state === 'pending' && givenBack.has(pledge.id));
    for (const pledge of stranded) {
      await this.options.ledger.voidPending(pledge.transferId).catch(ignoreResolved);
      await this.writes.decidePledge(pledge.id, (current) => cancelPledge(current, current.backerId, this.writes.now()));
    }
  }

  private async moveTheMoney(campaign: SucceededCampaign | FailedCampaign): Promise<CampaignView> {
    const pledges = (await this.writes.pledgesOf(campaign.id)).filter((pledge) => pledge.state !== 'cancelled');
    // The fee fixed at launch; campaigns launched before it was recorded pay the configured one.
    const plan = planSettlement(campaign, pledges, campaign.feeBps ?? this.options.feeBps);
    await forEachConcurrently(plan.pledgesToVoid, settlementConcurrency, async (entry) => {
      await this.options.ledger.voidPending(entry.transferId).catch(ignoreResolved);
      await this.writes.decidePledge(entry.pledgeId, (current) => voidPledge(current, this.writes.now()));
    });
    await forEachConcurrently(plan.pledgesToCollect, settlementConcurrency, async (entry) => {
      await this.options.ledger.postPending(entry.transferId);
      await this.writes.decidePledge(entry.pledgeId, (current) => collectPledge(current, this.writes.now()));
    });
    if (plan.outcome === 'failed') return this.writes.view(campaign.id);

    // Each backer's collected money is their weight in milestone votes.
    const collectedByBacker = new Map<string, bigint>();
    for (const pledge of pledges.filter((each) => each.state === 'pending' || each.state === 'collected')) {
      collectedByBacker.set(pledge.backerId, (collectedByBacker.get(pledge.backerId) ?? 0n) + pledge.amount.amountMinor);
    }
    await this.options.positions.setCollected(campaign.id, collectedByBacker);

    if (plan.fee.amountMinor > 0n) {
      const fee = await this.options.ledger.openAccount(feeAccount(plan.fee.currency));
      await this.writes.payFromEscrow(campaign, { transferId: deterministicId('tr', 'campaign-fee', campaign.id), creditAccountId: fee.id, amount: plan.fee, referenceKind: 'campaign-fee', referenceId: campaign.id });
    }
    const view = await this.writes.decideCampaign(campaign.id, (current) => (current.state === 'succeeded' ? startDelivery(current, plan, this.writes.now()) : { campaign: current, events: [] }));
    await this.delivery.payOutReleased(view.campaign);
    await this.delivery.scheduleNextDue(view.campaign);
    return view;
  }
}

