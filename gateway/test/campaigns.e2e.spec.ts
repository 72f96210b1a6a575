// Proves the campaign and pledge routes end to end — real HTTP → gateway → real gRPC → the real escrow service (the MongoDB-wire server, Kafka, its scheduler): all-or-nothing success and failure, keep-it-all, 500 concurrent pledges on a tier of 100, the last-call rule, insufficient funds, pledge caps, idempotent replays, ownership and drafts, milestone release by backer votes and refunds after a delivery failure, with wallets and the fee account exact; every answer checked against /openapi.json.
import { connectMongo, createLogger, loadConfig, type ParticipantRole } from '@sizhong/kit';
import { eventually, testDatabaseName, testInfrastructure, testTopicPrefix } from '@sizhong/testkit';
import { signPayload } from '../../services/escrow/src/app/payment-provider';
import { escrowConfigShape } from '../../services/escrow/src/config';
import { type RunningEscrow, startEscrow } from '../../services/escrow/src/escrow-service';
import { milestoneIndexMax } from '../src/escrow/campaign-views';
import { accountIdLengthMax } from '../src/escrow/views';
import { Conformance, type OpenApi } from './support/conformance';
import { createPrivilegedParticipant, type HttpResponse, postHonouringRetryAfter, signUpAndSignIn, startTestGateway, type TestGateway, testPassword, uniqueEmail } from './support/test-gateway';

jest.setTimeout(60_000);

const webhookSecret = 'campaigns-e2e-webhook-secret-0123456789abcdef';
const feeAccountId = 'fee:platform:CNY';
/** Campaigns that must not settle while the file runs end this far away. */
const farEndMs = 10 * 60_000;
/** Campaigns that settle in a test end this soon; each such test waits for its own settlement. */
const soonEndMs = 2_500;

let escrow: RunningEscrow;
let escrowDatabase: string;
let test: TestGateway;
let conformance: Conformance;
let regulator: Participant;
let admin: Participant;

interface Participant {
  readonly participantId: string;
  readonly token: string;
}

beforeAll(async () => {
  const infrastructure = testInfrastructure();
  escrowDatabase = testDatabaseName('gateway-campaigns-escrow');
  escrow = await startEscrow(
    loadConfig(escrowConfigShape, {
      MONGO_URL: infrastructure.mongoUrl,
      KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
      ESCROW_DATABASE: escrowDatabase,
      KAFKA_TOPIC_PREFIX: testTopicPrefix('gateway-campaigns'),
      PSP_WEBHOOK_SECRET: webhookSecret,
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      PLATFORM_FEE_BPS: '500',
      // Campaigns of a few seconds: the shortest allowed duration is 1 s and due jobs are looked for every 100 ms.
      DEADLINE_MIN_MS: '1000',
      SCHEDULER_INTERVAL_MS: '100',
      // A campaign ending within 20 s is in its last call from the start; one ending in 10 minutes is not.
      CAMPAIGN_LAST_CALL_MS: '20000',
      // Long enough that no milestone is ever released by silence here: only backer votes release them.
      MILESTONE_SILENCE_MS: '600000',
    }),
    { logger: createLogger({ service: 'escrow', level: 'silent' }) },
  );
  test = await startTestGateway({
    label: 'gateway-campaigns',
    environment: {
      ESCROW_GRPC_ADDRESS: escrow.address,
      // 500 concurrent pledges come from one client address (and ten from each backer): far past the
      // default buckets (300 per IP, 120 per participant). This file is about escrow, not rate limits.
      RATE_LIMIT_IP_BURST: '100000',
      RATE_LIMIT_IP_PER_SECOND: '100000',
      RATE_LIMIT_PARTICIPANT_BURST: '100000',
      RATE_LIMIT_PARTICIPANT_PER_SECOND: '100000',
      // The 500 pledges queue in escrow (~15 s here when idle); on a loaded machine the default 30 s
      // could turn the tail into 504s. This file proves exact stock, not latency, so it waits longer.
      ESCROW_CAMPAIGN_WRITE_DEADLINE_MS: '60000',
      IDEMPOTENCY_LEASE_MS: '120000',
    },
  });
  conformance = new Conformance((await test.http.get('/openapi.json')).body as OpenApi);
  [regulator, admin] = await Promise.all([createPrivilegedParticipant(test, ['regulator']), createPrivilegedParticipant(test, ['admin'])]);
});

afterAll(async () => {
  await test?.close();
  await escrow?.stop();
  const mongo = await connectMongo(testInfrastructure().mongoUrl, escrowDatabase);
  await mongo.db.dropDatabase();
  await mongo.close();
});

const cny = (amountMinor: string | number) => ({ currency: 'CNY', amountMinor: String(amountMinor) });

let keyCounter = 0;
function newKey(label: string): string {
  keyCounter += 1;
  return `${label}-${Date.now()}-${keyCounter}`;
}

interface CallOptions {
  readonly token?: string;
  readonly body?: unknown;
  /** An Idempotency-Key to send; none when absent. */
  readonly key?: string;
}

/** Calls `template` with its `{params}` filled in and checks the answer against /openapi.json. */
async function api(method: 'GET' | 'POST', template: string, params: Record<string, string | number>, options: CallOptions = {}): Promise<HttpResponse> {
  const path = template.replace(/\{(\w+)\}/g, (_match, name: string) => encodeURIComponent(String(params[name])));
  const headers: Record<string, string> = options.key === undefined ? {} : { 'Idempotency-Key': options.key };
  const response = await test.http.request(method, path, { ...(options.body === undefined ? {} : { body: options.body }), ...(options.token ? { token: options.token } : {}), headers });
  conformance.expectConforms(template.replace(/\?.*$/, ''), method, response);
  return response;
}

async function signUp(roles: readonly string[]): Promise<Participant> {
  return signUpAndSignIn(test.http, roles);
}

/**
 * Signs up through HTTP, then takes a token from the gateway's own AccessTokens (what
 * /v1/auth/token issues once the password checks out). For crowds only: each sign-in costs a
 * scrypt hash (~0.25 s on two cores), and fifty more of them prove nothing the other tests do not.
 */
async function signUpWithoutSignIn(roles: readonly ParticipantRole[]): Promise<Participant> {
  const signup = await postHonouringRetryAfter(test.http, '/v1/auth/signup', { email: uniqueEmail('crowd'), password: testPassword, displayName: 'Crowd backer', roles });
  expect(signup.status).toBe(201);
  const participantId = signup.body.participantId as string;
  return { participantId, token: (await test.gateway.services.tokens.issue({ participantId, roles })).accessToken };
}

