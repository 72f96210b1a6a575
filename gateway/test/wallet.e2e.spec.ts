// Proves the wallet and ledger routes end to end — real HTTP → gateway → real gRPC → the real escrow service on the MongoDB-wire server and Kafka: signed deposits applied once from the exact bytes, forged ones refused, withdrawals idempotent, journal paging, invariants by role, the sandbox provider script, and 503s when escrow is gone or not configured; every answer checked against /openapi.json.
import { spawn } from 'node:child_process';
import { connectMongo, createLogger, loadConfig } from '@sizhong/kit';
import { testDatabaseName, testInfrastructure, testTopicPrefix } from '@sizhong/testkit';
import { signPayload } from '../../services/escrow/src/app/payment-provider';
import { escrowConfigShape } from '../../services/escrow/src/config';
import { type RunningEscrow, startEscrow } from '../../services/escrow/src/escrow-service';
import { requestBodyBytesMax } from '../src/http/limits';
import { Conformance, type OpenApi } from './support/conformance';
import { cleanEnvironment, type Finished, repositoryRootPath } from './support/processes';
import { createPrivilegedParticipant, type HttpResponse, signUpAndSignIn, startTestGateway, type TestGateway } from './support/test-gateway';

const webhookSecret = 'wallet-e2e-webhook-secret-0123456789abcdef';
const logger = createLogger({ service: 'escrow', level: 'silent' });
let escrow: RunningEscrow | undefined;
let escrowDatabase: string;
let test: TestGateway;
let conformance: Conformance;

beforeAll(async () => {
  const infrastructure = testInfrastructure();
  escrowDatabase = testDatabaseName('gateway-wallet-escrow');
  escrow = await startEscrow(
    loadConfig(escrowConfigShape, {
      MONGO_URL: infrastructure.mongoUrl,
      KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
      ESCROW_DATABASE: escrowDatabase,
      KAFKA_TOPIC_PREFIX: testTopicPrefix('gateway-wallet'),
      PSP_WEBHOOK_SECRET: webhookSecret,
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
    }),
    { logger },
  );
  test = await startTestGateway({ label: 'gateway-wallet', environment: { ESCROW_GRPC_ADDRESS: escrow.address, READINESS_CHECK_DEADLINE_MS: '500' } });
  conformance = new Conformance((await test.http.get('/openapi.json')).body as OpenApi);
});

afterAll(async () => {
  await test.close();
  await escrow?.stop();
  const mongo = await connectMongo(testInfrastructure().mongoUrl, escrowDatabase);
  await mongo.db.dropDatabase();
  await mongo.close();
});

/** Checks the answer against the OpenAPI document and hands it back. */
function conforming(template: string, method: string, response: HttpResponse): HttpResponse {
  conformance.expectConforms(template, method, response);
  return response;
}

let eventCounter = 0;
function newEventId(): string {
  eventCounter += 1;
  return `evt_wallet_${Date.now()}_${eventCounter}`;
}

function depositEvent(participantId: string, amountMinor: string, eventId = newEventId()) {
  return { id: eventId, type: 'deposit.succeeded', participantId, amount: { currency: 'CNY', amountMinor } };
}

/** Posts exactly `body` (not re-encoded), signed as the provider signs. */
async function sendWebhook(body: string, options: { secret?: string; signature?: string | null; at?: Date; contentType?: string } = {}): Promise<HttpResponse> {
  const unixSeconds = Math.floor((options.at ?? new Date()).getTime() / 1_000);
  const signature = options.signature === undefined ? signPayload(new TextEncoder().encode(options.secret ?? webhookSecret), body, unixSeconds) : options.signature;
  const headers: Record<string, string> = { 'content-type': options.contentType ?? 'application/json' };
  if (signature !== null) headers['sizhong-signature'] = signature;
  return conforming('/v1/psp/webhooks', 'POST', await test.http.request('POST', '/v1/psp/webhooks', { rawBody: body, headers }));
}

async function deposit(participantId: string, amountMinor: string): Promise<void> {
  const response = await sendWebhook(JSON.stringify(depositEvent(participantId, amountMinor)));
  expect(response.status).toBe(200);
}

