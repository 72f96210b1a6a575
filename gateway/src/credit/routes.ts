/**
 * Credit and risk routes (docs/credit-risk.md, /openapi.json). Each handler decodes, makes one gRPC
 * call to the credit service with the caller's identity, and encodes; every read a regulator makes
 * is written to the audit log before the answer (audit/regulator-reads.ts). Without
 * CREDIT_GRPC_ADDRESS they answer 503 UNAVAILABLE.
 *
 * Who reads a credit profile: the participant, regulators and admins. The public contract also names
 * "counterparties"; the gateway cannot tell who is one without asking the other services, so for
 * now they get 403 like everyone else (docs/credit-risk.md).
 */
import { type CallerIdentity, DomainError, hasRole } from '@sizhong/kit';
import type { Request } from 'express';
import type { RegulatorReadAudit } from '../audit/regulator-reads';
import type { Participants } from '../identity/participants';
import type { RouteRegistrar } from '../openapi/route';
import type { CreditConnection } from './credit-connection';
import { registerRiskFeedRoute } from './feed-route';
import {
  alertListQuerySchema,
  alertPageSchema,
  alertView,
  creditHistorySchema,
  creditProfileSchema,
  creditProfileView,
  drawRequestSchema,
  drawSchema,
  drawView,
  historyQuerySchema,
  inspectionItemResponseSchema,
  inspectionItemView,
  inspectionListQuerySchema,
  inspectionPageSchema,
  outcomeParamsSchema,
  outcomeRequestSchema,
  participantParamsSchema,
  roleQuerySchema,
  scoreChangeView,
  summarySchema,
  summaryView,
} from './views';

export const downstreamProblems = {
  503: 'The credit service is unavailable, or this gateway is not connected to it (UNAVAILABLE).',
  504: 'The credit service did not answer in time (DEADLINE_EXCEEDED).',
} as const;

/** Regulators an inspection draw assigns from, read from the participants (a scan: draws are rare). */
export const inspectorsMax = 1_000;

export interface CreditRouteServices {
  readonly regulatorReads: RegulatorReadAudit;
  readonly participants: Participants;
  /** How long one feed response stays open (RISK_FEED_STREAM_MAX_MS). */
  readonly feedStreamMaxMs: number;
}

function requireSelfOrSupervisor(identity: CallerIdentity, participantId: string): void {
  if (identity.participantId !== participantId && !hasRole(identity, 'regulator', 'admin')) {
    throw new DomainError('PERMISSION_DENIED', 'a credit profile is read by its participant, regulators and admins');
  }
}

function auditOf(regulatorReads: RegulatorReadAudit, identity: CallerIdentity, request: Request, traceId: string) {
  return (route: string, kind: string, id: string) => regulatorReads.recordIfRegulator(identity, { route, subject: { kind, id }, path: request.originalUrl, traceId });
}

async function regulatorIds(participants: Participants): Promise<string[]> {
  const ids: string[] = [];
  for (let after: string | undefined; ids.length < inspectorsMax; ) {
    const page = await participants.store.list({ limit: 100, ...(after === undefined ? {} : { after }) });
    for (const participant of page) if (participant.roles.includes('regulator')) ids.push(participant.participantId);
    if (page.length < 100) break;
    after = page[page.length - 1]!.participantId;
  }
  return ids.slice(0, inspectorsMax);
}

