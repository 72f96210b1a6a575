// Proves the task routes end to end — real HTTP → gateway → real gRPC → task-dispatch, escrow and credit on the MongoDB-wire server, Kafka and their schedulers: bidding (award refused for funds, then funded, milestones paid less the fee, a 60/40 dispute paid exactly), contests split exactly, dispatch (200 solvers racing for 50 slots, a lease expiring and its slot claimed by another, auto-acceptance after a short window, skills and CREDIT_TOO_LOW), the solver's and the enterprise's credit histories moved by the task's events (read through the API), ownership answered with 404, filters and paging, idempotent posting; every answer checked against /openapi.json and every escrow ending at zero.
import { connectMongo, createLogger, loadConfig, type ParticipantRole, randomId } from '@sizhong/kit';
import { eventually, startTestService, testDatabaseName, testInfrastructure, type TestService, testTopicPrefix } from '@sizhong/testkit';
import { creditConfigShape } from '../../services/credit/src/config';
import { creditService } from '../../services/credit/src/credit-service';
import { signPayload } from '../../services/escrow/src/app/payment-provider';
import { escrowConfigShape } from '../../services/escrow/src/config';
import { type RunningEscrow, startEscrow } from '../../services/escrow/src/escrow-service';
import { taskDispatchConfigShape } from '../../services/task-dispatch/src/config';
import { taskDispatchService, type TaskDispatchUseCases } from '../../services/task-dispatch/src/task-dispatch-service';
import { Conformance, type OpenApi } from './support/conformance';
import { createPrivilegedParticipant, type HttpResponse, signUpAndSignIn, startTestGateway, type TestGateway } from './support/test-gateway';

jest.setTimeout(180_000);

const webhookSecret = 'tasks-e2e-webhook-secret-0123456789abcdef';
const topicPrefix = testTopicPrefix('gateway-tasks');
const feeAccountId = 'fee:platform:CNY';

interface Participant {
  readonly participantId: string;
  readonly token: string;
}

/** One task-dispatch instance and the gateway in front of it; escrow and credit are shared. */
interface Stack {
  readonly taskDispatch: TestService<TaskDispatchUseCases>;
  readonly gateway: TestGateway;
  readonly conformance: Conformance;
}

let escrow: RunningEscrow;
let escrowDatabase: string;
let credit: TestService<unknown>;
/** Leases and silence windows long enough never to end during a test. */
let steady: Stack;
/** Leases of 3 s and a 3 s silence window, for the tests of what happens when they end. */
let quick: Stack;
let regulator: Participant;
let arbiter: Participant;

async function startStack(label: string, environment: Record<string, string>): Promise<Stack> {
  const taskDispatch = await startTestService(taskDispatchService, taskDispatchConfigShape, {
    label,
    environment: { ESCROW_GRPC_ADDRESS: escrow.address, CREDIT_GRPC_ADDRESS: credit.address, KAFKA_TOPIC_PREFIX: topicPrefix, PLATFORM_FEE_BPS: '500', DEADLINE_MIN_MS: '60000', ...environment },
  });
  const gateway = await startTestGateway({
    label: `${label}-gateway`,
    environment: { ESCROW_GRPC_ADDRESS: escrow.address, TASK_DISPATCH_GRPC_ADDRESS: taskDispatch.address, CREDIT_GRPC_ADDRESS: credit.address },
  });
  const conformance = new Conformance((await gateway.http.get('/openapi.json')).body as OpenApi);
  return { taskDispatch, gateway, conformance };
}

beforeAll(async () => {
  const infrastructure = testInfrastructure();
  escrowDatabase = testDatabaseName('gateway-tasks-escrow');
  escrow = await startEscrow(
    loadConfig(escrowConfigShape, {
      MONGO_URL: infrastructure.mongoUrl,
      KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
      ESCROW_DATABASE: escrowDatabase,
      KAFKA_TOPIC_PREFIX: topicPrefix,
      PSP_WEBHOOK_SECRET: webhookSecret,
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
      PLATFORM_FEE_BPS: '500',
    }),
    { logger: createLogger({ service: 'escrow', level: 'silent' }) },
  );
  credit = await startTestService(creditService, creditConfigShape, { label: 'gateway-tasks-credit', environment: { KAFKA_TOPIC_PREFIX: topicPrefix } });
  steady = await startStack('gateway-tasks-steady', { TASK_LEASE_MS: '600000', TASK_AUTO_ACCEPT_MS: '600000' });
  quick = await startStack('gateway-tasks-quick', { TASK_LEASE_MS: '3000', TASK_AUTO_ACCEPT_MS: '3000' });
  [regulator, arbiter] = await Promise.all([createPrivilegedParticipant(steady.gateway, ['regulator']), createPrivilegedParticipant(steady.gateway, ['arbiter'])]);
});

afterAll(async () => {
  for (const stack of [steady, quick]) {
    await stack?.gateway.close();
    await stack?.taskDispatch.stop();
  }
  await credit?.stop();
  await escrow?.stop();
  const mongo = await connectMongo(testInfrastructure().mongoUrl, escrowDatabase);
  await mongo.db.dropDatabase();
  await mongo.close();
});

const cny = (amountMinor: string | number | bigint) => ({ currency: 'CNY', amountMinor: String(amountMinor) });
const inDays = (days: number) => new Date(Date.now() + days * 86_400_000).toISOString();

