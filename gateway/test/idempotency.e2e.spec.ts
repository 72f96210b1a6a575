// Proves the Idempotency-Key rules through real HTTP: replay, mismatch (422), concurrent replay (409), released failures, scopes, and takeover of a crashed replica's claim after its lease.
import { ManualClock } from '@sizhong/kit';
import { idempotencyAttemptsMax, idempotencyCollectionName, idempotentResponseBytesMax } from '../src/http/idempotency';
import { idempotencyKeyLengthMax } from '../src/http/limits';
import { TestControls, testRoutes } from './support/test-routes';
import { signUpAndSignIn, startTestGateway, type TestGateway, testPassword, uniqueEmail } from './support/test-gateway';

const clock = new ManualClock('2026-04-01T00:00:00.000Z');
const controls = new TestControls();
const leaseMs = 5_000;
let test: TestGateway;
let token: string;
let otherToken: string;
let keyCounter = 0;
const newKey = () => `key-${process.pid}-${Date.now()}-${(keyCounter += 1)}`;

beforeAll(async () => {
  test = await startTestGateway({ label: 'gateway-idempotency', clock, routes: testRoutes(controls), environment: { IDEMPOTENCY_LEASE_MS: String(leaseMs) } });
  ({ token } = await signUpAndSignIn(test.http, ['backer']));
  ({ token: otherToken } = await signUpAndSignIn(test.http, ['backer']));
});

afterAll(async () => {
  await test.close();
});

const slow = (label: string, key: string | undefined, callerToken = token, extra: object = {}) =>
  test.http.post('/v1/test/slow', { label, ...extra }, { token: callerToken, headers: key === undefined ? {} : { 'Idempotency-Key': key } });

