// Proves /openapi.json is the whole truth: every express route is documented (and nothing else), and real responses — successes and problems — conform to the documented schemas (ajv, JSON Schema 2020-12).
import { createLogger, GrpcServer, ManualClock, type RunningGrpcServer } from '@sizhong/kit';
import type { Express } from 'express';
import { expressPath } from '../src/openapi/route';
import { Conformance, type OpenApi } from './support/conformance';
import { startProbeServer } from './support/probe-service';
import { createPrivilegedParticipant, type HttpResponse, signUpAndSignIn, startTestGateway, type TestGateway, testPassword, uniqueEmail } from './support/test-gateway';
import { TestControls, testRoutes } from './support/test-routes';

const logger = createLogger({ service: 'stand-in', level: 'silent' });
const clock = new ManualClock('2026-06-01T00:00:00.000Z');
const controls = new TestControls();
let test: TestGateway;
let escrow: RunningGrpcServer;
let probe: RunningGrpcServer;
let document: OpenApi;

beforeAll(async () => {
  escrow = await new GrpcServer({ logger }).start();
  probe = await startProbeServer(logger);
  controls.probeAddress = probe.address;
  test = await startTestGateway({
    label: 'gateway-openapi',
    clock,
    routes: testRoutes(controls),
    environment: { ESCROW_GRPC_ADDRESS: escrow.address, READINESS_CHECK_DEADLINE_MS: '500', RATE_LIMIT_PARTICIPANT_BURST: '40', RATE_LIMIT_PARTICIPANT_PER_SECOND: '1' },
  });
  document = (await test.http.get('/openapi.json')).body as OpenApi;
});

afterAll(async () => {
  await test.close();
  await probe.shutdown();
  await escrow.shutdown().catch(() => undefined);
});

