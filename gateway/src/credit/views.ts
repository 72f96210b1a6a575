/** Schemas and wire → JSON views of the credit and risk routes. */
import type { creditV1 } from '@sizhong/proto';
import { instantField, integerParameter } from '../http/fields';
import { pageSizeMax, pathIdLengthMax } from '../http/limits';
import { moneyJson, moneySchema } from '../http/money';
import { pageSchema } from '../http/paging';
import { z } from '../openapi/zod';

export const creditRoles = ['solver', 'enterprise', 'creator', 'backer', 'investor', 'issuer'] as const;
export const severities = ['low', 'medium', 'high', 'critical'] as const;
export const riskRuleIds = [
  'PLEDGE_VELOCITY_SPIKE',
  'BACKER_CONCENTRATION',
  'DELIVERY_OVERDUE',
  'DISPUTES_RISING',
  'DISPUTE_OVERDUE',
  'ESCROW_HELD_TOO_LONG',
  'INVESTOR_LIMIT_BREACHES',
  'LEAD_TIED_TO_ISSUER',
  'SCORE_COLLAPSE',
  'CAMPAIGN_FAILED_AFTER_PROMOTION',
  'MONEY_CONSERVATION_BROKEN',
] as const;
export const inspectionSubjectKinds = ['campaign', 'task', 'round', 'participant'] as const;
/** The most subjects one draw samples (credit's sampleSizeMax). */
export const inspectionSampleSizeMax = 100;
export const inspectionSeedLengthMax = 64;
export const inspectionSummaryLengthMax = 2_000;
/** Offset cursors (credit history, inspections) stay below this. */
export const offsetCursorMax = 999_999_999;

export const participantIdSchema = z
  .string()
  .min(1)
  .max(pathIdLengthMax)
  .regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only')
  .describe('a participant id');

export const participantParamsSchema = z.object({ id: participantIdSchema });
export const roleQuerySchema = z.object({ role: z.enum(creditRoles).optional().describe('the role the score is about; omitted: the overall score') });

const offsetCursorSchema = z.string().regex(/^(?:0|[1-9][0-9]{0,8})$/, 'a position, a decimal number').describe('how many items came before (a decimal number)');
const sequenceCursorSchema = z.string().regex(/^(?:0|[1-9][0-9]{0,14})$/, 'an alert cursor').describe("an alert's `cursor`");

const limitSchema = integerParameter({ minimum: 1, maximum: pageSizeMax })
  .optional()
  .transform((limit) => limit ?? 20)
  .openapi({ type: 'integer', minimum: 1, maximum: pageSizeMax, default: 20 })
  .describe(`items per page, 1 to ${pageSizeMax} (default 20)`);

export const historyQuerySchema = roleQuerySchema.extend({ limit: limitSchema, cursor: offsetCursorSchema.optional() });

export const reasonSchema = z.object({
  code: z.string().describe('stable UPPER_SNAKE code, e.g. DISPUTES_LOST'),
  description: z.string().describe('in English'),
  descriptionZh: z.string().describe('in Chinese'),
  impact: z.number().int().describe('points this factor took off'),
});

export const creditProfileSchema = z
  .object({
    participantId: z.string(),
    role: z.string().describe("the role, or '' for the overall score"),
    score: z.number().int().min(350).max(950),
    band: z.enum(['excellent', 'good', 'fair', 'poor', 'very_poor']),
    modelVersion: z.string(),
    reasons: z.array(reasonSchema).max(4).describe('the factors that lowered the score most, largest first'),
    updatedAt: z.string().nullable().describe('time of the latest fact behind the score; null for a new participant'),
    isNew: z.boolean().describe('no history yet: the model\u2019s starting score'),
  })
  .openapi('CreditProfile');

export function creditProfileView(profile: creditV1.CreditProfile): z.input<typeof creditProfileSchema> {
  return {
    participantId: profile.participantId,
    role: profile.role,
    score: profile.score,
    band: profile.band as z.input<typeof creditProfileSchema>['band'],
    modelVersion: profile.modelVersion,
    reasons: profile.reasons.map((reason) => ({ code: reason.code, description: reason.descriptionEn, descriptionZh: reason.descriptionZh, impact: reason.impact })),
    updatedAt: profile.updatedAt?.toISOString() ?? null,
    isNew: profile.isNew,
  };
}

export const scoreChangeSchema = z.object({
  score: z.number().int(),
  previousScore: z.number().int(),
  at: z.string(),
  cause: z.string(),
  causeEventType: z.string(),
  causeEventId: z.string(),
});
export const creditHistorySchema = pageSchema(scoreChangeSchema).describe('newest first').openapi('CreditHistory');

export function scoreChangeView(change: creditV1.ScoreChange): z.input<typeof scoreChangeSchema> {
  return { score: change.score, previousScore: change.previousScore, at: change.at?.toISOString() ?? '', cause: change.cause, causeEventType: change.causeEventType, causeEventId: change.causeEventId };
}

const subjectSchema = z.object({ kind: z.string(), id: z.string() });

export const alertSchema = z
  .object({
    id: z.string(),
    rule: z.string(),
    severity: z.enum(severities),
    subject: subjectSchema,
    summary: z.string(),
    evidence: z.array(z.object({ eventId: z.string(), eventType: z.string(), occurredAt: z.string(), link: z.string().describe('a path of this API to follow') })),
    at: z.string().describe('time of the fact that triggered it'),
    raisedAt: z.string(),
    cursor: z.string().describe('position in the feed (the SSE event id)'),
  })
  .openapi('RiskAlert');