let keyCounter = 0;
function newKey(label: string): string {
  keyCounter += 1;
  return `${label}-${Date.now()}-${keyCounter}`;
}

interface CallOptions {
  readonly token?: string;
  readonly body?: unknown;
  readonly key?: string;
  readonly stack?: Stack;
}

/** Calls `template` with its `{params}` filled in and checks the answer against /openapi.json. */
async function api(method: 'GET' | 'POST' | 'PUT', template: string, params: Record<string, string | number>, options: CallOptions = {}): Promise<HttpResponse> {
  const stack = options.stack ?? steady;
  const path = template.replace(/\{(\w+)\}/g, (_match, name: string) => encodeURIComponent(String(params[name])));
  const headers: Record<string, string> = options.key === undefined ? {} : { 'Idempotency-Key': options.key };
  const response = await stack.gateway.http.request(method, path, { ...(options.body === undefined ? {} : { body: options.body }), ...(options.token ? { token: options.token } : {}), headers });
  stack.conformance.expectConforms(template.replace(/\?.*$/, ''), method, response);
  return response;
}

async function signUp(roles: readonly ParticipantRole[], stack = steady): Promise<Participant> {
  return signUpAndSignIn(stack.gateway.http, roles);
}

/** A token from the gateway's own AccessTokens, as /v1/auth/token issues it, for crowds of solvers (each sign-up costs a scrypt hash). */
async function crowdSolver(stack = steady): Promise<Participant> {
  const participantId = randomId('pt');
  return { participantId, token: (await stack.gateway.gateway.services.tokens.issue({ participantId, roles: ['solver'] })).accessToken };
}

/**
 * Funds a wallet as the payment provider does: a signed deposit through the webhook route of the
 * gateway the participant signed up with (the stacks share escrow but not the gateways' participant
 * stores, and a deposit for a participant the gateway does not know is held in suspense).
 */
async function fund(participant: Participant, amountMinor: number, stack = steady): Promise<void> {
  keyCounter += 1;
  const body = JSON.stringify({ id: `evt_tasks_${Date.now()}_${keyCounter}`, type: 'deposit.succeeded', participantId: participant.participantId, amount: cny(amountMinor) });
  const signature = signPayload(new TextEncoder().encode(webhookSecret), body, Math.floor(Date.now() / 1_000));
  const response = await stack.gateway.http.request('POST', '/v1/psp/webhooks', { rawBody: body, headers: { 'content-type': 'application/json', 'sizhong-signature': signature } });
  expect(response.status).toBe(200);
  expect(response.body.outcome).toBe('applied');
}

async function available(participant: Participant, stack = steady): Promise<bigint> {
  const response = await api('GET', '/v1/wallet', {}, { token: participant.token, stack });
  expect(response.status).toBe(200);
  return BigInt(response.body.available.amountMinor);
}

async function accountBalance(accountId: string): Promise<bigint> {
  const response = await api('GET', '/v1/ledger/accounts/{accountId}', { accountId }, { token: regulator.token });
  expect(response.status).toBe(200);
  return BigInt(response.body.available.amountMinor);
}

interface TaskOptions {
  readonly mode: 'bidding' | 'contest' | 'dispatch';
  readonly budget: number;
  readonly milestones?: number[];
  readonly slots?: number;
  readonly skills?: string[];
  readonly minCreditScore?: number;
  readonly kind?: 'rnd' | 'service' | 'operations';
}

async function postTask(owner: Participant, options: TaskOptions, stack = steady): Promise<HttpResponse> {
  return api('POST', '/v1/tasks', {}, {
    stack,
    token: owner.token,
    key: newKey('task'),
    body: {
      title: `A ${options.mode} task`,
      description: 'Work for the e2e test',
      kind: options.kind ?? (options.mode === 'dispatch' ? 'operations' : 'rnd'),
      mode: options.mode,
      budget: cny(options.budget),
      skills: options.skills ?? [],
      deadline: inDays(3),
      ...(options.milestones ? { milestones: options.milestones.map((amount, index) => ({ title: `Milestone ${index}`, amount: cny(amount) })) } : {}),
      ...(options.slots ? { slots: options.slots } : {}),
      ...(options.minCreditScore ? { minCreditScore: options.minCreditScore } : {}),
    },
  });
}

