/**
 * Committing and cancelling: sagas of idempotent steps over four documents and the ledger.
 *
 * A commitment (round trips per step; 6 writes for a follower, 7 for a lead):
 *   0. reads: the round (with its counters), the investor, the caller's position; a lead also
 *      asks credit for its score ............................................. 3 reads (+1 gRPC)
 *   1. the investor's usage takes the amount within the 12-month limit ............... 1 write
 *   2. the investor's position takes the commitment id (the saga's durable record, and whether
 *      the investor is new to the round) ......................................... 1 write
 *   3. the round's counters take it, guarded by the state, the deadline, the lead, the
 *      oversubscription cap and the investor count (so no commitment lands after the deadline
 *      or past a limit) ............................................................ 1 write
 *   4. the hold: a pending transfer wallet → the round's escrow ....................... 1 gRPC
 *   5. the commitment document, with its event on the outbox ......................... 1 write
 *   6. (lead) the round: open_for_lead → open ........................................ 1 write
 * Any refusal gives back what the earlier steps took. A retry with the same Idempotency-Key names
 * the same commitment and the same transfer, so each step recognises its own earlier application;
 * a saga a crash left unfinished is rolled back at close (its hold voided) unless retried before.
 */
import { type CallerIdentity, DomainError, deterministicId, hasRole, type Money, requestFingerprint } from '@sizhong/kit';
import {
  admit,
  cancelCommitment,
  checkCommitmentAmount,
  checkLeadShare,
  checkNotIssuer,
  commitmentsPerInvestorPerRoundMax,
  type Commitment,
  type CommitmentRole,
  leadJoined,
  leadLeft,
  type LimitBreach,
  placeCommitment,
  qualifyLead,
  reserveUsage,
  type Round,
  settleUsage,
  viewableCommitment,
} from '../domain';
import { totalsOf } from '../storage/stores';
import { counterKeys, type EquityWrites, holdGraceMs, holdTransferId, ignoreResolved } from './context';
import { commitmentEventsToOutbox } from './events';
import type { Investors } from './investors';

export interface CommitInput {
  readonly roundId: string;
  readonly idempotencyKey: string;
  readonly amount: Money;
  readonly role: CommitmentRole;
}

export function commitmentIdOf(roundId: string, investorId: string, idempotencyKey: string): string {
  return deterministicId('cm', 'commitment', roundId, investorId, idempotencyKey);
}

export class Commitments {
  constructor(
    private readonly writes: EquityWrites,
    private readonly investors: Investors,
  ) {}

  private get options() {
    return this.writes.options;
  }

  async commit(caller: CallerIdentity, input: CommitInput): Promise<Commitment> {
    if (!hasRole(caller, 'investor')) throw new DomainError('PERMISSION_DENIED', 'only investors commit to rounds');
    const investorId = caller.participantId;
    const commitmentId = commitmentIdOf(input.roundId, investorId, input.idempotencyKey);
    const fingerprint = requestFingerprint({ roundId: input.roundId, role: input.role, amount: input.amount });
    const existing = await this.options.commitments.collection.findOne({ _id: commitmentId }, { projection: { requestFingerprint: 1 } });
    if (existing) {
      if (existing.requestFingerprint !== fingerprint) throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for a different request');
      const commitment = (await this.options.commitments.get(commitmentId, 'commitment')).state;
      if (commitment.role === 'lead' && commitment.state === 'pending') await this.writes.decideRound(commitment.roundId, (round) => (round.state === 'open_for_lead' ? leadJoined(round, investorId, commitmentId, this.writes.now()) : { round, events: [] }));
      return commitment;
    }

    const loadedRound = await this.options.rounds.get(input.roundId, 'round');
    const round = loadedRound.state;
    const now = this.writes.now();
    checkCommitmentAmount(round, input.amount);
    const investor = await this.options.investors.load(investorId);
    if (input.role === 'lead') {
      checkLeadShare(round, input.amount);
      const hasProfile = investor?.state.profile !== undefined;
      const accredited = investor?.state.profile?.accredited ?? false;
      // Only a candidate who passes the other checks costs a call to credit.
      const score = investorId !== round.issuerId && hasProfile && accredited ? await this.options.credit.investorScore(investorId) : 0;
      qualifyLead(round, { investorId, hasProfile, accredited, score }, this.options.policy.leadScoreMin);
    } else {
      checkNotIssuer(round, investorId);
    }
    const position = await this.options.positions.get(round.id, investorId);
    const newInvestor = !position || position.commitments.length === 0 || position.commitments[0]?.commitmentId === commitmentId;
    admit(round, totalsOf(loadedRound.counters), { role: input.role, amount: input.amount, newInvestor }, now);
    if (!investor) throw new DomainError('INVALID_STATE', 'set an investor profile (PUT /v1/investors/me/profile) before committing', { reason: 'profile_required' });

    await this.reserveLimit(investor.state.id, round, commitmentId, input.amount, now);
    const first = await this.takePlace(round, investorId, commitmentId, input, now);
    try {
      await this.options.ledger.hold({
        transferId: holdTransferId(commitmentId),
        investorId,
        escrowAccountId: escrowAccountIdOf(round),
        amount: input.amount,
        timeoutMs: Math.max(1, round.endsAt.getTime() + holdGraceMs - now.getTime()),
        commitmentId,
      });
    } catch (error) {
      if (error instanceof DomainError) await this.giveBack(round, investorId, commitmentId, input, { counted: true, first });
      throw error;
    }
    const decision = placeCommitment({ id: commitmentId, roundId: round.id, issuerId: round.issuerId, investorId, role: input.role, amount: input.amount, transferId: holdTransferId(commitmentId), placedAt: now });
    const created = await this.options.commitments.create(commitmentId, decision.commitment, commitmentEventsToOutbox(decision.events, { aggregateId: commitmentId, version: 1, topicPrefix: this.options.topicPrefix }), fingerprint);
    if (input.role === 'lead') await this.writes.decideRound(round.id, (current) => leadJoined(current, investorId, commitmentId, this.writes.now()));
    return created.aggregate.state;
  }

