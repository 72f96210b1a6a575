/**
 * Raising alerts once, numbering them for the feed, and reading them. An alert's id comes from its
 * rule, subject and trigger, so the same trigger seen again (a retried or replayed event) raises
 * nothing new. Raising takes a feed number (a guarded increment) and writes the alert with its
 * RiskAlertRaised event in the outbox (published to sizhong.risk.alerts.v1): two writes. Within a
 * process raising is serialised, so numbers are written in order and a reader following the feed
 * by number never skips one (run one credit replica per topic prefix; docs/credit-risk.md).
 */
import { EventEmitter } from 'node:events';
import { type AggregateStore, buildEnvelope, type Clock, deterministicId, KeyedMutex, type PendingEvent, riskAlertsTopic } from '@sizhong/kit';
import { eventsV1 } from '@sizhong/proto';
import type { AlertDraft, Severity } from '../domain/risk/rule';
import type { Counters, StoredAlert } from '../storage/risk-store';

const feedCounter = 'alert-feed';

export interface AlertFilter {
  readonly severity?: Severity | undefined;
  readonly rule?: string | undefined;
  readonly since?: Date | undefined;
  /** Only alerts numbered below this (the list pages newest first). */
  readonly beforeSeq?: number | undefined;
}

export class RiskAlerts {
  private readonly raising = new KeyedMutex();
  private readonly raised = new EventEmitter();
  /** Alerts raised by this process so far: a reader notes it before reading, and waits only if it is unchanged. */
  raisedCount = 0;

  constructor(
    private readonly alerts: AggregateStore<StoredAlert>,
    private readonly counters: Counters,
    private readonly clock: Clock,
    private readonly topicPrefix: string,
  ) {
    this.raised.setMaxListeners(0);
  }

  static alertId(draft: AlertDraft): string {
    return deterministicId('al', draft.rule, draft.subject.kind, draft.subject.id, draft.dedupeKey);
  }

  /** Raises the alert unless it was raised before; returns it and whether it is new. */
  async raise(draft: AlertDraft): Promise<{ alert: StoredAlert; created: boolean }> {
    const id = RiskAlerts.alertId(draft);
    const existing = await this.alerts.load(id);
    if (existing) return { alert: existing.state, created: false };
    return this.raising.run('feed', async () => {
      const again = await this.alerts.load(id);
      if (again) return { alert: again.state, created: false };
      const seq = await this.counters.next(feedCounter);
      const alert: StoredAlert = { ...draft, evidence: [...draft.evidence], id, seq, raisedAt: this.clock.now() };
      const outcome = await this.alerts.create(id, alert, [this.raisedEvent(alert)]);
      if (outcome.kind === 'created') {
        this.raisedCount += 1;
        this.raised.emit('alert', seq);
      }
      return { alert: outcome.aggregate.state, created: outcome.kind === 'created' };
    });
  }

  private raisedEvent(alert: StoredAlert): PendingEvent {
    return {
      topic: riskAlertsTopic(this.topicPrefix),
      envelope: buildEnvelope(
        {
          id: deterministicId('ev', 'RiskAlertRaised', alert.id),
          type: 'RiskAlertRaised',
          aggregateId: alert.subject.id || alert.id,
          aggregateType: 'risk_alert',
          aggregateVersion: 1n,
          occurredAt: alert.raisedAt,
          producer: 'credit',
          payloadType: 'sizhong.events.v1.RiskAlertRaised',
          payload: {
            alertId: alert.id,
            rule: alert.rule,
            severity: alert.severity,
            subjectKind: alert.subject.kind,
            subjectId: alert.subject.id,
            summary: alert.summary,
            evidence: alert.evidence.map((item) => ({ ...item })),
            at: alert.at,
            sequence: BigInt(alert.seq),
          },
        },
        eventsV1.RiskAlertRaised,
      ),
    };
  }

  /** Newest first. */
  async list(filter: AlertFilter, limit: number): Promise<StoredAlert[]> {
    const query: Record<string, unknown> = {};
    if (filter.severity) query['state.severity'] = filter.severity;
    if (filter.rule) query['state.rule'] = filter.rule;
    if (filter.since) query['state.at'] = { $gte: filter.since };
    if (filter.beforeSeq !== undefined) query['state.seq'] = { $lt: filter.beforeSeq };
    return (await this.alerts.find(query, { limit, sort: { 'state.seq': -1 } })).map((loaded) => loaded.state);
  }

  /** Alerts numbered after `afterSeq`, oldest first. */
  async after(afterSeq: number, limit: number): Promise<StoredAlert[]> {
    return (await this.alerts.find({ 'state.seq': { $gt: afterSeq } }, { limit, sort: { 'state.seq': 1 } })).map((loaded) => loaded.state);
  }

  /** The number of the latest alert (0 when none). */
  async latestSeq(): Promise<number> {
    return this.counters.current(feedCounter);
  }

  /** Resolves when this process has raised an alert since `seenCount`, after `timeoutMs`, or when `signal` aborts. */
  async waitForNext(seenCount: number, timeoutMs: number, signal: AbortSignal): Promise<void> {
    if (signal.aborted || this.raisedCount !== seenCount) return;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.raised.off('alert', done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.raised.on('alert', done);
      signal.addEventListener('abort', done);
    });
  }

  /** Every alert's rule and severity, for the summary (a scan: alerts are few). */
  async countByRule(): Promise<{ rule: string; severity: string; count: number }[]> {
    const counts = new Map<string, { rule: string; severity: string; count: number }>();
    for (let beforeSeq: number | undefined; ; ) {
      const page = await this.list({ beforeSeq }, 500);
      for (const alert of page) {
        const key = `${alert.rule}|${alert.severity}`;
        const entry = counts.get(key) ?? { rule: alert.rule, severity: alert.severity, count: 0 };
        counts.set(key, { ...entry, count: entry.count + 1 });
      }
      if (page.length < 500) break;
      beforeSeq = page[page.length - 1]!.seq;
    }
    return [...counts.values()].sort((a, b) => (a.rule < b.rule ? -1 : a.rule > b.rule ? 1 : a.severity < b.severity ? -1 : 1));
  }
}
