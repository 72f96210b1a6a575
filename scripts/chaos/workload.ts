/**
 * The fault-injection run's workload, through the public HTTP API only (as the guided demo drives
 * it): actors sign up (the arbiter, the regulator and an admin are created the way `npm run admin`
 * creates them), wallets are funded by the payment provider's signed webhooks, then flows start at
 * seeded moments until the run's duration is over: deposits (some replayed), withdrawals, campaigns
 * with tiers (launch, pledges, cancellations, milestone votes, a failed delivery), tasks in all
 * three modes (bids, award, claims, hand-ins, accepts, rejects, disputes and arbitration, contest
 * winners, cancellations) and rounds (a lead, followers, cancellations, a lead's cancellation).
 *
 * Each flow ends by doing what its actors must so that everything can end: the owner decides work
 * handed in, the arbiter resolves disputes, tasks nobody can finish are cancelled. Deadlines,
 * leases and silences do the rest. Each flow draws from its own stream of the seed, so its choices
 * replay; the answers it gets depend on the faults and the machine's timing.
 */
import { randomBytes } from 'node:crypto';
import { signPayload } from '../../services/escrow/src/app/payment-provider';
import { type Account, AdminAccounts, signUp } from '../demo/accounts';
import { cny, DemoClient } from '../demo/client';
import { depositEventBody } from '../psp';
import { type Answer, bodyOf, type ChaosClient, ok, type Outcome } from './client';
import { sleep } from './cluster';
import { type SeededRandom, streamFor } from './schedule';

/** Flows that may run at once: the machine is small and each flow is several requests in a row. */
export const concurrentFlowsMax = 10;
/** Pause between two flow starts, drawn between these. */
export const flowStartPauseMinMs = 300;
export const flowStartPauseMaxMs = 2_500;
/** Chance that the solver walks away from rejected work and the owner leaves it to the resubmission window (TASK_RESUBMIT_WINDOW_MS). */
export const walkAwayAfterRejectionChance = 0.35;
/** Chance that a contest's owner never names winners, leaving the prize to the decision rule (TASK_CONTEST_DECISION_MS). */
export const undecidedContestChance = 0.3;
/** Chance that a campaign gets a last-second pledge, sent to land within `lastSecondPledgeWindowMs` of its end. */
export const lastSecondPledgeChance = 0.4;
export const lastSecondPledgeWindowMs = 1_500;
/** How long a flow waits for a deadline-driven change it depends on (a settlement, a close). */
export const settleWaitMs = 60_000;
/** Skill every dispatch task lists and every solver has. */
export const dispatchSkill = 'data-labelling';
/** What the gateway's database is called (the default of GATEWAY_DATABASE). */
export const gatewayDatabaseName = 'sizhong_gateway';

export interface Cast {
  readonly enterprises: readonly Account[];
  readonly solvers: readonly Account[];
  readonly creators: readonly Account[];
  readonly backers: readonly Account[];
  readonly issuers: readonly Account[];
  /** The first two are accredited (may lead), the others not. */
  readonly investors: readonly Account[];
  readonly arbiter: Account;
  readonly regulator: Account;
  readonly admin: Account;
}

export type FlowKind = 'deposit' | 'withdrawal' | 'campaign' | 'bidding' | 'contest' | 'dispatch' | 'round';

const flowWeights: readonly (readonly [FlowKind, number])[] = [
  ['deposit', 2],
  ['withdrawal', 1],
  ['campaign', 2],
  ['bidding', 2],
  ['contest', 1],
  ['dispatch', 2],
  ['round', 1.5],
];

/** What the workload did, for the summary and the invariants (which read what it created). */
export interface WorkloadRecord {
  readonly flows: Record<FlowKind, number>;
  readonly campaigns: Set<string>;
  readonly tasks: Set<string>;
  readonly rounds: Set<string>;
  /** Tasks whose actors walked away on purpose (rejected work left, a contest undecided): the platform's deadline rules must end them. */
  readonly leftToRules: Set<string>;
  /** Who posted each task, for the owners' return after the faults. */
  readonly taskOwners: Map<string, Account>;
  /** Flows that ended with an unexpected error of the workload itself (a bug of the script, not of the platform). */
  readonly flowErrors: string[];
  /** Things the flows saw that the platform's rules say cannot happen. */
  readonly notes: string[];
}