async function wallet(token: string, query = ''): Promise<HttpResponse> {
  return conforming('/v1/wallet', 'GET', await test.http.get(`/v1/wallet${query}`, { token }));
}

async function withdraw(token: string, amount: unknown, key?: string): Promise<HttpResponse> {
  return conforming(
    '/v1/wallet/withdrawals',
    'POST',
    await test.http.post('/v1/wallet/withdrawals', { amount }, { token, ...(key === undefined ? {} : { headers: { 'Idempotency-Key': key } }) }),
  );
}

async function entries(token: string, query: string): Promise<HttpResponse> {
  return conforming('/v1/wallet/entries', 'GET', await test.http.get(`/v1/wallet/entries${query}`, { token }));
}

const cny = (amountMinor: string) => ({ currency: 'CNY', amountMinor });

describe('deposits through the payment provider webhook', () => {
  it('credits the wallet named by a signed deposit, and only that wallet', async () => {
    const alice = await signUpAndSignIn(test.http, ['backer']);
    const bob = await signUpAndSignIn(test.http, ['backer']);
    expect((await wallet(alice.token)).body).toEqual({ available: cny('0'), held: cny('0') });

    const event = depositEvent(alice.participantId, '10050');
    const applied = await sendWebhook(JSON.stringify(event));
    expect(applied.status).toBe(200);
    expect(applied.body).toEqual({ eventId: event.id, outcome: 'applied' });

    expect((await wallet(alice.token)).body).toEqual({ available: cny('10050'), held: cny('0') });
    expect((await wallet(alice.token, '?currency=CNY')).body).toEqual({ available: cny('10050'), held: cny('0') });
    expect((await wallet(alice.token, '?currency=USD')).body).toEqual({ available: { currency: 'USD', amountMinor: '0' }, held: { currency: 'USD', amountMinor: '0' } });
    expect((await wallet(bob.token)).body).toEqual({ available: cny('0'), held: cny('0') });

    const journal = await entries(alice.token, '');
    expect(journal.status).toBe(200);
    expect(journal.body).toEqual({
      items: [
        {
          sequence: 1,
          transferId: expect.any(String),
          leg: 'credit',
          availableDelta: cny('10050'),
          heldDelta: cny('0'),
          available: cny('10050'),
          held: cny('0'),
          at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
          reference: { kind: 'deposit', id: expect.any(String) },
        },
      ],
      nextCursor: null,
    });
  });

  it('holds a deposit for a participant nobody knows in suspense (200, no wallet made up) until an admin assigns or refunds it, once', async () => {
    const admin = await createPrivilegedParticipant(test, ['admin']);
    const regulator = await createPrivilegedParticipant(test, ['regulator']);
    const frank = await signUpAndSignIn(test.http, ['backer']);
    const stranger = `pt_${'ab'.repeat(14)}${String(Date.now()).slice(-4)}`;
    const toStranger = depositEvent(stranger, '7700');
    const held = await sendWebhook(JSON.stringify(toStranger));
    expect(held.status).toBe(200);
    expect(held.body).toEqual({ eventId: toStranger.id, outcome: 'held_in_suspense' });
    expect((await sendWebhook(JSON.stringify(toStranger))).body).toEqual({ eventId: toStranger.id, outcome: 'already_applied' });
    // No money in a made-up wallet (a wallet id reads as empty: wallets open on first use).
    const strangerWallet = conforming('/v1/ledger/accounts/{accountId}', 'GET', await test.http.get(`/v1/ledger/accounts/wallet:${stranger}:CNY`, { token: regulator.token }));
    expect(strangerWallet.body.available).toEqual(cny('0'));

    const list = async (token: string) => conforming('/v1/admin/suspense-deposits', 'GET', await test.http.get('/v1/admin/suspense-deposits', { token }));
    expect((await list(frank.token)).status).toBe(403);
    const listing = await list(admin.token);
    expect(listing.body).toMatchObject({ items: expect.any(Array) });
    const listed = listing.body.items.find((item: { providerEventId: string }) => item.providerEventId === toStranger.id);
    expect(listed).toMatchObject({ depositId: expect.stringMatching(/^dp_/), participantId: stranger, amount: cny('7700'), state: 'held', suspenseAccountId: expect.stringMatching(/^escrow:suspense:/) });
    expect(BigInt((await test.http.get(`/v1/ledger/accounts/${listed.suspenseAccountId}`, { token: regulator.token })).body.available.amountMinor)).toBe(7_700n);

    const resolve = async (depositId: string, body: { action: 'assign'; participantId: string } | { action: 'refund' }, token = admin.token) => {
      const template = `/v1/admin/suspense-deposits/{id}/${body.action}`;
      const payload = body.action === 'assign' ? { participantId: body.participantId } : undefined;
      return conforming(template, 'POST', await test.http.post(template.replace('{id}', depositId), payload, { token }));
    };
    expect((await resolve(listed.depositId, { action: 'assign', participantId: frank.participantId }, frank.token)).status).toBe(403);
    const assigned = await resolve(listed.depositId, { action: 'assign', participantId: frank.participantId });
    expect(assigned.status).toBe(200);
    expect(assigned.body).toMatchObject({ depositId: listed.depositId, state: 'assigned', assignedTo: frank.participantId });
    expect((await wallet(frank.token)).body.available).toEqual(cny('7700'));
    expect((await resolve(listed.depositId, { action: 'assign', participantId: frank.participantId })).status).toBe(200);
    const contrary = await resolve(listed.depositId, { action: 'refund' });
    expect(contrary.status).toBe(409);
    expect(contrary.body).toMatchObject({ code: 'ALREADY_DECIDED', decision: 'assigned' });
    expect((await wallet(frank.token)).body.available).toEqual(cny('7700'));

    const another = depositEvent(`pt_${'cd'.repeat(14)}${String(Date.now()).slice(-4)}`, '300');
    await sendWebhook(JSON.stringify(another));
    const second = (await list(admin.token)).body.items.find((item: { providerEventId: string }) => item.providerEventId === another.id);
    const refunded = await resolve(second.depositId, { action: 'refund' });
    expect(refunded.body).toMatchObject({ state: 'refunded' });
    expect(BigInt((await test.http.get(`/v1/ledger/accounts/${second.suspenseAccountId}`, { token: regulator.token })).body.available.amountMinor)).toBe(0n);
    expect((await resolve(second.depositId, { action: 'assign', participantId: frank.participantId })).body).toMatchObject({ code: 'ALREADY_DECIDED', decision: 'refunded' });
    const invariants = await test.http.get('/v1/ledger/invariants', { token: regulator.token });
    expect(invariants.body).toMatchObject({ conserved: true, negativeAccounts: [] });
  });

  it('verifies the exact bytes received: an unusual but signed encoding is applied, not re-serialized', async () => {
    const carol = await signUpAndSignIn(test.http, ['backer']);
    const eventId = newEventId();
    // Escapes, spacing and key order that JSON.stringify(JSON.parse(…)) would change.
    const participantEscaped = carol.participantId.replace(/^pt_/, '\\u0070t_');
    const body = `{ "amount" : {"amountMinor":"700", "currency":"CNY"},\n  "type":"deposit.succeeded", "participantId":"${participantEscaped}", "id":"${eventId}" }`;
    const response = await sendWebhook(body);
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ eventId, outcome: 'applied' });
    expect((await wallet(carol.token)).body.available).toEqual(cny('700'));
  });

  it('refuses forged, tampered, stale and missing signatures with 401 SIGNATURE_INVALID and moves no money', async () => {
    const dave = await signUpAndSignIn(test.http, ['backer']);
    const event = depositEvent(dave.participantId, '5000');
    const body = JSON.stringify(event);
    const signature = signPayload(new TextEncoder().encode(webhookSecret), body, Math.floor(Date.now() / 1_000));
    const attempts = [
      await sendWebhook(body, { secret: 'not-the-secret-but-long-enough-0123456789' }),
      await sendWebhook(JSON.stringify({ ...event, amount: cny('5000000') }), { signature }),
      await sendWebhook(body, { at: new Date(Date.now() - 10 * 60_000) }),
      await sendWebhook(body, { signature: 'garbage' }),
      await sendWebhook(body, { signature: null }),
    ];
    for (const attempt of attempts) {
      expect(attempt.status).toBe(401);
      expect(attempt.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
      expect(attempt.body).toMatchObject({ status: 401, code: 'SIGNATURE_INVALID' });
      expect(attempt.headers.get('www-authenticate')).toBeNull();
    }
    expect((await wallet(dave.token)).body.available).toEqual(cny('0'));
    expect((await entries(dave.token, '')).body.items).toEqual([]);
  });

  it('applies a replayed event id once and answers 200 each time', async () => {
    const erin = await signUpAndSignIn(test.http, ['backer']);
    const body = JSON.stringify(depositEvent(erin.participantId, '2500'));
    const first = await sendWebhook(body);
    const again = await sendWebhook(body);
    // A provider retry signs anew: a different signature for the same event.
    const resigned = await sendWebhook(body, { at: new Date(Date.now() - 60_000) });
    expect([first.status, again.status, resigned.status]).toEqual([200, 200, 200]);
    expect([first.body.outcome, again.body.outcome, resigned.body.outcome]).toEqual(['applied', 'already_applied', 'already_applied']);
    expect((await wallet(erin.token)).body.available).toEqual(cny('2500'));
    expect((await entries(erin.token, '')).body.items).toHaveLength(1);

    const changed = await sendWebhook(JSON.stringify({ ...JSON.parse(body), amount: cny('9999') }));
    expect(changed.status).toBe(422);
    expect(changed.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await wallet(erin.token)).body.available).toEqual(cny('2500'));
  });

  it('acknowledges event types escrow does not act on', async () => {
    const response = await sendWebhook(JSON.stringify({ id: newEventId(), type: 'payout.paid' }));
    expect(response.status).toBe(200);
    expect(response.body.outcome).toBe('ignored');
  });

  it('reads at most requestBodyBytesMax bytes, and only JSON', async () => {
    const padding = (size: number) => {
      const head = `{"id":"${newEventId()}","type":"deposit.succeeded","pad":"`;
      return `${head}${'x'.repeat(size - head.length - 2)}"}`;
    };
    // At the gateway's limit the bytes reach escrow, which refuses bodies over 16 KiB after the signature.
    const atLimit = await sendWebhook(padding(requestBodyBytesMax));
    expect(atLimit.status).toBe(413);
    expect(atLimit.body.detail).toMatch(/webhook bodies are at most/);
    const pastLimit = await sendWebhook(padding(requestBodyBytesMax + 1));
    expect(pastLimit.status).toBe(413);
    expect(pastLimit.body).toMatchObject({ code: 'PAYLOAD_TOO_LARGE', requestBodyBytesMax });
    const form = await sendWebhook('id=1', { contentType: 'application/x-www-form-urlencoded' });
    expect(form.status).toBe(400);
    expect(form.body.errors).toEqual([{ path: 'headers.content-type', message: 'expected application/json' }]);
    const notJson = await sendWebhook('{"id": ');
    expect(notJson.status).toBe(400);
    expect(notJson.body.code).toBe('INVALID_ARGUMENT');
  });
});