export function registerCreditRoutes(routes: RouteRegistrar, credit: CreditConnection, services: CreditRouteServices): void {
  const scores = () => credit.clients('credit scores').scores;
  const risk = () => credit.clients('risk monitoring').risk;

  routes.define(
    {
      method: 'get',
      path: '/v1/participants/{id}/credit',
      operationId: 'getCreditProfile',
      summary: "A participant's credit score, band and reasons",
      description: 'The participant, regulators and admins may read it; a regulator\u2019s read is recorded in the audit log. A participant without history has the starting score (`isNew`).',
      tags: ['credit'],
      access: 'authenticated',
      request: { params: participantParamsSchema, query: roleQuerySchema },
      responses: {
        200: {
          description: 'The profile.',
          schema: creditProfileSchema,
          links: { history: { operationId: 'getCreditHistory', description: 'How the score got here.', parameters: { id: '$response.body#/participantId' } } },
        },
      },
      problems: { 403: 'Not this participant, a regulator or an admin (PERMISSION_DENIED).', ...downstreamProblems },
    },
    async ({ params, query }, { identity, request, traceId, signal }) => {
      requireSelfOrSupervisor(identity, params.id);
      const profile = await scores().getScore({ participantId: params.id, role: query.role ?? '' }, { identity, signal });
      await auditOf(services.regulatorReads, identity, request, traceId)('GET /v1/participants/{id}/credit', 'credit-profile', params.id);
      return { status: 200, body: creditProfileView(profile) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/participants/{id}/credit/history',
      operationId: 'getCreditHistory',
      summary: "Changes of a participant's credit score, newest first, each with its cause",
      tags: ['credit'],
      access: 'authenticated',
      request: { params: participantParamsSchema, query: historyQuerySchema },
      responses: { 200: { description: 'A page of changes.', schema: creditHistorySchema } },
      problems: { 403: 'Not this participant, a regulator or an admin (PERMISSION_DENIED).', ...downstreamProblems },
    },
    async ({ params, query }, { identity, request, traceId, signal }) => {
      requireSelfOrSupervisor(identity, params.id);
      const found = await scores().getHistory({ participantId: params.id, role: query.role ?? '', page: { limit: query.limit, cursor: query.cursor ?? '' } }, { identity, signal });
      await auditOf(services.regulatorReads, identity, request, traceId)('GET /v1/participants/{id}/credit/history', 'credit-history', params.id);
      return { status: 200, body: { items: found.items.map(scoreChangeView), nextCursor: found.page?.nextCursor || null } };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/risk/alerts',
      operationId: 'listRiskAlerts',
      summary: 'Risk alerts, newest first, with their evidence',
      tags: ['risk'],
      access: ['regulator', 'admin'],
      request: { query: alertListQuerySchema },
      responses: { 200: { description: 'A page of alerts.', schema: alertPageSchema } },
      problems: downstreamProblems,
    },
    async ({ query }, { identity, request, traceId, signal }) => {
      const found = await risk().listAlerts(
        { severity: query.severity ?? '', rule: query.rule ?? '', since: query.since === undefined ? undefined : new Date(query.since), page: { limit: query.limit, cursor: query.cursor ?? '' } },
        { identity, signal },
      );
      await auditOf(services.regulatorReads, identity, request, traceId)('GET /v1/risk/alerts', 'risk-alerts', '');
      return { status: 200, body: { items: found.items.map(alertView), nextCursor: found.page?.nextCursor || null } };
    },
  );

  registerRiskFeedRoute(routes, risk, services);

  routes.define(
    {
      method: 'get',
      path: '/v1/risk/summary',
      operationId: 'getRiskSummary',
      summary: 'Alert counts by rule and severity, and money held in escrow by kind',
      tags: ['risk'],
      access: ['regulator', 'admin'],
      responses: { 200: { description: 'The summary now.', schema: summarySchema } },
      problems: downstreamProblems,
    },
    async (_input, { identity, request, traceId, signal }) => {
      const summary = await risk().getSummary({}, { identity, signal });
      await auditOf(services.regulatorReads, identity, request, traceId)('GET /v1/risk/summary', 'risk-summary', '');
      return { status: 200, body: summaryView(summary) };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/inspections/draws',
      operationId: 'drawInspection',
      summary: 'Draw a random sample of subjects, each with a randomly drawn regulator as inspector',
      description:
        'Reproducible: the seed (given or chosen and returned) and the population snapshot the draw records give the same sample and inspectors (docs/credit-risk.md states the rule). An Idempotency-Key names the draw: a retry returns the same one.',
      tags: ['inspections'],
      access: ['regulator'],
      request: { body: drawRequestSchema },
      responses: {
        201: {
          description: 'The draw.',
          schema: drawSchema,
          links: { outcome: { operationId: 'recordInspectionOutcome', description: 'The assigned inspector records the first item.', parameters: { id: '$response.body#/id', n: '0' } } },
        },
      },
      problems: { 422: 'There is no regulator to inspect (INVALID_STATE).', ...downstreamProblems },
    },
    async ({ body }, { identity, signal, idempotencyKey }) => {
      const draw = await risk().drawInspection(
        { subjectKinds: body.subjectKinds, sampleSize: body.sampleSize, seed: body.seed ?? '', inspectorIds: await regulatorIds(services.participants), drawnBy: identity.participantId, idempotencyKey: idempotencyKey ?? '' },
        { identity, signal },
      );
      return { status: 201, body: drawView(draw) };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/inspections/{id}/items/{n}/outcome',
      operationId: 'recordInspectionOutcome',
      summary: 'The assigned inspector records the outcome of one sampled subject',
      tags: ['inspections'],
      access: ['regulator'],
      request: { params: outcomeParamsSchema, body: outcomeRequestSchema },
      responses: { 200: { description: 'The item with its outcome.', schema: inspectionItemResponseSchema } },
      problems: {
        403: 'Not the inspector assigned to this item (PERMISSION_DENIED).',
        404: 'No such draw or item (NOT_FOUND).',
        422: 'The item already has another outcome (INVALID_STATE).',
        ...downstreamProblems,
      },
    },
    async ({ params, body }, { identity, signal }) => {
      const item = await risk().recordInspectionOutcome({ drawId: params.id, index: params.n, outcome: body.outcome, summary: body.summary }, { identity, signal });
      return { status: 200, body: inspectionItemView(item) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/inspections',
      operationId: 'listInspections',
      summary: 'Completed inspections: subject, inspector, outcome, summary and date (public)',
      tags: ['inspections'],
      access: 'public',
      request: { query: inspectionListQuerySchema },
      responses: { 200: { description: 'A page of completed inspections.', schema: inspectionPageSchema } },
      problems: downstreamProblems,
    },
    async ({ query }, { signal }) => {
      const found = await risk().listInspections({ page: { limit: query.limit, cursor: query.cursor ?? '' } }, { signal });
      return { status: 200, body: { items: found.items.map(inspectionItemView), nextCursor: found.page?.nextCursor || null } };
    },
  );
}
