// Proves per-IP and per-participant token buckets through real HTTP: 429 RATE_LIMITED with Retry-After, refill over time, separate buckets per participant, probes exempt.
import { ManualClock } from '@sizhong/kit';
import { signUpAndSignIn, startTestGateway, type TestGateway } from './support/test-gateway';
import { TestControls, testRoutes } from './support/test-routes';

const clock = new ManualClock('2026-05-01T00:00:00.000Z');
let perIp: TestGateway;
let perParticipant: TestGateway;

beforeAll(async () => {
  perIp = await startTestGateway({
    label: 'gateway-rate-ip',
    clock,
    routes: testRoutes(new TestControls()),
    environment: { RATE_LIMIT_IP_BURST: '3', RATE_LIMIT_IP_PER_SECOND: '1' },
  });
  perParticipant = await startTestGateway({
    label: 'gateway-rate-participant',
    clock,
    environment: { RATE_LIMIT_PARTICIPANT_BURST: '2', RATE_LIMIT_PARTICIPANT_PER_SECOND: '1' },
  });
});

afterAll(async () => {
  await perIp.close();
  await perParticipant.close();
});

describe('rate limits', () => {
  it('limits one client address to its burst, then answers 429 with Retry-After until tokens refill', async () => {
    for (let request = 0; request < 3; request += 1) expect((await perIp.http.post('/v1/test/echo', { title: 'ok' })).status).toBe(201);
    const limited = await perIp.http.post('/v1/test/echo', { title: 'too many' });
    expect(limited.status).toBe(429);
    expect(limited.headers.get('retry-after')).toBe('1');
    expect(limited.body).toMatchObject({ code: 'RATE_LIMITED', status: 429, retryAfterSeconds: 1, title: 'Rate limited' });
    // The refusal happens before the body is read or anything runs.
    expect((await perIp.http.get('/v1/me')).status).toBe(429);

    clock.advance(1_000);
    expect((await perIp.http.post('/v1/test/echo', { title: 'refilled' })).status).toBe(201);
    expect((await perIp.http.post('/v1/test/echo', { title: 'empty again' })).status).toBe(429);
  });

  it('does not limit probes, scrapes and docs', async () => {
    for (let request = 0; request < 10; request += 1) {
      expect((await perIp.http.get('/healthz')).status).toBe(200);
      expect((await perIp.http.get('/metrics')).status).toBe(200);
    }
  });

  it('gives each participant a bucket of its own', async () => {
    const first = await signUpAndSignIn(perParticipant.http, ['solver']);
    const second = await signUpAndSignIn(perParticipant.http, ['solver']);
    expect((await perParticipant.http.get('/v1/me', { token: first.token })).status).toBe(200);
    expect((await perParticipant.http.get('/v1/me', { token: first.token })).status).toBe(200);
    const limited = await perParticipant.http.get('/v1/me', { token: first.token });
    expect(limited.status).toBe(429);
    expect(limited.body.code).toBe('RATE_LIMITED');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect((await perParticipant.http.get('/v1/me', { token: second.token })).status).toBe(200);

    clock.advance(2_000);
    expect((await perParticipant.http.get('/v1/me', { token: first.token })).status).toBe(200);
  });
});