describe('withdrawals', () => {
  it('needs an Idempotency-Key, pays out once per key, replays the answer and refuses an overdraft', async () => {
    const frank = await signUpAndSignIn(test.http, ['solver']);
    await deposit(frank.participantId, '10000');

    const keyless = await withdraw(frank.token, cny('2500'));
    expect(keyless.status).toBe(400);
    expect(keyless.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REQUIRED', errors: [{ path: 'headers.idempotency-key', message: 'required' }] });

    // Any visible ASCII is a key (an email is a common choice): the escrow service takes what the gateway took.
    const key = `frank+${Date.now()}@example.com/withdraw`;
    const first = await withdraw(frank.token, cny('2500'), key);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ withdrawalId: expect.stringMatching(/^wd_/), state: 'completed', amount: cny('2500') });
    expect(first.headers.get('idempotent-replayed')).toBeNull();

    const replay = await withdraw(frank.token, cny('2500'), key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(first.text);

    const reused = await withdraw(frank.token, cny('1'), key);
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');

    const overdraft = await withdraw(frank.token, cny('7501'), `overdraft-${Date.now()}`);
    expect(overdraft.status).toBe(422);
    expect(overdraft.body).toMatchObject({ code: 'INSUFFICIENT_FUNDS', type: 'urn:sizhong:problem:insufficient-funds' });

    const exact = await withdraw(frank.token, cny('7500'), `exact-${Date.now()}`);
    expect(exact.status).toBe(201);
    expect((await wallet(frank.token)).body).toEqual({ available: cny('0'), held: cny('0') });
    const legs = (await entries(frank.token, '')).body.items.map((entry: { leg: string; availableDelta: unknown }) => [entry.leg, entry.availableDelta]);
    expect(legs).toEqual([
      ['debit', cny('-7500')],
      ['debit', cny('-2500')],
      ['credit', cny('10000')],
    ]);
  });

  it('keeps the same key apart for two participants', async () => {
    const grace = await signUpAndSignIn(test.http, ['backer']);
    const heidi = await signUpAndSignIn(test.http, ['backer']);
    await deposit(grace.participantId, '300');
    await deposit(heidi.participantId, '300');
    const key = `shared-${Date.now()}`;
    const fromGrace = await withdraw(grace.token, cny('100'), key);
    const fromHeidi = await withdraw(heidi.token, cny('100'), key);
    expect([fromGrace.status, fromHeidi.status]).toEqual([201, 201]);
    expect(fromGrace.body.withdrawalId).not.toBe(fromHeidi.body.withdrawalId);
  });

  it('refuses malformed amounts before calling escrow', async () => {
    const ivan = await signUpAndSignIn(test.http, ['backer']);
    for (const amount of [cny('0'), cny('-5'), cny('1.5'), cny('007'), { currency: 'EUR', amountMinor: '100' }, { currency: 'CNY', amountMinor: 100 }]) {
      const response = await withdraw(ivan.token, amount, `bad-${Date.now()}-${Math.random().toString(36).slice(2)}`);
      expect(response.status).toBe(400);
      expect(response.body.code).toBe('INVALID_ARGUMENT');
    }
    // Past int64 is "too much", not "malformed": the documented pattern stops at 9223372036854775807.
    for (const amountMinor of ['1'.repeat(21), '9223372036854775808']) {
      const tooMuch = await withdraw(ivan.token, cny(amountMinor), `much-${Date.now()}-${amountMinor.length}`);
      expect(tooMuch.body).toMatchObject({ status: 400, code: 'LIMIT_EXCEEDED', errors: [{ path: 'body.amount.amountMinor' }] });
    }
    expect((await withdraw(ivan.token, cny('9223372036854775807'), `max-${Date.now()}`)).body.code).toBe('INSUFFICIENT_FUNDS');
  });

  it('answers 401 without a token', async () => {
    const response = await test.http.post('/v1/wallet/withdrawals', { amount: cny('1') }, { headers: { 'Idempotency-Key': 'anonymous' } });
    expect(conforming('/v1/wallet/withdrawals', 'POST', response).status).toBe(401);
    expect(conforming('/v1/wallet', 'GET', await test.http.get('/v1/wallet')).status).toBe(401);
  });
});

