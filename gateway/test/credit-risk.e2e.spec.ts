// Proves the credit and risk routes end to end — real HTTP → gateway → real gRPC → the real credit
// service fed by the real escrow service's events over Kafka: a regulator on GET /v1/risk/feed gets a
// velocity alert within 2 s of the pledges that trigger it, disconnects, reconnects with Last-Event-ID
// and gets exactly the alerts it missed; a backer gets 403; participants read their own credit, not
// others'; inspections are drawn reproducibly and completed ones are public; the audit log shows every
// regulator read.
import { connectMongo, createLogger, loadConfig, type ParticipantRole } from '@sizhong/kit';
import { testDatabaseName, testInfrastructure, testTopicPrefix } from '@sizhong/testkit';
import { creditConfigShape } from '../../services/credit/src/config';
import { type RunningCredit, startCredit } from '../../services/credit/src/credit-service';
import { signPayload } from '../../services/escrow/src/app/payment-provider';
import { escrowConfigShape } from '../../services/escrow/src/config';
import { type RunningEscrow, startEscrow } from '../../services/escrow/src/escrow-service';
import { createPrivilegedParticipant, signUpAndSignIn, startTestGateway, type TestGateway } from './support/test-gateway';

jest.setTimeout(120_000);

const label = 'gateway-credit-risk';
const webhookSecret = 'credit-risk-e2e-webhook-secret-0123456789abcdef';
const velocityPledges = 5;
const cny = (amountMinor: number) => ({ currency: 'CNY', amountMinor: String(amountMinor) });

interface Participant {
  readonly participantId: string;
  readonly token: string;
}

interface FeedEvent {
  readonly id: string;
  readonly event: string;
  readonly data: { id: string; rule: string; cursor: string; subject: { id: string } };
  readonly receivedAtMs: number;
}

/** A regulator's tool reading the SSE feed with fetch (EventSource cannot send a bearer token). */
class FeedReader {
  readonly events: FeedEvent[] = [];
  status = 0;
  contentType = '';
  private readonly controller = new AbortController();
  private done: Promise<void> = Promise.resolve();

  constructor(
    private readonly url: string,
    private readonly token: string,
    private readonly lastEventId?: string,
  ) {}

  async open(): Promise<void> {
    const response = await fetch(`${this.url}/v1/risk/feed`, {
      headers: { authorization: `Bearer ${this.token}`, accept: 'text/event-stream', ...(this.lastEventId ? { 'last-event-id': this.lastEventId } : {}) },
      signal: this.controller.signal,
    });
    this.status = response.status;
    this.contentType = response.headers.get('content-type') ?? '';
    if (!response.body || response.status !== 200) return;
    const reader = response.body.getReader();
    this.done = (async () => {
      const decoder = new TextDecoder();
      let buffer = '';
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += decoder.decode(value, { stream: true });
          for (let end = buffer.indexOf('\n\n'); end >= 0; end = buffer.indexOf('\n\n')) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const fields = Object.fromEntries(block.split('\n').filter((line) => line && !line.startsWith(':')).map((line) => [line.slice(0, line.indexOf(':')), line.slice(line.indexOf(':') + 1).trim()]));
            if (fields['event'] === 'alert') this.events.push({ id: fields['id']!, event: 'alert', data: JSON.parse(fields['data']!), receivedAtMs: Date.now() });
          }
        }
      } catch {
        // Aborted by close().
      }
    })();
  }

  async waitFor(count: number, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.events.length < count) {
      if (Date.now() > deadline) throw new Error(`feed: ${this.events.length} events of ${count} after ${timeoutMs} ms`);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  }

  async close(): Promise<void> {
    this.controller.abort();
    await this.done;
  }
}

let escrow: RunningEscrow;
let credit: RunningCredit;
let test: TestGateway;
let regulator: Participant;
let secondRegulator: Participant;
let admin: Participant;
let creator: Participant;
let keyCounter = 0;
const databases = { escrow: testDatabaseName(`${label}-escrow`), credit: testDatabaseName(`${label}-credit`) };

