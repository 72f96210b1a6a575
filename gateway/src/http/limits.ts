/**
 * Every bound the gateway enforces on what a client sends, named once. Each has a test at the
 * limit and one past it (test/limits.e2e.spec.ts); docs/gateway.md lists them.
 */

/** Largest JSON request body accepted; larger bodies get 413 PAYLOAD_TOO_LARGE before parsing. */
export const requestBodyBytesMax = 64 * 1024;

/** Page size of every list (`?limit=`); past it the request is refused, not silently clamped. */
export const pageSizeMax = 100;
export const pageSizeDefault = 20;

/** `Idempotency-Key`: 1–255 visible ASCII characters, as the IETF draft and Stripe accept (kit's idempotency-key.ts). */
export { idempotencyKeyLengthMax, idempotencyKeyPattern } from '@sizhong/kit';

/** Identity fields. Emails follow RFC 5321's path limit; passwords are bounded so hashing cost is too. */
export const emailLengthMax = 254;
export const passwordLengthMin = 12;
export const passwordLengthMax = 128;
export const displayNameLengthMax = 80;
/** A participant holds at most every self-service role once. */
export const rolesPerParticipantMax = 6;

/** Opaque ids in paths (`pt_<32 hex>` and the services' ids) are short. */
export const pathIdLengthMax = 64;

/** Generic bounds later routes use for free text and lists inside bodies. */
export const titleLengthMax = 200;
export const textLengthMax = 10_000;
export const arrayItemsMax = 100;

/** A bearer token longer than this is not one we issued. */
export const bearerTokenLengthMax = 2_048;
