// The kit's pure parts, for services' domain/ folders: errors, money, deterministic ids and who
// the caller is. No
// gRPC, MongoDB, Kafka or clock comes with this import (the lint rule refuses '@sizhong/kit' there).
export { assert, DomainError, type ErrorCode, type ErrorDetails, errorCodes, InvariantViolation, isDomainError, isErrorCode, unknownOutcomeCodes } from './errors';
export * from './money';
export { canonicalJson, deterministicId, requestFingerprint } from './ids';
export * from './identity';
