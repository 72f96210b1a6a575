/**
 * RFC 9457 problem details: every error the gateway answers is `application/problem+json` with
 * `{type, title, status, detail, code}` plus `traceId`, `instance`, and for invalid input
 * `errors: [{path, message}]`. Facts a DomainError carries (`details`) become extension members.
 */
import { DomainError, type ErrorCode, type ErrorDetails, errorCodes, isDomainError, type Logger } from '@sizhong/kit';
import { z } from '../openapi/zod';
import { httpStatusOf, serverErrorDetail } from './error-mapping';

export const problemContentType = 'application/problem+json';

/**
 * Codes only the HTTP layer answers, never a service: they have no gRPC status, so they stay out
 * of the kit's ErrorCode union and carry their HTTP status here.
 */
export const httpOnlyProblemStatus = {
  /** A declared path called with a method it does not declare; `Allow` lists the ones it does. */
  METHOD_NOT_ALLOWED: 405,
} as const;
export type HttpOnlyProblemCode = keyof typeof httpOnlyProblemStatus;
export type ProblemCode = ErrorCode | HttpOnlyProblemCode;
export const problemCodes = [...errorCodes, ...(Object.keys(httpOnlyProblemStatus) as HttpOnlyProblemCode[]).filter((code) => !(errorCodes as readonly string[]).includes(code))];

function problemStatusOf(code: ProblemCode): number {
  return code in httpOnlyProblemStatus ? httpOnlyProblemStatus[code as HttpOnlyProblemCode] : httpStatusOf(code as ErrorCode);
}

export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/**
 * A refusal raised by the gateway itself that needs more than a DomainError carries: the
 * field-level issues of invalid input, or response headers (`Retry-After`, `WWW-Authenticate`).
 */
export class HttpRefusal extends DomainError {
  constructor(
    code: ErrorCode,
    message: string,
    readonly issues: readonly FieldIssue[] = [],
    readonly headers: Readonly<Record<string, string>> = {},
    details: ErrorDetails = {},
  ) {
    super(code, message, details);
  }
}

export const fieldIssueSchema = z
  .object({
    path: z.string().describe('where the problem is: `body.email`, `query.limit`, `headers.idempotency-key`, …'),
    message: z.string(),
  })
  .openapi('FieldIssue');

export const problemSchema = z
  .object({
    type: z.string().describe('a URI naming the kind of problem: `urn:sizhong:problem:<code in kebab case>`'),
    title: z.string().describe('a short summary, the same for every problem of this type'),
    status: z.number().int().min(400).max(599),
    detail: z.string().describe('what went wrong with this request, for humans'),
    code: z.enum(problemCodes as [ProblemCode, ...ProblemCode[]]).describe('stable UPPER_SNAKE code for programs'),
    traceId: z.string().regex(/^[0-9a-f]{32}$/).describe('the trace of this request; quote it when reporting a problem'),
    instance: z.string().optional().describe('the request path'),
    errors: z.array(fieldIssueSchema).optional().describe('each invalid input field, when code is INVALID_ARGUMENT or LIMIT_EXCEEDED'),
  })
  .loose()
  .describe('RFC 9457 problem details; extra members carry facts about the refusal (for example `retryAfterSeconds`)')
  .openapi('Problem');

export type Problem = z.infer<typeof problemSchema>;

/** Members a DomainError's details may not overwrite. */
const reservedMembers = new Set(['type', 'title', 'status', 'detail', 'code', 'traceId', 'instance', 'errors']);

export interface ProblemResponse {
  readonly status: number;
  readonly body: Problem;
  readonly headers: Readonly<Record<string, string>>;
}

export function problemType(code: ProblemCode): string {
  return `urn:sizhong:problem:${code.toLowerCase().replace(/_/g, '-')}`;
}

/** `INSUFFICIENT_FUNDS` → `Insufficient funds`. */
export function problemTitle(code: ProblemCode): string {
  const words = code.toLowerCase().replace(/_/g, ' ');
  return words.charAt(0).toUpperCase() + words.slice(1);
}

/**
 * Turns anything thrown while handling a request into the problem to answer. Unknown errors are
 * logged with the trace id and answered with a generic 500 that reveals nothing.
 */
export function toProblem(error: unknown, where: { traceId: string; instance: string; logger: Logger }): ProblemResponse {
  if (!isDomainError(error)) {
    where.logger.error({ err: error, traceId: where.traceId, instance: where.instance }, 'unexpected error while handling a request');
    return buildProblem('INTERNAL', serverErrorDetail[500] ?? 'internal error', where);
  }
  const status = httpStatusOf(error.code);
  if (status >= 500) {
    // The gateway's own refusals with Retry-After (load it sheds on purpose) are no failure: one line, no stack.
    if (error instanceof HttpRefusal && error.headers['retry-after'] !== undefined) where.logger.info({ code: error.code, traceId: where.traceId, instance: where.instance, reason: error.message }, 'request shed');
    else where.logger.warn({ err: error, code: error.code, traceId: where.traceId, instance: where.instance }, 'request failed downstream');
    // Downstream messages of server-side failures may name hosts or internals. The gateway's own
    // refusals (HttpRefusal, e.g. "not connected to the escrow service") are written for clients.
    if (!(error instanceof HttpRefusal)) return buildProblem(error.code, serverErrorDetail[status] ?? serverErrorDetail[500] ?? 'internal error', where);
  }
  const issues = error instanceof HttpRefusal ? error.issues : [];
  const headers = error instanceof HttpRefusal ? error.headers : {};
  return buildProblem(error.code, error.message, where, issues, headers, error.details);
}

export function buildProblem(
  code: ProblemCode,
  detail: string,
  where: { traceId: string; instance: string },
  issues: readonly FieldIssue[] = [],
  headers: Readonly<Record<string, string>> = {},
  details: ErrorDetails = {},
): ProblemResponse {
  const status = problemStatusOf(code);
  const extensions = Object.fromEntries(Object.entries(details).filter(([name]) => !reservedMembers.has(name)));
  const body: Problem = {
    ...extensions,
    type: problemType(code),
    title: problemTitle(code),
    status,
    detail,
    code,
    traceId: where.traceId,
    instance: where.instance,
    ...(issues.length > 0 ? { errors: [...issues] } : {}),
  };
  return { status, body, headers };
}
