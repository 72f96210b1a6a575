/**
 * A round's lifecycle: open_for_lead → open → closing → closed | failed (a lead who cancels sends
 * it back to open_for_lead). `closing` is the deadline's fence: the close moves the round there
 * with one guarded write before it decides, and commitments are admitted only in the open states,
 * so none lands after the fence whatever a replica's clock says. The definition never changes once
 * created; the live totals (committed money, investors, whether a lead is present) are guarded
 * counters beside it, not part of this state.
 */
import { basisPointsWhole, DomainError, type Money, money, splitByBasisPoints } from '@sizhong/kit/domain';
import { type AllocationLine, type AllocationRequest, allocate } from './allocation';
import { amountMinorMax, basisPointsMax, type EquityPolicy, investorsPerRoundMax, leadMinBpsDefault, platformCurrencies, titleLengthMax } from './policy';

export const roundStates = ['open_for_lead', 'open', 'closing', 'closed', 'failed'] as const;
export type RoundState = (typeof roundStates)[number];
export type RoundFailureReason = 'target_not_met' | 'no_lead';

export interface RoundDefinition {
  readonly id: string;
  readonly issuerId: string;
  readonly title: string;
  readonly target: Money;
  readonly maximum: Money;
  readonly pricePerShare: Money;
  readonly endsAt: Date;
  readonly leadMinBps: number;
  readonly leadCarryBps: number;
  readonly investorsMax: number;
  /** Commitments are accepted up to this (the oversubscription cap of the maximum, whole shares). */
  readonly commitmentsCapMinor: bigint;
  /** Cancellations are accepted before this (endsAt − cooling-off). */
  readonly cancellableUntil: Date;
  /**
   * The platform fee, fixed when the round opened (a later change of `PLATFORM_FEE_BPS` never
   * changes a round's close). Absent on rounds opened before it was kept: the close then takes
   * the configured fee.
   */
  readonly feeBps?: number;
  readonly createdAt: Date;
}

export type Round =
  | (RoundDefinition & { readonly state: 'open_for_lead' })
  | (RoundDefinition & { readonly state: 'open'; readonly leadId: string; readonly leadCommitmentId: string })
  /** Past the deadline, fenced: no commitment or cancellation gets in; the close resolves what is under way, then decides. */
  | (RoundDefinition & { readonly state: 'closing'; readonly closingAt: Date; readonly leadId?: string; readonly leadCommitmentId?: string })
  | (RoundDefinition & {
      readonly state: 'closed';
      readonly leadId: string;
      readonly leadCommitmentId: string;
      readonly closedAt: Date;
      readonly committedMinor: bigint;
      readonly raisedMinor: bigint;
      readonly feeMinor: bigint;
      readonly sharesIssued: bigint;
      readonly allocations: readonly AllocationLine[];
      /** Set once every hold is resolved and the fee and proceeds are paid. */
      readonly settledAt?: Date;
    })
  | (RoundDefinition & { readonly state: 'failed'; readonly closedAt: Date; readonly committedMinor: bigint; readonly reason: RoundFailureReason; readonly leadId?: string; readonly settledAt?: Date });

export interface RoundOpened {
  readonly type: 'RoundOpened';
  readonly round: RoundDefinition;
  readonly occurredAt: Date;
}
export interface RoundLeadChanged {
  readonly type: 'RoundLeadJoined' | 'RoundLeadLeft';
  readonly roundId: string;
  readonly occurredAt: Date;
}
export interface RoundClosed {
  readonly type: 'RoundClosed';
  readonly round: Extract<Round, { state: 'closed' }>;
  readonly occurredAt: Date;
}
export interface RoundFailed {
  readonly type: 'RoundFailed';
  readonly round: Extract<Round, { state: 'failed' }>;
  readonly occurredAt: Date;
}
export type RoundEvent = RoundOpened | RoundLeadChanged | RoundClosed | RoundFailed;

export interface CreateRoundInput {
  readonly id: string;
  readonly issuerId: string;
  readonly title: string;
  readonly target: Money;
  readonly maximum: Money;
  readonly pricePerShare: Money;
  readonly endsAt: Date;
  readonly leadMinBps?: number;
  readonly leadCarryBps: number;
  readonly investorsMax?: number;
}

