/**
 * The transfers out of a task's escrow account that its state implies. Each has a stable key, so
 * the app turns it into an idempotent transfer id and can issue the whole list again after a crash
 * (a transfer already made is a no-op). Funding is the one transfer into the account: at award
 * (bidding) or at posting (contest, dispatch).
 *
 * Conservation (what the property tests check): once a task is finished, the payments out of its
 * escrow sum to what was funded, so the account ends at zero.
 */
import type { Money } from '@sizhong/kit/domain';
import type { Assignment } from './assignment';
import type { Task } from './task';
import type { Work } from './work';

export type Payee = { readonly kind: 'solver'; readonly solverId: string } | { readonly kind: 'owner' } | { readonly kind: 'platform' };

export interface Payment {
  /** Unique within the task: names the transfer. */
  readonly key: string;
  readonly payee: Payee;
  readonly amount: Money;
}

function ofWork(key: string, solverId: string, work: Work): Payment[] {
  const settlement = work.settlement;
  if (!settlement) return [];
  const payments: Payment[] = [
    { key: `${key}:solver`, payee: { kind: 'solver', solverId }, amount: settlement.solverPaid },
    { key: `${key}:fee`, payee: { kind: 'platform' }, amount: settlement.fee },
    { key: `${key}:owner`, payee: { kind: 'owner' }, amount: settlement.ownerRefunded },
  ];
  return payments.filter((payment) => payment.amount.amountMinor > 0n);
}

/** The task's own payments: milestones (bidding), winners (contest), the refund at cancellation (contest, dispatch). */
export function paymentsOfTask(task: Task): Payment[] {
  const payments: Payment[] = [];
  task.milestones.forEach((milestone, index) => payments.push(...ofWork(`m${index}`, task.award?.solverId ?? '', milestone.work)));
  for (const winner of task.winners ?? []) {
    payments.push({ key: `w:${winner.submissionId}:solver`, payee: { kind: 'solver', solverId: winner.solverId }, amount: winner.solverPaid });
    payments.push({ key: `w:${winner.submissionId}:fee`, payee: { kind: 'platform' }, amount: winner.fee });
  }
  if (task.mode !== 'bidding' && task.cancellation) payments.push({ key: 'cancel:owner', payee: { kind: 'owner' }, amount: task.cancellation.refunded });
  if (task.closure) payments.push({ key: 'close:owner', payee: { kind: 'owner' }, amount: task.closure.refunded });
  return payments.filter((payment) => payment.amount.amountMinor > 0n);
}

/** A dispatch assignment's payments: its settled work, or its slot returned to the owner of a cancelled task. */
export function paymentsOfAssignment(assignment: Assignment): Payment[] {
  if (assignment.slotReturnedTo === 'owner') return [{ key: `a:${assignment.id}:returned`, payee: { kind: 'owner' }, amount: assignment.work.amount }];
  return ofWork(`a:${assignment.id}`, assignment.solverId, assignment.work);
}

export function totalMinor(payments: readonly Payment[]): bigint {
  return payments.reduce((sum, payment) => sum + payment.amount.amountMinor, 0n);
}
