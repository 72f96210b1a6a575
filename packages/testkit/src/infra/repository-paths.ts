/** Where things live: the clone (server state) and the per-user cache (downloads and builds). */
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';

/**
 * Kept apart from kit's `repositoryRoot` on purpose: jest's global setup loads this file without
 * the module mapping, so testkit's infrastructure code must not import @sizhong/kit (unbuilt on a
 * clean clone).
 *
 * The clone's root: the nearest ancestor whose package.json declares npm workspaces. Walking up
 * from this file works the same from sources (tsx, jest) and from a compiled dist/.
 */
export function findRepositoryRoot(startDirectory: string = __dirname): string {
  let directory = startDirectory;
  for (;;) {
    const packageFile = join(directory, 'package.json');
    if (existsSync(packageFile)) {
      const manifest = JSON.parse(readFileSync(packageFile, 'utf8')) as { workspaces?: unknown };
      if (manifest.workspaces !== undefined) return directory;
    }
    const parent = dirname(directory);
    if (parent === directory) {
      throw new Error(`no package.json with "workspaces" above ${startDirectory}; is this file inside the Sizhong clone?`);
    }
    directory = parent;
  }
}

/** `${XDG_CACHE_HOME:-$HOME/.cache}/sizhong`: shared by every clone of this user on this machine. */
export function userCacheDirectory(environment: NodeJS.ProcessEnv = process.env): string {
  const xdgCacheHome = environment.XDG_CACHE_HOME;
  // The XDG specification says to ignore relative paths.
  const base = xdgCacheHome && isAbsolute(xdgCacheHome) ? xdgCacheHome : join(homedir(), '.cache');
  return join(base, 'sizhong');
}

/** The clone's git-ignored state for one local server: data, pid file, configuration, logs. */
export function serverStateDirectory(repositoryRoot: string, serverName: string): string {
  return join(repositoryRoot, '.cache', 'infra', serverName);
}
