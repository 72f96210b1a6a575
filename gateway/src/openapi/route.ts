/**
 * The route helper: every route is declared once, with zod schemas for its input and responses,
 * the roles it allows and its idempotency rule. The declaration wires express (rate limits, body
 * parsing, authentication, role check, validation, idempotency, the handler) and registers the
 * same schemas as an OpenAPI 3.1 operation, so the document cannot drift from the behaviour.
 *
 * Handlers return `{status, body}` for success and throw DomainError for refusals; the helper
 * answers refusals as problem+json through the one mapping table.
 */
import { createHash, createHmac } from 'node:crypto';
import type { ResponseConfig, RouteConfig } from '@asteasolutions/zod-to-openapi';
import { context as telemetryContext } from '@opentelemetry/api';
import { type CallerIdentity, isDomainError, type Logger, type ParticipantRole, requestFingerprint, serviceIdempotencyKey } from '@sizhong/kit';
import express, { type NextFunction, type Request, type RequestHandler, type Response, type Router } from 'express';
import type { AccessTokens } from '../identity/access-tokens';
import { authenticateRequest, requireRole } from '../http/auth';
import { type IdempotencyClaim, type IdempotencyStore, idempotentResponseBytesMax, isRetryableOutcome, type StoredResponse } from '../http/idempotency';
import { idempotencyKeyLengthMax, idempotencyKeyPattern, requestBodyBytesMax } from '../http/limits';
import { sendProblem } from '../http/error-middleware';
import { buildProblem, HttpRefusal, problemContentType, problemSchema, toProblem } from '../http/problem';
import type { TokenBucketLimiter } from '../http/rate-limit';
import { type RequestContext, requestContextOf, traceIdOf } from '../http/request-context';
import { refuseIfInvalid, validatePart } from '../http/validation';
import { type ApiDocument, bearerSecurityScheme } from './registry';
import { z } from './zod';

export type HttpMethod = 'get' | 'post' | 'put' | 'patch' | 'delete';

/** Who may call: anyone, any signed-in participant, or participants holding one of the roles. */
export type Access = 'public' | 'authenticated' | readonly [ParticipantRole, ...ParticipantRole[]];

/**
 * `required`: 400 IDEMPOTENCY_KEY_REQUIRED without the header (where money moves).
 * `optional`: honoured when sent (the default for POST). `none`: not accepted (the default otherwise).
 */
export type IdempotencyRule = 'required' | 'optional' | 'none';

export interface SuccessResponse {
  readonly description: string;
  /** JSON body schema; for other content types, a string schema. Omit for an empty body. */
  readonly schema?: z.ZodType;
  readonly contentType?: string;
  /** What a client can call next with what this answer holds (OpenAPI links), by link name. */
  readonly links?: Readonly<Record<string, OperationLink>>;
}

/**
 * An OpenAPI link: the operation to call next and where its parameters come from, as runtime
 * expressions (`$response.body#/id`, `$request.body#/email`) or constants such as `'0'`. Tools follow them from
 * an answer to the operations that use what it created (a stateful fuzzer reaches deep routes so).
 * The document refuses a link to an operation that does not exist (openapi/registry.ts).
 */
export interface OperationLink {
  readonly operationId: string;
  readonly description: string;
  /** Parameter name (of the target) → expression or constant (the OpenAPI 3.1 schema takes strings only). */
  readonly parameters?: Readonly<Record<string, string>>;
  /** The target's body, or the part of it to set, with expressions inside. */
  readonly requestBody?: Readonly<Record<string, string>>;
}

