/**
 * Operations routes: liveness, readiness, Prometheus metrics, the OpenAPI document, its rendered
 * reference and the console page. They are public and not rate limited (probes and scrapers call
 * them often); in production, expose /metrics to the scraper's network only.
 */
import type { Registry } from 'prom-client';
import type { RouteRegistrar } from '../openapi/route';
import type { ApiDocument } from '../openapi/registry';
import { z } from '../openapi/zod';
import { consolePage, docsPage } from './pages';
import { checkReadiness, type ReadinessDependencies } from './readiness';

const readinessSchema = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.record(z.string(), z.enum(['up', 'down'])).describe('`mongo` and each configured downstream service (`escrow`, `taskDispatch`, `equity`, `credit`)'),
  })
  .openapi('Readiness');

export function registerOperationsRoutes(
  routes: RouteRegistrar,
  dependencies: { readiness: ReadinessDependencies; metrics: Registry; document: ApiDocument },
): void {
  const operations = { tags: ['operations'], access: 'public', rateLimited: false } as const;

  routes.define(
    {
      ...operations,
      method: 'get',
      path: '/healthz',
      operationId: 'getHealth',
      summary: 'Liveness: the process answers',
      responses: { 200: { description: 'Alive.', schema: z.object({ status: z.literal('ok') }).openapi('Health') } },
    },
    async () => ({ status: 200, body: { status: 'ok' } }),
  );

  routes.define(
    {
      ...operations,
      method: 'get',
      path: '/readyz',
      operationId: 'getReadiness',
      summary: 'Readiness: the database and every configured downstream service answer',
      responses: {
        200: { description: 'Every dependency is up.', schema: readinessSchema },
        503: { description: 'Some dependency is down; `checks` says which.', schema: readinessSchema },
      },
    },
    async () => {
      const readiness = await checkReadiness(dependencies.readiness);
      return readiness.ready
        ? { status: 200, body: { status: 'ready', checks: readiness.checks } }
        : { status: 503, body: { status: 'not_ready', checks: readiness.checks } };
    },
  );

  routes.define(
    {
      ...operations,
      method: 'get',
      path: '/metrics',
      operationId: 'getMetrics',
      summary: 'Prometheus metrics',
      responses: { 200: { description: 'Prometheus text exposition format.', schema: z.string(), contentType: 'text/plain; version=0.0.4' } },
    },
    async () => ({ status: 200, body: await dependencies.metrics.metrics() }),
  );

  routes.define(
    {
      ...operations,
      method: 'get',
      path: '/openapi.json',
      operationId: 'getOpenApiDocument',
      summary: 'This OpenAPI 3.1 document',
      responses: { 200: { description: 'The OpenAPI document, generated from the route declarations.', schema: z.record(z.string(), z.unknown()) } },
    },
    async () => ({ status: 200, body: dependencies.document.document() as unknown as Record<string, unknown> }),
  );

  routes.define(
    {
      ...operations,
      method: 'get',
      path: '/docs',
      operationId: 'getApiReference',
      summary: 'The rendered API reference',
      responses: { 200: { description: 'Swagger UI, served from local assets.', schema: z.string(), contentType: 'text/html' } },
    },
    async () => ({ status: 200, body: docsPage }),
  );

  routes.define(
    {
      ...operations,
      method: 'get',
      path: '/',
      operationId: 'getConsole',
      summary: 'The web console',
      responses: { 200: { description: 'The web console: a page that loads its application from /console/assets.', schema: z.string(), contentType: 'text/html' } },
    },
    async () => ({ status: 200, body: consolePage }),
  );
}
