/**
 * A commitment: one investor's pending transfer into a round's escrow, its own document (the
 * reservation). pending → cancelled (by its investor, before the cooling-off window) | allocated
 * (at close: shares × price posted, the rest returned) | refunded (a failed round, or no shares).
 */
import { type CallerIdentity, DomainError, hasRole, type Money } from '@sizhong/kit/domain';
import type { AllocationLine } from './allocation';
import type { RoundDefinition } from './round';

export const commitmentStates = ['pending', 'cancelled', 'allocated', 'refunded'] as const;
export type CommitmentState = (typeof commitmentStates)[number];
export type CommitmentRole = 'lead' | 'follower';

export interface Commitment {
  readonly id: string;
  readonly roundId: string;
  readonly issuerId: string;
  readonly investorId: string;
  readonly role: CommitmentRole;
  readonly amount: Money;
  readonly transferId: string;
  readonly state: CommitmentState;
  readonly placedAt: Date;
  readonly shares: bigint;
  readonly allocatedMinor: bigint;
  readonly refundedMinor: bigint;
  readonly resolvedAt?: Date;
}

export interface CommitmentEvent {
  readonly type: 'LeadCommitted' | 'CommitmentPlaced' | 'CommitmentCancelled' | 'CommitmentAllocated' | 'CommitmentRefunded';
  readonly commitment: Commitment;
  readonly occurredAt: Date;
}

export function placeCommitment(input: Omit<Commitment, 'state' | 'shares' | 'allocatedMinor' | 'refundedMinor'>): { commitment: Commitment; events: CommitmentEvent[] } {
  const commitment: Commitment = { ...input, state: 'pending', shares: 0n, allocatedMinor: 0n, refundedMinor: 0n };
  return { commitment, events: [{ type: input.role === 'lead' ? 'LeadCommitted' : 'CommitmentPlaced', commitment, occurredAt: input.placedAt }] };
}

/** The investor cancels before the cooling-off window; COOLING_OFF_ENDED inside it. A cancelled one answers unchanged. */
export function cancelCommitment(commitment: Commitment, round: Pick<RoundDefinition, 'cancellableUntil'>, callerId: string, now: Date): { commitment: Commitment; events: CommitmentEvent[] } {
  if (commitment.investorId !== callerId) throw new DomainError('NOT_FOUND', 'commitment not found', { commitmentId: commitment.id });
  if (commitment.state === 'cancelled') return { commitment, events: [] };
  if (commitment.state !== 'pending') throw new DomainError('INVALID_STATE', `commitment is ${commitment.state}`, { commitmentId: commitment.id });
  if (now.getTime() >= round.cancellableUntil.getTime()) {
    throw new DomainError('COOLING_OFF_ENDED', 'commitments can no longer be cancelled this close to the deadline', { cancellableUntil: round.cancellableUntil.toISOString() });
  }
  const cancelled: Commitment = { ...commitment, state: 'cancelled', resolvedAt: now };
  return { commitment: cancelled, events: [{ type: 'CommitmentCancelled', commitment: cancelled, occurredAt: now }] };
}

/**
 * The cancellation is recorded once the round's guarded write took the commitment off its
 * counters (that write decided the cooling-off window): pending → cancelled, a replay unchanged.
 */
export function recordCancellation(commitment: Commitment, now: Date): { commitment: Commitment; events: CommitmentEvent[] } {
  if (commitment.state === 'cancelled') return { commitment, events: [] };
  if (commitment.state !== 'pending') throw new DomainError('INVALID_STATE', `commitment is ${commitment.state}`, { commitmentId: commitment.id });
  const cancelled: Commitment = { ...commitment, state: 'cancelled', resolvedAt: now };
  return { commitment: cancelled, events: [{ type: 'CommitmentCancelled', commitment: cancelled, occurredAt: now }] };
}

/** Close: posted for its allocation (refunded when that is zero shares). A replay is a no-op. */
export function resolveCommitment(commitment: Commitment, line: AllocationLine | undefined, now: Date): { commitment: Commitment; events: CommitmentEvent[] } {
  if (commitment.state !== 'pending') return { commitment, events: [] };
  if (!line || line.shares === 0n) {
    const refunded: Commitment = { ...commitment, state: 'refunded', refundedMinor: commitment.amount.amountMinor, resolvedAt: now };
    return { commitment: refunded, events: [{ type: 'CommitmentRefunded', commitment: refunded, occurredAt: now }] };
  }
  const allocated: Commitment = { ...commitment, state: 'allocated', shares: line.shares, allocatedMinor: line.amountMinor, refundedMinor: line.refundedMinor, resolvedAt: now };
  return { commitment: allocated, events: [{ type: 'CommitmentAllocated', commitment: allocated, occurredAt: now }] };
}

/** Its investor, the round's issuer, regulators and admins see a commitment; anyone else gets NOT_FOUND. */
export function viewableCommitment(commitment: Commitment, caller: CallerIdentity): Commitment {
  if (commitment.investorId === caller.participantId || commitment.issuerId === caller.participantId || hasRole(caller, 'regulator', 'admin')) return commitment;
  throw new DomainError('NOT_FOUND', 'commitment not found', { commitmentId: commitment.id });
}
