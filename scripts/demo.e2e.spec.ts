// Proves `npm run demo` as a new user meets it: against the platform `npm start` runs (its own state directory and ports, every service), with nothing exported but where that platform is, the demo tells the whole story and exits 0 — twice on the same platform, with fresh accounts each time — and what it did is there through the API afterwards: the succeeded campaign paid out and the failed one refunded, the bidding task completed after its 60/40 dispute, the round closed by its accredited lead and two followers with its cap table and the issuer paid, the regulator's alerts on the demo's campaigns and the recorded, public inspection outcome.
import { spawn } from 'node:child_process';
import { testDatabaseName, testInfrastructure, testTopicPrefix } from '@sizhong/testkit';
import { demoPassword } from './demo/accounts';
import { PlatformUnderTest, repositoryRoot } from './platform/platform-under-test';

jest.setTimeout(900_000);

/** The demo's own budget: the story takes under a minute on a quiet machine (deadlines 20–25 s away). */
const demoTimeoutMs = 180_000;

interface Finished {
  readonly exitCode: number | null;
  readonly output: string;
  readonly durationMs: number;
}

/** `npm run demo` from another terminal: only the platform's state directory is known to it. */
function runDemo(environment: NodeJS.ProcessEnv): Promise<Finished> {
  const startedAtMs = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'demo'], { cwd: repositoryRoot, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), demoTimeoutMs);
    child.on('error', reject);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      resolve({ exitCode, output, durationMs: Date.now() - startedAtMs });
    });
  });
}

function match(output: string, pattern: RegExp): string {
  const found = pattern.exec(output);
  if (!found?.[1]) throw new Error(`no ${pattern} in the demo's output:\n${output}`);
  return found[1];
}

let platform: PlatformUnderTest | undefined;

afterAll(async () => {
  await platform?.cleanUp();
});

