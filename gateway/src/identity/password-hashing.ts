/**
 * Password hashing with scrypt (node:crypto). Each hash stores its own salt and cost parameters,
 * so the parameters can be raised later without invalidating stored hashes; a hash made with
 * weaker parameters is upgraded at the next successful sign-in.
 */
import { randomBytes, scrypt, type ScryptOptions, timingSafeEqual } from 'node:crypto';

export interface ScryptParameters {
  /** CPU/memory cost, a power of two. */
  readonly cost: number;
  readonly blockSize: number;
  readonly parallelization: number;
}

/**
 * One of OWASP's equivalent scrypt settings (N=2^15, r=8, p=3): 32 MiB per hash, which keeps
 * memory bounded when libuv's pool runs several at once; about 0.25 s on one core here.
 */
export const scryptParametersDefault: ScryptParameters = { cost: 2 ** 15, blockSize: 8, parallelization: 3 };
export const passwordSaltBytes = 16;
export const passwordHashBytes = 32;

export interface PasswordHash {
  readonly algorithm: 'scrypt';
  readonly cost: number;
  readonly blockSize: number;
  readonly parallelization: number;
  /** base64 */
  readonly salt: string;
  /** base64 */
  readonly hash: string;
}

/** NIST SP 800-63B: normalize before hashing, so the same password typed two ways matches. */
function passwordBytes(password: string): Buffer {
  return Buffer.from(password.normalize('NFKC'), 'utf8');
}

function deriveKey(password: string, salt: Buffer, parameters: ScryptParameters, keyLength: number): Promise<Buffer> {
  const options: ScryptOptions = {
    N: parameters.cost,
    r: parameters.blockSize,
    p: parameters.parallelization,
    // scrypt needs 128·N·r bytes; leave headroom over node's 32 MiB default.
    maxmem: 256 * parameters.cost * parameters.blockSize,
  };
  return new Promise((resolve, reject) =>
    scrypt(passwordBytes(password), salt, keyLength, options, (error, key) => (error ? reject(error) : resolve(key))),
  );
}

export async function hashPassword(password: string, parameters: ScryptParameters = scryptParametersDefault): Promise<PasswordHash> {
  const salt = randomBytes(passwordSaltBytes);
  const key = await deriveKey(password, salt, parameters, passwordHashBytes);
  return {
    algorithm: 'scrypt',
    cost: parameters.cost,
    blockSize: parameters.blockSize,
    parallelization: parameters.parallelization,
    salt: salt.toString('base64'),
    hash: key.toString('base64'),
  };
}

/** Compares in constant time, using the parameters stored with the hash. */
export async function verifyPassword(password: string, stored: PasswordHash): Promise<boolean> {
  if (stored.algorithm !== 'scrypt') return false;
  const expected = Buffer.from(stored.hash, 'base64');
  if (expected.length === 0) return false;
  const actual = await deriveKey(password, Buffer.from(stored.salt, 'base64'), stored, expected.length);
  return timingSafeEqual(actual, expected);
}

/** True when a stored hash was made with weaker parameters than the current ones. */
export function needsRehash(stored: PasswordHash, parameters: ScryptParameters = scryptParametersDefault): boolean {
  return (
    stored.algorithm !== 'scrypt' ||
    stored.cost < parameters.cost ||
    stored.blockSize < parameters.blockSize ||
    stored.parallelization < parameters.parallelization ||
    Buffer.from(stored.hash, 'base64').length < passwordHashBytes
  );
}
