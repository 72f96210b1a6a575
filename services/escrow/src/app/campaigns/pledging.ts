/**
 * Pledging and cancelling. A pledge is a saga (pledge-saga.ts) whose record is the entry in the
 * backer's position; its round trips, 5 writes, 3 of them in parallel, and no read once the
 * process knows the campaign:
 *   1. the backer's position takes the entry (the saga's record, written first and never deleted;
 *      the per-backer cap; whether the backer is new) ............................... 1 write
 *   2. in parallel: the campaign's counters take the pledge, guarded by `state: live` (settlement
 *      fences the deadline by moving the campaign to `closing` first, so nothing lands behind the
 *      books whatever this replica's clock says), `endsAt > now` and the tier's stock . 1 write
 *      and the hold on the backer's wallet, then its transfer document ............... 2 writes
 *   3. the pledge document, with PledgePlaced on its outbox (the saga completed) ...... 1 write
 * The campaign definition is read once per process and campaign (it does not change once live).
 * A definite refusal gives back what the other step took and is recorded, so a same-key retry
 * answers it again; an unknown outcome leaves the saga for a retry, the recovery sweep or
 * settlement, each of which resumes it: every step recognises its own earlier application.
 *
 * A cancellation is a saga too (below): one guarded counter release (`live` and the last-call rule
 * in the same write), then the pledge write, the void and the entry ended as `cancelled`.
 */
import { type CallerIdentity, DomainError, deterministicId, type ErrorCode, hasRole, type Money, requestFingerprint, type Saga } from '@sizhong/kit';
import { type Campaign, cancellationGuard, type CancellationGuard, cancelPledge, type Pledge, planPledge, viewablePledge } from '../../domain/campaign';
import { pledgeIncrements } from '../../storage/campaign-store';
import { type CampaignWrites, counterKeys } from './context';
import { ignoreResolved, PledgeSagas } from './pledge-saga';

/** Live campaign definitions remembered per process (they do not change once live); the bound keeps memory flat. */
export const campaignDefinitionsKeptMax = 10_000;

export const cancellationSagaKind = 'pledge-cancellation';
/** The definite refusals of a cancellation's release (nothing was given back). */
const cancellationRefusals: readonly ErrorCode[] = ['CAMPAIGN_NOT_LIVE', 'CANCELLATION_WINDOW_CLOSED'];
/** Cancellations settlement drives on per campaign before it reads the books (more wait for the next run). */
export const cancellationsPerSettlementMax = 1_000;

/** One cancellation per pledge: every request to cancel it names the same saga. */
export function cancellationSagaId(pledgeId: string): string {
  return `cancel:${pledgeId}`;
}

interface CancellationInput {
  readonly pledgeId: string;
  readonly campaignId: string;
  readonly backerId: string;
}

export class Pledging {
  private readonly definitions = new Map<string, Campaign>();
  readonly sagas: PledgeSagas;
  private readonly cancellationSaga: Saga<CancellationInput, Pledge>;

