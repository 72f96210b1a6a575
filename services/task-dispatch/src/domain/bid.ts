/** Bids (bidding mode) and contest submissions: one per solver and task, their own documents. */
import { DomainError, type Money } from '@sizhong/kit/domain';
import { etaDaysMax, noteLengthMax, proposalLengthMax, urlLengthMax } from './limits';
import type { Task } from './task';

export interface Bid {
  readonly id: string;
  readonly taskId: string;
  readonly ownerId: string;
  readonly solverId: string;
  readonly price: Money;
  readonly etaDays: number;
  readonly proposal: string;
  readonly at: Date;
}

export type BidState = 'open' | 'awarded' | 'declined';

export interface ContestSubmission {
  readonly id: string;
  readonly taskId: string;
  readonly ownerId: string;
  readonly solverId: string;
  readonly deliverableUrl: string;
  readonly note: string;
  readonly at: Date;
}

function text(field: string, value: string, max: number, required: boolean): string {
  const trimmed = value.trim();
  if (required && !trimmed) throw new DomainError('INVALID_ARGUMENT', `${field} is required`, { field });
  if ([...trimmed].length > max) throw new DomainError('LIMIT_EXCEEDED', `${field} is at most ${max} characters`, { field, max });
  return trimmed;
}

export function checkDeliverableUrl(url: string): string {
  const trimmed = text('deliverableUrl', url, urlLengthMax, true);
  if (!/^https?:\/\/[^\s]+$/.test(trimmed)) throw new DomainError('INVALID_ARGUMENT', 'deliverableUrl must be an http(s) URL', { field: 'deliverableUrl' });
  return trimmed;
}

export function checkNote(note: string): string {
  return text('note', note, noteLengthMax, false);
}

/** A bid on an open bidding task: in its currency and within its budget. */
export function placeBid(task: Task, input: { id: string; solverId: string; price: Money; etaDays: number; proposal: string }, now: Date): Bid {
  if (input.solverId === task.ownerId) throw new DomainError('PERMISSION_DENIED', 'an owner does not bid on their own task');
  if (input.price.currency !== task.budget.currency) throw new DomainError('CURRENCY_MISMATCH', `bids are in ${task.budget.currency}`, { field: 'price' });
  if (input.price.amountMinor <= 0n || input.price.amountMinor > task.budget.amountMinor) {
    throw new DomainError('INVALID_ARGUMENT', 'price must be positive and at most the budget', { field: 'price' });
  }
  if (!Number.isInteger(input.etaDays) || input.etaDays < 1 || input.etaDays > etaDaysMax) throw new DomainError('INVALID_ARGUMENT', `etaDays must be within 1..${etaDaysMax}`, { field: 'etaDays' });
  return { id: input.id, taskId: task.id, ownerId: task.ownerId, solverId: input.solverId, price: input.price, etaDays: input.etaDays, proposal: text('proposal', input.proposal, proposalLengthMax, true), at: now };
}

export function bidState(task: Task, bid: Bid): BidState {
  if (task.award?.bidId === bid.id && task.state !== 'awarding') return 'awarded';
  return task.state === 'awarded' || task.state === 'completed' || task.state === 'cancelled' ? 'declined' : 'open';
}

/** The owner sees every bid; a bidder only their own; anyone else none (the route answers 404). */
export function visibleBids(task: Task, callerId: string, bids: readonly Bid[]): Bid[] | undefined {
  if (task.ownerId === callerId) return [...bids];
  const own = bids.filter((bid) => bid.solverId === callerId);
  return own.length > 0 ? own : undefined;
}

export function submitToContest(task: Task, input: { id: string; solverId: string; deliverableUrl: string; note: string }, now: Date): ContestSubmission {
  if (input.solverId === task.ownerId) throw new DomainError('PERMISSION_DENIED', 'an owner does not enter their own contest');
  return { id: input.id, taskId: task.id, ownerId: task.ownerId, solverId: input.solverId, deliverableUrl: checkDeliverableUrl(input.deliverableUrl), note: checkNote(input.note), at: now };
}
