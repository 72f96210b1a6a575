// Proves the equity routes end to end — real HTTP → gateway → real gRPC → the real equity, escrow and credit services (MongoDB-wire server, Kafka, equity's scheduler): every refusal of the issue (LEAD_REQUIRED, LEAD_SHARE_TOO_SMALL, LEAD_NOT_QUALIFIED, INVESTOR_LIMIT_EXCEEDED, COOLING_OFF_ENDED, ROUND_FULL for the investor after the maximum, 200 included), an oversubscribed round closed pro rata with exact refunds, wallets, fee, proceeds and cap table, a failed round returning everything, the lead's credit history, ownership (404s), regulator reads audited, and the stored profile holding no plaintext income or net worth; every answer checked against /openapi.json.
import { connectMongo, createLogger, loadConfig, type ParticipantRole } from '@sizhong/kit';
import { eventually as eventuallyWithin, startTestService, type TestService, testDatabaseName, testInfrastructure, testTopicPrefix } from '@sizhong/testkit';
import { creditConfigShape } from '../../services/credit/src/config';
import { creditService, type CreditUseCases } from '../../services/credit/src/credit-service';
import { equityConfigShape } from '../../services/equity/src/config';
import { equityService, type EquityUseCases } from '../../services/equity/src/equity-service';
import { signPayload } from '../../services/escrow/src/app/payment-provider';
import { escrowConfigShape } from '../../services/escrow/src/config';
import { type RunningEscrow, startEscrow } from '../../services/escrow/src/escrow-service';
import { Conformance, type OpenApi } from './support/conformance';
import { createPrivilegedParticipant, type HttpResponse, postHonouringRetryAfter, signUpAndSignIn, startTestGateway, type TestGateway, testPassword, uniqueEmail } from './support/test-gateway';

jest.setTimeout(120_000);

const webhookSecret = 'equity-e2e-webhook-secret-0123456789abcdef';
const feeAccountId = 'fee:platform:CNY';
/** Rounds ending within this are inside the cooling-off window from the start; rounds ending in 10 minutes are not. */
const coolingOffMs = 20_000;
const farEndMs = 10 * 60_000;

let escrow: RunningEscrow;
let escrowDatabase: string;
let credit: TestService<CreditUseCases>;
let equity: TestService<EquityUseCases>;
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
  escrowDatabase = testDatabaseName('gateway-equity-escrow');
  escrow = await startEscrow(
    loadConfig(escrowConfigShape, {
      MONGO_URL: infrastructure.mongoUrl,
      KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
      ESCROW_DATABASE: escrowDatabase,
      KAFKA_TOPIC_PREFIX: testTopicPrefix('gateway-equity-escrow'),
      PSP_WEBHOOK_SECRET: webhookSecret,
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      PLATFORM_FEE_BPS: '500',
    }),
    { logger: createLogger({ service: 'escrow', level: 'silent' }) },
  );
  credit = await startTestService(creditService, creditConfigShape, { label: 'gateway-equity-credit' });
  // Equity publishes on credit's topic prefix, so credit scores equity's own events.
  equity = await startTestService(equityService, equityConfigShape, {
    label: 'gateway-equity',
    environment: {
      ESCROW_GRPC_ADDRESS: escrow.address,
      CREDIT_GRPC_ADDRESS: credit.address,
      KAFKA_TOPIC_PREFIX: credit.topicPrefix,
      EQUITY_PROFILE_KEY: 'equity-e2e-profile-key-0123456789abcdef',
      DEADLINE_MIN_MS: '1000',
      EQUITY_COOLING_OFF_MS: String(coolingOffMs),
      PLATFORM_FEE_BPS: '500',
    },
  });
  test = await startTestGateway({
    label: 'gateway-equity',
    environment: { ESCROW_GRPC_ADDRESS: escrow.address, EQUITY_GRPC_ADDRESS: equity.address, CREDIT_GRPC_ADDRESS: credit.address },
  });
  conformance = new Conformance((await test.http.get('/openapi.json')).body as OpenApi);
  [regulator, admin] = await Promise.all([createPrivilegedParticipant(test, ['regulator']), createPrivilegedParticipant(test, ['admin'])]);
});

afterAll(async () => {
  await test?.close();
  await equity?.stop();
  await credit?.stop();
  await escrow?.stop();
  const mongo = await connectMongo(testInfrastructure().mongoUrl, escrowDatabase);
  await mongo.db.dropDatabase();
  await mongo.close();
});

