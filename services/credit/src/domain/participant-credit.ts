/**
 * One participant's credit record: facts per scope, and which events were applied (the most recent
 * ones, so a retried event is recognised even before the consumer marks it processed). Applying
 * an event is pure: the new record and the score changes it caused, per role and overall.
 */
import { canonicalCounts, combineFacts, creditRoles, type CreditRole, type FactName, type FactScope, type ScopeFacts, scoreOf, type Score } from './model';
import { type AccreditationState, type CreditEvent, type FactDelta, factsOfEvent } from './events';

/** Event ids remembered per participant. */
export const appliedEventIdsKept = 64;

export interface ParticipantCredit {
  readonly participantId: string;
  readonly scopes: Readonly<Partial<Record<FactScope, ScopeFacts>>>;
  readonly appliedEventIds: readonly string[];
  /** The investor's accreditation of the highest investor-aggregate version seen (InvestorProfileUpdated). */
  readonly accreditation?: AccreditationState;
  /** The changes of the last event applied, so a crash before its history was written can finish it. */
  readonly lastChanges: readonly ScoreChange[];
}

/** A change of one score (role '' = overall), with its cause. */
export interface ScoreChange {
  readonly participantId: string;
  readonly role: CreditRole | '';
  readonly score: number;
  readonly previousScore: number;
  readonly at: Date;
  readonly causeEventType: string;
  readonly causeEventId: string;
  readonly cause: string;
}

export function emptyCredit(participantId: string): ParticipantCredit {
  return { participantId, scopes: {}, appliedEventIds: [], lastChanges: [] };
}

/**
 * The later of two accreditation states: the higher aggregate version; at an equal version (which
 * one aggregate never produces twice) not accredited, then the later time, so the choice is a
 * maximum and does not depend on the order the events arrived in.
 */
export function laterAccreditation(a: AccreditationState | undefined, b: AccreditationState | undefined): AccreditationState | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.version !== b.version) return a.version > b.version ? a : b;
  if (a.accredited !== b.accredited) return a.accredited ? b : a;
  return a.at.getTime() >= b.at.getTime() ? a : b;
}

/** A scope's facts with the accreditation (a profile alone is a history of no activity and no age). */
function withAccreditation(facts: ScopeFacts | undefined, accreditation: AccreditationState | undefined): ScopeFacts | undefined {
  if (!accreditation) return facts;
  const base: ScopeFacts = facts ?? { counts: {}, activity: 0, firstSeenAt: accreditation.at, lastSeenAt: accreditation.at };
  const { accredited: _previous, ...rest } = base;
  return accreditation.accredited ? { ...rest, accredited: true } : rest;
}

/** The facts of one scope as the model sees them (the investor scope carries the accreditation). */
function scopeFacts(credit: ParticipantCredit, scope: FactScope): ScopeFacts | undefined {
  return scope === 'investor' ? withAccreditation(credit.scopes.investor, credit.accreditation) : credit.scopes[scope];
}

/** The facts behind a role's score, or the overall score (role ''): every scope added up. */
export function factsFor(credit: ParticipantCredit | undefined, role: CreditRole | ''): ScopeFacts | undefined {
  if (!credit) return undefined;
  if (role !== '') return scopeFacts(credit, role);
  let total: ScopeFacts | undefined;
  for (const scope of [...creditRoles, 'other'] as const) total = combineFacts(total, scopeFacts(credit, scope));
  return total;
}

export function creditScore(credit: ParticipantCredit | undefined, role: CreditRole | ''): Score {
  return scoreOf(factsFor(credit, role));
}

/** One event's facts in one scope: each fact counted, the event counted once as activity. */
function addFacts(facts: ScopeFacts | undefined, names: readonly FactName[], at: Date): ScopeFacts {
  const base: ScopeFacts = facts ?? { counts: {}, activity: 0, firstSeenAt: at, lastSeenAt: at };
  const counts: Partial<Record<FactName, number>> = { ...base.counts };
  for (const name of names) counts[name] = (counts[name] ?? 0) + 1;
  return {
    counts: canonicalCounts(counts),
    activity: base.activity + 1,
    firstSeenAt: at.getTime() < base.firstSeenAt.getTime() ? at : base.firstSeenAt,
    lastSeenAt: at.getTime() > base.lastSeenAt.getTime() ? at : base.lastSeenAt,
  };
}

/** A sentence for the history: what happened, on what. */
export function causeOf(event: CreditEvent): string {
  return `${event.type} on ${event.aggregateType || 'aggregate'} ${event.aggregateId}`;
}

export type ApplyOutcome = { readonly kind: 'duplicate' } | { readonly kind: 'applied'; readonly credit: ParticipantCredit; readonly changes: readonly ScoreChange[] };

/** Applies one event's deltas for this participant; an event already applied changes nothing. */
export function applyToCredit(current: ParticipantCredit, event: CreditEvent, deltas: readonly FactDelta[]): ApplyOutcome {
  if (current.appliedEventIds.includes(event.id)) return { kind: 'duplicate' };
  const scopes: Partial<Record<FactScope, ScopeFacts>> = { ...current.scopes };
  const namesByScope = new Map<FactScope, FactName[]>();
  let accreditation = current.accreditation;
  for (const delta of deltas.filter((each) => each.accreditation)) accreditation = laterAccreditation(accreditation, delta.accreditation);
  for (const delta of deltas.filter((each) => !each.accreditation)) namesByScope.set(delta.scope, [...(namesByScope.get(delta.scope) ?? []), ...(delta.fact ? [delta.fact] : [])]);
  for (const [scope, names] of namesByScope) scopes[scope] = addFacts(scopes[scope], names, event.occurredAt);
  // Scopes in a fixed order, so equal records are equal bytes whatever order their events came in.
  const orderedScopes: Partial<Record<FactScope, ScopeFacts>> = {};
  for (const scope of [...creditRoles, 'other'] as const) if (scopes[scope]) orderedScopes[scope] = scopes[scope];
  const next: ParticipantCredit = {
    participantId: current.participantId,
    scopes: orderedScopes,
    appliedEventIds: [...current.appliedEventIds, event.id].slice(-appliedEventIdsKept),
    ...(accreditation ? { accreditation } : {}),
    lastChanges: [],
  };
  const changes: ScoreChange[] = [];
  for (const role of ['', ...creditRoles] as const) {
    const before = creditScore(current, role);
    const after = creditScore(next, role);
    if (before.score !== after.score) {
      changes.push({ participantId: current.participantId, role, score: after.score, previousScore: before.score, at: event.occurredAt, causeEventType: event.type, causeEventId: event.id, cause: causeOf(event) });
    }
  }
  return { kind: 'applied', credit: { ...next, lastChanges: changes }, changes };
}

/** Applies events in the given order to empty records (what a replay into an empty database does). */
export function replayCredit(events: Iterable<CreditEvent>): Map<string, ParticipantCredit> {
  const records = new Map<string, ParticipantCredit>();
  for (const event of events) {
    for (const [participantId, deltas] of factsOfEvent(event)) {
      const outcome = applyToCredit(records.get(participantId) ?? emptyCredit(participantId), event, deltas);
      if (outcome.kind === 'applied') records.set(participantId, outcome.credit);
    }
  }
  return records;
}
