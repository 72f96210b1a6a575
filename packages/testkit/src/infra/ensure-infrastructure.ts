/**
 * One call that gives a caller (the `npm start` runner, jest's global setup) a Kafka and a
 * MongoDB-wire server, chosen in the order of docs/infrastructure.md:
 *   1. `KAFKA_BROKERS` / `MONGO_URL` from the environment, each on its own;
 *   2. testcontainers, when a Docker engine answers;
 *   3. the local servers (Kafka and mongo-java-server, both from Maven jars), reused when running.
 */
import { join } from 'node:path';
import { startContainers } from './start-containers';
import { isDockerEngineAnswering } from './docker-engine';
import { LocalKafka } from './local-kafka';
import { LocalMongo } from './local-mongo';
import { writeToStandardError, type InfrastructureLog } from './progress';

export type InfrastructureSource = 'environment' | 'testcontainers' | 'local';

export interface Infrastructure {
  kafkaBrokers: string[];
  mongoUrl: string;
  /**
   * Where the servers came from: `environment` only when both were given; otherwise whatever
   * supplied the ones the environment did not name.
   */
  source: InfrastructureSource;
  /** True when this call started at least one server; `stop()` stops exactly those. */
  startedHere: boolean;
  stop(): Promise<void>;
}

export interface InfrastructureOptions {
  /** Progress for long steps; defaults to standard error. */
  log?: InfrastructureLog;
  /** Defaults to `process.env`. */
  environment?: NodeJS.ProcessEnv;
  /**
   * Whether to try a Docker engine before the local servers; defaults to true unless
   * SIZHONG_INFRA_LOCAL=1. Callers that exit before their servers should stop (such as
   * `npm run infra:up`) pass false: testcontainers removes its containers when its process ends.
   */
  useTestcontainers?: boolean;
  /** The clone, for the local servers' state; found from this file's location when absent. */
  repositoryRoot?: string;
  /**
   * Where the local servers keep their state, one subdirectory per server; defaults to
   * `<clone>/.cache/infra`. A second set of servers from the same clone (the runner's tests start
   * one) needs its own, besides its own ports.
   */
  stateDirectory?: string;
}

export async function ensureInfrastructure(options: InfrastructureOptions = {}): Promise<Infrastructure> {
  const environment = options.environment ?? process.env;
  const log = options.log ?? writeToStandardError;
  const givenBrokers = parseBrokerList(environment.KAFKA_BROKERS);
  const givenMongoUrl = environment.MONGO_URL?.trim() || undefined;
  if (givenBrokers !== undefined && givenMongoUrl !== undefined) {
    return { kafkaBrokers: givenBrokers, mongoUrl: givenMongoUrl, source: 'environment', startedHere: false, stop: async () => undefined };
  }
  const wanted = { kafka: givenBrokers === undefined, mongo: givenMongoUrl === undefined };

  const useTestcontainers = options.useTestcontainers ?? environment.SIZHONG_INFRA_LOCAL !== '1';
  if (useTestcontainers && (await isDockerEngineAnswering())) {
    const containers = await startContainers(wanted, log);
    return {
      kafkaBrokers: givenBrokers ?? containers.kafkaBrokers ?? [],
      mongoUrl: givenMongoUrl ?? containers.mongoUrl ?? '',
      source: 'testcontainers',
      startedHere: true,
      stop: () => containers.stop(),
    };
  }

  const localOptions = { environment, log, ...(options.repositoryRoot === undefined ? {} : { repositoryRoot: options.repositoryRoot }) };
  const stateOf = (server: string) => (options.stateDirectory === undefined ? {} : { stateDirectory: join(options.stateDirectory, server) });
  const kafka = wanted.kafka ? new LocalKafka({ ...localOptions, ...stateOf('kafka') }) : undefined;
  const mongo = wanted.mongo ? new LocalMongo({ ...localOptions, ...stateOf('mongo') }) : undefined;
  // Both start at once: cold downloads and the two JVM starts overlap instead of adding up.
  const [kafkaStarted, mongoStarted] = await Promise.allSettled([kafka?.up(), mongo?.up()]);
  const startedHere = [
    { server: kafka, outcome: kafkaStarted },
    { server: mongo, outcome: mongoStarted },
  ].filter(({ outcome }) => outcome.status === 'fulfilled' && outcome.value?.startedHere === true);
  const stop = async (): Promise<void> => {
    await Promise.all(startedHere.map(({ server }) => server?.down()));
  };
  const failures = [kafkaStarted, mongoStarted].filter((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  const [firstFailure, ...otherFailures] = failures;
  if (firstFailure !== undefined) {
    // Leave nothing half-started behind: stop whichever server this call did start.
    await stop();
    for (const other of otherFailures) log(`also failed: ${(other.reason as Error).message}`);
    throw firstFailure.reason;
  }
  return {
    kafkaBrokers: givenBrokers ?? kafka?.brokers ?? [],
    mongoUrl: givenMongoUrl ?? mongo?.mongoUrl ?? '',
    source: 'local',
    startedHere: startedHere.length > 0,
    stop,
  };
}

/** `host:port,host:port` → the list; undefined when the variable is unset or blank. */
export function parseBrokerList(text: string | undefined): string[] | undefined {
  const brokers = (text ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
  return brokers.length > 0 ? brokers : undefined;
}