const cny = (amountMinor: string | number | bigint) => ({ currency: 'CNY', amountMinor: String(amountMinor) });

let keyCounter = 0;
function newKey(label: string): string {
  keyCounter += 1;
  return `${label}-${Date.now()}-${keyCounter}`;
}

async function api(method: 'GET' | 'POST' | 'PUT', template: string, params: Record<string, string | number>, options: { token?: string; body?: unknown; key?: string } = {}): Promise<HttpResponse> {
  const path = template.replace(/\{(\w+)\}/g, (_match, name: string) => encodeURIComponent(String(params[name])));
  const headers: Record<string, string> = options.key === undefined ? {} : { 'Idempotency-Key': options.key };
  const response = await test.http.request(method, path, { ...(options.body === undefined ? {} : { body: options.body }), ...(options.token ? { token: options.token } : {}), headers });
  conformance.expectConforms(template.replace(/\?.*$/, ''), method, response);
  return response;
}

async function signUp(roles: readonly string[]): Promise<Participant> {
  return signUpAndSignIn(test.http, roles);
}

/** Sign-up through HTTP, token from the gateway's AccessTokens: for crowds (each sign-in costs a scrypt hash). */
async function signUpWithoutSignIn(roles: readonly ParticipantRole[]): Promise<Participant> {
  const signup = await postHonouringRetryAfter(test.http, '/v1/auth/signup', { email: uniqueEmail('crowd'), password: testPassword, displayName: 'Crowd investor', roles });
  expect(signup.status).toBe(201);
  const participantId = signup.body.participantId as string;
  return { participantId, token: (await test.gateway.services.tokens.issue({ participantId, roles })).accessToken };
}

async function fund(participant: Participant, amountMinor: number): Promise<void> {
  keyCounter += 1;
  const body = JSON.stringify({ id: `evt_equity_${Date.now()}_${keyCounter}`, type: 'deposit.succeeded', participantId: participant.participantId, amount: cny(amountMinor) });
  const signature = signPayload(new TextEncoder().encode(webhookSecret), body, Math.floor(Date.now() / 1_000));
  const response = await test.http.request('POST', '/v1/psp/webhooks', { rawBody: body, headers: { 'content-type': 'application/json', 'sizhong-signature': signature } });
  expect(response.status).toBe(200);
}

async function wallet(participant: Participant): Promise<{ available: string; held: string }> {
  const response = await api('GET', '/v1/wallet', {}, { token: participant.token });
  expect(response.status).toBe(200);
  return { available: response.body.available.amountMinor, held: response.body.held.amountMinor };
}

async function accountAvailable(accountId: string): Promise<bigint> {
  const response = await api('GET', '/v1/ledger/accounts/{accountId}', { accountId }, { token: regulator.token });
  if (response.status === 404) return 0n;
  expect(response.status).toBe(200);
  return BigInt(response.body.available.amountMinor);
}

async function profile(investor: Participant, income: number, netWorth: number, accredited: boolean): Promise<HttpResponse> {
  const response = await api('PUT', '/v1/investors/me/profile', {}, { token: investor.token, body: { annualIncome: cny(income), netWorth: cny(netWorth), accredited } });
  expect(response.status).toBe(200);
  return response;
}

async function createRound(issuer: Participant, options: { target: number; maximum: number; price: number; endsInMs: number; investorsMax?: number }) {
  const body = {
    title: 'Seed round of a lamp maker',
    target: cny(options.target),
    maximum: cny(options.maximum),
    pricePerShare: cny(options.price),
    endsAt: new Date(Date.now() + options.endsInMs).toISOString(),
    leadMinBps: 500,
    leadCarryBps: 2_000,
    ...(options.investorsMax === undefined ? {} : { investorsMax: options.investorsMax }),
  };
  const created = await api('POST', '/v1/rounds', {}, { token: issuer.token, body, key: newKey('round') });
  expect(created.status).toBe(201);
  return created.body;
}

const lead = (investor: Participant, roundId: string, amountMinor: number, key = newKey('lead')) => api('POST', '/v1/rounds/{id}/lead', { id: roundId }, { token: investor.token, body: { amount: cny(amountMinor) }, key });
const follow = (investor: Participant, roundId: string, amountMinor: number, key = newKey('commit')) => api('POST', '/v1/rounds/{id}/commitments', { id: roundId }, { token: investor.token, body: { amount: cny(amountMinor) }, key });

