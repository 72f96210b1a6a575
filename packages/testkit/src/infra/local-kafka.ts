/**
 * A single-node Apache Kafka (KRaft: broker and controller in one JVM) on 127.0.0.1, run from
 * jars that Maven resolves once per user and version. See docs/infrastructure.md.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { InfrastructureError } from './infrastructure-error';
import { LocalServer, type LaunchCommand, type LocalServerKilled, type LocalServerStarted, type LocalServerStatus, type LocalServerStopped } from './local-server';
import { portFromEnvironment } from './ports';
import { withProgress, writeToStandardError, type InfrastructureLog } from './progress';
import { runCommand } from './processes';
import { checkKafkaReady } from './readiness';
import { findRepositoryRoot, serverStateDirectory, userCacheDirectory } from './repository-paths';
import { java, maven, requireJava, requireTool } from './toolchain';
import { ensureCacheEntry } from './user-cache';

export const kafkaPortDefault = 29092;
export const kafkaControllerPortDefault = 29093;
export const kafkaPortVariable = 'SIZHONG_KAFKA_PORT';
export const kafkaControllerPortVariable = 'SIZHONG_KAFKA_CONTROLLER_PORT';

/** The JVM alone takes about 3 s here; a loaded two-core machine can take many times that. */
const kafkaReadyTimeoutMs = 90_000;
/** A controlled shutdown of a one-node cluster takes a few seconds; more means it is stuck. */
const kafkaStopGraceMs = 30_000;
/** A cold resolve downloads about 45 MB of jars from Maven Central. */
const mavenResolveTimeoutMs = 15 * 60_000;
const storageFormatTimeoutMs = 2 * 60_000;
/** Enough for development topics; the JVM's default (a quarter of RAM) would crowd out the services. */
const kafkaHeapSizeMax = '512m';
/** Topics created on first use get several partitions, so tests see the ordering rules of production. */
const kafkaPartitionsDefault = 3;

export interface LocalKafkaOptions {
  /** The clone; found from this file's location when absent. */
  repositoryRoot?: string;
  /** Data, configuration, pid file and log; defaults to `<clone>/.cache/infra/kafka`. */
  stateDirectory?: string;
  /** The per-user cache root; defaults to `${XDG_CACHE_HOME:-~/.cache}/sizhong`. */
  cacheDirectory?: string;
  host?: string;
  /** Defaults to SIZHONG_KAFKA_PORT, else 29092. */
  port?: number;
  /** Defaults to SIZHONG_KAFKA_CONTROLLER_PORT, else 29093. */
  controllerPort?: number;
  environment?: NodeJS.ProcessEnv;
  log?: InfrastructureLog;
}

export class LocalKafka {
  readonly brokers: string[];
  private readonly server: LocalServer;

