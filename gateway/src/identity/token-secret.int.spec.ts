// Proves the token secret: configured wins; otherwise generated once (0600) and reused; a world-readable or short file is refused.
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repositoryRoot, resolveTokenSecret, tokenSecretFileName } from './token-secret';

let directory: string;

beforeEach(() => {
  directory = mkdtempSync(join(tmpdir(), 'sizhong-secret-'));
});

afterEach(() => {
  rmSync(directory, { recursive: true, force: true });
});

describe('token secret', () => {
  it('uses AUTH_TOKEN_SECRET when configured and writes nothing', () => {
    const resolved = resolveTokenSecret({ configured: 'x'.repeat(40), dataDirectory: join(directory, 'data') });
    expect(resolved.source).toBe('configuration');
    expect(Buffer.from(resolved.secret).toString('utf8')).toBe('x'.repeat(40));
  });

  it('generates 32 random bytes once, private to the owner, and reads them back afterwards', () => {
    const dataDirectory = join(directory, 'data');
    const generated = resolveTokenSecret({ configured: undefined, dataDirectory });
    expect(generated.source).toBe('generated');
    const path = join(dataDirectory, tokenSecretFileName);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    expect(readFileSync(path, 'utf8').trim()).toMatch(/^[0-9a-f]{64}$/);
    const again = resolveTokenSecret({ configured: undefined, dataDirectory });
    expect(again.source).toBe('file');
    expect(Buffer.from(again.secret).equals(Buffer.from(generated.secret))).toBe(true);
  });

  it('refuses a secret file others can read, or one too short', () => {
    const path = join(directory, tokenSecretFileName);
    writeFileSync(path, 'f'.repeat(64), { mode: 0o600 });
    chmodSync(path, 0o644);
    expect(() => resolveTokenSecret({ configured: undefined, dataDirectory: directory })).toThrow(/readable by others/);
    chmodSync(path, 0o600);
    writeFileSync(path, 'short');
    expect(() => resolveTokenSecret({ configured: undefined, dataDirectory: directory })).toThrow(/fewer than 32/);
  });

  it('finds the repository root above this file', () => {
    expect(readFileSync(join(repositoryRoot(), 'package.json'), 'utf8')).toContain('"workspaces"');
  });
});
