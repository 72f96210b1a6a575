/** GET /v1/audit/regulator-reads (admin): who among the regulators read what, when. */
import { pageQuerySchema, pageSchema } from '../http/paging';
import type { RouteRegistrar } from '../openapi/route';
import { z } from '../openapi/zod';
import type { RegulatorReadAudit } from './regulator-reads';

const auditCursorSchema = z.string().regex(/^[0-9]{15}-[0-9a-f-]{36}$/, 'an audit record id').describe('the id of an audit record');

const regulatorReadSchema = z.object({
  id: z.string(),
  regulatorId: z.string(),
  route: z.string(),
  subject: z.object({ kind: z.string(), id: z.string() }),
  path: z.string(),
  traceId: z.string().optional(),
  at: z.string().describe('ISO 8601'),
});

export function registerAuditRoutes(routes: RouteRegistrar, audit: RegulatorReadAudit): void {
  routes.define(
    {
      method: 'get',
      path: '/v1/audit/regulator-reads',
      operationId: 'listRegulatorReads',
      summary: 'Every read a regulator made, newest first',
      description: 'Regulators reading credit profiles, alerts, the feed, the summary or investor profiles are recorded before the data is returned.',
      tags: ['audit'],
      access: ['admin'],
      request: { query: pageQuerySchema(auditCursorSchema).extend({ regulatorId: z.string().min(1).max(128).optional().describe('only this regulator') }) },
      responses: { 200: { description: 'A page of reads.', schema: pageSchema(regulatorReadSchema) } },
    },
    async ({ query }) => {
      const found = await audit.list(query.limit + 1, query.cursor, query.regulatorId);
      const items = found.slice(0, query.limit);
      return {
        status: 200,
        body: {
          items: items.map((record) => ({ ...record, at: record.at.toISOString() })),
          nextCursor: found.length > query.limit ? (items.at(-1)?.id ?? null) : null,
        },
      };
    },
  );
}
