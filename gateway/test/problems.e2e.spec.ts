// Proves problem+json answers through real HTTP: the RFC 9457 shape and stable codes, the gRPC status + code → HTTP table over a real gRPC call, hidden internals with a logged trace id, and one trace from HTTP into gRPC carrying the caller identity.
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { createLogger, errorCodes, type RunningGrpcServer, startTelemetry, type Telemetry } from '@sizhong/kit';
import { httpStatusByErrorCode } from '../src/http/error-mapping';
import { startProbeServer } from './support/probe-service';
import { signUpAndSignIn, startTestGateway, type TestGateway } from './support/test-gateway';
import { TestControls, testRoutes } from './support/test-routes';

const spans = new InMemorySpanExporter();
let telemetry: Telemetry;
const controls = new TestControls();
let test: TestGateway;
let probe: RunningGrpcServer;
let caller: { participantId: string; token: string };

beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: 'gateway-test', spanProcessors: [new SimpleSpanProcessor(spans)] });
  probe = await startProbeServer(createLogger({ service: 'probe', level: 'silent' }));
  controls.probeAddress = probe.address;
  test = await startTestGateway({ label: 'gateway-problems', routes: testRoutes(controls) });
  caller = await signUpAndSignIn(test.http, ['investor', 'backer']);
});

afterAll(async () => {
  await test.close();
  await probe.shutdown();
  await telemetry.shutdown();
});

const traceIdPattern = /^[0-9a-f]{32}$/;

describe('problem details', () => {
  it('answers an unknown route with the full RFC 9457 shape', async () => {
    const response = await test.http.get('/v1/no/such/thing');
    expect(response.status).toBe(404);
    expect(response.headers.get('content-type')).toBe('application/problem+json; charset=utf-8');
    expect(response.body).toEqual({
      type: 'urn:sizhong:problem:not-found',
      title: 'Not found',
      status: 404,
      detail: 'no route for GET /v1/no/such/thing',
      code: 'NOT_FOUND',
      traceId: expect.stringMatching(traceIdPattern),
      instance: '/v1/no/such/thing',
    });
  });

  it('answers a declared path called with an undeclared method with 405 METHOD_NOT_ALLOWED and Allow, before authentication', async () => {
    for (const [method, path, allow] of [
      ['DELETE', '/v1/me', 'GET, HEAD, OPTIONS'],
      ['PUT', '/v1/campaigns/cp_anything', 'GET, HEAD, OPTIONS'],
      ['GET', '/v1/auth/signup', 'POST, OPTIONS'],
      ['PATCH', '/v1/campaigns', 'GET, HEAD, POST, OPTIONS'],
      ['POST', '/healthz', 'GET, HEAD, OPTIONS'],
    ] as const) {
      const response = await test.http.request(method, path);
      expect({ method, path, status: response.status, allow: response.headers.get('allow'), contentType: response.headers.get('content-type') }).toEqual({
        method,
        path,
        status: 405,
        allow,
        contentType: 'application/problem+json; charset=utf-8',
      });
      expect(response.body).toEqual({
        type: 'urn:sizhong:problem:method-not-allowed',
        title: 'Method not allowed',
        status: 405,
        detail: expect.stringContaining(`does not take ${method}`),
        code: 'METHOD_NOT_ALLOWED',
        traceId: expect.stringMatching(traceIdPattern),
        instance: path,
      });
    }
    const options = await test.http.request('OPTIONS', '/v1/campaigns/cp_anything/pledges');
    expect({ status: options.status, allow: options.headers.get('allow'), text: options.text }).toEqual({ status: 204, allow: 'GET, HEAD, POST, OPTIONS', text: '' });
    const head = await test.http.request('HEAD', '/healthz');
    expect({ status: head.status, text: head.text }).toEqual({ status: 200, text: '' });
    // Paths nobody declared stay 404, whatever the method.
    expect((await test.http.request('DELETE', '/v1/no/such/thing')).status).toBe(404);
    expect((await test.http.request('OPTIONS', '/v1/no/such/thing')).status).toBe(404);
    // The metrics name the template, as for every other answer on a declared path.
    expect((await test.http.get('/metrics')).text).toContain('http_requests_total{method="DELETE",route="/v1/me",status="405"');
  });

  it('answers malformed JSON and a non-JSON body with 400 INVALID_ARGUMENT', async () => {
    const malformed = await test.http.request('POST', '/v1/test/echo', { rawBody: '{"title": ' });
    expect(malformed.status).toBe(400);
    expect(malformed.body).toMatchObject({ code: 'INVALID_ARGUMENT', errors: [{ path: 'body', message: 'not valid JSON' }] });
    const text = await test.http.request('POST', '/v1/test/echo', { rawBody: 'title=x', headers: { 'content-type': 'application/x-www-form-urlencoded' } });
    expect(text.status).toBe(400);
    expect(text.body).toMatchObject({ code: 'INVALID_ARGUMENT', errors: [{ path: 'headers.content-type' }] });
    const missing = await test.http.request('POST', '/v1/test/echo', {});
    expect(missing.status).toBe(400);
  });

  it('hides unexpected errors behind a generic 500 and logs them with the trace id', async () => {
    controls.plan('crash', 'crash');
    const response = await test.http.post('/v1/test/outcome', { label: 'crash' }, { token: caller.token });
    expect(response.status).toBe(500);
    expect(response.body).toMatchObject({ code: 'INTERNAL', title: 'Internal', detail: expect.stringContaining('trace id') });
    expect(response.text).not.toContain('hunter2');
    const logged = test.logs.find((line) => line.msg === 'unexpected error while handling a request' && line.traceId === response.body.traceId);
    expect(logged).toBeDefined();
    expect(JSON.stringify(logged)).toContain('hunter2');
  });

  it('maps every error code raised by a real gRPC service to its HTTP status, keeping the code', async () => {
    for (const code of errorCodes) {
      const response = await test.http.get(`/v1/test/downstream?raise=${code}`, { token: caller.token });
      expect({ code, status: response.status, answered: response.body.code }).toEqual({ code, status: httpStatusByErrorCode[code], answered: code });
      expect(response.headers.get('content-type')).toContain('application/problem+json');
      if (response.status < 500) {
        // The service's message and facts reach the client; for 5xx they do not.
        expect(response.body).toMatchObject({ detail: `refused with ${code}`, hint: 'details travel too' });
      } else {
        expect(response.body.detail).not.toContain('refused with');
        expect(response.body).not.toHaveProperty('hint');
      }
    }
  });

  it('answers 503 UNAVAILABLE when the downstream service is gone', async () => {
    const address = controls.probeAddress;
    controls.probeAddress = '127.0.0.1:1';
    const response = await test.http.get('/v1/test/downstream', { token: caller.token });
    controls.probeAddress = address;
    expect([503, 504]).toContain(response.status);
    expect(['UNAVAILABLE', 'DEADLINE_EXCEEDED']).toContain(response.body.code);
    expect(response.body.detail).not.toContain('127.0.0.1');
  });
});

