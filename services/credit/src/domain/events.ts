/**
 * Which facts each domain event adds to whose record. The table is keyed by event type, so a new
 * event type is one more entry (and an unknown type adds nothing); payloads arrive decoded into
 * plain objects, read through small accessors so a missing field is an empty value, never a throw.
 */
import type { CreditRole, FactName, FactScope } from './model';

/** A decoded domain event as credit sees it (the envelope's fields and the payload as plain data). */
export interface CreditEvent {
  readonly id: string;
  readonly type: string;
  readonly aggregateId: string;
  readonly aggregateType: string;
  /** The envelope's aggregate_version: the version of the aggregate's write that emitted the event (0 when unknown). */
  readonly aggregateVersion?: number;
  readonly occurredAt: Date;
  readonly payload: Readonly<Record<string, unknown>>;
}

/** An investor's accreditation as of one version of their investor aggregate (the highest version wins). */
export interface AccreditationState {
  readonly accredited: boolean;
  readonly version: number;
  readonly at: Date;
}

/**
 * One event's contribution to one participant's record: activity in a scope, and maybe a fact; or
 * (accreditation set) a state that replaces an older one and is no activity, so profile edits never
 * build volume or account age.
 */
export interface FactDelta {
  readonly participantId: string;
  readonly scope: FactScope;
  readonly fact?: FactName;
  readonly accreditation?: AccreditationState;
}

export function text(payload: Readonly<Record<string, unknown>>, field: string): string {
  const value = payload[field];
  return typeof value === 'string' ? value : '';
}

export function whole(payload: Readonly<Record<string, unknown>>, field: string): number {
  const value = payload[field];
  return typeof value === 'number' ? value : typeof value === 'bigint' ? Number(value) : 0;
}

export function flag(payload: Readonly<Record<string, unknown>>, field: string): boolean {
  return payload[field] === true;
}

export function date(payload: Readonly<Record<string, unknown>>, field: string): Date | undefined {
  const value = payload[field];
  return value instanceof Date ? value : undefined;
}

/** The participant of a wallet account id `wallet:<participant>:<currency>`. */
export function walletOwner(accountId: string): string | undefined {
  const match = /^wallet:(.+):[A-Z]{3}$/.exec(accountId);
  return match?.[1];
}

const activity = (participantId: string, scope: FactScope): FactDelta[] => (participantId ? [{ participantId, scope }] : []);
const fact = (participantId: string, scope: CreditRole, name: FactName): FactDelta[] => (participantId ? [{ participantId, scope, fact: name }] : []);

/** What a refused payment was for, and so in which role it counts. */
const paymentScopes: Readonly<Record<string, FactScope>> = { pledge: 'backer', commitment: 'investor', task: 'enterprise' };

type Extractor = (event: CreditEvent) => FactDelta[];

