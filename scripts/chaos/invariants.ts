/**
 * What the fault-injection run checks once the workload is over, every deadline has passed and the
 * platform is quiet, by reading the private MongoDB-wire server's `sizhong_*` databases directly
 * and the API as a regulator (docs/reliability.md "Invariants"):
 *
 *   1. the ledger is conserved (GET /v1/ledger/invariants, and the sum of every account's balances
 *      per currency is zero) with no negative account but the provider's;
 *   2. every campaign, task, assignment, dispute, round and commitment is in a terminal state;
 *   3. no transfer is left unfinished: none pending (a hold) and none between legs;
 *   4. no saga is unfinished (running or compensating; the kit's records and escrow's pledge sagas)
 *      and no deadline job that is due is not done;
 *   5. each participant's wallet equals what their own journal entries sum to;
 *   6. every hold posted or voided and owned by a terminal saga (ownership.ts);
 *   7. credit applied every domain event exactly once (credit-check.ts).
 *
 * Quiet is: no unfinished saga, no unfinished transfer, no job due within `quietHorizonMs` left
 * undone, twice in a row `quietPollMs` apart.
 */
import { type Document, MongoClient } from 'mongodb';
import { type MongoConnection, stuckWorkReport } from '../../packages/kit/src';
import type { ChaosCluster } from './cluster';
import { sleep } from './cluster';
import { checkCreditExactlyOnce } from './credit-check';
import { checkHoldOwnership } from './ownership';
import { allSagas, databaseName, isUnfinished, pledgeSagas } from './sagas';
import { chaosServices, type ScheduledFault } from './schedule';
import type { WorkloadRecord } from './workload';

export { databaseName } from './sagas';

/** The services whose databases are read, by the name their sagas and jobs are kept under. */
export const serviceNames = chaosServices;
export const quietPollMs = 2_000;
/** Jobs due later than this after the workload (a hold's 30-day expiry, a retention sweep) are not waited for. */
export const quietHorizonMs = 120_000;
/** Transfer states that are an end: nothing more will move. */
export const terminalTransferStates = ['posted', 'voided', 'expired', 'rejected'];
/** Terminal states by kind of aggregate (the lifecycles of docs/escrow.md, task-dispatch.md and equity.md). */
export const terminalStates = {
  campaign: ['failed', 'delivered', 'delivery_failed', 'succeeded_paid'],
  task: ['completed', 'cancelled', 'closed', 'refused'],
  work: ['accepted', 'resolved', 'refunded'],
  round: ['closed', 'failed'],
  commitment: ['cancelled', 'allocated', 'refunded'],
} as const;

export interface FaultRecord extends ScheduledFault {
  readonly killedAtMs: number;
  readonly backAtMs: number;
  /** Sagas unfinished right before the kill (of the killed service; of every service for the gateway, broker and database). */
  readonly unfinishedSagas: number | undefined;
}

/** At least this many sagas and mid-flight hits make a seed count (issue 18: "a seed with too few of either does not count"). */
export const sagasPerSeedMin = 10;
export const midFlightHitsPerSeedMin = 3;

export interface InvariantReport {
  readonly violations: string[];
  readonly notes: string[];
  checked: number;
  sagasRun: number;
  readonly sagasByService: Record<string, number>;
}

/** One client for every read of a check; closed after it. */
export async function withMongo<T>(mongoUrl: string, use: (client: MongoClient) => Promise<T>): Promise<T> {
  const client = new MongoClient(mongoUrl, { serverSelectionTimeoutMS: 5_000, connectTimeoutMS: 5_000 });
  try {
    await client.connect();
    return await use(client);
  } finally {
    await client.close().catch(() => undefined);
  }
}

function connectionOf(client: MongoClient, service: string): MongoConnection {
  const database = client.db(databaseName(service));
  return { collection: (name: string) => database.collection(name), close: async () => undefined } as unknown as MongoConnection;
}