describe('wallet entries', () => {
  it('pages newest first, at and past the page size, with sequence numbers as cursors', async () => {
    const judy = await signUpAndSignIn(test.http, ['backer']);
    for (const amountMinor of ['1', '2', '3']) await deposit(judy.participantId, amountMinor);

    const all = await entries(judy.token, '?limit=3');
    expect(all.body.items.map((entry: { sequence: number }) => entry.sequence)).toEqual([3, 2, 1]);
    expect(all.body.nextCursor).toBeNull();

    const first = await entries(judy.token, '?limit=2&currency=CNY');
    expect(first.body.items.map((entry: { availableDelta: unknown }) => entry.availableDelta)).toEqual([cny('3'), cny('2')]);
    expect(first.body.nextCursor).toEqual(expect.any(String));
    const second = await entries(judy.token, `?limit=2&cursor=${encodeURIComponent(first.body.nextCursor)}`);
    expect(second.body.items.map((entry: { sequence: number; available: unknown }) => [entry.sequence, entry.available])).toEqual([[1, cny('1')]]);
    expect(second.body.nextCursor).toBeNull();

    // Any sequence number is a position, given out or not: the page starts below it.
    const belowThree = await entries(judy.token, '?cursor=3');
    expect(belowThree.body.items.map((entry: { sequence: number }) => entry.sequence)).toEqual([2, 1]);
    const malformed = await entries(judy.token, '?cursor=bm90LWEtc2VxdWVuY2U');
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'INVALID_ARGUMENT', errors: [{ path: 'query.cursor' }] });
    const badCurrency = await entries(judy.token, '?currency=cny');
    expect(badCurrency.status).toBe(400);
    expect(badCurrency.body.errors).toEqual([expect.objectContaining({ path: 'query.currency' })]);
  });

  it('takes pageSizeMax (100) entries in one page and refuses 101', async () => {
    const kim = await signUpAndSignIn(test.http, ['backer']);
    for (let deposited = 1; deposited <= 101; deposited += 1) await deposit(kim.participantId, String(deposited));

    const full = await entries(kim.token, '?limit=100');
    expect(full.status).toBe(200);
    expect(full.body.items).toHaveLength(100);
    expect(full.body.items[0].sequence).toBe(101);
    expect(full.body.items[99].sequence).toBe(2);
    const rest = await entries(kim.token, `?limit=100&cursor=${encodeURIComponent(full.body.nextCursor)}`);
    expect(rest.body.items.map((entry: { sequence: number }) => entry.sequence)).toEqual([1]);
    expect(rest.body.nextCursor).toBeNull();

    const past = await entries(kim.token, '?limit=101');
    expect(past.status).toBe(400);
    expect(past.body).toMatchObject({ code: 'LIMIT_EXCEEDED', errors: [{ path: 'query.limit' }] });
    expect((await wallet(kim.token)).body.available).toEqual(cny(String((101 * 102) / 2)));
  }, 120_000);
});