describe('bidding', () => {
  it('refuses an award the wallet cannot fund, then pays milestones less the fee and a 60/40 dispute exactly; bids are 404 to strangers', async () => {
    const owner = await signUp(['enterprise']);
    const stranger = await signUp(['enterprise']);
    const [solver, otherSolver] = await Promise.all([signUp(['solver']), signUp(['solver'])]);
    const posted = await postTask(owner, { mode: 'bidding', budget: 10_000, milestones: [4_000, 6_000] });
    expect(posted.status).toBe(201);
    expect(posted.body).toMatchObject({ state: 'open', mode: 'bidding', funded: cny(0) });
    const taskId = posted.body.id as string;

    const bid = await api('POST', '/v1/tasks/{id}/bids', { id: taskId }, { token: solver.token, body: { price: cny(10_000), etaDays: 5, proposal: 'Two weeks, three concepts' } });
    expect(bid.status).toBe(201);
    const rival = await api('POST', '/v1/tasks/{id}/bids', { id: taskId }, { token: otherSolver.token, body: { price: cny(9_000), etaDays: 9, proposal: 'Cheaper' } });
    expect(rival.status).toBe(201);
    expect((await api('GET', '/v1/tasks/{id}/bids', { id: taskId }, { token: stranger.token })).status).toBe(404);
    const own = await api('GET', '/v1/tasks/{id}/bids', { id: taskId }, { token: otherSolver.token });
    expect(own.body.items.map((item: { bidId: string }) => item.bidId)).toEqual([rival.body.bidId]);
    expect((await api('GET', '/v1/tasks/{id}/bids', { id: taskId }, { token: owner.token })).body.items).toHaveLength(2);

    const refused = await api('POST', '/v1/tasks/{id}/award', { id: taskId }, { token: owner.token, key: newKey('award'), body: { bidId: bid.body.bidId } });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('INSUFFICIENT_FUNDS');
    expect((await api('GET', '/v1/tasks/{id}', { id: taskId }, { token: owner.token })).body.state).toBe('open');
    expect((await api('POST', '/v1/tasks/{id}/award', { id: taskId }, { token: stranger.token, key: newKey('award'), body: { bidId: bid.body.bidId } })).status).toBe(404);

    await fund(owner, 10_000);
    const feeBefore = await accountBalance(feeAccountId);
    const awarded = await api('POST', '/v1/tasks/{id}/award', { id: taskId }, { token: owner.token, key: newKey('award'), body: { bidId: bid.body.bidId } });
    expect(awarded.status).toBe(200);
    expect(awarded.body).toMatchObject({ state: 'awarded', solverId: solver.participantId, funded: cny(10_000) });
    const escrowAccountId = awarded.body.escrowAccountId as string;
    expect(await accountBalance(escrowAccountId)).toBe(10_000n);
    expect(await available(owner)).toBe(0n);

    const notTheirs = await api('POST', '/v1/tasks/{id}/milestones/{n}/submit', { id: taskId, n: 0 }, { token: otherSolver.token, body: { deliverableUrl: 'https://files.example.org/sketch.pdf' } });
    expect(notTheirs.status).toBe(404);
    const submitted = await api('POST', '/v1/tasks/{id}/milestones/{n}/submit', { id: taskId, n: 0 }, { token: solver.token, body: { deliverableUrl: 'https://files.example.org/sketch.pdf', note: 'Three sketches' } });
    expect(submitted.status).toBe(200);
    expect(submitted.body.milestones[0]).toMatchObject({ state: 'submitted', submission: { onTime: true, number: 1 } });
    const accepted = await api('POST', '/v1/tasks/{id}/milestones/{n}/accept', { id: taskId, n: 0 }, { token: owner.token });
    expect(accepted.status).toBe(200);
    expect(accepted.body.milestones[0].settlement).toMatchObject({ by: 'owner', solverPaid: cny(3_800), fee: cny(200), ownerRefunded: cny(0) });
    expect(await available(solver)).toBe(3_800n);

    await api('POST', '/v1/tasks/{id}/milestones/{n}/submit', { id: taskId, n: 1 }, { token: solver.token, body: { deliverableUrl: 'https://files.example.org/final.pdf' } });
    const rejected = await api('POST', '/v1/tasks/{id}/milestones/{n}/reject', { id: taskId, n: 1 }, { token: owner.token, body: { reason: 'The colours are off' } });
    expect(rejected.body.milestones[1]).toMatchObject({ state: 'rejected', rejections: 1, lastRejectionReason: 'The colours are off' });
    await api('POST', '/v1/tasks/{id}/milestones/{n}/submit', { id: taskId, n: 1 }, { token: solver.token, body: { deliverableUrl: 'https://files.example.org/final-2.pdf' } });
    const opened = await api('POST', '/v1/tasks/{id}/disputes', { id: taskId }, { token: solver.token, body: { milestone: 1, reason: 'The brief never named colours' } });
    expect(opened.status).toBe(201);
    expect(opened.body).toMatchObject({ state: 'open', openedBy: 'solver', amount: cny(6_000) });
    expect((await api('POST', '/v1/tasks/{id}/milestones/{n}/accept', { id: taskId, n: 1 }, { token: owner.token })).status).toBe(422);
    expect((await api('GET', '/v1/disputes/{id}', { id: opened.body.disputeId }, { token: stranger.token })).status).toBe(404);
    expect((await api('POST', '/v1/disputes/{id}/resolve', { id: opened.body.disputeId }, { token: owner.token, body: { solverShareBps: 10_000 } })).status).toBe(403);

    const resolved = await api('POST', '/v1/disputes/{id}/resolve', { id: opened.body.disputeId }, { token: arbiter.token, body: { solverShareBps: 6_000 } });
    expect(resolved.status).toBe(200);
    expect(resolved.body).toMatchObject({ state: 'resolved', solverShareBps: 6_000, settlement: { solverPaid: cny(3_420), fee: cny(180), ownerRefunded: cny(2_400) } });
    expect(await available(solver)).toBe(3_800n + 3_420n);
    expect(await available(owner)).toBe(2_400n);
    expect(await accountBalance(escrowAccountId)).toBe(0n);
    expect(await accountBalance(feeAccountId)).toBe(feeBefore + 380n);
    expect((await api('GET', '/v1/tasks/{id}', { id: taskId }, { token: solver.token })).body.state).toBe('completed');

    // Credit consumed the task's events: each participant reads, through the API, a score history
    // naming them as causes, and a profile for the role.
    for (const [participant, role] of [[solver, 'solver'], [owner, 'enterprise']] as const) {
      const history = await eventually(
        () => api('GET', `/v1/participants/{id}/credit/history?role=${role}&limit=100`, { id: participant.participantId }, { token: participant.token }),
        (found) => found.status === 200 && (found.body.items as Array<{ causeEventType: string }>).some((item) => ['TaskMilestoneAccepted', 'DisputeResolved', 'TaskCompleted'].includes(item.causeEventType)),
        `${role} credit history from task events`,
      );
      expect(history.body.items.length).toBeGreaterThan(0);
      const profile = await api('GET', `/v1/participants/{id}/credit?role=${role}`, { id: participant.participantId }, { token: participant.token });
      expect(profile.status).toBe(200);
      expect(profile.body).toMatchObject({ band: expect.any(String), modelVersion: expect.any(String), reasons: expect.any(Array) });
      expect(profile.body.score).toBeGreaterThanOrEqual(350);
      expect(profile.body.score).toBeLessThanOrEqual(950);
    }
  });

  it("keeps a milestone's deliverable, note and rejection reason between the owner, the solver, arbiters and regulators: another solver reads neither in the task nor in the list", async () => {
    const owner = await signUp(['enterprise']);
    const [solver, otherSolver] = await Promise.all([signUp(['solver']), signUp(['solver'])]);
    await fund(owner, 4_000);
    const taskId = (await postTask(owner, { mode: 'bidding', budget: 4_000, milestones: [4_000] })).body.id as string;
    const bid = await api('POST', '/v1/tasks/{id}/bids', { id: taskId }, { token: solver.token, body: { price: cny(4_000), etaDays: 5, proposal: 'Yes' } });
    expect((await api('POST', '/v1/tasks/{id}/award', { id: taskId }, { token: owner.token, key: newKey('award'), body: { bidId: bid.body.bidId } })).status).toBe(200);
    const deliverableUrl = `https://files.example.org/private/${taskId}.zip`;
    expect((await api('POST', '/v1/tasks/{id}/milestones/{n}/submit', { id: taskId, n: 0 }, { token: solver.token, body: { deliverableUrl, note: 'password in the zip comment' } })).status).toBe(200);
    expect((await api('POST', '/v1/tasks/{id}/milestones/{n}/reject', { id: taskId, n: 0 }, { token: owner.token, body: { reason: 'The trade secret in slide 3 is wrong' } })).status).toBe(200);

    const privateFields = (milestone: { submission: { deliverableUrl?: string; note?: string } | null; lastRejectionReason: string | null }) => ({
      deliverableUrl: milestone.submission?.deliverableUrl,
      note: milestone.submission?.note,
      lastRejectionReason: milestone.lastRejectionReason,
    });
    for (const reader of [owner, solver, arbiter, regulator]) {
      const task = await api('GET', '/v1/tasks/{id}', { id: taskId }, { token: reader.token });
      expect(privateFields(task.body.milestones[0])).toEqual({ deliverableUrl, note: 'password in the zip comment', lastRejectionReason: 'The trade secret in slide 3 is wrong' });
    }
    const seenByOther = await api('GET', '/v1/tasks/{id}', { id: taskId }, { token: otherSolver.token });
    expect(seenByOther.status).toBe(200);
    expect(seenByOther.body.milestones[0]).toMatchObject({ state: 'rejected', rejections: 1, submission: { number: 1 } });
    expect(privateFields(seenByOther.body.milestones[0])).toEqual({ deliverableUrl: undefined, note: undefined, lastRejectionReason: null });
    expect(JSON.stringify(seenByOther.body)).not.toContain('files.example.org/private');
    let listed: { id: string; milestones: Parameters<typeof privateFields>[0][] } | undefined;
    let cursor: string | null = null;
    do {
      const page: HttpResponse = await api('GET', `/v1/tasks?mode=bidding&limit=100${cursor ? `&cursor=${cursor}` : ''}`, {}, { token: otherSolver.token });
      listed = page.body.items.find((item: { id: string }) => item.id === taskId) ?? listed;
      cursor = page.body.nextCursor;
    } while (cursor && !listed);
    expect(listed).toBeDefined();
    expect(privateFields(listed!.milestones[0]!)).toEqual({ deliverableUrl: undefined, note: undefined, lastRejectionReason: null });
  });

  it('cancels after award returning only the milestones never handed in', async () => {
    const owner = await signUp(['enterprise']);
    const solver = await signUp(['solver']);
    await fund(owner, 5_000);
    const taskId = (await postTask(owner, { mode: 'bidding', budget: 5_000, milestones: [2_000, 3_000] })).body.id as string;
    const bid = await api('POST', '/v1/tasks/{id}/bids', { id: taskId }, { token: solver.token, body: { price: cny(5_000), etaDays: 3, proposal: 'Yes' } });
    await api('POST', '/v1/tasks/{id}/award', { id: taskId }, { token: owner.token, key: newKey('award'), body: { bidId: bid.body.bidId } });
    await api('POST', '/v1/tasks/{id}/milestones/{n}/submit', { id: taskId, n: 0 }, { token: solver.token, body: { deliverableUrl: 'https://files.example.org/a' } });
    expect((await api('POST', '/v1/tasks/{id}/cancel', { id: taskId }, { token: owner.token })).status).toBe(422);
    await api('POST', '/v1/tasks/{id}/milestones/{n}/accept', { id: taskId, n: 0 }, { token: owner.token });
    const cancelled = await api('POST', '/v1/tasks/{id}/cancel', { id: taskId }, { token: owner.token });
    expect(cancelled.status).toBe(200);
    expect(cancelled.body).toMatchObject({ state: 'cancelled', refundedAtCancellation: cny(3_000) });
    expect(await available(owner)).toBe(3_000n);
    expect(await available(solver)).toBe(1_900n);
    expect(await accountBalance(cancelled.body.escrowAccountId)).toBe(0n);
  });
});

