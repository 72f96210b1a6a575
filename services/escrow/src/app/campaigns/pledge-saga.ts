/**
 * The pledge saga, on the kit's one saga model (packages/kit/src/saga, docs/storage.md "Sagas"):
 * the model runs it — records first and never deleted, compensation only on a step's listed
 * definite refusal, same-key retries answered from the record, a refusal's record read back as
 * the truth. Only where the record lives is particular: inside the backer's position
 * (`PositionSagaRecords`), so a pledge costs no more round trips than before sagas had records
 * (5 writes, see pledging.ts):
 *
 *   - begin is the position's one write: the entry (the record, which also caps the backer's
 *     pledges and says whether the backer is new);
 *   - completed is the pledge document's existence (the finish step writes it; no write of its own);
 *   - a definite refusal moves the entry to `ended` as `compensating` (with the refusal and the
 *     steps that took effect, and whether it was the backer's last active entry), then
 *     `given_back`; a cancellation ends it as `cancelled`.
 * Steps: [reserve ∥ hold], then the pledge document. Resuming a step verifies what it finds: a
 * hold that is voided or expired is not a hold (a refusal of the hold step), a transfer left
 * `requested` is resolved first (createSagaHold). The kit's recovery loop does not claim records
 * kept in positions; the campaigns' sweep (recovery.ts) and settlement behind its fence call
 * `resume` on the ones left unfinished.
 */
import { DomainError, type ErrorCode, requestFingerprint, type Saga, type SagaRecord, type SagaRecordStore, type SagaRefusal, type Sagas } from '@sizhong/kit';
import type { Document } from 'mongodb';
import { type Campaign, endedPledgesPerBackerMax, type Pledge, placePledge, type PledgePlan, pledgesPerBackerMax } from '../../domain/campaign';
import { walletAccount } from '../../domain/ledger/account';
import type { TransferRequest } from '../../domain/ledger/transfer';
import { BackerPositions, type EndedPledge, type PledgeStepName, pledgeIncrements, type PositionPledge, remainingCounter } from '../../storage/campaign-store';
import { pledgeEventsToOutbox } from './campaign-events';
import { type CampaignWrites, counterKeys, escrowOf, holdTransferId, pledgeHoldGraceMs } from './context';

export const pledgeSagaKind = 'pledge';

/** The codes that are a definite refusal of each step: nothing of that step took effect. */
export const pledgeStepRefusals: Readonly<Record<PledgeStepName, readonly ErrorCode[]>> = {
  reserve: ['CAMPAIGN_NOT_LIVE', 'TIER_SOLD_OUT'],
  // TRANSFER_NOT_PENDING: a resumed hold found voided or expired; the money is back in the wallet.
  hold: ['INSUFFICIENT_FUNDS', 'CURRENCY_MISMATCH', 'TRANSFER_NOT_PENDING'],
};

/** What a pledge saga's steps know: whether the backer was new (counted once), and whether the saga's end left the backer with no active pledge. */
interface PledgeFacts {
  readonly firstOfBacker: boolean;
  readonly leftLast?: boolean;
}

/** The saga's id names its position and its pledge, so its record is found by `_id`. */
export function pledgeSagaId(plan: Pick<PledgePlan, 'campaignId' | 'backerId' | 'pledgeId'>): string {
  return `${BackerPositions.idOf(plan.campaignId, plan.backerId)}:${plan.pledgeId}`;
}

function parsePledgeSagaId(id: string): { campaignId: string; backerId: string; pledgeId: string } {
  const [campaignId, backerId, pledgeId, ...rest] = id.split(':');
  if (!campaignId || !backerId || !pledgeId || rest.length > 0) throw new Error(`not a pledge saga id: ${id}`);
  return { campaignId, backerId, pledgeId };
}

