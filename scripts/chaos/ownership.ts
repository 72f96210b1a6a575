/**
 * "Every hold posted or voided and owned by a terminal saga" (issue 18): each transfer a saga
 * makes is tied to the saga that owns it by the ids the services derive (read in their code):
 *
 *   - a pledge hold (`referenceKind: pledge`, id `tr/pledge-hold/<pledge>`) → the pledge saga
 *     entry of that pledge in `campaign_backers` (escrow, app/campaigns/pledge-saga.ts);
 *   - a commitment hold (`commitment`, id `tr/commitment-hold/<commitment>`) → the `commitment`
 *     record `<commitment>` in `equity_sagas` (equity, app/commitments.ts);
 *   - a task's funding (`task`, id `tr/task-funding/<task>/<funding key>`) → the `task-funding`
 *     record `fund:<task>:<funding key>` in `task-dispatch_sagas`; a payment out of a task's escrow
 *     (`task`, debit `escrow:task:<task>`) → the task's `task-payments` records
 *     (`settle:<task or assignment>:<decision>`) (task-dispatch, app/tasks.ts, app/context.ts).
 *
 * A hold must end posted or voided (expiry is a last resort 30 days out, never the way a saga ends
 * in a run), its owner must exist and be terminal, and the two must agree: a saga given back
 * never leaves its money posted; a collected pledge's hold is posted, a cancelled one's is not.
 * Other transfers (deposits, withdrawals, settlement fees and payouts, round proceeds) are counted
 * by kind; that they ended is checked with every other transfer.
 */
import type { MongoClient } from 'mongodb';
import { deterministicId } from '../../packages/kit/src/ids';
import { databaseName, type SagaView, terminalSagaStates } from './sagas';

export interface OwnershipReport {
  readonly violations: string[];
  readonly notes: string[];
  checked: number;
}

interface TransferDocument {
  _id: string;
  state: { mode: string; state: string; referenceKind: string; referenceId: string; debitAccountId: string; amountMinor: unknown };
}

/** Whether a single- or two-phase transfer moved money in the end. */
const movedMoney = (state: string) => state === 'posted';