describe('decisions already made', () => {
  it('answers six concurrent winner lists (three different) with one decision: its callers 200, the others 409 ALREADY_DECIDED naming it; only it is paid', async () => {
    const owner = await signUp(['enterprise']);
    const entrants = await Promise.all([signUp(['solver']), signUp(['solver']), signUp(['solver'])]);
    await fund(owner, 9_000);
    const taskId = (await postTask(owner, { mode: 'contest', budget: 9_000 })).body.id as string;
    const entries: string[] = [];
    for (const entrant of entrants) {
      const entered = await api('POST', '/v1/tasks/{id}/submissions', { id: taskId }, { token: entrant.token, body: { deliverableUrl: 'https://files.example.org/entry' } });
      entries.push(entered.body.submissionId as string);
    }
    const lists = entries.map((submissionId) => [{ submissionId, shareBps: 10_000 }]);
    const answers = await Promise.all(
      [0, 1, 2, 0, 1, 2].map((list) => api('POST', '/v1/tasks/{id}/winners', { id: taskId }, { token: owner.token, key: newKey('winners'), body: { winners: lists[list] } }).then((answer) => ({ list, answer }))),
    );
    const won = answers.filter(({ answer }) => answer.status === 200);
    expect(new Set(won.map(({ list }) => list)).size).toBe(1);
    const winningList = won[0]!.list;
    expect(won).toHaveLength(2);
    for (const { answer } of won) expect(answer.body.winners.map((winner: { submissionId: string }) => winner.submissionId)).toEqual([entries[winningList]]);
    for (const { answer } of answers.filter(({ list }) => list !== winningList)) {
      expect(answer.status).toBe(409);
      expect(answer.body).toMatchObject({ code: 'ALREADY_DECIDED', decision: 'winners', winners: `${entries[winningList]}:10000` });
    }
    const paid = await Promise.all(entrants.map((entrant) => available(entrant)));
    expect(paid.filter((amount) => amount > 0n)).toHaveLength(1);
    expect(paid[winningList]).toBe(8_550n);
  });

  it('tells a concurrent award it raced (409 CONCURRENT_MODIFICATION or ALREADY_DECIDED, never a replay code), a later award of another bid ALREADY_DECIDED, and the same award 200', async () => {
    const owner = await signUp(['enterprise']);
    const [first, second] = await Promise.all([signUp(['solver']), signUp(['solver'])]);
    await fund(owner, 20_000);
    const taskId = (await postTask(owner, { mode: 'bidding', budget: 5_000, milestones: [5_000] })).body.id as string;
    const bids: string[] = [];
    for (const solver of [first, second]) bids.push((await api('POST', '/v1/tasks/{id}/bids', { id: taskId }, { token: solver.token, body: { price: cny(5_000), etaDays: 3, proposal: 'Yes' } })).body.bidId);
    const raced = await Promise.all(bids.map((bidId) => api('POST', '/v1/tasks/{id}/award', { id: taskId }, { token: owner.token, key: newKey('award'), body: { bidId } })));
    const awarded = raced.find((answer) => answer.status === 200);
    expect(awarded).toBeDefined();
    const loser = raced.find((answer) => answer !== awarded)!;
    expect(loser.status).toBe(409);
    expect(['CONCURRENT_MODIFICATION', 'ALREADY_DECIDED']).toContain(loser.body.code);
    const awardedBidId = awarded!.body.awardedBidId as string;
    const otherBidId = bids.find((bidId) => bidId !== awardedBidId)!;
    const later = await api('POST', '/v1/tasks/{id}/award', { id: taskId }, { token: owner.token, key: newKey('award'), body: { bidId: otherBidId } });
    expect(later.status).toBe(409);
    expect(later.body).toMatchObject({ code: 'ALREADY_DECIDED', decision: 'award', awardedBidId });
    const same = await api('POST', '/v1/tasks/{id}/award', { id: taskId }, { token: owner.token, key: newKey('award'), body: { bidId: awardedBidId } });
    expect(same.status).toBe(200);
    expect(same.body).toMatchObject({ state: 'awarded', awardedBidId, funded: cny(5_000) });
    expect(await available(owner)).toBe(15_000n);
  });

  it('answers a decision made again 200 and a contrary one 409 ALREADY_DECIDED: accept then accept or reject, resolve with the same or another share', async () => {
    const owner = await signUp(['enterprise']);
    const solver = await signUp(['solver']);
    await fund(owner, 10_000);
    const taskId = (await postTask(owner, { mode: 'bidding', budget: 10_000, milestones: [4_000, 6_000] })).body.id as string;
    const bid = await api('POST', '/v1/tasks/{id}/bids', { id: taskId }, { token: solver.token, body: { price: cny(10_000), etaDays: 3, proposal: 'Yes' } });
    await api('POST', '/v1/tasks/{id}/award', { id: taskId }, { token: owner.token, key: newKey('award'), body: { bidId: bid.body.bidId } });
    const submit = (n: number) => api('POST', '/v1/tasks/{id}/milestones/{n}/submit', { id: taskId, n }, { token: solver.token, body: { deliverableUrl: `https://files.example.org/m${n}` } });
    expect((await submit(0)).status).toBe(200);
    expect((await submit(0)).status).toBe(200);
    expect((await api('POST', '/v1/tasks/{id}/milestones/{n}/accept', { id: taskId, n: 0 }, { token: owner.token })).status).toBe(200);
    const again = await api('POST', '/v1/tasks/{id}/milestones/{n}/accept', { id: taskId, n: 0 }, { token: owner.token });
    expect(again.status).toBe(200);
    expect(again.body.milestones[0]).toMatchObject({ state: 'accepted' });
    const contrary = await api('POST', '/v1/tasks/{id}/milestones/{n}/reject', { id: taskId, n: 0 }, { token: owner.token, body: { reason: 'Changed my mind' } });
    expect(contrary.status).toBe(409);
    expect(contrary.body).toMatchObject({ code: 'ALREADY_DECIDED', decision: 'accepted' });
    expect(await available(solver)).toBe(3_800n);

    await submit(1);
    const opened = await api('POST', '/v1/tasks/{id}/disputes', { id: taskId }, { token: solver.token, body: { milestone: 1, reason: 'Silence' } });
    const resolve = (solverShareBps: number) => api('POST', '/v1/disputes/{id}/resolve', { id: opened.body.disputeId }, { token: arbiter.token, body: { solverShareBps } });
    expect((await resolve(6_000)).status).toBe(200);
    expect((await resolve(6_000)).status).toBe(200);
    const otherShare = await resolve(3_000);
    expect(otherShare.status).toBe(409);
    expect(otherShare.body).toMatchObject({ code: 'ALREADY_DECIDED', decision: 'resolution', solverShareBps: 6_000 });
    expect(await available(solver)).toBe(3_800n + 3_420n);
  });
});

