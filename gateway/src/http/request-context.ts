/**
 * What the gateway knows about a request in flight, kept beside the express request rather than
 * on it (no global type augmentation): its trace, the route template it matched, and the
 * authenticated caller.
 */
import { randomBytes } from 'node:crypto';
import type { Context, Span } from '@opentelemetry/api';
import { DomainError, type CallerIdentity } from '@sizhong/kit';
import type { Request } from 'express';

export interface RequestContext {
  readonly span: Span;
  /** The OpenTelemetry context with the request's SERVER span active. */
  readonly telemetryContext: Context;
  readonly traceId: string;
  /** The OpenAPI path template of the matched route (`/v1/admin/participants/{id}`). */
  route: string | undefined;
  identity: CallerIdentity | undefined;
}

const contexts = new WeakMap<Request, RequestContext>();

export function attachRequestContext(request: Request, requestContext: RequestContext): void {
  contexts.set(request, requestContext);
}

export function requestContextOf(request: Request): RequestContext | undefined {
  return contexts.get(request);
}

/**
 * The authenticated caller of a request, for gRPC calls to services:
 * `client.call.placePledge(message, { identity: identityOf(request) })`. Throws UNAUTHENTICATED
 * on a route that let anonymous callers in, so no service call goes out without a caller by accident.
 */
export function identityOf(request: Request): CallerIdentity {
  const identity = contexts.get(request)?.identity;
  if (!identity) throw new DomainError('UNAUTHENTICATED', 'this operation needs an access token');
  return identity;
}

/** The request's trace id; a fresh random one if the request somehow bypassed the tracing middleware. */
export function traceIdOf(request: Request): string {
  return contexts.get(request)?.traceId ?? randomBytes(16).toString('hex');
}