beforeAll(async () => {
  const infrastructure = testInfrastructure();
  const common = { MONGO_URL: infrastructure.mongoUrl, KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','), KAFKA_TOPIC_PREFIX: testTopicPrefix(label), GRPC_PORT: '0', LOG_LEVEL: 'silent' };
  escrow = await startEscrow(loadConfig(escrowConfigShape, { ...common, ESCROW_DATABASE: databases.escrow, PSP_WEBHOOK_SECRET: webhookSecret, DEADLINE_MIN_MS: '1000' }), { logger: createLogger({ service: 'escrow', level: 'silent' }) });
  credit = await startCredit(
    loadConfig(creditConfigShape, {
      ...common,
      CREDIT_DATABASE: databases.credit,
      ESCROW_GRPC_ADDRESS: escrow.address,
      CREDIT_INVARIANTS_INTERVAL_MS: '500',
      // Only the velocity rule is in play here: five pledges on one campaign within a minute.
      CREDIT_RISK_THRESHOLDS: JSON.stringify({ PLEDGE_VELOCITY_SPIKE: { pledges: velocityPledges, windowMs: 60_000 }, BACKER_CONCENTRATION: { campaignTotalMinMinor: 1e15 } }),
    }),
    { logger: createLogger({ service: 'credit', level: 'silent' }) },
  );
  test = await startTestGateway({ label, environment: { ESCROW_GRPC_ADDRESS: escrow.address, CREDIT_GRPC_ADDRESS: credit.address, RISK_FEED_STREAM_MAX_MS: '60000' } });
  [regulator, secondRegulator, admin] = await Promise.all([
    createPrivilegedParticipant(test, ['regulator']),
    createPrivilegedParticipant(test, ['regulator']),
    createPrivilegedParticipant(test, ['admin']),
  ]);
  creator = await signUpAndSignIn(test.http, ['creator']);
});

afterAll(async () => {
  await test?.close();
  await credit?.stop();
  await escrow?.stop();
  for (const database of Object.values(databases)) {
    const mongo = await connectMongo(testInfrastructure().mongoUrl, database);
    await mongo.db.dropDatabase();
    await mongo.close();
  }
});

async function backer(roles: ParticipantRole[] = ['backer']): Promise<Participant> {
  const participant = await signUpAndSignIn(test.http, roles);
  keyCounter += 1;
  const body = JSON.stringify({ id: `evt_${label}_${keyCounter}`, type: 'deposit.succeeded', participantId: participant.participantId, amount: cny(100_000) });
  const signature = signPayload(new TextEncoder().encode(webhookSecret), body, Math.floor(Date.now() / 1_000));
  expect((await test.http.request('POST', '/v1/psp/webhooks', { rawBody: body, headers: { 'content-type': 'application/json', 'sizhong-signature': signature } })).status).toBe(200);
  return participant;
}

async function liveCampaign(): Promise<{ id: string; tierId: string }> {
  const now = Date.now();
  const body = { title: 'A lamp that reads aloud', description: 'Prototype done.', goal: cny(1_000_000), fundingModel: 'all_or_nothing', endsAt: new Date(now + 600_000).toISOString(), deliveryDate: new Date(now + 7_200_000).toISOString(), tiers: [{ title: 'Early bird', price: cny(1_000), quantity: 100 }] };
  keyCounter += 1;
  const created = await test.http.post('/v1/campaigns', body, { token: creator.token, headers: { 'idempotency-key': `create-${keyCounter}` } });
  expect(created.status).toBe(201);
  expect((await test.http.post(`/v1/campaigns/${created.body.id}/launch`, {}, { token: creator.token })).status).toBe(200);
  return { id: created.body.id, tierId: created.body.tiers[0].id };
}

/** Pledges from distinct backers at once; returns when the last answer arrived. */
async function pledges(campaign: { id: string; tierId: string }, backers: readonly Participant[]): Promise<number> {
  const answers = await Promise.all(
    backers.map((one) => {
      keyCounter += 1;
      return test.http.post(`/v1/campaigns/${campaign.id}/pledges`, { tierId: campaign.tierId, amount: cny(1_000) }, { token: one.token, headers: { 'idempotency-key': `pledge-${keyCounter}` } });
    }),
  );
  for (const answer of answers) expect(answer.status).toBe(201);
  return Date.now();
}

