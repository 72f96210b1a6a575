// Proves the regulator-read audit log: a route that calls regulatorReads.recordIfRegulator records
// regulators' reads (and nobody else's), admins page through them newest first, others get 403.
import { z } from '../src/openapi/zod';
import { createPrivilegedParticipant, signUpAndSignIn, startTestGateway, type TestGateway } from './support/test-gateway';

describe('regulator-read audit log', () => {
  let test: TestGateway;

  beforeAll(async () => {
    test = await startTestGateway({
      label: 'regulator-reads',
      routes: (routes, services) =>
        routes.define(
          {
            method: 'get',
            path: '/v1/test/profiles/{id}',
            operationId: 'testReadProfile',
            summary: 'a read that is audited',
            tags: ['test'],
            access: 'authenticated',
            request: { params: z.object({ id: z.string() }) },
            responses: { 200: { description: 'ok', schema: z.object({ id: z.string() }) } },
          },
          async ({ params }, { identity, request, traceId }) => {
            await services.regulatorReads.recordIfRegulator(identity, { route: 'GET /v1/test/profiles/{id}', subject: { kind: 'test-profile', id: params.id }, path: request.originalUrl, traceId });
            return { status: 200, body: { id: params.id } };
          },
        ),
    });
  });
  afterAll(async () => test.close());

  it('records reads by regulators only, and shows them to admins newest first', async () => {
    const regulator = await createPrivilegedParticipant(test, ['regulator']);
    const admin = await createPrivilegedParticipant(test, ['admin']);
    const backer = await signUpAndSignIn(test.http, ['backer']);
    for (const id of ['p1', 'p2', 'p3']) expect((await test.http.get(`/v1/test/profiles/${id}`, { token: regulator.token })).status).toBe(200);
    expect((await test.http.get('/v1/test/profiles/p9', { token: backer.token })).status).toBe(200);

    const first = await test.http.get('/v1/audit/regulator-reads?limit=2', { token: admin.token });
    expect(first.status).toBe(200);
    expect(first.body.items.map((item: { subject: { id: string } }) => item.subject.id)).toEqual(['p3', 'p2']);
    expect(first.body.items[0]).toMatchObject({ regulatorId: regulator.participantId, route: 'GET /v1/test/profiles/{id}', subject: { kind: 'test-profile', id: 'p3' }, path: '/v1/test/profiles/p3' });
    const second = await test.http.get(`/v1/audit/regulator-reads?limit=2&cursor=${first.body.nextCursor}`, { token: admin.token });
    expect(second.body).toMatchObject({ items: [{ subject: { id: 'p1' } }], nextCursor: null });

    expect((await test.http.get('/v1/audit/regulator-reads', { token: regulator.token })).status).toBe(403);
    expect((await test.http.get('/v1/audit/regulator-reads', { token: backer.token })).status).toBe(403);
  });
});
