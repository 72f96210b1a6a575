/**
 * Pledging and cancelling: sagas of idempotent steps over three documents and the ledger.
 *
 * A pledge (round trips in the comment of each step; 5 writes, 3 of them in parallel):
 *   1. the backer's position takes the pledge id (the saga's durable record, the per-backer cap,
 *      and whether the backer is new) ............................................. 1 write
 *   2. in parallel: the campaign's counters take the pledge, guarded by `state: live`,
 *      `endsAt > now` and the tier's stock (the deadline is a fact this write checks, so no
 *      pledge lands after it) ...................................................... 1 write
 *      and the hold on the backer's wallet, then its transfer document ............... 2 writes
 *   3. the pledge document, with PledgePlaced on its outbox ........................... 1 write
 * The campaign definition is read once per process and campaign (it does not change once live).
 * Any refusal gives back what the other steps took. A replay, or settlement finding a saga a crash
 * interrupted, resumes it: every step recognises its own earlier application.
 */
import { type CallerIdentity, DomainError, deterministicId, hasRole, type Money } from '@sizhong/kit';
import {
  type Campaign,
  cancellationGuard,
  type CancellationGuard,
  cancelPledge,
  type Pledge,
  placePledge,
  type PledgePlan,
  planPledge,
  pledgesPerBackerMax,
  viewablePledge,
} from '../../domain/campaign';
import { walletAccount } from '../../domain/ledger/account';
import type { TransferRequest } from '../../domain/ledger/transfer';
import { pledgeIncrements, remainingCounter } from '../../storage/campaign-store';
import { pledgeEventsToOutbox } from './campaign-events';
import { type CampaignWrites, counterKeys, escrowOf, holdTransferId, pledgeHoldGraceMs } from './context';

/** Live campaign definitions remembered per process (they do not change once live); the bound keeps memory flat. */
export const campaignDefinitionsKeptMax = 10_000;

export class Pledging {
  private readonly definitions = new Map<string, Campaign>();

  constructor(private readonly writes: CampaignWrites) {}

  private get options() {
    return this.writes.options;
  }

  /** A campaign the caller may see; live ones come from memory after the first read. */
  async definition(caller: CallerIdentity | undefined, campaignId: string): Promise<Campaign> {
    const known = this.definitions.get(campaignId);
    if (known) return known;
    const loaded = await this.options.campaigns.load(campaignId);
    if (!loaded || (loaded.state.state === 'draft' && loaded.state.creatorId !== caller?.participantId && !hasRole(caller, 'admin', 'regulator'))) {
      throw new DomainError('NOT_FOUND', `campaign ${campaignId} not found`);
    }
    if (loaded.state.state === 'live') {
      if (this.definitions.size >= campaignDefinitionsKeptMax) this.definitions.clear();
      this.definitions.set(campaignId, loaded.state);
    }
    return loaded.state;
  }

  async placePledge(caller: CallerIdentity, campaignId: string, idempotencyKey: string, tierId: string | undefined, amount: Money): Promise<Pledge> {
    if (!hasRole(caller, 'backer')) throw new DomainError('PERMISSION_DENIED', 'only backers may pledge');
    const campaign = await this.definition(caller, campaignId);
    const pledgeId = deterministicId('pl', 'pledge', caller.participantId, campaignId, idempotencyKey);
    const plan = planPledge(campaign, { pledgeId, backerId: caller.participantId, ...(tierId === undefined ? {} : { tierId }), amount }, this.writes.now());
    const added = await this.options.positions.add(plan);
    if (added === 'limit_reached') {
      throw new DomainError('PLEDGE_LIMIT_REACHED', `a backer holds at most ${pledgesPerBackerMax} pledges on one campaign`, { campaignId, max: pledgesPerBackerMax });
    }
    if (added === 'present') return this.replay(campaign, plan);
    return this.complete(campaign, plan, { firstOfBacker: added === 'added_first', resume: false });
  }

  /** The same key again: the first pledge, or the first saga resumed where it stopped. */
  private async replay(campaign: Campaign, plan: PledgePlan): Promise<Pledge> {
    const position = await this.options.positions.get(plan.campaignId, plan.backerId);
    const recorded = position?.pledges.find((entry) => entry.pledgeId === plan.pledgeId);
    if (recorded && (BigInt(recorded.amountMinor) !== plan.amount.amountMinor || (recorded.tierId ?? '') !== (plan.tierId ?? ''))) {
      throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for a different pledge');
    }
    const existing = await this.options.pledges.load(plan.pledgeId);
    if (existing) return existing.state;
    return this.complete(campaign, plan, { firstOfBacker: false, resume: true });
  }