function invalid(field: string, message: string, code: 'INVALID_ARGUMENT' | 'CURRENCY_MISMATCH' | 'LIMIT_EXCEEDED' = 'INVALID_ARGUMENT'): DomainError {
  return new DomainError(code, message, { field });
}

export function createRound(input: CreateRoundInput, policy: EquityPolicy, now: Date): { round: Round; events: RoundEvent[] } {
  const title = input.title.trim();
  if (title.length === 0 || title.length > titleLengthMax) throw invalid('title', `title must be 1 to ${titleLengthMax} characters`);
  const price = input.pricePerShare;
  for (const [field, value] of [['target', input.target], ['maximum', input.maximum], ['pricePerShare', price]] as const) {
    if (value.amountMinor <= 0n) throw invalid(`${field}.amountMinor`, `${field} must be positive`);
    if (value.amountMinor > amountMinorMax) throw invalid(`${field}.amountMinor`, `${field} is at most ${amountMinorMax} minor units`, 'LIMIT_EXCEEDED');
    if (value.currency !== price.currency) throw invalid(`${field}.currency`, 'target, maximum and price per share share one currency', 'CURRENCY_MISMATCH');
  }
  if (!(platformCurrencies as readonly string[]).includes(price.currency)) throw invalid('pricePerShare.currency', `rounds are in ${platformCurrencies.join(' or ')}`);
  if (input.target.amountMinor % price.amountMinor !== 0n) throw invalid('target.amountMinor', 'target must be a whole number of shares');
  if (input.maximum.amountMinor % price.amountMinor !== 0n) throw invalid('maximum.amountMinor', 'maximum must be a whole number of shares');
  if (input.maximum.amountMinor < input.target.amountMinor) throw invalid('maximum.amountMinor', 'maximum must be at least the target');
  const untilEndMs = input.endsAt.getTime() - now.getTime();
  if (untilEndMs < policy.durationMinMs || untilEndMs > policy.durationMaxMs) {
    throw invalid('endsAt', `endsAt must be between ${policy.durationMinMs} ms and ${policy.durationMaxMs} ms from now`);
  }
  const leadMinBps = input.leadMinBps ?? leadMinBpsDefault;
  if (!Number.isInteger(leadMinBps) || leadMinBps < 1 || leadMinBps > basisPointsMax) throw invalid('leadMinBps', 'leadMinBps must be within 1..10000');
  if (!Number.isInteger(input.leadCarryBps) || input.leadCarryBps < 0 || input.leadCarryBps > basisPointsMax) throw invalid('leadCarryBps', 'leadCarryBps must be within 0..10000');
  const investorsMax = input.investorsMax ?? policy.investorsMaxDefault;
  if (!Number.isInteger(investorsMax) || investorsMax < 1 || investorsMax > investorsPerRoundMax) throw invalid('investorsMax', `investorsMax must be within 1..${investorsPerRoundMax}`);
  // The cap in whole shares: floor(maximum × cap / 10000 / price) × price (a threshold, not a split of money).
  const capShares = (input.maximum.amountMinor * BigInt(policy.oversubscriptionCapBps)) / basisPointsWhole / price.amountMinor;
  const round: Round = {
    id: input.id,
    issuerId: input.issuerId,
    title,
    target: input.target,
    maximum: input.maximum,
    pricePerShare: price,
    endsAt: input.endsAt,
    leadMinBps,
    leadCarryBps: input.leadCarryBps,
    investorsMax,
    commitmentsCapMinor: capShares * price.amountMinor,
    cancellableUntil: new Date(input.endsAt.getTime() - policy.coolingOffMs),
    feeBps: policy.feeBps,
    createdAt: now,
    state: 'open_for_lead',
  };
  return { round, events: [{ type: 'RoundOpened', round, occurredAt: now }] };
}

/** The checks every commitment makes against the round's definition, before any write. */
export function checkCommitmentAmount(round: RoundDefinition, amount: Money): void {
  if (amount.currency !== round.pricePerShare.currency) throw invalid('amount.currency', `this round is in ${round.pricePerShare.currency}`, 'CURRENCY_MISMATCH');
  if (amount.amountMinor <= 0n) throw invalid('amount.amountMinor', 'amount must be positive');
  if (amount.amountMinor % round.pricePerShare.amountMinor !== 0n) {
    throw invalid('amount.amountMinor', `amount must be a whole number of shares (a multiple of ${round.pricePerShare.amountMinor})`);
  }
  if (amount.amountMinor > round.commitmentsCapMinor) throw new DomainError('ROUND_FULL', 'this commitment alone is past the oversubscription cap', { capMinor: round.commitmentsCapMinor.toString() });
}

