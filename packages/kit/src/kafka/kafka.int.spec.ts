// Proves the Kafka kit against the real broker: group round trip with committed offsets, redelivery after a
// consumer is killed mid-batch, dedupe by event id, bounded retries of the handler's own failures, infrastructure failures retried without limit, and poison messages parked in the DLQ.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { testDatabaseName, testInfrastructure, testTopicPrefix } from '@sizhong/testkit';
import type { Kafka, KafkaMessage } from 'kafkajs';
import pino from 'pino';
import { testEvent } from '../../test/fixtures/test-events';
import { DomainError } from '../errors';
import { connectMongo, type MongoConnection } from '../mongo/connection';
import { MongoProcessedEventStore } from '../mongo/processed-events';
import { createKafka, ensureTopics } from './client';
import { consumerAttemptsMax, deadLetterHeaders, EventConsumer, type DeliveredEvent, isInfrastructureFailure } from './consumer';
import { decodeEnvelope } from './envelope';
import { EventPublisher } from './publisher';
import { deadLetterTopic, eventsTopic } from './topics';

const logger = pino({ level: 'silent' });
const repositoryRoot = join(__dirname, '..', '..', '..', '..');
let kafka: Kafka;
let mongo: MongoConnection;
let publisher: EventPublisher;
let prefix: string;
let database: string;

beforeAll(async () => {
  const infrastructure = testInfrastructure();
  prefix = testTopicPrefix('kafka');
  database = testDatabaseName('kafka');
  kafka = createKafka({ brokers: infrastructure.kafkaBrokers, clientId: 'kit-kafka-test', logger });
  mongo = await connectMongo(infrastructure.mongoUrl, database);
  publisher = new EventPublisher(kafka);
  await publisher.connect();
});

afterAll(async () => {
  await publisher.disconnect();
  await mongo.db.dropDatabase();
  await mongo.close();
});