export interface WorkloadOptions {
  readonly seed: number;
  readonly gatewayUrl: string;
  readonly mongoUrl: string;
  readonly pspWebhookSecret: string;
  readonly client: ChaosClient;
  readonly say: (line: string) => void;
}

const later = (ms: number) => new Date(Date.now() + ms).toISOString();

export class Workload {
  readonly record: WorkloadRecord = {
    flows: { deposit: 0, withdrawal: 0, campaign: 0, bidding: 0, contest: 0, dispatch: 0, round: 0 },
    campaigns: new Set(),
    tasks: new Set(),
    rounds: new Set(),
    leftToRules: new Set(),
    taskOwners: new Map(),
    flowErrors: [],
    notes: [],
  };
  private deposits = 0;

  private constructor(
    private readonly options: WorkloadOptions,
    readonly cast: Cast,
  ) {}

  /** Sign-ups, admin-made roles, skills, investor profiles and the first deposits: before any fault. */
  static async prepare(options: WorkloadOptions): Promise<Workload> {
    const runId = `s${options.seed}-${randomBytes(2).toString('hex')}`;
    const demo = new DemoClient(options.gatewayUrl, runId);
    const many = (label: string, count: number, roles: Parameters<typeof signUp>[4]) => Promise.all(Array.from({ length: count }, (_, index) => signUp(demo, runId, `${label}-${index}`, `${label} ${index}`, roles)));
    const enterprises = await many('enterprise', 2, ['enterprise']);
    const solvers = await many('solver', 4, ['solver']);
    const creators = await many('creator', 2, ['creator']);
    const backers = await many('backer', 4, ['backer']);
    const issuers = await many('issuer', 2, ['issuer']);
    const investors = await many('investor', 4, ['investor']);
    const admin = await AdminAccounts.connect({ mongoUrl: options.mongoUrl, name: gatewayDatabaseName });
    let staff: Account[];
    try {
      staff = [await admin.create(demo, runId, 'arbiter', 'arbiter', ['arbiter']), await admin.create(demo, runId, 'regulator', 'regulator', ['regulator']), await admin.create(demo, runId, 'admin', 'admin', ['admin'])];
    } finally {
      await admin.close();
    }
    const cast: Cast = { enterprises, solvers, creators, backers, issuers, investors, arbiter: staff[0]!, regulator: staff[1]!, admin: staff[2]! };
    const workload = new Workload(options, cast);
    const client = options.client;
    for (const solver of solvers) await client.send({ what: `${solver.label} lists skills`, method: 'PUT', path: '/v1/me/skills', token: solver.token, body: { skills: [dispatchSkill, 'excel'] } });
    for (const [index, investor] of investors.entries()) {
      const accredited = index < 2;
      await client.send({
        what: `${investor.label} states a profile`,
        method: 'PUT',
        path: '/v1/investors/me/profile',
        token: investor.token,
        body: accredited ? { annualIncome: cny(5_000_000), netWorth: cny(90_000_000), accredited: true } : { annualIncome: cny(900_000), netWorth: cny(1_200_000), accredited: false },
      });
    }
    const funding: [readonly Account[], number][] = [
      [enterprises, 200_000],
      [backers, 30_000],
      [investors, 150_000],
    ];
    for (const [accounts, yuan] of funding) for (const account of accounts) await workload.deposit(account, yuan, false);
    return workload;
  }

