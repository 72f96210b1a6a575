// Proves sign-up, tokens and roles through real HTTP: self-service roles only, no user enumeration, expired/tampered/foreign tokens refused (401), roles enforced (403).
import { availableParallelism } from 'node:os';
import { ManualClock } from '@sizhong/kit';
import { SignJWT } from 'jose';
import { accessTokenAudience, accessTokenIssuer } from '../src/identity/access-tokens';
import { signInRefusedMessage } from '../src/identity/participants';
import { createPrivilegedParticipant, signUpAndSignIn, startTestGateway, type TestGateway, testPassword, uniqueEmail } from './support/test-gateway';

const clock = new ManualClock('2026-03-01T08:00:00.000Z');
let test: TestGateway;

beforeAll(async () => {
  test = await startTestGateway({ label: 'gateway-identity', clock, environment: { ACCESS_TOKEN_TTL_MS: '60000' } });
});

afterAll(async () => {
  await test.close();
});

describe('sign-up', () => {
  it('creates a participant, normalizes the email, and signs in with it', async () => {
    const email = uniqueEmail('Mixed.Case').replace('example.org', 'Example.ORG');
    const signup = await test.http.post('/v1/auth/signup', { email: `  ${email} `, password: testPassword, displayName: '  Ada  ', roles: ['creator', 'backer', 'creator'] });
    expect(signup.status).toBe(201);
    expect(signup.body).toEqual({ participantId: expect.stringMatching(/^pt_[0-9a-f]{32}$/) });

    const issued = await test.http.post('/v1/auth/token', { email: email.toUpperCase(), password: testPassword });
    expect(issued.status).toBe(200);
    expect(issued.body).toEqual({ accessToken: expect.any(String), tokenType: 'Bearer', expiresIn: 60 });
    expect(issued.headers.get('cache-control')).toBe('no-store');

    const me = await test.http.get('/v1/me', { token: issued.body.accessToken });
    expect(me.status).toBe(200);
    expect(me.body).toEqual({ participantId: signup.body.participantId, displayName: 'Ada', roles: ['creator', 'backer'], email: email.toLowerCase() });
  });

  it('refuses roles that only an admin may grant', async () => {
    for (const role of ['regulator', 'arbiter', 'admin']) {
      const signup = await test.http.post('/v1/auth/signup', { email: uniqueEmail(), password: testPassword, displayName: 'Sneaky', roles: ['backer', role] });
      expect(signup.status).toBe(400);
      expect(signup.body).toMatchObject({ code: 'INVALID_ARGUMENT', errors: [{ path: 'body.roles[1]', message: expect.any(String) }] });
    }
  });

  it('answers 409 ALREADY_EXISTS for a taken email, whatever its case', async () => {
    const email = uniqueEmail('taken');
    expect((await test.http.post('/v1/auth/signup', { email, password: testPassword, displayName: 'First', roles: ['solver'] })).status).toBe(201);
    const again = await test.http.post('/v1/auth/signup', { email: email.toUpperCase(), password: testPassword, displayName: 'Second', roles: ['solver'] });
    expect(again.status).toBe(409);
    expect(again.body).toMatchObject({ code: 'ALREADY_EXISTS', status: 409 });
  });

  it('lets exactly one of several concurrent sign-ups with one email win', async () => {
    const email = uniqueEmail('race');
    const attempts = await Promise.all(
      Array.from({ length: 6 }, (_, index) => test.http.post('/v1/auth/signup', { email, password: testPassword, displayName: `Racer ${index}`, roles: ['backer'] })),
    );
    expect(attempts.map((attempt) => attempt.status).sort()).toEqual([201, 409, 409, 409, 409, 409]);
  });

  it('refuses malformed input with every field named', async () => {
    const signup = await test.http.post('/v1/auth/signup', { email: 'not-an-email', password: 'short', displayName: '', roles: [] });
    expect(signup.status).toBe(400);
    expect(signup.body.code).toBe('INVALID_ARGUMENT');
    expect(signup.body.errors.map((issue: { path: string }) => issue.path).sort()).toEqual(['body.displayName', 'body.email', 'body.password', 'body.roles']);
  });
});

