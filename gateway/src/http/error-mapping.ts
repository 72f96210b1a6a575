/**
 * The one table from gRPC status + DomainError code to HTTP status. A code's HTTP status follows
 * from its gRPC status (kit's `grpcStatusByErrorCode`), so a code added to the kit gets a sensible
 * answer without touching the gateway; the few codes whose HTTP meaning is sharper than their
 * gRPC status are overridden here, by name.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { type ErrorCode, errorCodes, grpcStatusByErrorCode } from '@sizhong/kit';

export const httpStatusByGrpcStatus: Readonly<Record<GrpcStatus, number>> = {
  [GrpcStatus.OK]: 200,
  [GrpcStatus.CANCELLED]: 503,
  [GrpcStatus.UNKNOWN]: 500,
  [GrpcStatus.INVALID_ARGUMENT]: 400,
  [GrpcStatus.DEADLINE_EXCEEDED]: 504,
  [GrpcStatus.NOT_FOUND]: 404,
  [GrpcStatus.ALREADY_EXISTS]: 409,
  [GrpcStatus.PERMISSION_DENIED]: 403,
  [GrpcStatus.RESOURCE_EXHAUSTED]: 429,
  // Rule refusals: the request was well-formed but the domain said no.
  [GrpcStatus.FAILED_PRECONDITION]: 422,
  // Conflicts a retry may resolve (optimistic concurrency, a request still running).
  [GrpcStatus.ABORTED]: 409,
  [GrpcStatus.OUT_OF_RANGE]: 400,
  [GrpcStatus.UNIMPLEMENTED]: 501,
  [GrpcStatus.INTERNAL]: 500,
  [GrpcStatus.UNAVAILABLE]: 503,
  [GrpcStatus.DATA_LOSS]: 500,
  [GrpcStatus.UNAUTHENTICATED]: 401,
};

/** Codes whose HTTP status says more than their gRPC status does. */
const httpStatusOverrides: Partial<Record<ErrorCode, number>> = {
  // gRPC has no "too large"; HTTP does.
  PAYLOAD_TOO_LARGE: 413,
};

export function httpStatusOf(code: ErrorCode): number {
  return httpStatusOverrides[code] ?? httpStatusByGrpcStatus[grpcStatusByErrorCode[code]];
}

/** The whole table, for documentation and the test that pins it. */
export const httpStatusByErrorCode: Readonly<Record<ErrorCode, number>> = Object.fromEntries(
  errorCodes.map((code) => [code, httpStatusOf(code)]),
) as Record<ErrorCode, number>;

/**
 * Server-side failures answer with a fixed message: a downstream message for 5xx may carry
 * addresses or internals that clients should not see.
 */
export const serverErrorDetail: Readonly<Record<number, string>> = {
  500: 'An unexpected error occurred. Quote the trace id when reporting it.',
  501: 'This operation is not available yet.',
  503: 'A service this request needs is unavailable. Try again shortly.',
  504: 'A service this request needs did not answer in time. Try again shortly.',
};
