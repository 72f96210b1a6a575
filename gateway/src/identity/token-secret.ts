/**
 * The access-token signing secret: AUTH_TOKEN_SECRET when configured; otherwise 32 random bytes
 * generated on the first local start and kept in `<data dir>/auth-token-secret` (mode 0600), so
 * tokens survive restarts and every local gateway process signs with the same key.
 */
import { resolveLocalSecret, type ResolvedSecret } from '@sizhong/kit';
import { tokenSecretBytesMin } from './access-tokens';

export { defaultDataDirectory, repositoryRoot } from '@sizhong/kit';

export const tokenSecretFileName = 'auth-token-secret';

export type ResolvedTokenSecret = ResolvedSecret;

export function resolveTokenSecret(options: { configured: string | undefined; dataDirectory: string }): ResolvedTokenSecret {
  return resolveLocalSecret({ ...options, fileName: tokenSecretFileName, lengthMin: tokenSecretBytesMin });
}
