/**
 * The local MongoDB-wire server: mongo-java-server over one H2 (MVStore) file, run by our own main
 * class in scripts/infra/mongo, which commits every write before answering it and compacts the
 * file. Its jars are resolved by Maven and its main class compiled by javac, once per user and
 * version. See docs/infrastructure.md.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { delimiter, join, relative } from 'node:path';
import { LocalServer, type LaunchCommand, type LocalServerKilled, type LocalServerStarted, type LocalServerStatus, type LocalServerStopped } from './local-server';
import { portFromEnvironment } from './ports';
import { withProgress, writeToStandardError, type InfrastructureLog } from './progress';
import { runCommand } from './processes';
import { checkMongoReady } from './readiness';
import { findRepositoryRoot, serverStateDirectory, userCacheDirectory } from './repository-paths';
import { java, javac, maven, requireJava, requireTool } from './toolchain';
import { ensureCacheEntry } from './user-cache';

export const mongoPortDefault = 27027;
export const mongoPortVariable = 'SIZHONG_MONGO_PORT';
/** The main class in scripts/infra/mongo/src. */
export const mongoMainClass = 'sizhong.infra.mongo.SizhongMongoServer';
/** The data file inside the state directory; H2 insists on the `.mv.db` ending. */
export const mongoDataFile = join('data', 'sizhong.mv.db');

/** The JVM starts and opens the file in about a second; the margin is for a loaded machine and a large file to compact. */
const mongoReadyTimeoutMs = 60_000;
/** A stop commits, closes and compacts the file: well under a second for test-sized data. */
const mongoStopGraceMs = 30_000;
/** A cold resolve downloads about 6 MB of jars from Maven Central. */
const mavenResolveTimeoutMs = 15 * 60_000;
const javacTimeoutMs = 5 * 60_000;
/** Generous for tests and `npm start`, small enough not to crowd out Kafka and the services. */
const mongoHeapSizeMax = '512m';

export interface LocalMongoOptions {
  /** The clone; found from this file's location when absent. */
  repositoryRoot?: string;
  /**
   * Data file, pid file, lock and log; defaults to `<clone>/.cache/infra/mongo`. A test that kills
   * or restarts the server gives it a directory of its own (and a port from `findFreePort`), so the
   * shared server that other test files use is never touched.
   */
  stateDirectory?: string;
  /** The per-user cache root; defaults to `${XDG_CACHE_HOME:-~/.cache}/sizhong`. */
  cacheDirectory?: string;
  host?: string;
  /** Defaults to SIZHONG_MONGO_PORT, else 27027. */
  port?: number;
  environment?: NodeJS.ProcessEnv;
  log?: InfrastructureLog;
}

export class LocalMongo {
  readonly mongoUrl: string;
  /** The H2 file that holds every database of this server. */
  readonly dataFile: string;
  private readonly server: LocalServer;
  private readonly sourceDirectory: string;
  private readonly log: InfrastructureLog;

  constructor(options: LocalMongoOptions = {}) {
    const environment = options.environment ?? process.env;
    const repositoryRoot = options.repositoryRoot ?? findRepositoryRoot();
    const stateDirectory = options.stateDirectory ?? serverStateDirectory(repositoryRoot, 'mongo');
    const cacheDirectory = options.cacheDirectory ?? userCacheDirectory(environment);
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? portFromEnvironment(environment, mongoPortVariable, mongoPortDefault);
    this.mongoUrl = `mongodb://${host}:${port}/`;
    this.dataFile = join(stateDirectory, mongoDataFile);
    const settings: MongoSettings = { host, port, environment, cacheDirectory, dataFile: this.dataFile, runtimeDirectory: join(repositoryRoot, 'scripts', 'infra', 'mongo') };
    this.sourceDirectory = join(settings.runtimeDirectory, 'src');
    this.log = options.log ?? writeToStandardError;
    this.server = new LocalServer(
      {
        displayName: 'mongo-java-server',
        fileStem: 'mongo',
        stateDirectory,
        host,
        ports: [{ port, environmentVariable: mongoPortVariable, purpose: 'client' }],
        readyTimeoutMs: mongoReadyTimeoutMs,
        stopGraceMs: mongoStopGraceMs,
        prepare: (log) => prepareMongo(settings, log),
        checkReady: () => checkMongoReady(this.mongoUrl),
      },
      this.log,
    );
  }

  get logFile(): string {
    return this.server.logFile;
  }

  /**
   * Starts the server on its data file unless it already runs (after a `kill` too). A server that
   * already runs keeps the main class it was started with: when scripts/infra/mongo/src has changed
   * since, this says so (it runs on, and only a restart runs the new code).
   */
  async up(): Promise<LocalServerStarted> {
    const started = await this.server.up();
    if (!started.startedHere) this.noteOlderBuild(started);
    return started;
  }

  private noteOlderBuild({ pid, address }: LocalServerStarted): void {
    try {
      const running = runningMainBuild(pid);
      if (running === undefined) return;
      const current = hashSources(this.sourceDirectory, listJavaSources(this.sourceDirectory));
      if (running === current) return;
      this.log(
        `mongo-java-server on ${address} (pid ${pid}) runs an older build of scripts/infra/mongo/src (main-${running}; the sources are now main-${current}); ` +
          'it goes on serving, and runs the new code after `npm run infra:down && npm run infra:up`',
      );
    } catch {
      // Only a notice: a server whose command line cannot be read is used as it is.
    }
  }