/** Funds a wallet as the payment provider does: a signed deposit through the webhook route. */
async function fund(participant: Participant, amountMinor: number): Promise<void> {
  keyCounter += 1;
  const body = JSON.stringify({ id: `evt_campaigns_${Date.now()}_${keyCounter}`, type: 'deposit.succeeded', participantId: participant.participantId, amount: cny(amountMinor) });
  const signature = signPayload(new TextEncoder().encode(webhookSecret), body, Math.floor(Date.now() / 1_000));
  const response = await test.http.request('POST', '/v1/psp/webhooks', { rawBody: body, headers: { 'content-type': 'application/json', 'sizhong-signature': signature } });
  expect(response.status).toBe(200);
}

async function wallet(participant: Participant): Promise<{ available: string; held: string }> {
  const response = await api('GET', '/v1/wallet', {}, { token: participant.token });
  expect(response.status).toBe(200);
  return { available: response.body.available.amountMinor, held: response.body.held.amountMinor };
}

/** A ledger account's available balance, read by a regulator. */
async function accountBalance(accountId: string): Promise<bigint> {
  const response = await api('GET', '/v1/ledger/accounts/{accountId}', { accountId }, { token: regulator.token });
  expect(response.status).toBe(200);
  expect(response.body.held).toEqual(cny(0));
  return BigInt(response.body.available.amountMinor);
}

interface CampaignOptions {
  readonly goal: number;
  readonly model?: 'all_or_nothing' | 'keep_it_all';
  readonly endsInMs: number;
  readonly tiers?: ReadonlyArray<{ title: string; price: { currency: string; amountMinor: string }; quantity?: number }>;
  readonly milestones?: ReadonlyArray<{ title: string; shareBps: number; dueInMs: number }>;
}

function campaignBody(options: CampaignOptions) {
  const now = Date.now();
  return {
    title: 'A lamp that reads aloud',
    description: 'Prototype done; tooling paid for by this campaign.',
    goal: cny(options.goal),
    fundingModel: options.model ?? 'all_or_nothing',
    endsAt: new Date(now + options.endsInMs).toISOString(),
    deliveryDate: new Date(now + options.endsInMs + 3_600_000).toISOString(),
    tiers: options.tiers ?? [{ title: 'Early bird', price: cny(1_000), quantity: 100 }],
    ...(options.milestones ? { milestones: options.milestones.map((milestone) => ({ title: milestone.title, shareBps: milestone.shareBps, dueAt: new Date(now + milestone.dueInMs).toISOString() })) } : {}),
  };
}

async function createCampaign(creator: Participant, options: CampaignOptions) {
  const created = await api('POST', '/v1/campaigns', {}, { token: creator.token, body: campaignBody(options), key: newKey('create') });
  expect(created.status).toBe(201);
  return created.body;
}

async function liveCampaign(creator: Participant, options: CampaignOptions) {
  const draft = await createCampaign(creator, options);
  const launched = await api('POST', '/v1/campaigns/{id}/launch', { id: draft.id }, { token: creator.token });
  expect(launched.status).toBe(200);
  expect(launched.body.state).toBe('live');
  return launched.body;
}

async function pledge(backer: Participant, campaignId: string, body: { tierId?: string; amount: unknown }, key = newKey('pledge')): Promise<HttpResponse> {
  return api('POST', '/v1/campaigns/{id}/pledges', { id: campaignId }, { token: backer.token, body, key });
}

async function getCampaign(campaignId: string, token: string) {
  const response = await api('GET', '/v1/campaigns/{id}', { id: campaignId }, { token });
  expect(response.status).toBe(200);
  return response.body;
}

async function getPledge(pledgeId: string, token: string) {
  const response = await api('GET', '/v1/pledges/{id}', { id: pledgeId }, { token });
  expect(response.status).toBe(200);
  return response.body;
}

/** Waits for the scheduler to settle a campaign into one of `states`. */
async function settled(campaignId: string, token: string, states: readonly string[]) {
  return eventually(() => getCampaign(campaignId, token), (campaign) => states.includes(campaign.state), `campaign ${campaignId} in ${states.join(' or ')}`);
}

describe('the OpenAPI document', () => {
  it('documents every campaign route with who may call it', () => {
    const access = (path: string, method: string) => (conformance.document.paths[path]?.[method] as unknown as { 'x-sizhong-access'?: unknown } | undefined)?.['x-sizhong-access'];
    expect({
      create: access('/v1/campaigns', 'post'),
      launch: access('/v1/campaigns/{id}/launch', 'post'),
      list: access('/v1/campaigns', 'get'),
      get: access('/v1/campaigns/{id}', 'get'),
      pledge: access('/v1/campaigns/{id}/pledges', 'post'),
      pledges: access('/v1/campaigns/{id}/pledges', 'get'),
      getPledge: access('/v1/pledges/{id}', 'get'),
      cancel: access('/v1/pledges/{id}/cancel', 'post'),
      accept: access('/v1/campaigns/{id}/milestones/{n}/accept', 'post'),
      fail: access('/v1/campaigns/{id}/delivery-failure', 'post'),
      account: access('/v1/ledger/accounts/{accountId}', 'get'),
    }).toEqual({
      create: ['creator'],
      launch: ['creator'],
      list: 'authenticated',
      get: 'authenticated',
      pledge: ['backer'],
      pledges: 'authenticated',
      getPledge: 'authenticated',
      cancel: ['backer'],
      accept: ['backer'],
      fail: ['admin'],
      account: ['admin', 'regulator'],
    });
    const pledgeParameters = conformance.document.paths['/v1/campaigns/{id}/pledges']?.post?.parameters ?? [];
    expect(pledgeParameters).toEqual(expect.arrayContaining([expect.objectContaining({ name: 'Idempotency-Key', in: 'header', required: true })]));
  });
});

