/**
 * A unit of paid work: a bidding task's milestone or a dispatch assignment. It is submitted by its
 * solver, then accepted (by the owner, or by silence), rejected with a reason (at most
 * `resubmissionsMax` times), or disputed and resolved by an arbiter; cancellation refunds work
 * that was never handed in. Its `settlement` says where its money goes, and only through `split`.
 *
 *   pending ─submit→ submitted ─accept→ accepted
 *      ▲                 │ ├─reject→ rejected ─submit→ submitted
 *      │                 │ └─dispute→ disputed ─resolve→ resolved
 *   pending | rejected ─refund (cancellation)→ refunded
 *   rejected ─not handed in again within the resubmit window→ abandoned (the money returns to the owner)
 *   rejected ─dispute (within the window: it stops the clock)→ disputed
 */
import { basisPointsWhole, DomainError, type ErrorDetails, type Money, splitByBasisPoints, zero } from '@sizhong/kit/domain';
import { resubmissionsMax } from './limits';

export const workStates = ['pending', 'submitted', 'rejected', 'accepted', 'disputed', 'resolved', 'refunded', 'abandoned'] as const;
export type WorkState = (typeof workStates)[number];

export interface Submission {
  readonly deliverableUrl: string;
  readonly note: string;
  readonly at: Date;
  /** 1 for the first hand-in, 2 after one rejection, … */
  readonly number: number;
  readonly onTime: boolean;
}

/** Where the work's money went: to the solver (less the fee), the platform, back to the owner. */
export interface Settlement {
  readonly by: 'owner' | 'silence' | 'arbiter' | 'cancellation' | 'abandonment';
  readonly solverPaid: Money;
  readonly fee: Money;
  readonly ownerRefunded: Money;
  readonly at: Date;
}

export interface WorkDispute {
  readonly disputeId: string;
  readonly openedBy: 'owner' | 'solver';
  readonly reason: string;
  readonly at: Date;
  /** Set when the dispute outlived DISPUTE_RESOLUTION_MS: a regulator alert was raised; the money stays held. */
  readonly overdueAt?: Date;
  readonly solverShareBps?: number;
  readonly arbiterId?: string;
}

export interface Work {
  readonly amount: Money;
  readonly state: WorkState;
  /** When the work is due (the task's deadline): decides `onTime`. */
  readonly dueAt: Date;
  readonly submission?: Submission;
  readonly rejections: number;
  readonly lastRejectionReason?: string;
  /** When the latest rejection was decided: the resubmit window runs from it. */
  readonly rejectedAt?: Date;
  readonly dispute?: WorkDispute;
  readonly settlement?: Settlement;
}

export function newWork(amount: Money, dueAt: Date): Work {
  return { amount, state: 'pending', dueAt, rejections: 0 };
}

export function isSettled(work: Work): boolean {
  return work.state === 'accepted' || work.state === 'resolved' || work.state === 'refunded' || work.state === 'abandoned';
}

function refuse(work: Work, action: string): never {
  throw new DomainError('INVALID_STATE', `cannot ${action} work that is ${work.state}`, { state: work.state });
}

/**
 * A decision contrary to one already made on this work: 409 ALREADY_DECIDED naming the decision
 * (`accepted`, `rejected`, `resolution` with its share, `abandoned`, `refunded`). The same decision
 * made again is no error: the functions below return the work unchanged (the same object), and
 * their callers record nothing.
 */
function alreadyDecided(work: Work, action: string): never {
  const details: ErrorDetails = work.state === 'resolved' ? { decision: 'resolution', solverShareBps: work.dispute?.solverShareBps ?? null } : { decision: work.state };
  throw new DomainError('ALREADY_DECIDED', `cannot ${action} work already ${work.state}`, details);
}

export function submitWork(work: Work, input: { deliverableUrl: string; note: string }, now: Date): Work {
  // The same hand-in again (a retry after a lost answer) is the one already waiting.
  if (work.state === 'submitted' && work.submission?.deliverableUrl === input.deliverableUrl && work.submission.note === input.note) return work;
  if (isSettled(work)) alreadyDecided(work, 'submit');
  if (work.state !== 'pending' && work.state !== 'rejected') refuse(work, 'submit');
  const number = (work.submission?.number ?? 0) + 1;
  return { ...work, state: 'submitted', submission: { deliverableUrl: input.deliverableUrl, note: input.note, at: now, number, onTime: now.getTime() <= work.dueAt.getTime() } };
}

/** The solver's payout and the platform fee of `amount`, through the one split function. */
export function payout(amount: Money, feeBps: number): { solverPaid: Money; fee: Money } {
  const [fee, solverPaid] = splitByBasisPoints(amount, BigInt(feeBps));
  return { solverPaid, fee };
}