describe('arbitration', () => {
  it('refuses an arbiter who is a party to the dispute (403), and lets another arbiter resolve it', async () => {
    const ownerArbiter = await createPrivilegedParticipant(steady.gateway, ['enterprise', 'arbiter']);
    const solver = await signUp(['solver']);
    await fund(ownerArbiter, 2_000);
    const taskId = (await postTask(ownerArbiter, { mode: 'bidding', budget: 2_000, milestones: [2_000] })).body.id as string;
    const bid = await api('POST', '/v1/tasks/{id}/bids', { id: taskId }, { token: solver.token, body: { price: cny(2_000), etaDays: 3, proposal: 'Yes' } });
    await api('POST', '/v1/tasks/{id}/award', { id: taskId }, { token: ownerArbiter.token, key: newKey('award'), body: { bidId: bid.body.bidId } });
    await api('POST', '/v1/tasks/{id}/milestones/{n}/submit', { id: taskId, n: 0 }, { token: solver.token, body: { deliverableUrl: 'https://files.example.org/own' } });
    const opened = await api('POST', '/v1/tasks/{id}/disputes', { id: taskId }, { token: solver.token, body: { milestone: 0, reason: 'Unpaid' } });
    const ownRuling = await api('POST', '/v1/disputes/{id}/resolve', { id: opened.body.disputeId }, { token: ownerArbiter.token, body: { solverShareBps: 0 } });
    expect(ownRuling.status).toBe(403);
    expect(ownRuling.body).toMatchObject({ code: 'PERMISSION_DENIED' });
    expect((await api('GET', '/v1/disputes/{id}', { id: opened.body.disputeId }, { token: solver.token })).body.state).toBe('open');
    const ruled = await api('POST', '/v1/disputes/{id}/resolve', { id: opened.body.disputeId }, { token: arbiter.token, body: { solverShareBps: 10_000 } });
    expect(ruled.status).toBe(200);
    expect(await available(solver)).toBe(1_900n);
  });
});