describe('settlement', () => {
  it('all-or-nothing that meets its goal: pledges collected, the fee split off, the creator paid the net, wallets exact', async () => {
    const [creator, ...backers] = await Promise.all([signUp(['creator']), signUp(['backer']), signUp(['backer']), signUp(['backer'])]);
    await Promise.all(backers.map((backer) => fund(backer, 10_000)));
    const feeBefore = await accountBalance(feeAccountId);

    const body = campaignBody({ goal: 5_000, endsInMs: soonEndMs, tiers: [{ title: 'Early bird', price: cny(1_000), quantity: 100 }, { title: 'Thanks', price: cny(100) }] });
    const created = await api('POST', '/v1/campaigns', {}, { token: creator!.token, body, key: newKey('create') });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.stringMatching(/^cp_/),
      state: 'draft',
      title: body.title,
      description: body.description,
      creatorId: creator!.participantId,
      goal: cny(5_000),
      fundingModel: 'all_or_nothing',
      pledged: cny(0),
      backersCount: 0,
      pledgesCount: 0,
      endsAt: body.endsAt,
      deliveryDate: body.deliveryDate,
      tiers: [
        { id: expect.any(String), title: 'Early bird', price: cny(1_000), quantity: 100, remaining: 100 },
        { id: expect.any(String), title: 'Thanks', price: cny(100), quantity: null, remaining: null },
      ],
      milestones: [],
      createdAt: expect.stringMatching(/Z$/),
    });
    const launched = await api('POST', '/v1/campaigns/{id}/launch', { id: created.body.id }, { token: creator!.token });
    expect(launched.status).toBe(200);
    expect(launched.body).toMatchObject({ state: 'live', launchedAt: expect.stringMatching(/Z$/) });
    const campaign = launched.body;
    const tierId = campaign.tiers[0].id as string;

    const pledges = [];
    for (const backer of backers) {
      const placed = await pledge(backer, campaign.id, { tierId, amount: cny(2_001) });
      expect(placed.status).toBe(201);
      expect(placed.body).toEqual({
        pledgeId: expect.stringMatching(/^pl_/),
        campaignId: campaign.id,
        backerId: backer.participantId,
        tierId,
        amount: cny(2_001),
        state: 'pending',
        placedAt: expect.stringMatching(/Z$/),
      });
      pledges.push(placed.body.pledgeId as string);
    }
    expect(await wallet(backers[0]!)).toEqual({ available: '7999', held: '2001' });
    const live = await getCampaign(campaign.id, backers[0]!.token);
    expect({ pledged: live.pledged, backers: live.backersCount, pledges: live.pledgesCount, remaining: live.tiers[0].remaining }).toEqual({
      pledged: cny(6_003),
      backers: 3,
      pledges: 3,
      remaining: 97,
    });
    expect(live.payout).toBeUndefined();

    const delivered = await settled(campaign.id, creator!.token, ['delivered', 'failed']);
    expect(delivered.state).toBe('delivered');
    // 5 % of 6003 is 300.15: the one split function gives the fee 300 and the creator the rest, at once (no milestones).
    expect(delivered.payout).toEqual({ collected: cny(6_003), fee: cny(300), net: cny(5_703) });
    expect(delivered.settledAt).toEqual(expect.stringMatching(/Z$/));
    expect(await eventually(() => wallet(creator!), (balance) => balance.available !== '0', 'the payout')).toEqual({ available: '5703', held: '0' });
    for (const backer of backers) expect(await wallet(backer)).toEqual({ available: '7999', held: '0' });
    expect((await accountBalance(feeAccountId)) - feeBefore).toBe(300n);
    expect(await accountBalance(`escrow:campaign:${campaign.id}:CNY`)).toBe(0n);
    for (const pledgeId of pledges) expect((await getPledge(pledgeId, creator!.token)).state).toBe('collected');

    const invariants = await api('GET', '/v1/ledger/invariants', {}, { token: regulator.token });
    expect(invariants.body).toMatchObject({ conserved: true, negativeAccounts: [] });
  });

  it('all-or-nothing that misses its goal: every pledge refunded in full, wallets restored, no fee', async () => {
    const [creator, backer] = await Promise.all([signUp(['creator']), signUp(['backer'])]);
    await fund(backer!, 5_000);
    const feeBefore = await accountBalance(feeAccountId);
    const campaign = await liveCampaign(creator!, { goal: 50_000, endsInMs: soonEndMs });
    const placed = await pledge(backer!, campaign.id, { tierId: campaign.tiers[0].id, amount: cny(3_000) });
    expect(placed.status).toBe(201);
    expect(await wallet(backer!)).toEqual({ available: '2000', held: '3000' });

    const failed = await settled(campaign.id, creator!.token, ['failed', 'delivered']);
    expect(failed.state).toBe('failed');
    expect(failed.payout).toBeUndefined();
    const refunded = await eventually(() => getPledge(placed.body.pledgeId, backer!.token), (current) => current.state !== 'pending', 'the refund');
    expect(refunded).toMatchObject({ state: 'refunded', refundedAmount: cny(3_000), refundReason: 'campaign_failed' });
    expect(await wallet(backer!)).toEqual({ available: '5000', held: '0' });
    expect(await wallet(creator!)).toEqual({ available: '0', held: '0' });
    expect(await accountBalance(feeAccountId)).toBe(feeBefore);
  });

  it('keep-it-all below its goal collects what was pledged, a pledge without a tier included', async () => {
    const [creator, backer] = await Promise.all([signUp(['creator']), signUp(['backer'])]);
    await fund(backer!, 4_000);
    const feeBefore = await accountBalance(feeAccountId);
    const campaign = await liveCampaign(creator!, { goal: 100_000, model: 'keep_it_all', endsInMs: soonEndMs });
    const placed = await pledge(backer!, campaign.id, { amount: cny(4_000) });
    expect(placed.status).toBe(201);
    expect(placed.body.tierId).toBeNull();

    const delivered = await settled(campaign.id, creator!.token, ['delivered', 'failed']);
    expect(delivered).toMatchObject({ state: 'delivered', fundingModel: 'keep_it_all', payout: { collected: cny(4_000), fee: cny(200), net: cny(3_800) } });
    expect(await eventually(() => wallet(creator!), (balance) => balance.available !== '0', 'the payout')).toEqual({ available: '3800', held: '0' });
    expect(await wallet(backer!)).toEqual({ available: '0', held: '0' });
    expect((await getPledge(placed.body.pledgeId, backer!.token)).state).toBe('collected');
    expect((await accountBalance(feeAccountId)) - feeBefore).toBe(200n);
  });
});

