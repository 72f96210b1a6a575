/**
 * One SERVER span per request. An incoming W3C `traceparent` is continued; the span is active
 * while the route runs, so the kit's gRPC client puts the same trace into every downstream call,
 * and logs written meanwhile carry its trace id.
 */
import { randomBytes } from 'node:crypto';
import { context, isSpanContextValid, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { extractTraceContext } from '@sizhong/kit';
import type { RequestHandler } from 'express';
import { attachRequestContext } from './request-context';

const tracer = () => trace.getTracer('sizhong-gateway');

export function tracingMiddleware(): RequestHandler {
  return (request, response, next) => {
    const carrier: Record<string, string | undefined> = {};
    for (const name of ['traceparent', 'tracestate']) {
      const value = request.headers[name];
      if (typeof value === 'string') carrier[name] = value;
    }
    const parent = extractTraceContext(carrier);
    const span = tracer().startSpan(
      `${request.method} unmatched`,
      {
        kind: SpanKind.SERVER,
        attributes: { 'http.request.method': request.method, 'url.path': request.path },
      },
      parent,
    );
    const spanContext = span.spanContext();
    // Without a registered tracer provider (telemetry off) spans are no-ops with an all-zero id;
    // a problem still needs an id to quote, so make one up.
    const traceId = isSpanContextValid(spanContext) ? spanContext.traceId : randomBytes(16).toString('hex');
    const requestContext = {
      span,
      telemetryContext: trace.setSpan(parent, span),
      traceId,
      route: undefined as string | undefined,
      identity: undefined,
    };
    attachRequestContext(request, requestContext);
    let ended = false;
    const end = () => {
      if (ended) return;
      ended = true;
      span.updateName(`${request.method} ${requestContext.route ?? 'unmatched'}`);
      if (requestContext.route) span.setAttribute('http.route', requestContext.route);
      span.setAttribute('http.response.status_code', response.statusCode);
      if (response.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
      span.end();
    };
    response.once('finish', end);
    response.once('close', end);
    context.with(requestContext.telemetryContext, next);
  };
}
