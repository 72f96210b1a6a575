/**
 * Money as integer minor units of one currency. Never a float: amounts are `bigint`, JSON carries
 * them as decimal strings, and every division of an amount goes through `split`.
 */
import { assert, DomainError } from './errors';

export type CurrencyCode = string;

export interface Money {
  readonly currency: CurrencyCode;
  readonly amountMinor: bigint;
}

/** The JSON form of money in the public API. */
export interface MoneyJson {
  readonly currency: string;
  readonly amountMinor: string;
}

/** Amounts are stored as int64 (BSON Long, proto int64); nothing may leave that range. */
export const amountMinorMax = 2n ** 63n - 1n;
export const amountMinorMin = -(2n ** 63n);
/** 100% in basis points. */
export const basisPointsWhole = 10_000n;

const currencyPattern = /^[A-Z]{3}$/;
const amountPattern = /^-?(0|[1-9][0-9]{0,18})$/;

export function isCurrencyCode(value: string): boolean {
  return currencyPattern.test(value);
}

export function money(currency: CurrencyCode, amountMinor: bigint): Money {
  assert(isCurrencyCode(currency), `invalid currency code ${JSON.stringify(currency)}`);
  assert(amountMinor >= amountMinorMin && amountMinor <= amountMinorMax, `amount ${amountMinor} outside int64`);
  return { currency, amountMinor };
}

export function zero(currency: CurrencyCode): Money {
  return money(currency, 0n);
}

/** Parses client input; refuses anything that is not an exact integer string in int64 range. */
export function parseMoney(input: MoneyJson, field = 'amount'): Money {
  if (!isCurrencyCode(input.currency)) {
    throw new DomainError('INVALID_ARGUMENT', `${field}.currency must be a three-letter ISO 4217 code`, { field: `${field}.currency` });
  }
  if (!amountPattern.test(input.amountMinor)) {
    throw new DomainError('INVALID_ARGUMENT', `${field}.amountMinor must be an integer string of minor units`, { field: `${field}.amountMinor` });
  }
  const amountMinor = BigInt(input.amountMinor);
  if (amountMinor > amountMinorMax || amountMinor < amountMinorMin) {
    throw new DomainError('INVALID_ARGUMENT', `${field}.amountMinor is out of range`, { field: `${field}.amountMinor` });
  }
  return { currency: input.currency, amountMinor };
}

export function toMoneyJson(value: Money): MoneyJson {
  return { currency: value.currency, amountMinor: value.amountMinor.toString() };
}

function assertSameCurrency(left: Money, right: Money): void {
  if (left.currency !== right.currency) {
    throw new DomainError('CURRENCY_MISMATCH', `cannot combine ${left.currency} with ${right.currency}`);
  }
}

export function add(left: Money, right: Money): Money {
  assertSameCurrency(left, right);
  return money(left.currency, left.amountMinor + right.amountMinor);
}

export function subtract(left: Money, right: Money): Money {
  assertSameCurrency(left, right);
  return money(left.currency, left.amountMinor - right.amountMinor);
}

export function compare(left: Money, right: Money): -1 | 0 | 1 {
  assertSameCurrency(left, right);
  return left.amountMinor < right.amountMinor ? -1 : left.amountMinor > right.amountMinor ? 1 : 0;
}

export function isPositive(value: Money): boolean {
  return value.amountMinor > 0n;
}

/**
 * The one split function. Divides `totalMinor` into parts proportional to `weights` by the
 * largest-remainder (Hamilton) method: every part first gets the floor of its exact share; the
 * units left over go one each to the parts with the largest fractional remainders, ties to the
 * earlier part. Parts are never negative, sum exactly to the total, and a zero weight gets zero.
 */
export function split(totalMinor: bigint, weights: readonly bigint[]): bigint[] {
  assert(totalMinor >= 0n, `split total must not be negative, got ${totalMinor}`);
  assert(weights.length > 0, 'split needs at least one weight');
  let weightSum = 0n;
  for (const weight of weights) {
    assert(weight >= 0n, `split weights must not be negative, got ${weight}`);
    weightSum += weight;
  }
  assert(weightSum > 0n, 'split weights must not all be zero');

  const parts = weights.map((weight) => (totalMinor * weight) / weightSum);
  const remainders = weights.map((weight, index) => ({ index, remainder: (totalMinor * weight) % weightSum }));
  let leftover = totalMinor - parts.reduce((sum, part) => sum + part, 0n);
  assert(leftover >= 0n && leftover < BigInt(weights.length), 'split leftover out of range');

  remainders.sort((left, right) => (left.remainder === right.remainder ? left.index - right.index : left.remainder > right.remainder ? -1 : 1));
  for (const { index } of remainders) {
    if (leftover === 0n) break;
    parts[index] = (parts[index] ?? 0n) + 1n;
    leftover -= 1n;
  }

  assert(parts.reduce((sum, part) => sum + part, 0n) === totalMinor, 'split parts must sum to the total');
  return parts;
}

/** Splits money by weights; see `split` for the rounding rule. */
export function splitMoney(total: Money, weights: readonly bigint[]): Money[] {
  return split(total.amountMinor, weights).map((part) => money(total.currency, part));
}

/**
 * A share of `total` in basis points and the rest, as `[share, rest]`, through `split`
 * (so a fee of 500 bps on 1 minor unit rounds by the same rule as every other split).
 */
export function splitByBasisPoints(total: Money, basisPoints: bigint): [share: Money, rest: Money] {
  assert(basisPoints >= 0n && basisPoints <= basisPointsWhole, `basis points must be within 0..10000, got ${basisPoints}`);
  const [share, rest] = splitMoney(total, [basisPoints, basisPointsWhole - basisPoints]);
  assert(share !== undefined && rest !== undefined, 'split returned two parts');
  return [share, rest];
}
