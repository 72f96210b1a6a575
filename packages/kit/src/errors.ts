/**
 * One error type for every expected refusal in Sizhong. Codes form a closed union so that the
 * gRPC table (grpc/errors.ts), the gateway's HTTP table and the API documentation cannot drift
 * apart. Pure: domain code imports it through `@sizhong/kit/domain`.
 */
export const errorCodes = [
  // Generic, used by every service and the gateway.
  'INVALID_ARGUMENT',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
  'ALREADY_DECIDED',
  'CONCURRENT_MODIFICATION',
  'INVALID_STATE',
  'IDEMPOTENCY_KEY_REQUIRED',
  'IDEMPOTENCY_KEY_REUSED',
  'IDEMPOTENT_REQUEST_IN_PROGRESS',
  'LIMIT_EXCEEDED',
  'PAYLOAD_TOO_LARGE',
  'RATE_LIMITED',
  'DEADLINE_EXCEEDED',
  'UNAVAILABLE',
  'INTERNAL',
  // Money and the ledger.
  'CURRENCY_MISMATCH',
  'INSUFFICIENT_FUNDS',
  'TRANSFER_NOT_PENDING',
  'TRANSFER_EXPIRED',
  'SIGNATURE_INVALID',
  // Product campaigns.
  'CAMPAIGN_NOT_LIVE',
  'TIER_SOLD_OUT',
  'CANCELLATION_WINDOW_CLOSED',
  'PLEDGE_LIMIT_REACHED',
  // Tasks.
  'NO_SLOT_AVAILABLE',
  'CREDIT_TOO_LOW',
  // Equity rounds.
  'LEAD_NOT_QUALIFIED',
  'LEAD_SHARE_TOO_SMALL',
  'LEAD_REQUIRED',
  'INVESTOR_LIMIT_EXCEEDED',
  'ROUND_FULL',
  'COOLING_OFF_ENDED',
] as const;

export type ErrorCode = (typeof errorCodes)[number];

/**
 * Codes that say nothing about whether the callee acted: a deadline passed, a peer was unreachable,
 * a server failed, a write race was lost or a request is still in flight. Never a definite refusal
 * (the saga model refuses to list them as one), always worth retrying.
 */
export const unknownOutcomeCodes: readonly ErrorCode[] = ['DEADLINE_EXCEEDED', 'UNAVAILABLE', 'INTERNAL', 'CONCURRENT_MODIFICATION', 'IDEMPOTENT_REQUEST_IN_PROGRESS'];

/** Safe, client-visible facts about a refusal (never secrets, never other tenants' data). */
export type ErrorDetails = Readonly<Record<string, string | number | boolean | null>>;

export class DomainError extends Error {
  override readonly name = 'DomainError';

  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: ErrorDetails = {},
  ) {
    super(message);
  }
}

export function isDomainError(value: unknown): value is DomainError {
  return value instanceof DomainError;
}

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && (errorCodes as readonly string[]).includes(value);
}

/** A programmer error or a broken invariant: crash loudly rather than continue with bad money. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) {
    throw new InvariantViolation(message);
  }
}

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}
