/**
 * Identifiers. Ids of things a client request creates are derived from its idempotency key, so a
 * retried request names the same thing and a unique index turns the retry into a lookup.
 */
import { createHash, randomBytes } from 'node:crypto';

/** 128 bits of SHA-256, hex: collisions are out of reach, ids stay short. */
const idHashHexLength = 32;
const idPrefixPattern = /^[a-z][a-z0-9]{0,11}$/;

/** `deterministicId('pl', 'pledge', participantId, idempotencyKey)` → `pl_<32 hex>`. */
export function deterministicId(prefix: string, scope: string, ...keyParts: string[]): string {
  assertPrefix(prefix);
  const hash = createHash('sha256');
  for (const part of [scope, ...keyParts]) {
    // Length-prefixing keeps ("ab","c") and ("a","bc") apart.
    hash.update(`${part.length}:${part}|`);
  }
  return `${prefix}_${hash.digest('hex').slice(0, idHashHexLength)}`;
}

/** A fresh random id for things no client key names (outside the pure domain only). */
export function randomId(prefix: string): string {
  assertPrefix(prefix);
  return `${prefix}_${randomBytes(16).toString('hex')}`;
}

function assertPrefix(prefix: string): void {
  if (!idPrefixPattern.test(prefix)) {
    throw new Error(`invalid id prefix ${JSON.stringify(prefix)}`);
  }
}

/**
 * JSON with sorted keys and bigints as strings: equal requests give equal text whatever order
 * their fields arrived in.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(canonicalize(value));
}

function canonicalize(value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map(canonicalize);
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>)
        .filter(([, entry]) => entry !== undefined)
        .sort(([left], [right]) => (left < right ? -1 : left > right ? 1 : 0))
        .map(([key, entry]) => [key, canonicalize(entry)]),
    );
  }
  return value;
}

/** The stored hash of a request, to tell a replay from a different request under the same key. */
export function requestFingerprint(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}