/** `METHOD /express/:path` of every route in the app, nested routers included. */
function expressRoutes(app: Express): string[] {
  interface Layer {
    route?: { path: string; methods: Record<string, boolean> };
    handle?: { stack?: Layer[] };
  }
  const found: string[] = [];
  const walk = (stack: Layer[]) => {
    for (const layer of stack) {
      if (layer.route) {
        for (const [method, enabled] of Object.entries(layer.route.methods)) if (enabled && method !== '_all') found.push(`${method.toUpperCase()} ${layer.route.path}`);
      } else if (layer.handle?.stack) {
        walk(layer.handle.stack);
      }
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return found.sort();
}

describe('the OpenAPI document', () => {
  it('is OpenAPI 3.1 with unique operation ids and declared path parameters', () => {
    expect(document.openapi).toBe('3.1.0');
    const operationIds = Object.values(document.paths).flatMap((item) => Object.values(item).map((operation) => operation.operationId));
    expect(operationIds.every((id) => typeof id === 'string')).toBe(true);
    expect(new Set(operationIds).size).toBe(operationIds.length);
    for (const [path, item] of Object.entries(document.paths)) {
      const names = [...path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1]);
      for (const operation of Object.values(item)) {
        expect((operation.parameters ?? []).filter((parameter) => parameter.in === 'path').map((parameter) => parameter.name)).toEqual(names);
      }
    }
  });

  it('links what creates an id to the operations that use it', () => {
    type Linked = Record<string, { responses: Record<string, { links?: Record<string, { operationId: string; parameters?: Record<string, string> }> }> }>;
    const links = (path: string, method: string, status: string) =>
      Object.values((document.paths[path] as unknown as Linked)[method]?.responses[status]?.links ?? {})
        .map((link) => `${link.operationId}(${Object.entries(link.parameters ?? {}).map(([name, value]) => `${name}=${value}`).join(', ')})`)
        .sort();
    expect(links('/v1/auth/signup', 'post', '201')).toEqual(['getParticipant(id=$response.body#/participantId)', 'issueToken()']);
    expect(links('/v1/auth/token', 'post', '200')).toEqual(['getMe()']);
    expect(links('/v1/campaigns', 'post', '201')).toEqual([
      'acceptMilestone(id=$response.body#/id, n=0)',
      'failCampaignDelivery(id=$response.body#/id)',
      'getCampaign(id=$response.body#/id)',
      'launchCampaign(id=$response.body#/id)',
      'listCampaignPledges(id=$response.body#/id)',
      'placePledge(id=$response.body#/id)',
    ]);
    expect(links('/v1/campaigns/{id}/launch', 'post', '200')).toEqual(['getCampaign(id=$response.body#/id)', 'listCampaignPledges(id=$response.body#/id)', 'placePledge(id=$response.body#/id)']);
    expect(links('/v1/campaigns/{id}/pledges', 'post', '201')).toEqual([
      'cancelPledge(id=$response.body#/pledgeId)',
      'getCampaign(id=$response.body#/campaignId)',
      'getPledge(id=$response.body#/pledgeId)',
      'listCampaignPledges(id=$response.body#/campaignId)',
    ]);
    expect(links('/v1/wallet/withdrawals', 'post', '201')).toEqual(['getWallet(currency=$response.body#/amount/currency)', 'listWalletEntries(currency=$response.body#/amount/currency)']);
  });

  it('documents exactly the routes the express app serves', () => {
    const documented = Object.entries(document.paths)
      .flatMap(([path, item]) => Object.keys(item).map((method) => `${method.toUpperCase()} ${expressPath(path)}`))
      .sort();
    const served = expressRoutes(test.gateway.app);
    expect(served.length).toBeGreaterThanOrEqual(11);
    expect(served).toEqual(documented);
  });
});

describe('responses conform to the document', () => {
  let conformance: Conformance;
  const validator = (template: string, method: string, status: number, contentType: string) => {
    conformance ??= new Conformance(document);
    return conformance.validator(template, method, status, contentType);
  };
  const expectConforms = (template: string, method: string, response: HttpResponse) => {
    conformance ??= new Conformance(document);
    conformance.expectConforms(template, method, response);
  };

  it('rejects bodies that do not match (the check is not vacuous)', () => {
    const problem = validator('/v1/admin/participants/{id}', 'GET', 404, 'application/problem+json');
    expect(problem({ type: 'urn:x', title: 'Not found', status: 404, detail: 'd', code: 'NOT_FOUND', traceId: 'f'.repeat(32) })).toBe(true);
    expect(problem({ type: 'urn:x', title: 'Not found', status: 404, detail: 'd', code: 'NO_SUCH_CODE', traceId: 'f'.repeat(32) })).toBe(false);
    expect(problem({ title: 'Not found', status: 404 })).toBe(false);
    const participant = validator('/v1/admin/participants/{id}', 'GET', 200, 'application/json');
    expect(participant({ participantId: 'pt_1', email: 'a@b.co', displayName: 'A', roles: ['backer'], createdAt: 'yesterday' })).toBe(false);
    expect(() => validator('/v1/me', 'GET', 418, 'application/json')).toThrow(/not documented/);
  });

  it('for identity, admin and operations routes, successes and problems alike', async () => {
    const http = test.http;
    const email = uniqueEmail('conform');
    const signupBody = { email, password: testPassword, displayName: 'Conforming', roles: ['creator'] };
    expectConforms('/v1/auth/signup', 'POST', await http.post('/v1/auth/signup', signupBody));
    expectConforms('/v1/auth/signup', 'POST', await http.post('/v1/auth/signup', signupBody));
    expectConforms('/v1/auth/signup', 'POST', await http.post('/v1/auth/signup', { ...signupBody, email: 'nope', roles: ['admin'] }));
    expectConforms('/v1/auth/signup', 'POST', await http.request('POST', '/v1/auth/signup', { rawBody: `{"padding":"${'x'.repeat(70_000)}"}` }));
    const token = await http.post('/v1/auth/token', { email, password: testPassword });
    expectConforms('/v1/auth/token', 'POST', token);
    expectConforms('/v1/auth/token', 'POST', await http.post('/v1/auth/token', { email, password: 'wrong password here' }));
    expectConforms('/v1/me', 'GET', await http.get('/v1/me', { token: token.body.accessToken }));
    expectConforms('/v1/me', 'GET', await http.get('/v1/me'));

    const admin = await createPrivilegedParticipant(test, ['admin']);
    expectConforms('/v1/admin/participants', 'GET', await http.get('/v1/admin/participants?limit=3', { token: admin.token }));
    expectConforms('/v1/admin/participants', 'GET', await http.get('/v1/admin/participants?limit=101', { token: admin.token }));
    expectConforms('/v1/admin/participants', 'GET', await http.get('/v1/admin/participants', { token: token.body.accessToken }));
    expectConforms('/v1/admin/participants/{id}', 'GET', await http.get(`/v1/admin/participants/${admin.participantId}`, { token: admin.token }));
    expectConforms('/v1/admin/participants/{id}', 'GET', await http.get('/v1/admin/participants/pt_nobody', { token: admin.token }));

    expectConforms('/healthz', 'GET', await http.get('/healthz'));
    expectConforms('/readyz', 'GET', await http.get('/readyz'));
    expectConforms('/metrics', 'GET', await http.get('/metrics'));
    expectConforms('/openapi.json', 'GET', await http.get('/openapi.json'));
    expectConforms('/docs', 'GET', await http.get('/docs'));
    expectConforms('/', 'GET', await http.get('/'));
    await escrow.shutdown();
    expectConforms('/readyz', 'GET', await http.get('/readyz'));
  });

  it('for idempotency, rate limit and downstream outcomes', async () => {
    const http = test.http;
    const caller = await signUpAndSignIn(http, ['backer']);
    const headers = { 'Idempotency-Key': `conform-${Date.now()}` };
    expectConforms('/v1/test/slow', 'POST', await http.post('/v1/test/slow', { label: 'conform' }, { token: caller.token }));
    expectConforms('/v1/test/slow', 'POST', await http.post('/v1/test/slow', { label: 'conform' }, { token: caller.token, headers }));
    expectConforms('/v1/test/slow', 'POST', await http.post('/v1/test/slow', { label: 'conform' }, { token: caller.token, headers }));
    expectConforms('/v1/test/slow', 'POST', await http.post('/v1/test/slow', { label: 'other' }, { token: caller.token, headers }));
    const heldHeaders = { 'Idempotency-Key': `held-${Date.now()}` };
    controls.hold('conform-held');
    const held = http.post('/v1/test/slow', { label: 'conform-held' }, { token: caller.token, headers: heldHeaders });
    await controls.started('conform-held');
    expectConforms('/v1/test/slow', 'POST', await http.post('/v1/test/slow', { label: 'conform-held' }, { token: caller.token, headers: heldHeaders }));
    controls.open('conform-held');
    expectConforms('/v1/test/slow', 'POST', await held);

    for (const outcome of ['INSUFFICIENT_FUNDS', 'UNAVAILABLE', 'crash'] as const) {
      controls.plan(`conform-${outcome}`, outcome);
      expectConforms('/v1/test/outcome', 'POST', await http.post('/v1/test/outcome', { label: `conform-${outcome}` }, { token: caller.token }));
    }
    expectConforms('/v1/test/downstream', 'GET', await http.get('/v1/test/downstream', { token: caller.token }));
    expectConforms('/v1/test/downstream', 'GET', await http.get('/v1/test/downstream?raise=TIER_SOLD_OUT', { token: caller.token }));
    expectConforms('/v1/test/echo', 'POST', await http.post('/v1/test/echo', { title: 'x'.repeat(300) }));

    let limited: HttpResponse | undefined;
    for (let attempt = 0; attempt < 60 && limited === undefined; attempt += 1) {
      const response = await http.get('/v1/me', { token: caller.token });
      if (response.status === 429) limited = response;
    }
    expect(limited).toBeDefined();
    expectConforms('/v1/me', 'GET', limited as HttpResponse);
  });
});
