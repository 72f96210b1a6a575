/**
 * Request validation with the route's zod schemas. All parts (params, query, headers, body) are
 * checked before anything runs, and every issue is reported: `LIMIT_EXCEEDED` when some value is
 * past a named bound (too long, too many, too large), `INVALID_ARGUMENT` otherwise; both are 400.
 */
import type { z } from 'zod';
import { type FieldIssue, HttpRefusal } from './problem';

export type RequestPart = 'params' | 'query' | 'headers' | 'body';

export interface PartOutcome {
  readonly data: unknown;
  readonly issues: readonly FieldIssue[];
  readonly pastLimit: boolean;
}

export function validatePart(schema: z.ZodType | undefined, value: unknown, part: RequestPart): PartOutcome {
  if (schema === undefined) return { data: {}, issues: [], pastLimit: false };
  const result = schema.safeParse(value);
  if (result.success) return { data: result.data, issues: [], pastLimit: false };
  return {
    data: undefined,
    issues: result.error.issues.map((issue) => ({ path: issuePath(part, issue.path), message: issue.message })),
    pastLimit: result.error.issues.some((issue) => issue.code === 'too_big'),
  };
}

export function issuePath(part: RequestPart, path: readonly PropertyKey[]): string {
  return path.reduce<string>((text, segment) => (typeof segment === 'number' ? `${text}[${segment}]` : `${text}.${String(segment)}`), part);
}

/** Throws the one 400 that lists every issue of every part. */
export function refuseIfInvalid(outcomes: readonly PartOutcome[]): void {
  const issues = outcomes.flatMap((outcome) => outcome.issues);
  if (issues.length === 0) return;
  const pastLimit = outcomes.some((outcome) => outcome.pastLimit);
  throw new HttpRefusal(
    pastLimit ? 'LIMIT_EXCEEDED' : 'INVALID_ARGUMENT',
    pastLimit ? 'the request exceeds a limit; see errors' : 'the request is not valid; see errors',
    issues,
  );
}
