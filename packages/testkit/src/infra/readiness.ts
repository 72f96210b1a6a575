/**
 * Readiness checks that prove a server does real work, not merely that its port is open: Kafka
 * creates a topic through its controller, the MongoDB-wire server answers `ping`. kafkajs and
 * mongoose load lazily so that `infra status` and `infra down` stay quick.
 */
import { InfrastructureError } from './infrastructure-error';
import { sleep } from './processes';

/** A single connection attempt during readiness polling. */
const readinessConnectTimeoutMs = 1_000;
/** A single request (create topic, ping) during readiness polling. */
const readinessRequestTimeoutMs = 5_000;
/** The pause between two readiness attempts. */
export const readinessPollIntervalMs = 250;
/** Created by the Kafka check; one partition, harmless to keep. */
const readinessTopic = 'sizhong.infra.readiness';

export async function checkKafkaReady(brokers: readonly string[]): Promise<void> {
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({
    clientId: 'sizhong-infra-readiness',
    brokers: [...brokers],
    connectionTimeout: readinessConnectTimeoutMs,
    requestTimeout: readinessRequestTimeoutMs,
    // Our own loop retries; kafkajs retrying underneath would stretch each attempt by seconds.
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.createTopics({ topics: [{ topic: readinessTopic, numPartitions: 1 }], waitForLeaders: true, timeout: readinessRequestTimeoutMs });
    await admin.fetchTopicMetadata({ topics: [readinessTopic] });
  } finally {
    await admin.disconnect();
  }
}

export async function checkMongoReady(mongoUrl: string): Promise<void> {
  const { mongo } = await import('mongoose');
  const client = new mongo.MongoClient(mongoUrl, {
    serverSelectionTimeoutMS: readinessConnectTimeoutMs,
    connectTimeoutMS: readinessConnectTimeoutMs,
    socketTimeoutMS: readinessRequestTimeoutMs,
  });
  try {
    await client.connect();
    await client.db('admin').command({ ping: 1 });
  } finally {
    await client.close();
  }
}

/**
 * Retries `check` until it succeeds or `timeoutMs` passes. `abortReason` is asked before each
 * attempt and ends the wait early with its text, for example when the server process has exited.
 */
export async function waitUntilReady(
  description: string,
  check: () => Promise<void>,
  options: { timeoutMs: number; abortReason?: () => string | undefined },
): Promise<void> {
  const deadlineMs = Date.now() + options.timeoutMs;
  let lastError: unknown;
  for (;;) {
    const abortReason = options.abortReason?.();
    if (abortReason !== undefined) throw new InfrastructureError('server-exited', abortReason);
    try {
      await check();
      return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() >= deadlineMs) {
      const cause = lastError instanceof Error ? lastError.message : String(lastError);
      throw new InfrastructureError('server-not-ready', `${description} did not become ready within ${Math.round(options.timeoutMs / 1000)} s (last error: ${cause})`);
    }
    await sleep(readinessPollIntervalMs);
  }
}
