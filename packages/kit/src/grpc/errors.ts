/**
 * All mapping between DomainError and gRPC status lives here: services throw DomainError, the
 * wire carries the status plus our stable code in metadata, and clients get the DomainError back.
 */
import { Metadata, status as GrpcStatus, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { DomainError, type ErrorCode, type ErrorDetails, isErrorCode } from '../errors';
import { metadataKeys } from './metadata';

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
  // A decision contrary to one already made (winners, an award, a resolution): final, not worth retrying.
  ALREADY_DECIDED: GrpcStatus.ALREADY_EXISTS,
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

/** For errors from servers that did not send our code (proxies, the runtime itself). */
const errorCodeByGrpcStatus: Partial<Record<GrpcStatus, ErrorCode>> = {
  [GrpcStatus.INVALID_ARGUMENT]: 'INVALID_ARGUMENT',
  [GrpcStatus.UNAUTHENTICATED]: 'UNAUTHENTICATED',
  [GrpcStatus.PERMISSION_DENIED]: 'PERMISSION_DENIED',
  [GrpcStatus.NOT_FOUND]: 'NOT_FOUND',
  [GrpcStatus.ALREADY_EXISTS]: 'ALREADY_EXISTS',
  [GrpcStatus.ABORTED]: 'CONCURRENT_MODIFICATION',
  [GrpcStatus.FAILED_PRECONDITION]: 'INVALID_STATE',
  [GrpcStatus.RESOURCE_EXHAUSTED]: 'RATE_LIMITED',
  [GrpcStatus.DEADLINE_EXCEEDED]: 'DEADLINE_EXCEEDED',
  [GrpcStatus.CANCELLED]: 'UNAVAILABLE',
  [GrpcStatus.UNAVAILABLE]: 'UNAVAILABLE',
};

/** A server-side error as the status object grpc-js sends. Unknown errors reveal nothing. */
export function toGrpcStatus(error: unknown, traceId: string | undefined): Partial<StatusObject> {
  const metadata = new Metadata();
  if (error instanceof DomainError) {
    metadata.set(metadataKeys.errorCode, error.code);
    metadata.set(metadataKeys.errorDetails, JSON.stringify(error.details));
    return { code: grpcStatusByErrorCode[error.code], details: error.message, metadata };
  }
  metadata.set(metadataKeys.errorCode, 'INTERNAL');
  return { code: GrpcStatus.INTERNAL, details: `internal error${traceId ? ` (trace ${traceId})` : ''}`, metadata };
}

/** A client-side ServiceError back as the DomainError the server raised. */
export function fromServiceError(error: ServiceError): DomainError {
  const [codeValue] = error.metadata?.get(metadataKeys.errorCode) ?? [];
  const code: ErrorCode = isErrorCode(codeValue) ? codeValue : (errorCodeByGrpcStatus[error.code as GrpcStatus] ?? 'INTERNAL');
  const [detailsText] = error.metadata?.get(metadataKeys.errorDetails) ?? [];
  let details: ErrorDetails = {};
  if (typeof detailsText === 'string') {
    try {
      details = JSON.parse(detailsText) as ErrorDetails;
    } catch {
      details = {};
    }
  }
  return new DomainError(code, error.details || error.message, details);
}
