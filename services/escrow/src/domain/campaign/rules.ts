/** Small helpers shared by the campaign rules. */
import { add, assert, DomainError, money, type ErrorCode, type ErrorDetails, type Money } from '@sizhong/kit/domain';

/** Throws the expected refusal; typed `never` so callers read as guards. */
export function refuse(code: ErrorCode, message: string, details: ErrorDetails = {}): never {
  throw new DomainError(code, message, details);
}

/** Length in Unicode code points, so a title of 120 Chinese characters or emoji counts as 120. */
export function textLength(text: string): number {
  return [...text].length;
}

export function sumMoney(currency: string, amounts: readonly Money[]): Money {
  return amounts.reduce((total, amount) => add(total, amount), money(currency, 0n));
}

export function isValidDate(value: Date): boolean {
  return value instanceof Date && !Number.isNaN(value.getTime());
}

export function addMs(instant: Date, durationMs: number): Date {
  return new Date(instant.getTime() + durationMs);
}

export function distinctBackersCount(pledges: readonly { readonly backerId: string }[]): number {
  return new Set(pledges.map((pledge) => pledge.backerId)).size;
}

/** Basis points arrive as numbers (JSON, config); splits take bigint. */
export function basisPoints(value: number, name: string): bigint {
  assert(Number.isSafeInteger(value) && value >= 0 && value <= 10_000, `${name} must be an integer within 0..10000, got ${value}`);
  return BigInt(value);
}