async function getRound(roundId: string, token: string) {
  const response = await api('GET', '/v1/rounds/{id}', { id: roundId }, { token });
  expect(response.status).toBe(200);
  return response.body;
}

/** Credit and the close can lag on a busy machine: a longer bound than testkit's default. */
const eventually = <T>(probe: () => Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = 40_000): Promise<T> => eventuallyWithin(probe, accept, what, timeoutMs);

/**
 * A fresh platform has no lead track record: an accredited profile (already PUT) reaches credit as
 * InvestorProfileUpdated, and the score (600 + 60 ACCREDITED_INVESTOR = 660 ≥ 650) qualifies the lead.
 */
async function qualifiedByAccreditation(investor: Participant): Promise<void> {
  await eventually(() => creditScore(investor, investor), (score) => score === 660, 'credit to score the accreditation (660)');
}

async function creditScore(of: Participant, reader: Participant): Promise<number> {
  const response = await api('GET', '/v1/participants/{id}/credit', { id: of.participantId }, { token: reader.token });
  expect(response.status).toBe(200);
  return response.body.score as number;
}

describe('investor profiles', () => {
  it('answer the limit; only the investor and regulators read them (audited); the database holds no plaintext income or net worth', async () => {
    const investor = await signUp(['investor']);
    // Income 87 654 321.09 CNY and net worth 12 345 678.90 CNY: digits that cannot appear by chance.
    const put = await profile(investor, 8_765_432_109, 1_234_567_890, false);
    // Both at or above the 124 000 threshold: 10% of the greater, capped at 124 000 (12 400 000 fen).
    expect(put.body).toMatchObject({ investorId: investor.participantId, accredited: false, limit12Months: cny(12_400_000), used: cny(0), annualIncome: cny(8_765_432_109) });
    const small = await profile(investor, 3_000_000, 1_000_000, false);
    expect(small.body.limit12Months).toEqual(cny(250_000));

    const own = await api('GET', '/v1/investors/{id}/profile', { id: 'me' }, { token: investor.token });
    expect(own.status).toBe(200);
    const stranger = await signUp(['investor']);
    expect((await api('GET', '/v1/investors/{id}/profile', { id: investor.participantId }, { token: stranger.token })).status).toBe(404);
    const read = await api('GET', '/v1/investors/{id}/profile', { id: investor.participantId }, { token: regulator.token });
    expect(read.status).toBe(200);
    expect(read.body.netWorth).toEqual(cny(1_000_000));
    const audit = await test.http.get(`/v1/audit/regulator-reads?regulatorId=${regulator.participantId}`, { token: admin.token });
    expect(audit.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ route: 'GET /v1/investors/{id}/profile', subject: { kind: 'investor-profile', id: investor.participantId } })]));

    await profile(investor, 8_765_432_109, 1_234_567_890, false);
    const mongo = await connectMongo(testInfrastructure().mongoUrl, equity.database);
    try {
      const stored = await mongo.db.collection('investors').findOne({ _id: investor.participantId as never });
      const text = JSON.stringify(stored, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
      expect(text).not.toContain('8765432109');
      expect(text).not.toContain('1234567890');
      expect(text).toContain('ciphertext');
    } finally {
      await mongo.close();
    }
  });
});