describe('ledger invariants', () => {
  it('reports conserved money to regulators and admins, and refuses everybody else', async () => {
    const regulator = await createPrivilegedParticipant(test, ['regulator']);
    const admin = await createPrivilegedParticipant(test, ['admin']);
    const backer = await signUpAndSignIn(test.http, ['backer']);

    const report = conforming('/v1/ledger/invariants', 'GET', await test.http.get('/v1/ledger/invariants', { token: regulator.token }));
    expect(report.status).toBe(200);
    expect(report.body).toEqual({
      conserved: true,
      totalsByCurrency: expect.objectContaining({ CNY: { balances: cny('0'), inFlight: cny('0') } }),
      negativeAccounts: [],
      computedAt: expect.stringMatching(/Z$/),
    });
    expect(conforming('/v1/ledger/invariants', 'GET', await test.http.get('/v1/ledger/invariants', { token: admin.token })).status).toBe(200);

    const refused = conforming('/v1/ledger/invariants', 'GET', await test.http.get('/v1/ledger/invariants', { token: backer.token }));
    expect(refused.status).toBe(403);
    expect(refused.body.code).toBe('PERMISSION_DENIED');
    expect(conforming('/v1/ledger/invariants', 'GET', await test.http.get('/v1/ledger/invariants')).status).toBe(401);
  });
});

