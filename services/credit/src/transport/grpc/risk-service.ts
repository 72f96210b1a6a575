/**
 * gRPC adapter of risk: alerts, the feed, the summary (regulators and admins; calls without an
 * identity are the platform's own), and inspections (drawn by regulators, outcomes by the assigned
 * inspector, the completed list public).
 */
import { type CallerIdentity, DomainError, hasRole, type ServiceHandlers } from '@sizhong/kit';
import type { creditV1 } from '@sizhong/proto';
import type { CompletedItem, Inspections } from '../../app/inspections';
import type { RiskAlerts } from '../../app/risk-alerts';
import type { RiskEngine } from '../../app/risk-engine';
import { type InspectionDraw, inspectionSubjectKinds, type InspectionSubjectKind } from '../../domain/inspection';
import { type Severity, severities } from '../../domain/risk/rule';
import { riskRules } from '../../domain/risk/rules';
import type { StoredAlert } from '../../storage/risk-store';
import { offsetCursor, pageSize } from './credit-service';

/** Alerts a feed stream reads from storage at a time. */
export const feedBatchSize = 100;

function requireSupervisor(identity: CallerIdentity | undefined): void {
  if (identity && !hasRole(identity, 'regulator', 'admin')) throw new DomainError('PERMISSION_DENIED', 'only regulators and admins see risk alerts');
}

function severityIn(value: string): Severity | undefined {
  if (value === '') return undefined;
  if ((severities as readonly string[]).includes(value)) return value as Severity;
  throw new DomainError('INVALID_ARGUMENT', `severity must be one of ${severities.join(', ')}`, { field: 'severity' });
}

function ruleIn(value: string): string | undefined {
  if (value === '') return undefined;
  if (riskRules.some((rule) => rule.id === value)) return value;
  throw new DomainError('INVALID_ARGUMENT', `unknown rule; known: ${riskRules.map((rule) => rule.id).join(', ')}`, { field: 'rule' });
}

function sequenceCursor(value: string, field: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new DomainError('INVALID_ARGUMENT', 'malformed cursor', { field });
  return Number(value);
}

export function alertOut(alert: StoredAlert): creditV1.RiskAlert {
  return {
    id: alert.id,
    rule: alert.rule,
    severity: alert.severity,
    subject: { kind: alert.subject.kind, id: alert.subject.id },
    summary: alert.summary,
    evidence: alert.evidence.map((item) => ({ eventId: item.eventId, eventType: item.eventType, occurredAt: item.occurredAt, link: item.link })),
    at: alert.at,
    cursor: String(alert.seq),
    raisedAt: alert.raisedAt,
  };
}

function itemOut(drawId: string, index: number, item: InspectionDraw['items'][number]): creditV1.InspectionItem {
  return { drawId, index, subject: { kind: item.subject.kind, id: item.subject.id }, inspectorId: item.inspectorId, outcome: item.outcome, summary: item.summary, completedAt: item.completedAt };
}

function drawOut(draw: InspectionDraw): creditV1.InspectionDraw {
  return {
    id: draw.id,
    seed: draw.seed,
    populationSize: draw.population.length,
    snapshotHash: draw.snapshotHash,
    items: draw.items.map((item, index) => itemOut(draw.id, index, item)),
    drawnAt: draw.drawnAt,
    subjectKinds: [...draw.subjectKinds],
    drawnBy: draw.drawnBy,
  };
}

function completedOut(item: CompletedItem): creditV1.InspectionItem {
  return itemOut(item.drawId, item.index, item);
}

export interface RiskHandlersOptions {
  readonly alerts: RiskAlerts;
  readonly engine: RiskEngine;
  readonly inspections: Inspections;
  readonly feedPollMs: number;
  readonly now: () => Date;
}

export function riskServiceHandlers({ alerts, engine, inspections, feedPollMs, now }: RiskHandlersOptions): ServiceHandlers<typeof creditV1.RiskServiceService> {
  return {
    listAlerts: async (request, context) => {
      requireSupervisor(context.identity);
      const limit = pageSize(request.page);
      const beforeSeq = request.page?.cursor ? sequenceCursor(request.page.cursor, 'cursor') : undefined;
      const found = await alerts.list({ severity: severityIn(request.severity), rule: ruleIn(request.rule), since: request.since, beforeSeq }, limit + 1);
      const items = found.slice(0, limit);
      return { items: items.map(alertOut), page: { nextCursor: found.length > limit ? String(items[items.length - 1]!.seq) : '' } };
    },
    streamRiskFeed: async (request, context, send) => {
      requireSupervisor(context.identity);
      let cursor = request.afterCursor === '' ? 0 : request.afterCursor === 'now' ? await alerts.latestSeq() : sequenceCursor(request.afterCursor, 'after_cursor');
      while (!context.signal.aborted) {
        const seen = alerts.raisedCount;
        const batch = await alerts.after(cursor, feedBatchSize);
        for (const alert of batch) {
          if (context.signal.aborted) return;
          await send(alertOut(alert));
          cursor = alert.seq;
        }
        if (batch.length < feedBatchSize) await alerts.waitForNext(seen, feedPollMs, context.signal);
      }
    },
    getSummary: async (_request, context) => {
      requireSupervisor(context.identity);
      const counts = await alerts.countByRule();
      const held = await engine.heldInEscrow();
      return {
        alerts: counts.map((count) => ({ rule: count.rule, severity: count.severity, count: BigInt(count.count) })),
        alertsTotal: BigInt(counts.reduce((sum, count) => sum + count.count, 0)),
        heldInEscrow: held.map((entry) => ({ kind: entry.kind, held: { currency: entry.currency, amountMinor: entry.amountMinor } })),
        computedAt: now(),
      };
    },
    drawInspection: async (request, context) => {
      if (!context.identity || !hasRole(context.identity, 'regulator')) throw new DomainError('PERMISSION_DENIED', 'only regulators draw inspections');
      const kinds = request.subjectKinds.map((kind) => {
        if (!(inspectionSubjectKinds as readonly string[]).includes(kind)) throw new DomainError('INVALID_ARGUMENT', `subject kinds are ${inspectionSubjectKinds.join(', ')}`, { field: 'subject_kinds' });
        return kind as InspectionSubjectKind;
      });
      const draw = await inspections.draw({ subjectKinds: kinds, sampleSize: request.sampleSize, seed: request.seed, inspectorIds: request.inspectorIds, drawnBy: context.identity.participantId, idempotencyKey: request.idempotencyKey || undefined });
      return drawOut(draw);
    },
    recordInspectionOutcome: async (request, context) => {
      if (!context.identity) throw new DomainError('PERMISSION_DENIED', 'only the assigned inspector records an outcome');
      if (request.outcome !== 'compliant' && request.outcome !== 'findings') throw new DomainError('INVALID_ARGUMENT', 'outcome is compliant or findings', { field: 'outcome' });
      return completedOut(await inspections.recordOutcome(request.drawId, request.index, context.identity.participantId, request.outcome, request.summary));
    },
    listInspections: async (request) => {
      const limit = pageSize(request.page);
      const skip = offsetCursor(request.page);
      const items = await inspections.completed(limit + 1, skip);
      return { items: items.slice(0, limit).map(completedOut), page: { nextCursor: items.length > limit ? String(skip + limit) : '' } };
    },
  };
}