describe('the regulators\u2019 risk feed', () => {
  it('delivers an alert within 2 s of the triggering pledges and, after a reconnect with Last-Event-ID, exactly the missed ones', async () => {
    const backers = await Promise.all(Array.from({ length: velocityPledges }, () => backer()));
    const first = await liveCampaign();
    const feed = new FeedReader(test.url, regulator.token);
    await feed.open();
    expect({ status: feed.status, contentType: feed.contentType }).toEqual({ status: 200, contentType: 'text/event-stream; charset=utf-8' });

    const pledgedAtMs = await pledges(first, backers);
    await feed.waitFor(1, 2_000);
    const alert = feed.events[0]!;
    expect(alert.data).toMatchObject({ rule: 'PLEDGE_VELOCITY_SPIKE', subject: { id: first.id } });
    expect(alert.receivedAtMs - pledgedAtMs).toBeLessThan(2_000);
    expect(alert.id).toBe(alert.data.cursor);
    await feed.close();

    // While the regulator is away, two more campaigns are rushed.
    for (let round = 0; round < 2; round += 1) await pledges(await liveCampaign(), backers);
    const missed = await (async () => {
      for (const deadline = Date.now() + 10_000; Date.now() < deadline; await new Promise((resolve) => setTimeout(resolve, 100))) {
        const listed = await test.http.get('/v1/risk/alerts?rule=PLEDGE_VELOCITY_SPIKE', { token: regulator.token });
        if (listed.body.items.length >= 3) return listed.body.items as { id: string; cursor: string }[];
      }
      throw new Error('the two missed alerts were not raised');
    })();
    const expectedMissed = missed.filter((item) => Number(item.cursor) > Number(alert.id)).map((item) => item.id).reverse();
    expect(expectedMissed).toHaveLength(2);

    const resumed = new FeedReader(test.url, regulator.token, alert.id);
    await resumed.open();
    await resumed.waitFor(2, 5_000);
    await new Promise((resolve) => setTimeout(resolve, 500));
    await resumed.close();
    expect(resumed.events.map((event) => event.data.id)).toEqual(expectedMissed);
    expect(resumed.events.some((event) => event.data.id === alert.data.id)).toBe(false);
  });

  it('refuses the feed, alerts and summary to a backer (403), answers a problem before any stream', async () => {
    const someone = await backer();
    const feed = await test.http.get('/v1/risk/feed', { token: someone.token });
    expect(feed.status).toBe(403);
    expect(feed.headers.get('content-type')).toContain('application/problem+json');
    expect((await test.http.get('/v1/risk/alerts', { token: someone.token })).status).toBe(403);
    expect((await test.http.get('/v1/risk/summary', { token: someone.token })).status).toBe(403);
    expect((await test.http.get('/v1/risk/feed')).status).toBe(401);
  });

  it('gives regulators the summary with money held in escrow by kind, and the ledger conserved', async () => {
    const summary = await test.http.get('/v1/risk/summary', { token: regulator.token });
    expect(summary.status).toBe(200);
    expect(summary.body.alerts).toEqual([{ rule: 'PLEDGE_VELOCITY_SPIKE', severity: 'high', count: 3 }]);
    expect(summary.body.alertsTotal).toBe(3);
    // Fifteen pledges of 1 000 held on campaign escrow accounts.
    expect(summary.body.heldInEscrow).toEqual([{ kind: 'campaign', held: cny(15_000) }]);
  });
});

describe('credit profiles', () => {
  it('lets participants read their own score and reasons, regulators anyone\u2019s, and nobody else', async () => {
    const one = await backer();
    const other = await backer();
    const own = await test.http.get(`/v1/participants/${one.participantId}/credit`, { token: one.token });
    expect(own.status).toBe(200);
    expect(own.body).toMatchObject({ participantId: one.participantId, role: '', band: 'fair', modelVersion: 'credit-model-2', reasons: [] });
    expect((await test.http.get(`/v1/participants/${one.participantId}/credit?role=backer`, { token: one.token })).body).toMatchObject({ score: 600, isNew: true });
    expect((await test.http.get(`/v1/participants/${one.participantId}/credit`, { token: other.token })).status).toBe(403);
    expect((await test.http.get(`/v1/participants/${one.participantId}/credit/history`, { token: other.token })).status).toBe(403);
    const read = await test.http.get(`/v1/participants/${one.participantId}/credit`, { token: regulator.token });
    expect(read.status).toBe(200);
    const history = await test.http.get(`/v1/participants/${one.participantId}/credit/history?limit=5`, { token: regulator.token });
    expect(history.status).toBe(200);
    expect(history.body).toMatchObject({ nextCursor: null });
    expect((await test.http.get(`/v1/participants/${one.participantId}/credit?role=pirate`, { token: one.token })).status).toBe(400);
  });
});

