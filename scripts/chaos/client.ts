/**
 * The fault-injection run's HTTP client: a client that retries as a careful user's would. Every POST
 * carries an Idempotency-Key, and a retry sends the SAME key and body after a 5xx, a 429, a 409
 * IDEMPOTENT_REQUEST_IN_PROGRESS, a timeout or a dropped connection, with a doubling pause, up to
 * `attemptsMax` attempts; then the action is abandoned (allowed: the money must still end where
 * the rules say). Every attempt and its answer is appended to the run's action log (JSON lines).
 */
import { appendFileSync } from 'node:fs';
import { sleep } from './cluster';

/** Attempts of one action, the first included. */
export const attemptsMax = 8;
/** Pause before the second attempt; doubles, capped at `retryPauseMaxMs`. */
export const retryPauseMinMs = 250;
export const retryPauseMaxMs = 5_000;
/** One attempt's answer must come within this (the gateway's longest downstream deadline is 15 s). */
export const attemptTimeoutMs = 25_000;

export interface Answer {
  readonly status: number;
  // The workload reads answers as a client does: by field name, checked where it matters.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

/** The outcome of an action: its last answer, or `abandoned` when no attempt was answered in a way worth keeping. */
export type Outcome = { readonly kind: 'answered'; readonly answer: Answer; readonly attempts: number } | { readonly kind: 'abandoned'; readonly reason: string; readonly attempts: number };

export interface Request {
  /** Who acts and what, for the log: `backer-2 pledges`. */
  readonly what: string;
  readonly method: 'GET' | 'POST' | 'PUT';
  readonly path: string;
  readonly token?: string;
  readonly body?: unknown;
  /** Raw bytes (the provider's signed webhook), sent as they are. */
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
  /** Sent as Idempotency-Key; a POST without one gets a fresh key of the run. */
  readonly key?: string;
}

export interface ClientCounts {
  actions: number;
  answered: number;
  abandoned: number;
  attempts: number;
  retries: number;
}

export class ChaosClient {
  readonly counts: ClientCounts = { actions: 0, answered: 0, abandoned: 0, attempts: 0, retries: 0 };
  private keys = 0;

  constructor(
    private readonly gatewayUrl: string,
    private readonly runId: string,
    private readonly logFile: string,
    /** Whether the run is still going; a stopped run abandons at once. */
    private readonly running: () => boolean = () => true,
  ) {}

  newKey(label: string): string {
    this.keys += 1;
    return `chaos-${this.runId}-${label}-${this.keys}`;
  }

  async send(request: Request): Promise<Outcome> {
    this.counts.actions += 1;
    const key = request.key ?? (request.method === 'POST' ? this.newKey('post') : undefined);
    const headers: Record<string, string> = { accept: 'application/json', ...request.headers };
    if (request.token) headers['authorization'] = `Bearer ${request.token}`;
    if (key) headers['idempotency-key'] = key;
    const body = request.rawBody ?? (request.body === undefined ? undefined : JSON.stringify(request.body));
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    let lastProblem = '';
    for (let attempt = 1; attempt <= attemptsMax; attempt++) {
      if (!this.running()) return this.finish(request, key, { kind: 'abandoned', reason: 'the run stopped', attempts: attempt - 1 });
      if (attempt > 1) {
        this.counts.retries += 1;
        await sleep(Math.min(retryPauseMaxMs, retryPauseMinMs * 2 ** (attempt - 2)));
      }
      this.counts.attempts += 1;
      const startedAtMs = Date.now();
      try {
        const response = await fetch(`${this.gatewayUrl}${request.path}`, { method: request.method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(attemptTimeoutMs) });
        const text = await response.text();
        const answer: Answer = { status: response.status, body: parse(text) };
        this.log({ what: request.what, method: request.method, path: request.path, key, attempt, status: answer.status, code: answer.body?.code, ms: Date.now() - startedAtMs });
        if (!worthRetrying(answer)) return this.finish(request, key, { kind: 'answered', answer, attempts: attempt });
        lastProblem = `${answer.status} ${answer.body?.code ?? ''}`.trim();
      } catch (error) {
        lastProblem = describeFailure(error);
        this.log({ what: request.what, method: request.method, path: request.path, key, attempt, error: lastProblem, ms: Date.now() - startedAtMs });
      }
    }
    return this.finish(request, key, { kind: 'abandoned', reason: lastProblem, attempts: attemptsMax });
  }

  private finish(request: Request, key: string | undefined, outcome: Outcome): Outcome {
    if (outcome.kind === 'answered') this.counts.answered += 1;
    else {
      this.counts.abandoned += 1;
      this.log({ what: request.what, method: request.method, path: request.path, key, abandoned: outcome.reason });
    }
    return outcome;
  }

  private log(entry: Record<string, unknown>): void {
    appendFileSync(this.logFile, `${JSON.stringify({ at: new Date().toISOString(), ...entry })}\n`);
  }
}

/** 5xx, 429, and a claim still in progress are worth the same request again; any other answer stands. */
export function worthRetrying(answer: Answer): boolean {
  if (answer.status >= 500 || answer.status === 429) return true;
  return answer.status === 409 && answer.body?.code === 'IDEMPOTENT_REQUEST_IN_PROGRESS';
}

function parse(text: string): unknown {
  if (text === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text.slice(0, 200) };
  }
}

function describeFailure(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${attemptTimeoutMs / 1000} s`;
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

export function ok(outcome: Outcome): outcome is { kind: 'answered'; answer: Answer; attempts: number } {
  return outcome.kind === 'answered' && outcome.answer.status >= 200 && outcome.answer.status < 300;
}

/** The answer's body when it is a 2xx, else undefined. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function bodyOf(outcome: Outcome): any {
  return ok(outcome) ? outcome.answer.body : undefined;
}