export function alertView(alert: creditV1.RiskAlert): z.input<typeof alertSchema> {
  return {
    id: alert.id,
    rule: alert.rule,
    severity: alert.severity as (typeof severities)[number],
    subject: { kind: alert.subject?.kind ?? '', id: alert.subject?.id ?? '' },
    summary: alert.summary,
    evidence: alert.evidence.map((item) => ({ eventId: item.eventId, eventType: item.eventType, occurredAt: item.occurredAt?.toISOString() ?? '', link: item.link })),
    at: alert.at?.toISOString() ?? '',
    raisedAt: alert.raisedAt?.toISOString() ?? '',
    cursor: alert.cursor,
  };
}

export const alertListQuerySchema = z.object({
  severity: z.enum(severities).optional(),
  rule: z.enum(riskRuleIds).optional(),
  since: instantField.optional().describe('only alerts triggered at or after this time'),
  limit: limitSchema,
  cursor: sequenceCursorSchema.optional().describe('`nextCursor` of the previous page: alerts raised before it'),
});
export const alertPageSchema = pageSchema(alertSchema).describe('newest first').openapi('RiskAlertPage');

export const feedQuerySchema = z.object({ after: sequenceCursorSchema.optional().describe('resume after this cursor (instead of the Last-Event-ID header)') });
export const feedHeadersSchema = z.object({ 'last-event-id': sequenceCursorSchema.optional().describe('the id of the last event received: the stream resumes after it') });

export const summarySchema = z
  .object({
    alerts: z.array(z.object({ rule: z.string(), severity: z.enum(severities), count: z.number().int() })),
    alertsTotal: z.number().int(),
    heldInEscrow: z.array(z.object({ kind: z.string().describe('the escrow deal kind: campaign, task, round, …'), held: moneySchema })),
    computedAt: z.string(),
  })
  .openapi('RiskSummary');

export function summaryView(summary: creditV1.RiskSummary): z.input<typeof summarySchema> {
  return {
    alerts: summary.alerts.map((count) => ({ rule: count.rule, severity: count.severity as (typeof severities)[number], count: Number(count.count) })),
    alertsTotal: Number(summary.alertsTotal),
    heldInEscrow: summary.heldInEscrow.map((entry) => ({ kind: entry.kind, held: moneyJson(entry.held) })),
    computedAt: summary.computedAt?.toISOString() ?? '',
  };
}

export const drawRequestSchema = z
  .object({
    subjectKinds: z.array(z.enum(inspectionSubjectKinds)).min(1).max(inspectionSubjectKinds.length).describe('what to sample'),
    sampleSize: z.number().int().min(1).max(inspectionSampleSizeMax),
    seed: z.string().min(1).max(inspectionSeedLengthMax).regex(/^[A-Za-z0-9_.:-]+$/, 'letters, digits and _.:- only').optional().describe('omitted: the service picks one and records it'),
  })
  .strict()
  .openapi('InspectionDrawRequest');

const inspectionItemSchema = z.object({
  drawId: z.string(),
  index: z.number().int(),
  subject: subjectSchema,
  inspectorId: z.string(),
  outcome: z.enum(['pending', 'compliant', 'findings']),
  summary: z.string(),
  completedAt: z.string().nullable(),
});

export const drawSchema = z
  .object({
    id: z.string(),
    seed: z.string(),
    populationSize: z.number().int(),
    snapshotHash: z.string().describe('hash of the population and the inspectors the draw used'),
    subjectKinds: z.array(z.string()),
    drawnBy: z.string(),
    drawnAt: z.string(),
    items: z.array(inspectionItemSchema),
  })
  .openapi('InspectionDraw');

export function inspectionItemView(item: creditV1.InspectionItem): z.input<typeof inspectionItemSchema> {
  return {
    drawId: item.drawId,
    index: item.index,
    subject: { kind: item.subject?.kind ?? '', id: item.subject?.id ?? '' },
    inspectorId: item.inspectorId,
    outcome: item.outcome as 'pending' | 'compliant' | 'findings',
    summary: item.summary,
    completedAt: item.completedAt?.toISOString() ?? null,
  };
}

export function drawView(draw: creditV1.InspectionDraw): z.input<typeof drawSchema> {
  return {
    id: draw.id,
    seed: draw.seed,
    populationSize: draw.populationSize,
    snapshotHash: draw.snapshotHash,
    subjectKinds: draw.subjectKinds,
    drawnBy: draw.drawnBy,
    drawnAt: draw.drawnAt?.toISOString() ?? '',
    items: draw.items.map(inspectionItemView),
  };
}

export const outcomeParamsSchema = z.object({
  id: z.string().min(1).max(pathIdLengthMax).regex(/^[A-Za-z0-9_-]+$/, 'letters, digits, - and _ only').describe('the draw id'),
  n: integerParameter({ minimum: 0, maximum: inspectionSampleSizeMax - 1 }).describe("the item's index, from 0"),
});
export const outcomeRequestSchema = z
  .object({
    outcome: z.enum(['compliant', 'findings']),
    summary: z.string().max(inspectionSummaryLengthMax).default(''),
  })
  .strict()
  .openapi('InspectionOutcomeRequest');
export const inspectionItemResponseSchema = inspectionItemSchema.openapi('InspectionItem');
export const inspectionPageSchema = pageSchema(inspectionItemSchema).describe('completed inspections, newest first').openapi('InspectionPage');
export const inspectionListQuerySchema = z.object({ limit: limitSchema, cursor: offsetCursorSchema.optional() });