export async function checkHoldOwnership(client: MongoClient, sagas: readonly SagaView[], report: OwnershipReport): Promise<void> {
  const transfers = await client.db(databaseName('escrow')).collection<TransferDocument>('transfers').find({}).toArray();
  const sagaById = new Map(sagas.map((saga) => [`${saga.service}|${saga.id}`, saga]));
  const pledgeSagaByPledge = new Map(sagas.filter((saga) => saga.kind === 'pledge').map((saga) => [String(saga.input?.['pledgeId']), saga]));
  const fundingByTransfer = new Map<string, SagaView>();
  for (const saga of sagas.filter((each) => each.service === 'task-dispatch' && each.kind === 'task-funding')) {
    fundingByTransfer.set(deterministicId('tr', 'task-funding', String(saga.input?.['taskId']), String(saga.input?.['fundingKey'])), saga);
  }
  const paymentSagasBySubject = new Map<string, SagaView[]>();
  for (const saga of sagas.filter((each) => each.service === 'task-dispatch' && each.kind === 'task-payments')) {
    const subject = String(saga.input?.['taskId'] ?? saga.input?.['assignmentId']);
    paymentSagasBySubject.set(subject, [...(paymentSagasBySubject.get(subject) ?? []), saga]);
  }
  const assignmentsByTask = new Map<string, string[]>();
  for (const assignment of await client.db(databaseName('task-dispatch')).collection('assignments').find({}, { projection: { _id: 1, 'state.taskId': 1 } }).toArray()) {
    const taskId = String((assignment['state'] as { taskId: string }).taskId);
    assignmentsByTask.set(taskId, [...(assignmentsByTask.get(taskId) ?? []), String(assignment._id)]);
  }
  const pledgeStates = new Map((await client.db(databaseName('escrow')).collection('pledges').find({}, { projection: { _id: 1, 'state.state': 1 } }).toArray()).map((pledge) => [String(pledge._id), String((pledge['state'] as { state: string }).state)]));
  const commitmentStates = new Map((await client.db(databaseName('equity')).collection('commitments').find({}, { projection: { _id: 1, 'state.state': 1 } }).toArray()).map((commitment) => [String(commitment._id), String((commitment['state'] as { state: string }).state)]));

  const byKind: Record<string, number> = {};
  let owned = 0;
  const transferIds = new Set(transfers.map((transfer) => transfer._id));
  for (const transfer of transfers) {
    const { state, referenceKind, referenceId, debitAccountId, mode } = transfer.state;
    byKind[referenceKind] = (byKind[referenceKind] ?? 0) + 1;
    const what = `${mode === 'two_phase' ? 'hold' : 'transfer'} ${transfer._id} (${referenceKind} ${referenceId}, ${state})`;
    const owners = ownersOf();
    if (owners === undefined) continue;
    report.checked += 1;
    owned += 1;
    if (mode === 'two_phase' && state !== 'posted' && state !== 'voided') report.violations.push(`${what} was not posted or voided${state === 'expired' ? ' but expired: no saga ended it' : ''}`);
    if (owners.length === 0) {
      report.violations.push(`${what} has no saga that owns it`);
      continue;
    }
    for (const owner of owners.filter((saga) => !terminalSagaStates.includes(saga.state))) report.violations.push(`${what} is owned by ${owner.service} saga ${owner.id} (${owner.kind}), which is ${owner.state}, not terminal`);
    for (const owner of owners.filter((saga) => saga.state === 'given_back' && movedMoney(state) && saga.kind !== 'task-payments')) report.violations.push(`${what} moved money although its ${owner.service} saga ${owner.id} (${owner.kind}) was given back`);
    if (referenceKind === 'pledge') {
      const pledge = pledgeStates.get(referenceId);
      if (pledge === 'collected' && state !== 'posted') report.violations.push(`${what}: pledge ${referenceId} is collected but its hold is ${state}`);
      if (pledge === 'cancelled' && movedMoney(state)) report.violations.push(`${what}: pledge ${referenceId} is cancelled but its hold was posted`);
    }
    if (referenceKind === 'commitment' && commitmentStates.get(referenceId) === 'cancelled' && movedMoney(state)) report.violations.push(`${what}: commitment ${referenceId} is cancelled but its hold was posted`);

    function ownersOf(): SagaView[] | undefined {
      if (referenceKind === 'pledge' && mode === 'two_phase') {
        const owner = pledgeSagaByPledge.get(referenceId);
        return owner ? [owner] : [];
      }
      if (referenceKind === 'commitment' && mode === 'two_phase') {
        const owner = sagaById.get(`equity|${referenceId}`);
        return owner ? [owner] : [];
      }
      if (referenceKind === 'task') {
        const funding = fundingByTransfer.get(transfer._id);
        if (funding) return [funding];
        if (debitAccountId.startsWith(`escrow:task:${referenceId}:`)) {
          const subjects = [referenceId, ...(assignmentsByTask.get(referenceId) ?? [])];
          return subjects.flatMap((subject) => paymentSagasBySubject.get(subject) ?? []);
        }
        return [];
      }
      return undefined;
    }
  }
  // The other way round: every saga that finished holding or moving money has its transfer.
  for (const saga of sagas) {
    if (saga.kind === 'pledge' && saga.state === 'completed') {
      report.checked += 1;
      if (!transferIds.has(deterministicId('tr', 'pledge-hold', String(saga.input?.['pledgeId'])))) report.violations.push(`pledge saga ${saga.id} completed without its hold`);
    }
    if (saga.service === 'equity' && saga.kind === 'commitment' && saga.state === 'completed') {
      report.checked += 1;
      if (!transferIds.has(deterministicId('tr', 'commitment-hold', saga.id))) report.violations.push(`commitment saga ${saga.id} completed without its hold`);
    }
  }
  report.notes.push(`transfers by kind: ${Object.entries(byKind).map(([kind, count]) => `${kind} ${count}`).join(', ')}; ${owned} tied to the saga that owns them`);
}
