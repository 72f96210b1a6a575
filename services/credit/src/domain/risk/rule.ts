/**
 * What a risk rule is: pure steps over events. A rule names the state documents an event concerns
 * (`keys`), and `step` turns their current states and the event into new states and alert drafts.
 * The service loads and stores the states (one guarded write per key) and raises the alerts once
 * (an alert's id is derived from rule, subject and `dedupeKey`).
 */
import type { CreditEvent } from '../events';

export const severities = ['low', 'medium', 'high', 'critical'] as const;
export type Severity = (typeof severities)[number];

export type SubjectKind = 'campaign' | 'task' | 'round' | 'participant' | 'ledger' | 'transfer';

export interface Subject {
  readonly kind: SubjectKind;
  readonly id: string;
}

export interface Evidence {
  readonly eventId: string;
  readonly eventType: string;
  readonly occurredAt: Date;
  /** A path of the public API a regulator can follow. */
  readonly link: string;
}

export interface AlertDraft {
  readonly rule: string;
  readonly severity: Severity;
  readonly subject: Subject;
  readonly summary: string;
  readonly evidence: readonly Evidence[];
  /** The time of the fact that triggered it. */
  readonly at: Date;
  /** With rule and subject, names the alert: the same trigger seen twice raises one alert. */
  readonly dedupeKey: string;
}

export type StateMap = ReadonlyMap<string, unknown>;

export interface StepResult {
  /** New states by key; keys left out keep their state. */
  readonly states: ReadonlyMap<string, unknown>;
  readonly alerts: readonly AlertDraft[];
}

export interface RiskRule<Thresholds extends Record<string, number> = Record<string, number>> {
  readonly id: string;
  readonly severity: Severity;
  /** What it watches, for docs and the summary. */
  readonly description: string;
  readonly defaults: Thresholds;
  /** The state keys this event concerns (none: the rule ignores it). */
  keys(event: CreditEvent): readonly string[];
  step(states: StateMap, event: CreditEvent, thresholds: Thresholds): StepResult;
}

export const links = {
  campaign: (id: string) => `/v1/campaigns/${id}`,
  pledge: (id: string) => `/v1/pledges/${id}`,
  task: (id: string) => `/v1/tasks/${id}`,
  round: (id: string) => `/v1/rounds/${id}`,
  participant: (id: string) => `/v1/participants/${id}/credit`,
  ledger: () => '/v1/ledger/invariants',
  account: (id: string) => `/v1/ledger/accounts/${id}`,
};

export function evidenceOf(event: CreditEvent, link: string): Evidence {
  return { eventId: event.id, eventType: event.type, occurredAt: event.occurredAt, link };
}

export const nothing: StepResult = { states: new Map(), alerts: [] };

/** A time-ordered list of facts kept within a window of the newest (bounded by `entriesMax`). */
export interface WindowEntry {
  readonly atMs: number;
  readonly eventId: string;
  readonly eventType: string;
  readonly link: string;
}

/** Entries a window keeps per state document. */
export const windowEntriesMax = 1_000;
/** Entries older than this many windows before the newest are dropped. */
export const windowHorizonWindows = 10;

/**
 * Adds an entry (once per event id) and keeps entries ordered by (time, event id) within
 * `windowHorizonWindows` windows of the newest, at most `windowEntriesMax`. A late entry still
 * lands in its place, so the entries kept do not depend on the order events arrived in.
 */
export function slideWindow(entries: readonly WindowEntry[], entry: WindowEntry, windowMs: number): WindowEntry[] {
  const all = [...entries.filter((existing) => existing.eventId !== entry.eventId), entry].sort((a, b) => a.atMs - b.atMs || (a.eventId < b.eventId ? -1 : a.eventId > b.eventId ? 1 : 0));
  const newestMs = all[all.length - 1]!.atMs;
  const horizonMs = windowMs * windowHorizonWindows;
  return all.filter((existing) => existing.atMs > newestMs - horizonMs).slice(-windowEntriesMax);
}

/**
 * The first run of `count` consecutive entries that includes `eventId` and spans less than
 * `windowMs`, if any: the burst this entry completes (wherever in time it lies).
 */
export function burstWith(entries: readonly WindowEntry[], eventId: string, windowMs: number, count: number): WindowEntry[] | undefined {
  const position = entries.findIndex((entry) => entry.eventId === eventId);
  if (position < 0 || count < 1) return undefined;
  for (let first = Math.max(0, position - count + 1); first <= position && first + count <= entries.length; first += 1) {
    const run = entries.slice(first, first + count);
    if (run[run.length - 1]!.atMs - run[0]!.atMs < windowMs) return run;
  }
  return undefined;
}

export function windowEvidence(entries: readonly WindowEntry[]): Evidence[] {
  return entries.map((entry) => ({ eventId: entry.eventId, eventType: entry.eventType, occurredAt: new Date(entry.atMs), link: entry.link }));
}
