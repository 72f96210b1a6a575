// Proves scrypt password hashing: per-password salts, stored parameters honoured on verify, NFKC normalization, rehash detection.
import { hashPassword, needsRehash, passwordHashBytes, passwordSaltBytes, scryptParametersDefault, verifyPassword } from './password-hashing';

const cheap = { cost: 2 ** 10, blockSize: 8, parallelization: 1 };

describe('password hashing', () => {
  it('hashes with the default parameters, a fresh salt each time, and verifies', async () => {
    const first = await hashPassword('correct horse battery staple');
    const second = await hashPassword('correct horse battery staple');
    expect(first).toMatchObject({ algorithm: 'scrypt', ...scryptParametersDefault });
    expect(Buffer.from(first.salt, 'base64')).toHaveLength(passwordSaltBytes);
    expect(Buffer.from(first.hash, 'base64')).toHaveLength(passwordHashBytes);
    expect(first.salt).not.toBe(second.salt);
    expect(first.hash).not.toBe(second.hash);
    await expect(verifyPassword('correct horse battery staple', first)).resolves.toBe(true);
    await expect(verifyPassword('correct horse battery stapler', first)).resolves.toBe(false);
    await expect(verifyPassword('', first)).resolves.toBe(false);
  });

  it('verifies with the parameters stored in the hash, and flags weaker ones for rehash', async () => {
    const weak = await hashPassword('an older password', cheap);
    await expect(verifyPassword('an older password', weak)).resolves.toBe(true);
    expect(needsRehash(weak)).toBe(true);
    expect(needsRehash(await hashPassword('a current one'))).toBe(false);
  });

  it('treats canonically equivalent passwords as the same (NFKC)', async () => {
    const composed = await hashPassword('caf\u00e9 au lait!!', cheap);
    await expect(verifyPassword('cafe\u0301 au lait!!', composed)).resolves.toBe(true);
  });

  it('refuses hashes it cannot have made', async () => {
    const stored = await hashPassword('whatever it is', cheap);
    await expect(verifyPassword('whatever it is', { ...stored, hash: '' })).resolves.toBe(false);
    await expect(verifyPassword('whatever it is', { ...stored, algorithm: 'md5' as 'scrypt' })).resolves.toBe(false);
  });
});