// The answers are read as a client reads them, field by field.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
async function api(url: string, path: string, token?: string): Promise<{ status: number; body: any }> {
  const response = await fetch(`${url}${path}`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  return { status: response.status, body: await response.json() };
}

async function signIn(url: string, email: string): Promise<string> {
  const response = await fetch(`${url}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password: demoPassword }) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { accessToken: string }).accessToken;
}

describe('npm run demo', () => {
  it('tells the whole story against `npm start`, twice on the same platform, and its results are visible through the API', async () => {
    // Every service, on the jest run's servers in databases and topics of their own; built as `npm start` builds.
    platform = await PlatformUnderTest.start({
      build: true,
      services: ['escrow', 'task-dispatch', 'equity', 'credit'],
      infrastructure: testInfrastructure(),
      environment: {
        GATEWAY_DATABASE: testDatabaseName('demo_gateway'),
        ESCROW_DATABASE: testDatabaseName('demo_escrow'),
        TASK_DISPATCH_DATABASE: testDatabaseName('demo_tasks'),
        EQUITY_DATABASE: testDatabaseName('demo_equity'),
        CREDIT_DATABASE: testDatabaseName('demo_credit'),
        KAFKA_TOPIC_PREFIX: testTopicPrefix('demo'),
      },
    });
    const url = await platform.waitUntilRunning();
    // The sandbox's short deadlines, announced at start.
    expect(platform.output).toContain('DEADLINE_MIN_MS=10000 (local sandbox');

    const first = await runDemo(platform.neighbourEnvironment);
    expect({ exitCode: first.exitCode, output: first.output }).toEqual({ exitCode: 0, output: expect.stringContaining('Open the console') });
    expect(first.output).not.toContain('✗ the demo stopped');
    expect(first.output).toContain(`every account's password: ${demoPassword}`);
    expect(first.output).toContain(`${url}/`);
    // Numbered steps, each with a ✓ (or a ✗ with its problem code for a refusal the story goes on after).
    expect(first.output).toMatch(/^ {2}1\. ✓ an enterprise and four solvers sign up: pt_/m);
    const runId = match(first.output, /guided demo — run ([0-9a-f]+) against/);
    const email = (label: string) => `${label}.${runId}@demo.sizhong.example.org`;

    const creator = await signIn(url, email('creator'));
    const lampId = match(first.output, /launches "A lamp that reads aloud".*?: (cp_[0-9a-f]+) is live/);
    const lamp = await api(url, `/v1/campaigns/${lampId}`, creator);
    expect(lamp.body).toMatchObject({ state: 'delivered', pledged: { currency: 'CNY', amountMinor: '650000' }, backersCount: 3, payout: { collected: { amountMinor: '650000' }, fee: { amountMinor: '32500' }, net: { amountMinor: '617500' } } });
    const kettleId = match(first.output, /launches "A kettle that flies".*?: (cp_[0-9a-f]+) is live/);
    expect((await api(url, `/v1/campaigns/${kettleId}`, creator)).body).toMatchObject({ state: 'failed' });
    const kettleBacker = await signIn(url, email('backer-2'));
    // 5 000 deposited, 2 000 collected by the lamp, 1 600 refunded by the kettle.
    expect((await api(url, '/v1/wallet', kettleBacker)).body).toMatchObject({ available: { amountMinor: '300000' }, held: { amountMinor: '0' } });

    const enterprise = await signIn(url, email('enterprise'));
    const taskId = match(first.output, /posts a bidding task.*?: (tk_[0-9a-f]+) is open/);
    const task = await api(url, `/v1/tasks/${taskId}`, enterprise);
    expect(task.body.state).toBe('completed');
    // Milestone 1 split 60/40 by the arbiter: 4 200 of 7 000 to the solver (3 990 after the 5 % fee), 2 800 back.
    expect(task.body.milestones.map((milestone: { state: string; settlement: { by: string; solverPaid: { amountMinor: string }; ownerRefunded: { amountMinor: string } } }) => [milestone.state, milestone.settlement.by, milestone.settlement.solverPaid.amountMinor, milestone.settlement.ownerRefunded.amountMinor])).toEqual([
      ['accepted', 'owner', '475000', '0'],
      ['resolved', 'arbiter', '399000', '280000'],
    ]);

    const issuer = await signIn(url, email('issuer'));
    const roundId = match(first.output, /opens a seed round.*?: (rd_[0-9a-f]+) is open_for_lead/);
    const round = await api(url, `/v1/rounds/${roundId}`, issuer);
    // An accredited investor scores enough to lead on a fresh platform; the lead and two followers fill the round, which closes at its deadline.
    expect(first.output).toMatch(/✓ Jade Ventures leads with 30 000 CNY/);
    expect(round.body).toMatchObject({ state: 'closed', raised: { amountMinor: '12000000' }, fee: { amountMinor: '600000' }, sharesIssued: 1_200 });
    const table = await api(url, `/v1/rounds/${roundId}/cap-table`, issuer);
    expect(table.status).toBe(200);
    expect(table.body.holders.map((holder: { role: string; shares: number; amount: { amountMinor: string } }) => [holder.role, holder.shares, holder.amount.amountMinor])).toEqual([
      ['lead', 300, '3000000'],
      ['follower', 500, '5000000'],
      ['follower', 400, '4000000'],
    ]);
    expect((await api(url, '/v1/wallet', issuer)).body.available.amountMinor).toBe('11400000');
    expect(first.output).not.toContain('refused as this platform stands');

    const regulator = await signIn(url, email('regulator'));
    const alerts = await api(url, '/v1/risk/alerts?rule=BACKER_CONCENTRATION&limit=100', regulator);
    // Measured against the goal: the lamp's largest backer holds more than half of it; the kettle's first backer, 1 600 of 50 000, holds nothing worth an alert.
    const concentrated = alerts.body.items.map((alert: { subject: { id: string } }) => alert.subject.id);
    expect(concentrated).toContain(lampId);
    expect(concentrated).not.toContain(kettleId);
    const drawId = match(first.output, /draws a random inspection.*?: (insp_[0-9a-f]+) \(seed/);
    const inspections = await api(url, '/v1/inspections?limit=100');
    expect(inspections.body.items).toEqual(expect.arrayContaining([expect.objectContaining({ drawId, outcome: 'compliant' })]));
    const invariants = await api(url, '/v1/ledger/invariants', regulator);
    expect(invariants.body.conserved).toBe(true);

    // Again on the same platform: new accounts, the same story.
    const second = await runDemo(platform.neighbourEnvironment);
    expect({ exitCode: second.exitCode, output: second.output }).toEqual({ exitCode: 0, output: expect.stringContaining('Open the console') });
    expect(match(second.output, /guided demo — run ([0-9a-f]+) against/)).not.toBe(runId);
    expect(match(second.output, /draws a random inspection.*?: (insp_[0-9a-f]+) \(seed/)).not.toBe(drawId);
    expect(second.output).toMatch(/✓ the assigned inspector records the outcome/);
    // About two minutes at most, each run (it takes under one on a quiet machine).
    expect(first.durationMs).toBeLessThan(150_000);
    expect(second.durationMs).toBeLessThan(150_000);
  });
});