  /** Steps 2 and 3, or the compensation of whatever step 2 took when the other part was refused. */
  async complete(campaign: Campaign, plan: PledgePlan, options: { firstOfBacker: boolean; resume: boolean }): Promise<Pledge> {
    const transferId = holdTransferId(plan.pledgeId);
    const [reserved, held] = await Promise.allSettled([
      this.reserve(campaign, plan, options.firstOfBacker),
      this.options.ledger.createSagaHold(this.holdRequest(campaign, plan), { resume: options.resume }),
    ]);
    if (reserved.status === 'fulfilled' && held.status === 'fulfilled') {
      const { pledge, events } = placePledge(plan, transferId, this.writes.now());
      const outcome = await this.options.pledges.create(plan.pledgeId, pledge, pledgeEventsToOutbox(events, { aggregateId: plan.pledgeId, version: 1, topicPrefix: this.options.topicPrefix }));
      return outcome.aggregate.state;
    }
    // An infrastructure failure leaves a step's outcome unknown: keep the saga's record (the position
    // entry) for a replay or settlement to resume, and compensate only definite refusals.
    const failures = [reserved, held].filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected').map((outcome) => outcome.reason as unknown);
    const unknownOutcome = failures.find((failure) => !(failure instanceof DomainError));
    if (unknownOutcome !== undefined) throw unknownOutcome;
    await this.giveBack(campaign, plan, { reserved: reserved.status === 'fulfilled', held: held.status === 'fulfilled' });
    throw failures[0];
  }

  /** The pledge's hold: a pending transfer from the backer's wallet to the campaign's escrow, outliving the deadline by the grace. */
  private holdRequest(campaign: Campaign, plan: PledgePlan): TransferRequest & { mode: 'two_phase' } {
    return {
      id: holdTransferId(plan.pledgeId),
      mode: 'two_phase',
      debitAccountId: walletAccount(plan.backerId, plan.amount.currency).id,
      creditAccountId: escrowOf(campaign).id,
      currency: plan.amount.currency,
      amountMinor: plan.amount.amountMinor,
      reference: { kind: 'pledge', id: plan.pledgeId },
      timeoutMs: Math.max(1, campaign.endsAt.getTime() + pledgeHoldGraceMs - this.writes.now().getTime()),
    };
  }

  /** Takes the pledge's place in the campaign's counters; refusals say why. */
  private async reserve(campaign: Campaign, plan: PledgePlan, firstOfBacker: boolean): Promise<void> {
    const now = this.writes.now();
    const stock = plan.limitedTier && plan.tierId !== undefined ? { [`counters.${remainingCounter(campaign, plan.tierId)}`]: { $gte: 1 } } : {};
    const outcome = await this.options.campaigns.incrementCounters(campaign.id, counterKeys.reserve(plan.pledgeId), pledgeIncrements(campaign, plan, 1, firstOfBacker ? 1 : 0), {
      'state.state': 'live',
      'state.endsAt': { $gt: now },
      ...stock,
    });
    if (outcome.kind !== 'refused') return;
    const current = outcome.current?.state as Campaign | undefined;
    if (!current || current.state !== 'live' || now.getTime() >= current.endsAt.getTime()) {
      this.definitions.delete(campaign.id);
      throw new DomainError('CAMPAIGN_NOT_LIVE', current && current.state !== 'live' ? `campaign is ${current.state}` : 'campaign has ended', { campaignId: campaign.id });
    }
    throw new DomainError('TIER_SOLD_OUT', `tier ${plan.tierId} is sold out`, { tierId: plan.tierId ?? '' });
  }

  /** The compensation: the hold is voided, the position and the counters give the pledge back. */
  private async giveBack(campaign: Campaign, plan: PledgePlan, taken: { reserved: boolean; held: boolean }): Promise<void> {
    if (taken.held) await this.options.ledger.voidPending(holdTransferId(plan.pledgeId)).catch(ignoreResolved);
    const removed = await this.options.positions.remove(plan.campaignId, plan.backerId, plan.pledgeId);
    if (taken.reserved) {
      await this.options.campaigns.incrementCounters(campaign.id, counterKeys.release(plan.pledgeId), pledgeIncrements(campaign, plan, -1, removed === 'emptied' ? -1 : 0));
    }
  }

  /**
   * Settlement's view of a saga a crash interrupted (a position entry without its pledge), once
   * the campaign no longer takes pledges: if its reservation is among the campaign's recent
   * counter keys, it is completed forward; otherwise it can no longer land and is given back.
   */
  async finishInterrupted(campaign: Campaign, entry: { pledgeId: string; backerId: string; amountMinor: bigint; tierId?: string }, recentKeys: readonly string[]): Promise<void> {
    const plan: PledgePlan = {
      pledgeId: entry.pledgeId,
      campaignId: campaign.id,
      creatorId: campaign.creatorId,
      backerId: entry.backerId,
      ...(entry.tierId === undefined ? {} : { tierId: entry.tierId }),
      amount: { currency: campaign.goal.currency, amountMinor: BigInt(entry.amountMinor) },
      limitedTier: entry.tierId !== undefined && campaign.tiers.some((tier) => tier.id === entry.tierId && tier.quantity !== undefined),
    };
    const reserved = recentKeys.includes(counterKeys.reserve(plan.pledgeId)) && !recentKeys.includes(counterKeys.release(plan.pledgeId));
    if (reserved) {
      await this.complete(campaign, plan, { firstOfBacker: false, resume: true }).catch((error: unknown) => {
        if (!(error instanceof DomainError)) throw error;
      });
      return;
    }
    // Its hold may exist with or without its transfer document: record it if so, then void it.
    const hold = await this.options.ledger
      .createSagaHold(this.holdRequest(campaign, plan), { resume: true })
      .catch((error: unknown) => {
        if (error instanceof DomainError && error.code === 'INSUFFICIENT_FUNDS') return undefined;
        throw error;
      });
    if (hold) await this.options.ledger.voidPending(hold.id).catch(ignoreResolved);
    await this.options.positions.remove(plan.campaignId, plan.backerId, plan.pledgeId);
  }

