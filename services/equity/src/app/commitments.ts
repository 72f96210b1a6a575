/**
 * Committing and cancelling, as sagas of the kit's one model (docs/storage.md "Sagas"): each
 * saga's record is written first (in `equity_sagas`, id = the commitment id, itself derived from
 * round, investor and Idempotency-Key) and never deleted; each step is keyed, verifies what it
 * finds when run again, names its own compensation and the codes that are a definite refusal of
 * it. Any other failure — escrow's deadline passing, escrow unreachable, a lost write race — is an
 * unknown outcome: nothing is given back, the saga stays `running` for a same-key retry, the
 * recovery loop or the round's close, which drive it on.
 *
 * A commitment (round trips: 5 reads, 6 writes and 1 gRPC call, a lead the same plus credit's call;
 * before the saga model a follower cost 4 reads and 4 writes, a lead 5 writes: the record's insert
 * and completion are the kit's 2, the admission's position read 1):
 *   0. reads: the saga's record (a same-key retry answers from it), the round, the investor, the
 *      caller's position; a lead also asks credit for its score; then the pre-checks, with the
 *      time read after that call ............................................ 4 reads (+1 gRPC)
 *   1. the saga's record .................................................................. 1 write
 *   2. `limit`: the investor's usage takes the amount within the 12-month limit ............ 1 write
 *   3. `position`: the investor's position in the round takes the commitment id ........... 1 write
 *   4. `hold`: a pending transfer wallet → the round's escrow; a repeat answers the transfer as
 *      it is, and only `pending` is a hold ............................................... 1 gRPC
 *   5. `admission`: the round's guarded write (the fence): the open state, `endsAt > now` with the
 *      time read at the write, the cap, the lead and the investor count; a lead joins the round
 *      (open_for_lead → open) in the same write ................................ 1 read + 1 write
 *   6. finish: the commitment document with its event on the outbox ...................... 1 write
 *   7. the record completed ............................................................... 1 write
 * The hold comes before the admission so that a saga whose hold is unknown is not yet in the
 * round: once the close has fenced the round, the admission refuses it for certain and the saga
 * gives its hold back (the close drives every unfinished saga of its round on before deciding).
 *
 * A cancellation (saga id `cancel:<commitment>`): the round's guarded write takes the commitment
 * off (open states and `cancellableUntil > now`, now read at the write; a lead's takes the round
 * back to open_for_lead in the same write), then the commitment is cancelled, its hold voided,
 * the limit and the position given back.
 */