describe('tier stock under load', () => {
  it('sells exactly 100 units of a 100-unit tier to 500 concurrent HTTP pledges from 50 backers', async () => {
    const creator = await signUp(['creator']);
    const backers = await Promise.all(Array.from({ length: 50 }, () => signUpWithoutSignIn(['backer'])));
    await Promise.all(backers.map((backer) => fund(backer, 10_000)));
    const campaign = await liveCampaign(creator, { goal: 1_000, endsInMs: farEndMs });
    const tierId = campaign.tiers[0].id as string;

    const responses = await Promise.all(
      Array.from({ length: 500 }, (_, index) =>
        test.http.post(`/v1/campaigns/${campaign.id}/pledges`, { tierId, amount: cny(1_000) }, { token: backers[index % backers.length]!.token, headers: { 'Idempotency-Key': newKey('rush') } }),
      ),
    );
    const outcomes = responses.reduce<Record<string, number>>((tally, response) => {
      const outcome = response.status === 201 ? '201' : `${response.status} ${response.body?.code}`;
      return { ...tally, [outcome]: (tally[outcome] ?? 0) + 1 };
    }, {});
    expect(outcomes).toEqual({ '201': 100, '422 TIER_SOLD_OUT': 400 });

    const placed = conformance.validator('/v1/campaigns/{id}/pledges', 'POST', 201, 'application/json');
    const refused = conformance.validator('/v1/campaigns/{id}/pledges', 'POST', 422, 'application/problem+json');
    for (const response of responses) expect((response.status === 201 ? placed : refused)(response.body)).toBe(true);
    expect(new Set(responses.filter((response) => response.status === 201).map((response) => response.body.pledgeId)).size).toBe(100);

    const after = await getCampaign(campaign.id, creator.token);
    expect({ remaining: after.tiers[0].remaining, pledged: after.pledged, pledges: after.pledgesCount }).toEqual({ remaining: 0, pledged: cny(100_000), pledges: 100 });
    const held = await Promise.all(backers.map(async (backer) => BigInt((await wallet(backer)).held)));
    expect(held.reduce((sum, amount) => sum + amount, 0n)).toBe(100_000n);
  }, 90_000);
});

describe('cancellation', () => {
  it('refuses, in the last call, a cancellation that would drop a met goal, and allows one that keeps it', async () => {
    const [creator, big, small] = await Promise.all([signUp(['creator']), signUp(['backer']), signUp(['backer'])]);
    await Promise.all([fund(big!, 10_000), fund(small!, 10_000)]);
    // Ends within CAMPAIGN_LAST_CALL_MS (20 s): the last call applies from the start.
    const campaign = await liveCampaign(creator!, { goal: 3_000, endsInMs: 3_000 });
    const tierId = campaign.tiers[0].id as string;
    const bigPledge = (await pledge(big!, campaign.id, { tierId, amount: cny(3_000) })).body;
    const smallPledge = (await pledge(small!, campaign.id, { tierId, amount: cny(1_000) })).body;

    const refused = await api('POST', '/v1/pledges/{id}/cancel', { id: bigPledge.pledgeId }, { token: big!.token });
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'CANCELLATION_WINDOW_CLOSED', type: 'urn:sizhong:problem:cancellation-window-closed' });
    const allowed = await api('POST', '/v1/pledges/{id}/cancel', { id: smallPledge.pledgeId }, { token: small!.token });
    expect(allowed.status).toBe(200);
    expect(allowed.body).toMatchObject({ pledgeId: smallPledge.pledgeId, state: 'cancelled' });
    expect(await wallet(small!)).toEqual({ available: '10000', held: '0' });
    expect(await wallet(big!)).toEqual({ available: '7000', held: '3000' });

    // Settles on the pledge that stayed (and is awaited here, so no later test sees its fee arrive).
    const delivered = await settled(campaign.id, creator!.token, ['delivered', 'failed']);
    expect(delivered).toMatchObject({ state: 'delivered', payout: { collected: cny(3_000) } });
    expect((await getPledge(smallPledge.pledgeId, small!.token)).state).toBe('cancelled');
    const tooLate = await api('POST', '/v1/pledges/{id}/cancel', { id: bigPledge.pledgeId }, { token: big!.token });
    expect(tooLate.status).toBe(422);
    expect(tooLate.body.code).toBe('CANCELLATION_WINDOW_CLOSED');
  });

  it('allows cancelling before the last call even when it drops a met goal; only the backer may cancel', async () => {
    const [creator, backer, stranger] = await Promise.all([signUp(['creator']), signUp(['backer']), signUp(['backer'])]);
    await fund(backer!, 5_000);
    const campaign = await liveCampaign(creator!, { goal: 3_000, endsInMs: farEndMs });
    const placed = (await pledge(backer!, campaign.id, { tierId: campaign.tiers[0].id, amount: cny(3_000) })).body;

    for (const other of [stranger!, creator!]) {
      const refused = await api('POST', '/v1/pledges/{id}/cancel', { id: placed.pledgeId }, { token: other.token });
      expect(refused.status).toBe(other === creator ? 403 : 404);
    }
    const cancelled = await api('POST', '/v1/pledges/{id}/cancel', { id: placed.pledgeId }, { token: backer!.token });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body.state).toBe('cancelled');
    const again = await api('POST', '/v1/pledges/{id}/cancel', { id: placed.pledgeId }, { token: backer!.token });
    expect(again.status).toBe(200);
    expect(again.body.state).toBe('cancelled');
    expect(await wallet(backer!)).toEqual({ available: '5000', held: '0' });
    const after = await getCampaign(campaign.id, creator!.token);
    expect({ pledged: after.pledged, backers: after.backersCount, remaining: after.tiers[0].remaining }).toEqual({ pledged: cny(0), backers: 0, remaining: 100 });
  });
});

