/** One kafkajs client per process, logging through pino. */
import { Kafka, logLevel as KafkaLogLevel, type Admin, type LogEntry } from 'kafkajs';
import type { Logger } from 'pino';

/** Partitions of topics the platform creates; events of one aggregate share a partition by key. */
export const topicPartitionsDefault = 3;
export const kafkaConnectionTimeoutMs = 3_000;
export const kafkaRequestTimeoutMs = 30_000;

export interface KafkaOptions {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly logger: Logger;
}

export function createKafka(options: KafkaOptions): Kafka {
  // We rely on kafkajs 2's default (murmur2, Java-compatible) partitioner; its migration notice is noise.
  process.env['KAFKAJS_NO_PARTITIONER_WARNING'] ??= '1';
  const logger = options.logger.child({ component: 'kafkajs' });
  return new Kafka({
    clientId: options.clientId,
    brokers: [...options.brokers],
    connectionTimeout: kafkaConnectionTimeoutMs,
    requestTimeout: kafkaRequestTimeoutMs,
    retry: { initialRetryTime: 100, retries: 8 },
    logLevel: KafkaLogLevel.WARN,
    logCreator: () => (entry: LogEntry) => {
      const { message, ...rest } = entry.log;
      logger[kafkaLogLevelOf(entry)]({ ...rest, namespace: entry.namespace }, message);
    },
  });
}

/**
 * The pino level of a kafkajs log entry. kafkajs logs at ERROR every broker error answer and every
 * attempt it is about to retry (on a fresh broker: "The coordinator is loading", a topic another
 * process just created); whoever made the request gets the final failure as an exception and
 * reports it. Those are information, not errors an operator must act on.
 */
export function kafkaLogLevelOf(entry: Pick<LogEntry, 'level' | 'log'>): 'error' | 'warn' | 'info' | 'debug' {
  if (entry.level === KafkaLogLevel.ERROR) {
    const willRetry = 'retryCount' in entry.log || 'retryTime' in entry.log;
    const brokerAnswer = /^Response \w+\(key: \d+, version: \d+\)$/.test(entry.log.message);
    return willRetry || brokerAnswer ? 'info' : 'error';
  }
  return entry.level === KafkaLogLevel.WARN ? 'warn' : 'debug';
}

/** Creates missing topics; existing ones are left alone. */
export async function ensureTopics(kafka: Kafka, topics: readonly string[], partitions = topicPartitionsDefault): Promise<void> {
  const admin: Admin = kafka.admin();
  await admin.connect();
  try {
    const existing = new Set(await admin.listTopics());
    const missing = topics.filter((topic) => !existing.has(topic));
    if (missing.length > 0) {
      await admin.createTopics({ waitForLeaders: true, topics: missing.map((topic) => ({ topic, numPartitions: partitions, replicationFactor: 1 })) });
    }
  } finally {
    await admin.disconnect();
  }
}
