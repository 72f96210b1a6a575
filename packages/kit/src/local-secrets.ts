/**
 * Secrets for local runs: the configured value when set; otherwise random bytes generated on the
 * first start and kept in `<repository>/.data/<name>` (mode 0600, git-ignored), so every local
 * process of the platform (and the sandbox scripts) uses the same value across restarts.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

const generatedSecretBytes = 32;

/** The monorepo root: the nearest directory above `from` whose package.json declares workspaces. */
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

/** `<repository>/.data`, unless SIZHONG_DATA_DIR says otherwise. */
export function defaultDataDirectory(): string {
  return process.env['SIZHONG_DATA_DIR'] ?? join(repositoryRoot(), '.data');
}

export interface ResolvedSecret {
  readonly secret: Uint8Array;
  readonly source: 'configuration' | 'generated' | 'file';
  readonly path?: string;
}

export interface SecretOptions {
  readonly configured: string | undefined;
  readonly dataDirectory: string;
  readonly fileName: string;
  readonly lengthMin: number;
}

export function resolveLocalSecret(options: SecretOptions): ResolvedSecret {
  if (options.configured !== undefined) {
    return { secret: new TextEncoder().encode(options.configured), source: 'configuration' };
  }
  const path = join(options.dataDirectory, options.fileName);
  const existing = readSecretFile(path, options.lengthMin);
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
  const secret = readSecretFile(path, options.lengthMin);
  if (!secret) throw new Error(`could not read the secret just written to ${path}`);
  return { secret, source: won ? 'generated' : 'file', path };
}

function readSecretFile(path: string, lengthMin: number): Uint8Array | undefined {
  if (!existsSync(path)) return undefined;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) !== 0) throw new Error(`${path} is readable by others (mode ${mode.toString(8)}); chmod 600 it`);
  const text = readFileSync(path, 'utf8').trim();
  if (text.length < lengthMin) throw new Error(`${path} holds fewer than ${lengthMin} characters; delete it to generate a new one`);
  return new TextEncoder().encode(text);
}