export interface RouteSpec {
  readonly method: HttpMethod;
  /** OpenAPI form: `/v1/admin/participants/{id}`. */
  readonly path: string;
  readonly operationId: string;
  readonly summary: string;
  readonly description?: string;
  readonly tags: readonly string[];
  readonly access: Access;
  readonly idempotency?: IdempotencyRule;
  /** Operations routes (probes, scrapes, docs) opt out; every /v1 route is rate limited. */
  readonly rateLimited?: boolean;
  readonly request?: {
    readonly params?: z.ZodObject;
    readonly query?: z.ZodObject;
    /** Keys in lower case, as node delivers them. */
    readonly headers?: z.ZodObject;
    readonly body?: z.ZodType;
    /**
     * Instead of `body`: the JSON body handed to the handler as the exact bytes received (a
     * Buffer), never parsed or re-serialized, for payloads whose signature covers the bytes (the
     * payment provider's webhooks). Same content types and size limit as `body`; `schema` only
     * documents the expected JSON, since the receiver validates it after checking the signature.
     */
    readonly rawBody?: { readonly schema: z.ZodType };
  };
  /**
   * Top-level body fields (passwords) that must not reach the stored request fingerprint in the
   * clear: they are keyed-hashed first.
   */
  readonly sensitiveBodyFields?: readonly string[];
  readonly responses: { readonly [status: number]: SuccessResponse };
  /** Refusals this route answers besides the common ones, with what they mean here. */
  readonly problems?: { readonly [status: number]: string };
}

type Output<Schema> = Schema extends z.ZodType ? z.output<Schema> : Record<string, never>;

export interface RouteInput<Spec extends RouteSpec> {
  readonly params: Output<NonNullable<Spec['request']>['params']>;
  readonly query: Output<NonNullable<Spec['request']>['query']>;
  readonly headers: Output<NonNullable<Spec['request']>['headers']>;
  readonly body: Spec['request'] extends { body: infer Body } ? Output<Body> : Spec['request'] extends { rawBody: object } ? Buffer : undefined;
}

export interface RouteContext<Spec extends RouteSpec> {
  readonly identity: Spec['access'] extends 'public' ? CallerIdentity | undefined : CallerIdentity;
  readonly request: Request;
  readonly traceId: string;
  readonly logger: Logger;
  /** Aborted when the client goes away; pass it to downstream calls. */
  readonly signal: AbortSignal;
  /**
   * The validated Idempotency-Key as the services take it (kit's `serviceIdempotencyKey`: the
   * client's key, or its hash when it holds characters ids do not; always present when the route
   * requires one). Services turn it into the ids of what the request creates (docs/storage.md
   * "Aggregates"), so pass it on as it is.
   */
  readonly idempotencyKey: Spec['idempotency'] extends 'required' ? string : string | undefined;
}

type ResponseBody<Response extends SuccessResponse> = Response['schema'] extends z.ZodType ? z.input<Response['schema']> : undefined;

export type RouteResult<Responses extends RouteSpec['responses']> = {
  [Status in keyof Responses & number]: {
    readonly status: Status;
    readonly body: ResponseBody<Responses[Status]>;
    readonly headers?: Readonly<Record<string, string>>;
  };
}[keyof Responses & number];

export type RouteHandler<Spec extends RouteSpec> = (input: RouteInput<Spec>, context: RouteContext<Spec>) => Promise<RouteResult<Spec['responses']>>;

export interface RouteServices {
  readonly tokens: AccessTokens;
  readonly idempotency: IdempotencyStore;
  readonly ipLimiter: TokenBucketLimiter;
  readonly participantLimiter: TokenBucketLimiter;
  readonly logger: Logger;
  /** Key of the HMAC that hides sensitive fields in request fingerprints. */
  readonly fingerprintKey: Uint8Array;
}

export const idempotencyKeyHeader = 'idempotency-key';
export const idempotentReplayedHeader = 'Idempotent-Replayed';
const jsonContentType = 'application/json';
/** Request bodies the helper reads; anything else is 400 before validation. */
const jsonContentTypes = ['application/json', 'application/*+json'];

const idempotencyKeySchema = z
  .string()
  .min(1)
  .max(idempotencyKeyLengthMax)
  .regex(idempotencyKeyPattern, 'use visible ASCII characters only (no spaces)');

/** What `Router` method registers a path for each HTTP method. */
const routerMethods = { get: 'get', post: 'post', put: 'put', patch: 'patch', delete: 'delete' } as const satisfies Record<HttpMethod, keyof Router>;

export function expressPath(openApiPath: string): string {
  return openApiPath.replace(/\{([A-Za-z0-9_]+)\}/g, ':$1');
}

