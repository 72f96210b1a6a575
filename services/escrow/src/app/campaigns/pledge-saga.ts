/**
 * The pledge saga, on the kit's saga rules (packages/kit/src/saga/saga.ts, docs/storage.md "Sagas")
 * with its record kept inside the backer's position instead of a `<service>_sagas` document, so a
 * pledge costs no more round trips than before sagas had records (5 writes, see pledging.ts):
 *
 *   - the record is written first (the position entry, which also caps the backer's pledges) and
 *     never deleted: completed is the pledge document's existence (no write of its own), a
 *     definite refusal moves the entry to `ended` as `compensating` with the refusal and the steps
 *     that took effect, then to `given_back`; a cancellation moves it to `ended` as `cancelled`;
 *   - a same-key retry reads the record: a completed or cancelled saga answers with its pledge, a
 *     given-back one with its original refusal (same code), an unfinished one is driven on;
 *   - compensation runs only on a step's listed definite refusal (`pledgeStepRefusals`); any other
 *     failure (a gRPC deadline, an unavailable database, a lost race) leaves the saga running for a
 *     retry, the recovery sweep or settlement's close of the books;
 *   - resuming a step verifies what it finds: a hold that is voided or expired is not a hold (a
 *     refusal of the hold step), a transfer left `requested` is resolved first (createSagaHold).
 * Drivers of one saga in this process queue on a keyed mutex; drivers in other replicas agree
 * through the guarded moves of the entry.
 */
import { DomainError, type ErrorCode, KeyedMutex, refusalError, unknownOutcomeCodes } from '@sizhong/kit';
import { type Campaign, endedPledgesPerBackerMax, type Pledge, placePledge, type PledgePlan, pledgesPerBackerMax } from '../../domain/campaign';
import { walletAccount } from '../../domain/ledger/account';
import type { TransferRequest } from '../../domain/ledger/transfer';
import { type EndedPledge, type PledgeRefusal, type PledgeStepName, pledgeIncrements, type PositionPledge, remainingCounter } from '../../storage/campaign-store';
import { pledgeEventsToOutbox } from './campaign-events';
import { type CampaignWrites, counterKeys, escrowOf, holdTransferId, pledgeHoldGraceMs } from './context';

/** The codes that are a definite refusal of each step: nothing of that step took effect. */
export const pledgeStepRefusals: Readonly<Record<PledgeStepName, readonly ErrorCode[]>> = {
  reserve: ['CAMPAIGN_NOT_LIVE', 'TIER_SOLD_OUT'],
  // TRANSFER_NOT_PENDING: a resumed hold found voided or expired; the money is back in the wallet.
  hold: ['INSUFFICIENT_FUNDS', 'CURRENCY_MISMATCH', 'TRANSFER_NOT_PENDING'],
};

/** A refusal of the step, or undefined for an unknown outcome. */
function definiteRefusal(error: unknown, step: PledgeStepName): PledgeRefusal | undefined {
  if (!(error instanceof DomainError) || !pledgeStepRefusals[step].includes(error.code) || unknownOutcomeCodes.includes(error.code)) return undefined;
  return { code: error.code, message: error.message, details: error.details };
}

export class PledgeSagas {
  private readonly mutex = new KeyedMutex();

  constructor(
    private readonly writes: CampaignWrites,
    /** Drops a campaign definition the process remembered as live once a write finds it is not. */
    private readonly forgetDefinition: (campaignId: string) => void,
  ) {}

  private get options() {
    return this.writes.options;
  }

  /** Begins the saga (its record first), or answers a same-key retry from the record. */
  async run(campaign: Campaign, plan: PledgePlan): Promise<Pledge> {
    return this.mutex.run(plan.pledgeId, async () => {
      const added = await this.options.positions.add(plan, this.writes.now());
      switch (added.kind) {
        case 'added':
          return this.drive(campaign, plan, { firstOfBacker: added.firstOfBacker, resume: false });
        case 'limit_reached':
          throw new DomainError('PLEDGE_LIMIT_REACHED', `a backer holds at most ${pledgesPerBackerMax} pledges on one campaign`, { campaignId: plan.campaignId, max: pledgesPerBackerMax });
        case 'history_full':
          throw new DomainError('PLEDGE_LIMIT_REACHED', `a backer may end at most ${endedPledgesPerBackerMax} pledges on one campaign`, { campaignId: plan.campaignId, max: endedPledgesPerBackerMax });
        case 'present': {
          sameRequest(added.entry, plan);
          const existing = await this.options.pledges.load(plan.pledgeId);
          if (existing) return existing.state;
          return this.drive(campaign, plan, { firstOfBacker: false, resume: true });
        }
        case 'ended':
          sameRequest(added.entry, plan);
          return this.answerEnded(campaign, plan, added.entry);
      }
    });
  }

  /** Drives an unfinished saga on (the recovery sweep, settlement's close); a refusal is a finished saga. */
  async driveOn(campaign: Campaign, backerId: string, entry: PositionPledge | EndedPledge): Promise<void> {
    const plan = planOf(campaign, backerId, entry);
    await this.mutex
      .run(plan.pledgeId, async () => {
        const record = await this.options.positions.entry(campaign.id, backerId, plan.pledgeId);
        if (!record) return;
        if (record.kind === 'ended') {
          if (record.entry.state === 'compensating') await this.compensate(campaign, plan, record.entry);
          return;
        }
        if (await this.options.pledges.load(plan.pledgeId)) return;
        await this.drive(campaign, plan, { firstOfBacker: false, resume: true });
      })
      .catch((error: unknown) => {
        if (!(error instanceof DomainError) || unknownOutcomeCodes.includes(error.code)) throw error;
      });
  }