describe('contest', () => {
  it('funds the pool at posting (refused without funds) and splits it exactly among winners', async () => {
    const owner = await signUp(['enterprise']);
    const [first, second] = await Promise.all([signUp(['solver']), signUp(['solver'])]);
    const unfunded = await postTask(owner, { mode: 'contest', budget: 10_001 });
    expect(unfunded.status).toBe(422);
    expect(unfunded.body.code).toBe('INSUFFICIENT_FUNDS');
    await fund(owner, 10_001);
    const posted = await postTask(owner, { mode: 'contest', budget: 10_001 });
    expect(posted.body).toMatchObject({ state: 'open', funded: cny(10_001) });
    const taskId = posted.body.id as string;
    const entries = [];
    for (const solver of [first, second]) {
      const entry = await api('POST', '/v1/tasks/{id}/submissions', { id: taskId }, { token: solver.token, body: { deliverableUrl: `https://files.example.org/${solver.participantId}.png` } });
      expect(entry.status).toBe(201);
      entries.push(entry.body.submissionId as string);
    }
    expect((await api('GET', '/v1/tasks/{id}/submissions', { id: taskId }, { token: first.token })).body.items).toHaveLength(1);
    const named = await api('POST', '/v1/tasks/{id}/winners', { id: taskId }, { token: owner.token, key: newKey('winners'), body: { winners: [{ submissionId: entries[0], shareBps: 7_000 }, { submissionId: entries[1], shareBps: 3_000 }] } });
    expect(named.status).toBe(200);
    expect(named.body.state).toBe('completed');
    const paid = (await available(first)) + (await available(second));
    const fees = named.body.winners.reduce((sum: bigint, winner: { fee: { amountMinor: string } }) => sum + BigInt(winner.fee.amountMinor), 0n);
    expect(paid + fees).toBe(10_001n);
    expect(await available(first)).toBe(6_651n);
    expect(await accountBalance(named.body.escrowAccountId)).toBe(0n);
  });
});

