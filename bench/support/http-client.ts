/**
 * A small HTTP/1.1 client over node:http with keep-alive connections, light enough that the
 * driver's own cost stays small next to the server's (fetch costs several times more CPU per
 * request, and the bare baseline shares this process with the driver).
 */
import { Agent, request as httpRequest } from 'node:http';

export interface HttpAnswer {
  readonly status: number;
  readonly text: string;
}

export interface HttpRequestOptions {
  /** JSON-encoded as the body. */
  readonly json?: unknown;
  /** Sent as is (a signed webhook must arrive byte for byte). */
  readonly rawBody?: string;
  readonly token?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** Gives up on a request after this long: a benchmark measures slow answers, but not forever. */
export const httpRequestTimeoutMs = 120_000;

export class HttpClient {
  private readonly url: URL;
  /** Unbounded sockets: the driver, not the agent, decides how many requests are in flight. */
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity });

  constructor(baseUrl: string) {
    this.url = new URL(baseUrl);
  }

  request(method: string, path: string, options: HttpRequestOptions = {}): Promise<HttpAnswer> {
    const bodyText = options.rawBody ?? (options.json === undefined ? undefined : JSON.stringify(options.json));
    const body = bodyText === undefined ? undefined : Buffer.from(bodyText, 'utf8');
    const headers: Record<string, string | number> = { ...options.headers };
    if (body !== undefined) {
      headers['content-type'] ??= 'application/json';
      headers['content-length'] = body.length;
    }
    if (options.token !== undefined) headers['authorization'] = `Bearer ${options.token}`;
    return new Promise((resolve, reject) => {
      const outgoing = httpRequest(
        { host: this.url.hostname, port: this.url.port, method, path, headers, agent: this.agent, timeout: httpRequestTimeoutMs },
        (incoming) => {
          const chunks: Buffer[] = [];
          incoming.on('data', (chunk: Buffer) => chunks.push(chunk));
          incoming.on('end', () => resolve({ status: incoming.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
          incoming.on('error', reject);
        },
      );
      outgoing.on('timeout', () => outgoing.destroy(new Error(`${method} ${path}: no answer within ${httpRequestTimeoutMs} ms`)));
      outgoing.on('error', reject);
      outgoing.end(body);
    });
  }

  /** The request's JSON answer when its status is `status`; otherwise an error that shows the answer. */
  async expect<Body = unknown>(status: number, method: string, path: string, options: HttpRequestOptions = {}): Promise<Body> {
    const answer = await this.request(method, path, options);
    if (answer.status !== status) throw new Error(`${method} ${path} answered ${answer.status}, expected ${status}: ${answer.text.slice(0, 500)}`);
    return (answer.text === '' ? undefined : JSON.parse(answer.text)) as Body;
  }

  close(): void {
    this.agent.destroy();
  }
}