/** Transfer states between legs: a crash here is what recovery must finish. */
export const betweenLegsTransferStates = ['requested', 'posting', 'voiding', 'expiring'];
/** Task states that are a saga in flight (the task document is the funding saga's record). */
export const inFlightTaskStates = ['funding', 'awarding'];

/**
 * Work in flight right now, of one service or of all: unfinished kit saga records and pledge sagas,
 * plus transfers between legs in escrow and tasks funding or awarding in task-dispatch; undefined
 * when the database does not answer.
 */
export async function unfinishedSagasNow(mongoUrl: string, service?: string): Promise<number | undefined> {
  try {
    return await withMongo(mongoUrl, async (client) => {
      let count = 0;
      for (const name of service ? [service] : serviceNames) count += (await stuckWorkReport(connectionOf(client, name), name, new Date())).sagas.length;
      if (!service || service === 'escrow') count += await client.db(databaseName('escrow')).collection('transfers').countDocuments({ 'state.state': { $in: betweenLegsTransferStates } });
      if (!service || service === 'escrow') count += (await pledgeSagas(client)).filter(isUnfinished).length;
      if (!service || service === 'task-dispatch') count += await client.db(databaseName('task-dispatch')).collection('tasks').countDocuments({ 'state.state': { $in: inFlightTaskStates } });
      return count;
    });
  } catch {
    return undefined;
  }
}

interface Unquiet {
  readonly sagas: number;
  readonly jobs: number;
  readonly transfers: number;
}

async function unquiet(client: MongoClient, horizon: Date): Promise<Unquiet> {
  let sagas = 0;
  let jobs = 0;
  sagas += (await pledgeSagas(client)).filter(isUnfinished).length;
  for (const service of serviceNames) {
    sagas += (await stuckWorkReport(connectionOf(client, service), service, new Date())).sagas.length;
    jobs += await client
      .db(databaseName(service))
      .collection(`${service}_jobs`)
      .countDocuments({ state: { $ne: 'done' }, dueAt: { $lte: horizon } });
  }
  const transfers = await client
    .db(databaseName('escrow'))
    .collection('transfers')
    .countDocuments({ 'state.state': { $nin: terminalTransferStates } });
  return { sagas, jobs, transfers };
}

/** Polls until quiet (see the header) or `timeoutMs`; prints progress. True when quiet was reached. */
export async function waitForQuiet(mongoUrl: string, timeoutMs: number, say: (line: string) => void): Promise<boolean> {
  const startedAtMs = Date.now();
  const horizon = new Date(Date.now() + quietHorizonMs);
  let quietPolls = 0;
  let lastReportMs = 0;
  while (Date.now() - startedAtMs < timeoutMs) {
    let state: Unquiet | undefined;
    try {
      state = await withMongo(mongoUrl, (client) => unquiet(client, horizon));
    } catch (error) {
      say(`  quiet? the database does not answer (${(error as Error).message})`);
    }
    const isQuiet = state !== undefined && state.sagas === 0 && state.jobs === 0 && state.transfers === 0;
    quietPolls = isQuiet ? quietPolls + 1 : 0;
    if (quietPolls >= 2) {
      say(`✓ quiet after ${((Date.now() - startedAtMs) / 1_000).toFixed(0)} s`);
      return true;
    }
    if (state && Date.now() - lastReportMs >= 10_000) {
      say(`  waiting for quiet: ${state.sagas} unfinished saga(s), ${state.jobs} job(s) due and not done, ${state.transfers} unfinished transfer(s)`);
      lastReportMs = Date.now();
    }
    await sleep(quietPollMs);
  }
  return false;
}

export interface CheckOptions {
  readonly cluster: ChaosCluster;
  readonly regulatorToken: string;
  readonly workload: WorkloadRecord;
  readonly say: (line: string) => void;
}

