// Proves the outbox: events written with an aggregate reach Kafka in order, and a relay killed between
// publishing and pulling makes the events appear twice on the topic but applied once by the consumer.
import { testDatabaseName, testInfrastructure, testTopicPrefix } from '@sizhong/testkit';
import type { Kafka, Producer } from 'kafkajs';
import type { Document } from 'mongodb';
import pino from 'pino';
import { testEvent } from '../../test/fixtures/test-events';
import { createKafka, ensureTopics } from '../kafka/client';
import { EventConsumer } from '../kafka/consumer';
import { eventsTopic } from '../kafka/topics';
import { AggregateStore, type AggregateCodec } from './aggregate-store';
import { connectMongo, type MongoConnection } from './connection';
import { OutboxRelay } from './outbox-relay';
import { MongoProcessedEventStore } from './processed-events';

interface Tally {
  readonly total: bigint;
}
const codec: AggregateCodec<Tally> = {
  toDocument: (state) => ({ total: state.total }),
  fromDocument: (document: Document) => ({ total: BigInt(document['total'] as bigint) }),
};
const logger = pino({ level: 'silent' });

let kafka: Kafka;
let producer: Producer;
let mongo: MongoConnection;
let store: AggregateStore<Tally>;
let topic: string;

beforeAll(async () => {
  const infrastructure = testInfrastructure();
  kafka = createKafka({ brokers: infrastructure.kafkaBrokers, clientId: 'kit-outbox-test', logger });
  producer = kafka.producer();
  await producer.connect();
  mongo = await connectMongo(infrastructure.mongoUrl, testDatabaseName('outbox'));
  store = new AggregateStore(mongo, 'tallies', codec, logger);
  await store.ensureIndexes();
  topic = eventsTopic('outbox', testTopicPrefix('outbox'));
  await ensureTopics(kafka, [topic]);
});

afterAll(async () => {
  await producer.disconnect();
  await mongo.db.dropDatabase();
  await mongo.close();
});

async function until(condition: () => boolean, what: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Adds `amount` to a tally and emits one event, the way a use case would. */
async function record(id: string, amount: bigint): Promise<void> {
  const current = await store.load(id);
  if (!current) {
    await store.create(id, { total: amount }, [{ topic, envelope: testEvent(`${id}-v1`, id, amount, 1n) }]);
    return;
  }
  await store.update(id, (loaded) => ({
    state: { total: loaded.state.total + amount },
    events: [{ topic, envelope: testEvent(`${id}-v${loaded.version + 1}`, id, amount, BigInt(loaded.version + 1)) }],
    result: undefined,
  }));
}

describe('OutboxRelay', () => {
  it('delivers each event once to the consumer even when the relay dies between publishing and marking', async () => {
    for (const id of ['tally-a', 'tally-b']) for (const amount of [1n, 2n, 3n]) await record(id, amount);

    const onTopic: string[] = [];
    const applied: string[] = [];
    const raw = kafka.consumer({ groupId: `${topic}-raw` });
    await raw.connect();
    await raw.subscribe({ topic, fromBeginning: true });
    await raw.run({ eachMessage: async ({ message }) => void onTopic.push(message.headers?.['sizhong-event-id']?.toString() ?? '') });
    const consumer = new EventConsumer({
      kafka,
      groupId: `${topic}-applier`,
      topics: [topic],
      processedEvents: new MongoProcessedEventStore(mongo),
      logger,
      handler: async ({ envelope }) => void applied.push(envelope.id),
    });
    await consumer.start();

    // The first relay publishes every pending event and "crashes" before pulling them off the outboxes.
    const crashing = new OutboxRelay({
      stores: [store as AggregateStore<unknown>],
      producer,
      logger,
      faults: {
        afterPublishBeforeMark: async () => {
          throw new Error('relay killed');
        },
      },
    });
    await expect(crashing.relayOnce({ scan: true })).rejects.toThrow('relay killed');
    await until(() => onTopic.length >= 6, 'the first publish');

    // A fresh relay takes over: its start-up scan finds the events still on the outboxes.
    const relay = new OutboxRelay({ stores: [store as AggregateStore<unknown>], producer, logger });
    await expect(relay.relayOnce({ scan: true })).resolves.toBe(6);
    await expect(relay.relayOnce({ scan: true })).resolves.toBe(0);

    await until(() => applied.length >= 6 && onTopic.length >= 12, 'all events');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await consumer.stop();
    await raw.disconnect();

    const expected = ['tally-a-v1', 'tally-a-v2', 'tally-a-v3', 'tally-b-v1', 'tally-b-v2', 'tally-b-v3'];
    expect(onTopic).toHaveLength(12);
    for (const id of expected) expect(onTopic.filter((each) => each === id)).toHaveLength(2);
    expect([...applied].sort()).toEqual(expected);
    // Per-aggregate order holds on the topic.
    for (const id of ['tally-a', 'tally-b']) {
      const order = applied.filter((eventId) => eventId.startsWith(id));
      expect(order).toEqual([`${id}-v1`, `${id}-v2`, `${id}-v3`]);
    }
    await expect(store.collection.countDocuments({ outboxPending: true })).resolves.toBe(0);
    await expect(store.collection.countDocuments({ 'outbox.0': { $exists: true } })).resolves.toBe(0);
  });

  it('finds events nobody announced (written by another process) only with its scan', async () => {
    await record('tally-lost', 1n);
    await record('tally-lost', 2n);
    const relay = new OutboxRelay({ stores: [store as AggregateStore<unknown>], producer, logger });
    await expect(relay.relayOnce()).resolves.toBe(0);
    await expect(relay.relayOnce({ scan: true })).resolves.toBe(2);
    await expect(store.collection.findOne({ _id: 'tally-lost' })).resolves.toMatchObject({ outbox: [], outboxPending: false });
  });

  it('pulls only what it published: an event pushed after its read stays for the next round', async () => {
    await record('tally-order', 1n);
    const relay = new OutboxRelay({
      stores: [store as AggregateStore<unknown>],
      producer,
      logger,
      faults: { afterPublishBeforeMark: () => record('tally-order', 2n) },
    });
    await expect(relay.relayOnce({ scan: true })).resolves.toBe(1);
    const document = await store.collection.findOne({ _id: 'tally-order' });
    expect(document?.outbox.map((event) => event.eventId)).toEqual(['tally-order-v2']);
    expect(document?.outboxPending).toBe(true);
  });

  it('relays on its own after writes once started', async () => {
    const relay = new OutboxRelay({ stores: [store as AggregateStore<unknown>], producer, logger, pollIntervalMs: 60_000 });
    relay.start();
    const applied: string[] = [];
    const consumer = new EventConsumer({
      kafka,
      groupId: `${topic}-live`,
      topics: [topic],
      processedEvents: new MongoProcessedEventStore(mongo),
      logger,
      handler: async ({ envelope }) => void applied.push(envelope.id),
    });
    await consumer.start();
    await record('tally-c', 5n);
    // The poll is a minute away: only the write notification can deliver this quickly.
    await until(() => applied.includes('tally-c-v1'), 'the woken relay', 10_000);
    await relay.stop();
    await consumer.stop();
  });
});
