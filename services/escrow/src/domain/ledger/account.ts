/**
 * Ledger accounts. Every participant has a wallet per currency; every deal has its own escrow
 * account (so money in custody is visible per deal); the platform has a fee account; money enters
 * and leaves through the payment provider's external account, the only kind allowed below zero.
 */
import { assert, isCurrencyCode, type CurrencyCode } from '@sizhong/kit/domain';

export const accountKinds = ['wallet', 'escrow', 'fee', 'external'] as const;

/** The currencies the platform holds money in (wallets, deals, fees); the public contract: CNY or USD. */
export const platformCurrencies = ['CNY', 'USD'] as const;

export function isPlatformCurrency(currency: string): boolean {
  return (platformCurrencies as readonly string[]).includes(currency);
}
export type AccountKind = (typeof accountKinds)[number];

export interface Account {
  readonly id: string;
  readonly kind: AccountKind;
  readonly currency: CurrencyCode;
  /** The participant (wallet) or the deal (escrow: `campaign:<id>`, `task:<id>`, …). */
  readonly ownerId: string;
  /** Only external accounts may go below zero: they mirror money outside the platform. */
  readonly overdraftAllowed: boolean;
}

/** The balances after an entry; both are never negative except on external accounts. */
export interface Balance {
  readonly available: bigint;
  readonly held: bigint;
}

export const emptyBalance: Balance = { available: 0n, held: 0n };

const ownerPattern = /^[A-Za-z0-9_:-]{1,96}$/;

function accountId(kind: AccountKind, ownerId: string, currency: CurrencyCode): string {
  assert(isCurrencyCode(currency), `invalid currency ${currency}`);
  assert(ownerPattern.test(ownerId), `invalid account owner ${JSON.stringify(ownerId)}`);
  return `${kind}:${ownerId}:${currency}`;
}

export function walletAccount(participantId: string, currency: CurrencyCode): Account {
  return { id: accountId('wallet', participantId, currency), kind: 'wallet', currency, ownerId: participantId, overdraftAllowed: false };
}

/** `dealKind` names what the money is held for: `campaign`, `task`, `round`. */
export function escrowAccount(dealKind: string, dealId: string, currency: CurrencyCode): Account {
  const ownerId = `${dealKind}:${dealId}`;
  return { id: accountId('escrow', ownerId, currency), kind: 'escrow', currency, ownerId, overdraftAllowed: false };
}

/** Where a deposit for a participant nobody knows is held until an admin assigns or refunds it: custody of its own. */
export function suspenseAccount(depositId: string, currency: CurrencyCode): Account {
  return escrowAccount('suspense', depositId, currency);
}

export function feeAccount(currency: CurrencyCode): Account {
  return { id: accountId('fee', 'platform', currency), kind: 'fee', currency, ownerId: 'platform', overdraftAllowed: false };
}

export function externalAccount(provider: string, currency: CurrencyCode): Account {
  return { id: accountId('external', provider, currency), kind: 'external', currency, ownerId: provider, overdraftAllowed: true };
}

/** Recovers the account from its id (ids are self-describing), or undefined if malformed. */
export function accountFromId(id: string): Account | undefined {
  const first = id.indexOf(':');
  const last = id.lastIndexOf(':');
  if (first < 0 || last === first) return undefined;
  const kind = id.slice(0, first);
  const ownerId = id.slice(first + 1, last);
  const currency = id.slice(last + 1);
  if (!(accountKinds as readonly string[]).includes(kind) || !isCurrencyCode(currency) || !ownerPattern.test(ownerId)) return undefined;
  const account: Account = { id, kind: kind as AccountKind, currency, ownerId, overdraftAllowed: kind === 'external' };
  return account;
}
