/**
 * Prometheus metrics of one app instance (its own registry, so several apps in one process, as in
 * tests, do not collide): request counts and latency by method, route template and status.
 * Labels use the route template, never the raw path, so ids cannot blow up the series count.
 */
import type { RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Histogram, Registry } from 'prom-client';
import { requestContextOf } from './request-context';

/** Latency buckets in seconds: 5 ms to 10 s. */
const latencyBucketsSeconds = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** The route label of requests that matched no route (404s, static assets). */
export const unmatchedRouteLabel = 'unmatched';

export interface HttpMetrics {
  readonly registry: Registry;
  readonly middleware: RequestHandler;
}

export function createHttpMetrics(): HttpMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ service: 'gateway' });
  collectDefaultMetrics({ register: registry });
  const requests = new Counter({
    name: 'http_requests_total',
    help: 'HTTP requests answered, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'http_request_duration_seconds',
    help: 'Time from request to response finished, by method, route template and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: latencyBucketsSeconds,
    registers: [registry],
  });
  const middleware: RequestHandler = (request, response, next) => {
    const startedAt = process.hrtime.bigint();
    response.once('finish', () => {
      const labels = {
        method: request.method,
        route: requestContextOf(request)?.route ?? unmatchedRouteLabel,
        status: String(response.statusCode),
      };
      requests.inc(labels);
      latency.observe(labels, Number(process.hrtime.bigint() - startedAt) / 1e9);
    });
    next();
  };
  return { registry, middleware };
}