export class RouteRegistrar {
  /** The methods declared on each path, for the 405 answer to any other method. */
  private readonly methodsByPath = new Map<string, Set<HttpMethod>>();
  private sealed = false;
  private readonly jsonParser = express.json({ limit: requestBodyBytesMax, strict: true, type: jsonContentTypes });
  private readonly rawParser = express.raw({ limit: requestBodyBytesMax, type: jsonContentTypes });

  constructor(
    private readonly router: Router,
    private readonly document: ApiDocument,
    private readonly services: RouteServices,
  ) {}

  define<const Spec extends RouteSpec>(spec: Spec, handler: NoInfer<RouteHandler<Spec>>): void {
    if (this.sealed) throw new Error(`${spec.operationId} is declared after answerOtherMethods(); declare every route first`);
    const declared = this.methodsByPath.get(spec.path) ?? new Set<HttpMethod>();
    if (declared.has(spec.method)) throw new Error(`${spec.method.toUpperCase()} ${spec.path} is declared twice`);
    this.methodsByPath.set(spec.path, declared.add(spec.method));
    const idempotency = spec.idempotency ?? (spec.method === 'post' ? 'optional' : 'none');
    const rateLimited = spec.rateLimited ?? true;
    if (spec.request?.body !== undefined && spec.request.rawBody !== undefined) throw new Error(`${spec.operationId} declares both body and rawBody`);
    const stages: RequestHandler[] = [(request, response, next) => this.enter(request, spec.path, rateLimited, next)];
    if (spec.request?.body !== undefined) stages.push(this.jsonParser);
    if (spec.request?.rawBody !== undefined) stages.push(this.rawParser);
    stages.push((request, response, next) => {
      const requestContext = requestContextOf(request);
      const run = () => this.handle(spec, { idempotency, rateLimited }, handler, request, response, requestContext);
      // Body parsing finishes on socket callbacks outside the request's trace: re-enter it.
      const pending = requestContext ? telemetryContext.with(requestContext.telemetryContext, run) : run();
      pending.catch(next);
    });
    this.router[routerMethods[spec.method]](expressPath(spec.path), ...stages);
    this.register(spec, idempotency, rateLimited);
  }

  /**
   * Adds, behind the routes, the answers to other methods: a declared path called with another method answers 405
   * METHOD_NOT_ALLOWED with `Allow` (RFC 9110 §15.5.6), and OPTIONS answers 204 with `Allow`. HEAD
   * is allowed wherever GET is (express answers it with the GET route, without a body). Paths
   * nobody declared still fall through to the 404 handler. Call it once, after the last `define`:
   * the handlers join the same router behind the routes (in a router of their own, express would
   * answer OPTIONS itself first, with a text body).
   */
  answerOtherMethods(): void {
    if (this.sealed) throw new Error('answerOtherMethods() was already called');
    this.sealed = true;
    for (const [path, methods] of this.methodsByPath) {
      const allow = allowHeader(methods);
      this.router.all(expressPath(path), (request, response) => {
        const requestContext = requestContextOf(request);
        if (requestContext) requestContext.route = path;
        response.setHeader('Allow', allow);
        if (request.method === 'OPTIONS') {
          response.status(204).end();
          return;
        }
        sendProblem(
          response,
          buildProblem('METHOD_NOT_ALLOWED', `${path} does not take ${request.method}; it takes ${allow}`, { traceId: traceIdOf(request), instance: request.path }, [], {
            Allow: allow,
          }),
        );
      });
    }
  }

  /** Names the route for metrics and traces and applies the per-IP limit before the body is read. */
  private enter(request: Request, path: string, rateLimited: boolean, next: NextFunction): void {
    const requestContext = requestContextOf(request);
    if (requestContext) requestContext.route = path;
    if (rateLimited) {
      const outcome = this.services.ipLimiter.take(`ip:${request.ip ?? 'unknown'}`);
      if (!outcome.allowed) return next(rateLimitedRefusal('this client address', outcome.retryAfterSeconds));
    }
    next();
  }