describe('Idempotency-Key', () => {
  it('is required where the route says so', async () => {
    const response = await slow('required', undefined);
    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REQUIRED', errors: [{ path: 'headers.idempotency-key' }] });
    expect(controls.executions.get('required')).toBeUndefined();
  });

  it('takes any visible ASCII up to 255 characters (an email, a path), as the IETF draft and Stripe do, and refuses spaces, non-ASCII and 256', async () => {
    const visible = Array.from({ length: 0x7e - 0x21 + 1 }, (_, index) => String.fromCharCode(0x21 + index)).join('');
    const keys = [`alice+${Date.now()}@example.com`, `orders/${Date.now()}/pay#1?x=a&y=b`, `${newKey()}${visible}${visible}${visible}`.slice(0, idempotencyKeyLengthMax)];
    for (const [index, key] of keys.entries()) {
      const first = await slow(`ascii-${index}`, key);
      expect(first.status).toBe(201);
      const again = await slow(`ascii-${index}`, key);
      expect(again.headers.get('idempotent-replayed')).toBe('true');
      expect(controls.executions.get(`ascii-${index}`)).toBe(1);
    }
    expect(idempotencyKeyLengthMax).toBe(255);
    for (const key of ['with space', 'cl\u00e9', 'tab\there']) {
      const refused = await slow('ascii-refused', key);
      expect(refused.status).toBe(400);
      expect(refused.body).toMatchObject({ code: 'INVALID_ARGUMENT', errors: [{ path: 'headers.idempotency-key' }] });
    }
    const tooLong = await slow('ascii-refused', 'k'.repeat(idempotencyKeyLengthMax + 1));
    expect(tooLong.body).toMatchObject({ code: 'LIMIT_EXCEEDED', errors: [{ path: 'headers.idempotency-key' }] });
    expect(controls.executions.get('ascii-refused')).toBeUndefined();
  });

  it('replays the first answer, with Idempotent-Replayed, without running again', async () => {
    const key = newKey();
    const first = await slow('replay', key, token, { amount: 5 });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    // The same request with its fields in another order is the same request.
    const again = await test.http.request('POST', '/v1/test/slow', { rawBody: '{"amount":5,"label":"replay"}', token, headers: { 'Idempotency-Key': key } });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.text).toBe(first.text);
    expect(controls.executions.get('replay')).toBe(1);
  });

  it('refuses the same key with a different body: 422 IDEMPOTENCY_KEY_REUSED', async () => {
    const key = newKey();
    expect((await slow('mismatch', key, token, { amount: 1 })).status).toBe(201);
    const other = await slow('mismatch', key, token, { amount: 2 });
    expect(other.status).toBe(422);
    expect(other.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED', status: 422 });
    expect(controls.executions.get('mismatch')).toBe(1);
  });

  it('scopes keys to the caller and the route', async () => {
    const key = newKey();
    expect((await slow('scope', key, token)).body.execution).toBe(1);
    const otherCaller = await slow('scope', key, otherToken);
    expect(otherCaller.status).toBe(201);
    expect(otherCaller.headers.get('idempotent-replayed')).toBeNull();
    expect(otherCaller.body.execution).toBe(2);
    const otherRoute = await test.http.post('/v1/test/outcome', { label: 'scope' }, { token, headers: { 'Idempotency-Key': key } });
    expect(otherRoute.status).toBe(201);
    expect(otherRoute.headers.get('idempotent-replayed')).toBeNull();
  });

  it('answers 409 IDEMPOTENT_REQUEST_IN_PROGRESS to a replay while the first is still running', async () => {
    const key = newKey();
    controls.hold('concurrent');
    const first = slow('concurrent', key);
    await controls.started('concurrent');
    const during = await slow('concurrent', key);
    expect(during.status).toBe(409);
    expect(during.body).toMatchObject({ code: 'IDEMPOTENT_REQUEST_IN_PROGRESS' });
    controls.open('concurrent');
    expect((await first).status).toBe(201);
    const after = await slow('concurrent', key);
    expect(after.status).toBe(201);
    expect(after.headers.get('idempotent-replayed')).toBe('true');
    expect(controls.executions.get('concurrent')).toBe(1);
  });

  it('runs a request once however many copies race for the key', async () => {
    const key = newKey();
    const answers = await Promise.all(Array.from({ length: 8 }, () => slow('race', key)));
    expect(controls.executions.get('race')).toBe(1);
    for (const answer of answers) {
      if (answer.status === 201) expect(answer.body).toEqual({ label: 'race', execution: 1 });
      else expect(answer.body.code).toBe('IDEMPOTENT_REQUEST_IN_PROGRESS');
    }
    expect(answers.filter((answer) => answer.status === 201 && answer.headers.get('idempotent-replayed') === null)).toHaveLength(1);
  });

  it('does not keep server failures: the key is released and a retry runs again', async () => {
    for (const [label, failure, status] of [
      ['released-503', 'UNAVAILABLE', 503],
      ['released-500', 'crash', 500],
      ['released-409', 'CONCURRENT_MODIFICATION', 409],
    ] as const) {
      const key = newKey();
      controls.plan(label, failure);
      const failed = await test.http.post('/v1/test/outcome', { label }, { token, headers: { 'Idempotency-Key': key } });
      expect(failed.status).toBe(status);
      const retried = await test.http.post('/v1/test/outcome', { label }, { token, headers: { 'Idempotency-Key': key } });
      expect(retried.status).toBe(201);
      expect(retried.body).toEqual({ label, execution: 2 });
      const replayed = await test.http.post('/v1/test/outcome', { label }, { token, headers: { 'Idempotency-Key': key } });
      expect(replayed.headers.get('idempotent-replayed')).toBe('true');
      expect(replayed.body).toEqual({ label, execution: 2 });
    }
  });

  it('keeps rule refusals: a 422 is replayed, not retried', async () => {
    const key = newKey();
    controls.plan('kept-422', 'INSUFFICIENT_FUNDS');
    const refused = await test.http.post('/v1/test/outcome', { label: 'kept-422' }, { token, headers: { 'Idempotency-Key': key } });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('INSUFFICIENT_FUNDS');
    const replayed = await test.http.post('/v1/test/outcome', { label: 'kept-422' }, { token, headers: { 'Idempotency-Key': key } });
    expect(replayed.status).toBe(422);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.headers.get('content-type')).toContain('application/problem+json');
    expect(replayed.text).toBe(refused.text);
    expect(controls.executions.get('kept-422')).toBe(1);
  });

  it('scopes anonymous callers by client address and replays for them too', async () => {
    const key = newKey();
    const first = await test.http.post('/v1/test/echo', { title: 'anonymous' }, { headers: { 'Idempotency-Key': key } });
    expect(first.status).toBe(201);
    const again = await test.http.post('/v1/test/echo', { title: 'anonymous' }, { headers: { 'Idempotency-Key': key } });
    expect(again.headers.get('idempotent-replayed')).toBe('true');
  });

  it('replays a sign-up without keeping the password in the clear', async () => {
    const key = newKey();
    const body = { email: uniqueEmail('idempotent'), password: testPassword, displayName: 'Once', roles: ['issuer'] };
    const first = await test.http.post('/v1/auth/signup', body, { headers: { 'Idempotency-Key': key } });
    expect(first.status).toBe(201);
    const again = await test.http.post('/v1/auth/signup', body, { headers: { 'Idempotency-Key': key } });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.participantId).toBe(first.body.participantId);
    const otherPassword = await test.http.post('/v1/auth/signup', { ...body, password: `${testPassword}!` }, { headers: { 'Idempotency-Key': key } });
    expect(otherPassword.status).toBe(422);
    const records = await test.mongo.collection(idempotencyCollectionName).find({}).toArray();
    expect(JSON.stringify(records)).not.toContain(testPassword);
  });

  it(`gives a key at most idempotencyAttemptsMax = ${idempotencyAttemptsMax} attempts`, async () => {
    const key = newKey();
    controls.plan('attempts', ...Array.from({ length: idempotencyAttemptsMax }, () => 'UNAVAILABLE' as const));
    const post = () => test.http.post('/v1/test/outcome', { label: 'attempts' }, { token, headers: { 'Idempotency-Key': key } });
    for (let attempt = 1; attempt <= idempotencyAttemptsMax; attempt += 1) expect((await post()).status).toBe(503);
    expect(controls.executions.get('attempts')).toBe(idempotencyAttemptsMax);
    const exhausted = await post();
    expect(exhausted.status).toBe(400);
    expect(exhausted.body).toMatchObject({ code: 'LIMIT_EXCEEDED', idempotencyAttemptsMax });
    expect(controls.executions.get('attempts')).toBe(idempotencyAttemptsMax);
  });

  it(`keeps responses up to idempotentResponseBytesMax = ${idempotentResponseBytesMax} bytes for replay, and releases larger ones`, async () => {
    const post = (label: string, bytes: number, key: string) => test.http.post('/v1/test/large', { label, bytes }, { token, headers: { 'Idempotency-Key': key } });
    const atLimitKey = newKey();
    const atLimit = await post('large-at', idempotentResponseBytesMax, atLimitKey);
    expect(Buffer.byteLength(atLimit.text)).toBe(idempotentResponseBytesMax);
    expect((await post('large-at', idempotentResponseBytesMax, atLimitKey)).headers.get('idempotent-replayed')).toBe('true');
    expect(controls.executions.get('large-at')).toBe(1);

    const pastLimitKey = newKey();
    expect((await post('large-past', idempotentResponseBytesMax + 1, pastLimitKey)).status).toBe(201);
    const again = await post('large-past', idempotentResponseBytesMax + 1, pastLimitKey);
    expect(again.headers.get('idempotent-replayed')).toBeNull();
    expect(controls.executions.get('large-past')).toBe(2);
  });

  it('bounds the key: charset and length', async () => {
    const atLimit = await slow('key-bounds', 'k'.repeat(idempotencyKeyLengthMax));
    expect(atLimit.status).toBe(201);
    const pastLimit = await slow('key-bounds', 'k'.repeat(idempotencyKeyLengthMax + 1));
    expect(pastLimit.status).toBe(400);
    expect(pastLimit.body).toMatchObject({ code: 'LIMIT_EXCEEDED', errors: [{ path: 'headers.idempotency-key' }] });
    const badCharacters = await slow('key-bounds', 'key with spaces');
    expect(badCharacters.status).toBe(400);
    expect(badCharacters.body).toMatchObject({ code: 'INVALID_ARGUMENT', errors: [{ path: 'headers.idempotency-key' }] });
  });
});

