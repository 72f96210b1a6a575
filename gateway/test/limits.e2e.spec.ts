// Proves every named limit through real HTTP, each at its bound (accepted) and one past it (refused with the documented code).
import {
  arrayItemsMax,
  bearerTokenLengthMax,
  displayNameLengthMax,
  emailLengthMax,
  idempotencyKeyLengthMax,
  pageSizeMax,
  passwordLengthMax,
  passwordLengthMin,
  pathIdLengthMax,
  requestBodyBytesMax,
  rolesPerParticipantMax,
  textLengthMax,
  titleLengthMax,
} from '../src/http/limits';
import { createPrivilegedParticipant, startTestGateway, type TestGateway, testPassword, uniqueEmail } from './support/test-gateway';
import { TestControls, testRoutes } from './support/test-routes';

let test: TestGateway;
let adminToken: string;

beforeAll(async () => {
  test = await startTestGateway({ label: 'gateway-limits', routes: testRoutes(new TestControls()) });
  ({ token: adminToken } = await createPrivilegedParticipant(test, ['admin']));
});

afterAll(async () => {
  await test.close();
});

/** A JSON body of exactly `bytes` bytes: the title plus an ignored padding field. */
function bodyOfBytes(bytes: number): string {
  const prefix = '{"title":"padded","padding":"';
  const suffix = '"}';
  return `${prefix}${'x'.repeat(bytes - prefix.length - suffix.length)}${suffix}`;
}

const signup = (overrides: Record<string, unknown>) =>
  test.http.post('/v1/auth/signup', { email: uniqueEmail(), password: testPassword, displayName: 'Bounded', roles: ['backer'], ...overrides });

function expectRefused(response: { status: number; body: { code: string; errors?: Array<{ path: string }> } }, code: string, path?: string) {
  expect(response.status).toBe(code === 'PAYLOAD_TOO_LARGE' ? 413 : 400);
  expect(response.body.code).toBe(code);
  if (path) expect(response.body.errors?.map((issue) => issue.path)).toContain(path);
}

