/**
 * The guided demo's HTTP side: a small client for the gateway's JSON API that turns every refusal
 * into a `Refused` error carrying what the problem+json said (status, code, detail), so the demo can
 * print what was refused and why.
 */

export interface Answer {
  readonly status: number;
  // The demo reads the answers as a client would: by field name, checked where it matters.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly body: any;
}

/** A request the platform refused (or could not answer), as its problem+json described it. */
export class Refused extends Error {
  override readonly name = 'Refused';

  constructor(
    readonly what: string,
    readonly status: number,
    readonly code: string,
    readonly detail: string,
  ) {
    super(`${what}: refused with ${status} ${code}${detail ? ` (${detail})` : ''}`);
  }
}

/** How long one request may take before the demo gives up on it. */
export const requestTimeoutMs = 30_000;

export interface CallOptions {
  readonly token?: string;
  readonly body?: unknown;
  /** An Idempotency-Key: every POST that creates something or moves money gets one. */
  readonly key?: string;
  /** The raw body (the payment provider's signed webhook), sent byte for byte. */
  readonly rawBody?: string;
  readonly headers?: Record<string, string>;
}

export class DemoClient {
  private keys = 0;

  constructor(
    readonly gatewayUrl: string,
    /** Makes idempotency keys unique to this run. */
    private readonly runId: string,
  ) {}

  /** A fresh Idempotency-Key of this run. */
  newKey(label: string): string {
    this.keys += 1;
    return `demo-${this.runId}-${label}-${this.keys}`;
  }

  /** The answer, whatever its status; throws only when the gateway cannot be reached. */
  async request(method: 'GET' | 'POST' | 'PUT', path: string, options: CallOptions = {}): Promise<Answer> {
    const headers: Record<string, string> = { accept: 'application/json', ...options.headers };
    if (options.token) headers['authorization'] = `Bearer ${options.token}`;
    if (options.key) headers['idempotency-key'] = options.key;
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined) headers['content-type'] ??= 'application/json';
    let response: Response;
    try {
      response = await fetch(`${this.gatewayUrl}${path}`, { method, headers, ...(body === undefined ? {} : { body }), signal: AbortSignal.timeout(requestTimeoutMs) });
    } catch (error) {
      throw new Unreachable(this.gatewayUrl, describeFetchFailure(error));
    }
    const text = await response.text();
    let parsed: unknown;
    try {
      parsed = text === '' ? undefined : JSON.parse(text);
    } catch {
      parsed = { detail: text.slice(0, 200) };
    }
    return { status: response.status, body: parsed };
  }

  /** The answer's body when the status is `expected` (2xx by default); a `Refused` otherwise. */
  async expect(what: string, method: 'GET' | 'POST' | 'PUT', path: string, options: CallOptions = {}, expected?: number): Promise<Answer['body']> {
    const answer = await this.request(method, path, options);
    const accepted = expected === undefined ? answer.status >= 200 && answer.status < 300 : answer.status === expected;
    if (!accepted) throw refusal(what, answer);
    return answer.body;
  }

  get(what: string, path: string, token?: string): Promise<Answer['body']> {
    return this.expect(what, 'GET', path, token === undefined ? {} : { token });
  }

  post(what: string, path: string, options: CallOptions = {}): Promise<Answer['body']> {
    return this.expect(what, 'POST', path, options);
  }

  put(what: string, path: string, options: CallOptions = {}): Promise<Answer['body']> {
    return this.expect(what, 'PUT', path, options);
  }
}

/** The gateway did not answer at all. */
export class Unreachable extends Error {
  override readonly name = 'Unreachable';

  constructor(
    readonly gatewayUrl: string,
    readonly reason: string,
  ) {
    super(`the gateway at ${gatewayUrl} does not answer (${reason})`);
  }
}

export function refusal(what: string, answer: Answer): Refused {
  const body = (answer.body ?? {}) as { code?: unknown; detail?: unknown; title?: unknown };
  const code = typeof body.code === 'string' ? body.code : 'NO_PROBLEM_CODE';
  const detail = typeof body.detail === 'string' ? body.detail : typeof body.title === 'string' ? body.title : '';
  return new Refused(what, answer.status, code, detail);
}

function describeFetchFailure(error: unknown): string {
  if (error instanceof Error && error.name === 'TimeoutError') return `no answer within ${requestTimeoutMs / 1000} s`;
  const cause = error instanceof Error ? (error.cause as { code?: string; message?: string } | undefined) : undefined;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}

/** Polls `probe` until `accept` holds or `timeoutMs` passes; returns the last value either way. */
export async function waitFor<T>(probe: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number, intervalMs = 500): Promise<{ value: T; met: boolean }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return { value, met: true };
    if (Date.now() >= deadline) return { value, met: false };
    await sleep(intervalMs);
  }
}

export function sleep(durationMs: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, durationMs));
}

/** `{currency, amountMinor}` as a person reads it: 12 345.67 CNY (string arithmetic, no floats). */
export function formatMoney(money: { currency: string; amountMinor: string } | undefined | null): string {
  if (!money) return '—';
  const negative = money.amountMinor.startsWith('-');
  const digits = (negative ? money.amountMinor.slice(1) : money.amountMinor).padStart(3, '0');
  const whole = digits.slice(0, -2).replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
  return `${negative ? '-' : ''}${whole}.${digits.slice(-2)} ${money.currency}`;
}

/** CNY money from yuan (whole units) for request bodies. */
export function cny(yuan: number): { currency: 'CNY'; amountMinor: string } {
  return { currency: 'CNY', amountMinor: (BigInt(yuan) * 100n).toString() };
}
