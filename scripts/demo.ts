/**
 * `npm run demo`: the guided demo. Against a running platform (the one `npm start` runs from this
 * clone, found with kit's `findLocalPlatform`; `--gateway <url>` for another), it tells the whole
 * story through the public API, one numbered step per line:
 *
 *   1. enterprises post tasks and solvers deliver: a bidding task awarded, its milestones handed in
 *      and accepted, one disputed and resolved 60/40 by an arbiter; a dispatch task whose slots
 *      solvers with the right skills claim, hand in and have accepted;
 *   2. backers fund a campaign that succeeds and one that fails (wallets funded through the payment
 *      provider's signed webhook, as `npm run psp` sends it);
 *   3. a lead and followers fill an equity round, which closes at its deadline; the cap table;
 *   4. scores move: a few participants' credit scores and reasons, before and after;
 *   5. the regulator's feed shows the alerts and the summary; an inspection is drawn and one
 *      outcome recorded;
 *
 * and ends with what to open in the console and with which accounts. Every run makes its own
 * accounts (emails carry a run id), so it can run again on the same platform.
 *
 * Campaigns and rounds end 20–25 s after they open: the local sandbox `npm start` runs allows
 * deadlines 10 s away (DEADLINE_MIN_MS). A platform with the one-day default refuses them; the demo
 * then says so and stops.
 *
 * Exit codes: 0 the story was told (a refusal the demo expects on a young platform, such as a lead
 * investor not yet qualified, is reported and the story goes on), 1 a step was refused or the
 * platform is unreachable, 2 usage error.
 */
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { defaultDataDirectory, findLocalPlatform, type LocalPlatform, noLocalPlatformMessage, type ParticipantRole } from '@sizhong/kit';
import { signPayload } from '../services/escrow/src/app/payment-provider';
import { type Account, AdminAccounts, demoPassword, gatewayDatabase, isDemoEmail, signIn, signUp } from './demo/accounts';
import { cny, DemoClient, formatMoney, Refused, Unreachable, waitFor } from './demo/client';
import { depositEventBody, gatewayUrlDefault, parseDepositCommand, resolveWebhookSecret } from './psp';

export const demoUsage = `Usage:
  npm run demo [-- --gateway <url>]

  --gateway  the gateway's base URL (default: the platform \`npm start\` runs from this clone, else ${gatewayUrlDefault})

Regulator and arbiter accounts are created as \`npm run admin\` creates them: on MONGO_URL and GATEWAY_DATABASE
when set, else on the MongoDB of the platform \`npm start\` runs from this clone. Wallets are funded through the
payment provider's signed webhook as \`npm run psp\` sends it (PSP_WEBHOOK_SECRET, else the platform's data directory).`;

/** When campaigns and the round end, from their creation: past DEADLINE_MIN_MS (10 s in the sandbox), short enough to watch. */
export const campaignEndsInMs = 20_000;
export const roundEndsInMs = 25_000;
/** How long the demo waits for a settlement, a close or the credit and risk consumers, past the deadline. */
export const settleTimeoutMs = 30_000;
export const creditTimeoutMs = 20_000;
export const alertsTimeoutMs = 20_000;
/** The platform's default EQUITY_LEAD_SCORE_MIN, and how long credit may take to score the lead's accredited profile. */
export const leadScoreMin = 650;
export const leadScoreTimeoutMs = 15_000;

export class UsageError extends Error {
  override readonly name = 'UsageError';
}

export function parseDemoArgs(argv: readonly string[], platform: LocalPlatform | undefined): { gatewayUrl: string } {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], strict: true, allowPositionals: false, options: { gateway: { type: 'string' } } }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const text = values.gateway ?? platform?.gatewayUrl ?? gatewayUrlDefault;
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new UsageError(`--gateway "${text}" is not a URL such as ${gatewayUrlDefault}`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new UsageError(`--gateway "${text}" must be an http or https URL`);
  return { gatewayUrl: url.href.replace(/\/+$/, '') };
}

/** Prints the story: section headings, then one numbered line per step with ✓ or ✗ and a short result. */
class Story {
  private steps = 0;
  readonly warnings: string[] = [];

  constructor(private readonly write: (line: string) => void) {}

  section(title: string): void {
    this.write('');
    this.write(title);
  }

  line(text: string): void {
    this.write(text);
  }

  /** Runs one step; a refusal is printed with its reason and stops the demo. */
  async step<T>(title: string, action: () => Promise<T>, result: (value: T) => string): Promise<T> {
    this.steps += 1;
    const number = this.steps;
    try {
      const value = await action();
      this.write(`${String(number).padStart(3)}. ✓ ${title}: ${result(value)}`);
      return value;
    } catch (error) {
      this.write(`${String(number).padStart(3)}. ✗ ${title}: ${describeError(error)}`);
      throw new StepFailed(title, error);
    }
  }

  /** A step whose refusal with one of `expectedCodes` is reported and the story goes on without it. */
  async tolerantStep<T>(title: string, expectedCodes: readonly string[], explain: (refused: Refused) => string, action: () => Promise<T>, result: (value: T) => string): Promise<T | undefined> {
    this.steps += 1;
    const number = this.steps;
    try {
      const value = await action();
      this.write(`${String(number).padStart(3)}. ✓ ${title}: ${result(value)}`);
      return value;
    } catch (error) {
      if (error instanceof Refused && expectedCodes.includes(error.code)) {
        this.write(`${String(number).padStart(3)}. ✗ ${title}: ${describeError(error)}`);
        const explanation = explain(error);
        this.write(`       ${explanation}`);
        this.warnings.push(`step ${number}, ${title}: ${error.code}`);
        return undefined;
      }
      this.write(`${String(number).padStart(3)}. ✗ ${title}: ${describeError(error)}`);
      throw new StepFailed(title, error);
    }
  }
}