describe('a crashed claim', () => {
  it('blocks the key until its lease ends, then another replica takes over', async () => {
    // Replica A claims the key and never finishes (as if its process died); replica B shares the database.
    const crashedControls = new TestControls();
    const replicaA = await startTestGateway({ label: 'unused', clock, routes: testRoutes(crashedControls), databaseName: test.databaseName, environment: { IDEMPOTENCY_LEASE_MS: String(leaseMs) } });
    const key = newKey();
    crashedControls.hold('takeover');
    const stuck = replicaA.http.post('/v1/test/slow', { label: 'takeover' }, { token, headers: { 'Idempotency-Key': key } }).catch(() => undefined);
    await crashedControls.started('takeover');

    const blocked = await slow('takeover', key);
    expect(blocked.status).toBe(409);
    clock.advance(leaseMs - 1);
    expect((await slow('takeover', key)).status).toBe(409);

    clock.advance(2);
    const takenOver = await slow('takeover', key);
    expect(takenOver.status).toBe(201);
    expect(takenOver.headers.get('idempotent-replayed')).toBeNull();
    expect(controls.executions.get('takeover')).toBe(1);
    const replayed = await slow('takeover', key);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    expect(replayed.body).toEqual(takenOver.body);

    crashedControls.open('takeover');
    await stuck;
    await replicaA.close();
  });
});