async function until(condition: () => boolean | Promise<boolean>, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function consumer(topic: string, groupId: string, handler: (event: DeliveredEvent) => Promise<void>, attemptsMax?: number) {
  return new EventConsumer({
    kafka,
    groupId,
    topics: [topic],
    handler,
    processedEvents: new MongoProcessedEventStore(mongo),
    logger,
    retryBackoffBaseMs: 10,
    ...(attemptsMax ? { attemptsMax } : {}),
  });
}

async function readAll(topic: string, expected: number): Promise<KafkaMessage[]> {
  const messages: KafkaMessage[] = [];
  const reader = kafka.consumer({ groupId: `${topic}-reader-${Date.now()}` });
  await reader.connect();
  await reader.subscribe({ topic, fromBeginning: true });
  await reader.run({ eachMessage: async ({ message }) => void messages.push(message) });
  await until(() => messages.length >= expected, `${expected} messages on ${topic}`);
  await reader.disconnect();
  return messages;
}

describe('Kafka publisher and consumer', () => {
  it('delivers every event to the group in order per key and commits the offsets', async () => {
    const topic = eventsTopic('roundtrip', prefix);
    await ensureTopics(kafka, [topic]);
    const received: { id: string; key: string }[] = [];
    const group = `${prefix}roundtrip`;
    const subject = consumer(topic, group, async ({ envelope }) => void received.push({ id: envelope.id, key: envelope.aggregateId }));
    await subject.start();
    const events = Array.from({ length: 30 }, (_, index) => testEvent(`ev-rt-${index}`, `agg-${index % 3}`, BigInt(index), BigInt(Math.floor(index / 3) + 1)));
    await publisher.publish(events.map((envelope) => ({ topic, envelope })));
    await until(() => received.length === 30, 'all 30 events');
    for (const key of ['agg-0', 'agg-1', 'agg-2']) {
      const order = received.filter((event) => event.key === key).map((event) => Number(event.id.split('-')[2]));
      expect(order).toEqual([...order].sort((left, right) => left - right));
    }
    // The handler runs before the batch's offsets are committed: wait for the commit, then stop.
    const admin = kafka.admin();
    await admin.connect();
    const ends = await admin.fetchTopicOffsets(topic);
    // Every partition that received events has its offset committed up to its end.
    const withEvents = ends.filter((end) => end.offset !== '0');
    expect(withEvents.length).toBeGreaterThan(0);
    const committedOffsets = async () => {
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      return withEvents.map((end) => committed!.partitions.find((partition) => partition.partition === end.partition)?.offset);
    };
    let committed = await committedOffsets();
    for (let waited = 0; committed.some((offset, index) => offset !== withEvents[index]!.offset) && waited < 15_000; waited += 100) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      committed = await committedOffsets();
    }
    await subject.stop();
    await admin.disconnect();
    expect(committed).toEqual(withEvents.map((end) => end.offset));
  });

  it('applies an event once even when it is published twice', async () => {
    const topic = eventsTopic('dedupe', prefix);
    await ensureTopics(kafka, [topic]);
    const applied: string[] = [];
    const subject = consumer(topic, `${prefix}dedupe`, async ({ envelope }) => void applied.push(envelope.id));
    await subject.start();
    const duplicate = testEvent('ev-dup', 'agg-dup', 1n);
    await publisher.publish([{ topic, envelope: duplicate }, { topic, envelope: testEvent('ev-other', 'agg-dup', 2n, 2n) }, { topic, envelope: duplicate }]);
    await publisher.publish([{ topic, envelope: testEvent('ev-last', 'agg-dup', 3n, 3n) }]);
    await until(() => applied.includes('ev-last'), 'the last event');
    await subject.stop();
    expect(applied).toEqual(['ev-dup', 'ev-other', 'ev-last']);
  });

  it('retries a failing handler and succeeds within the attempt limit', async () => {
    const topic = eventsTopic('retry', prefix);
    await ensureTopics(kafka, [topic]);
    const attempts: number[] = [];
    const subject = consumer(topic, `${prefix}retry`, async ({ attempt }) => {
      attempts.push(attempt);
      if (attempt < 3) throw new Error('transient');
    });
    await subject.start();
    await publisher.publish([{ topic, envelope: testEvent('ev-retry', 'agg-retry', 1n) }]);
    await until(() => attempts.includes(3), 'the third attempt');
    await subject.stop();
    expect(attempts).toEqual([1, 2, 3]);
  });

  it(`retries an infrastructure failure past ${consumerAttemptsMax} attempts without parking it, and applies the event once the database answers`, async () => {
    const topic = eventsTopic('infrastructure', prefix);
    await ensureTopics(kafka, [topic, deadLetterTopic(topic)]);
    const attempts: number[] = [];
    const outage = consumerAttemptsMax * 2;
    const subject = consumer(topic, `${prefix}infrastructure`, async ({ attempt }) => {
      attempts.push(attempt);
      if (attempt <= outage) {
        const error = new Error('connection 3 to 127.0.0.1:27027 closed');
        error.name = 'MongoNetworkError';
        throw error;
      }
    });
    await subject.start();
    await publisher.publish([{ topic, envelope: testEvent('ev-outage', 'agg-outage', 1n) }]);
    await until(() => attempts.includes(outage + 1), 'the attempt after the outage', 60_000);
    await subject.stop();
    expect(attempts).toEqual(Array.from({ length: outage + 1 }, (_, index) => index + 1));
    await expect(new MongoProcessedEventStore(mongo).isProcessed(`${prefix}infrastructure`, 'ev-outage')).resolves.toBe(true);
  });

  it('tells infrastructure failures (retried without limit) from the handler\'s own (parked after the attempts)', () => {
    const named = (name: string) => Object.assign(new Error('x'), { name });
    for (const name of ['MongoNetworkError', 'MongoServerSelectionError', 'MongoNotConnectedError', 'KafkaJSConnectionError', 'KafkaJSRequestTimeoutError']) expect(isInfrastructureFailure(named(name))).toBe(true);
    for (const code of ['DEADLINE_EXCEEDED', 'UNAVAILABLE', 'INTERNAL'] as const) expect(isInfrastructureFailure(new DomainError(code, 'x'))).toBe(true);
    expect(isInfrastructureFailure(new Error('wrapped', { cause: named('MongoNetworkError') }))).toBe(true);
    expect(isInfrastructureFailure(new DomainError('INVALID_STATE', 'x'))).toBe(false);
    expect(isInfrastructureFailure(new TypeError('undefined is not a function'))).toBe(false);
    expect(isInfrastructureFailure('a string')).toBe(false);
  });

  it('parks poison messages in the dead-letter topic and moves on', async () => {
    const topic = eventsTopic('poison', prefix);
    await ensureTopics(kafka, [topic, deadLetterTopic(topic)]);
    const handled: string[] = [];
    let poisonAttempts = 0;
    const subject = consumer(topic, `${prefix}poison`, async ({ envelope }) => {
      if (envelope.id === 'ev-always-fails') {
        poisonAttempts += 1;
        throw new Error('handler cannot process this');
      }
      handled.push(envelope.id);
    });
    await subject.start();
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'agg-poison', value: Buffer.from('not a protobuf envelope \u00ff\u00fe') }] });
    await producer.disconnect();
    await publisher.publish([
      { topic, envelope: testEvent('ev-always-fails', 'agg-poison', 1n) },
      { topic, envelope: testEvent('ev-after-poison', 'agg-poison', 2n, 2n) },
    ]);
    await until(() => handled.includes('ev-after-poison'), 'the event after the poison');
    await subject.stop();
    expect(poisonAttempts).toBe(consumerAttemptsMax);

    const parked = await readAll(deadLetterTopic(topic), 2);
    const reasons = parked.map((message) => ({
      reason: message.headers?.[deadLetterHeaders.reason]?.toString(),
      attempts: message.headers?.[deadLetterHeaders.attempts]?.toString(),
      originalTopic: message.headers?.[deadLetterHeaders.originalTopic]?.toString(),
    }));
    expect(reasons).toEqual([
      { reason: 'undecodable', attempts: '1', originalTopic: topic },
      { reason: 'handler-failed', attempts: String(consumerAttemptsMax), originalTopic: topic },
    ]);
    expect(decodeEnvelope(parked[1]!.value).id).toBe('ev-always-fails');
  });

  it('redelivers what a killed consumer had not committed, and applies each event once', async () => {
    const topic = eventsTopic('redelivery', prefix);
    const group = `${prefix}redelivery`;
    await ensureTopics(kafka, [topic], 1);
    const total = 40;
    await publisher.publish(Array.from({ length: total }, (_, index) => ({ topic, envelope: testEvent(`ev-rd-${index}`, 'agg-rd', BigInt(index), BigInt(index + 1)) })));

    const infrastructure = testInfrastructure();
    // `node --import tsx`, not the tsx wrapper: SIGKILL must hit the consumer itself, not a parent that would leave it running.
    const child = spawn(process.execPath, ['--import', 'tsx', join(repositoryRoot, 'packages', 'kit', 'test', 'fixtures', 'slow-consumer.ts')], {
      cwd: repositoryRoot,
      env: { ...process.env, KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','), MONGO_URL: infrastructure.mongoUrl, TEST_DATABASE: database, TEST_TOPIC: topic, TEST_GROUP: group },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let childError = '';
    child.stderr.on('data', (chunk: Buffer) => (childError += chunk.toString()));
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const deliveries = mongo.collection('deliveries');
    const applied = mongo.collection<{ _id: string; by: string }>('applied');
    await until(async () => (await deliveries.countDocuments()) >= 10 || child.exitCode !== null, 'the slow consumer to get going', 60_000);
    expect(childError).toBe('');
    child.kill('SIGKILL');
    await exited;
    const appliedBySlow = await applied.countDocuments();
    expect(appliedBySlow).toBeGreaterThan(0);
    expect(appliedBySlow).toBeLessThan(total);
    const admin = kafka.admin();
    await admin.connect();
    const [offsets] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
    await admin.disconnect();
    const committed = Math.max(0, Number(offsets!.partitions[0]!.offset));
    // The killed consumer had applied events it never committed: Kafka must hand them out again.
    expect(committed).toBeLessThan(appliedBySlow);
    const markedBySlow = new Set((await mongo.collection('processed_events').find({ consumerGroup: group }).toArray()).map((document) => document['eventId'] as string));

    let reapplied = 0;
    const survivor = consumer(topic, group, async ({ envelope }) => {
      await deliveries.insertOne({ eventId: envelope.id, by: 'survivor', at: new Date() });
      try {
        await applied.insertOne({ _id: envelope.id, by: 'survivor' });
      } catch {
        // Only possible for the one event the kill caught between its effect and its dedupe mark;
        // the effect is keyed by event id, so it still happened once.
        reapplied += 1;
      }
    });
    await survivor.start();
    await until(async () => (await applied.countDocuments()) === total, 'every event applied', 60_000);
    await survivor.stop();

    const survivorSeen = (await deliveries.find({ by: 'survivor' }).toArray()).map((delivery) => delivery['eventId'] as string);
    // Redelivered events that were already processed were skipped by the dedupe, not handled again.
    expect(survivorSeen.filter((eventId) => markedBySlow.has(eventId))).toEqual([]);
    expect(reapplied).toBeLessThanOrEqual(1);
    expect(new Set(survivorSeen).size).toBe(survivorSeen.length);
    expect((await applied.find({}).toArray()).map((document) => document._id).sort()).toEqual(
      Array.from({ length: total }, (_, index) => `ev-rd-${index}`).sort(),
    );
  });
});