export async function checkInvariants(options: CheckOptions): Promise<InvariantReport> {
  const report: InvariantReport = { violations: [], notes: [], checked: 0, sagasRun: 0, sagasByService: {} };
  await checkLedgerThroughApi(options, report);
  await withMongo(options.cluster.mongoUrl, async (client) => {
    await checkLedgerAccounts(client, report);
    await checkTransfers(client, report);
    await checkSagasAndJobs(client, report);
    await checkLifecycles(client, report);
    await checkHoldOwnership(client, await allSagas(client), report);
    await checkCreditExactlyOnce(client, options.cluster.kafkaBrokers, report, options.say);
  });
  return report;
}

/** Tries of the regulator's ledger check: an answer the gateway gave up on (5xx) or a dropped connection is asked again. */
export const ledgerCheckAttemptsMax = 5;
export const ledgerCheckPauseMs = 3_000;

async function checkLedgerThroughApi(options: CheckOptions, report: InvariantReport): Promise<void> {
  report.checked += 1;
  let failure = '';
  for (let attempt = 1; attempt <= ledgerCheckAttemptsMax; attempt++) {
    if (attempt > 1) await new Promise((resolve) => setTimeout(resolve, ledgerCheckPauseMs));
    try {
      const response = await fetch(`${options.cluster.gatewayUrl}/v1/ledger/invariants`, { headers: { authorization: `Bearer ${options.regulatorToken}` }, signal: AbortSignal.timeout(30_000) });
      const body = (await response.json()) as { conserved?: boolean; negativeAccounts?: unknown[] };
      if (response.status >= 500) {
        failure = `answered ${response.status} ${JSON.stringify(body)}`;
        continue;
      }
      if (!response.ok) report.violations.push(`ledger invariants: GET /v1/ledger/invariants answered ${response.status} ${JSON.stringify(body)}`);
      else if (body.conserved !== true || (body.negativeAccounts ?? []).length > 0) report.violations.push(`ledger invariants: GET /v1/ledger/invariants says ${JSON.stringify(body)}`);
      if (attempt > 1) report.notes.push(`ledger invariants: answered at attempt ${attempt} (before: ${failure.slice(0, 120)})`);
      return;
    } catch (error) {
      failure = `failed (${(error as Error).message})`;
    }
  }
  report.violations.push(`ledger invariants: GET /v1/ledger/invariants ${failure} ${ledgerCheckAttemptsMax} times in a row, the platform quiet`);
}

interface AccountDocument {
  _id: string;
  kind: string;
  currency: string;
  available: number | bigint;
  held: number | bigint;
  seq: number;
  unjournaled?: { availableDelta: number | bigint; heldDelta: number | bigint; seq: number }[];
}