  /** Starts flows at seeded moments until `durationMs` has passed, then waits for every flow to end. */
  async run(durationMs: number, running: () => boolean): Promise<void> {
    const random = streamFor(this.options.seed, 'workload');
    const startedAtMs = Date.now();
    const flows = new Set<Promise<void>>();
    let started = 0;
    while (running() && Date.now() - startedAtMs < durationMs) {
      if (flows.size < concurrentFlowsMax) {
        const kind = random.weighted(flowWeights);
        started += 1;
        const flow = this.runFlow(kind, streamFor(this.options.seed, `flow:${started}`)).finally(() => flows.delete(flow));
        flows.add(flow);
      }
      await sleep(random.integer(flowStartPauseMinMs, flowStartPauseMaxMs));
    }
    this.options.say(`  workload: ${started} flows started; waiting for the ${flows.size} still running to end`);
    await Promise.all(flows);
  }

  private async runFlow(kind: FlowKind, random: SeededRandom): Promise<void> {
    this.record.flows[kind] += 1;
    try {
      if (kind === 'deposit') await this.deposit(random.pick(this.everyone()), random.integer(1, 5_000), random.chance(0.3));
      else if (kind === 'withdrawal') await this.withdraw(random);
      else if (kind === 'campaign') await this.campaignFlow(random);
      else if (kind === 'bidding') await this.biddingFlow(random);
      else if (kind === 'contest') await this.contestFlow(random);
      else if (kind === 'dispatch') await this.dispatchFlow(random);
      else await this.roundFlow(random);
    } catch (error) {
      this.record.flowErrors.push(`${kind}: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }

  private everyone(): Account[] {
    const cast = this.cast;
    return [...cast.enterprises, ...cast.solvers, ...cast.creators, ...cast.backers, ...cast.issuers, ...cast.investors];
  }

  private send(what: string, method: 'GET' | 'POST' | 'PUT', path: string, token: string, body?: unknown, key?: string): Promise<Outcome> {
    return this.options.client.send({ what, method, path, token, ...(body === undefined ? {} : { body }), ...(key === undefined ? {} : { key }) });
  }

  // ── Money in and out ──────────────────────────────────────────────────────────

  /** A deposit as the payment provider sends it; `replay` sends the same signed event again, as providers do. */
  async deposit(account: Account, yuan: number, replay: boolean): Promise<void> {
    this.deposits += 1;
    const eventId = `evt_chaos_${this.options.seed}_${this.deposits}_${randomBytes(3).toString('hex')}`;
    const body = depositEventBody({ participantId: account.participantId, currency: 'CNY', amountMinor: BigInt(yuan) * 100n, gatewayUrl: this.options.gatewayUrl, eventId, replay });
    const signature = signPayload(new TextEncoder().encode(this.options.pspWebhookSecret), body, Math.floor(Date.now() / 1_000));
    const deliver = () => this.options.client.send({ what: `deposit ${yuan} CNY for ${account.label}`, method: 'POST', path: '/v1/psp/webhooks', rawBody: body, headers: { 'content-type': 'application/json', 'sizhong-signature': signature }, key: `psp-${eventId}` });
    await deliver();
    if (replay) await this.options.client.send({ what: `provider resends ${eventId}`, method: 'POST', path: '/v1/psp/webhooks', rawBody: body, headers: { 'content-type': 'application/json', 'sizhong-signature': signature } });
  }

  private async withdraw(random: SeededRandom): Promise<void> {
    const account = random.pick(this.everyone());
    await this.send(`${account.label} withdraws`, 'POST', '/v1/wallet/withdrawals', account.token, { amount: cny(random.integer(1, 3_000)) });
  }

  // ── Campaigns ─────────────────────────────────────────────────────────────────

  private async campaignFlow(random: SeededRandom): Promise<void> {
    const creator = random.pick(this.cast.creators);
    const endsInMs = random.integer(12_000, 20_000);
    const endsAt = Date.now() + endsInMs;
    const withMilestones = random.chance(0.5);
    const body = {
      title: `Chaos campaign ${random.integer(1, 1_000_000)}`,
      description: 'A campaign of the fault-injection run.',
      goal: cny(random.integer(2, 12) * 1_000),
      fundingModel: random.chance(0.7) ? 'all_or_nothing' : 'keep_it_all',
      endsAt: new Date(endsAt).toISOString(),
      deliveryDate: new Date(endsAt + 30_000).toISOString(),
      tiers: [
        { title: 'Early bird', price: cny(random.integer(1, 5) * 100), quantity: random.integer(1, 3) },
        { title: 'Supporter', price: cny(random.integer(5, 20) * 100) },
      ],
      ...(withMilestones
        ? {
            milestones: [
              { title: 'Prototype', shareBps: 4_000, dueAt: new Date(endsAt + 3_000).toISOString() },
              { title: 'Shipping', shareBps: 6_000, dueAt: new Date(endsAt + 6_000).toISOString() },
            ],
          }
        : {}),
    };
    const created = bodyOf(await this.send(`${creator.label} creates a campaign`, 'POST', '/v1/campaigns', creator.token, body));
    if (!created) return;
    this.record.campaigns.add(created.id);
    const launched = bodyOf(await this.send(`${creator.label} launches ${created.id}`, 'POST', `/v1/campaigns/${created.id}/launch`, creator.token, {}));
    if (!launched) return;
    const pledges: { id: string; backer: Account }[] = [];
    const count = random.integer(1, 5);
    for (let index = 0; index < count && Date.now() < endsAt; index++) {
      const backer = random.pick(this.cast.backers);
      const tierIndex = random.integer(0, 2);
      const tier = launched.tiers[tierIndex] as { id: string; price: { amountMinor: string } } | undefined;
      const priceYuan = tier ? Number(BigInt(tier.price.amountMinor) / 100n) : 1;
      const pledgeBody = tier ? { tierId: tier.id, amount: cny(priceYuan + random.integer(0, 500)) } : { amount: cny(random.integer(100, 3_000)) };
      const placed = bodyOf(await this.send(`${backer.label} pledges to ${created.id}`, 'POST', `/v1/campaigns/${created.id}/pledges`, backer.token, pledgeBody));
      if (placed) pledges.push({ id: placed.pledgeId, backer });
      if (placed && random.chance(0.25)) await this.send(`${backer.label} cancels ${placed.pledgeId}`, 'POST', `/v1/pledges/${placed.pledgeId}/cancel`, backer.token, {});
      await sleep(random.integer(200, 1_500));
    }
    if (random.chance(lastSecondPledgeChance)) {
      // A backer in the last second, as crowdfunding sees many: whichever replica takes it, it lands before the fence or is refused.
      await sleep(Math.max(0, endsAt - Date.now() - random.integer(0, lastSecondPledgeWindowMs)));
      const backer = random.pick(this.cast.backers);
      const placed = bodyOf(await this.send(`${backer.label} pledges to ${created.id} in the last second`, 'POST', `/v1/campaigns/${created.id}/pledges`, backer.token, { amount: cny(random.integer(100, 1_000)) }));
      if (placed) pledges.push({ id: placed.pledgeId, backer });
    }
    await sleep(Math.max(0, endsAt - Date.now()) + 2_000);
    if (!withMilestones) return;
    const delivering = await this.waitFor(`campaign ${created.id} settles`, `/v1/campaigns/${created.id}`, creator.token, (campaign) => campaign.state !== 'live');
    if (delivering?.state !== 'delivering') return;
    if (random.chance(0.15)) {
      await this.send(`admin fails the delivery of ${created.id}`, 'POST', `/v1/campaigns/${created.id}/delivery-failure`, this.cast.admin.token, {});
      return;
    }
    // Backers vote on the open milestone; silence releases it otherwise.
    for (const backer of new Set(pledges.map((pledge) => pledge.backer))) {
      if (random.chance(0.6)) await this.send(`${backer.label} accepts milestone 0 of ${created.id}`, 'POST', `/v1/campaigns/${created.id}/milestones/0/accept`, backer.token, {});
    }
  }

  // ── Tasks ─────────────────────────────────────────────────────────────────────

  private async biddingFlow(random: SeededRandom): Promise<void> {
    const owner = random.pick(this.cast.enterprises);
    const amounts = Array.from({ length: random.integer(1, 3) }, () => random.integer(5, 40) * 100);
    const budget = amounts.reduce((sum, amount) => sum + amount, 0);
    const task = bodyOf(
      await this.send(`${owner.label} posts a bidding task`, 'POST', '/v1/tasks', owner.token, {
        title: `Chaos bidding ${random.integer(1, 1_000_000)}`,
        description: 'A bidding task of the fault-injection run.',
        kind: 'rnd',
        mode: 'bidding',
        budget: cny(budget),
        skills: [],
        deadline: later(random.integer(20_000, 40_000)),
        milestones: amounts.map((amount, index) => ({ title: `Milestone ${index}`, amount: cny(amount) })),
      }),
    );
    if (!task) return;
    this.record.tasks.add(task.id);
    this.record.taskOwners.set(task.id, owner);
    const bidders = random.shuffle(this.cast.solvers).slice(0, random.integer(1, 3));
    const bids: string[] = [];
    for (const solver of bidders) {
      const bid = bodyOf(await this.send(`${solver.label} bids on ${task.id}`, 'POST', `/v1/tasks/${task.id}/bids`, solver.token, { price: cny(Math.max(1, Math.floor((budget * random.integer(70, 100)) / 100))), etaDays: random.integer(1, 30), proposal: 'We can do it.' }));
      if (bid) bids.push(bid.bidId);
    }
    if (bids.length === 0 || random.chance(0.1)) return this.finishTask(task.id, owner);
    const awarded = bodyOf(await this.send(`${owner.label} awards ${task.id}`, 'POST', `/v1/tasks/${task.id}/award`, owner.token, { bidId: random.pick(bids) }));
    if (!awarded || awarded.state !== 'awarded') return this.finishTask(task.id, owner);
    const solver = this.cast.solvers.find((candidate) => candidate.participantId === awarded.solverId);
    if (!solver) return this.finishTask(task.id, owner);
    for (let index = 0; index < amounts.length; index++) {
      if (random.chance(0.08)) break;
      const work = `/v1/tasks/${task.id}/milestones/${index}`;
      const walkedAway = await this.workRound(random, { owner, solver, submit: `${work}/submit`, accept: `${work}/accept`, reject: `${work}/reject`, dispute: { taskId: task.id, body: { milestone: index } }, label: `milestone ${index} of ${task.id}` });
      // Walked away from the last milestone: the resubmission window abandons it and the task completes without anyone.
      if (walkedAway && index === amounts.length - 1) {
        this.record.leftToRules.add(task.id);
        return;
      }
      if (walkedAway) break;
    }
    await this.finishTask(task.id, owner);
  }

  private async contestFlow(random: SeededRandom): Promise<void> {
    const owner = random.pick(this.cast.enterprises);
    const task = bodyOf(
      await this.send(`${owner.label} posts a contest`, 'POST', '/v1/tasks', owner.token, {
        title: `Chaos contest ${random.integer(1, 1_000_000)}`,
        description: 'A contest of the fault-injection run.',
        kind: 'service',
        mode: 'contest',
        budget: cny(random.integer(5, 50) * 100),
        skills: [],
        deadline: later(random.integer(15_000, 30_000)),
      }),
    );
    if (!task) return;
    this.record.tasks.add(task.id);
    this.record.taskOwners.set(task.id, owner);
    for (const solver of random.shuffle(this.cast.solvers).slice(0, random.integer(0, 3))) {
      await this.send(`${solver.label} enters ${task.id}`, 'POST', `/v1/tasks/${task.id}/submissions`, solver.token, { deliverableUrl: `https://files.example.org/${task.id}/${solver.label}`, note: 'entry' });
    }
    if (random.chance(0.2)) await this.send(`${owner.label} cancels ${task.id}`, 'POST', `/v1/tasks/${task.id}/cancel`, owner.token, {});
    // An owner who never decides: the decision rule splits the prize among the entries, or refunds it when there are none.
    else if (random.chance(undecidedContestChance)) {
      this.record.leftToRules.add(task.id);
      return;
    }
    await this.finishTask(task.id, owner, random);
  }

  private async dispatchFlow(random: SeededRandom): Promise<void> {
    const owner = random.pick(this.cast.enterprises);
    const slots = random.integer(2, 4);
    const task = bodyOf(
      await this.send(`${owner.label} posts a dispatch task`, 'POST', '/v1/tasks', owner.token, {
        title: `Chaos dispatch ${random.integer(1, 1_000_000)}`,
        description: 'A dispatch task of the fault-injection run.',
        kind: 'operations',
        mode: 'dispatch',
        budget: cny(slots * random.integer(1, 5) * 100),
        skills: [dispatchSkill],
        deadline: later(random.integer(15_000, 30_000)),
        slots,
      }),
    );
    if (!task) return;
    this.record.tasks.add(task.id);
    this.record.taskOwners.set(task.id, owner);
    const claims: { assignmentId: string; solver: Account }[] = [];
    for (const solver of random.shuffle(this.cast.solvers).slice(0, random.integer(1, slots + 1))) {
      const claimed = bodyOf(await this.send(`${solver.label} claims a slot of ${task.id}`, 'POST', `/v1/tasks/${task.id}/claims`, solver.token, {}));
      if (claimed) claims.push({ assignmentId: claimed.assignmentId, solver });
    }
    if (random.chance(0.1)) await this.send(`${owner.label} cancels ${task.id}`, 'POST', `/v1/tasks/${task.id}/cancel`, owner.token, {});
    for (const claim of claims) {
      // Some claims are never handed in: their lease expires and the slot returns (or is refunded).
      if (random.chance(0.2)) continue;
      const path = `/v1/assignments/${claim.assignmentId}`;
      await this.workRound(random, { owner, solver: claim.solver, submit: `${path}/submit`, accept: `${path}/accept`, reject: `${path}/reject`, dispute: { taskId: task.id, body: { assignmentId: claim.assignmentId } }, label: `assignment ${claim.assignmentId}` });
    }
    await this.finishTask(task.id, owner);
  }

  /**
   * One piece of work: handed in, then accepted, rejected and handed in again (or walked away from:
   * true, and the owner leaves it to the resubmission window), disputed and arbitrated, or left to silence.
   */
  private async workRound(random: SeededRandom, work: { owner: Account; solver: Account; submit: string; accept: string; reject: string; dispute: { taskId: string; body: object }; label: string }): Promise<boolean> {
    const submit = (note: string) => this.send(`${work.solver.label} hands in ${work.label}`, 'POST', work.submit, work.solver.token, { deliverableUrl: `https://files.example.org/${encodeURIComponent(work.label)}`, note });
    if (!ok(await submit('first hand-in'))) return false;
    const decision = random.weighted([
      ['accept', 4],
      ['reject', 2],
      ['dispute', 2],
      ['silence', 1],
    ] as const);
    if (decision === 'silence') return false;
    if (decision === 'accept') {
      await this.send(`${work.owner.label} accepts ${work.label}`, 'POST', work.accept, work.owner.token, {});
      return false;
    }
    if (decision === 'reject') {
      const rejected = ok(await this.send(`${work.owner.label} rejects ${work.label}`, 'POST', work.reject, work.owner.token, { reason: 'Not what the brief asked for' }));
      if (rejected && random.chance(walkAwayAfterRejectionChance)) return true;
      if (!ok(await submit('second hand-in'))) return false;
      if (random.chance(0.5)) await this.send(`${work.owner.label} accepts ${work.label}`, 'POST', work.accept, work.owner.token, {});
      return false;
    }
    const opener = random.chance(0.5) ? work.solver : work.owner;
    const dispute = bodyOf(await this.send(`${opener.label} disputes ${work.label}`, 'POST', `/v1/tasks/${work.dispute.taskId}/disputes`, opener.token, { ...work.dispute.body, reason: 'We disagree on the result' }));
    if (dispute) await this.resolve(dispute.disputeId, random.integer(0, 10) * 1_000);
    return false;
  }

  private resolve(disputeId: string, solverShareBps: number): Promise<Outcome> {
    return this.send(`arbiter resolves ${disputeId}`, 'POST', `/v1/disputes/${disputeId}/resolve`, this.cast.arbiter.token, { solverShareBps });
  }

  /**
   * What the owner and the arbiter do so that a task can end: decide work handed in, resolve
   * disputes, name contest winners, cancel what nobody will finish. Dispatch tasks close at their
   * deadline by themselves; leases and silences end the rest.
   */
  async finishTask(taskId: string, owner: Account, random?: SeededRandom): Promise<void> {
    for (let pass = 0; pass < 6; pass++) {
      const task = bodyOf(await this.send(`${owner.label} reads ${taskId}`, 'GET', `/v1/tasks/${taskId}`, owner.token));
      if (!task) return;
      if (['completed', 'cancelled', 'refused'].includes(task.state)) return;
      if (task.state === 'funding' || task.state === 'awarding') {
        await sleep(3_000);
        continue;
      }
      if (task.mode === 'dispatch') {
        await this.finishAssignments(taskId, owner);
        return;
      }
      if (task.state === 'open' && task.mode === 'contest' && task.submissionsCount > 0) {
        const entries = bodyOf(await this.send(`${owner.label} reads the entries of ${taskId}`, 'GET', `/v1/tasks/${taskId}/submissions`, owner.token));
        const items = ((entries?.items ?? []) as { submissionId: string }[]).slice(0, 3);
        if (items.length > 0) await this.send(`${owner.label} names winners of ${taskId}`, 'POST', `/v1/tasks/${taskId}/winners`, owner.token, { winners: contestShares(items.map((item) => item.submissionId), random) });
        continue;
      }
      if (task.state === 'open') {
        await this.send(`${owner.label} cancels ${taskId}`, 'POST', `/v1/tasks/${taskId}/cancel`, owner.token, {});
        continue;
      }
      // Awarded: decide what was handed in, then cancel what never will be.
      let waiting = false;
      for (const milestone of task.milestones as { index: number; state: string; disputeId: string | null }[]) {
        if (milestone.state === 'submitted') await this.send(`${owner.label} accepts milestone ${milestone.index} of ${taskId}`, 'POST', `/v1/tasks/${taskId}/milestones/${milestone.index}/accept`, owner.token, {});
        else if (milestone.state === 'disputed' && milestone.disputeId) await this.resolve(milestone.disputeId, 5_000);
        else if (milestone.state === 'pending' || milestone.state === 'rejected') waiting = true;
      }
      if (waiting) await this.send(`${owner.label} cancels ${taskId}`, 'POST', `/v1/tasks/${taskId}/cancel`, owner.token, {});
    }
  }

  /** Accepts what was handed in and has disputes resolved; true when there was anything to decide. */
  private async finishAssignments(taskId: string, owner: Account): Promise<boolean> {
    let decided = false;
    for (let pass = 0; pass < 3; pass++) {
      const page = bodyOf(await this.send(`${owner.label} reads the assignments of ${taskId}`, 'GET', `/v1/tasks/${taskId}/assignments?limit=100`, owner.token));
      const items = (page?.items ?? []) as { assignmentId: string; state: string; disputeId: string | null }[];
      const open = items.filter((item) => item.state === 'submitted' || item.state === 'disputed');
      if (open.length === 0) return decided;
      decided = true;
      for (const item of open) {
        if (item.state === 'submitted') await this.send(`${owner.label} accepts ${item.assignmentId}`, 'POST', `/v1/assignments/${item.assignmentId}/accept`, owner.token, {});
        else if (item.disputeId) await this.resolve(item.disputeId, 5_000);
      }
    }
    return decided;
  }

  // ── Rounds ────────────────────────────────────────────────────────────────────

  private async roundFlow(random: SeededRandom): Promise<void> {
    const issuer = random.pick(this.cast.issuers);
    const targetYuan = random.integer(10, 50) * 1_000;
    const round = bodyOf(
      await this.send(`${issuer.label} opens a round`, 'POST', '/v1/rounds', issuer.token, {
        title: `Chaos round ${random.integer(1, 1_000_000)}`,
        target: cny(targetYuan),
        maximum: cny(targetYuan + targetYuan / 2),
        pricePerShare: cny(100),
        endsAt: later(random.integer(15_000, 25_000)),
        leadMinBps: 1_000,
        leadCarryBps: 2_000,
      }),
    );
    if (!round) return;
    this.record.rounds.add(round.id);
    const [leadCandidate, otherLead] = random.shuffle(this.cast.investors.slice(0, 2));
    const commit = (investor: Account, yuan: number, role: 'lead' | 'follower') =>
      this.send(`${investor.label} commits ${yuan} CNY to ${round.id} as ${role}`, 'POST', role === 'lead' ? `/v1/rounds/${round.id}/lead` : `/v1/rounds/${round.id}/commitments`, investor.token, { amount: cny(yuan) });
    const shares = (minimumYuan: number, maximumYuan: number) => random.integer(Math.ceil(minimumYuan / 100), Math.floor(maximumYuan / 100)) * 100;
    let lead = random.chance(0.85) ? bodyOf(await commit(leadCandidate!, shares(targetYuan / 10, targetYuan / 2), 'lead')) : undefined;
    if (lead && random.chance(0.15)) {
      await this.send(`${leadCandidate!.label} cancels the lead ${lead.id}`, 'POST', `/v1/commitments/${lead.id}/cancel`, leadCandidate!.token, {});
      lead = random.chance(0.5) ? bodyOf(await commit(otherLead!, shares(targetYuan / 10, targetYuan / 2), 'lead')) : undefined;
    }
    const followers = random.shuffle(this.cast.investors.filter((investor) => investor.participantId !== lead?.investorId)).slice(0, random.integer(0, 3));
    for (const investor of followers) {
      const placed = bodyOf(await commit(investor, shares(100, targetYuan / 2), 'follower'));
      if (placed && random.chance(0.2)) await this.send(`${investor.label} cancels ${placed.id}`, 'POST', `/v1/commitments/${placed.id}/cancel`, investor.token, {});
    }
  }

  /**
   * After the faults, the owners come back, as people do after an outage: every task whose flow
   * gave up on an action (its client exhausted its retries while a service, the broker or the
   * database was down) is finished as its flow would have finished it. Tasks left to the deadline
   * rules on purpose are not touched.
   */
  async finishLeftovers(): Promise<number> {
    let finished = 0;
    for (const taskId of this.record.tasks) {
      if (this.record.leftToRules.has(taskId)) continue;
      const owner = this.record.taskOwners.get(taskId);
      if (!owner) continue;
      const task = bodyOf(await this.send(`${owner.label} looks at ${taskId} after the outage`, 'GET', `/v1/tasks/${taskId}`, owner.token));
      if (!task) continue;
      // A dispatch task closes at its deadline with its assignments' work still open: those are decided whatever the task's state.
      if (task.mode === 'dispatch') {
        if (await this.finishAssignments(taskId, owner)) finished += 1;
        continue;
      }
      if (['completed', 'cancelled', 'refused', 'closed'].includes(task.state)) continue;
      finished += 1;
      await this.finishTask(taskId, owner, streamFor(this.options.seed, `leftover:${taskId}`));
    }
    return finished;
  }

  /** Polls a resource until `accept` holds or `settleWaitMs` passes. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  private async waitFor(what: string, path: string, token: string, accept: (body: any) => boolean): Promise<any> {
    const deadline = Date.now() + settleWaitMs;
    while (Date.now() < deadline) {
      const outcome = await this.send(what, 'GET', path, token);
      const body = bodyOf(outcome);
      if (body && accept(body)) return body;
      await sleep(1_000);
    }
    return undefined;
  }
}

/** Contest shares summing to 10 000 basis points. */
function contestShares(submissionIds: readonly string[], random?: SeededRandom): { submissionId: string; shareBps: number }[] {
  if (submissionIds.length === 1) return [{ submissionId: submissionIds[0]!, shareBps: 10_000 }];
  const first = random ? random.integer(1, 9) * 1_000 : 5_000;
  const shares = submissionIds.length === 2 ? [first, 10_000 - first] : [first / 2, first / 2, 10_000 - first];
  return submissionIds.map((submissionId, index) => ({ submissionId, shareBps: shares[index]! }));
}

export type { Answer };
