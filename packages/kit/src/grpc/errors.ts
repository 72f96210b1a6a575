/**
 * All mapping between DomainError and gRPC status lives here: services throw DomainError, the
 * wire carries the status plus our stable code in metadata, and clients get the DomainError back.
 */
import { Metadata, status as GrpcStatus, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import { DomainError, type ErrorCode, type ErrorDetails, grpcStatusByErrorCode, isErrorCode } from '../errors';
import { metadataKeys } from './metadata';

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