  async pledge(caller: CallerIdentity, pledgeId: string): Promise<Pledge> {
    const loaded = await this.options.pledges.load(pledgeId);
    // Worded exactly like viewablePledge's refusal: an unknown id and someone else's look alike.
    if (!loaded) throw new DomainError('NOT_FOUND', 'pledge not found', { pledgeId });
    return viewablePledge(loaded.state, await this.definition(caller, loaded.state.campaignId), caller);
  }

  /**
   * The backer cancels: one guarded write gives the pledge's money and unit back to the campaign
   * and decides the last-call window at the same moment, then the pledge is cancelled, the hold
   * voided and the position updated.
   */
  async cancelPledge(caller: CallerIdentity, pledgeId: string): Promise<Pledge> {
    const pledge = await this.pledge(caller, pledgeId);
    if (pledge.backerId !== caller.participantId) throw new DomainError('NOT_FOUND', 'pledge not found', { pledgeId });
    if (pledge.state === 'cancelled') {
      await this.finishCancellation(pledge);
      return pledge;
    }
    cancelPledge(pledge, caller.participantId, this.writes.now());
    const campaign = (await this.options.campaigns.get(pledge.campaignId, 'campaign')).state;
    const now = this.writes.now();
    let guard: CancellationGuard;
    try {
      guard = cancellationGuard(campaign, pledge, now, this.options.policy);
    } catch (error) {
      // A retry of a cancellation whose release landed in time (its answer was lost) finishes it.
      if (!(error instanceof DomainError) || !(await this.options.campaigns.hasCounterKey(campaign.id, counterKeys.cancel(pledgeId)))) throw error;
      guard = { kind: 'any' };
    }
    const limitedTier = pledge.tierId !== undefined && campaign.tiers.some((tier) => tier.id === pledge.tierId && tier.quantity !== undefined);
    const outcome = await this.options.campaigns.incrementCounters(
      campaign.id,
      counterKeys.cancel(pledgeId),
      pledgeIncrements(campaign, { amount: pledge.amount, limitedTier, ...(pledge.tierId === undefined ? {} : { tierId: pledge.tierId }) }, -1, 0),
      { 'state.state': 'live', 'state.endsAt': { $gt: now }, ...goalFilter(guard) },
    );
    if (outcome.kind === 'refused') {
      const current = outcome.current?.state as Campaign | undefined;
      if (current?.state !== 'live') throw new DomainError('CAMPAIGN_NOT_LIVE', `campaign is ${current?.state ?? 'gone'}`, { campaignId: campaign.id });
      throw new DomainError('CANCELLATION_WINDOW_CLOSED', 'in the last call before the end, a cancellation may not drop a met goal below it', { campaignId: campaign.id });
    }
    const cancelled = await this.writes.decidePledge(pledgeId, (current) => cancelPledge(current, caller.participantId, this.writes.now()));
    await this.finishCancellation(cancelled);
    return cancelled;
  }

  /** After the pledge is cancelled: void its hold, take it off the position (idempotent). */
  async finishCancellation(pledge: Pledge): Promise<void> {
    await this.options.ledger.voidPending(pledge.transferId).catch(ignoreResolved);
    if ((await this.options.positions.remove(pledge.campaignId, pledge.backerId, pledge.id)) === 'emptied') {
      await this.options.campaigns.incrementCounters(pledge.campaignId, counterKeys.left(pledge.id), { backersCount: -1 });
    }
  }
}

/** The last-call rule as a filter on the live totals: allowed while the goal is unmet, or stays met without this pledge. */
function goalFilter(guard: CancellationGuard): Record<string, unknown> {
  if (guard.kind === 'any') return {};
  return { $or: [{ 'counters.pledgedMinor': { $lt: guard.goal.amountMinor } }, { 'counters.pledgedMinor': { $gte: guard.goal.amountMinor + guard.amount.amountMinor } }] };
}

/** A hold already resolved by an earlier attempt (or expired, which returned the money) is fine; anything else is not. */
export function ignoreResolved(error: unknown): void {
  if (error instanceof DomainError && (error.code === 'TRANSFER_NOT_PENDING' || error.code === 'TRANSFER_EXPIRED')) return;
  throw error;
}