/** The lead's minimum: amount × 10000 ≥ target × leadMinBps (exact, no rounding). */
export function checkLeadShare(round: RoundDefinition, amount: Money): void {
  if (amount.amountMinor * basisPointsWhole < round.target.amountMinor * BigInt(round.leadMinBps)) {
    throw new DomainError('LEAD_SHARE_TOO_SMALL', `a lead commits at least ${round.leadMinBps} basis points of the target`, { leadMinBps: round.leadMinBps });
  }
}

export type LeadRefusal = 'issuer' | 'not_accredited' | 'score_too_low' | 'no_profile';

export function leadNotQualified(reason: LeadRefusal, scoreMin: number): DomainError {
  const messages: Record<LeadRefusal, string> = {
    issuer: "the round's issuer cannot lead it",
    not_accredited: 'a lead investor must be accredited',
    score_too_low: `a lead investor needs a credit score of at least ${scoreMin}`,
    no_profile: 'a lead investor needs an investor profile (accredited)',
  };
  return new DomainError('LEAD_NOT_QUALIFIED', messages[reason], { reason });
}

export function isAcceptingCommitments(round: Round): boolean {
  return round.state === 'open_for_lead' || round.state === 'open';
}

/** The lead's commitment has landed: open_for_lead → open. A replay is a no-op. */
export function leadJoined(round: Round, leadId: string, leadCommitmentId: string, now: Date): { round: Round; events: RoundEvent[] } {
  if (round.state === 'open' && round.leadCommitmentId === leadCommitmentId) return { round, events: [] };
  if (round.state !== 'open_for_lead') throw new DomainError('INVALID_STATE', `round is ${round.state}`, { roundId: round.id });
  return { round: { ...round, state: 'open', leadId, leadCommitmentId }, events: [{ type: 'RoundLeadJoined', roundId: round.id, occurredAt: now }] };
}

/** The lead cancelled: open → open_for_lead, follow commitments frozen until a new lead commits. */
export function leadLeft(round: Round, leadCommitmentId: string, now: Date): { round: Round; events: RoundEvent[] } {
  if (round.state !== 'open' || round.leadCommitmentId !== leadCommitmentId) return { round, events: [] };
  const { leadId: _leadId, leadCommitmentId: _commitmentId, ...definition } = round;
  return { round: { ...definition, state: 'open_for_lead' }, events: [{ type: 'RoundLeadLeft', roundId: round.id, occurredAt: now }] };
}

export type PendingCommitmentFact = AllocationRequest;

/** The deadline has passed: the fence. One guarded write; a replay (already closing or decided) changes nothing. */
export function startClosing(round: Round, now: Date): { round: Round; events: RoundEvent[] } {
  if (!isAcceptingCommitments(round)) return { round, events: [] };
  if (now.getTime() < round.endsAt.getTime()) throw new DomainError('INVALID_STATE', 'the round has not reached its deadline', { roundId: round.id });
  return { round: { ...round, state: 'closing', closingAt: now }, events: [] };
}

/**
 * The outcome, decided behind the fence on the pending commitments themselves: a lead and the
 * target met → closed with its allocation and the fee fixed when the round opened (older rounds
 * without one: `configuredFeeBps`); otherwise failed.
 */
export function closeRound(round: Round, pending: readonly PendingCommitmentFact[], configuredFeeBps: number, now: Date): { round: Round; events: RoundEvent[] } {
  if (round.state === 'closed' || round.state === 'failed') return { round, events: [] };
  if (round.state !== 'closing') throw new DomainError('INVALID_STATE', 'a round is decided only once it is closing', { roundId: round.id });
  const feeBps = round.feeBps ?? configuredFeeBps;
  const { leadId: _leadId, leadCommitmentId: _leadCommitmentId, closingAt: _closingAt, ...definition } = round;
  const committedMinor = pending.reduce((sum, commitment) => sum + commitment.amountMinor, 0n);
  const lead = pending.find((commitment) => commitment.role === 'lead');
  if (!lead || committedMinor < round.target.amountMinor) {
    const failed = { ...definition, state: 'failed' as const, closedAt: now, committedMinor, reason: (lead ? 'target_not_met' : 'no_lead') as RoundFailureReason, ...(lead ? { leadId: lead.investorId } : {}) };
    return { round: failed, events: [{ type: 'RoundFailed', round: failed, occurredAt: now }] };
  }
  const allocation = allocate(pending, round.pricePerShare.amountMinor, round.maximum.amountMinor);
  const [fee] = splitByBasisPoints(money(round.pricePerShare.currency, allocation.raisedMinor), BigInt(feeBps));
  const closed = {
    ...definition,
    state: 'closed' as const,
    leadId: lead.investorId,
    leadCommitmentId: lead.commitmentId,
    closedAt: now,
    committedMinor,
    raisedMinor: allocation.raisedMinor,
    feeMinor: fee.amountMinor,
    sharesIssued: allocation.sharesIssued,
    allocations: allocation.lines,
  };
  return { round: closed, events: [{ type: 'RoundClosed', round: closed, occurredAt: now }] };
}