import { type CallerIdentity, DomainError, deterministicId, hasRole, type Money, requestFingerprint, type Saga, type SagaStep } from '@sizhong/kit';
import {
  admit,
  cancelCommitment,
  checkCommitmentAmount,
  checkLeadShare,
  checkNotIssuer,
  commitmentsPerInvestorPerRoundMax,
  type Commitment,
  type CommitmentRole,
  type LimitBreach,
  placeCommitment,
  qualifyLead,
  recordCancellation,
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

export const commitmentSagaKinds = { commitment: 'commitment', cancellation: 'cancellation' } as const;

export function commitmentIdOf(roundId: string, investorId: string, idempotencyKey: string): string {
  return deterministicId('cm', 'commitment', roundId, investorId, idempotencyKey);
}

export function cancellationIdOf(commitmentId: string): string {
  return `cancel:${commitmentId}`;
}

/** What every step of a commitment needs, kept in the saga's record (the round's definition never changes). */
export interface CommitmentSagaInput {
  readonly commitmentId: string;
  readonly roundId: string;
  readonly issuerId: string;
  readonly investorId: string;
  readonly role: CommitmentRole;
  readonly amount: Money;
  readonly escrowAccountId: string;
  readonly endsAt: Date;
  readonly commitmentsCapMinor: bigint;
  readonly investorsMax: number;
  readonly placedAt: Date;
}

export interface CancellationSagaInput {
  readonly commitmentId: string;
  readonly roundId: string;
  readonly investorId: string;
  readonly role: CommitmentRole;
  readonly amountMinor: bigint;
  readonly transferId: string;
}

type NoFacts = Record<string, never>;

export class Commitments {
  private readonly commitment: Saga<CommitmentSagaInput, Commitment>;
  private readonly cancellation: Saga<CancellationSagaInput, Commitment>;

  constructor(
    private readonly writes: EquityWrites,
    private readonly investors: Investors,
  ) {
    this.commitment = writes.options.sagas.define<CommitmentSagaInput, NoFacts, Commitment>({
      kind: commitmentSagaKinds.commitment,
      stages: [this.limitStep(), this.positionStep(), this.holdStep(), this.admissionStep()],
      finish: { refusals: [], run: (input) => this.land(input) },
      initialFacts: () => ({}),
    });
    this.cancellation = writes.options.sagas.define<CancellationSagaInput, NoFacts, Commitment>({
      kind: commitmentSagaKinds.cancellation,
      stages: [this.withdrawalStep()],
      finish: { refusals: [], run: (input) => this.finishCancellation(input) },
      initialFacts: () => ({}),
    });
  }

  private get options() {
    return this.writes.options;
  }

  async commit(caller: CallerIdentity, input: CommitInput): Promise<Commitment> {
    if (!hasRole(caller, 'investor')) throw new DomainError('PERMISSION_DENIED', 'only investors commit to rounds');
    const investorId = caller.participantId;
    const commitmentId = commitmentIdOf(input.roundId, investorId, input.idempotencyKey);
    const fingerprint = requestFingerprint({ roundId: input.roundId, role: input.role, amount: input.amount });
    // A same-key retry reads the saga's record: its answer, its original refusal, or where it stands.
    const record = await this.options.sagas.log.load(commitmentId);
    if (record) {
      if (record.kind !== commitmentSagaKinds.commitment || record.fingerprint !== fingerprint) throw new DomainError('IDEMPOTENCY_KEY_REUSED', 'this idempotency key was used for a different request');
      return this.commitment.resume(commitmentId);
    }

    const loadedRound = await this.options.rounds.get(input.roundId, 'round');
    const round = loadedRound.state;
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
    const newInvestor = !position || position.commitments.length === 0;
    // The time is read here, after the call to credit: a late answer cannot carry an earlier `now` past the deadline.
    const now = this.writes.now();
    admit(round, totalsOf(loadedRound.counters), { role: input.role, amount: input.amount, newInvestor }, now);
    if (!investor) throw new DomainError('INVALID_STATE', 'set an investor profile (PUT /v1/investors/me/profile) before committing', { reason: 'profile_required' });

    const sagaInput: CommitmentSagaInput = {
      commitmentId,
      roundId: round.id,
      issuerId: round.issuerId,
      investorId,
      role: input.role,
      amount: input.amount,
      escrowAccountId: escrowAccountIdOf(round),
      endsAt: round.endsAt,
      commitmentsCapMinor: round.commitmentsCapMinor,
      investorsMax: round.investorsMax,
      placedAt: now,
    };
    return this.commitment.run({ id: commitmentId, input: sagaInput, fingerprint });
  }

  /** `limit`: the 12-month limit takes the amount (once per commitment). A refusal is recorded for risk (InvestorLimitBreachAttempted) before it is answered. */
  private limitStep(): SagaStep<CommitmentSagaInput, NoFacts> {
    return {
      name: 'limit',
      refusals: ['INVESTOR_LIMIT_EXCEEDED', 'CURRENCY_MISMATCH', 'INVALID_STATE', 'LIMIT_EXCEEDED'],
      run: async (input) => {
        const entry = { commitmentId: input.commitmentId, roundId: input.roundId, at: input.placedAt };
        try {
          await this.writes.decideInvestor(input.investorId, (current) => reserveUsage(current, this.investors.limitOf(current), input.amount, entry, this.writes.now()));
        } catch (error) {
          if (!(error instanceof DomainError) || error.code !== 'INVESTOR_LIMIT_EXCEEDED') throw error;
          const remainingMinor = BigInt(String(error.details['remainingMinor'] ?? '0'));
          await this.writes.decideInvestor(input.investorId, (current) => current, this.breach(input, remainingMinor));
          throw error;
        }
      },
      compensate: async (input) => void (await this.writes.decideInvestor(input.investorId, (current) => settleUsage(current, input.commitmentId, 0n))),
    };
  }

  private breach(input: CommitmentSagaInput, remainingMinor: bigint): LimitBreach {
    return { type: 'InvestorLimitBreachAttempted', investorId: input.investorId, roundId: input.roundId, attempted: input.amount, remaining: { currency: input.amount.currency, amountMinor: remainingMinor }, occurredAt: this.writes.now() };
  }

  /** `position`: the investor's position in the round names the commitment (at most commitmentsPerInvestorPerRoundMax pending). */
  private positionStep(): SagaStep<CommitmentSagaInput, NoFacts> {
    return {
      name: 'position',
      refusals: ['LIMIT_EXCEEDED'],
      run: async (input) => {
        const added = await this.options.positions.add(input.roundId, input.investorId, { commitmentId: input.commitmentId, amountMinor: input.amount.amountMinor, role: input.role, placedAt: input.placedAt });
        if (added === 'limit_reached') throw new DomainError('LIMIT_EXCEEDED', `an investor holds at most ${commitmentsPerInvestorPerRoundMax} pending commitments in one round`, { max: commitmentsPerInvestorPerRoundMax });
      },
      compensate: async (input) => void (await this.options.positions.remove(input.roundId, input.investorId, input.commitmentId)),
    };
  }

  /** `hold`: the money held in escrow. A repeat answers the transfer as it is: a voided or expired one is not a hold. */
  private holdStep(): SagaStep<CommitmentSagaInput, NoFacts> {
    return {
      name: 'hold',
      refusals: ['INSUFFICIENT_FUNDS', 'CURRENCY_MISMATCH', 'TRANSFER_NOT_PENDING', 'TRANSFER_EXPIRED'],
      run: async (input) => {
        const transferId = holdTransferId(input.commitmentId);
        const transfer = await this.options.ledger.hold({
          transferId,
          investorId: input.investorId,
          escrowAccountId: input.escrowAccountId,
          amount: input.amount,
          // Far past any recovery horizon: recovery or the close, never expiry, ends the saga.
          timeoutMs: Math.max(1, input.endsAt.getTime() + holdGraceMs - this.writes.now().getTime()),
          commitmentId: input.commitmentId,
        });
        if (transfer.state !== 'pending') throw new DomainError('TRANSFER_NOT_PENDING', `the commitment's transfer is ${transfer.state}: nothing is held`, { transferId });
      },
      compensate: (input) => this.options.ledger.void(holdTransferId(input.commitmentId)).catch(ignoreResolved),
    };
  }

  /** `admission`: the round's guarded write, the deadline's fence (see RoundAdmissions). */
  private admissionStep(): SagaStep<CommitmentSagaInput, NoFacts> {
    return {
      name: 'admission',
      refusals: ['INVALID_STATE', 'LEAD_REQUIRED', 'ROUND_FULL'],
      run: async (input) => {
        const lead = input.role === 'lead';
        const position = await this.options.positions.get(input.roundId, input.investorId);
        const newInvestor = !position || position.commitments[0]?.commitmentId === input.commitmentId;
        const round = { id: input.roundId, commitmentsCapMinor: input.commitmentsCapMinor, investorsMax: input.investorsMax };
        const outcome = await this.options.admissions.admit(round, counterKeys.reserve(input.commitmentId), {
          amountMinor: input.amount.amountMinor,
          newInvestor,
          ...(lead ? { lead: { investorId: input.investorId, commitmentId: input.commitmentId } } : {}),
        });
        if (outcome.kind !== 'refused') return;
        // The document is written only after this step took effect (whose key the round keeps among its last ones only).
        if (await this.options.commitments.load(input.commitmentId)) return;
        const current = outcome.current;
        if (current) admit(current.state as Round, totalsOf(current.counters), { role: input.role, amount: input.amount, newInvestor }, this.writes.now());
        throw new DomainError('CONCURRENT_MODIFICATION', 'the round changed during this commitment; try again', { roundId: input.roundId });
      },
      // No compensation: it is the last step before a finish that refuses nothing, so once admitted a commitment lands.
    };
  }

  /** The finish: the commitment document with its event (once; a repeat finds it). */
  private async land(input: CommitmentSagaInput): Promise<Commitment> {
    const { commitmentId } = input;
    const decision = placeCommitment({ id: commitmentId, roundId: input.roundId, issuerId: input.issuerId, investorId: input.investorId, role: input.role, amount: input.amount, transferId: holdTransferId(commitmentId), placedAt: input.placedAt });
    const created = await this.options.commitments.create(commitmentId, decision.commitment, commitmentEventsToOutbox(decision.events, { aggregateId: commitmentId, version: 1, topicPrefix: this.options.topicPrefix }));
    return created.aggregate.state;
  }

  async get(caller: CallerIdentity, commitmentId: string): Promise<Commitment> {
    const loaded = await this.options.commitments.load(commitmentId);
    if (!loaded) throw new DomainError('NOT_FOUND', 'commitment not found', { commitmentId });
    return viewableCommitment(loaded.state, caller);
  }

  /** The investor cancels their commitment (a saga per commitment: a repeat answers what the first one ended with). */
  async cancel(caller: CallerIdentity, commitmentId: string): Promise<Commitment> {
    const commitment = await this.get(caller, commitmentId);
    if (commitment.investorId !== caller.participantId) throw new DomainError('NOT_FOUND', 'commitment not found', { commitmentId });
    const id = cancellationIdOf(commitmentId);
    if (await this.options.sagas.log.load(id)) return this.cancellation.resume(id);
    if (commitment.state === 'cancelled') return commitment;
    const round = (await this.options.rounds.get(commitment.roundId, 'round')).state;
    // The pre-check; the round's guarded write decides the window again, with the time read at the write.
    cancelCommitment(commitment, round, caller.participantId, this.writes.now());
    const input: CancellationSagaInput = { commitmentId, roundId: commitment.roundId, investorId: commitment.investorId, role: commitment.role, amountMinor: commitment.amount.amountMinor, transferId: commitment.transferId };
    return this.cancellation.run({ id, input, fingerprint: requestFingerprint({ commitmentId }) });
  }

  /** `withdrawal`: the round's guarded write takes the commitment off its counters (a lead's also reopens the round for a lead). */
  private withdrawalStep(): SagaStep<CancellationSagaInput, NoFacts> {
    return {
      name: 'withdrawal',
      refusals: ['COOLING_OFF_ENDED', 'INVALID_STATE'],
      run: async (input) => {
        const lead = input.role === 'lead';
        const outcome = await this.options.admissions.cancel(input.roundId, counterKeys.cancel(input.commitmentId), { amountMinor: input.amountMinor, ...(lead ? { leadCommitmentId: input.commitmentId } : {}) });
        if (outcome.kind !== 'refused') return;
        // The commitment is cancelled only after this step took effect.
        if ((await this.options.commitments.load(input.commitmentId))?.state.state === 'cancelled') return;
        const current = outcome.current?.state as Round | undefined;
        if (!current || (current.state !== 'open' && current.state !== 'open_for_lead')) throw new DomainError('INVALID_STATE', `round is ${current?.state ?? 'missing'}`, { roundId: input.roundId });
        if (this.writes.now().getTime() >= current.cancellableUntil.getTime()) {
          throw new DomainError('COOLING_OFF_ENDED', 'commitments can no longer be cancelled this close to the deadline', { cancellableUntil: current.cancellableUntil.toISOString() });
        }
        throw new DomainError('INVALID_STATE', "this lead commitment is not the round's lead", { roundId: input.roundId });
      },
    };
  }

  /** The finish: the commitment cancelled, its hold voided, the limit and the position given back (each once). */
  private async finishCancellation(input: CancellationSagaInput): Promise<Commitment> {
    const cancelled = await this.writes.decideCommitment(input.commitmentId, (current) => recordCancellation(current, this.writes.now()));
    await this.options.ledger.void(input.transferId).catch(ignoreResolved);
    await this.writes.decideInvestor(input.investorId, (current) => settleUsage(current, input.commitmentId, 0n));
    if ((await this.options.positions.remove(input.roundId, input.investorId, input.commitmentId)) === 'emptied') {
      await this.options.admissions.investorLeft(input.roundId, counterKeys.left(input.commitmentId));
    }
    return cancelled;
  }
}

export function escrowAccountIdOf(round: Pick<Round, 'id' | 'pricePerShare'>): string {
  return `escrow:round:${round.id}:${round.pricePerShare.currency}`;
}