  private async handle<Spec extends RouteSpec>(
    spec: Spec,
    { idempotency, rateLimited }: { idempotency: IdempotencyRule; rateLimited: boolean },
    handler: RouteHandler<Spec>,
    request: Request,
    response: Response,
    requestContext: RequestContext | undefined,
  ): Promise<void> {
    const traceId = traceIdOf(request);
    let identity: CallerIdentity | undefined;
    if (spec.access !== 'public') {
      identity = await authenticateRequest(request, this.services.tokens);
      if (requestContext) requestContext.identity = identity;
      if (rateLimited) {
        const outcome = this.services.participantLimiter.take(identity.participantId);
        if (!outcome.allowed) throw rateLimitedRefusal('this participant', outcome.retryAfterSeconds);
      }
      if (spec.access !== 'authenticated') requireRole(identity, spec.access);
    }

    const bodySchema = spec.request?.body;
    const rawBody = spec.request?.rawBody !== undefined;
    if ((bodySchema !== undefined || rawBody) && !request.is(jsonContentTypes)) {
      throw new HttpRefusal('INVALID_ARGUMENT', 'the request body must be JSON (Content-Type: application/json)', [
        { path: 'headers.content-type', message: 'expected application/json' },
      ]);
    }
    const params = validatePart(spec.request?.params, request.params, 'params');
    const query = validatePart(spec.request?.query, request.query, 'query');
    const headers = validatePart(spec.request?.headers, request.headers, 'headers');
    const key = idempotency === 'none' ? undefined : validatePart(idempotencyKeySchema.optional(), request.headers[idempotencyKeyHeader], 'headers');
    const body = rawBody
      ? // An empty body leaves the raw parser nothing to read; it is still a body of zero bytes.
        { data: Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0), issues: [], pastLimit: false }
      : bodySchema === undefined
        ? { data: undefined, issues: [], pastLimit: false }
        : validatePart(bodySchema, request.body, 'body');
    refuseIfInvalid([
      params,
      query,
      headers,
      ...(key ? [{ ...key, issues: key.issues.map((issue) => ({ ...issue, path: `headers.${idempotencyKeyHeader}` })) }] : []),
      body,
    ]);
    const idempotencyKey = key?.data as string | undefined;
    if (idempotency === 'required' && idempotencyKey === undefined) {
      throw new HttpRefusal('IDEMPOTENCY_KEY_REQUIRED', 'this operation needs an Idempotency-Key header', [
        { path: `headers.${idempotencyKeyHeader}`, message: 'required' },
      ]);
    }

    const input = { params: params.data, query: query.data, headers: headers.data, body: body.data } as RouteInput<Spec>;
    let claim: IdempotencyClaim | undefined;
    if (idempotencyKey !== undefined) {
      const begun = await this.services.idempotency.begin(
        { subject: identity?.participantId ?? `ip:${request.ip ?? 'unknown'}`, method: spec.method.toUpperCase(), route: spec.path, key: idempotencyKey },
        this.fingerprint(spec, input),
      );
      if (begun.kind === 'replay') {
        sendStored(response, begun.response, true);
        return;
      }
      claim = begun.claim;
    }

