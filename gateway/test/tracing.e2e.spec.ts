// Proves that one user request is one trace across the platform: a pledge sent over HTTP with the
// caller's traceparent → the gateway's HTTP span → its gRPC client span → escrow's gRPC server span
// → the PledgePlaced event through the outbox and the real Kafka broker → credit's consumer span,
// each span the child of the one before, all under the caller's trace id.
import { SpanKind } from '@opentelemetry/api';
import { InMemorySpanExporter, type ReadableSpan, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { connectMongo, createLogger, loadConfig, startTelemetry, type Telemetry } from '@sizhong/kit';
import { testDatabaseName, testInfrastructure, testTopicPrefix } from '@sizhong/testkit';
import { creditConfigShape } from '../../services/credit/src/config';
import { type RunningCredit, startCredit } from '../../services/credit/src/credit-service';
import { signPayload } from '../../services/escrow/src/app/payment-provider';
import { escrowConfigShape } from '../../services/escrow/src/config';
import { type RunningEscrow, startEscrow } from '../../services/escrow/src/escrow-service';
import { signUpAndSignIn, startTestGateway, type TestGateway } from './support/test-gateway';

jest.setTimeout(120_000);

const label = 'gateway-tracing';
const webhookSecret = 'tracing-e2e-webhook-secret-0123456789abcdef01';
const cny = (amountMinor: number) => ({ currency: 'CNY', amountMinor: String(amountMinor) });
/** How long the consumer's span may take to appear: relay, broker and consumer on a busy machine. */
const consumerSpanWaitMs = 30_000;

// The provider must exist before any service starts; in-process services then share it.
const spans = new InMemorySpanExporter();
const telemetry: Telemetry = startTelemetry({ serviceName: label, spanProcessors: [new SimpleSpanProcessor(spans)] });

let escrow: RunningEscrow;
let credit: RunningCredit;
let test: TestGateway;
const databases = { escrow: testDatabaseName(`${label}-escrow`), credit: testDatabaseName(`${label}-credit`) };

beforeAll(async () => {
  const infrastructure = testInfrastructure();
  const common = { MONGO_URL: infrastructure.mongoUrl, KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','), KAFKA_TOPIC_PREFIX: testTopicPrefix(label), GRPC_PORT: '0', LOG_LEVEL: 'silent' };
  escrow = await startEscrow(loadConfig(escrowConfigShape, { ...common, ESCROW_DATABASE: databases.escrow, PSP_WEBHOOK_SECRET: webhookSecret, DEADLINE_MIN_MS: '1000' }), { logger: createLogger({ service: 'escrow', level: 'silent' }) });
  credit = await startCredit(loadConfig(creditConfigShape, { ...common, CREDIT_DATABASE: databases.credit, ESCROW_GRPC_ADDRESS: escrow.address }), { logger: createLogger({ service: 'credit', level: 'silent' }) });
  test = await startTestGateway({ label, environment: { ESCROW_GRPC_ADDRESS: escrow.address, CREDIT_GRPC_ADDRESS: credit.address } });
});

afterAll(async () => {
  await test?.close();
  await credit?.stop();
  await escrow?.stop();
  await telemetry.shutdown();
  for (const database of Object.values(databases)) {
    const mongo = await connectMongo(testInfrastructure().mongoUrl, database);
    await mongo.db.dropDatabase();
    await mongo.close();
  }
});

function parentSpanIdOf(span: ReadableSpan): string | undefined {
  // sdk-trace-base 2.x names it parentSpanContext; 1.x had parentSpanId.
  const withParent = span as ReadableSpan & { parentSpanContext?: { spanId: string }; parentSpanId?: string };
  return withParent.parentSpanContext?.spanId ?? withParent.parentSpanId;
}

/** The chain from the trace's first span of ours down to `leaf`, root first. */
function ancestry(leaf: ReadableSpan, byId: ReadonlyMap<string, ReadableSpan>): ReadableSpan[] {
  const chain = [leaf];
  for (let parentId = parentSpanIdOf(leaf); parentId !== undefined && byId.has(parentId); parentId = parentSpanIdOf(chain[0]!)) chain.unshift(byId.get(parentId)!);
  return chain;
}

