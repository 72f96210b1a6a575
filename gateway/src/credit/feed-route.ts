/**
 * GET /v1/risk/feed: the regulators' live feed as Server-Sent Events. One `alert` event per alert
 * (`id:` its cursor, `data:` the alert as in GET /v1/risk/alerts), a `: keep-alive` comment every
 * 15 s, `retry: 1000`. A request with `Last-Event-ID` (or `?after=`) gets exactly the alerts after
 * it. Each response ends after RISK_FEED_STREAM_MAX_MS (25 s by default, under the idle timeouts
 * of common proxies); a client reconnects with the last id and misses nothing.
 *
 * Availability and permission are checked with one unary call before the 200 goes out, so a feed
 * that cannot be served answers a problem (403, 503) rather than an empty stream.
 */
import type { RouteRegistrar } from '../openapi/route';
import { z } from '../openapi/zod';
import type { CreditClients } from './credit-connection';
import type { CreditRouteServices } from './routes';
import { alertView, feedHeadersSchema, feedQuerySchema } from './views';

export const feedKeepAliveMs = 15_000;
export const feedRetryMs = 1_000;

export function registerRiskFeedRoute(routes: RouteRegistrar, risk: () => CreditClients['risk'], services: CreditRouteServices): void {
  routes.define(
    {
      method: 'get',
      path: '/v1/risk/feed',
      operationId: 'streamRiskFeed',
      summary: 'The live risk feed (Server-Sent Events), resuming after Last-Event-ID',
      description: `\`text/event-stream\`: \`id: <cursor>\`, \`event: alert\`, \`data: <RiskAlert JSON>\`. Each response ends after at most RISK_FEED_STREAM_MAX_MS; reconnect with \`Last-Event-ID\` to resume without a gap.`,
      tags: ['risk'],
      access: ['regulator', 'admin'],
      request: { query: feedQuerySchema, headers: feedHeadersSchema },
      responses: { 200: { description: 'The event stream.', schema: z.string(), contentType: 'text/event-stream' } },
      problems: { 503: 'The credit service is unavailable, or this gateway is not connected to it (UNAVAILABLE).', 504: 'The credit service did not answer in time (DEADLINE_EXCEEDED).' },
    },
    async ({ query, headers }, { identity, request, traceId, signal }) => {
      const afterCursor = headers['last-event-id'] ?? query.after ?? '';
      const client = risk();
      await client.listAlerts({ severity: '', rule: '', page: { limit: 1, cursor: '' } }, { identity, signal });
      await services.regulatorReads.recordIfRegulator(identity, { route: 'GET /v1/risk/feed', subject: { kind: 'risk-feed', id: afterCursor }, path: request.originalUrl, traceId });
      const response = request.res!;
      response.writeHead(200, { 'Content-Type': 'text/event-stream; charset=utf-8', 'Cache-Control': 'no-store', Connection: 'keep-alive', 'X-Accel-Buffering': 'no' });
      response.write(`retry: ${feedRetryMs}\n\n`);
      const stop = new AbortController();
      const onClientGone = () => stop.abort();
      signal.addEventListener('abort', onClientGone);
      const ending = setTimeout(() => stop.abort(), services.feedStreamMaxMs);
      const keepAlive = setInterval(() => response.write(': keep-alive\n\n'), feedKeepAliveMs);
      try {
        for await (const alert of client.streamRiskFeed({ afterCursor }, { identity, signal: stop.signal })) {
          response.write(`id: ${alert.cursor}\nevent: alert\ndata: ${JSON.stringify(alertView(alert))}\n\n`);
        }
      } catch (error) {
        // A cancelled stream is the normal end; anything else ends this response and the client resumes.
        if (!stop.signal.aborted) response.write(`event: error\ndata: ${JSON.stringify({ message: (error as Error).message.slice(0, 200) })}\n\n`);
      } finally {
        clearTimeout(ending);
        clearInterval(keepAlive);
        signal.removeEventListener('abort', onClientGone);
        response.end();
      }
      // Already answered on the socket; the route helper sends nothing more (headersSent).
      return { status: 200, body: '' };
    },
  );
}
