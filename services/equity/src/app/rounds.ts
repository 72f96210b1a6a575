/**
 * Rounds: the issuer opens one (its escrow account first, then the round document with RoundOpened
 * on its outbox, then the close scheduled at `endsAt`); anyone signed in reads them; the cap table
 * is for the issuer, the round's investors and regulators.
 */
import { type CallerIdentity, DomainError, deterministicId, hasRole, type Loaded, type Money, requestFingerprint } from '@sizhong/kit';
import { type AllocationLine, createRound, type Round, type RoundTotals, roundStates } from '../domain';
import { initialRoundCounters, totalsOf } from '../storage/stores';
import { closeGraceMs, type EquityWrites, roundJobKinds, roundPageSizeMax } from './context';
import { roundEventsToOutbox } from './events';

export interface RoundView {
  readonly round: Round;
  readonly totals: RoundTotals;
}

export interface CreateRoundCommand {
  readonly idempotencyKey: string;
  readonly title: string;
  readonly target: Money;
  readonly maximum: Money;
  readonly pricePerShare: Money;
  readonly endsAt: Date;
  readonly leadMinBps?: number;
  readonly leadCarryBps: number;
  readonly investorsMax?: number;
}

export interface CapTableHolder {
  readonly participantId: string;
  readonly role: 'lead' | 'follower';
  readonly shares: bigint;
  readonly amountMinor: bigint;
}

export interface CapTableView {
  readonly round: Round;
  readonly holders: readonly CapTableHolder[];
}

export class Rounds {
  constructor(private readonly writes: EquityWrites) {}

  private get options() {
    return this.writes.options;
  }

  async create(caller: CallerIdentity, command: CreateRoundCommand): Promise<RoundView> {
    if (!hasRole(caller, 'issuer')) throw new DomainError('PERMISSION_DENIED', 'only issuers open rounds');
    const { idempotencyKey, ...request } = command;
    const roundId = deterministicId('rd', 'round', caller.participantId, idempotencyKey);
    const fingerprint = requestFingerprint(request);
    const existing = await this.options.rounds.collection.findOne({ _id: roundId }, { projection: { requestFingerprint: 1 } });
    if (existing && existing.requestFingerprint !== fingerprint) throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for a different request');
    const now = this.writes.now();
    const decision = existing ? undefined : createRound({ ...request, id: roundId, issuerId: caller.participantId }, this.options.policy, now);
    // The escrow account exists before any commitment can name it.
    await this.options.ledger.openRoundEscrow(roundId, command.pricePerShare.currency);
    const loaded = decision
      ? (await this.options.rounds.create(roundId, decision.round, roundEventsToOutbox(decision.events, { aggregateId: roundId, version: 1, topicPrefix: this.options.topicPrefix }), fingerprint, initialRoundCounters)).aggregate
      : await this.options.rounds.get(roundId, 'round');
    await this.scheduleClose(loaded.state);
    return viewOf(loaded);
  }

  async scheduleClose(round: Round): Promise<void> {
    // A moment after the deadline, so commitment sagas that passed the round's counters before it have landed.
    await this.options.scheduler.schedule({ id: `close:${round.id}`, kind: roundJobKinds.close, dueAt: new Date(round.endsAt.getTime() + closeGraceMs), payload: { roundId: round.id } });
  }

  async get(roundId: string): Promise<RoundView> {
    const loaded = await this.options.rounds.load(roundId);
    if (!loaded) throw new DomainError('NOT_FOUND', 'round not found', { roundId });
    return viewOf(loaded);
  }

  /** A page of rounds in id order after `cursor` (a query that scans on the embedded server). */
  async list(state: string, limit: number, cursor: string | undefined): Promise<{ rounds: RoundView[]; nextCursor: string | undefined }> {
    if (state !== '' && !(roundStates as readonly string[]).includes(state)) throw new DomainError('INVALID_ARGUMENT', `state must be one of ${roundStates.join(', ')}`, { field: 'state' });
    if (limit < 1 || limit > roundPageSizeMax) throw new DomainError('LIMIT_EXCEEDED', `a page holds at most ${roundPageSizeMax} rounds`, { limitMax: roundPageSizeMax });
    const filter = { ...(state === '' ? {} : { 'state.state': state }), ...(cursor ? { _id: { $gt: cursor } } : {}) };
    const found = await this.options.rounds.find(filter, { limit: limit + 1 });
    const page = found.slice(0, limit);
    return { rounds: page.map(viewOf), nextCursor: found.length > limit ? page[page.length - 1]?.id : undefined };
  }

  /**
   * The issuer, regulators, admins and the round's investors (a pending commitment now, or shares
   * after close) see the cap table; anyone else gets NOT_FOUND, as if the round had none.
   * Holders are listed once the round is closed (one line per investor, their commitments added up).
   */
  async capTable(caller: CallerIdentity, roundId: string): Promise<CapTableView> {
    const { round } = await this.get(roundId);
    const holders = round.state === 'closed' ? holdersOf(round.allocations) : [];
    const privileged = round.issuerId === caller.participantId || hasRole(caller, 'regulator', 'admin');
    if (!privileged) {
      const position = await this.options.positions.get(roundId, caller.participantId);
      const investor = holders.some((holder) => holder.participantId === caller.participantId) || (position?.commitments.length ?? 0) > 0;
      if (!investor) throw new DomainError('NOT_FOUND', 'round not found, or its cap table is not visible to the caller', { roundId });
    }
    return { round, holders };
  }
}

function holdersOf(allocations: readonly AllocationLine[]): CapTableHolder[] {
  const byInvestor = new Map<string, { participantId: string; role: 'lead' | 'follower'; shares: bigint; amountMinor: bigint }>();
  for (const line of allocations) {
    if (line.shares === 0n) continue;
    const holder = byInvestor.get(line.investorId) ?? { participantId: line.investorId, role: line.role, shares: 0n, amountMinor: 0n };
    holder.shares += line.shares;
    holder.amountMinor += line.amountMinor;
    if (line.role === 'lead') holder.role = 'lead';
    byInvestor.set(line.investorId, holder);
  }
  return [...byInvestor.values()];
}

function viewOf(loaded: Loaded<Round>): RoundView {
  return { round: loaded.state, totals: totalsOf(loaded.counters) };
}
