/**
 * Money in the public API: `{"currency": "CNY", "amountMinor": "12345"}`, a decimal string of
 * integer minor units (docs/gateway.md). Conversions to and from the wire form of the
 * services (`commonV1.Money`, bigint minor units) live here, so no route handles amounts as numbers.
 */
import { amountMinorMax, assert, type MoneyJson } from '@sizhong/kit';
import type { commonV1 } from '@sizhong/proto';
import { z } from '../openapi/zod';
import { positiveDecimalField } from './fields';

/**
 * Currencies clients may name. Escrow opens the platform accounts (fee, payment provider) for
 * exactly these at start (services/escrow/src/domain/ledger/account.ts `platformCurrencies`); a wallet in
 * any other currency could never be funded, so asking for one is refused as malformed input.
 */
export const supportedCurrencies = ['CNY', 'USD'] as const;
export type SupportedCurrency = (typeof supportedCurrencies)[number];

const signedAmountPattern = /^-?(0|[1-9][0-9]{0,18})$/;

export const currencySchema = z.enum(supportedCurrencies).describe(`ISO 4217 code: ${supportedCurrencies.join(' or ')}`);

/** Money as answered: any currency the ledger reports, any int64 amount (external accounts go below zero). */
export const moneySchema = z
  .object({
    currency: z.string().regex(/^[A-Z]{3}$/).describe('ISO 4217 code'),
    amountMinor: z.string().regex(signedAmountPattern).describe('integer minor units (fen, cents) as a decimal string'),
  })
  .openapi('Money');

/**
 * Money a client sends to be moved: a supported currency and a positive amount of at most
 * `amountMinorMax` minor units (int64, what the services carry), or less where a service bounds
 * it further (campaigns). The documented pattern holds the bound, so it is exact.
 */
export function positiveMoneySchemaUpTo(amountMinorMax: bigint, componentName: string) {
  return z
    .object({
      currency: currencySchema,
      amountMinor: positiveDecimalField(amountMinorMax, `a positive integer of minor units (fen, cents) as a decimal string, at most ${amountMinorMax}`),
    })
    .openapi(componentName);
}

export const positiveMoneySchema = positiveMoneySchemaUpTo(amountMinorMax, 'PositiveMoney');

/** A service's money as the public JSON form. Services always send money where the contract says so. */
export function moneyJson(value: commonV1.Money | undefined): MoneyJson {
  assert(value !== undefined, 'a service answered without a money field its contract requires');
  return { currency: value.currency, amountMinor: value.amountMinor.toString() };
}

/** An amount in minor units of a known currency as the public JSON form. */
export function minorUnitsJson(currency: string, amountMinor: bigint): MoneyJson {
  return { currency, amountMinor: amountMinor.toString() };
}

/** Validated client money (see positiveMoneySchema) as the services' wire form. */
export function moneyMessage(value: { currency: string; amountMinor: string }): commonV1.Money {
  return { currency: value.currency, amountMinor: BigInt(value.amountMinor) };
}