  /** Step 1: the limit. A refusal is recorded for risk (InvestorLimitBreachAttempted) before it is answered. */
  private async reserveLimit(investorId: string, round: Round, commitmentId: string, amount: Money, now: Date): Promise<void> {
    try {
      await this.writes.decideInvestor(investorId, (current) => reserveUsage(current, this.investors.limitOf(current), amount, { commitmentId, roundId: round.id, at: now }, now));
    } catch (error) {
      if (!(error instanceof DomainError) || error.code !== 'INVESTOR_LIMIT_EXCEEDED') throw error;
      await this.writes.decideInvestor(
        investorId,
        (current) => current,
        this.breach(investorId, round.id, amount, BigInt(String(error.details['remainingMinor'] ?? '0')), now),
      );
      throw error;
    }
  }

  private breach(investorId: string, roundId: string, attempted: Money, remainingMinor: bigint, now: Date): LimitBreach {
    return { type: 'InvestorLimitBreachAttempted', investorId, roundId, attempted, remaining: { currency: attempted.currency, amountMinor: remainingMinor }, occurredAt: now };
  }

  /** Steps 2 and 3: the position, then the round's guarded counters; a refusal says why and gives the position and the limit back. */
  private async takePlace(round: Round, investorId: string, commitmentId: string, input: CommitInput, now: Date): Promise<boolean> {
    const added = await this.options.positions.add(round.id, investorId, { commitmentId, amountMinor: input.amount.amountMinor, role: input.role, placedAt: now });
    if (added === 'limit_reached') {
      await this.writes.decideInvestor(investorId, (current) => settleUsage(current, commitmentId, 0n));
      throw new DomainError('LIMIT_EXCEEDED', `an investor holds at most ${commitmentsPerInvestorPerRoundMax} pending commitments in one round`, { max: commitmentsPerInvestorPerRoundMax });
    }
    const position = added === 'present' ? await this.options.positions.get(round.id, investorId) : null;
    const first = added === 'added_first' || position?.commitments[0]?.commitmentId === commitmentId;
    const lead = input.role === 'lead';
    const guard: Record<string, unknown> = {
      'state.state': lead ? 'open_for_lead' : 'open',
      'state.endsAt': { $gt: now },
      'counters.committedMinor': { $lte: round.commitmentsCapMinor - input.amount.amountMinor },
      'counters.leadPresent': lead ? 0 : 1,
      ...(first ? { 'counters.investorsCount': { $lt: round.investorsMax } } : {}),
    };
    const increments = { committedMinor: input.amount.amountMinor, ...(first ? { investorsCount: 1 } : {}), ...(lead ? { leadPresent: 1 } : {}) };
    const outcome = await this.options.rounds.incrementCounters(round.id, counterKeys.reserve(commitmentId), increments, guard);
    if (outcome.kind !== 'refused') return first;
    await this.giveBack(round, investorId, commitmentId, input, { counted: false, first });
    const current = outcome.current;
    if (current) admit(current.state as Round, totalsOf(current.counters), { role: input.role, amount: input.amount, newInvestor: first }, now);
    throw new DomainError('CONCURRENT_MODIFICATION', 'the round changed during this commitment; try again', { roundId: round.id });
  }