describe('pledge refusals', () => {
  it('refuses a pledge without the money with 422 INSUFFICIENT_FUNDS and gives the tier unit back', async () => {
    const [creator, poor, rival] = await Promise.all([signUp(['creator']), signUp(['backer']), signUp(['backer'])]);
    await Promise.all([fund(poor!, 500), fund(rival!, 5_000)]);
    const campaign = await liveCampaign(creator!, { goal: 1_000, endsInMs: farEndMs, tiers: [{ title: 'The only one', price: cny(1_000), quantity: 1 }] });
    const tierId = campaign.tiers[0].id as string;

    const key = newKey('poor');
    const refused = await pledge(poor!, campaign.id, { tierId, amount: cny(1_000) }, key);
    expect(refused.status).toBe(422);
    expect(refused.body).toMatchObject({ code: 'INSUFFICIENT_FUNDS', type: 'urn:sizhong:problem:insufficient-funds' });
    const after = await getCampaign(campaign.id, creator!.token);
    expect({ remaining: after.tiers[0].remaining, pledged: after.pledged, pledges: after.pledgesCount }).toEqual({ remaining: 1, pledged: cny(0), pledges: 0 });
    expect(await wallet(poor!)).toEqual({ available: '500', held: '0' });

    // A refusal is an answer too: the same key replays it, even once the money is there.
    await fund(poor!, 500);
    const replayed = await pledge(poor!, campaign.id, { tierId, amount: cny(1_000) }, key);
    expect(replayed.status).toBe(422);
    expect(replayed.headers.get('idempotent-replayed')).toBe('true');
    const placed = await pledge(poor!, campaign.id, { tierId, amount: cny(1_000) });
    expect(placed.status).toBe(201);
    const soldOut = await pledge(rival!, campaign.id, { tierId, amount: cny(1_000) });
    expect(soldOut.status).toBe(422);
    expect(soldOut.body).toMatchObject({ code: 'TIER_SOLD_OUT', tierId });
    expect(await wallet(rival!)).toEqual({ available: '5000', held: '0' });
  });

  it('refuses pledges to drafts, below the tier price, in another currency, to an unknown tier, and by the creator', async () => {
    const [creator, backer] = await Promise.all([signUp(['creator', 'backer']), signUp(['backer'])]);
    await fund(backer!, 10_000);
    const draft = await createCampaign(creator!, { goal: 1_000, endsInMs: farEndMs });
    const tierId = draft.tiers[0].id as string;
    expect((await pledge(backer!, draft.id, { tierId, amount: cny(1_000) })).status).toBe(404);
    await api('POST', '/v1/campaigns/{id}/launch', { id: draft.id }, { token: creator!.token });

    const below = await pledge(backer!, draft.id, { tierId, amount: cny(999) });
    expect(below.status).toBe(400);
    expect(below.body).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'amount.amountMinor' });
    const dollars = await pledge(backer!, draft.id, { tierId, amount: { currency: 'USD', amountMinor: '1000' } });
    expect(dollars.status).toBe(400);
    expect(dollars.body.code).toBe('CURRENCY_MISMATCH');
    expect((await pledge(backer!, draft.id, { tierId: `${draft.id}-t9`, amount: cny(1_000) })).status).toBe(404);
    const own = await pledge(creator!, draft.id, { tierId, amount: cny(1_000) });
    expect(own.status).toBe(403);
    expect(own.body.code).toBe('PERMISSION_DENIED');
    const malformed = await pledge(backer!, draft.id, { tierId: 'not an id', amount: { currency: 'CNY', amountMinor: 1000 } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.errors.map((issue: { path: string }) => issue.path).sort()).toEqual(['body.amount.amountMinor', 'body.tierId']);
    expect(await wallet(backer!)).toEqual({ available: '10000', held: '0' });
  });

  it('caps one backer at 10 active pledges per campaign: the 11th is 422 PLEDGE_LIMIT_REACHED until one is cancelled', async () => {
    const [creator, backer] = await Promise.all([signUp(['creator']), signUp(['backer'])]);
    await fund(backer!, 10_000);
    const campaign = await liveCampaign(creator!, { goal: 1_000, endsInMs: farEndMs, tiers: [{ title: 'Sticker', price: cny(100) }] });
    const tierId = campaign.tiers[0].id as string;
    const placed: string[] = [];
    for (let count = 1; count <= 10; count += 1) {
      const response = await pledge(backer!, campaign.id, { tierId, amount: cny(100) });
      expect(response.status).toBe(201);
      placed.push(response.body.pledgeId);
    }
    const eleventh = await pledge(backer!, campaign.id, { tierId, amount: cny(100) });
    expect(eleventh.status).toBe(422);
    expect(eleventh.body).toMatchObject({ code: 'PLEDGE_LIMIT_REACHED', max: 10 });
    expect((await api('POST', '/v1/pledges/{id}/cancel', { id: placed[0]! }, { token: backer!.token })).status).toBe(200);
    expect((await pledge(backer!, campaign.id, { tierId, amount: cny(100) })).status).toBe(201);
    expect(await wallet(backer!)).toEqual({ available: '9000', held: '1000' });
  });
});

describe('idempotency', () => {
  it('replays a pledge under the same key, refuses the key for another body, and requires a key', async () => {
    const [creator, backer] = await Promise.all([signUp(['creator']), signUp(['backer'])]);
    await fund(backer!, 5_000);
    const campaign = await liveCampaign(creator!, { goal: 1_000, endsInMs: farEndMs });
    const body = { tierId: campaign.tiers[0].id, amount: cny(1_000) };

    const keyless = await api('POST', '/v1/campaigns/{id}/pledges', { id: campaign.id }, { token: backer!.token, body });
    expect(keyless.status).toBe(400);
    expect(keyless.body).toMatchObject({ code: 'IDEMPOTENCY_KEY_REQUIRED', errors: [{ path: 'headers.idempotency-key', message: 'required' }] });

    const key = newKey('replay');
    const first = await pledge(backer!, campaign.id, body, key);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    const replay = await pledge(backer!, campaign.id, body, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(first.text);
    const reused = await pledge(backer!, campaign.id, { ...body, amount: cny(2_000) }, key);
    expect(reused.status).toBe(422);
    expect(reused.body.code).toBe('IDEMPOTENCY_KEY_REUSED');

    // Concurrent retries of one key: one pledge; the others replay it or are told it is still running.
    const raceKey = newKey('race');
    const racing = await Promise.all(Array.from({ length: 5 }, () => pledge(backer!, campaign.id, body, raceKey)));
    for (const response of racing) expect([201, 409]).toContain(response.status);
    expect(new Set(racing.filter((response) => response.status === 201).map((response) => response.body.pledgeId)).size).toBe(1);

    expect(await wallet(backer!)).toEqual({ available: '3000', held: '2000' });
    const after = await getCampaign(campaign.id, creator!.token);
    expect({ remaining: after.tiers[0].remaining, pledges: after.pledgesCount }).toEqual({ remaining: 98, pledges: 2 });
  });

  it('replays a campaign creation under the same key and requires a key', async () => {
    const creator = await signUp(['creator']);
    const body = campaignBody({ goal: 1_000, endsInMs: farEndMs });
    const key = newKey('create');
    const first = await api('POST', '/v1/campaigns', {}, { token: creator.token, body, key });
    const replay = await api('POST', '/v1/campaigns', {}, { token: creator.token, body, key });
    expect([first.status, replay.status]).toEqual([201, 201]);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.text).toBe(first.text);
    const keyless = await api('POST', '/v1/campaigns', {}, { token: creator.token, body });
    expect(keyless.status).toBe(400);
    expect(keyless.body.code).toBe('IDEMPOTENCY_KEY_REQUIRED');
    const drafts = await api('GET', '/v1/campaigns?state=draft', {}, { token: creator.token });
    expect(drafts.body.items.map((campaign: { id: string }) => campaign.id)).toEqual([first.body.id]);
  });
});

