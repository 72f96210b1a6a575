// Proves the one gRPC status + error code → HTTP table: every code has a status, and the statuses the API contract names are the ones answered.
import { status as GrpcStatus } from '@grpc/grpc-js';
import { errorCodes } from '@sizhong/kit';
import { httpStatusByErrorCode, httpStatusByGrpcStatus, httpStatusOf } from './error-mapping';

describe('error → HTTP mapping', () => {
  it('gives every gRPC status and every error code an HTTP status', () => {
    for (const status of Object.values(GrpcStatus).filter((value): value is number => typeof value === 'number')) {
      expect(httpStatusByGrpcStatus[status as GrpcStatus]).toBeGreaterThanOrEqual(200);
    }
    for (const code of errorCodes) expect(httpStatusOf(code)).toBeGreaterThanOrEqual(400);
  });

  it('answers what the public contract promises', () => {
    expect(httpStatusByErrorCode).toEqual({
      INVALID_ARGUMENT: 400,
      UNAUTHENTICATED: 401,
      PERMISSION_DENIED: 403,
      PLEDGE_LIMIT_REACHED: 422,
      NOT_FOUND: 404,
      ALREADY_EXISTS: 409,
      ALREADY_DECIDED: 409,
      CONCURRENT_MODIFICATION: 409,
      INVALID_STATE: 422,
      IDEMPOTENCY_KEY_REQUIRED: 400,
      IDEMPOTENCY_KEY_REUSED: 422,
      IDEMPOTENT_REQUEST_IN_PROGRESS: 409,
      LIMIT_EXCEEDED: 400,
      PAYLOAD_TOO_LARGE: 413,
      RATE_LIMITED: 429,
      DEADLINE_EXCEEDED: 504,
      UNAVAILABLE: 503,
      INTERNAL: 500,
      CURRENCY_MISMATCH: 400,
      INSUFFICIENT_FUNDS: 422,
      TRANSFER_NOT_PENDING: 422,
      TRANSFER_EXPIRED: 422,
      SIGNATURE_INVALID: 401,
      CAMPAIGN_NOT_LIVE: 422,
      TIER_SOLD_OUT: 422,
      CANCELLATION_WINDOW_CLOSED: 422,
      NO_SLOT_AVAILABLE: 422,
      CREDIT_TOO_LOW: 422,
      LEAD_NOT_QUALIFIED: 422,
      LEAD_SHARE_TOO_SMALL: 422,
      LEAD_REQUIRED: 422,
      INVESTOR_LIMIT_EXCEEDED: 422,
      ROUND_FULL: 422,
      COOLING_OFF_ENDED: 422,
    });
  });
});