  /** The compensation: the hold is voided, the counters, the position and the limit give the commitment back. */
  private async giveBack(round: Round, investorId: string, commitmentId: string, input: CommitInput, taken: { counted: boolean; first: boolean }): Promise<void> {
    await this.options.ledger.void(holdTransferId(commitmentId)).catch(ignoreResolved);
    const removed = await this.options.positions.remove(round.id, investorId, commitmentId);
    if (taken.counted) {
      const lead = input.role === 'lead';
      await this.options.rounds.incrementCounters(round.id, counterKeys.release(commitmentId), {
        committedMinor: -input.amount.amountMinor,
        ...(removed === 'emptied' ? { investorsCount: -1 } : {}),
        ...(lead ? { leadPresent: -1 } : {}),
      });
    }
    await this.writes.decideInvestor(investorId, (current) => settleUsage(current, commitmentId, 0n));
  }

  async get(caller: CallerIdentity, commitmentId: string): Promise<Commitment> {
    const loaded = await this.options.commitments.load(commitmentId);
    if (!loaded) throw new DomainError('NOT_FOUND', 'commitment not found', { commitmentId });
    return viewableCommitment(loaded.state, caller);
  }

  /**
   * The investor cancels: one guarded write takes the commitment off the round's counters and
   * decides the cooling-off window at the same moment; then the commitment is cancelled, its hold
   * voided, the limit and position given back, and a lead's departure reopens the round for a lead.
   */
  async cancel(caller: CallerIdentity, commitmentId: string): Promise<Commitment> {
    const commitment = await this.get(caller, commitmentId);
    if (commitment.investorId !== caller.participantId) throw new DomainError('NOT_FOUND', 'commitment not found', { commitmentId });
    if (commitment.state === 'cancelled') {
      await this.finishCancellation(commitment);
      return commitment;
    }
    const round = (await this.options.rounds.get(commitment.roundId, 'round')).state;
    const now = this.writes.now();
    cancelCommitment(commitment, round, caller.participantId, now);
    const lead = commitment.role === 'lead';
    const outcome = await this.options.rounds.incrementCounters(
      round.id,
      counterKeys.cancel(commitmentId),
      { committedMinor: -commitment.amount.amountMinor, ...(lead ? { leadPresent: -1 } : {}) },
      { 'state.state': { $in: ['open_for_lead', 'open'] }, 'state.cancellableUntil': { $gt: now } },
    );
    if (outcome.kind === 'refused') {
      const current = outcome.current?.state as Round | undefined;
      if (current && current.state !== 'open' && current.state !== 'open_for_lead') throw new DomainError('INVALID_STATE', `round is ${current.state}`, { roundId: round.id });
      throw new DomainError('COOLING_OFF_ENDED', 'commitments can no longer be cancelled this close to the deadline', { cancellableUntil: round.cancellableUntil.toISOString() });
    }
    const cancelled = await this.writes.decideCommitment(commitmentId, (current) => cancelCommitment(current, round, caller.participantId, now));
    await this.finishCancellation(cancelled);
    return cancelled;
  }

  /** After the commitment is cancelled (idempotent): void its hold, give back the limit and the position, reopen for a lead. */
  async finishCancellation(commitment: Commitment): Promise<void> {
    await this.options.ledger.void(commitment.transferId).catch(ignoreResolved);
    await this.writes.decideInvestor(commitment.investorId, (current) => settleUsage(current, commitment.id, 0n));
    if ((await this.options.positions.remove(commitment.roundId, commitment.investorId, commitment.id)) === 'emptied') {
      await this.options.rounds.incrementCounters(commitment.roundId, counterKeys.left(commitment.id), { investorsCount: -1 });
    }
    if (commitment.role === 'lead') await this.writes.decideRound(commitment.roundId, (round) => leadLeft(round, commitment.id, this.writes.now()));
  }
}

export function escrowAccountIdOf(round: Pick<Round, 'id' | 'pricePerShare'>): string {
  return `escrow:round:${round.id}:${round.pricePerShare.currency}`;
}