    const controller = new AbortController();
    response.once('close', () => {
      if (!response.writableFinished) controller.abort();
    });
    const logger = this.services.logger.child({ route: spec.path, traceId });
    let outcome: StoredResponse;
    let code: string | undefined;
    try {
      const serviceKey = idempotencyKey === undefined ? undefined : serviceIdempotencyKey(idempotencyKey);
      const result = await handler(input, { identity, request, traceId, logger, signal: controller.signal, idempotencyKey: serviceKey } as RouteContext<Spec>);
      outcome = encodeResult(spec, result);
    } catch (error) {
      const problem = toProblem(error, { traceId, instance: request.path, logger });
      code = isDomainError(error) ? error.code : 'INTERNAL';
      outcome = {
        status: problem.status,
        contentType: problemContentType,
        headers: Object.entries(problem.headers),
        bodyText: JSON.stringify(problem.body),
      };
    }
    // A handler that streamed its answer itself (the SSE risk feed) has sent it already.
    if (response.headersSent) return;
    if (claim) await this.settle(claim, outcome, code, logger);
    sendStored(response, outcome, false);
  }

  private async settle(claim: IdempotencyClaim, outcome: StoredResponse, code: string | undefined, logger: Logger): Promise<void> {
    if (isRetryableOutcome(outcome.status, code)) return this.services.idempotency.release(claim);
    if (Buffer.byteLength(outcome.bodyText) > idempotentResponseBytesMax) {
      logger.warn({ status: outcome.status }, 'response too large to keep for idempotent replay; releasing the key');
      return this.services.idempotency.release(claim);
    }
    await this.services.idempotency.complete(claim, outcome);
  }

  private fingerprint(spec: RouteSpec, input: RouteInput<RouteSpec>): string {
    let body: unknown = Buffer.isBuffer(input.body) ? `sha256:${createHash('sha256').update(input.body).digest('hex')}` : input.body;
    const sensitive = spec.sensitiveBodyFields ?? [];
    if (sensitive.length > 0 && body !== null && typeof body === 'object' && !Array.isArray(body)) {
      body = Object.fromEntries(
        Object.entries(body).map(([name, value]) => [
          name,
          sensitive.includes(name) ? `hmac:${createHmac('sha256', this.services.fingerprintKey).update(JSON.stringify(value)).digest('hex')}` : value,
        ]),
      );
    }
    return requestFingerprint({ params: input.params, query: input.query, body });
  }

  private register(spec: RouteSpec, idempotency: IdempotencyRule, rateLimited: boolean): void {
    const problems: Record<number, string> = { 500: 'An unexpected error; the problem carries a trace id to quote.' };
    const hasInput = spec.request !== undefined || idempotency !== 'none';
    if (hasInput) problems[400] = 'The request is malformed (INVALID_ARGUMENT) or past a limit (LIMIT_EXCEEDED); `errors` lists each field.';
    if (spec.access !== 'public') problems[401] = 'No access token, or an expired or invalid one (UNAUTHENTICATED).';
    if (Array.isArray(spec.access)) problems[403] = `The caller holds none of the roles ${spec.access.join(', ')} (PERMISSION_DENIED).`;
    if (idempotency !== 'none') {
      problems[409] = 'A request with this Idempotency-Key is still running (IDEMPOTENT_REQUEST_IN_PROGRESS).';
      problems[422] = 'This Idempotency-Key was used for a different request (IDEMPOTENCY_KEY_REUSED).';
    }
    if (spec.request?.body !== undefined || spec.request?.rawBody !== undefined) problems[413] = `The body is larger than ${requestBodyBytesMax} bytes (PAYLOAD_TOO_LARGE).`;
    if (rateLimited) problems[429] = 'Too many requests from this client or participant (RATE_LIMITED); see Retry-After.';
    for (const [status, description] of Object.entries(spec.problems ?? {})) {
      const common = problems[Number(status)];
      problems[Number(status)] = common ? `${description} Also: ${common}` : description;
    }

    const responses: Record<string, ResponseConfig> = {};
    for (const [status, success] of Object.entries(spec.responses)) {
      const contentType = success.contentType ?? jsonContentType;
      responses[status] = {
        description: success.description,
        ...(idempotency !== 'none' ? { headers: replayedHeaderSchema } : {}),
        ...(success.schema ? { content: { [contentType]: { schema: success.schema } } } : {}),
        ...(success.links ? { links: Object.fromEntries(Object.entries(success.links).map(([name, link]) => [name, { ...link }])) } : {}),
      };
    }
    for (const [status, description] of Object.entries(problems)) {
      responses[status] = {
        description,
        ...(status === '429' ? { headers: retryAfterHeaderSchema } : status === '401' && spec.access !== 'public' ? { headers: challengeHeaderSchema } : {}),
        content: { [problemContentType]: { schema: problemSchema } },
      };
    }

    const headerParameters = documentedHeaders(spec, idempotency);
    const roles = spec.access === 'public' ? 'anyone' : spec.access === 'authenticated' ? 'any signed-in participant' : spec.access.join(', ');
    const route: RouteConfig = {
      method: spec.method,
      path: spec.path,
      operationId: spec.operationId,
      summary: spec.summary,
      description: [spec.description, `Who: ${roles}.`, idempotencyNote(idempotency)].filter(Boolean).join('\n\n'),
      tags: [...spec.tags],
      security: spec.access === 'public' ? [] : [{ [bearerSecurityScheme]: [] }],
      'x-sizhong-access': spec.access === 'public' || spec.access === 'authenticated' ? spec.access : [...spec.access],
      request: {
        ...(spec.request?.params ? { params: spec.request.params } : {}),
        ...(spec.request?.query ? { query: spec.request.query } : {}),
        ...(headerParameters ? { headers: headerParameters } : {}),
        ...(spec.request?.body ? { body: { required: true, content: { [jsonContentType]: { schema: spec.request.body } } } } : {}),
        ...(spec.request?.rawBody ? { body: { required: true, content: { [jsonContentType]: { schema: spec.request.rawBody.schema } } } } : {}),
      },
      responses,
    };
    this.document.registry.registerPath(route);
    this.document.invalidate();
  }
}

