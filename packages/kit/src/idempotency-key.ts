/**
 * Idempotency keys, one rule for the whole platform.
 *
 * At the edge (the gateway's `Idempotency-Key` header) a key is what the IETF Idempotency-Key draft
 * and Stripe accept: 1 to `idempotencyKeyLengthMax` visible ASCII characters (0x21–0x7E), so an
 * email, a URL path or a UUID are all keys.
 *
 * Behind the edge the services put keys into ids, saga record names and ledger references, which
 * take fewer characters. The gateway hands every key on through `serviceIdempotencyKey`: a key made
 * of `[A-Za-z0-9_.:-]` and at most `serviceIdempotencyKeyLengthMax` long goes on as it is (logs
 * and records stay readable), any other becomes `ik_` and the SHA-256 of the key in hex — the same
 * key always the same, two keys never one. Every service checks what it receives with
 * `checkServiceIdempotencyKey`.
 */
import { createHash } from 'node:crypto';
import { DomainError } from './errors';

/** Longest key a client may send (the IETF draft leaves it open; Stripe's bound). */
export const idempotencyKeyLengthMax = 255;
/** Visible ASCII: no space, no control character, nothing outside ASCII. */
export const idempotencyKeyPattern = /^[\x21-\x7e]+$/;

/** Longest key a service takes. */
export const serviceIdempotencyKeyLengthMax = 128;
export const serviceIdempotencyKeyPattern = /^[A-Za-z0-9_.:-]{1,128}$/;
const hashedKeyPrefix = 'ik_';

/** The key a service is given for a client's key (already checked at the edge). */
export function serviceIdempotencyKey(key: string): string {
  if (serviceIdempotencyKeyPattern.test(key)) return key;
  return `${hashedKeyPrefix}${createHash('sha256').update(key, 'utf8').digest('hex')}`;
}

/** A service's check of a key it received: the key itself, or IDEMPOTENCY_KEY_REQUIRED. */
export function checkServiceIdempotencyKey(key: string): string {
  if (!serviceIdempotencyKeyPattern.test(key)) {
    throw new DomainError('IDEMPOTENCY_KEY_REQUIRED', `an idempotency key of 1–${serviceIdempotencyKeyLengthMax} characters [A-Za-z0-9_.:-] is required (the gateway hands any other key on hashed)`);
  }
  return key;
}
