/**
 * Kafka and MongoDB in containers, for machines with a Docker engine. testcontainers is imported
 * only here and only when an engine answered, so machines without one never load it.
 *
 * This path cannot run on the project's own machines (no engine); it is kept small on purpose.
 */
import { InfrastructureError } from './infrastructure-error';
import { findFreePort } from './ports';
import { withProgress, type InfrastructureLog } from './progress';
import { checkKafkaReady, checkMongoReady, waitUntilReady } from './readiness';

export const kafkaImage = 'apache/kafka:4.1.1';
export const mongoImage = 'mongo:7';
/** Includes pulling the image on first use. */
const containerStartTimeoutMs = 5 * 60_000;
const containerReadyTimeoutMs = 60_000;

export interface StartedContainers {
  kafkaBrokers?: string[];
  mongoUrl?: string;
  stop(): Promise<void>;
}

export async function startContainers(wanted: { kafka: boolean; mongo: boolean }, log: InfrastructureLog): Promise<StartedContainers> {
  const { GenericContainer, Wait, getContainerRuntimeClient } = await import('testcontainers');
  const host = (await getContainerRuntimeClient()).info.containerRuntime.host;
  const stoppers: Array<() => Promise<unknown>> = [];
  const stop = async (): Promise<void> => {
    await Promise.all(stoppers.map((stopOne) => stopOne()));
  };
  const result: StartedContainers = { stop };
  try {
    if (wanted.kafka) {
      // Kafka tells clients the address to reconnect to, so the host port must be known before
      // the broker starts: bind the same number on both sides.
      const port = await findFreePort();
      const container = await withProgress(log, `Starting ${kafkaImage} in Docker`, () =>
        new GenericContainer(kafkaImage)
          .withExposedPorts({ container: port, host: port })
          .withEnvironment({
            KAFKA_NODE_ID: '1',
            KAFKA_PROCESS_ROLES: 'broker,controller',
            KAFKA_LISTENERS: `PLAINTEXT://0.0.0.0:${port},CONTROLLER://0.0.0.0:9093`,
            KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${host}:${port}`,
            KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
            KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT',
            KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
            KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
            KAFKA_NUM_PARTITIONS: '3',
            KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
            KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
            KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
            KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
            KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'true',
          })
          .withStartupTimeout(containerStartTimeoutMs)
          .start(),
      );
      stoppers.push(() => container.stop());
      result.kafkaBrokers = [`${host}:${port}`];
      const brokers = result.kafkaBrokers;
      await waitUntilReady('Kafka container', () => checkKafkaReady(brokers), { timeoutMs: containerReadyTimeoutMs });
    }
    if (wanted.mongo) {
      const container = await withProgress(log, `Starting ${mongoImage} in Docker`, () =>
        new GenericContainer(mongoImage)
          .withExposedPorts(27017)
          .withWaitStrategy(Wait.forLogMessage(/Waiting for connections/))
          .withStartupTimeout(containerStartTimeoutMs)
          .start(),
      );
      stoppers.push(() => container.stop());
      const mongoUrl = `mongodb://${container.getHost()}:${container.getMappedPort(27017)}/`;
      result.mongoUrl = mongoUrl;
      await waitUntilReady('MongoDB container', () => checkMongoReady(mongoUrl), { timeoutMs: containerReadyTimeoutMs });
    }
  } catch (error) {
    await stop();
    if (error instanceof InfrastructureError) throw error;
    throw new InfrastructureError('server-not-ready', `a Docker engine answered, but starting containers failed: ${(error as Error).message}. Set KAFKA_BROKERS and MONGO_URL, or SIZHONG_INFRA_LOCAL=1 to use the local servers instead.`);
  }
  return result;
}