  private async answerEnded(campaign: Campaign, plan: PledgePlan, entry: EndedPledge): Promise<Pledge> {
    if (entry.state === 'cancelled') return (await this.options.pledges.get(plan.pledgeId, 'pledge')).state;
    if (entry.state === 'compensating') return this.compensate(campaign, plan, entry);
    throw refusalError(entry.refusal!);
  }

  /** Reserve ∥ hold, then the pledge document; a definite refusal gives back what the other step took. */
  private async drive(campaign: Campaign, plan: PledgePlan, options: { firstOfBacker: boolean; resume: boolean }): Promise<Pledge> {
    const [reserved, held] = await Promise.allSettled([this.reserve(campaign, plan, options.firstOfBacker), this.hold(campaign, plan, options.resume)]);
    if (reserved.status === 'fulfilled' && held.status === 'fulfilled') {
      const { pledge, events } = placePledge(plan, holdTransferId(plan.pledgeId), this.writes.now());
      const outcome = await this.options.pledges.create(plan.pledgeId, pledge, pledgeEventsToOutbox(events, { aggregateId: plan.pledgeId, version: 1, topicPrefix: this.options.topicPrefix }));
      return outcome.aggregate.state;
    }
    const steps = [
      { name: 'reserve' as const, outcome: reserved },
      { name: 'hold' as const, outcome: held },
    ];
    const failures = steps.flatMap(({ name, outcome }) => (outcome.status === 'rejected' ? [{ error: outcome.reason as unknown, refusal: definiteRefusal(outcome.reason, name) }] : []));
    // One unknown outcome makes the stage unknown: the saga stays running, nothing is given back.
    const unknown = failures.find((failure) => failure.refusal === undefined);
    if (unknown) throw unknown.error;
    // Another replica's driver may have completed the saga meanwhile: a completed saga is never given back.
    const completed = await this.options.pledges.load(plan.pledgeId);
    if (completed) return completed.state;
    const taken = steps.filter(({ outcome }) => outcome.status === 'fulfilled').map(({ name }) => name);
    const moved = await this.options.positions.end(plan.campaignId, plan.backerId, plan.pledgeId, { state: 'compensating', refusal: failures[0]!.refusal!, taken }, this.writes.now());
    const record = await this.options.positions.entry(plan.campaignId, plan.backerId, plan.pledgeId);
    if (record?.kind !== 'ended') throw new Error(`pledge saga ${plan.pledgeId}: its record is ${moved === 'absent' ? 'missing' : 'still active'} after a refusal`);
    return this.answerEnded(campaign, plan, record.entry);
  }

  /** Undoes the taken steps (each idempotent), then records the saga given back and answers with its refusal. */
  private async compensate(campaign: Campaign, plan: PledgePlan, entry: EndedPledge): Promise<never> {
    const taken = entry.taken ?? [];
    if (taken.includes('hold')) await this.options.ledger.voidPending(holdTransferId(plan.pledgeId)).catch(ignoreResolved);
    if (taken.includes('reserve')) {
      await this.options.campaigns.incrementCounters(campaign.id, counterKeys.release(plan.pledgeId), pledgeIncrements(campaign, plan, -1, entry.leftLast ? -1 : 0));
    }
    await this.options.positions.givenBack(plan.campaignId, plan.backerId, plan.pledgeId);
    throw refusalError(entry.refusal!);
  }

  /** Takes the pledge's place in the campaign's counters, guarded on `live`: nothing lands behind settlement's fence. */
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
      this.forgetDefinition(campaign.id);
      throw new DomainError('CAMPAIGN_NOT_LIVE', current && current.state !== 'live' ? `campaign is ${current.state}` : 'campaign has ended', { campaignId: campaign.id });
    }
    throw new DomainError('TIER_SOLD_OUT', `tier ${plan.tierId} is sold out`, { tierId: plan.tierId ?? '' });
  }

  /** The hold, verified: only a pending transfer is a hold. */
  private async hold(campaign: Campaign, plan: PledgePlan, resume: boolean): Promise<void> {
    const transfer = await this.options.ledger.createSagaHold(this.holdRequest(campaign, plan), { resume });
    if (transfer.state !== 'pending') throw new DomainError('TRANSFER_NOT_PENDING', `the pledge's hold is ${transfer.state}`, { transferId: transfer.id });
  }

  /** A pending transfer from the backer's wallet to the campaign's escrow, outliving the deadline by the grace. */
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
}

/** A same-key retry must be the same request. */
function sameRequest(entry: PositionPledge, plan: PledgePlan): void {
  if (BigInt(entry.amountMinor) !== plan.amount.amountMinor || (entry.tierId ?? '') !== (plan.tierId ?? '')) {
    throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for a different pledge');
  }
}

/** The plan a saga's record stands for. */
export function planOf(campaign: Campaign, backerId: string, entry: PositionPledge): PledgePlan {
  return {
    pledgeId: entry.pledgeId,
    campaignId: campaign.id,
    creatorId: campaign.creatorId,
    backerId,
    ...(entry.tierId === undefined ? {} : { tierId: entry.tierId }),
    amount: { currency: campaign.goal.currency, amountMinor: BigInt(entry.amountMinor) },
    limitedTier: entry.tierId !== undefined && campaign.tiers.some((tier) => tier.id === entry.tierId && tier.quantity !== undefined),
  };
}

/** A hold already resolved by an earlier attempt (or expired, which returned the money) is fine; anything else is not. */
export function ignoreResolved(error: unknown): void {
  if (error instanceof DomainError && (error.code === 'TRANSFER_NOT_PENDING' || error.code === 'TRANSFER_EXPIRED')) return;
  throw error;
}