describe('ownership and visibility', () => {
  it('hides drafts from everyone but their creator', async () => {
    const [owner, otherCreator, backer] = await Promise.all([signUp(['creator']), signUp(['creator']), signUp(['backer'])]);
    const draft = await createCampaign(owner!, { goal: 1_000, endsInMs: farEndMs });

    expect((await getCampaign(draft.id, owner!.token)).state).toBe('draft');
    for (const other of [otherCreator!, backer!]) {
      const hidden = await api('GET', '/v1/campaigns/{id}', { id: draft.id }, { token: other.token });
      expect(hidden.status).toBe(404);
      const unknown = await api('GET', '/v1/campaigns/{id}', { id: 'cp_0000000000000000000000000000' }, { token: other.token });
      expect(unknown.status).toBe(404);
    }
    const launchByOther = await api('POST', '/v1/campaigns/{id}/launch', { id: draft.id }, { token: otherCreator!.token });
    expect(launchByOther.status).toBe(404);
    const ownDrafts = await api('GET', '/v1/campaigns?state=draft&limit=100', {}, { token: owner!.token });
    expect(ownDrafts.body.items.map((campaign: { id: string }) => campaign.id)).toEqual([draft.id]);
    const othersDrafts = await api('GET', '/v1/campaigns?state=draft&limit=100', {}, { token: otherCreator!.token });
    expect(othersDrafts.body.items).toEqual([]);
    const everything = await collectCampaignIds(backer!.token, '');
    expect(everything).not.toContain(draft.id);

    await api('POST', '/v1/campaigns/{id}/launch', { id: draft.id }, { token: owner!.token });
    expect((await getCampaign(draft.id, backer!.token)).state).toBe('live');
    expect(await collectCampaignIds(backer!.token, 'state=live&')).toContain(draft.id);
    const relaunch = await api('POST', '/v1/campaigns/{id}/launch', { id: draft.id }, { token: otherCreator!.token });
    expect(relaunch.status).toBe(403);
  });

  it("answers 404 to a stranger for someone's pledge and for a campaign's pledge list, worded as for an unknown id", async () => {
    const [owner, backer, strangerBacker, strangerCreator] = await Promise.all([signUp(['creator']), signUp(['backer']), signUp(['backer']), signUp(['creator'])]);
    await fund(backer!, 5_000);
    const campaign = await liveCampaign(owner!, { goal: 1_000, endsInMs: farEndMs });
    const first = (await pledge(backer!, campaign.id, { tierId: campaign.tiers[0].id, amount: cny(1_000) })).body;
    const second = (await pledge(backer!, campaign.id, { amount: cny(500) })).body;

    for (const viewer of [backer!, owner!, regulator, admin]) expect((await getPledge(first.pledgeId, viewer.token)).pledgeId).toBe(first.pledgeId);
    for (const stranger of [strangerBacker!, strangerCreator!]) {
      const hidden = await api('GET', '/v1/pledges/{id}', { id: first.pledgeId }, { token: stranger.token });
      const unknown = await api('GET', '/v1/pledges/{id}', { id: 'pl_0000000000000000000000000000' }, { token: stranger.token });
      expect([hidden.status, unknown.status]).toEqual([404, 404]);
      expect(Object.keys(hidden.body).sort()).toEqual(Object.keys(unknown.body).sort());
      expect(hidden.body.detail.replace(first.pledgeId, '<id>')).toBe(unknown.body.detail.replace('pl_0000000000000000000000000000', '<id>'));

      const list = await api('GET', '/v1/campaigns/{id}/pledges', { id: campaign.id }, { token: stranger.token });
      expect(list.status).toBe(404);
      expect(list.body.code).toBe('NOT_FOUND');
    }

    for (const viewer of [owner!, regulator, admin]) {
      const list = await api('GET', '/v1/campaigns/{id}/pledges', { id: campaign.id }, { token: viewer.token });
      expect(list.status).toBe(200);
      expect(list.body.items.map((item: { pledgeId: string }) => item.pledgeId).sort()).toEqual([first.pledgeId, second.pledgeId].sort());
    }
    const page = await api('GET', '/v1/campaigns/{id}/pledges?limit=1', { id: campaign.id }, { token: owner!.token });
    expect(page.body.items).toHaveLength(1);
    const rest = await api('GET', '/v1/campaigns/{id}/pledges?limit=1&cursor=' + encodeURIComponent(page.body.nextCursor), { id: campaign.id }, { token: owner!.token });
    expect(rest.body.items).toHaveLength(1);
    expect(rest.body.items[0].pledgeId).not.toBe(page.body.items[0].pledgeId);
    // A cursor is a position in id order: any well-formed id is one, given out or not.
    const pastAll = await api('GET', '/v1/campaigns/{id}/pledges?cursor=zzzz', { id: campaign.id }, { token: owner!.token });
    expect(pastAll.body).toEqual({ items: [], nextCursor: null });
    const malformed = await api('GET', '/v1/campaigns/{id}/pledges?cursor=not%20an%20id', { id: campaign.id }, { token: owner!.token });
    expect(malformed.body).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', errors: [{ path: 'query.cursor' }] });
  });
});