describe('tokens', () => {
  it('answers a wrong password and an unknown email alike', async () => {
    const { email } = await signUpAndSignIn(test.http);
    const wrongPassword = await test.http.post('/v1/auth/token', { email, password: 'not the password at all' });
    const unknownEmail = await test.http.post('/v1/auth/token', { email: uniqueEmail('nobody'), password: testPassword });
    for (const refused of [wrongPassword, unknownEmail]) {
      expect(refused.status).toBe(401);
      expect(refused.body).toMatchObject({ code: 'UNAUTHENTICATED', detail: signInRefusedMessage });
    }
    const { traceId: _first, instance: _i1, ...wrong } = wrongPassword.body;
    const { traceId: _second, instance: _i2, ...unknown } = unknownEmail.body;
    expect(wrong).toEqual(unknown);
  });

  it('takes comparable time for an unknown email and a wrong password (both hash)', async () => {
    const { email } = await signUpAndSignIn(test.http);
    const time = async (body: object) => {
      const started = process.hrtime.bigint();
      await test.http.post('/v1/auth/token', body);
      return Number(process.hrtime.bigint() - started) / 1e6;
    };
    const unknown = await time({ email: uniqueEmail('ghost'), password: testPassword });
    const wrong = await time({ email, password: 'not the password at all' });
    // Without the decoy hash an unknown email would answer in a few milliseconds.
    expect(unknown).toBeGreaterThan(wrong / 4);
  });

  it('refuses a missing, malformed, tampered, foreign-signed or expired token with 401 and a Bearer challenge', async () => {
    const { token } = await signUpAndSignIn(test.http);
    expect((await test.http.get('/v1/me', { token })).status).toBe(200);

    const [header, payload, signature] = token.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    const elevated = Buffer.from(JSON.stringify({ ...claims, roles: ['admin'] })).toString('base64url');
    const flippedSignature = `${signature.slice(0, -2)}${signature.endsWith('AA') ? 'BB' : 'AA'}`;
    const foreign = await new SignJWT({ roles: ['admin'] })
      .setProtectedHeader({ alg: 'HS256', typ: 'at+jwt' })
      .setSubject(claims.sub as string)
      .setIssuer(accessTokenIssuer)
      .setAudience(accessTokenAudience)
      .setIssuedAt(Math.floor(clock.now().getTime() / 1000))
      .setExpirationTime(Math.floor(clock.now().getTime() / 1000) + 60)
      .sign(new TextEncoder().encode('another-secret-of-at-least-32-characters'));
    const unsigned = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'at+jwt' })).toString('base64url')}.${payload}.`;

    const cases: Array<[string, Record<string, string>]> = [
      ['missing', {}],
      ['not bearer', { authorization: `Basic ${Buffer.from('a:b').toString('base64')}` }],
      ['garbage', { authorization: 'Bearer not-a-token' }],
      ['elevated payload', { authorization: `Bearer ${header}.${elevated}.${signature}` }],
      ['flipped signature', { authorization: `Bearer ${header}.${payload}.${flippedSignature}` }],
      ['foreign key', { authorization: `Bearer ${foreign}` }],
      ['alg none', { authorization: `Bearer ${unsigned}` }],
    ];
    for (const [name, headers] of cases) {
      const response = await test.http.get('/v1/me', { headers });
      expect({ name, status: response.status, code: response.body.code }).toEqual({ name, status: 401, code: 'UNAUTHENTICATED' });
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer realm="sizhong"/);
    }

    clock.advance(60_000 + 5_000 + 1_000);
    const expired = await test.http.get('/v1/me', { token });
    expect(expired.status).toBe(401);
    expect(expired.body).toMatchObject({ code: 'UNAUTHENTICATED', detail: 'the access token has expired' });
    expect(expired.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });

  it('keeps a token valid until its expiry, within the clock tolerance', async () => {
    const { token } = await signUpAndSignIn(test.http);
    clock.advance(60_000 + 4_000);
    expect((await test.http.get('/v1/me', { token })).status).toBe(200);
    clock.advance(2_000);
    expect((await test.http.get('/v1/me', { token })).status).toBe(401);
  });
});

describe('sign-in under load', () => {
  it('answers each of 200 concurrent sign-ins, none dropped: as many as the hashing queue holds succeed, the rest 503 UNAVAILABLE with Retry-After at once', async () => {
    const email = uniqueEmail('crowd');
    expect((await test.http.post('/v1/auth/signup', { email, password: testPassword, displayName: 'Crowd', roles: ['backer'] })).status).toBe(201);
    const answers = await Promise.all(
      Array.from({ length: 200 }, () =>
        test.http.post('/v1/auth/token', { email, password: testPassword }).then(
          (response) => ({ status: response.status, retryAfter: response.headers.get('retry-after'), code: response.body?.code as string | undefined }),
          (error: unknown) => ({ status: 0, retryAfter: null, code: `dropped: ${(error as Error).message}` }),
        ),
      ),
    );
    expect(answers.filter((answer) => answer.status === 0)).toEqual([]);
    const succeeded = answers.filter((answer) => answer.status === 200).length;
    const refused = answers.filter((answer) => answer.status === 503);
    expect(succeeded + refused.length).toBe(200);
    expect(succeeded).toBeGreaterThanOrEqual(availableParallelism());
    expect(refused.length).toBeGreaterThan(0);
    for (const answer of refused) expect(answer).toMatchObject({ code: 'UNAVAILABLE', retryAfter: expect.stringMatching(/^[1-9]\d*$/) });
    // Once the crowd is gone, signing in works as ever.
    expect((await test.http.post('/v1/auth/token', { email, password: testPassword })).status).toBe(200);
  });
});

describe('roles', () => {
  it('answers 403 PERMISSION_DENIED to a role the route does not allow, and serves the admin', async () => {
    const signedUpAt = clock.now().toISOString();
    const backer = await signUpAndSignIn(test.http, ['backer']);
    const regulator = await createPrivilegedParticipant(test, ['regulator']);
    const admin = await createPrivilegedParticipant(test, ['admin']);

    for (const caller of [backer, regulator]) {
      const refused = await test.http.get(`/v1/admin/participants/${backer.participantId}`, { token: caller.token });
      expect(refused.status).toBe(403);
      expect(refused.body).toMatchObject({ code: 'PERMISSION_DENIED', detail: 'this operation is for: admin' });
    }
    const anonymous = await test.http.get(`/v1/admin/participants/${backer.participantId}`);
    expect(anonymous.status).toBe(401);

    const seen = await test.http.get(`/v1/admin/participants/${backer.participantId}`, { token: admin.token });
    expect(seen.status).toBe(200);
    expect(seen.body).toEqual({ participantId: backer.participantId, email: backer.email, displayName: 'Test Participant', roles: ['backer'], createdAt: signedUpAt });
    expect(seen.body).not.toHaveProperty('passwordHash');

    const missing = await test.http.get('/v1/admin/participants/pt_00000000000000000000000000000000', { token: admin.token });
    expect(missing.status).toBe(404);
    expect(missing.body.code).toBe('NOT_FOUND');
  });

  it('pages through participants with limit and cursor', async () => {
    const admin = await createPrivilegedParticipant(test, ['admin']);
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const query: string = cursor ? `?limit=2&cursor=${cursor}` : '?limit=2';
      const page = await test.http.get(`/v1/admin/participants${query}`, { token: admin.token });
      expect(page.status).toBe(200);
      expect(page.body.items.length).toBeLessThanOrEqual(2);
      seen.push(...page.body.items.map((item: { participantId: string }) => item.participantId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(seen).toEqual([...seen].sort());
    expect(new Set(seen).size).toBe(seen.length);
    expect(seen).toContain(admin.participantId);

    const badCursor = await test.http.get('/v1/admin/participants?cursor=bm90LWFuLWlk', { token: admin.token });
    expect(badCursor.status).toBe(400);
    expect(badCursor.body.code).toBe('INVALID_ARGUMENT');
  });
});
