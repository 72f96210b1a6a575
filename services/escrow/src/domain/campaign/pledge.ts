/**
 * The pledge aggregate: a backer's pledge for a campaign (and maybe one tier), backed by a pending
 * transfer from the backer's wallet to the campaign's escrow account. Each pledge is its own
 * document and is the campaign's reservation: a pending pledge is money and (for a limited tier) a
 * unit the campaign's counters count.
 *
 *   pending ─cancelPledge→ cancelled              (the backer, while the campaign allows it)
 *   pending ─collectPledge→ collected ─refundPledge→ refunded ('delivery_failed', a share)
 *   pending ─voidPledge→ refunded ('campaign_failed', the whole amount)
 *
 * Repeating a transition that already happened (a retried saga step, a double click) returns the
 * pledge unchanged with no events; any other transition from the wrong state is refused.
 */
import { assert, type Money } from '@sizhong/kit/domain';
import type { PledgeCancelled, PledgeCollected, PledgeEvent, PledgePlaced, PledgeRefundReason, PledgeRefunded } from './events';
import type { PledgePlan } from './plan-pledge';
import { refuse } from './rules';

interface PledgeFields {
  readonly id: string;
  readonly campaignId: string;
  /** Copied from the campaign so events and visibility checks need no second load. */
  readonly creatorId: string;
  readonly backerId: string;
  readonly tierId?: string;
  readonly amount: Money;
  /** The pending transfer holding `amount` on the backer's wallet. */
  readonly transferId: string;
  readonly placedAt: Date;
}

export interface PendingPledge extends PledgeFields {
  readonly state: 'pending';
}

export interface CancelledPledge extends PledgeFields {
  readonly state: 'cancelled';
  readonly cancelledAt: Date;
}

export interface CollectedPledge extends PledgeFields {
  readonly state: 'collected';
  readonly collectedAt: Date;
}

export interface RefundedPledge extends PledgeFields {
  readonly state: 'refunded';
  readonly refundReason: PledgeRefundReason;
  /** The whole amount after a failed campaign; the pro-rata share after a failed delivery. */
  readonly refundedAmount: Money;
  readonly refundedAt: Date;
  /** Present when the pledge had been collected (refund after a failed delivery). */
  readonly collectedAt?: Date;
}

export type Pledge = PendingPledge | CancelledPledge | CollectedPledge | RefundedPledge;
export type PledgeState = Pledge['state'];

/**
 * Records a pledge whose place in the campaign's counters the storage took (the guarded write of
 * the plan) and whose hold the ledger placed. Everything comes from the plan, so the pledge agrees
 * with what the counters took by construction, and no campaign is read: a saga that took its place
 * in time is completed forward even after the campaign ended.
 */
export function placePledge(plan: PledgePlan, transferId: string, now: Date): { pledge: PendingPledge; events: PledgeEvent[] } {
  assert(transferId.length > 0, 'placePledge needs the transfer id of the hold');
  assert(plan.pledgeId.length > 0 && plan.amount.amountMinor > 0n, `pledge plan ${plan.pledgeId} is not a planned pledge`);
  const pledge: PendingPledge = {
    id: plan.pledgeId,
    campaignId: plan.campaignId,
    creatorId: plan.creatorId,
    backerId: plan.backerId,
    ...(plan.tierId === undefined ? {} : { tierId: plan.tierId }),
    amount: plan.amount,
    transferId,
    placedAt: now,
    state: 'pending',
  };
  const placed: PledgePlaced = { type: 'PledgePlaced', ...eventFields(pledge, now) };
  return { pledge, events: [placed] };
}

/**
 * Only the backer cancels, only a pending pledge. The campaign's window is decided first, in the
 * guarded counter write that gives the pledge's money and unit back (cancellationGuard); the app
 * layer checks these preconditions before that write and applies this after it.
 */
export function cancelPledge(pledge: Pledge, by: string, now: Date): { pledge: Pledge; events: PledgeEvent[] } {
  if (by !== pledge.backerId) refuse('PERMISSION_DENIED', 'only the backer may cancel a pledge', { pledgeId: pledge.id });
  switch (pledge.state) {
    case 'cancelled':
      return { pledge, events: [] };
    case 'collected':
    case 'refunded':
      return refuse('CANCELLATION_WINDOW_CLOSED', `a ${pledge.state} pledge can no longer be cancelled`, { pledgeId: pledge.id, state: pledge.state });
    case 'pending': {
      const cancelled: CancelledPledge = { ...pledge, state: 'cancelled', cancelledAt: now };
      const event: PledgeCancelled = { type: 'PledgeCancelled', ...eventFields(pledge, now) };
      return { pledge: cancelled, events: [event] };
    }
  }
}