describe('delivery', () => {
  async function deliveringCampaign() {
    const [creator, major, minor, outsider] = await Promise.all([signUp(['creator']), signUp(['backer']), signUp(['backer']), signUp(['backer'])]);
    await Promise.all([fund(major!, 10_000), fund(minor!, 10_000)]);
    const campaign = await liveCampaign(creator!, {
      goal: 4_000,
      endsInMs: soonEndMs,
      milestones: [
        { title: 'Prototype shipped', shareBps: 4_000, dueInMs: 60_000 },
        { title: 'Units delivered', shareBps: 6_000, dueInMs: 120_000 },
      ],
    });
    expect(campaign.milestones.map((milestone: { index: number; state: string; amount: unknown }) => [milestone.index, milestone.state, milestone.amount])).toEqual([
      [0, 'planned', cny(0)],
      [1, 'planned', cny(0)],
    ]);
    const tierId = campaign.tiers[0].id as string;
    const majorPledge = (await pledge(major!, campaign.id, { tierId, amount: cny(3_000) })).body;
    const minorPledge = (await pledge(minor!, campaign.id, { tierId, amount: cny(2_000) })).body;
    const delivering = await settled(campaign.id, creator!.token, ['delivering', 'failed']);
    expect(delivering.state).toBe('delivering');
    // Net 4750 (5000 less the 5 % fee) split 40/60.
    expect(delivering.payout).toEqual({ collected: cny(5_000), fee: cny(250), net: cny(4_750) });
    expect(delivering.milestones.map((milestone: { state: string; amount: unknown }) => [milestone.state, milestone.amount])).toEqual([
      ['open', cny(1_900)],
      ['waiting', cny(2_850)],
    ]);
    return { creator: creator!, major: major!, minor: minor!, outsider: outsider!, campaign, majorPledge, minorPledge };
  }

  const accept = (participant: Participant, campaignId: string, n: number | string) =>
    api('POST', '/v1/campaigns/{id}/milestones/{n}/accept', { id: campaignId, n }, { token: participant.token });

  it('releases each milestone to the creator once backers holding more than half of the money accept it', async () => {
    const { creator, major, minor, outsider, campaign, majorPledge } = await deliveringCampaign();

    const notABacker = await accept(outsider, campaign.id, 0);
    expect(notABacker.status).toBe(403);
    expect(notABacker.body.code).toBe('PERMISSION_DENIED');
    // 2000 of 5000 is not a majority: the vote counts, nothing is released.
    const minority = await accept(minor, campaign.id, 0);
    expect(minority.status).toBe(200);
    expect(minority.body.milestones[0].state).toBe('open');
    expect(await wallet(creator)).toEqual({ available: '0', held: '0' });
    const notOpen = await accept(major, campaign.id, 1);
    expect(notOpen.status).toBe(422);
    expect(notOpen.body.code).toBe('INVALID_STATE');

    const majority = await accept(major, campaign.id, 0);
    expect(majority.status).toBe(200);
    expect(majority.body.milestones.map((milestone: { state: string }) => milestone.state)).toEqual(['released', 'open']);
    expect(majority.body.milestones[0].releasedAt).toEqual(expect.stringMatching(/Z$/));
    expect(await wallet(creator)).toEqual({ available: '1900', held: '0' });
    expect((await accept(major, campaign.id, 0)).status).toBe(422);
    expect((await accept(major, campaign.id, 5)).status).toBe(404);

    const last = await accept(major, campaign.id, 1);
    expect(last.status).toBe(200);
    expect(last.body.state).toBe('delivered');
    expect(last.body.milestones.map((milestone: { state: string }) => milestone.state)).toEqual(['released', 'released']);
    expect(await wallet(creator)).toEqual({ available: '4750', held: '0' });
    expect(await wallet(major)).toEqual({ available: '7000', held: '0' });
    expect(await wallet(minor)).toEqual({ available: '8000', held: '0' });
    expect((await getPledge(majorPledge.pledgeId, major.token)).state).toBe('collected');
    expect(await accountBalance(`escrow:campaign:${campaign.id}:CNY`)).toBe(0n);

    const tooLate = await api('POST', '/v1/campaigns/{id}/delivery-failure', { id: campaign.id }, { token: admin.token });
    expect(tooLate.status).toBe(422);
    expect(tooLate.body.code).toBe('INVALID_STATE');
  });

  it('refunds the unreleased money pro rata when an admin records a delivery failure', async () => {
    const { creator, major, minor, campaign, majorPledge, minorPledge } = await deliveringCampaign();
    expect((await accept(major, campaign.id, 0)).status).toBe(200);
    expect(await wallet(creator)).toEqual({ available: '1900', held: '0' });

    const byBacker = await api('POST', '/v1/campaigns/{id}/delivery-failure', { id: campaign.id }, { token: major.token });
    expect(byBacker.status).toBe(403);
    const failed = await api('POST', '/v1/campaigns/{id}/delivery-failure', { id: campaign.id }, { token: admin.token });
    expect(failed.status).toBe(200);
    expect(failed.body.state).toBe('delivery_failed');
    expect(failed.body.milestones.map((milestone: { state: string }) => milestone.state)).toEqual(['released', 'refunded']);
    // The unreleased 2850 goes back 3000 : 2000; the released 1900 and the 250 fee stay.
    expect(await getPledge(majorPledge.pledgeId, major.token)).toMatchObject({ state: 'refunded', refundedAmount: cny(1_710), refundReason: 'delivery_failed' });
    expect(await getPledge(minorPledge.pledgeId, minor.token)).toMatchObject({ state: 'refunded', refundedAmount: cny(1_140), refundReason: 'delivery_failed' });
    expect(await wallet(major)).toEqual({ available: String(10_000 - 3_000 + 1_710), held: '0' });
    expect(await wallet(minor)).toEqual({ available: String(10_000 - 2_000 + 1_140), held: '0' });
    expect(await wallet(creator)).toEqual({ available: '1900', held: '0' });
    expect(await accountBalance(`escrow:campaign:${campaign.id}:CNY`)).toBe(0n);

    const again = await api('POST', '/v1/campaigns/{id}/delivery-failure', { id: campaign.id }, { token: admin.token });
    expect(again.status).toBe(200);
    expect(await wallet(major)).toEqual({ available: String(10_000 - 3_000 + 1_710), held: '0' });
  });
});