describe('an oversubscribed round', () => {
  it('refuses what the rules refuse, then closes pro rata with exact refunds, wallets, fee, proceeds, cap table and credit history', async () => {
    const issuer = await signUp(['issuer']);
    const [leader, unqualified, a, b, c, small, stranger] = await Promise.all([0, 1, 2, 3, 4, 5, 6].map(() => signUp(['investor'])));
    const investors = [leader!, unqualified!, a!, b!, c!, small!, stranger!];
    for (const investor of investors) await fund(investor, 2_000_000);
    await profile(leader!, 500_000_000, 900_000_000, true);
    // Wealthy but not accredited: never a lead, whatever the score.
    await profile(unqualified!, 500_000_000, 900_000_000, false);
    for (const follower of [a!, b!, c!]) await profile(follower, 100_000_000, 100_000_000, false);
    // Below the threshold: the floor, 2 500 CNY.
    await profile(small!, 3_000_000, 1_000_000, false);
    await profile(stranger!, 3_000_000, 1_000_000, false);
    const feeBefore = await accountAvailable(feeAccountId);

    // Ends in 14 s: inside the 20 s cooling-off window from the start.
    const round = await createRound(issuer, { target: 1_000_000, maximum: 1_500_000, price: 1_000, endsInMs: 14_000 });
    expect(round).toMatchObject({ state: 'open_for_lead', lead: null, commitmentsCap: cny(2_250_000), investorsMax: 200 });

    const early = await follow(a!, round.id, 100_000);
    expect(early.status).toBe(422);
    expect(early.body.code).toBe('LEAD_REQUIRED');
    const notQualified = await lead(unqualified!, round.id, 500_000);
    expect([notQualified.status, notQualified.body.code, notQualified.body.reason]).toEqual([422, 'LEAD_NOT_QUALIFIED', 'not_accredited']);
    await qualifiedByAccreditation(leader!);
    const tooSmall = await lead(leader!, round.id, 49_000);
    expect([tooSmall.status, tooSmall.body.code]).toEqual([422, 'LEAD_SHARE_TOO_SMALL']);

    const leadKey = newKey('lead');
    const led = await lead(leader!, round.id, 500_000, leadKey);
    expect(led.status).toBe(201);
    const replay = await lead(leader!, round.id, 500_000, leadKey);
    expect([replay.status, replay.headers.get('idempotent-replayed'), replay.body.id]).toEqual([201, 'true', led.body.id]);
    const overLimit = await follow(small!, round.id, 300_000);
    expect([overLimit.status, overLimit.body.code]).toEqual([422, 'INVESTOR_LIMIT_EXCEEDED']);
    const placed = [await follow(a!, round.id, 800_000), await follow(b!, round.id, 500_000), await follow(c!, round.id, 300_000)];
    for (const response of placed) expect(response.status).toBe(201);
    const pastCap = await follow(stranger!, round.id, 200_000);
    expect([pastCap.status, pastCap.body.code]).toEqual([422, 'ROUND_FULL']);
    const cancelled = await api('POST', '/v1/commitments/{id}/cancel', { id: placed[2]!.body.id }, { token: c!.token });
    expect([cancelled.status, cancelled.body.code]).toEqual([422, 'COOLING_OFF_ENDED']);

    expect(await getRound(round.id, stranger!.token)).toMatchObject({ state: 'open', lead: leader!.participantId, committed: cny(2_100_000), investorsCount: 4 });
    expect(await wallet(a!)).toEqual({ available: '1200000', held: '800000' });
    // Ownership: another investor's commitment is 404, and so is a cap table they have no part in.
    expect((await api('GET', '/v1/commitments/{id}', { id: placed[0]!.body.id }, { token: b!.token })).status).toBe(404);
    expect((await api('POST', '/v1/commitments/{id}/cancel', { id: placed[0]!.body.id }, { token: b!.token })).status).toBe(404);
    expect((await api('GET', '/v1/rounds/{id}/cap-table', { id: round.id }, { token: stranger!.token })).status).toBe(404);
    expect((await api('GET', '/v1/commitments/{id}', { id: placed[0]!.body.id }, { token: issuer.token })).status).toBe(200);

    const closed = await eventually(() => getRound(round.id, issuer.token), (current) => current.state === 'closed', 'the scheduler to close the round');
    expect(closed).toMatchObject({ raised: cny(1_500_000), fee: cny(75_000), sharesIssued: 1_500, committed: cny(2_100_000) });
    // 1 000 shares for followers asking 800 + 500 + 300: 500, 312.5, 187.5 → 500, 313, 187 (the tied leftover share to the earlier commitment).
    const table = await eventually(() => api('GET', '/v1/rounds/{id}/cap-table', { id: round.id }, { token: c!.token }), (response) => response.status === 200, 'the cap table');
    expect(table.body).toMatchObject({ state: 'closed', lead: leader!.participantId, leadCarryBps: 2_000, sharesIssued: 1_500 });
    expect(table.body.holders).toEqual([
      { participantId: leader!.participantId, role: 'lead', shares: 500, amount: cny(500_000) },
      { participantId: a!.participantId, role: 'follower', shares: 500, amount: cny(500_000) },
      { participantId: b!.participantId, role: 'follower', shares: 313, amount: cny(313_000) },
      { participantId: c!.participantId, role: 'follower', shares: 187, amount: cny(187_000) },
    ]);
    await eventually(() => wallet(issuer), (balance) => balance.available === '1425000', "the proceeds to reach the issuer's wallet");
    expect(await wallet(leader!)).toEqual({ available: '1500000', held: '0' });
    expect(await wallet(a!)).toEqual({ available: '1500000', held: '0' });
    expect(await wallet(b!)).toEqual({ available: '1687000', held: '0' });
    expect(await wallet(c!)).toEqual({ available: '1813000', held: '0' });
    expect(await wallet(small!)).toEqual({ available: '2000000', held: '0' });
    expect(await accountAvailable(feeAccountId)).toBe(feeBefore + 75_000n);
    expect(await accountAvailable(`escrow:round:${round.id}:CNY`)).toBe(0n);
    const commitmentOfB = await api('GET', '/v1/commitments/{id}', { id: placed[1]!.body.id }, { token: b!.token });
    expect(commitmentOfB.body).toMatchObject({ state: 'allocated', shares: 313, allocatedAmount: cny(313_000), refundedAmount: cny(187_000) });
    const regulatorTable = await api('GET', '/v1/rounds/{id}/cap-table', { id: round.id }, { token: regulator.token });
    expect(regulatorTable.status).toBe(200);
    expect((await api('GET', '/v1/rounds/{id}/cap-table', { id: round.id }, { token: issuer.token })).status).toBe(200);

    // The lead's credit: 600 + 60 accredited + 25 for this round.
    await eventually(() => creditScore(leader!, leader!), (score) => score === 685, "the lead's score to reach 685");
    const history = await api('GET', '/v1/participants/{id}/credit/history', { id: leader!.participantId }, { token: leader!.token });
    expect(history.body.items[0]).toMatchObject({ score: 685 });
    const invariants = await api('GET', '/v1/ledger/invariants', {}, { token: regulator.token });
    expect(invariants.body.conserved).toBe(true);
  });
});