const replayedHeaderSchema = z.object({
  [idempotentReplayedHeader]: z.literal('true').optional().describe('present on a replay of an earlier request with the same Idempotency-Key'),
});
const retryAfterHeaderSchema = z.object({
  'Retry-After': z.string().regex(/^\d+$/).describe('seconds until a request will be accepted again'),
});
const challengeHeaderSchema = z.object({
  'WWW-Authenticate': z.string().describe('RFC 6750 Bearer challenge'),
});

function documentedHeaders(spec: RouteSpec, idempotency: IdempotencyRule): z.ZodObject | undefined {
  const shape: Record<string, z.ZodType> = { ...(spec.request?.headers?.shape ?? {}) };
  if (idempotency !== 'none') {
    const described = idempotencyKeySchema.describe(
      `A key naming this request, unique per caller and operation: a retry with the same key and body replays the first answer (${idempotencyKeyLengthMax} characters at most).`,
    );
    shape['Idempotency-Key'] = idempotency === 'required' ? described : described.optional();
  }
  return Object.keys(shape).length > 0 ? z.object(shape) : undefined;
}

/** `GET, HEAD, OPTIONS` style: the declared methods, HEAD where GET is, and OPTIONS, in a fixed order. */
function allowHeader(methods: ReadonlySet<HttpMethod>): string {
  const allowed = new Set<string>([...methods].map((method) => method.toUpperCase()));
  if (allowed.has('GET')) allowed.add('HEAD');
  allowed.add('OPTIONS');
  return allowHeaderOrder.filter((method) => allowed.has(method)).join(', ');
}

const allowHeaderOrder = ['GET', 'HEAD', 'POST', 'PUT', 'PATCH', 'DELETE', 'OPTIONS'];

function idempotencyNote(idempotency: IdempotencyRule): string | undefined {
  if (idempotency === 'required') return 'Requires an `Idempotency-Key` header.';
  if (idempotency === 'optional') return 'Accepts an `Idempotency-Key` header.';
  return undefined;
}

function rateLimitedRefusal(subject: string, retryAfterSeconds: number): HttpRefusal {
  return new HttpRefusal('RATE_LIMITED', `too many requests from ${subject}; retry after ${retryAfterSeconds} s`, [], { 'Retry-After': String(retryAfterSeconds) }, { retryAfterSeconds });
}

function encodeResult(spec: RouteSpec, result: { status: number; body: unknown; headers?: Readonly<Record<string, string>> }): StoredResponse {
  const success = spec.responses[result.status];
  if (!success) throw new Error(`${spec.operationId} answered ${result.status}, which it does not declare`);
  const contentType = success.contentType ?? jsonContentType;
  const bodyText =
    success.schema === undefined ? '' : contentType === jsonContentType ? JSON.stringify(result.body) : typeof result.body === 'string' ? result.body : String(result.body);
  return { status: result.status, contentType, headers: Object.entries(result.headers ?? {}), bodyText };
}

function sendStored(response: Response, stored: StoredResponse, replayed: boolean): void {
  response.status(stored.status);
  for (const [name, value] of stored.headers) response.setHeader(name, value);
  if (replayed) response.setHeader(idempotentReplayedHeader, 'true');
  if (stored.bodyText === '') {
    response.end();
    return;
  }
  response.setHeader('Content-Type', `${stored.contentType}; charset=utf-8`);
  response.send(stored.bodyText);
}