class StepFailed extends Error {
  override readonly name = 'StepFailed';

  constructor(
    readonly title: string,
    override readonly cause: unknown,
  ) {
    super(`${title}: ${describeError(cause)}`);
  }
}

function describeError(error: unknown): string {
  if (error instanceof Refused) return `refused with ${error.status} ${error.code}${error.detail ? ` — ${error.detail}` : ''} (${error.what})`;
  if (error instanceof Unreachable) return error.message;
  return error instanceof Error ? error.message : String(error);
}

/** A participant of the story and the role their score is read in. */
interface Scored {
  readonly account: Account;
  readonly role: ParticipantRole;
}

interface CreditView {
  readonly score: number;
  readonly band: string;
  readonly isNew: boolean;
  readonly reasons: readonly { code: string; description: string; impact: number }[];
}

export interface DemoOptions {
  readonly gatewayUrl: string;
  readonly platform: LocalPlatform | undefined;
  readonly write?: (line: string) => void;
  readonly environment?: NodeJS.ProcessEnv;
}

export async function runDemo(options: DemoOptions): Promise<number> {
  const write = options.write ?? ((line: string) => process.stdout.write(`${line}\n`));
  const environment = options.environment ?? process.env;
  const runId = randomBytes(3).toString('hex');
  const startedAtMs = Date.now();
  const client = new DemoClient(options.gatewayUrl, runId);
  const story = new Story(write);
  // The local platform's database and secrets belong to its gateway only, not to another one --gateway names.
  const platform = options.platform?.gatewayUrl === options.gatewayUrl ? options.platform : undefined;
  const database = gatewayDatabase(platform, environment);
  if (database === undefined) {
    write(
      options.platform === undefined
        ? `demo: ${noLocalPlatformMessage(environment)}; or pass --gateway <url> with MONGO_URL (and GATEWAY_DATABASE) set to that gateway's MongoDB`
        : `demo: ${options.gatewayUrl} is not the platform this clone runs (${options.platform.gatewayUrl}); set MONGO_URL (and GATEWAY_DATABASE) to that gateway's MongoDB, where the regulator and the arbiter are created`,
    );
    return 1;
  }
  // SIZHONG_DATA_DIR set here wins, as for escrow and `npm run psp`.
  const dataDirectory = environment['SIZHONG_DATA_DIR'] === undefined && platform !== undefined ? platform.dataDirectory : defaultDataDirectory();
  const webhookSecret = resolveWebhookSecret(environment['PSP_WEBHOOK_SECRET'], dataDirectory);

  write(`Sizhong guided demo — run ${runId} against ${options.gatewayUrl}`);
  const ready = await client.request('GET', '/readyz').catch((error: unknown) => error as Error);
  if (ready instanceof Error || ready.status !== 200) {
    const reason = ready instanceof Error ? ready.message : `/readyz answered ${ready.status} ${JSON.stringify(ready.body)}`;
    write(`✗ the platform is not ready: ${reason}`);
    if (options.platform?.gatewayUrl === options.gatewayUrl) write('  wait until `npm start` prints "Sizhong is running", then run the demo again');
    else write(`  is ${options.gatewayUrl} the gateway's URL, and is the platform started? (${options.platform ? `this clone's runs at ${options.platform.gatewayUrl}` : noLocalPlatformMessage(environment)})`);
    return 1;
  }

  const admin = await AdminAccounts.connect(database);
  const accounts: Account[] = [];
  try {
    await tellStory({ client, story, admin, runId, accounts, webhookSecret, gatewayUrl: options.gatewayUrl });
  } catch (error) {
    if (!(error instanceof StepFailed)) throw error;
    write('');
    write(`✗ the demo stopped: ${error.message}`);
    if (error.cause instanceof Refused && /deadline|endsAt|DEADLINE_MIN_MS/i.test(`${error.cause.detail} ${error.cause.code}`)) {
      write('  This platform refuses deadlines this close. The local sandbox (`npm start`) allows 10 s (DEADLINE_MIN_MS=10000); a platform started with the one-day default cannot settle campaigns and rounds during a demo.');
    }
    printAccounts(write, options.gatewayUrl, accounts);
    return 1;
  } finally {
    await admin.close();
  }
  write('');
  write('Open the console');
  printAccounts(write, options.gatewayUrl, accounts);
  if (story.warnings.length > 0) {
    write('');
    write(`Done in ${Math.round((Date.now() - startedAtMs) / 1000)} s, with ${story.warnings.length} step(s) refused as this platform stands (see above):`);
    for (const warning of story.warnings) write(`  • ${warning}`);
  } else {
    write('');
    write(`Done in ${Math.round((Date.now() - startedAtMs) / 1000)} s.`);
  }
  return 0;
}

function printAccounts(write: (line: string) => void, gatewayUrl: string, accounts: readonly Account[]): void {
  if (accounts.length === 0) return;
  write(`  ${gatewayUrl}/   (API reference: ${gatewayUrl}/docs)`);
  write(`  every account's password: ${demoPassword}`);
  const width = Math.max(...accounts.map((account) => account.email.length));
  for (const account of accounts) write(`  ${account.email.padEnd(width)}  ${account.roles.join(', ').padEnd(10)}  ${account.displayName}`);
}

interface StoryContext {
  readonly client: DemoClient;
  readonly story: Story;
  readonly admin: AdminAccounts;
  readonly runId: string;
  /** Filled as accounts are made, for the closing list. */
  readonly accounts: Account[];
  readonly webhookSecret: Uint8Array;
  readonly gatewayUrl: string;
}

async function tellStory(context: StoryContext): Promise<void> {
  const { client, story, admin, runId, accounts } = context;
  const later = (ms: number) => new Date(Date.now() + ms).toISOString();

  /** Ids of this run's participants and campaigns, as names, for the lines people read. */
  const names = new Map<string, string>();
  const named = (text: string) => text.replace(/\b(?:pt|cp)_[0-9a-f]+\b/g, (id) => (names.has(id) ? `${names.get(id)} (${id})` : id));

  // ── The cast ────────────────────────────────────────────────────────────────
  story.section('The participants');
  const made = async (list: Promise<Account>[]) => {
    const created = await Promise.all(list);
    accounts.push(...created);
    for (const account of created) names.set(account.participantId, account.displayName.split(' (')[0]!);
    return created;
  };
  const [enterprise, designer, rival, picker1, picker2] = await story.step(
    'an enterprise and four solvers sign up',
    () =>
      made([
        signUp(client, runId, 'enterprise', 'Hangzhou Lamp Works', ['enterprise']),
        signUp(client, runId, 'solver-design', 'Li Na (industrial designer)', ['solver']),
        signUp(client, runId, 'solver-rival', 'Zhou Studio', ['solver']),
        signUp(client, runId, 'solver-labeller-1', 'Wang Fang', ['solver']),
        signUp(client, runId, 'solver-labeller-2', 'Chen Jie', ['solver']),
      ]),
    (created) => created.map((account) => account.participantId).join(', '),
  );
  const [creator, hopeful, backer1, backer2, backer3] = await story.step(
    'two creators and three backers sign up',
    () =>
      made([
        signUp(client, runId, 'creator', 'ReadLamp (creator)', ['creator']),
        signUp(client, runId, 'creator-hopeful', 'Sky Kettle (creator)', ['creator']),
        signUp(client, runId, 'backer-1', 'Zhao Lei', ['backer']),
        signUp(client, runId, 'backer-2', 'Sun Mei', ['backer']),
        signUp(client, runId, 'backer-3', 'Liu Yang', ['backer']),
      ]),
    (created) => created.map((account) => account.participantId).join(', '),
  );
  const [issuer, leadInvestor, follower1, follower2] = await story.step(
    'an issuer and three investors sign up',
    () =>
      made([
        signUp(client, runId, 'issuer', 'ReadLamp Technology Ltd (issuer)', ['issuer']),
        signUp(client, runId, 'investor-lead', 'Jade Ventures (lead investor)', ['investor']),
        signUp(client, runId, 'investor-1', 'Huang Wei', ['investor']),
        signUp(client, runId, 'investor-2', 'Xu Ting', ['investor']),
      ]),
    (created) => created.map((account) => account.participantId).join(', '),
  );
  const [regulator, arbiter] = await story.step(
    'the admin command creates a regulator and an arbiter (sign-up refuses these roles)',
    async () => [await made([admin.create(client, runId, 'regulator', 'Market Supervision (regulator)', ['regulator'])]), await made([admin.create(client, runId, 'arbiter', 'Arbitration Panel (arbiter)', ['arbiter'])])].flat(),
    (created) => created.map((account) => `${account.roles[0]} ${account.participantId}`).join(', '),
  );
  const cast = { enterprise: enterprise!, designer: designer!, rival: rival!, picker1: picker1!, picker2: picker2!, creator: creator!, hopeful: hopeful!, backer1: backer1!, backer2: backer2!, backer3: backer3! };
  const equityCast = { issuer: issuer!, lead: leadInvestor!, follower1: follower1!, follower2: follower2! };

  const scored: Scored[] = [
    { account: cast.designer, role: 'solver' },
    { account: cast.enterprise, role: 'enterprise' },
    { account: cast.creator, role: 'creator' },
    { account: cast.hopeful, role: 'creator' },
    { account: cast.backer1, role: 'backer' },
    { account: equityCast.issuer, role: 'issuer' },
    { account: equityCast.lead, role: 'investor' },
  ];
  const scoresBefore = await story.step(
    'credit scores before',
    () => Promise.all(scored.map((entry) => creditOf(client, entry, regulator!.token))),
    (views) => views.map((view, index) => `${scored[index]!.account.displayName.split(' (')[0]!} ${view.score}`).join(', '),
  );

  const fund = async (account: Account, yuan: number) => deposit(context, account, yuan);
  await story.step(
    'the payment provider tells the platform that money arrived (signed webhooks, as `npm run psp` sends them)',
    async () => {
      const deposits: [Account, number][] = [
        [cast.enterprise, 13_000],
        [cast.backer1, 5_000],
        [cast.backer2, 5_000],
        [cast.backer3, 3_000],
        [equityCast.lead, 40_000],
        [equityCast.follower1, 60_000],
        [equityCast.follower2, 60_000],
      ];
      for (const [account, yuan] of deposits) await fund(account, yuan);
      return deposits;
    },
    (deposits) => deposits.map(([account, yuan]) => `${account.displayName.split(' (')[0]!} ${formatMoney(cny(yuan))}`).join(', '),
  );

  // ── Crowdfunding: campaigns end soon, so they open first and settle while the tasks run ──
  story.section('Backers fund a campaign that succeeds and one that fails');
  const campaignBody = (title: string, goalYuan: number, tiers: { title: string; price: number; quantity?: number }[]) => ({
    title,
    description: `${title}: a guided-demo campaign (run ${runId}).`,
    goal: cny(goalYuan),
    fundingModel: 'all_or_nothing',
    endsAt: later(campaignEndsInMs),
    deliveryDate: later(campaignEndsInMs + 30 * 86_400_000),
    tiers: tiers.map((tier) => ({ title: tier.title, price: cny(tier.price), ...(tier.quantity === undefined ? {} : { quantity: tier.quantity }) })),
  });
  const openCampaign = async (owner: Account, body: ReturnType<typeof campaignBody>) => {
    const draft = await client.post('create the campaign', '/v1/campaigns', { token: owner.token, key: client.newKey('campaign'), body });
    return client.post('launch the campaign', `/v1/campaigns/${draft.id}/launch`, { token: owner.token });
  };
  const lamp = await story.step(
    `${cast.creator.displayName.split(' (')[0]!} launches "A lamp that reads aloud" (all or nothing, goal 6 000 CNY, ends in ${campaignEndsInMs / 1000} s)`,
    () => openCampaign(cast.creator, campaignBody('A lamp that reads aloud', 6_000, [{ title: 'Early bird', price: 299, quantity: 100 }, { title: 'Supporter', price: 1_000 }])),
    (campaign) => `${campaign.id} is ${campaign.state}, ends ${campaign.endsAt}`,
  );
  const kettle = await story.step(
    `${cast.hopeful.displayName.split(' (')[0]!} launches "A kettle that flies" (all or nothing, goal 50 000 CNY)`,
    () => openCampaign(cast.hopeful, campaignBody('A kettle that flies', 50_000, [{ title: 'Kettle', price: 800 }])),
    (campaign) => `${campaign.id} is ${campaign.state}`,
  );
  names.set(lamp.id, 'the lamp');
  names.set(kettle.id, 'the kettle');
  const pledge = (backer: Account, campaign: { id: string; tiers: { id: string }[] }, tierIndex: number, yuan: number) =>
    client.post(`${backer.displayName} pledges`, `/v1/campaigns/${campaign.id}/pledges`, { token: backer.token, key: client.newKey('pledge'), body: { tierId: campaign.tiers[tierIndex]!.id, amount: cny(yuan) } });
  await story.step(
    'three backers pledge 3 500, 2 000 and 1 000 CNY to the lamp (held in escrow until it settles)',
    async () => [await pledge(cast.backer1, lamp, 1, 3_500), await pledge(cast.backer2, lamp, 1, 2_000), await pledge(cast.backer3, lamp, 0, 1_000)],
    (pledges) => pledges.map((placed) => `${placed.pledgeId} ${placed.state}`).join(', '),
  );
  await story.step(
    'two backers pledge 1 600 and 800 CNY to the kettle',
    async () => [await pledge(cast.backer2, kettle, 0, 1_600), await pledge(cast.backer3, kettle, 0, 800)],
    (pledges) => pledges.map((placed) => `${placed.pledgeId} ${placed.state}`).join(', '),
  );

  // ── Equity: the round opens now and closes at its deadline ──
  story.section('A lead and followers fill an equity round');
  await story.step(
    'the investors state their income and net worth (PUT /v1/investors/me/profile)',
    async () => [
      await client.put('the lead investor profile', '/v1/investors/me/profile', { token: equityCast.lead.token, body: { annualIncome: cny(5_000_000), netWorth: cny(90_000_000), accredited: true } }),
      await client.put('a follower profile', '/v1/investors/me/profile', { token: equityCast.follower1.token, body: { annualIncome: cny(900_000), netWorth: cny(600_000), accredited: false } }),
      await client.put('a follower profile', '/v1/investors/me/profile', { token: equityCast.follower2.token, body: { annualIncome: cny(700_000), netWorth: cny(1_200_000), accredited: false } }),
    ],
    (profiles) => profiles.map((profile, index) => `${[equityCast.lead, equityCast.follower1, equityCast.follower2][index]!.displayName.split(' (')[0]!} ${profile.limit12Months ? `may invest ${formatMoney(profile.limit12Months)} in 12 months` : 'accredited, no 12-month limit'}`).join(', '),
  );
  const leadScore = await story.step(
    `credit reads the lead's profile: an accredited investor scores enough to lead (${leadScoreMin} as investor)`,
    async () => (await waitFor(() => creditOf(client, { account: equityCast.lead, role: 'investor' }, regulator!.token), (view) => view.score >= leadScoreMin, leadScoreTimeoutMs)).value,
    (view) => `${view.score} as investor${view.score >= leadScoreMin ? '' : ` after ${leadScoreTimeoutMs / 1000} s: not enough to lead`}`,
  );
  const round = await story.step(
    `${equityCast.issuer.displayName.split(' (')[0]!} opens a seed round: target 100 000 CNY, maximum 150 000, 100 CNY a share, ends in ${roundEndsInMs / 1000} s`,
    () =>
      client.post('open the round', '/v1/rounds', {
        token: equityCast.issuer.token,
        key: client.newKey('round'),
        body: { title: `ReadLamp seed round (demo ${runId})`, target: cny(100_000), maximum: cny(150_000), pricePerShare: cny(100), endsAt: later(roundEndsInMs), leadMinBps: 1_000, leadCarryBps: 2_000 },
      }),
    (created) => `${created.id} is ${created.state}`,
  );
  const led = await story.tolerantStep(
    `${equityCast.lead.displayName.split(' (')[0]!} leads with 30 000 CNY (POST /v1/rounds/{id}/lead)`,
    ['LEAD_NOT_QUALIFIED'],
    (refused) =>
      `A lead needs a credit score of at least ${leadScoreMin} as investor (EQUITY_LEAD_SCORE_MIN) and this one has ${leadScore.score}: on this platform a new investor cannot lead yet (${refused.detail || refused.code}). The round cannot take followers without a lead and will fail at its deadline; the story goes on.`,
    () => client.post('lead the round', `/v1/rounds/${round.id}/lead`, { token: equityCast.lead.token, key: client.newKey('lead'), body: { amount: cny(30_000) } }),
    (commitment) => `${commitment.id} ${commitment.state ?? ''}`.trim(),
  );
  const follow = (investor: Account, yuan: number) => client.post(`${investor.displayName} commits`, `/v1/rounds/${round.id}/commitments`, { token: investor.token, key: client.newKey('commit'), body: { amount: cny(yuan) } });
  if (led !== undefined) {
    await story.step(
      'two followers commit 50 000 and 40 000 CNY (POST /v1/rounds/{id}/commitments)',
      async () => [await follow(equityCast.follower1, 50_000), await follow(equityCast.follower2, 40_000)],
      (commitments) => commitments.map((commitment) => `${commitment.id} ${commitment.state ?? ''}`.trim()).join(', '),
    );
  } else {
    await story.tolerantStep(
      'a follower tries to commit 50 000 CNY without a lead',
      ['LEAD_REQUIRED'],
      () => 'Follow commitments wait for a lead, as the rules say.',
      () => follow(equityCast.follower1, 50_000),
      (commitment) => `${commitment.id} ${commitment.state ?? ''}`.trim(),
    );
  }
  await story.step(
    'the round as anyone sees it',
    () => client.get('read the round', `/v1/rounds/${round.id}`, equityCast.follower1.token),
    (current) => `${current.state}, committed ${formatMoney(current.committed)} by ${current.investorsCount} investor(s), lead ${current.lead ?? 'none'}`,
  );

  // ── Tasks: while the campaigns and the round run to their deadlines ──
  story.section('Enterprises post tasks and solvers deliver');
  const bidding = await story.step(
    `${cast.enterprise.displayName} posts a bidding task: a lamp housing design, 12 000 CNY in two milestones (5 000 + 7 000)`,
    () =>
      client.post('post the bidding task', '/v1/tasks', {
        token: cast.enterprise.token,
        key: client.newKey('task'),
        body: {
          title: 'Design the housing of a reading lamp',
          description: `Industrial design of a lamp housing: sketches, then production drawings (demo ${runId}).`,
          kind: 'rnd',
          mode: 'bidding',
          budget: cny(12_000),
          skills: ['industrial-design'],
          deadline: later(7 * 86_400_000),
          milestones: [
            { title: 'Concept sketches', amount: cny(5_000) },
            { title: 'Production drawings', amount: cny(7_000) },
          ],
        },
      }),
    (task) => `${task.id} is ${task.state}`,
  );
  const [bid] = await story.step(
    'two solvers bid',
    async () => [
      await client.post('bid', `/v1/tasks/${bidding.id}/bids`, { token: cast.designer.token, body: { price: cny(12_000), etaDays: 10, proposal: 'Three concepts in a week, drawings in ten days.' } }),
      await client.post('bid', `/v1/tasks/${bidding.id}/bids`, { token: cast.rival.token, body: { price: cny(11_000), etaDays: 20, proposal: 'One concept, drawings in three weeks.' } }),
    ],
    (bids) => bids.map((placed) => placed.bidId).join(', '),
  );
  const awarded = await story.step(
    `the enterprise awards the task to ${cast.designer.displayName}; the budget moves into the task's escrow`,
    () => client.post('award the task', `/v1/tasks/${bidding.id}/award`, { token: cast.enterprise.token, key: client.newKey('award'), body: { bidId: bid!.bidId } }),
    (task) => `${task.state}, ${formatMoney(task.funded)} held in ${task.escrowAccountId}`,
  );
  const submit = (n: number, url: string, note: string) =>
    client.post(`hand in milestone ${n}`, `/v1/tasks/${bidding.id}/milestones/${n}/submit`, { token: cast.designer.token, body: { deliverableUrl: url, note } });
  await story.step('the solver hands in milestone 0 (concept sketches)', () => submit(0, 'https://files.example.org/lamp/sketches.pdf', 'Three concepts'), (task) => `milestone 0 ${task.milestones[0].state}`);
  await story.step(
    'the enterprise accepts milestone 0; the solver is paid less the 5 % platform fee',
    () => client.post('accept milestone 0', `/v1/tasks/${bidding.id}/milestones/0/accept`, { token: cast.enterprise.token }),
    (task) => `solver paid ${formatMoney(task.milestones[0].settlement?.solverPaid)}, fee ${formatMoney(task.milestones[0].settlement?.fee)}`,
  );
  await story.step('the solver hands in milestone 1 (production drawings)', () => submit(1, 'https://files.example.org/lamp/drawings-v1.pdf', 'Drawings'), (task) => `milestone 1 ${task.milestones[1].state}`);
  await story.step(
    'the enterprise rejects milestone 1',
    () => client.post('reject milestone 1', `/v1/tasks/${bidding.id}/milestones/1/reject`, { token: cast.enterprise.token, body: { reason: 'The tolerances are missing' } }),
    (task) => `milestone 1 ${task.milestones[1].state}: "${task.milestones[1].lastRejectionReason}"`,
  );
  await story.step('the solver hands in milestone 1 again', () => submit(1, 'https://files.example.org/lamp/drawings-v2.pdf', 'Tolerances as in the brief'), (task) => `milestone 1 ${task.milestones[1].state}`);
  const dispute = await story.step(
    'the solver disputes milestone 1 rather than redo it a third time',
    () => client.post('open a dispute', `/v1/tasks/${bidding.id}/disputes`, { token: cast.designer.token, body: { milestone: 1, reason: 'The brief never asked for tolerances' } }),
    (opened) => `${opened.disputeId} ${opened.state}, ${formatMoney(opened.amount)} at stake`,
  );
  await story.step(
    `${arbiter!.displayName} resolves it 60/40 for the solver`,
    () => client.post('resolve the dispute', `/v1/disputes/${dispute.disputeId}/resolve`, { token: arbiter!.token, body: { solverShareBps: 6_000 } }),
    (resolved) => `solver paid ${formatMoney(resolved.settlement?.solverPaid)}, fee ${formatMoney(resolved.settlement?.fee)}, enterprise refunded ${formatMoney(resolved.settlement?.ownerRefunded)}`,
  );
  await story.step(
    'the task as its owner sees it',
    () => client.get('read the task', `/v1/tasks/${bidding.id}`, cast.enterprise.token),
    (task) => `${task.state}; escrow ${awarded.escrowAccountId} emptied`,
  );

  const skill = 'data-labelling';
  await story.step(
    `two solvers list their skills (PUT /v1/me/skills): ${skill}, excel`,
    async () => [
      await client.put('set skills', '/v1/me/skills', { token: cast.picker1.token, body: { skills: [skill, 'excel'] } }),
      await client.put('set skills', '/v1/me/skills', { token: cast.picker2.token, body: { skills: [skill] } }),
    ],
    (answers) => answers.map((answer) => (answer.skills as string[]).join('+')).join(', '),
  );
  const dispatch = await story.step(
    `the enterprise posts a dispatch task: 2 slots of ${skill} at 300 CNY each, funded at posting`,
    () =>
      client.post('post the dispatch task', '/v1/tasks', {
        token: cast.enterprise.token,
        key: client.newKey('task'),
        body: { title: 'Label 500 photos of lamps', description: `Bounding boxes on product photos (demo ${runId}).`, kind: 'operations', mode: 'dispatch', budget: cny(600), skills: [skill], deadline: later(2 * 86_400_000), slots: 2 },
      }),
    (task) => `${task.id} ${task.state}, ${task.slotsAvailable} slots of ${formatMoney(task.perSlot)}`,
  );
  const claims = await story.step(
    'the two solvers claim a slot each',
    async () => [
      await client.post('claim a slot', `/v1/tasks/${dispatch.id}/claims`, { token: cast.picker1.token }),
      await client.post('claim a slot', `/v1/tasks/${dispatch.id}/claims`, { token: cast.picker2.token }),
    ],
    (claimed) => claimed.map((assignment) => `${assignment.assignmentId} (lease until ${assignment.leaseExpiresAt})`).join(', '),
  );
  const pickers = [cast.picker1, cast.picker2];
  await story.step(
    'both hand in their work',
    () => Promise.all(claims.map((assignment, index) => client.post('hand in', `/v1/assignments/${assignment.assignmentId}/submit`, { token: pickers[index]!.token, body: { deliverableUrl: `https://files.example.org/labels/${index}.json`, note: '250 photos' } }))),
    (assignments) => assignments.map((assignment) => assignment.state).join(', '),
  );
  await story.step(
    'the enterprise accepts both; each solver is paid less the fee',
    async () => {
      const accepted = [];
      for (const assignment of claims) accepted.push(await client.post('accept the work', `/v1/assignments/${assignment.assignmentId}/accept`, { token: cast.enterprise.token }));
      return accepted;
    },
    (assignments) => assignments.map((assignment) => `${assignment.state}, paid ${formatMoney(assignment.settlement?.solverPaid)}`).join('; '),
  );

  // ── Settlement at the deadlines ──
  story.section('Deadlines pass: the campaigns settle and the round closes');
  const untilMs = (endsAt: string) => Math.max(0, Math.ceil((Date.parse(endsAt) - Date.now()) / 1000));
  story.line(`       (the campaigns end in ${untilMs(lamp.endsAt)} s, the round in ${untilMs(round.endsAt)} s; the services' schedulers settle them)`);
  const settledCampaign = async (campaign: { id: string; endsAt: string }, token: string) => {
    const waited = await waitFor(
      () => client.get('read the campaign', `/v1/campaigns/${campaign.id}`, token),
      // An all-or-nothing campaign without delivery milestones passes through `succeeded` to `delivered` with its payout.
      (current) => ['failed', 'delivering', 'delivered'].includes(current.state) || (current.state === 'succeeded' && current.payout),
      Math.max(0, Date.parse(campaign.endsAt) - Date.now()) + settleTimeoutMs,
    );
    if (!waited.met) throw new Error(`campaign ${campaign.id} is still ${waited.value.state} ${settleTimeoutMs / 1000} s after its deadline`);
    return waited.value;
  };
  await story.step(
    'the lamp met its goal: pledges collected, the creator paid less the fee',
    () => settledCampaign(lamp, cast.creator.token),
    (campaign) => `${campaign.state}, pledged ${formatMoney(campaign.pledged)} by ${campaign.backersCount} backers${campaign.payout ? `, creator paid ${formatMoney(campaign.payout.net)}, fee ${formatMoney(campaign.payout.fee)}` : ''}`,
  );
  await story.step(
    'the kettle missed its goal: every pledge refunded',
    () => settledCampaign(kettle, cast.hopeful.token),
    (campaign) => `${campaign.state}, ${formatMoney(campaign.pledged)} pledged of ${formatMoney(campaign.goal)}`,
  );
  await story.step(
    'a backer of the kettle has the money back',
    () => client.get('read the wallet', '/v1/wallet', cast.backer2.token),
    (wallet) => `${cast.backer2.displayName}: available ${formatMoney(wallet.available)}, held ${formatMoney(wallet.held)}`,
  );
  const closed = await story.step(
    `the round reaches its deadline`,
    async () => {
      const waited = await waitFor(
        () => client.get('read the round', `/v1/rounds/${round.id}`, equityCast.issuer.token),
        (current) => current.state === 'closed' || current.state === 'failed',
        Math.max(0, Date.parse(round.endsAt) - Date.now()) + settleTimeoutMs,
      );
      if (!waited.met) throw new Error(`round ${round.id} is still ${waited.value.state} ${settleTimeoutMs / 1000} s after its deadline`);
      return waited.value;
    },
    (current) =>
      current.state === 'closed'
        ? `closed: raised ${formatMoney(current.raised)}, fee ${formatMoney(current.fee)}, ${current.sharesIssued} shares issued`
        : `${current.state}${current.failureReason ? ` (${current.failureReason})` : ''}, committed ${formatMoney(current.committed)}; every commitment returned`,
  );
  if (closed.state === 'closed') {
    const table = await story.step(
      'the cap table',
      async () => (await waitFor(() => client.request('GET', `/v1/rounds/${round.id}/cap-table`, { token: equityCast.issuer.token }), (answer) => answer.status === 200, 10_000)).value.body,
      (capTable) => `${capTable.holders?.length ?? 0} holders, ${capTable.sharesIssued} shares`,
    );
    for (const holder of table.holders ?? []) story.line(`       ${String(names.get(holder.participantId) ?? holder.participantId).padEnd(14)} ${holder.role.padEnd(8)} ${String(holder.shares).padStart(6)} shares  ${formatMoney(holder.amount)}`);
    const proceeds = BigInt(closed.raised.amountMinor) - BigInt(closed.fee.amountMinor);
    await story.step(
      'the issuer receives the proceeds less the fee',
      async () => {
        const waited = await waitFor(() => client.get('read the wallet', '/v1/wallet', equityCast.issuer.token), (wallet) => BigInt(wallet.available.amountMinor) >= proceeds, settleTimeoutMs);
        if (!waited.met) throw new Error(`the issuer's wallet holds ${formatMoney(waited.value.available)}, not the ${formatMoney({ currency: 'CNY', amountMinor: proceeds.toString() })} of proceeds, ${settleTimeoutMs / 1000} s after the close`);
        return waited.value;
      },
      (wallet) => `${equityCast.issuer.displayName.split(' (')[0]!}: available ${formatMoney(wallet.available)}`,
    );
  }

  // ── Credit ──
  story.section('Scores move');
  const scoresAfter = await story.step(
    'credit scores after (credit reads every event from Kafka)',
    async () => {
      // Until every score has moved (a lead refused may have nothing to be scored on) and stayed put for a poll: credit has read the story's events.
      let previous = '';
      const waited = await waitFor(
        () => Promise.all(scored.map((entry) => creditOf(client, entry, regulator!.token))),
        (views) => {
          const scores = views.map((view) => view.score).join(',');
          const stable = scores === previous;
          previous = scores;
          return stable && views.every((view, index) => view.score !== scoresBefore[index]!.score || (scored[index]!.account === equityCast.lead && led === undefined));
        },
        creditTimeoutMs,
        1_000,
      );
      return waited.value;
    },
    (views) => `${views.filter((view, index) => view.score !== scoresBefore[index]!.score).length} of ${views.length} changed`,
  );
  for (const [index, entry] of scored.entries()) {
    const before = scoresBefore[index]!;
    const after = scoresAfter[index]!;
    const history = await client.get('read the score history', `/v1/participants/${entry.account.participantId}/credit/history?role=${entry.role}&limit=20`, regulator!.token);
    const moves = (history.items as { score: number; previousScore: number; causeEventType: string }[])
      .reverse()
      .filter((change) => change.score !== change.previousScore)
      .map((change) => `${change.causeEventType} ${change.score > change.previousScore ? '+' : '−'}${Math.abs(change.score - change.previousScore)}`);
    const reasons = after.reasons.length === 0 ? 'none' : after.reasons.map((reason) => `${reason.code} −${reason.impact} (${reason.description})`).join('; ');
    story.line(`       ${entry.account.displayName.split(' (')[0]!.padEnd(24)} as ${entry.role.padEnd(10)} ${String(before.score).padStart(3)} → ${String(after.score).padStart(3)} ${after.band.padEnd(5)}  moved by: ${moves.join(', ') || 'nothing yet'}; reasons against: ${reasons}`);
  }

  // ── The regulator ──
  story.section("The regulator's view");
  const ours = new Set([lamp.id, kettle.id, round.id, bidding.id, dispatch.id, ...accounts.map((account) => account.participantId)]);
  const alerts = await story.step(
    'the risk feed has alerts on this run (GET /v1/risk/alerts)',
    async () => {
      const waited = await waitFor(
        () => client.get('list the alerts', '/v1/risk/alerts?limit=100', regulator!.token),
        (page) => (page.items as { subject: { id: string } }[]).some((alert) => ours.has(alert.subject.id)),
        alertsTimeoutMs,
        1_000,
      );
      const mine = (waited.value.items as { subject: { id: string } }[]).filter((alert) => ours.has(alert.subject.id));
      if (mine.length === 0) throw new Error(`no alert on this run's campaigns, tasks, round or participants within ${alertsTimeoutMs / 1000} s`);
      return mine as { rule: string; severity: string; subject: { kind: string; id: string }; summary: string }[];
    },
    (found) => `${found.length} alert(s)`,
  );
  for (const alert of alerts) story.line(`       ${alert.severity.padEnd(6)} ${alert.rule}: ${named(alert.summary)}`);
  const summary = await story.step('the summary (GET /v1/risk/summary)', () => client.get('read the summary', '/v1/risk/summary', regulator!.token), (found) => `${found.alertsTotal} alert(s) on the platform`);
  for (const count of summary.alerts ?? []) story.line(`       ${String(count.count).padStart(4)} × ${count.rule} (${count.severity})`);
  for (const held of summary.heldInEscrow ?? []) story.line(`       held in ${held.kind} escrow: ${formatMoney(held.held)}`);
  await story.step(
    'the ledger balances (GET /v1/ledger/invariants)',
    () => client.get('check the ledger', '/v1/ledger/invariants', regulator!.token),
    (invariants) => `conserved: ${invariants.conserved}, negative accounts: ${(invariants.negativeAccounts ?? []).length}`,
  );
  const draw = await story.step(
    'the regulator draws a random inspection: 5 subjects among campaigns, tasks and rounds, each with a random inspector',
    () => client.post('draw an inspection', '/v1/inspections/draws', { token: regulator!.token, key: client.newKey('draw'), body: { subjectKinds: ['campaign', 'task', 'round'], sampleSize: 5, seed: `demo-${runId}` } }),
    (drawn) => `${drawn.id} (seed ${drawn.seed}) drew ${drawn.items.length} of ${drawn.populationSize}`,
  );
  const item = await chooseInspection(context, draw, regulator!);
  if (item === undefined) {
    story.line(`       every item went to a regulator who is not a demo account; their outcomes are theirs to record (draw ${draw.id})`);
  } else {
    await story.step(
      `the assigned inspector records the outcome of item ${item.index} (${item.subject.kind} ${item.subject.id})`,
      () => client.post('record the outcome', `/v1/inspections/${draw.id}/items/${item.index}/outcome`, { token: item.token, body: { outcome: 'compliant', summary: `Checked during the guided demo (run ${runId}): disclosures and escrow in order.` } }),
      (recorded) => `${recorded.outcome}, by ${named(recorded.inspectorId)}`,
    );
    await story.step(
      'the outcome is public (GET /v1/inspections, no sign-in)',
      async () => {
        const page = await client.get('list inspections', '/v1/inspections?limit=100');
        const found = (page.items as { drawId: string; index: number; outcome: string; subject: { kind: string; id: string } }[]).find((entry) => entry.drawId === draw.id && entry.index === item.index);
        if (!found) throw new Error(`draw ${draw.id} item ${item.index} is not among the public inspections`);
        return found;
      },
      (found) => `${found.subject.kind} ${found.subject.id}: ${found.outcome}`,
    );
  }
}

async function creditOf(client: DemoClient, entry: Scored, regulatorToken: string): Promise<CreditView> {
  return client.get(`read the ${entry.role} score of ${entry.account.displayName}`, `/v1/participants/${entry.account.participantId}/credit?role=${entry.role}`, regulatorToken);
}

/** Funds a wallet exactly as `npm run psp -- deposit` does: the same command parsing, body and signature. */
async function deposit(context: StoryContext, account: Account, yuan: number): Promise<void> {
  const command = parseDepositCommand(['deposit', '--participant', account.participantId, '--amount', String(yuan), '--gateway', context.gatewayUrl], () => `evt_demo_${context.runId}_${randomBytes(6).toString('hex')}`);
  const body = depositEventBody(command);
  const signature = signPayload(context.webhookSecret, body, Math.floor(Date.now() / 1_000));
  await context.client.post(`deposit for ${account.displayName}`, '/v1/psp/webhooks', { rawBody: body, headers: { 'content-type': 'application/json', 'sizhong-signature': signature } });
}

interface ChosenItem {
  readonly index: number;
  readonly subject: { kind: string; id: string };
  readonly token: string;
}

/**
 * The item this demo can complete: one assigned to its own regulator, else one assigned to a demo
 * regulator of an earlier run on this platform (same password). Inspectors are drawn among all the
 * platform's regulators, so on a platform the demo ran on before, this run's may have drawn none.
 */
async function chooseInspection(context: StoryContext, draw: { items: { subject: { kind: string; id: string }; inspectorId: string }[] }, regulator: Account): Promise<ChosenItem | undefined> {
  const own = draw.items.findIndex((candidate) => candidate.inspectorId === regulator.participantId);
  if (own >= 0) return { index: own, subject: draw.items[own]!.subject, token: regulator.token };
  for (const [index, candidate] of draw.items.entries()) {
    const inspector = await context.admin.find(candidate.inspectorId);
    if (inspector === undefined || !isDemoEmail(inspector.email)) continue;
    try {
      const token = await signIn(context.client, inspector.email);
      context.story.line(`       item ${index} went to ${inspector.email}, a regulator of an earlier demo run; the demo signs in as them`);
      return { index, subject: candidate.subject, token };
    } catch {
      continue;
    }
  }
  return undefined;
}

async function main(argv: readonly string[]): Promise<number> {
  const [first] = argv;
  if (first === 'help' || first === '--help' || first === '-h') {
    process.stdout.write(`${demoUsage}\n`);
    return 0;
  }
  const platform = findLocalPlatform();
  let gatewayUrl: string;
  try {
    ({ gatewayUrl } = parseDemoArgs(argv, platform));
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`demo: ${error.message}\n\n${demoUsage}\n`);
    return 2;
  }
  return runDemo({ gatewayUrl, platform });
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (exitCode) => process.exit(exitCode),
    (error: unknown) => {
      process.stderr.write(`demo: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
      process.exit(1);
    },
  );
}