/** Conservation from the accounts themselves, no negative account but external ones, and every account equal to its journal. */
async function checkLedgerAccounts(client: MongoClient, report: InvariantReport): Promise<void> {
  const escrow = client.db(databaseName('escrow'));
  const accounts = await escrow.collection<AccountDocument>('ledger_accounts').find({}).toArray();
  const totals = new Map<string, bigint>();
  for (const account of accounts) {
    const balance = BigInt(account.available) + BigInt(account.held);
    totals.set(account.currency, (totals.get(account.currency) ?? 0n) + balance);
    report.checked += 1;
    if (account.kind !== 'external' && (BigInt(account.available) < 0n || BigInt(account.held) < 0n)) report.violations.push(`negative account ${account._id}: available ${account.available}, held ${account.held}`);
  }
  for (const [currency, total] of totals) {
    report.checked += 1;
    if (total !== 0n) report.violations.push(`ledger not conserved in ${currency}: the accounts' balances sum to ${total} minor units, not 0`);
  }
  const sums = new Map<string, { available: bigint; held: bigint; entries: number; seqs: Set<number> }>();
  for await (const entry of escrow.collection<{ accountId: string; availableDelta: number; heldDelta: number; seq: number }>('ledger_entries').find({}, { projection: { accountId: 1, availableDelta: 1, heldDelta: 1, seq: 1 } })) {
    const sum = sums.get(entry.accountId) ?? { available: 0n, held: 0n, entries: 0, seqs: new Set<number>() };
    sum.available += BigInt(entry.availableDelta);
    sum.held += BigInt(entry.heldDelta);
    sum.entries += 1;
    sum.seqs.add(entry.seq);
    sums.set(entry.accountId, sum);
  }
  for (const account of accounts) {
    const sum = sums.get(account._id) ?? { available: 0n, held: 0n, entries: 0, seqs: new Set<number>() };
    // An entry may be in the journal already and not yet dropped from the account's list: count it once.
    for (const entry of (account.unjournaled ?? []).filter((unjournaled) => !sum.seqs.has(unjournaled.seq))) {
      sum.available += BigInt(entry.availableDelta);
      sum.held += BigInt(entry.heldDelta);
      sum.entries += 1;
    }
    report.checked += 1;
    const who = account.kind === 'wallet' ? `wallet of ${account._id.split(':')[1]}` : `account ${account._id}`;
    if (sum.available !== BigInt(account.available) || sum.held !== BigInt(account.held)) {
      report.violations.push(`${who} does not reconcile with its journal: balance available ${account.available} held ${account.held}, entries sum to available ${sum.available} held ${sum.held}`);
    }
    if (sum.entries !== account.seq) report.violations.push(`${who} has seq ${account.seq} but ${sum.entries} journal entries`);
  }
  report.notes.push(`ledger: ${accounts.length} accounts, ${accounts.filter((account) => account.kind === 'wallet').length} wallets reconciled with their journals`);
}

async function checkTransfers(client: MongoClient, report: InvariantReport): Promise<void> {
  const unfinished = await client
    .db(databaseName('escrow'))
    .collection('transfers')
    .find({ 'state.state': { $nin: terminalTransferStates } })
    .toArray();
  report.checked += 1;
  for (const transfer of unfinished) {
    const state = transfer['state'] as { state: string; referenceKind: string; referenceId: string; amountMinor: number };
    report.violations.push(`transfer ${transfer._id} left ${state.state === 'pending' ? 'pending (a hold nobody posted or voided)' : `between legs (${state.state})`}: ${state.referenceKind} ${state.referenceId}, ${state.amountMinor} minor units`);
  }
}

async function checkSagasAndJobs(client: MongoClient, report: InvariantReport): Promise<void> {
  const now = new Date();
  for (const service of serviceNames) {
    const stuck = await stuckWorkReport(connectionOf(client, service), service, now);
    report.checked += 1;
    for (const saga of stuck.sagas) report.violations.push(`saga unfinished in ${service}: ${saga.id} ${saga.kind} ${saga.state}, ${saga.attempts} attempts, last error ${saga.lastError || 'none'}`);
    const database = client.db(databaseName(service));
    const sagas = await allSagas(client, [service]);
    report.sagasByService[service] = sagas.length;
    report.sagasRun += sagas.length;
    if (service === 'escrow') {
      const pledges = sagas.filter((saga) => saga.kind === 'pledge');
      report.checked += 1;
      for (const saga of pledges.filter(isUnfinished)) report.violations.push(`pledge saga unfinished in escrow: ${saga.id} ${saga.state}`);
    }
    const due = await database
      .collection(`${service}_jobs`)
      .find({ state: { $ne: 'done' }, dueAt: { $lte: now } })
      .toArray();
    report.checked += 1;
    for (const job of due) report.violations.push(`job due and not done in ${service}: ${describe(job)}`);
  }
}

