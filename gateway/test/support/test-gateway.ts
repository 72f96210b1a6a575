/**
 * Starts the real gateway app on 127.0.0.1:0 against the real MongoDB-wire server, in a database
 * of its own, and gives tests a small HTTP client. Nothing of ours is mocked.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Writable } from 'node:stream';
import { type Clock, connectMongo, createLogger, type MongoConnection, type ParticipantRole, randomId } from '@sizhong/kit';
import { testDatabaseName, testInfrastructure } from '@sizhong/testkit';
import { createApp, type Gateway, type GatewayDependencies } from '../../src/app';
import { applyServerTimeouts } from '../../src/http/server-timeouts';
import { type GatewayConfig, loadGatewayConfig } from '../../src/config';

export const testTokenSecret = new TextEncoder().encode('test-secret-of-at-least-32-characters-long!');

/** High enough that only the rate-limit tests ever meet a limit. */
const generousRateLimits = {
  RATE_LIMIT_IP_BURST: '1000000',
  RATE_LIMIT_IP_PER_SECOND: '1000000',
  RATE_LIMIT_PARTICIPANT_BURST: '1000000',
  RATE_LIMIT_PARTICIPANT_PER_SECOND: '1000000',
};

export interface TestGateway {
  readonly url: string;
  readonly gateway: Gateway;
  readonly mongo: MongoConnection;
  readonly config: GatewayConfig;
  readonly databaseName: string;
  /** Every log line the gateway wrote, parsed. */
  readonly logs: Array<Record<string, unknown>>;
  readonly http: HttpClient;
  close(): Promise<void>;
}

export interface StartOptions {
  readonly label: string;
  readonly environment?: Readonly<Record<string, string>>;
  readonly clock?: Clock;
  readonly routes?: GatewayDependencies['routes'];
  /** Reuse another gateway's database (for two replicas on one store). */
  readonly databaseName?: string;
}

export async function startTestGateway(options: StartOptions): Promise<TestGateway> {
  const { mongoUrl } = testInfrastructure();
  const databaseName = options.databaseName ?? testDatabaseName(options.label);
  const config = loadGatewayConfig({
    MONGO_URL: mongoUrl,
    GATEWAY_DATABASE: databaseName,
    LOG_LEVEL: 'info',
    ...generousRateLimits,
    ...options.environment,
  });
  const mongo = await connectMongo(mongoUrl, databaseName);
  const logs: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') logs.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL, destination });
  const gateway = await createApp({
    config,
    mongo,
    logger,
    tokenSecret: testTokenSecret,
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.routes ? { routes: options.routes } : {}),
  });
  const server = await new Promise<Server>((resolve) => {
    const listening = gateway.app.listen(0, '127.0.0.1', () => resolve(listening));
  });
  applyServerTimeouts(server);
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    gateway,
    mongo,
    config,
    databaseName,
    logs,
    http: new HttpClient(url),
    close: async () => {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      gateway.close();
      if (!options.databaseName) await mongo.db.dropDatabase().catch(() => undefined);
      await mongo.close();
    },
  };
}

export interface HttpResponse {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The parsed JSON body (undefined when the body is not JSON). */
  readonly body: any; // eslint-disable-line @typescript-eslint/no-explicit-any -- tests read arbitrary JSON
}

export interface RequestOptions {
  readonly body?: unknown;
  /** Sent as is, instead of JSON-encoding `body`. */
  readonly rawBody?: string;
  readonly token?: string;
  readonly headers?: Readonly<Record<string, string>>;
}

export class HttpClient {
  constructor(readonly baseUrl: string) {}

  async request(method: string, path: string, options: RequestOptions = {}): Promise<HttpResponse> {
    const headers: Record<string, string> = { ...options.headers };
    let body: string | undefined;
    if (options.rawBody !== undefined) body = options.rawBody;
    else if (options.body !== undefined) body = JSON.stringify(options.body);
    if (body !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
    if (options.token) headers.authorization = `Bearer ${options.token}`;
    const response = await fetch(`${this.baseUrl}${path}`, { method, headers, ...(body !== undefined ? { body } : {}) });
    const text = await response.text();
    let parsed: unknown;
    const contentType = response.headers.get('content-type') ?? '';
    if (contentType.includes('json') && text !== '') parsed = JSON.parse(text);
    return { status: response.status, headers: response.headers, text, body: parsed };
  }

  get(path: string, options: RequestOptions = {}) {
    return this.request('GET', path, options);
  }

  post(path: string, body: unknown, options: Omit<RequestOptions, 'body'> = {}) {
    return this.request('POST', path, { ...options, body });
  }
}

export const testPassword = 'correct horse battery staple';

export function uniqueEmail(label = 'someone'): string {
  return `${label}.${randomId('e').slice(2, 14)}@example.org`;
}

/** Attempts of a sign-up or sign-in the gateway sheds (503 with Retry-After: the hashing queue is full). */
export const shedRetriesMax = 20;

/** Posts as a client should: a 503 with Retry-After is tried again after the pause it names. */
export async function postHonouringRetryAfter(http: HttpClient, path: string, body: unknown): Promise<HttpResponse> {
  for (let attempt = 1; ; attempt++) {
    const response = await http.post(path, body);
    const retryAfter = response.headers.get('retry-after');
    if (response.status !== 503 || retryAfter === null || attempt >= shedRetriesMax) return response;
    await new Promise((resolve) => setTimeout(resolve, Number(retryAfter) * 1_000));
  }
}

/** Signs up through HTTP and signs in; returns the participant id and a token. */
export async function signUpAndSignIn(
  http: HttpClient,
  roles: readonly string[] = ['backer'],
  email = uniqueEmail(),
): Promise<{ participantId: string; token: string; email: string }> {
  const signup = await postHonouringRetryAfter(http, '/v1/auth/signup', { email, password: testPassword, displayName: 'Test Participant', roles });
  if (signup.status !== 201) throw new Error(`sign-up failed: ${signup.status} ${signup.text}`);
  const token = await signIn(http, email);
  return { participantId: signup.body.participantId as string, token, email };
}

export async function signIn(http: HttpClient, email: string, password = testPassword): Promise<string> {
  const issued = await postHonouringRetryAfter(http, '/v1/auth/token', { email, password });
  if (issued.status !== 200) throw new Error(`sign-in failed: ${issued.status} ${issued.text}`);
  return issued.body.accessToken as string;
}

/** Creates a participant with any role, as the admin command does (same use case), and signs in. */
export async function createPrivilegedParticipant(
  test: TestGateway,
  roles: readonly ParticipantRole[],
): Promise<{ participantId: string; token: string; email: string }> {
  const email = uniqueEmail(roles.join('-'));
  const participant = await test.gateway.services.participants.register({ email, password: testPassword, displayName: 'Privileged', roles, createdBy: 'admin-command' });
  return { participantId: participant.participantId, token: await signIn(test.http, email), email };
}