export const factExtractors: Readonly<Record<string, Extractor>> = {
  // escrow
  DepositReceived: ({ payload }) => activity(text(payload, 'participantId'), 'other'),
  WithdrawalCompleted: ({ payload }) => activity(text(payload, 'participantId'), 'other'),
  CampaignLaunched: ({ payload }) => activity(text(payload, 'creatorId'), 'creator'),
  CampaignSucceeded: ({ payload }) => fact(text(payload, 'creatorId'), 'creator', 'campaignsSucceeded'),
  CampaignFailed: ({ payload }) => fact(text(payload, 'creatorId'), 'creator', 'campaignsFailed'),
  CampaignDelivered: ({ payload }) => fact(text(payload, 'creatorId'), 'creator', 'campaignsDelivered'),
  CampaignDeliveryFailed: ({ payload }) => fact(text(payload, 'creatorId'), 'creator', 'campaignDeliveriesFailed'),
  DeliveryOverdue: ({ payload }) => fact(text(payload, 'creatorId'), 'creator', 'deliveriesOverdue'),
  MilestoneReleased: ({ payload, occurredAt }) => {
    const creator = text(payload, 'creatorId');
    const dueAt = date(payload, 'dueAt');
    const late = dueAt !== undefined && occurredAt.getTime() > dueAt.getTime();
    return [...fact(creator, 'creator', 'deliveriesAccepted'), ...(late ? fact(creator, 'creator', 'deliveriesLate') : [])];
  },
  PledgePlaced: ({ payload }) => activity(text(payload, 'backerId'), 'backer'),
  PledgeCollected: ({ payload }) => fact(text(payload, 'backerId'), 'backer', 'pledgesCollected'),
  PledgeCancelled: ({ payload }) => fact(text(payload, 'backerId'), 'backer', 'cancellations'),
  PledgeRefunded: ({ payload }) => activity(text(payload, 'backerId'), 'backer'),
  TransferRejected: ({ payload }) => {
    if (text(payload, 'rejectionCode') !== 'INSUFFICIENT_FUNDS') return [];
    const owner = walletOwner(text(payload, 'debitAccountId'));
    if (!owner) return [];
    const scope = paymentScopes[text(payload, 'referenceKind')] ?? 'other';
    return [{ participantId: owner, scope, fact: 'paymentFailures' }];
  },
  // task-dispatch
  TaskPosted: ({ payload }) => activity(text(payload, 'ownerId'), 'enterprise'),
  TaskAwarded: ({ payload }) => [...activity(text(payload, 'solverId'), 'solver'), ...activity(text(payload, 'ownerId'), 'enterprise')],
  AssignmentClaimed: ({ payload }) => activity(text(payload, 'solverId'), 'solver'),
  AssignmentLeaseExpired: ({ payload }) => fact(text(payload, 'solverId'), 'solver', 'leasesExpired'),
  MilestoneSubmitted: ({ payload }) => activity(text(payload, 'solverId'), 'solver'),
  TaskMilestoneAccepted: ({ payload }) => {
    const solver = text(payload, 'solverId');
    return [...fact(solver, 'solver', 'deliveriesAccepted'), ...(flag(payload, 'onTime') ? [] : fact(solver, 'solver', 'deliveriesLate'))];
  },
  TaskMilestoneRejected: ({ payload }) => fact(text(payload, 'solverId'), 'solver', 'milestonesRejected'),
  DisputeOpened: ({ payload }) => [...activity(text(payload, 'solverId'), 'solver'), ...activity(text(payload, 'ownerId'), 'enterprise')],
  DisputeResolved: ({ payload }) => {
    // The side that got less than half lost; an even split is nobody's loss.
    const share = whole(payload, 'solverShareBps');
    const solver = text(payload, 'solverId');
    const owner = text(payload, 'ownerId');
    if (share < 5_000) return [...fact(solver, 'solver', 'disputesLost'), ...activity(owner, 'enterprise')];
    if (share > 5_000) return [...fact(owner, 'enterprise', 'disputesLost'), ...activity(solver, 'solver')];
    return [...activity(solver, 'solver'), ...activity(owner, 'enterprise')];
  },
  ContestWinnersNamed: ({ payload }) => {
    const winners = Array.isArray(payload['winners']) ? (payload['winners'] as Record<string, unknown>[]) : [];
    return [...activity(text(payload, 'ownerId'), 'enterprise'), ...winners.flatMap((winner) => fact(text(winner, 'solverId'), 'solver', 'deliveriesAccepted'))];
  },
  TaskCancelled: ({ payload }) => (text(payload, 'stage') === 'awarded' ? fact(text(payload, 'ownerId'), 'enterprise', 'tasksCancelled') : activity(text(payload, 'ownerId'), 'enterprise')),
  TaskCompleted: ({ payload }) => fact(text(payload, 'ownerId'), 'enterprise', 'tasksCompleted'),
  // equity
  RoundOpened: ({ payload }) => activity(text(payload, 'issuerId'), 'issuer'),
  LeadCommitted: ({ payload }) => activity(text(payload, 'investorId'), 'investor'),
  CommitmentPlaced: ({ payload }) => activity(text(payload, 'investorId'), 'investor'),
  CommitmentCancelled: ({ payload }) => fact(text(payload, 'investorId'), 'investor', 'cancellations'),
  InvestorLimitBreachAttempted: ({ payload }) => fact(text(payload, 'investorId'), 'investor', 'limitBreachesAttempted'),
  InvestorProfileUpdated: ({ payload, aggregateId, aggregateVersion, occurredAt }) => {
    const investorId = text(payload, 'investorId') || aggregateId;
    return investorId ? [{ participantId: investorId, scope: 'investor', accreditation: { accredited: flag(payload, 'accredited'), version: aggregateVersion ?? 0, at: occurredAt } }] : [];
  },
  RoundClosed: ({ payload }) => [...fact(text(payload, 'issuerId'), 'issuer', 'roundsClosed'), ...fact(text(payload, 'leadId'), 'investor', 'leadRoundsClosed')],
  RoundFailed: ({ payload }) => [...fact(text(payload, 'issuerId'), 'issuer', 'roundsFailed'), ...fact(text(payload, 'leadId'), 'investor', 'leadRoundsFailed')],
};

/** The facts an event adds, grouped by participant (in first-mention order). */
export function factsOfEvent(event: CreditEvent): Map<string, FactDelta[]> {
  const deltas = factExtractors[event.type]?.(event) ?? [];
  const byParticipant = new Map<string, FactDelta[]>();
  for (const delta of deltas) byParticipant.set(delta.participantId, [...(byParticipant.get(delta.participantId) ?? []), delta]);
  return byParticipant;
}