describe('the sandbox payment provider (npm run psp)', () => {
  function runPsp(args: readonly string[], secret = webhookSecret): Promise<Finished> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'scripts/psp.ts', ...args], {
        cwd: repositoryRootPath,
        env: cleanEnvironment({ PSP_WEBHOOK_SECRET: secret }),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
      child.on('error', reject);
      child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
    });
  }
  const lines = (stdout: string) => stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);

  it('deposits a decimal amount exactly, and a replay is applied once', async () => {
    const lena = await signUpAndSignIn(test.http, ['backer']);
    const eventId = newEventId();
    const run = await runPsp(['deposit', '--participant', lena.participantId, '--amount', '100.05', '--currency', 'CNY', '--gateway', test.url, '--event-id', eventId, '--replay']);
    expect(run.stderr).toBe('');
    expect(run.exitCode).toBe(0);
    expect(lines(run.stdout)).toEqual([
      { delivery: 1, status: 200, eventId, outcome: 'applied', participantId: lena.participantId, amount: cny('10005') },
      { delivery: 2, status: 200, eventId, outcome: 'already_applied', participantId: lena.participantId, amount: cny('10005') },
    ]);
    const again = await runPsp(['deposit', '--participant', lena.participantId, '--amount', '100.05', '--currency', 'CNY', '--gateway', test.url, '--event-id', eventId]);
    expect(again.exitCode).toBe(0);
    expect(lines(again.stdout)[0]).toMatchObject({ outcome: 'already_applied' });

    const whole = await runPsp(['deposit', '--participant', lena.participantId, '--amount', '7', '--currency', 'CNY', '--gateway', `${test.url}/`]);
    expect(whole.exitCode).toBe(0);
    expect(lines(whole.stdout)[0]).toMatchObject({ outcome: 'applied', eventId: expect.stringMatching(/^evt_/), amount: cny('700') });
    expect((await wallet(lena.token)).body.available).toEqual(cny('10705'));
  });

  it('refuses usage errors with exit code 2 and the usage text', async () => {
    for (const args of [
      [],
      ['withdraw'],
      ['deposit', '--amount', '1.00', '--currency', 'CNY'],
      ['deposit', '--participant', 'pt_x', '--amount', '1.234', '--currency', 'CNY'],
      ['deposit', '--participant', 'pt_x', '--amount', '1e3', '--currency', 'CNY'],
      ['deposit', '--participant', 'pt_x', '--amount', '0.00', '--currency', 'CNY'],
      ['deposit', '--participant', 'pt_x', '--amount', '1.00', '--currency', 'EUR'],
      ['deposit', '--participant', 'pt_x', '--amount', '1.00', '--currency', 'CNY', '--gateway', 'not a url'],
      ['deposit', '--participant', 'pt_x', '--amount', '1.00', '--currency', 'CNY', '--event-id', 'has spaces'],
      ['deposit', '--participant', 'pt_x', '--amount', '1.00', '--currency', 'CNY', '--surprise'],
    ]) {
      const run = await runPsp(args);
      expect({ args, exitCode: run.exitCode }).toEqual({ args, exitCode: 2 });
      expect(run.stderr).toContain('Usage:');
      expect(run.stdout).toBe('');
    }
    const decimals = await runPsp(['deposit', '--participant', 'pt_x', '--amount', '1.234', '--currency', 'CNY']);
    expect(decimals.stderr).toContain('--amount "1.234" has 3 decimals; CNY has 2');
  }, 60_000);

  it('exits 1 with the problem when the platform refuses, and moves no money', async () => {
    const mike = await signUpAndSignIn(test.http, ['backer']);
    const run = await runPsp(['deposit', '--participant', mike.participantId, '--amount', '5', '--currency', 'CNY', '--gateway', test.url], 'a-different-secret-of-at-least-32-characters');
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/refused event evt_\w+ with 401 SIGNATURE_INVALID/);
    expect((await wallet(mike.token)).body.available).toEqual(cny('0'));
  });
});