/** Aggregates whose lifecycle must have ended: collection, the states that are an end, and where the state is. */
const lifecycles: readonly { service: string; collection: string; what: string; terminal: readonly string[]; allowed?: readonly string[] }[] = [
  { service: 'escrow', collection: 'campaigns', what: 'campaign', terminal: ['failed', 'delivered', 'delivery_failed'], allowed: ['draft'] },
  { service: 'escrow', collection: 'pledges', what: 'pledge', terminal: ['collected', 'refunded', 'cancelled'] },
  { service: 'escrow', collection: 'withdrawals', what: 'withdrawal', terminal: ['completed', 'rejected'] },
  { service: 'task-dispatch', collection: 'tasks', what: 'task', terminal: ['completed', 'cancelled', 'closed', 'refused'] },
  { service: 'equity', collection: 'rounds', what: 'round', terminal: ['closed', 'failed'] },
  { service: 'equity', collection: 'commitments', what: 'commitment', terminal: ['cancelled', 'allocated', 'refunded'] },
];

/** Where a piece of work (a milestone, an assignment) ends: paid, decided by the arbiter, refunded, or abandoned after a rejection. */
const terminalWorkStates = ['accepted', 'resolved', 'refunded', 'abandoned'];

async function checkLifecycles(client: MongoClient, report: InvariantReport): Promise<void> {
  let drafts = 0;
  for (const lifecycle of lifecycles) {
    const documents = await client.db(databaseName(lifecycle.service)).collection(lifecycle.collection).find({}).toArray();
    for (const document of documents) {
      const fields = document['state'] as { state?: string; mode?: string } | undefined;
      const state = fields?.state ?? '(none)';
      report.checked += 1;
      const what = fields?.mode ? `${lifecycle.what} (${fields.mode})` : lifecycle.what;
      if (lifecycle.allowed?.includes(state)) drafts += 1;
      else if (!lifecycle.terminal.includes(state)) report.violations.push(`${what} ${document._id} is ${state}, not terminal (${lifecycle.terminal.join(', ')})`);
    }
  }
  if (drafts > 0) report.notes.push(`${drafts} campaign(s) left as drafts (a launch abandoned or refused; a draft holds no money)`);
  const taskDatabase = client.db(databaseName('task-dispatch'));
  for (const task of await taskDatabase.collection('tasks').find({}).toArray()) {
    const state = task['state'] as { state: string; milestones?: { work: { state: string } }[] };
    for (const [index, { work }] of (state.milestones ?? []).entries()) {
      report.checked += 1;
      if (state.state === 'completed' && !terminalWorkStates.includes(work.state)) report.violations.push(`task ${task._id} is completed but its milestone ${index} is ${work.state}`);
      if (work.state === 'disputed' || work.state === 'submitted') report.violations.push(`milestone ${index} of task ${task._id} is still ${work.state}`);
    }
  }
  for (const assignment of await taskDatabase.collection('assignments').find({}).toArray()) {
    const state = assignment['state'] as { lease: string; work: { state: string } };
    report.checked += 1;
    const expiredUnsubmitted = state.lease === 'expired' && state.work.state === 'pending';
    if (!expiredUnsubmitted && !terminalWorkStates.includes(state.work.state)) report.violations.push(`assignment ${assignment._id} is ${state.work.state} (lease ${state.lease}), not terminal`);
  }
  for (const dispute of await taskDatabase.collection('disputes').find({}).toArray()) {
    const state = dispute['state'] as { taskId: string; assignmentId?: string; milestoneIndex: number };
    report.checked += 1;
    const work = state.assignmentId
      ? ((await taskDatabase.collection('assignments').findOne({ _id: state.assignmentId as never }))?.['state'] as { work?: { state: string } } | undefined)?.work
      : ((await taskDatabase.collection('tasks').findOne({ _id: state.taskId as never }))?.['state'] as { milestones?: { work: { state: string } }[] } | undefined)?.milestones?.[state.milestoneIndex]?.work;
    if (work?.state === 'disputed') report.violations.push(`dispute ${dispute._id} on ${state.assignmentId ?? `milestone ${state.milestoneIndex} of ${state.taskId}`} is not resolved`);
  }
}

function describe(document: Document): string {
  return JSON.stringify(document).slice(0, 400);
}