  constructor(options: LocalKafkaOptions = {}) {
    const environment = options.environment ?? process.env;
    const repositoryRoot = options.repositoryRoot ?? findRepositoryRoot();
    const stateDirectory = options.stateDirectory ?? serverStateDirectory(repositoryRoot, 'kafka');
    const cacheDirectory = options.cacheDirectory ?? userCacheDirectory(environment);
    const host = options.host ?? '127.0.0.1';
    const port = options.port ?? portFromEnvironment(environment, kafkaPortVariable, kafkaPortDefault);
    const controllerPort = options.controllerPort ?? portFromEnvironment(environment, kafkaControllerPortVariable, kafkaControllerPortDefault);
    if (port === controllerPort) {
      throw new InfrastructureError('invalid-setting', `Kafka's client and controller ports are both ${port}; set ${kafkaControllerPortVariable} to another port`);
    }
    this.brokers = [`${host}:${port}`];
    const runtimeDirectory = join(repositoryRoot, 'scripts', 'infra', 'kafka');
    const settings: KafkaSettings = { stateDirectory, host, port, controllerPort, environment, runtimeDirectory, cacheDirectory };
    this.server = new LocalServer(
      {
        displayName: 'Kafka',
        stateDirectory,
        host,
        ports: [
          { port, environmentVariable: kafkaPortVariable, purpose: 'client' },
          { port: controllerPort, environmentVariable: kafkaControllerPortVariable, purpose: 'controller' },
        ],
        readyTimeoutMs: kafkaReadyTimeoutMs,
        stopGraceMs: kafkaStopGraceMs,
        prepare: (log) => prepareKafka(settings, log),
        checkReady: () => checkKafkaReady(this.brokers),
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

  /** SIGKILL, as a crash (the fault-injection run): the log keeps what Kafka flushed; `up` starts again on it. */
  kill(): Promise<LocalServerKilled> {
    return this.server.kill();
  }

  status(): Promise<LocalServerStatus> {
    return this.server.status();
  }
}

interface KafkaSettings {
  stateDirectory: string;
  host: string;
  port: number;
  controllerPort: number;
  environment: NodeJS.ProcessEnv;
  /** `scripts/infra/kafka`: the pom and the log4j configuration. */
  runtimeDirectory: string;
  cacheDirectory: string;
}

async function prepareKafka(settings: KafkaSettings, log: InfrastructureLog): Promise<LaunchCommand> {
  await requireJava();
  const librariesDirectory = await ensureKafkaLibraries(settings, log);
  const serverPropertiesFile = join(settings.stateDirectory, 'server.properties');
  const dataDirectory = join(settings.stateDirectory, 'data');
  writeFileSync(serverPropertiesFile, renderServerProperties(settings, dataDirectory));
  const javaPrefix = [`-Dlog4j2.configurationFile=${join(settings.runtimeDirectory, 'log4j2.properties')}`, '-cp', join(librariesDirectory, '*')];
  if (!existsSync(join(dataDirectory, 'meta.properties'))) {
    await withProgress(log, `Formatting Kafka storage in ${dataDirectory}`, () =>
      runCommand(java, [...javaPrefix, 'kafka.tools.StorageTool', 'format', '-t', randomClusterId(), '-c', serverPropertiesFile], {
        cwd: settings.stateDirectory,
        timeoutMs: storageFormatTimeoutMs,
      }),
    );
  }
  return {
    command: java.command,
    args: [`-Xmx${kafkaHeapSizeMax}`, '-XX:+ExitOnOutOfMemoryError', '-Djava.awt.headless=true', ...javaPrefix, 'kafka.Kafka', serverPropertiesFile],
    environment: settings.environment,
  };
}

/** `~/.cache/sizhong/kafka-<version>/libs`, resolved by Maven from scripts/infra/kafka/pom.xml. */
async function ensureKafkaLibraries(settings: KafkaSettings, log: InfrastructureLog): Promise<string> {
  const pomFile = join(settings.runtimeDirectory, 'pom.xml');
  const version = readKafkaVersion(pomFile);
  const brokerJar = `kafka_2.13-${version}.jar`;
  const entry = await ensureCacheEntry(
    join(settings.cacheDirectory, `kafka-${version}`),
    (directory) => existsSync(join(directory, 'libs', brokerJar)),
    async (temporaryDirectory) => {
      await requireTool(maven, ['--version']);
      copyFileSync(pomFile, join(temporaryDirectory, 'pom.xml'));
      mkdirSync(join(temporaryDirectory, 'libs'));
      await withProgress(log, `Resolving Kafka ${version} jars from Maven Central into ${settings.cacheDirectory} (once per user and version)`, () =>
        runCommand(maven, ['-q', '-B', 'dependency:copy-dependencies', `-DoutputDirectory=${join(temporaryDirectory, 'libs')}`, '-DincludeScope=runtime'], {
          cwd: temporaryDirectory,
          environment: settings.environment,
          timeoutMs: mavenResolveTimeoutMs,
        }),
      );
    },
  );
  return join(entry, 'libs');
}

/** The pom is the one place that names the Kafka version; the cache directory follows it. */
export function readKafkaVersion(pomFile: string): string {
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(readFileSync(pomFile, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`${pomFile} has no <kafka.version> property`);
  return match[1].trim();
}

function renderServerProperties(settings: KafkaSettings, dataDirectory: string): string {
  const { host, port, controllerPort } = settings;
  const properties: Record<string, string | number> = {
    'process.roles': 'broker,controller',
    'node.id': 1,
    'controller.quorum.voters': `1@${host}:${controllerPort}`,
    listeners: `PLAINTEXT://${host}:${port},CONTROLLER://${host}:${controllerPort}`,
    'advertised.listeners': `PLAINTEXT://${host}:${port}`,
    'controller.listener.names': 'CONTROLLER',
    'listener.security.protocol.map': 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
    'inter.broker.listener.name': 'PLAINTEXT',
    'log.dirs': dataDirectory,
    'num.partitions': kafkaPartitionsDefault,
    // One node: every internal topic can have only one replica.
    'offsets.topic.replication.factor': 1,
    'transaction.state.log.replication.factor': 1,
    'transaction.state.log.min.isr': 1,
    // Kafka creates these on first use, 50 partitions each by default; five make the first consumer
    // group and the first transaction in a fresh broker ready in a fraction of the time.
    'offsets.topic.num.partitions': 5,
    'transaction.state.log.num.partitions': 5,
    'share.coordinator.state.topic.replication.factor': 1,
    'share.coordinator.state.topic.min.isr': 1,
    // Consumers in tests join one at a time; the default 3 s delay would slow every test.
    'group.initial.rebalance.delay.ms': 0,
    'auto.create.topics.enable': 'true',
  };
  const lines = Object.entries(properties).map(([key, value]) => `${key}=${value}`);
  return `# Written by packages/testkit/src/infra/local-kafka.ts on every start; edits are lost.\n${lines.join('\n')}\n`;
}

/** A Kafka cluster id: 16 random bytes in unpadded base64url, never starting with '-' (as Kafka's own). */
function randomClusterId(): string {
  for (;;) {
    const id = randomBytes(16).toString('base64url');
    if (!id.startsWith('-')) return id;
  }
}