describe('without escrow', () => {
  it('answers 503 UNAVAILABLE with a clear problem when the gateway has no escrow address', async () => {
    const detached = await startTestGateway({ label: 'gateway-wallet-detached' });
    try {
      const backer = await signUpAndSignIn(detached.http, ['backer']);
      const regulator = await createPrivilegedParticipant(detached, ['regulator']);
      const body = JSON.stringify(depositEvent(backer.participantId, '100'));
      const signature = signPayload(new TextEncoder().encode(webhookSecret), body, Math.floor(Date.now() / 1_000));
      const answers = [
        ['/v1/wallet', 'GET', await detached.http.get('/v1/wallet', { token: backer.token })],
        ['/v1/wallet/entries', 'GET', await detached.http.get('/v1/wallet/entries', { token: backer.token })],
        ['/v1/wallet/withdrawals', 'POST', await detached.http.post('/v1/wallet/withdrawals', { amount: cny('1') }, { token: backer.token, headers: { 'Idempotency-Key': 'detached' } })],
        ['/v1/psp/webhooks', 'POST', await detached.http.request('POST', '/v1/psp/webhooks', { rawBody: body, headers: { 'content-type': 'application/json', 'sizhong-signature': signature } })],
        ['/v1/ledger/invariants', 'GET', await detached.http.get('/v1/ledger/invariants', { token: regulator.token })],
      ] as const;
      for (const [template, method, response] of answers) {
        conformance.expectConforms(template, method, response);
        expect({ template, status: response.status, code: response.body.code }).toEqual({ template, status: 503, code: 'UNAVAILABLE' });
        expect(response.body.detail).toBe('wallet and ledger operations are not available: this gateway is not connected to the escrow service');
      }
      // The withdrawal's key was released, not kept: a retry runs again.
      const retry = await detached.http.post('/v1/wallet/withdrawals', { amount: cny('1') }, { token: backer.token, headers: { 'Idempotency-Key': 'detached' } });
      expect(retry.status).toBe(503);
      expect(retry.headers.get('idempotent-replayed')).toBeNull();
      // Validation still comes first.
      expect((await detached.http.get('/v1/wallet?currency=XYZ', { token: backer.token })).status).toBe(400);
    } finally {
      await detached.close();
    }
  });

  // Last: stops the escrow service the other tests use.
  it('answers 503/504 and turns /readyz red when escrow stops', async () => {
    const nina = await signUpAndSignIn(test.http, ['backer']);
    const regulator = await createPrivilegedParticipant(test, ['regulator']);
    expect((await test.http.get('/readyz')).body).toEqual({ status: 'ready', checks: { mongo: 'up', escrow: 'up' } });

    await escrow?.stop();
    escrow = undefined;

    const ready = conforming('/readyz', 'GET', await test.http.get('/readyz'));
    expect(ready.status).toBe(503);
    expect(ready.body).toEqual({ status: 'not_ready', checks: { mongo: 'up', escrow: 'down' } });

    const body = JSON.stringify(depositEvent(nina.participantId, '100'));
    const signature = signPayload(new TextEncoder().encode(webhookSecret), body, Math.floor(Date.now() / 1_000));
    const answers = [
      ['/v1/wallet', 'GET', await test.http.get('/v1/wallet', { token: nina.token })],
      ['/v1/wallet/entries', 'GET', await test.http.get('/v1/wallet/entries', { token: nina.token })],
      ['/v1/wallet/withdrawals', 'POST', await test.http.post('/v1/wallet/withdrawals', { amount: cny('1') }, { token: nina.token, headers: { 'Idempotency-Key': 'escrow-down' } })],
      ['/v1/psp/webhooks', 'POST', await test.http.request('POST', '/v1/psp/webhooks', { rawBody: body, headers: { 'content-type': 'application/json', 'sizhong-signature': signature } })],
      ['/v1/ledger/invariants', 'GET', await test.http.get('/v1/ledger/invariants', { token: regulator.token })],
    ] as const;
    for (const [template, method, response] of answers) {
      conformance.expectConforms(template, method, response);
      expect({ template, status: [503, 504].includes(response.status), code: response.body.code }).toEqual({
        template,
        status: true,
        code: response.status === 503 ? 'UNAVAILABLE' : 'DEADLINE_EXCEEDED',
      });
      // Downstream failures never leak addresses or internals.
      expect(response.body.detail).toMatch(/^A service this request needs (is unavailable|did not answer in time)\. Try again shortly\.$/);
    }
  }, 60_000);
});
