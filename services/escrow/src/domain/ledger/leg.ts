/**
 * One leg of a transfer applied to one account's journal. Legs are the only way balances change;
 * each (transfer, leg) applies at most once, enforced by storage.
 *
 *   debit   available −x                 (single-phase source)
 *   credit  available +x                 (destination)
 *   hold    available −x, held +x        (two-phase source: the pending reservation)
 *   release held −x, available +(x − y)  (two-phase source resolves: y posted leaves, the rest returns)
 */
import { amountMinorMax, amountMinorMin, assert, DomainError } from '@sizhong/kit/domain';
import type { Account, Balance } from './account';

export type LegKind = 'debit' | 'credit' | 'hold' | 'release';

export type Leg =
  | { readonly kind: 'debit'; readonly amountMinor: bigint }
  | { readonly kind: 'credit'; readonly amountMinor: bigint }
  | { readonly kind: 'hold'; readonly amountMinor: bigint }
  | { readonly kind: 'release'; readonly heldMinor: bigint; readonly postedMinor: bigint };

export interface LegEffect {
  readonly availableDelta: bigint;
  readonly heldDelta: bigint;
}

export function legEffect(leg: Leg): LegEffect {
  switch (leg.kind) {
    case 'debit':
      assert(leg.amountMinor > 0n, 'a debit moves a positive amount');
      return { availableDelta: -leg.amountMinor, heldDelta: 0n };
    case 'credit':
      assert(leg.amountMinor > 0n, 'a credit moves a positive amount');
      return { availableDelta: leg.amountMinor, heldDelta: 0n };
    case 'hold':
      assert(leg.amountMinor > 0n, 'a hold reserves a positive amount');
      return { availableDelta: -leg.amountMinor, heldDelta: leg.amountMinor };
    case 'release':
      assert(leg.heldMinor > 0n && leg.postedMinor >= 0n && leg.postedMinor <= leg.heldMinor, 'a release posts between zero and the held amount');
      return { availableDelta: leg.heldMinor - leg.postedMinor, heldDelta: -leg.heldMinor };
  }
}

/**
 * The balance after the leg, or INSUFFICIENT_FUNDS, or LIMIT_EXCEEDED past int64. A release can never fail for lack of funds:
 * the held amount was reserved by the same transfer's hold.
 */
export function applyLeg(account: Account, balance: Balance, leg: Leg): Balance {
  const effect = legEffect(leg);
  const next: Balance = { available: balance.available + effect.availableDelta, held: balance.held + effect.heldDelta };
  // Balances are stored as int64: a leg that would leave that range is refused, never wrapped.
  if (next.available > amountMinorMax || next.available < amountMinorMin || next.held > amountMinorMax) {
    throw new DomainError('LIMIT_EXCEEDED', 'the balance would leave the range an account can hold', { accountId: account.id });
  }
  if (!account.overdraftAllowed) {
    if (next.available < 0n) {
      throw new DomainError('INSUFFICIENT_FUNDS', 'the account does not have enough available money', {
        accountId: account.id,
        availableMinor: balance.available.toString(),
      });
    }
    assert(next.held >= 0n, `held balance of ${account.id} would go negative: a release without its hold`);
  }
  return next;
}