async function waitForSpan(traceId: string, name: string): Promise<ReadableSpan> {
  for (const deadline = Date.now() + consumerSpanWaitMs; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
    const found = spans.getFinishedSpans().find((span) => span.spanContext().traceId === traceId && span.name === name);
    if (found) return found;
  }
  throw new Error(`no span "${name}" in trace ${traceId} after ${consumerSpanWaitMs} ms`);
}

describe('one trace across the platform', () => {
  it('follows a pledge from HTTP through gRPC and Kafka into the credit consumer, parent by parent', async () => {
    const [creator, backer] = await Promise.all([signUpAndSignIn(test.http, ['creator']), signUpAndSignIn(test.http, ['backer'])]);
    const deposit = JSON.stringify({ id: `evt_${label}_1`, type: 'deposit.succeeded', participantId: backer.participantId, amount: cny(50_000) });
    const signature = signPayload(new TextEncoder().encode(webhookSecret), deposit, Math.floor(Date.now() / 1_000));
    expect((await test.http.request('POST', '/v1/psp/webhooks', { rawBody: deposit, headers: { 'content-type': 'application/json', 'sizhong-signature': signature } })).status).toBe(200);
    const now = Date.now();
    const campaign = await test.http.post(
      '/v1/campaigns',
      { title: 'Traced lamp', description: 'One trace.', goal: cny(100_000), fundingModel: 'all_or_nothing', endsAt: new Date(now + 600_000).toISOString(), deliveryDate: new Date(now + 7_200_000).toISOString(), tiers: [{ title: 'One', price: cny(1_000), quantity: 10 }] },
      { token: creator.token, headers: { 'idempotency-key': 'trace-campaign' } },
    );
    expect(campaign.status).toBe(201);
    expect((await test.http.post(`/v1/campaigns/${campaign.body.id}/launch`, {}, { token: creator.token })).status).toBe(200);

    // The caller's own span: the gateway continues its trace.
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const callerSpanId = '00f067aa0ba902b7';
    const pledge = await test.http.post(
      `/v1/campaigns/${campaign.body.id}/pledges`,
      { tierId: campaign.body.tiers[0].id, amount: cny(1_000) },
      { token: backer.token, headers: { 'idempotency-key': 'trace-pledge', traceparent: `00-${traceId}-${callerSpanId}-01` } },
    );
    expect(pledge.status).toBe(201);

    const consumed = await waitForSpan(traceId, 'consume PledgePlaced');
    const byId = new Map(spans.getFinishedSpans().filter((span) => span.spanContext().traceId === traceId).map((span) => [span.spanContext().spanId, span]));
    const chain = ancestry(consumed, byId);

    // The root of our spans is the gateway's HTTP span, whose parent is the caller's span.
    expect(parentSpanIdOf(chain[0]!)).toBe(callerSpanId);
    expect(chain[0]!.kind).toBe(SpanKind.SERVER);
    expect(chain[0]!.attributes['http.request.method'] ?? chain[0]!.attributes['http.method']).toBe('POST');
    // Then, in order: the gateway's gRPC call, escrow serving it, and credit consuming the event.
    const placePledge = '/sizhong.escrow.v1.CampaignService/PlacePledge';
    const steps = chain.map((span) => ({ kind: span.kind, method: span.attributes['rpc.method'], name: span.name }));
    const clientIndex = steps.findIndex((step) => step.kind === SpanKind.CLIENT && step.method === placePledge);
    const serverIndex = steps.findIndex((step) => step.kind === SpanKind.SERVER && step.method === placePledge);
    expect(clientIndex).toBeGreaterThan(0);
    expect(serverIndex).toBe(clientIndex + 1);
    expect(steps.at(-1)).toEqual(expect.objectContaining({ kind: SpanKind.CONSUMER, name: 'consume PledgePlaced' }));
    expect(consumed.attributes['messaging.system']).toBe('kafka');
    expect(String(consumed.attributes['messaging.destination.name'])).toMatch(/escrow\.events\.v1$/);
  });
});