export function acceptWork(work: Work, feeBps: number, by: 'owner' | 'silence', now: Date): Work {
  if (work.state === 'accepted') return work;
  if (isSettled(work) || work.state === 'rejected') alreadyDecided(work, 'accept');
  if (work.state !== 'submitted') refuse(work, 'accept');
  return { ...work, state: 'accepted', settlement: { by, ...payout(work.amount, feeBps), ownerRefunded: zero(work.amount.currency), at: now } };
}

/** Silence after the submission numbered `submissionNumber`: accepted only if that hand-in still waits. */
export function autoAcceptWork(work: Work, submissionNumber: number, feeBps: number, now: Date): Work | undefined {
  if (work.state !== 'submitted' || work.submission?.number !== submissionNumber) return undefined;
  return acceptWork(work, feeBps, 'silence', now);
}

export function rejectWork(work: Work, reason: string, now: Date): Work {
  if (work.state === 'rejected') return work;
  if (isSettled(work)) alreadyDecided(work, 'reject');
  if (work.state !== 'submitted') refuse(work, 'reject');
  if (work.rejections >= resubmissionsMax) {
    throw new DomainError('LIMIT_EXCEEDED', `work is resubmitted at most ${resubmissionsMax} times; accept it or open a dispute`, { max: resubmissionsMax });
  }
  return { ...work, state: 'rejected', rejections: work.rejections + 1, lastRejectionReason: reason, rejectedAt: now };
}

/**
 * The resubmit window after rejection number `rejections` ended: work still waiting in that very
 * rejection closes as abandoned and its whole amount goes back (`refundTo` owner), or nowhere yet
 * (`none`: a dispatch slot returned to the pool keeps its money in the task). Anything else (handed
 * in again, disputed, decided) is left as it is: undefined.
 */
export function abandonWork(work: Work, rejections: number, refundTo: 'owner' | 'none', now: Date): Work | undefined {
  if (work.state !== 'rejected' || work.rejections !== rejections) return undefined;
  const none = zero(work.amount.currency);
  return { ...work, state: 'abandoned', settlement: { by: 'abandonment', solverPaid: none, fee: none, ownerRefunded: refundTo === 'owner' ? work.amount : none, at: now } };
}

/** Handed-in work is disputed while it waits, or after a rejection (within the resubmit window: it stops the clock). */
export function openWorkDispute(work: Work, dispute: { disputeId: string; openedBy: 'owner' | 'solver'; reason: string }, now: Date): Work {
  if (work.state !== 'submitted' && work.state !== 'rejected') refuse(work, 'dispute');
  return { ...work, state: 'disputed', dispute: { ...dispute, at: now } };
}

/** An arbiter never rules on work they own or did: PERMISSION_DENIED (another arbiter must). */
export function checkImpartial(arbiterId: string, parties: { readonly ownerId: string; readonly solverId: string | undefined }): void {
  if (arbiterId === parties.ownerId || arbiterId === parties.solverId) {
    throw new DomainError('PERMISSION_DENIED', 'an arbiter may not resolve a dispute they are a party to; another arbiter must', { reason: 'party_to_dispute' });
  }
}

/** The arbiter's split: the solver's share (less the fee) and the owner's refund sum to the amount. */
export function resolveWorkDispute(work: Work, resolution: { solverShareBps: number; arbiterId: string }, feeBps: number, now: Date): Work {
  if (work.state === 'resolved' && work.dispute?.solverShareBps === resolution.solverShareBps) return work;
  if (work.state === 'resolved') alreadyDecided(work, 'resolve a dispute on');
  if (work.state !== 'disputed' || !work.dispute) refuse(work, 'resolve a dispute on');
  if (!Number.isInteger(resolution.solverShareBps) || resolution.solverShareBps < 0 || BigInt(resolution.solverShareBps) > basisPointsWhole) {
    throw new DomainError('INVALID_ARGUMENT', 'solverShareBps must be an integer within 0..10000', { field: 'solverShareBps' });
  }
  const [solverGross, ownerRefunded] = splitByBasisPoints(work.amount, BigInt(resolution.solverShareBps));
  return {
    ...work,
    state: 'resolved',
    dispute: { ...work.dispute, solverShareBps: resolution.solverShareBps, arbiterId: resolution.arbiterId },
    settlement: { by: 'arbiter', ...payout(solverGross, feeBps), ownerRefunded, at: now },
  };
}

/** Cancellation returns work never handed in; handed-in work must be decided first. */
export function refundWork(work: Work, now: Date): Work {
  if (isSettled(work)) return work;
  if (work.state !== 'pending' && work.state !== 'rejected') refuse(work, 'refund');
  const none = zero(work.amount.currency);
  return { ...work, state: 'refunded', settlement: { by: 'cancellation', solverPaid: none, fee: none, ownerRefunded: work.amount, at: now } };
}