describe('dispatch', () => {
  it('lets exactly 50 of 200 racing solvers claim 50 slots, and changes nothing else', async () => {
    const owner = await signUp(['enterprise']);
    await fund(owner, 50_000);
    const posted = await postTask(owner, { mode: 'dispatch', budget: 50_000, slots: 50 });
    expect(posted.body).toMatchObject({ state: 'open', slots: 50, slotsAvailable: 50, perSlot: cny(1_000) });
    const taskId = posted.body.id as string;
    const solvers = await Promise.all(Array.from({ length: 200 }, () => crowdSolver()));
    const answers = await Promise.all(solvers.map((solver) => steady.gateway.http.post(`/v1/tasks/${taskId}/claims`, undefined, { token: solver.token })));
    const statuses = answers.map((answer) => answer.status);
    expect(statuses.filter((status) => status === 201)).toHaveLength(50);
    expect(answers.filter((answer) => answer.status === 422).map((answer) => answer.body.code)).toEqual(Array(150).fill('NO_SLOT_AVAILABLE'));
    const task = await api('GET', '/v1/tasks/{id}', { id: taskId }, { token: owner.token });
    expect(task.body).toMatchObject({ slotsAvailable: 0, state: 'open', funded: cny(50_000) });
    expect(await accountBalance(task.body.escrowAccountId)).toBe(50_000n);
    // The owner pages through exactly the 50 claims, each by a different solver.
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const page: HttpResponse = await api('GET', `/v1/tasks/{id}/assignments?limit=20${cursor ? `&cursor=${cursor}` : ''}`, { id: taskId }, { token: owner.token });
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((item: { solverId: string }) => item.solverId));
      cursor = page.body.nextCursor;
    } while (cursor);
    expect(new Set(seen).size).toBe(50);
  });

  it('takes an award and a claim keyed by any visible ASCII (an email, 255 characters with slashes) and replays them', async () => {
    const owner = await signUp(['enterprise']);
    const solver = await signUp(['solver']);
    await fund(owner, 8_000);
    const biddingId = (await postTask(owner, { mode: 'bidding', budget: 5_000, milestones: [5_000] })).body.id as string;
    const bid = await api('POST', '/v1/tasks/{id}/bids', { id: biddingId }, { token: solver.token, body: { price: cny(5_000), etaDays: 3, proposal: 'Yes' } });
    const awardKey = `owner+${Date.now()}@example.com`;
    const awarded = await api('POST', '/v1/tasks/{id}/award', { id: biddingId }, { token: owner.token, key: awardKey, body: { bidId: bid.body.bidId } });
    expect(awarded.status).toBe(200);
    expect(awarded.body).toMatchObject({ state: 'awarded' });
    const awardReplay = await api('POST', '/v1/tasks/{id}/award', { id: biddingId }, { token: owner.token, key: awardKey, body: { bidId: bid.body.bidId } });
    expect(awardReplay.headers.get('idempotent-replayed')).toBe('true');

    const dispatchId = (await postTask(owner, { mode: 'dispatch', budget: 3_000, slots: 3 })).body.id as string;
    const claimKey = `claims/${dispatchId}/${'x'.repeat(255)}`.slice(0, 255);
    const claim = () => steady.gateway.http.post(`/v1/tasks/${dispatchId}/claims`, undefined, { token: solver.token, headers: { 'Idempotency-Key': claimKey } });
    const claimed = await claim();
    expect(claimed.status).toBe(201);
    const claimReplay = await claim();
    expect(claimReplay.headers.get('idempotent-replayed')).toBe('true');
    expect(claimReplay.body.assignmentId).toBe(claimed.body.assignmentId);
    expect((await api('GET', '/v1/tasks/{id}', { id: dispatchId }, { token: owner.token })).body.slotsAvailable).toBe(2);
  });

  it('matches skills, refuses a solver below the minimum credit score with CREDIT_TOO_LOW', async () => {
    const owner = await signUp(['enterprise']);
    await fund(owner, 2_000);
    const taskId = (await postTask(owner, { mode: 'dispatch', budget: 2_000, slots: 2, skills: ['forklift'], minCreditScore: 700 })).body.id as string;
    const solver = await signUp(['solver']);
    const unskilled = await api('POST', '/v1/tasks/{id}/claims', { id: taskId }, { token: solver.token });
    expect(unskilled.status).toBe(403);
    const skills = await api('PUT', '/v1/me/skills', {}, { token: solver.token, body: { skills: ['forklift', 'excel', 'forklift'] } });
    expect(skills.body).toEqual({ skills: ['excel', 'forklift'] });
    // A new solver starts at credit's stated starting score, below this task's 700.
    const refused = await api('POST', '/v1/tasks/{id}/claims', { id: taskId }, { token: solver.token });
    expect(refused.status).toBe(422);
    expect(refused.body.code).toBe('CREDIT_TOO_LOW');
    expect((await api('GET', '/v1/tasks/{id}', { id: taskId }, { token: owner.token })).body.slotsAvailable).toBe(2);
  });

  it('expires a lease and lets another solver claim the slot; the late solver can no longer submit', async () => {
    const owner = await signUp(['enterprise'], quick);
    await fund(owner, 1_000, quick);
    const taskId = (await postTask(owner, { mode: 'dispatch', budget: 1_000, slots: 1 }, quick)).body.id as string;
    const [first, second] = await Promise.all([crowdSolver(quick), crowdSolver(quick)]);
    const claimed = await api('POST', '/v1/tasks/{id}/claims', { id: taskId }, { token: first.token, stack: quick });
    expect(claimed.status).toBe(201);
    expect(claimed.body).toMatchObject({ lease: 'held', state: 'pending' });
    const full = await api('POST', '/v1/tasks/{id}/claims', { id: taskId }, { token: second.token, stack: quick });
    expect(full.body.code).toBe('NO_SLOT_AVAILABLE');
    await eventually(() => api('GET', '/v1/assignments/{id}', { id: claimed.body.assignmentId }, { token: first.token, stack: quick }), (answer) => answer.body.lease === 'expired', 'the lease to expire');
    await eventually(() => api('GET', '/v1/tasks/{id}', { id: taskId }, { token: owner.token, stack: quick }), (answer) => answer.body.slotsAvailable === 1, 'the slot to return');
    const late = await api('POST', '/v1/assignments/{id}/submit', { id: claimed.body.assignmentId }, { token: first.token, stack: quick, body: { deliverableUrl: 'https://files.example.org/late' } });
    expect(late.status).toBe(422);
    const reclaimed = await api('POST', '/v1/tasks/{id}/claims', { id: taskId }, { token: second.token, stack: quick });
    expect(reclaimed.status).toBe(201);
    expect((await api('POST', '/v1/assignments/{id}/submit', { id: reclaimed.body.assignmentId }, { token: first.token, stack: quick, body: { deliverableUrl: 'https://files.example.org/not-mine' } })).status).toBe(404);
  });

  it('accepts handed-in work by silence after the configured window and pays it less the fee', async () => {
    const owner = await signUp(['enterprise'], quick);
    await fund(owner, 2_000, quick);
    const taskId = (await postTask(owner, { mode: 'dispatch', budget: 2_000, slots: 1 }, quick)).body.id as string;
    const solver = await crowdSolver(quick);
    const claimed = await api('POST', '/v1/tasks/{id}/claims', { id: taskId }, { token: solver.token, stack: quick });
    const submitted = await api('POST', '/v1/assignments/{id}/submit', { id: claimed.body.assignmentId }, { token: solver.token, stack: quick, body: { deliverableUrl: 'https://files.example.org/done' } });
    expect(submitted.status).toBe(200);
    expect(submitted.body.autoAcceptAt).not.toBeNull();
    const accepted = await eventually(() => api('GET', '/v1/assignments/{id}', { id: claimed.body.assignmentId }, { token: owner.token, stack: quick }), (answer) => answer.body.state === 'accepted', 'auto-acceptance');
    expect(accepted.body.settlement).toMatchObject({ by: 'silence', solverPaid: cny(1_900), fee: cny(100) });
    await eventually(() => available(solver, quick), (balance) => balance === 1_900n, 'the payout');
  });
});

