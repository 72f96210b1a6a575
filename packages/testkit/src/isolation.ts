/**
 * Per-test-file isolation on shared servers: every test file gets its own MongoDB database and
 * Kafka topic prefix, named after the jest run (SIZHONG_TEST_RUN_ID, set by the global setup) so
 * that leftovers from one run never meet the next, and runs on one machine never collide.
 */
import { randomBytes } from 'node:crypto';

export const testRunIdVariable = 'SIZHONG_TEST_RUN_ID';
/** Short enough for database names; 36^8 values keep concurrent runs apart. */
const testRunIdLength = 8;
/** Random characters that keep two names with the same label apart, across jest workers too. */
const uniqueSuffixLength = 6;
/** Well under MongoDB's 64 bytes, leaving room for a prefix added by callers. */
export const databaseNameLengthMax = 38;
/** The part of the label kept in a topic prefix; Kafka allows 249 characters per topic name. */
const topicLabelLengthMax = 40;

export interface TestInfrastructure {
  kafkaBrokers: string[];
  mongoUrl: string;
}

/** A new run id: lower-case letters and digits only. */
export function newTestRunId(): string {
  return randomLowerAlphanumeric(testRunIdLength);
}

/** The servers started (or found) by jest's global setup. */
export function testInfrastructure(): TestInfrastructure {
  const kafkaBrokers = (process.env.KAFKA_BROKERS ?? '')
    .split(',')
    .map((broker) => broker.trim())
    .filter((broker) => broker !== '');
  const mongoUrl = process.env.MONGO_URL?.trim() ?? '';
  if (kafkaBrokers.length === 0 || mongoUrl === '') {
    throw new Error(missingSetupMessage(kafkaBrokers.length === 0 ? 'KAFKA_BROKERS' : 'MONGO_URL'));
  }
  return { kafkaBrokers, mongoUrl };
}

/**
 * A database name unique to this call: `t_<run id>_<label>_<random>`, at most 38 characters of
 * [a-z0-9_]. Call it once per test file (in beforeAll) and drop the database in afterAll.
 */
export function testDatabaseName(label: string): string {
  const prefix = `t_${testRunId()}_`;
  const suffix = `_${randomLowerAlphanumeric(uniqueSuffixLength)}`;
  const labelRoom = databaseNameLengthMax - prefix.length - suffix.length;
  const cleanLabel =
    label
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+/, '')
      .slice(0, labelRoom)
      .replace(/_+$/, '') || 'test';
  return `${prefix}${cleanLabel}${suffix}`;
}

/**
 * A topic prefix unique to this call, such as `test.<run id>.<label>.<random>.`; append the
 * topic's own name. Uses dots only, since Kafka treats `.` and `_` as the same in metric names.
 */
export function testTopicPrefix(label: string): string {
  const cleanLabel =
    label
      .toLowerCase()
      .replace(/[^a-z0-9-]+/g, '-')
      .replace(/^-+/, '')
      .slice(0, topicLabelLengthMax)
      .replace(/-+$/, '') || 'test';
  return `test.${testRunId()}.${cleanLabel}.${randomLowerAlphanumeric(uniqueSuffixLength)}.`;
}

function testRunId(): string {
  const runId = (process.env[testRunIdVariable] ?? '')
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '')
    .slice(0, testRunIdLength);
  if (runId === '') throw new Error(missingSetupMessage(testRunIdVariable));
  return runId;
}

function randomLowerAlphanumeric(length: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789';
  // 252 is the largest multiple of 36 below 256: rejecting higher bytes keeps every character equally likely.
  let text = '';
  while (text.length < length) {
    for (const byte of randomBytes(length * 2)) {
      if (byte < 252 && text.length < length) text += alphabet[byte % alphabet.length];
    }
  }
  return text;
}

function missingSetupMessage(variable: string): string {
  return (
    `${variable} is not set: the test infrastructure was not started. Run tests through the root jest config ` +
    '(`npm test` or `npx jest <path>` from the repository root), whose globalSetup starts Kafka and the MongoDB-wire server, ' +
    `or set KAFKA_BROKERS, MONGO_URL and ${testRunIdVariable} yourself.`
  );
}