/** Settlement posted the pledge's hold: the money is in the campaign's escrow account. */
export function collectPledge(pledge: Pledge, now: Date): { pledge: Pledge; events: PledgeEvent[] } {
  switch (pledge.state) {
    case 'collected':
      return { pledge, events: [] };
    case 'cancelled':
    case 'refunded':
      return refuse('INVALID_STATE', `a ${pledge.state} pledge cannot be collected`, { pledgeId: pledge.id, state: pledge.state });
    case 'pending': {
      const collected: CollectedPledge = { ...pledge, state: 'collected', collectedAt: now };
      const event: PledgeCollected = { type: 'PledgeCollected', ...eventFields(pledge, now) };
      return { pledge: collected, events: [event] };
    }
  }
}

/** The campaign failed: settlement voided the hold, the whole amount is back on the backer's wallet. */
export function voidPledge(pledge: Pledge, now: Date): { pledge: Pledge; events: PledgeEvent[] } {
  switch (pledge.state) {
    case 'refunded':
      if (pledge.refundReason === 'campaign_failed') return { pledge, events: [] };
      return refuse('INVALID_STATE', 'a pledge refunded after a failed delivery cannot be voided', { pledgeId: pledge.id, state: pledge.state });
    case 'cancelled':
    case 'collected':
      return refuse('INVALID_STATE', `a ${pledge.state} pledge cannot be voided`, { pledgeId: pledge.id, state: pledge.state });
    case 'pending':
      return refunded(pledge, 'campaign_failed', pledge.amount, now);
  }
}

/**
 * The creator failed to deliver: the pledge's pro-rata share of the unreleased money (from
 * planRefunds) went back to the backer. A share of zero still ends the pledge as refunded.
 */
export function refundPledge(pledge: Pledge, refundAmount: Money, now: Date): { pledge: Pledge; events: PledgeEvent[] } {
  assert(refundAmount.currency === pledge.amount.currency, `refund of pledge ${pledge.id} is in another currency`);
  assert(refundAmount.amountMinor >= 0n && refundAmount.amountMinor <= pledge.amount.amountMinor, `refund of pledge ${pledge.id} must lie within 0..amount`);
  switch (pledge.state) {
    case 'refunded':
      if (pledge.refundReason === 'delivery_failed') {
        assert(pledge.refundedAmount.amountMinor === refundAmount.amountMinor, `pledge ${pledge.id} was refunded a different amount`);
        return { pledge, events: [] };
      }
      return refuse('INVALID_STATE', 'a pledge voided at campaign failure was never collected', { pledgeId: pledge.id, state: pledge.state });
    case 'pending':
    case 'cancelled':
      return refuse('INVALID_STATE', `a ${pledge.state} pledge was never collected`, { pledgeId: pledge.id, state: pledge.state });
    case 'collected':
      return refunded(pledge, 'delivery_failed', refundAmount, now);
  }
}

function refunded(
  pledge: PendingPledge | CollectedPledge,
  reason: PledgeRefundReason,
  refundedAmount: Money,
  now: Date,
): { pledge: RefundedPledge; events: PledgeEvent[] } {
  const { state: _state, ...fields } = pledge;
  const result: RefundedPledge = { ...fields, state: 'refunded', refundReason: reason, refundedAmount, refundedAt: now };
  const event: PledgeRefunded = { type: 'PledgeRefunded', ...eventFields(pledge, now), reason, refundedAmount };
  return { pledge: result, events: [event] };
}

function eventFields(pledge: Pledge, now: Date) {
  return {
    pledgeId: pledge.id,
    campaignId: pledge.campaignId,
    creatorId: pledge.creatorId,
    backerId: pledge.backerId,
    ...(pledge.tierId === undefined ? {} : { tierId: pledge.tierId }),
    amount: pledge.amount,
    transferId: pledge.transferId,
    occurredAt: now,
  };
}
