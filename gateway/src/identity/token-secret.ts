/**
 * The access-token signing secret: AUTH_TOKEN_SECRET when configured; otherwise 32 random bytes
 * generated on the first local start and kept in `<data dir>/auth-token-secret` (mode 0600), so
 * tokens survive restarts and every local gateway process signs with the same key.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { tokenSecretBytesMin } from './access-tokens';

export const tokenSecretFileName = 'auth-token-secret';
const generatedSecretBytes = 32;

/** The monorepo root: the nearest directory above this file whose package.json declares workspaces. */
export function repositoryRoot(from: string = __dirname): string {
  for (let directory = resolve(from); ; directory = dirname(directory)) {
    const manifest = join(directory, 'package.json');
    if (existsSync(manifest)) {
      try {
        if ((JSON.parse(readFileSync(manifest, 'utf8')) as { workspaces?: unknown }).workspaces !== undefined) return directory;
      } catch {
        // Not our manifest; keep looking upwards.
      }
    }
    if (dirname(directory) === directory) throw new Error(`no repository root (package.json with workspaces) above ${from}`);
  }
}

export function defaultDataDirectory(): string {
  return join(repositoryRoot(), '.data');
}

export interface ResolvedTokenSecret {
  readonly secret: Uint8Array;
  readonly source: 'configuration' | 'generated' | 'file';
  readonly path?: string;
}

export function resolveTokenSecret(options: { configured: string | undefined; dataDirectory: string }): ResolvedTokenSecret {
  if (options.configured !== undefined) {
    return { secret: new TextEncoder().encode(options.configured), source: 'configuration' };
  }
  const path = join(options.dataDirectory, tokenSecretFileName);
  const existing = readSecretFile(path);
  if (existing) return { secret: existing, source: 'file', path };
  mkdirSync(options.dataDirectory, { recursive: true, mode: 0o700 });
  // Write a private temporary file, then link it into place: the link fails if another process
  // got there first, and nobody ever reads a half-written secret.
  const temporary = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  writeFileSync(temporary, `${randomBytes(generatedSecretBytes).toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  let won = true;
  try {
    linkSync(temporary, path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    won = false;
  } finally {
    unlinkSync(temporary);
  }
  const secret = readSecretFile(path);
  if (!secret) throw new Error(`could not read the token secret just written to ${path}`);
  return { secret, source: won ? 'generated' : 'file', path };
}

function readSecretFile(path: string): Uint8Array | undefined {
  if (!existsSync(path)) return undefined;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new Error(`${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  const text = readFileSync(path, 'utf8').trim();
  if (text.length < tokenSecretBytesMin) throw new Error(`${path} holds fewer than ${tokenSecretBytesMin} characters; delete it to generate a new one`);
  return new TextEncoder().encode(text);
}