describe('input and access', () => {
  it('checks shapes at the gateway and campaign rules in escrow, both as 400 naming the field', async () => {
    const [creator, backer] = await Promise.all([signUp(['creator']), signUp(['backer'])]);
    const create = (body: unknown, token = creator!.token) => api('POST', '/v1/campaigns', {}, { token, body, key: newKey('bad') });

    const shapeless = await create({ title: '', goal: { currency: 'CNY', amountMinor: '0' }, fundingModel: 'maybe', endsAt: 'tomorrow', tiers: [{ title: 'x', price: cny(1), quantity: 0 }] });
    expect(shapeless.status).toBe(400);
    expect(shapeless.body.errors.map((issue: { path: string }) => issue.path).sort()).toEqual(
      ['body.deliveryDate', 'body.description', 'body.endsAt', 'body.fundingModel', 'body.goal.amountMinor', 'body.tiers[0].quantity', 'body.title'].sort(),
    );
    const tooSoon = await create(campaignBody({ goal: 1_000, endsInMs: 100 }));
    expect(tooSoon.status).toBe(400);
    expect(tooSoon.body).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'endsAt' });
    const shares = await create(campaignBody({ goal: 1_000, endsInMs: farEndMs, milestones: [{ title: 'Half', shareBps: 5_000, dueInMs: farEndMs + 60_000 }] }));
    expect(shares.status).toBe(400);
    expect(shares.body).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'milestones' });
    // Escrow's own field limits are the document's: checked at the gateway, in characters (code points).
    const longTitle = await create({ ...campaignBody({ goal: 1_000, endsInMs: farEndMs }), title: 'x'.repeat(121) });
    expect(longTitle.body).toMatchObject({ status: 400, code: 'LIMIT_EXCEEDED', errors: [{ path: 'body.title' }] });
    const teapots = await create({ ...campaignBody({ goal: 1_000, endsInMs: farEndMs }), title: '🫖'.repeat(120) });
    expect(teapots.status).toBe(201);
    const blank = await create({ ...campaignBody({ goal: 1_000, endsInMs: farEndMs }), description: ' \n\u3000' });
    expect(blank.body).toMatchObject({ status: 400, code: 'INVALID_ARGUMENT', errors: [{ path: 'body.description' }] });
    const beyond = await create({
      ...campaignBody({ goal: 1_000, endsInMs: farEndMs }),
      goal: cny('1000000000001'),
      tiers: Array.from({ length: 21 }, (_, index) => ({ title: `Tier ${index}`, price: cny(1), quantity: 1_000_001 })),
    });
    expect(beyond.body).toMatchObject({ status: 400, code: 'LIMIT_EXCEEDED' });
    expect(beyond.body.errors.map((issue: { path: string }) => issue.path)).toEqual(expect.arrayContaining(['body.goal.amountMinor', 'body.tiers']));
    const tooMany = await create({ ...campaignBody({ goal: 1_000, endsInMs: farEndMs }), tiers: [{ title: 'All', price: cny(1), quantity: 1_000_001 }] });
    expect(tooMany.body).toMatchObject({ status: 400, code: 'LIMIT_EXCEEDED', errors: [{ path: 'body.tiers[0].quantity' }] });
    const atBounds = await create({ ...campaignBody({ goal: 1_000, endsInMs: farEndMs }), goal: cny('1000000000000'), tiers: [{ title: 'All', price: cny(1), quantity: 1_000_000 }] });
    expect(atBounds.status).toBe(201);
    // Times may carry an offset; answers are UTC.
    const endsAt = new Date(Math.floor((Date.now() + farEndMs) / 1_000) * 1_000);
    const beijing = new Date(endsAt.getTime() + 8 * 3_600_000).toISOString().replace(/\.000Z$/, '+08:00');
    const offset = await create({ ...campaignBody({ goal: 1_000, endsInMs: farEndMs }), endsAt: beijing });
    expect(offset.status).toBe(201);
    expect(offset.body.endsAt).toBe(endsAt.toISOString());

    expect((await create(campaignBody({ goal: 1_000, endsInMs: farEndMs }), backer!.token)).status).toBe(403);
    const anonymous = await api('GET', '/v1/campaigns', {}, {});
    expect(anonymous.status).toBe(401);
    expect((await api('GET', '/v1/campaigns?limit=101', {}, { token: backer!.token })).body.code).toBe('LIMIT_EXCEEDED');
    expect((await api('GET', '/v1/campaigns?state=open', {}, { token: backer!.token })).status).toBe(400);
    expect((await api('GET', '/v1/campaigns/{id}', { id: 'not an id' }, { token: backer!.token })).status).toBe(400);
    expect((await api('POST', '/v1/campaigns/{id}/milestones/{n}/accept', { id: 'cp_x', n: 'first' }, { token: backer!.token })).status).toBe(400);
    const atIndexMax = await api('POST', '/v1/campaigns/{id}/milestones/{n}/accept', { id: 'cp_x', n: milestoneIndexMax }, { token: backer!.token });
    expect(atIndexMax.body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    const pastIndex = await api('POST', '/v1/campaigns/{id}/milestones/{n}/accept', { id: 'cp_x', n: milestoneIndexMax + 1 }, { token: backer!.token });
    expect(pastIndex.body).toMatchObject({ status: 400, code: 'LIMIT_EXCEEDED' });
    const accountIdOfLength = (length: number) => `wallet:${'a'.repeat(length - 'wallet:'.length - ':CNY'.length)}:CNY`;
    const atAccountIdMax = await api('GET', '/v1/ledger/accounts/{accountId}', { accountId: `external:${'a'.repeat(96)}:CNY` }, { token: regulator.token });
    expect(accountIdLengthMax).toBe(`external:${'a'.repeat(96)}:CNY`.length);
    expect(atAccountIdMax.body).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    // Ids escrow could never read are malformed, not unknown.
    for (const accountId of ['savings:pt_1:CNY', `wallet:${'a'.repeat(97)}:CNY`, 'wallet:pt_1:cny', 'wallet::CNY']) {
      const malformed = await api('GET', '/v1/ledger/accounts/{accountId}', { accountId }, { token: regulator.token });
      expect({ accountId, ...malformed.body }).toMatchObject({ accountId, status: 400, code: 'INVALID_ARGUMENT' });
    }
    const pastAccountIdMax = await api('GET', '/v1/ledger/accounts/{accountId}', { accountId: accountIdOfLength(accountIdLengthMax + 1) }, { token: regulator.token });
    expect(pastAccountIdMax.body).toMatchObject({ status: 400, code: 'LIMIT_EXCEEDED' });
    expect((await api('GET', '/v1/ledger/accounts/{accountId}', { accountId: feeAccountId }, { token: backer!.token })).status).toBe(403);
    expect((await api('GET', '/v1/ledger/accounts/{accountId}', { accountId: 'escrow:campaign:cp_nothing:CNY' }, { token: regulator.token })).status).toBe(404);
  });

  it('answers 503 UNAVAILABLE naming campaign operations when the gateway has no escrow address', async () => {
    const detached = await startTestGateway({ label: 'gateway-campaigns-detached' });
    try {
      const creator = await signUpAndSignIn(detached.http, ['creator']);
      const answers = [
        ['/v1/campaigns', 'GET', await detached.http.get('/v1/campaigns', { token: creator.token })],
        ['/v1/campaigns', 'POST', await detached.http.post('/v1/campaigns', campaignBody({ goal: 1_000, endsInMs: farEndMs }), { token: creator.token, headers: { 'Idempotency-Key': 'detached' } })],
        ['/v1/pledges/{id}', 'GET', await detached.http.get('/v1/pledges/pl_x', { token: creator.token })],
      ] as const;
      for (const [template, method, response] of answers) {
        conformance.expectConforms(template, method, response);
        expect({ template, status: response.status, code: response.body.code }).toEqual({ template, status: 503, code: 'UNAVAILABLE' });
        expect(response.body.detail).toBe('campaign operations are not available: this gateway is not connected to the escrow service');
      }
    } finally {
      await detached.close();
    }
  });
});

/** Every campaign id a participant can list, across pages of 100. */
async function collectCampaignIds(token: string, filter: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | null = null;
  do {
    const response: HttpResponse = await api('GET', `/v1/campaigns?${filter}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`, {}, { token });
    expect(response.status).toBe(200);
    ids.push(...response.body.items.map((campaign: { id: string }) => campaign.id));
    cursor = response.body.nextCursor;
  } while (cursor !== null);
  return ids;
}
