/** Where things live: the clone (server state) and the per-user cache (downloads and builds). */
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';

/** The clone's root: kit's finder, which walks up to the package.json that declares workspaces. */
export { repositoryRoot as findRepositoryRoot } from '@sizhong/kit';

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
