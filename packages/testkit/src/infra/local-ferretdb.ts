/**
 * FerretDB (the MongoDB wire protocol over SQLite) on 127.0.0.1, from a binary built once per user
 * and version out of scripts/infra/ferretdb. That directory wraps FerretDB's public Go package
 * because the `ferretdb` command served by the Go proxy panics at start: the module copy lacks
 * build/version/version.txt. See docs/infrastructure.md.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { LocalServer, type LaunchCommand, type LocalServerStarted, type LocalServerStatus, type LocalServerStopped } from './local-server';
import { portFromEnvironment } from './ports';
import { withProgress, writeToStandardError, type InfrastructureLog } from './progress';
import { runCommand } from './processes';
import { checkMongoReady } from './readiness';
import { findRepositoryRoot, serverStateDirectory, userCacheDirectory } from './repository-paths';
import { go, requireTool } from './toolchain';
import { ensureCacheEntry } from './user-cache';

export const mongoPortDefault = 27027;
export const mongoPortVariable = 'SIZHONG_MONGO_PORT';

/** FerretDB answers within a second of starting; the margin is for a loaded machine. */
const ferretDbReadyTimeoutMs = 30_000;
const ferretDbStopGraceMs = 10_000;
/** A cold build compiles FerretDB and its dependencies (SQLite in pure Go): minutes on two cores. */
const goBuildTimeoutMs = 20 * 60_000;

export interface LocalFerretDbOptions {
  /** The clone; found from this file's location when absent. */
  repositoryRoot?: string;
  /** Data, pid file and log; defaults to `<clone>/.cache/infra/ferretdb`. */
  stateDirectory?: string;
  /** The per-user cache root; defaults to `${XDG_CACHE_HOME:-~/.cache}/sizhong`. */
  cacheDirectory?: string;
  host?: string;
  /** Defaults to SIZHONG_MONGO_PORT, else 27027. */
  port?: number;
  environment?: NodeJS.ProcessEnv;
  log?: InfrastructureLog;
}

export class LocalFerretDb {
  readonly mongoUrl: string;
  private readonly server: LocalServer;

  constructor(options: LocalFerretDbOptions = {}) {
    const environment = options.environment ?? process.env;
    const repositoryRoot = options.repositoryRoot ?? findRepositoryRoot();
    const stateDirectory = options.stateDirectory ?? serverStateDirectory(repositoryRoot, 'ferretdb');
    const cacheDirectory = options.cacheDirectory ?? userCacheDirectory(environment);
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? portFromEnvironment(environment, mongoPortVariable, mongoPortDefault);
    this.mongoUrl = `mongodb://${host}:${port}/`;
    const settings: FerretDbSettings = { stateDirectory, host, port, environment, cacheDirectory, moduleDirectory: join(repositoryRoot, 'scripts', 'infra', 'ferretdb') };
    this.server = new LocalServer(
      {
        displayName: 'FerretDB',
        stateDirectory,
        host,
        ports: [{ port, environmentVariable: mongoPortVariable, purpose: 'client' }],
        readyTimeoutMs: ferretDbReadyTimeoutMs,
        stopGraceMs: ferretDbStopGraceMs,
        prepare: (log) => prepareFerretDb(settings, log),
        checkReady: () => checkMongoReady(this.mongoUrl),
      },
      options.log ?? writeToStandardError,
    );
  }

  get logFile(): string {
    return this.server.logFile;
  }

  up(): Promise<LocalServerStarted> {
    return this.server.up();
  }

  down(): Promise<LocalServerStopped> {
    return this.server.down();
  }

  status(): Promise<LocalServerStatus> {
    return this.server.status();
  }
}

interface FerretDbSettings {
  stateDirectory: string;
  host: string;
  port: number;
  environment: NodeJS.ProcessEnv;
  cacheDirectory: string;
  /** `scripts/infra/ferretdb`: the Go module that wraps FerretDB. */
  moduleDirectory: string;
}

async function prepareFerretDb(settings: FerretDbSettings, log: InfrastructureLog): Promise<LaunchCommand> {
  const binary = await ensureFerretDbBinary(settings, log);
  const dataDirectory = join(settings.stateDirectory, 'data');
  mkdirSync(dataDirectory, { recursive: true });
  // FerretDB wants a directory URL ending in '/'; pathToFileURL also escapes spaces and the like.
  const sqliteUrl = `${pathToFileURL(dataDirectory).href}/`;
  return {
    command: binary,
    // Not `warn`: FerretDB warns about every `endSessions`, which each driver sends when it closes.
    args: ['-listen-addr', `${settings.host}:${settings.port}`, '-sqlite-url', sqliteUrl, '-log-level', 'error'],
    environment: settings.environment,
  };
}

/** `~/.cache/sizhong/ferretdb-<version>/bin/ferretdb`, built by `go install` from the wrapper module. */
async function ensureFerretDbBinary(settings: FerretDbSettings, log: InfrastructureLog): Promise<string> {
  const version = readFerretDbVersion(join(settings.moduleDirectory, 'go.mod'));
  const entry = await ensureCacheEntry(
    join(settings.cacheDirectory, `ferretdb-${version}`),
    (directory) => existsSync(join(directory, 'bin', 'ferretdb')),
    async (temporaryDirectory) => {
      await requireTool(go, ['version']);
      await withProgress(log, `Building FerretDB ${version} with Go into ${settings.cacheDirectory} (once per user and version; 1–2 minutes cold)`, () =>
        runCommand(go, ['install', '.'], {
          cwd: settings.moduleDirectory,
          environment: {
            ...settings.environment,
            GOBIN: join(temporaryDirectory, 'bin'),
            // Pure Go (SQLite included): no C compiler needed, and the binary is self-contained.
            CGO_ENABLED: '0',
            // The module sits inside this git clone; stamping VCS data would make the build depend on git.
            GOFLAGS: [settings.environment.GOFLAGS, '-buildvcs=false'].filter(Boolean).join(' '),
          },
          timeoutMs: goBuildTimeoutMs,
        }),
      );
    },
  );
  return join(entry, 'bin', 'ferretdb');
}

/** go.mod is the one place that names the FerretDB version; the cache directory follows it. */
export function readFerretDbVersion(goModFile: string): string {
  const match = /github\.com\/FerretDB\/FerretDB v(\S+)/.exec(readFileSync(goModFile, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`${goModFile} does not require github.com/FerretDB/FerretDB`);
  return match[1];
}