describe('lists and idempotency', () => {
  it('filters by mode, kind, skill and state and pages; posting needs an Idempotency-Key and replays the first answer', async () => {
    const owner = await signUp(['enterprise']);
    const body = { title: 'Tax review', description: '', kind: 'service', mode: 'bidding', budget: cny(3_000), skills: ['tax-law'], deadline: inDays(2), milestones: [{ title: 'Review', amount: cny(3_000) }] };
    const withoutKey = await api('POST', '/v1/tasks', {}, { token: owner.token, body });
    expect(withoutKey.status).toBe(400);
    expect(withoutKey.body.code).toBe('IDEMPOTENCY_KEY_REQUIRED');
    const key = newKey('post');
    const first = await api('POST', '/v1/tasks', {}, { token: owner.token, key, body });
    const again = await api('POST', '/v1/tasks', {}, { token: owner.token, key, body });
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body.id).toBe(first.body.id);
    const found = await api('GET', '/v1/tasks?mode=bidding&kind=service&skill=tax-law&state=open&limit=100', {}, { token: owner.token });
    expect(found.body.items.map((item: { id: string }) => item.id)).toContain(first.body.id);
    expect(found.body.items.every((item: { mode: string; kind: string; skills: string[] }) => item.mode === 'bidding' && item.kind === 'service' && item.skills.includes('tax-law'))).toBe(true);
    const none = await api('GET', '/v1/tasks?mode=contest&skill=tax-law', {}, { token: owner.token });
    expect(none.body.items.map((item: { id: string }) => item.id)).not.toContain(first.body.id);
    const firstPage = await api('GET', '/v1/tasks?limit=1', {}, { token: owner.token });
    expect(firstPage.body.items).toHaveLength(1);
    const secondPage = await api('GET', `/v1/tasks?limit=1&cursor=${firstPage.body.nextCursor}`, {}, { token: owner.token });
    expect(secondPage.body.items[0].id > firstPage.body.items[0].id).toBe(true);
    expect((await api('GET', '/v1/tasks?limit=101', {}, { token: owner.token })).status).toBe(400);
  });
});