  /** SIGTERM: the server commits, closes and compacts its file, then exits. */
  down(): Promise<LocalServerStopped> {
    return this.server.down();
  }

  /** SIGKILL, as a crash: every write the server acknowledged is in the file; `up` starts again on it. */
  kill(): Promise<LocalServerKilled> {
    return this.server.kill();
  }

  status(): Promise<LocalServerStatus> {
    return this.server.status();
  }
}

interface MongoSettings {
  host: string;
  port: number;
  environment: NodeJS.ProcessEnv;
  cacheDirectory: string;
  dataFile: string;
  /** `scripts/infra/mongo`: the pom and the main class's sources. */
  runtimeDirectory: string;
}

async function prepareMongo(settings: MongoSettings, log: InfrastructureLog): Promise<LaunchCommand> {
  await requireJava();
  const { librariesDirectory, classesDirectory } = await ensureMongoRuntime(settings, log);
  mkdirSync(join(settings.dataFile, '..'), { recursive: true });
  return {
    command: java.command,
    args: [
      `-Xmx${mongoHeapSizeMax}`,
      '-XX:+ExitOnOutOfMemoryError',
      '-Djava.awt.headless=true',
      '-cp',
      [classesDirectory, join(librariesDirectory, '*')].join(delimiter),
      mongoMainClass,
      '--host',
      settings.host,
      '--port',
      String(settings.port),
      '--file',
      settings.dataFile,
    ],
    environment: settings.environment,
  };
}

/**
 * `~/.cache/sizhong/mongo-java-server-<version>/libs` (resolved by Maven from the pom) and, inside
 * that entry, `main-<hash of the sources>/` (compiled by javac), so an edited main class is
 * compiled again without downloading the jars again.
 */
async function ensureMongoRuntime(settings: MongoSettings, log: InfrastructureLog): Promise<{ librariesDirectory: string; classesDirectory: string }> {
  const pomFile = join(settings.runtimeDirectory, 'pom.xml');
  const version = readMongoJavaServerVersion(pomFile);
  const coreJar = `mongo-java-server-core-${version}.jar`;
  const entry = await ensureCacheEntry(
    join(settings.cacheDirectory, `mongo-java-server-${version}`),
    (directory) => existsSync(join(directory, 'libs', coreJar)),
    async (temporaryDirectory) => {
      await requireTool(maven, ['--version']);
      copyFileSync(pomFile, join(temporaryDirectory, 'pom.xml'));
      mkdirSync(join(temporaryDirectory, 'libs'));
      await withProgress(log, `Resolving mongo-java-server ${version} jars from Maven Central into ${settings.cacheDirectory} (once per user and version)`, () =>
        runCommand(maven, ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${join(temporaryDirectory, 'libs')}`, '-DincludeScope=runtime'], {
          cwd: temporaryDirectory,
          environment: settings.environment,
          timeoutMs: mavenResolveTimeoutMs,
        }),
      );
    },
  );
  const librariesDirectory = join(entry, 'libs');
  const sourceDirectory = join(settings.runtimeDirectory, 'src');
  const sources = listJavaSources(sourceDirectory);
  const mainClassFile = join(...mongoMainClass.split('.')) + '.class';
  const classesDirectory = await ensureCacheEntry(
    join(entry, `main-${hashSources(sourceDirectory, sources)}`),
    (directory) => existsSync(join(directory, mainClassFile)),
    async (temporaryDirectory) => {
      await requireTool(javac, ['-version']);
      await withProgress(log, `Compiling ${mongoMainClass} into ${entry}`, () =>
        runCommand(javac, ['--release', '17', '-encoding', 'UTF-8', '-nowarn', '-d', temporaryDirectory, '-cp', join(librariesDirectory, '*'), ...sources], {
          cwd: settings.runtimeDirectory,
          environment: settings.environment,
          timeoutMs: javacTimeoutMs,
        }),
      );
    },
  );
  return { librariesDirectory, classesDirectory };
}

/** The `main-<hash>` a running server's class path names (from /proc, so Linux only); undefined when unknown. */
function runningMainBuild(pid: number): string | undefined {
  const procFile = `/proc/${pid}/cmdline`;
  if (!existsSync(procFile)) return undefined;
  return /[/\\]main-([0-9a-f]{12})(?:[^0-9a-f]|$)/.exec(readFileSync(procFile, 'utf8'))?.[1];
}

/** The pom is the one place that names the mongo-java-server version; the cache directory follows it. */
export function readMongoJavaServerVersion(pomFile: string): string {
  const match = /<mongo-java-server\.version>([^<]+)<\/mongo-java-server\.version>/.exec(readFileSync(pomFile, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`${pomFile} has no <mongo-java-server.version> property`);
  return match[1].trim();
}

function listJavaSources(directory: string): string[] {
  const found: string[] = [];
  for (const name of readdirSync(directory).sort()) {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) found.push(...listJavaSources(path));
    else if (name.endsWith('.java')) found.push(path);
  }
  return found;
}

/** 12 hex digits of SHA-256 over each source's relative path and content. */
function hashSources(sourceDirectory: string, sources: readonly string[]): string {
  const hash = createHash('sha256');
  for (const source of sources) {
    hash.update(relative(sourceDirectory, source)).update('\0').update(readFileSync(source)).update('\0');
  }
  return hash.digest('hex').slice(0, 12);
}