describe('a round that misses its target, cancellations and a full round', () => {
  it('returns every commitment when the target is missed', async () => {
    const issuer = await signUp(['issuer']);
    const [leader, follower] = await Promise.all([signUp(['investor']), signUp(['investor'])]);
    for (const investor of [leader!, follower!]) await fund(investor, 1_000_000);
    await profile(leader!, 500_000_000, 900_000_000, true);
    await profile(follower!, 100_000_000, 100_000_000, false);
    await qualifiedByAccreditation(leader!);
    const round = await createRound(issuer, { target: 1_000_000, maximum: 1_000_000, price: 1_000, endsInMs: 6_000 });
    const led = await lead(leader!, round.id, 100_000);
    const followed = await follow(follower!, round.id, 200_000);
    expect([led.status, followed.status]).toEqual([201, 201]);
    const failed = await eventually(() => getRound(round.id, issuer.token), (current) => current.state === 'failed', 'the round to fail');
    expect(failed).toMatchObject({ failureReason: 'target_not_met', committed: cny(300_000) });
    await eventually(() => api('GET', '/v1/commitments/{id}', { id: followed.body.id }, { token: follower!.token }), (response) => response.body.state === 'refunded', 'the refund');
    await eventually(() => wallet(leader!), (balance) => balance.available === '1000000' && balance.held === '0', "the lead's money back");
    expect(await wallet(follower!)).toEqual({ available: '1000000', held: '0' });
    expect(await wallet(issuer)).toEqual({ available: '0', held: '0' });
    // The failed round as lead costs 30 points: 660 − 30 = 630, below 650: an accredited investor with a bad record no longer leads.
    await eventually(() => creditScore(leader!, leader!), (score) => score === 630, "the lead's score to fall to 630");
    const next = await createRound(issuer, { target: 1_000_000, maximum: 1_000_000, price: 1_000, endsInMs: farEndMs });
    const refused = await lead(leader!, next.id, 100_000);
    expect([refused.status, refused.body.code, refused.body.reason]).toEqual([422, 'LEAD_NOT_QUALIFIED', 'score_too_low']);
  });

  it('cancels before the cooling-off window; a lead who cancels freezes follow commitments', async () => {
    const issuer = await signUp(['issuer']);
    const [leader, follower] = await Promise.all([signUp(['investor']), signUp(['investor'])]);
    for (const investor of [leader!, follower!]) await fund(investor, 1_000_000);
    await profile(leader!, 500_000_000, 900_000_000, true);
    await profile(follower!, 100_000_000, 100_000_000, false);
    await qualifiedByAccreditation(leader!);
    const round = await createRound(issuer, { target: 1_000_000, maximum: 1_000_000, price: 1_000, endsInMs: farEndMs });
    const led = await lead(leader!, round.id, 100_000);
    const followed = await follow(follower!, round.id, 200_000);
    const cancelled = await api('POST', '/v1/commitments/{id}/cancel', { id: followed.body.id }, { token: follower!.token });
    expect([cancelled.status, cancelled.body.state]).toEqual([200, 'cancelled']);
    expect(await wallet(follower!)).toEqual({ available: '1000000', held: '0' });
    expect((await api('POST', '/v1/commitments/{id}/cancel', { id: led.body.id }, { token: leader!.token })).status).toBe(200);
    expect(await getRound(round.id, issuer.token)).toMatchObject({ state: 'open_for_lead', lead: null, investorsCount: 0, committed: cny(0) });
    const frozen = await follow(follower!, round.id, 100_000);
    expect([frozen.status, frozen.body.code]).toEqual([422, 'LEAD_REQUIRED']);
  });

  it('ROUND_FULL for the investor after investorsMax (3 here)', async () => {
    const issuer = await signUp(['issuer']);
    const [leader, ...crowd] = await Promise.all([0, 1, 2, 3].map(() => signUp(['investor'])));
    for (const investor of [leader!, ...crowd]) await fund(investor, 100_000);
    await profile(leader!, 500_000_000, 900_000_000, true);
    for (const investor of crowd) await profile(investor, 100_000_000, 100_000_000, false);
    await qualifiedByAccreditation(leader!);
    const round = await createRound(issuer, { target: 100_000, maximum: 100_000, price: 100, endsInMs: farEndMs, investorsMax: 3 });
    expect((await lead(leader!, round.id, 10_000)).status).toBe(201);
    expect((await follow(crowd[0]!, round.id, 1_000)).status).toBe(201);
    expect((await follow(crowd[1]!, round.id, 1_000)).status).toBe(201);
    const fourth = await follow(crowd[2]!, round.id, 1_000);
    expect([fourth.status, fourth.body.code]).toEqual([422, 'ROUND_FULL']);
    expect(await wallet(crowd[2]!)).toEqual({ available: '100000', held: '0' });
  });
});