describe('tracing and caller identity', () => {
  it('continues an incoming traceparent through the gateway into the gRPC service, with the caller identity', async () => {
    spans.reset();
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const response = await test.http.get('/v1/test/downstream', { token: caller.token, headers: { traceparent: `00-${traceId}-00f067aa0ba902b7-01` } });
    expect(response.status).toBe(200);
    expect(response.body).toEqual({ participantId: caller.participantId, roles: ['investor', 'backer'], traceId });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const finished = spans.getFinishedSpans();
    const serverSpan = finished.find((span) => span.name === 'GET /v1/test/downstream');
    const grpcServerSpan = finished.find((span) => span.name === '/sizhong.testing.v1.GatewayProbe/WhoAmI' && span.kind === 1);
    expect(serverSpan?.spanContext().traceId).toBe(traceId);
    expect(serverSpan?.attributes['http.route']).toBe('/v1/test/downstream');
    expect(grpcServerSpan?.spanContext().traceId).toBe(traceId);
  });

  it('starts a new trace without traceparent and puts its id in problems and logs', async () => {
    const response = await test.http.get('/v1/test/downstream?raise=NOT_FOUND', { token: caller.token });
    expect(response.body.traceId).toMatch(traceIdPattern);
    const line = test.logs.find((entry) => entry.msg === 'request' && entry.traceId === response.body.traceId);
    expect(line).toMatchObject({ route: '/v1/test/downstream', status: 404, participantId: caller.participantId });
  });
});
