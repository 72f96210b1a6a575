/**
 * The console's one way to the gateway: JSON over fetch with the bearer token, problems
 * (application/problem+json) turned into ApiError, and "unavailable" told apart from "refused":
 * a 503, or a 404/405/501 on a whole route the gateway does not have yet, means the service behind
 * it is not there, and the views show that state instead of an error.
 */
export interface Problem {
  readonly status: number;
  readonly code: string;
  readonly title?: string;
  readonly detail?: string;
}

export class ApiError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title ?? problem.code);
  }
  /** The service behind the route is down, not configured, or not built yet. */
  get unavailable(): boolean {
    const { status, code, detail } = this.problem;
    // The gateway answers a path it has no route for with 404 NOT_FOUND "no route for …".
    const noRoute = status === 404 && (detail ?? '').startsWith('no route for');
    return status === 503 || status === 501 || status === 0 || noRoute || code === 'METHOD_NOT_ALLOWED';
  }
}

export interface Session {
  readonly token: string;
  readonly participantId: string;
  readonly displayName: string;
  readonly roles: readonly string[];
}

const sessionKey = 'sizhong.session';
let session: Session | undefined = readSession();
const listeners = new Set<() => void>();

function readSession(): Session | undefined {
  try {
    const stored = sessionStorage.getItem(sessionKey);
    return stored ? (JSON.parse(stored) as Session) : undefined;
  } catch {
    return undefined;
  }
}

export function currentSession(): Session | undefined {
  return session;
}

export function setSession(next: Session | undefined): void {
  session = next;
  // Kept for this tab only (sessionStorage): closing the tab signs out.
  if (next) sessionStorage.setItem(sessionKey, JSON.stringify(next));
  else sessionStorage.removeItem(sessionKey);
  for (const listener of listeners) listener();
}

export function onSessionChange(listener: () => void): void {
  listeners.add(listener);
}

export function hasRole(...roles: string[]): boolean {
  return !!session && session.roles.some((role) => roles.includes(role));
}

let keyCounter = 0;
/** A fresh Idempotency-Key: a retry of the same user action reuses the one it was given. */
export function newIdempotencyKey(label: string): string {
  keyCounter += 1;
  const random = crypto.getRandomValues(new Uint32Array(2));
  return `console-${label}-${Date.now().toString(36)}-${random[0]?.toString(36)}${random[1]?.toString(36)}-${keyCounter}`;
}

export interface CallOptions {
  readonly body?: unknown;
  readonly idempotencyKey?: string;
  readonly signal?: AbortSignal;
}

export async function api<T = unknown>(method: string, path: string, options: CallOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: 'application/json' };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  if (session) headers.Authorization = `Bearer ${session.token}`;
  if (options.idempotencyKey) headers['Idempotency-Key'] = options.idempotencyKey;
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body: options.body === undefined ? undefined : JSON.stringify(options.body), signal: options.signal });
  } catch (error) {
    if ((error as Error).name === 'AbortError') throw error;
    throw new ApiError({ status: 0, code: 'NETWORK_ERROR', detail: (error as Error).message });
  }
  const text = await response.text();
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  if (!response.ok) {
    const problem = (parsed ?? {}) as Partial<Problem>;
    const error = new ApiError({ status: response.status, code: problem.code ?? `HTTP_${response.status}`, title: problem.title, detail: problem.detail });
    if (response.status === 401 && session && path !== '/v1/auth/token') setSession(undefined);
    throw error;
  }
  return parsed as T;
}

export interface Page<T> {
  readonly items: T[];
  readonly nextCursor?: string | null;
}