  constructor(private readonly writes: CampaignWrites) {
    this.sagas = new PledgeSagas(
      writes.options.sagas,
      writes,
      (campaignId) => this.definition(undefined, campaignId),
      (campaignId) => this.definitions.delete(campaignId),
    );
    this.cancellationSaga = this.defineCancellationSaga();
  }

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
    return this.sagas.run(plan);
  }

  async pledge(caller: CallerIdentity, pledgeId: string): Promise<Pledge> {
    const loaded = await this.options.pledges.load(pledgeId);
    // Worded exactly like viewablePledge's refusal: an unknown id and someone else's look alike.
    if (!loaded) throw new DomainError('NOT_FOUND', 'pledge not found', { pledgeId });
    return viewablePledge(loaded.state, await this.definition(caller, loaded.state.campaignId), caller);
  }

  /**
   * The backer cancels: a saga of the kit's model (`pledge-cancellation`, one per pledge, its
   * record in escrow's saga log): one guarded write gives the pledge's money and unit back to the
   * campaign and decides the last-call window at the same moment (its refusals, CAMPAIGN_NOT_LIVE
   * and CANCELLATION_WINDOW_CLOSED, are definite and answered again to a retry); then the pledge
   * is cancelled, the hold voided and the saga's position entry ended as cancelled. A crash after
   * the release is finished by recovery (or by settlement, which drives a campaign's unfinished
   * cancellations on behind its fence), never left half-done.
   * Round trips: the record (1 insert) and its completion (1 update) besides the steps.
   */
  async cancelPledge(caller: CallerIdentity, pledgeId: string): Promise<Pledge> {
    const pledge = await this.pledge(caller, pledgeId);
    if (pledge.backerId !== caller.participantId) throw new DomainError('NOT_FOUND', 'pledge not found', { pledgeId });
    if (pledge.state === 'cancelled') {
      await this.finishCancellation(pledge);
      return pledge;
    }
    cancelPledge(pledge, caller.participantId, this.writes.now());
    return this.cancellationSaga.run({ id: cancellationSagaId(pledgeId), input: { pledgeId, campaignId: pledge.campaignId, backerId: pledge.backerId }, fingerprint: requestFingerprint({ pledgeId }) });
  }

  /** Settlement's fence: every cancellation of the campaign still under way is driven on before the books are read. */
  async finishCancellationsOf(campaignId: string): Promise<void> {
    const unfinished = await this.options.sagas.log.unfinishedOf(cancellationSagaKind, { campaignId }, cancellationsPerSettlementMax);
    for (const record of unfinished) {
      await this.cancellationSaga.resume(record._id).catch((error: unknown) => {
        if (!(error instanceof DomainError) || !cancellationRefusals.includes(error.code)) throw error;
      });
    }
  }

  private defineCancellationSaga(): Saga<CancellationInput, Pledge> {
    return this.options.sagas.define<CancellationInput, object, Pledge>({
      kind: cancellationSagaKind,
      initialFacts: () => ({}),
      stages: [{ name: 'release', refusals: cancellationRefusals, run: (input) => this.release(input) }],
      finish: {
        // The pledge was settled (collected or voided) before the cancellation could finish: nothing to cancel.
        refusals: ['INVALID_STATE'],
        run: async ({ pledgeId, backerId }) => {
          const cancelled = await this.writes.decidePledge(pledgeId, (current) => (current.state === 'cancelled' ? { pledge: current, events: [] } : cancelPledge(current, backerId, this.writes.now())));
          await this.finishCancellation(cancelled);
          return cancelled;
        },
      },
    });
  }

  /** The guarded release: the pledge's money and unit leave the campaign's totals, within the last-call rule. */
  private async release({ pledgeId, campaignId }: CancellationInput): Promise<void> {
    const pledge = (await this.options.pledges.get(pledgeId, 'pledge')).state;
    const campaign = (await this.options.campaigns.get(campaignId, 'campaign')).state;
    const now = this.writes.now();
    let guard: CancellationGuard;
    try {
      guard = cancellationGuard(campaign, pledge, now, this.options.policy);
    } catch (error) {
      // Resumed after its release landed in time (the answer was lost): the step took effect.
      const closed = error instanceof DomainError && (error.code === 'CAMPAIGN_NOT_LIVE' || error.code === 'CANCELLATION_WINDOW_CLOSED');
      if (closed && (await this.options.campaigns.hasCounterKey(campaign.id, counterKeys.cancel(pledgeId)))) return;
      throw error;
    }
    const limitedTier = pledge.tierId !== undefined && campaign.tiers.some((tier) => tier.id === pledge.tierId && tier.quantity !== undefined);
    const outcome = await this.options.campaigns.incrementCounters(
      campaign.id,
      counterKeys.cancel(pledgeId),
      pledgeIncrements(campaign, { amount: pledge.amount, limitedTier, ...(pledge.tierId === undefined ? {} : { tierId: pledge.tierId }) }, -1, 0),
      { 'state.state': 'live', 'state.endsAt': { $gt: now }, ...goalFilter(guard) },
    );
    if (outcome.kind !== 'refused') return;
    const current = outcome.current?.state as Campaign | undefined;
    if (current?.state !== 'live') {
      this.definitions.delete(campaign.id);
      throw new DomainError('CAMPAIGN_NOT_LIVE', `campaign is ${current?.state ?? 'gone'}`, { campaignId: campaign.id });
    }
    throw new DomainError('CANCELLATION_WINDOW_CLOSED', 'in the last call before the end, a cancellation may not drop a met goal below it', { campaignId: campaign.id });
  }

  /** After the pledge is cancelled: void its hold, end its saga's entry as cancelled (it is kept), count the backer out (idempotent). */
  async finishCancellation(pledge: Pledge): Promise<void> {
    await this.options.ledger.voidPending(pledge.transferId).catch(ignoreResolved);
    await this.options.positions.end(pledge.campaignId, pledge.backerId, pledge.id, { state: 'cancelled' }, this.writes.now());
    const record = await this.options.positions.entry(pledge.campaignId, pledge.backerId, pledge.id);
    if (record?.kind === 'ended' && record.entry.leftLast) {
      await this.options.campaigns.incrementCounters(pledge.campaignId, counterKeys.left(pledge.id), { backersCount: -1 });
    }
  }
}

/** The last-call rule as a filter on the live totals: allowed while the goal is unmet, or stays met without this pledge. */
function goalFilter(guard: CancellationGuard): Record<string, unknown> {
  if (guard.kind === 'any') return {};
  return { $or: [{ 'counters.pledgedMinor': { $lt: guard.goal.amountMinor } }, { 'counters.pledgedMinor': { $gte: guard.goal.amountMinor + guard.amount.amountMinor } }] };
}