describe('random inspections', () => {
  it('draws reproducibly from a seed, lets only the assigned inspector record outcomes, and lists completed ones publicly', async () => {
    const body = { subjectKinds: ['campaign'], sampleSize: 2, seed: 'double-random-2026' };
    const draw = await test.http.post('/v1/inspections/draws', body, { token: regulator.token, headers: { 'idempotency-key': 'draw-1' } });
    expect(draw.status).toBe(201);
    expect(draw.body).toMatchObject({ seed: 'double-random-2026', populationSize: 3, subjectKinds: ['campaign'], drawnBy: regulator.participantId });
    expect(draw.body.items).toHaveLength(2);
    const again = await test.http.post('/v1/inspections/draws', body, { token: secondRegulator.token, headers: { 'idempotency-key': 'draw-2' } });
    expect(again.body.id).not.toBe(draw.body.id);
    expect(again.body.snapshotHash).toBe(draw.body.snapshotHash);
    expect(again.body.items.map((item: { subject: unknown; inspectorId: string }) => [item.subject, item.inspectorId])).toEqual(draw.body.items.map((item: { subject: unknown; inspectorId: string }) => [item.subject, item.inspectorId]));
    expect((await test.http.post('/v1/inspections/draws', body, { token: creator.token })).status).toBe(403);

    const item = draw.body.items[0];
    const inspector = [regulator, secondRegulator].find((one) => one.participantId === item.inspectorId)!;
    const notInspector = [regulator, secondRegulator].find((one) => one.participantId !== item.inspectorId)!;
    expect((await test.http.post(`/v1/inspections/${draw.body.id}/items/0/outcome`, { outcome: 'compliant', summary: 'ok' }, { token: notInspector.token })).status).toBe(403);
    const recorded = await test.http.post(`/v1/inspections/${draw.body.id}/items/0/outcome`, { outcome: 'findings', summary: 'Delivery dates not disclosed' }, { token: inspector.token });
    expect(recorded.status).toBe(200);
    expect(recorded.body).toMatchObject({ outcome: 'findings', summary: 'Delivery dates not disclosed', inspectorId: inspector.participantId });
    expect((await test.http.post(`/v1/inspections/${draw.body.id}/items/0/outcome`, { outcome: 'compliant', summary: '' }, { token: inspector.token })).status).toBe(422);
    expect((await test.http.post(`/v1/inspections/${draw.body.id}/items/7/outcome`, { outcome: 'compliant', summary: '' }, { token: inspector.token })).status).toBe(404);

    const listed = await test.http.get('/v1/inspections');
    expect(listed.status).toBe(200);
    expect(listed.body.items).toEqual([expect.objectContaining({ drawId: draw.body.id, index: 0, outcome: 'findings', subject: item.subject, inspectorId: inspector.participantId })]);
  });
});

describe('the regulator-read audit log', () => {
  it('shows admins every regulator read: feed, alerts, summary and credit profiles', async () => {
    const log = await test.http.get('/v1/audit/regulator-reads?limit=100', { token: admin.token });
    expect(log.status).toBe(200);
    const reads = (log.body.items as { regulatorId: string; route: string; subject: { kind: string; id: string } }[]).filter((item) => item.regulatorId === regulator.participantId);
    const routes = reads.map((item) => item.route);
    expect(routes.filter((route) => route === 'GET /v1/risk/feed')).toHaveLength(2);
    expect(routes).toContain('GET /v1/risk/alerts');
    expect(routes).toContain('GET /v1/risk/summary');
    expect(routes).toContain('GET /v1/participants/{id}/credit');
    expect(routes).toContain('GET /v1/participants/{id}/credit/history');
    expect((await test.http.get('/v1/audit/regulator-reads', { token: regulator.token })).status).toBe(403);
  });
});