/** The live totals the guarded counters keep. */
export interface RoundTotals {
  readonly committedMinor: bigint;
  readonly investorsCount: number;
  readonly leadPresent: boolean;
}

export interface AdmissionRequest {
  readonly role: CommitmentRoleName;
  readonly amount: Money;
  /** The investor has no other pending commitment in the round (they would count as a new investor). */
  readonly newInvestor: boolean;
}
type CommitmentRoleName = 'lead' | 'follower';

/**
 * Whether the round admits a commitment now, on its state and totals: the pre-check before any
 * write, and the explanation when the guarded counter write refused (the same rule either way).
 */
export function admit(round: Round, totals: RoundTotals, request: AdmissionRequest, now: Date): void {
  if (!isAcceptingCommitments(round) || now.getTime() >= round.endsAt.getTime()) {
    // The time is read at the guard, never before a remote call: a late answer cannot carry an old `now` past the deadline.
    throw new DomainError('INVALID_STATE', isAcceptingCommitments(round) ? 'the round has reached its deadline' : `round is ${round.state}`, { roundId: round.id });
  }
  if (request.role === 'follower' && (round.state === 'open_for_lead' || !totals.leadPresent)) {
    throw new DomainError('LEAD_REQUIRED', 'the round takes follow commitments once its lead has committed', { roundId: round.id });
  }
  if (request.role === 'lead' && (round.state !== 'open_for_lead' || totals.leadPresent)) {
    throw new DomainError('INVALID_STATE', 'the round already has a lead', { roundId: round.id });
  }
  if (request.newInvestor && totals.investorsCount >= round.investorsMax) {
    throw new DomainError('ROUND_FULL', `the round admits at most ${round.investorsMax} investors`, { investorsMax: round.investorsMax });
  }
  if (totals.committedMinor + request.amount.amountMinor > round.commitmentsCapMinor) {
    throw new DomainError('ROUND_FULL', 'this commitment would take the round past its oversubscription cap', { capMinor: round.commitmentsCapMinor.toString(), committedMinor: totals.committedMinor.toString() });
  }
}

export interface LeadCandidate {
  readonly investorId: string;
  readonly hasProfile: boolean;
  readonly accredited: boolean;
  /** The credit service's score for the role investor. */
  readonly score: number;
}

/** Lead qualification: not the issuer, an accredited profile, and a credit score of at least the minimum. */
export function qualifyLead(round: RoundDefinition, candidate: LeadCandidate, scoreMin: number): void {
  if (candidate.investorId === round.issuerId) throw leadNotQualified('issuer', scoreMin);
  if (!candidate.hasProfile) throw leadNotQualified('no_profile', scoreMin);
  if (!candidate.accredited) throw leadNotQualified('not_accredited', scoreMin);
  if (candidate.score < scoreMin) throw leadNotQualified('score_too_low', scoreMin);
}

/** The issuer never invests in their own round. */
export function checkNotIssuer(round: RoundDefinition, investorId: string): void {
  if (investorId === round.issuerId) throw new DomainError('PERMISSION_DENIED', 'an issuer may not invest in their own round', { roundId: round.id });
}

/** The close's money steps are done: the round is settled (a replay changes nothing). */
export function markSettled(round: Round, now: Date): { round: Round; events: RoundEvent[] } {
  if ((round.state !== 'closed' && round.state !== 'failed') || round.settledAt !== undefined) return { round, events: [] };
  return { round: { ...round, settledAt: now }, events: [] };
}
