/**
 * One error type for every expected refusal in Sizhong. Codes form a closed union so that the
 * gRPC table below, the gateway's HTTP table and the API documentation cannot drift apart.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';

export const errorCodes = [
  // Generic, used by every service and the gateway.
  'INVALID_ARGUMENT',
  'UNAUTHENTICATED',
  'PERMISSION_DENIED',
  'NOT_FOUND',
  'ALREADY_EXISTS',
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

/**
 * The one table from error code to gRPC status. Rule refusals are FAILED_PRECONDITION (the
 * gateway answers 422), conflicts that a retry may resolve are ABORTED (409).
 */
export const grpcStatusByErrorCode: Readonly<Record<ErrorCode, GrpcStatus>> = {
  INVALID_ARGUMENT: GrpcStatus.INVALID_ARGUMENT,
  UNAUTHENTICATED: GrpcStatus.UNAUTHENTICATED,
  PERMISSION_DENIED: GrpcStatus.PERMISSION_DENIED,
  NOT_FOUND: GrpcStatus.NOT_FOUND,
  ALREADY_EXISTS: GrpcStatus.ALREADY_EXISTS,
  CONCURRENT_MODIFICATION: GrpcStatus.ABORTED,
  INVALID_STATE: GrpcStatus.FAILED_PRECONDITION,
  IDEMPOTENCY_KEY_REQUIRED: GrpcStatus.INVALID_ARGUMENT,
  IDEMPOTENCY_KEY_REUSED: GrpcStatus.FAILED_PRECONDITION,
  IDEMPOTENT_REQUEST_IN_PROGRESS: GrpcStatus.ABORTED,
  LIMIT_EXCEEDED: GrpcStatus.INVALID_ARGUMENT,
  PAYLOAD_TOO_LARGE: GrpcStatus.INVALID_ARGUMENT,
  RATE_LIMITED: GrpcStatus.RESOURCE_EXHAUSTED,
  DEADLINE_EXCEEDED: GrpcStatus.DEADLINE_EXCEEDED,
  UNAVAILABLE: GrpcStatus.UNAVAILABLE,
  INTERNAL: GrpcStatus.INTERNAL,
  CURRENCY_MISMATCH: GrpcStatus.INVALID_ARGUMENT,
  INSUFFICIENT_FUNDS: GrpcStatus.FAILED_PRECONDITION,
  TRANSFER_NOT_PENDING: GrpcStatus.FAILED_PRECONDITION,
  TRANSFER_EXPIRED: GrpcStatus.FAILED_PRECONDITION,
  SIGNATURE_INVALID: GrpcStatus.UNAUTHENTICATED,
  CAMPAIGN_NOT_LIVE: GrpcStatus.FAILED_PRECONDITION,
  TIER_SOLD_OUT: GrpcStatus.FAILED_PRECONDITION,
  CANCELLATION_WINDOW_CLOSED: GrpcStatus.FAILED_PRECONDITION,
  PLEDGE_LIMIT_REACHED: GrpcStatus.FAILED_PRECONDITION,
  NO_SLOT_AVAILABLE: GrpcStatus.FAILED_PRECONDITION,
  CREDIT_TOO_LOW: GrpcStatus.FAILED_PRECONDITION,
  LEAD_NOT_QUALIFIED: GrpcStatus.FAILED_PRECONDITION,
  LEAD_SHARE_TOO_SMALL: GrpcStatus.FAILED_PRECONDITION,
  LEAD_REQUIRED: GrpcStatus.FAILED_PRECONDITION,
  INVESTOR_LIMIT_EXCEEDED: GrpcStatus.FAILED_PRECONDITION,
  ROUND_FULL: GrpcStatus.FAILED_PRECONDITION,
  COOLING_OFF_ENDED: GrpcStatus.FAILED_PRECONDITION,
};

/** A programmer error or a broken invariant: crash loudly rather than continue with bad money. */
export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) {
    throw new InvariantViolation(message);
  }
}

export class InvariantViolation extends Error {
  override readonly name = 'InvariantViolation';
}