describe('a round at the default maximum of 200 investors', () => {
  jest.setTimeout(400_000);

  it('takes 200 investors (the lead and 199 followers) and refuses the 201st with ROUND_FULL', async () => {
    const issuer = await signUp(['issuer']);
    const leader = await signUp(['investor']);
    await fund(leader, 100_000);
    await profile(leader, 500_000_000, 900_000_000, true);
    await qualifiedByAccreditation(leader);
    const round = await createRound(issuer, { target: 100_000, maximum: 1_000_000, price: 100, endsInMs: farEndMs });
    expect(round.investorsMax).toBe(200);
    expect((await lead(leader, round.id, 10_000)).status).toBe(201);

    const crowd: Participant[] = [];
    const prepare = async () => {
      const investor = await signUpWithoutSignIn(['investor']);
      await fund(investor, 1_000);
      await profile(investor, 0, 0, false);
      crowd.push(investor);
    };
    for (let batch = 0; batch < 200; batch += 10) await Promise.all(Array.from({ length: 10 }, prepare));
    const outcomes: number[] = [];
    for (let batch = 0; batch < 199; batch += 10) {
      const slice = crowd.slice(batch, Math.min(batch + 10, 199));
      outcomes.push(...(await Promise.all(slice.map(async (investor) => (await follow(investor, round.id, 100)).status))));
    }
    expect(outcomes.filter((status) => status === 201)).toHaveLength(199);
    expect(await getRound(round.id, issuer.token)).toMatchObject({ investorsCount: 200 });
    const last = await follow(crowd[199]!, round.id, 100);
    expect([last.status, last.body.code, last.body.investorsMax]).toEqual([422, 'ROUND_FULL', 200]);
    // An investor already in the round may still add to it.
    expect((await follow(crowd[0]!, round.id, 100)).status).toBe(201);
  });
});