describe('limits', () => {
  it(`requestBodyBytesMax = ${requestBodyBytesMax}`, async () => {
    const atLimit = bodyOfBytes(requestBodyBytesMax);
    expect(Buffer.byteLength(atLimit)).toBe(requestBodyBytesMax);
    expect((await test.http.request('POST', '/v1/test/echo', { rawBody: atLimit })).status).toBe(201);
    const pastLimit = await test.http.request('POST', '/v1/test/echo', { rawBody: bodyOfBytes(requestBodyBytesMax + 1) });
    expectRefused(pastLimit, 'PAYLOAD_TOO_LARGE');
    expect(pastLimit.headers.get('content-type')).toContain('application/problem+json');
  });

  it(`titleLengthMax = ${titleLengthMax}`, async () => {
    expect((await test.http.post('/v1/test/echo', { title: 't'.repeat(titleLengthMax) })).status).toBe(201);
    expectRefused(await test.http.post('/v1/test/echo', { title: 't'.repeat(titleLengthMax + 1) }), 'LIMIT_EXCEEDED', 'body.title');
  });

  it(`textLengthMax = ${textLengthMax}`, async () => {
    expect((await test.http.post('/v1/test/echo', { title: 't', text: 'x'.repeat(textLengthMax) })).status).toBe(201);
    expectRefused(await test.http.post('/v1/test/echo', { title: 't', text: 'x'.repeat(textLengthMax + 1) }), 'LIMIT_EXCEEDED', 'body.text');
  });

  it(`arrayItemsMax = ${arrayItemsMax}`, async () => {
    const atLimit = await test.http.post('/v1/test/echo', { title: 't', items: Array.from({ length: arrayItemsMax }, () => 'i') });
    expect(atLimit.status).toBe(201);
    expect(atLimit.body.itemCount).toBe(arrayItemsMax);
    expectRefused(await test.http.post('/v1/test/echo', { title: 't', items: Array.from({ length: arrayItemsMax + 1 }, () => 'i') }), 'LIMIT_EXCEEDED', 'body.items');
  });

  it(`pageSizeMax = ${pageSizeMax}`, async () => {
    expect((await test.http.get(`/v1/admin/participants?limit=${pageSizeMax}`, { token: adminToken })).status).toBe(200);
    expectRefused(await test.http.get(`/v1/admin/participants?limit=${pageSizeMax + 1}`, { token: adminToken }), 'LIMIT_EXCEEDED', 'query.limit');
    expectRefused(await test.http.get('/v1/admin/participants?limit=0', { token: adminToken }), 'INVALID_ARGUMENT', 'query.limit');
    expectRefused(await test.http.get('/v1/admin/participants?limit=ten', { token: adminToken }), 'INVALID_ARGUMENT', 'query.limit');
  });

  it('takes integers in decimal digits only (limit=1e1, " 5" and 5.0 are not integers)', async () => {
    expect((await test.http.get('/v1/admin/participants?limit=10', { token: adminToken })).status).toBe(200);
    for (const limit of ['1e1', '%205', '5.0', '0x5', '']) {
      expectRefused(await test.http.get(`/v1/admin/participants?limit=${limit}`, { token: adminToken }), 'INVALID_ARGUMENT', 'query.limit');
    }
  });

  it('takes as cursor any position of the documented form, given out or not', async () => {
    // A participant id never issued is still a place in id order: the page starts after it.
    const between = await test.http.get(`/v1/admin/participants?cursor=pt_${'0'.repeat(32)}`, { token: adminToken });
    expect(between.status).toBe(200);
    const pastEverything = await test.http.get(`/v1/admin/participants?cursor=pt_${'f'.repeat(32)}`, { token: adminToken });
    expect(pastEverything.body).toEqual({ items: [], nextCursor: null });
    expectRefused(await test.http.get('/v1/admin/participants?cursor=bm90LWFuLWlk', { token: adminToken }), 'INVALID_ARGUMENT', 'query.cursor');
  });

  it(`idempotencyKeyLengthMax = ${idempotencyKeyLengthMax}`, async () => {
    const post = (key: string) => test.http.post('/v1/test/echo', { title: 'keyed' }, { headers: { 'Idempotency-Key': key } });
    expect((await post('k'.repeat(idempotencyKeyLengthMax))).status).toBe(201);
    expectRefused(await post('k'.repeat(idempotencyKeyLengthMax + 1)), 'LIMIT_EXCEEDED', 'headers.idempotency-key');
  });

  it(`emailLengthMax = ${emailLengthMax}`, async () => {
    const email = (length: number) => {
      const local = `a${Date.now()}${Math.random().toString(36).slice(2, 8)}`;
      return `${local}@${'b'.repeat(length - local.length - 1 - '.org'.length)}.org`;
    };
    expect(email(emailLengthMax)).toHaveLength(emailLengthMax);
    expect((await signup({ email: email(emailLengthMax) })).status).toBe(201);
    expectRefused(await signup({ email: email(emailLengthMax + 1) }), 'LIMIT_EXCEEDED', 'body.email');
  });

  it(`passwordLengthMin = ${passwordLengthMin}, passwordLengthMax = ${passwordLengthMax}`, async () => {
    expect((await signup({ password: 'p'.repeat(passwordLengthMin) })).status).toBe(201);
    expectRefused(await signup({ password: 'p'.repeat(passwordLengthMin - 1) }), 'INVALID_ARGUMENT', 'body.password');
    expect((await signup({ password: 'p'.repeat(passwordLengthMax) })).status).toBe(201);
    expectRefused(await signup({ password: 'p'.repeat(passwordLengthMax + 1) }), 'LIMIT_EXCEEDED', 'body.password');
  });

  it('counts lengths in characters (code points), as the document does, not in UTF-16 units', async () => {
    // Each teapot is one code point and two UTF-16 units.
    expect((await signup({ password: '🫖'.repeat(passwordLengthMax) })).status).toBe(201);
    expectRefused(await signup({ password: '🫖'.repeat(passwordLengthMax + 1) }), 'LIMIT_EXCEEDED', 'body.password');
    expectRefused(await signup({ password: '🫖'.repeat(passwordLengthMin - 1) }), 'INVALID_ARGUMENT', 'body.password');
    expect((await signup({ displayName: '🫖'.repeat(displayNameLengthMax) })).status).toBe(201);
  });

  it(`displayNameLengthMax = ${displayNameLengthMax}`, async () => {
    expect((await signup({ displayName: 'd'.repeat(displayNameLengthMax) })).status).toBe(201);
    expectRefused(await signup({ displayName: 'd'.repeat(displayNameLengthMax + 1) }), 'LIMIT_EXCEEDED', 'body.displayName');
    expectRefused(await signup({ displayName: ' \u3000\t' }), 'INVALID_ARGUMENT', 'body.displayName');
  });

  it(`rolesPerParticipantMax = ${rolesPerParticipantMax}`, async () => {
    const all = ['enterprise', 'solver', 'creator', 'backer', 'investor', 'issuer'];
    expect(all).toHaveLength(rolesPerParticipantMax);
    expect((await signup({ roles: all })).status).toBe(201);
    expectRefused(await signup({ roles: [...all, 'backer'] }), 'LIMIT_EXCEEDED', 'body.roles');
  });

  it(`pathIdLengthMax = ${pathIdLengthMax}`, async () => {
    const atLimit = await test.http.get(`/v1/admin/participants/${'p'.repeat(pathIdLengthMax)}`, { token: adminToken });
    expect(atLimit.status).toBe(404);
    expectRefused(await test.http.get(`/v1/admin/participants/${'p'.repeat(pathIdLengthMax + 1)}`, { token: adminToken }), 'LIMIT_EXCEEDED', 'params.id');
  });

  it(`bearerTokenLengthMax = ${bearerTokenLengthMax}`, async () => {
    const atLimit = await test.http.get('/v1/me', { headers: { authorization: `Bearer ${'a'.repeat(bearerTokenLengthMax)}` } });
    expect(atLimit.status).toBe(401);
    expect(atLimit.body.detail).toBe('the access token is not valid');
    const pastLimit = await test.http.get('/v1/me', { headers: { authorization: `Bearer ${'a'.repeat(bearerTokenLengthMax + 1)}` } });
    expect(pastLimit.status).toBe(401);
    expect(pastLimit.body.detail).toBe('the Authorization header must be "Bearer <token>"');
  });
});
