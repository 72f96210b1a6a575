// Proves the operations routes through real HTTP: /healthz, /readyz red while a real downstream gRPC server is stopped and green when it returns, /metrics by route template, /docs and / served offline under a strict CSP, and security headers.
import { createLogger, GrpcServer, type RunningGrpcServer } from '@sizhong/kit';
import { startTestGateway, type TestGateway } from './support/test-gateway';

const logger = createLogger({ service: 'escrow-stand-in', level: 'silent' });
let escrow: RunningGrpcServer | undefined;
let escrowPort: number;
let test: TestGateway;

/** A real kit gRPC server (health service only) standing in for escrow, on a port we can reuse. */
async function startEscrow(port = 0): Promise<RunningGrpcServer> {
  return new GrpcServer({ logger, port }).start();
}

beforeAll(async () => {
  escrow = await startEscrow();
  escrowPort = escrow.port;
  test = await startTestGateway({
    label: 'gateway-operations',
    environment: { ESCROW_GRPC_ADDRESS: escrow.address, READINESS_CHECK_DEADLINE_MS: '500' },
  });
});

afterAll(async () => {
  await escrow?.shutdown();
  await test.close();
});

describe('operations', () => {
  it('answers /healthz', async () => {
    const response = await test.http.get('/healthz');
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ status: 'ok' });
  });

  it('turns /readyz red while escrow is stopped and green when it returns', async () => {
    const ready = await test.http.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', checks: { mongo: 'up', escrow: 'up' } });

    await escrow?.shutdown();
    escrow = undefined;
    const started = Date.now();
    const down = await test.http.get('/readyz');
    expect(down.status).toBe(503);
    expect(down.body).toEqual({ status: 'not_ready', checks: { mongo: 'up', escrow: 'down' } });
    expect(Date.now() - started).toBeLessThan(3_000);

    escrow = await startEscrow(escrowPort);
    let back = await test.http.get('/readyz');
    for (let attempt = 0; attempt < 20 && back.status !== 200; attempt += 1) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      back = await test.http.get('/readyz');
    }
    expect(back.status).toBe(200);
    expect(back.body).toEqual({ status: 'ready', checks: { mongo: 'up', escrow: 'up' } });
  });

  it('reports a database it cannot reach', async () => {
    const detached = await startTestGateway({ label: 'gateway-operations-db', environment: { READINESS_CHECK_DEADLINE_MS: '300' } });
    await detached.mongo.db.dropDatabase();
    await detached.mongo.close();
    const response = await detached.http.get('/readyz');
    expect(response.status).toBe(503);
    expect(response.body).toEqual({ status: 'not_ready', checks: { mongo: 'down' } });
    await detached.close();
  });

  it('exposes Prometheus metrics by route template, never by raw path', async () => {
    await test.http.get('/healthz');
    await test.http.get('/v1/admin/participants/pt_123');
    await test.http.get('/v1/nothing/here/42');
    const response = await test.http.get('/metrics');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(response.text).toMatch(/http_requests_total\{method="GET",route="\/healthz",status="200",service="gateway"\} \d+/);
    expect(response.text).toContain('route="/v1/admin/participants/{id}",status="401"');
    expect(response.text).toContain('route="unmatched",status="404"');
    expect(response.text).not.toContain('pt_123');
    expect(response.text).toContain('http_request_duration_seconds_bucket');
    expect(response.text).toContain('process_cpu_user_seconds_total');
  });

  it('serves the API reference from local assets only', async () => {
    const page = await test.http.get('/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toContain('text/html');
    expect(page.text).not.toMatch(/https?:\/\//);
    const sources = [...page.text.matchAll(/(?:src|href)="([^"]+)"/g)].map((match) => match[1] as string);
    expect(sources).toEqual(expect.arrayContaining(['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css', '/docs/assets/sizhong-docs.js']));
    for (const source of sources) {
      const asset = await test.http.get(source);
      expect({ source, status: asset.status }).toEqual({ source, status: 200 });
    }
    const initializer = await test.http.get('/docs/assets/sizhong-docs.js');
    expect(initializer.headers.get('content-type')).toContain('javascript');
    expect(initializer.text).toContain("url: '/openapi.json'");
    expect(initializer.text).toContain('validatorUrl: null');
    expect((await test.http.get('/docs/assets/index.html')).status).toBe(404);
  });

  it('serves the console page and its assets', async () => {
    const page = await test.http.get('/');
    expect(page.status).toBe(200);
    expect(page.text).toContain('<a href="/docs">');
    expect(page.text).not.toMatch(/<script>[^<]/);
    expect((await test.http.get('/console/assets/console.js')).status).toBe(200);
    expect((await test.http.get('/console/assets/console.css')).status).toBe(200);
  });

  it('sends security headers with a CSP that allows only our own scripts', async () => {
    const response = await test.http.get('/docs');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'self'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toMatch(/script-src[^;]*unsafe/);
    expect(csp).toContain("frame-ancestors 'none'");
    expect(csp).toContain("object-src 'none'");
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(response.headers.get('strict-transport-security')).toContain('max-age=');
    expect(response.headers.get('x-powered-by')).toBeNull();
    const api = await test.http.get('/v1/me');
    expect(api.headers.get('cache-control')).toBe('no-store');
  });
});
