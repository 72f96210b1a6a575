/**
 * The web console's bundle: gateway/console/src (TypeScript, CSS, Apache ECharts and the Noto Sans
 * SC web font, all from npm) bundled by esbuild into gateway/console/dist/<hash>/, where <hash>
 * names the sources and the versions of the packages bundled. The gateway builds it on demand, the
 * first time a console asset is asked for (or at start, see main.ts), so a clean clone needs no
 * separate step: `npm ci && npm start` and `npm test` both find it. A bundle that exists for the
 * current hash is reused; a build writes to a temporary folder and renames it into place, so two
 * processes building at once (jest workers) never serve a half-written folder.
 */
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build as esbuild } from 'esbuild';

export const consoleDirectory = join(__dirname, '..', '..', 'console');
const sourceDirectory = join(consoleDirectory, 'src');
const outputRoot = join(consoleDirectory, 'dist');
/** The packages whose files end up in the bundle: a new version is a new bundle. */
const bundledPackages = ['echarts', 'zrender', '@fontsource/noto-sans-sc', 'esbuild'] as const;
/** Bundles of other hashes older than this are removed after a build (a running process may still serve one). */
const staleBundleAgeMs = 60 * 60_000;

export interface ConsoleBundle {
  readonly directory: string;
  readonly hash: string;
  /** Every file of the bundle by its path under the directory, e.g. `/console.js`. */
  readonly files: ReadonlySet<string>;
}

function filesUnder(directory: string): string[] {
  return readdirSync(directory, { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name))
    .sort();
}

function packageVersion(name: string): string {
  const manifest = require.resolve(`${name}/package.json`, { paths: [consoleDirectory] });
  return (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
}

/** A hash of the console's sources and the bundled packages' versions. */
export function consoleSourceHash(): string {
  const hash = createHash('sha256');
  for (const file of filesUnder(sourceDirectory)) hash.update(relative(sourceDirectory, file)).update('\0').update(readFileSync(file)).update('\0');
  for (const name of bundledPackages) hash.update(`${name}@${packageVersion(name)}\0`);
  return hash.digest('hex').slice(0, 16);
}

function describe(directory: string, hash: string): ConsoleBundle {
  const files = new Set(filesUnder(directory).map((file) => `/${relative(directory, file).split('\\').join('/')}`));
  return { directory, hash, files };
}

async function buildBundle(hash: string): Promise<ConsoleBundle> {
  const target = join(outputRoot, hash);
  if (existsSync(join(target, 'console.js'))) return describe(target, hash);
  const temporary = join(outputRoot, `.building-${hash}-${randomBytes(4).toString('hex')}`);
  try {
    await esbuild({
      entryPoints: { console: join(sourceDirectory, 'main.ts') },
      bundle: true,
      format: 'iife',
      platform: 'browser',
      target: ['es2022', 'chrome110', 'firefox110', 'safari16'],
      minify: true,
      sourcemap: true,
      legalComments: 'linked',
      outdir: temporary,
      entryNames: '[name]',
      assetNames: 'fonts/[name]-[hash]',
      loader: { '.woff2': 'file', '.woff': 'file' },
      absWorkingDir: consoleDirectory,
      logLevel: 'silent',
    });
    try {
      renameSync(temporary, target);
    } catch (error) {
      // Another process renamed its identical build into place first.
      if (!existsSync(join(target, 'console.js'))) throw error;
    }
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
  removeStaleBundles(hash);
  return describe(target, hash);
}

function removeStaleBundles(current: string): void {
  for (const name of readdirSync(outputRoot)) {
    if (name === current) continue;
    const path = join(outputRoot, name);
    if (Date.now() - statSync(path).mtimeMs > staleBundleAgeMs) rmSync(path, { recursive: true, force: true });
  }
}

let pending: Promise<ConsoleBundle> | undefined;

/** The current bundle, built the first time it is asked for in this process (then remembered). */
export function consoleBundle(): Promise<ConsoleBundle> {
  pending ??= Promise.resolve()
    .then(() => buildBundle(consoleSourceHash()))
    .catch((error: unknown) => {
      pending = undefined; // let the next request try again
      throw error;
    });
  return pending;
}