/** A same-key request is the same request when its amount and tier are. */
function pledgeFingerprint(entry: { amountMinor: bigint; tierId?: string | undefined }): string {
  return requestFingerprint({ amountMinor: BigInt(entry.amountMinor).toString(), tierId: entry.tierId ?? '' });
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

/** Pledge saga records inside the backer's positions, behind the kit's record-store interface. */
class PositionSagaRecords implements SagaRecordStore {
  constructor(
    private readonly writes: CampaignWrites,
    private readonly definition: (campaignId: string) => Promise<Campaign>,
  ) {}

  private get options() {
    return this.writes.options;
  }

  async begin(record: SagaRecord): Promise<{ kind: 'begun'; facts?: Document } | { kind: 'exists'; record: SagaRecord }> {
    const plan = record.input as PledgePlan;
    const added = await this.options.positions.add(plan, record.createdAt);
    switch (added.kind) {
      case 'added':
        return { kind: 'begun', facts: { firstOfBacker: added.firstOfBacker } };
      case 'limit_reached':
        throw new DomainError('PLEDGE_LIMIT_REACHED', `a backer holds at most ${pledgesPerBackerMax} pledges on one campaign`, { campaignId: plan.campaignId, max: pledgesPerBackerMax });
      case 'history_full':
        throw new DomainError('PLEDGE_LIMIT_REACHED', `a backer may end at most ${endedPledgesPerBackerMax} pledges on one campaign`, { campaignId: plan.campaignId, max: endedPledgesPerBackerMax });
      case 'present':
      case 'ended':
        return { kind: 'exists', record: await this.recordOf(record._id, added.kind === 'present' ? { kind: 'active', entry: added.entry } : { kind: 'ended', entry: added.entry }) };
    }
  }

  async load(id: string): Promise<SagaRecord | null> {
    const { campaignId, backerId, pledgeId } = parsePledgeSagaId(id);
    const found = await this.options.positions.entry(campaignId, backerId, pledgeId);
    return found ? this.recordOf(id, found) : null;
  }

  /** Completion is the pledge document the finish step wrote: nothing to write. */
  async complete(): Promise<boolean> {
    return true;
  }

  async compensating(id: string, change: { refusal: SagaRefusal; taken: readonly string[] }, now: Date): Promise<boolean> {
    const { campaignId, backerId, pledgeId } = parsePledgeSagaId(id);
    // Another driver completed the saga meanwhile: a completed saga is never given back.
    if (await this.options.pledges.load(pledgeId)) return false;
    const moved = await this.options.positions.end(campaignId, backerId, pledgeId, { state: 'compensating', refusal: change.refusal, taken: change.taken as PledgeStepName[] }, now);
    return moved === 'ended';
  }

  async givenBack(id: string): Promise<void> {
    const { campaignId, backerId, pledgeId } = parsePledgeSagaId(id);
    await this.options.positions.givenBack(campaignId, backerId, pledgeId);
  }

  /** The campaigns' sweep logs what it cannot drive on; positions keep no error text. */
  async noteFailure(): Promise<void> {}

  /** Records in positions are driven on by the campaigns' sweep and settlement, not claimed here. */
  async claimDue(): Promise<SagaRecord | null> {
    return null;
  }

  /** The record an entry stands for: completed when its pledge document exists (a cancelled one too). */
  private async recordOf(id: string, found: { kind: 'active'; entry: PositionPledge } | { kind: 'ended'; entry: EndedPledge }): Promise<SagaRecord> {
    const { campaignId, backerId, pledgeId } = parsePledgeSagaId(id);
    const entry = found.entry;
    const startedAt = entry.startedAt ?? new Date(0);
    const base = {
      _id: id,
      kind: pledgeSagaKind,
      input: planOf(await this.definition(campaignId), backerId, entry) as unknown as Document,
      fingerprint: pledgeFingerprint(entry),
      attempts: 0,
      nextAttemptAt: startedAt,
      createdAt: startedAt,
      updatedAt: found.kind === 'ended' ? found.entry.endedAt : startedAt,
    };
    if (found.kind === 'ended' && found.entry.state !== 'cancelled') {
      return { ...base, state: found.entry.state, refusal: found.entry.refusal!, taken: found.entry.taken ?? [], facts: { firstOfBacker: false, leftLast: found.entry.leftLast } };
    }
    const pledge = await this.options.pledges.load(pledgeId);
    if (!pledge) return { ...base, state: 'running' };
    return { ...base, state: 'completed', answer: pledge.state as unknown as Document };
  }
}

/** Defines the pledge saga on the service's saga model; `run` begins one, `driveOn` resumes one left unfinished. */
export class PledgeSagas {
  private readonly saga: Saga<PledgePlan, Pledge>;

  constructor(
    sagas: Sagas,
    private readonly writes: CampaignWrites,
    private readonly definition: (campaignId: string) => Promise<Campaign>,
    /** Drops a campaign definition the process remembered as live once a write finds it is not. */
    private readonly forgetDefinition: (campaignId: string) => void,
  ) {
    this.saga = sagas.define<PledgePlan, PledgeFacts, Pledge>({
      kind: pledgeSagaKind,
      records: new PositionSagaRecords(writes, definition),
      initialFacts: () => ({ firstOfBacker: false }),
      stages: [
        [
          {
            name: 'reserve',
            refusals: pledgeStepRefusals.reserve,
            run: async (plan, facts) => this.reserve(await this.definition(plan.campaignId), plan, facts.firstOfBacker),
            compensate: async (plan, facts) => {
              const campaign = await this.definition(plan.campaignId);
              await this.options.campaigns.incrementCounters(campaign.id, counterKeys.release(plan.pledgeId), pledgeIncrements(campaign, plan, -1, facts.leftLast ? -1 : 0));
            },
          },
          {
            name: 'hold',
            refusals: pledgeStepRefusals.hold,
            // The request that wrote the record skips the ledger's repeat checks (nothing can have happened yet); every later driver verifies.
            run: async (plan, _facts, drive) => this.hold(await this.definition(plan.campaignId), plan, { resume: drive.resumed }),
            compensate: async (plan) => void (await this.options.ledger.voidPending(holdTransferId(plan.pledgeId)).catch(ignoreResolved)),
          },
        ],
      ],
      finish: {
        refusals: [],
        run: async (plan) => {
          const { pledge, events } = placePledge(plan, holdTransferId(plan.pledgeId), this.writes.now());
          return (await this.options.pledges.create(plan.pledgeId, pledge, pledgeEventsToOutbox(events, { aggregateId: plan.pledgeId, version: 1, topicPrefix: this.options.topicPrefix }))).aggregate.state;
        },
      },
    });
  }

  private get options() {
    return this.writes.options;
  }

  /** Begins the saga (its record first), or answers a same-key retry from the record. */
  run(plan: PledgePlan): Promise<Pledge> {
    return this.saga.run({ id: pledgeSagaId(plan), input: plan, fingerprint: pledgeFingerprint({ amountMinor: plan.amount.amountMinor, tierId: plan.tierId }) });
  }

  /** Drives an unfinished saga on (the campaigns' sweep, settlement's close); a refusal is a finished saga, an unknown outcome is thrown. */
  async driveOn(campaign: Campaign, backerId: string, entry: PositionPledge): Promise<void> {
    await this.saga.resume(pledgeSagaId({ campaignId: campaign.id, backerId, pledgeId: entry.pledgeId })).catch((error: unknown) => {
      if (!(error instanceof DomainError) || ![...pledgeStepRefusals.reserve, ...pledgeStepRefusals.hold].includes(error.code)) throw error;
    });
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
  private async hold(campaign: Campaign, plan: PledgePlan, options: { resume: boolean }): Promise<void> {
    const transfer = await this.options.ledger.createSagaHold(this.holdRequest(campaign, plan), options);
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

/** A hold already resolved by an earlier attempt (or expired, which returned the money) is fine; anything else is not. */
export function ignoreResolved(error: unknown): void {
  if (error instanceof DomainError && (error.code === 'TRANSFER_NOT_PENDING' || error.code === 'TRANSFER_EXPIRED')) return;
  throw error;
}
