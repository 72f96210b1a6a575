// Proves the aggregate store against the real MongoDB-wire server: stale versions are refused, concurrent
// writers never lose an update, and a repeated idempotency key returns the first result.
import { testDatabaseName, testInfrastructure } from '@sizhong/testkit';
import pino from 'pino';
import type { Document } from 'mongodb';
import { DomainError } from '../errors';
import { AggregateStore, counterKeysKept, type AggregateCodec } from './aggregate-store';
import { connectMongo, type MongoConnection } from './connection';
import { plainCodec } from './plain-codec';

interface Counter {
  readonly owner: string;
  readonly count: bigint;
}

const codec: AggregateCodec<Counter> = {
  toDocument: (state) => ({ owner: state.owner, count: state.count }),
  fromDocument: (document: Document) => ({ owner: String(document['owner']), count: BigInt(document['count'] as bigint) }),
};
const logger = pino({ level: 'silent' });
const increment = (by: bigint) => (current: { state: Counter }) => ({ state: { ...current.state, count: current.state.count + by }, events: [], result: undefined });

let connections: MongoConnection[] = [];
let store: AggregateStore<Counter>;

beforeAll(async () => {
  const { mongoUrl } = testInfrastructure();
  const database = testDatabaseName('aggregate');
  // Several connections, like several service replicas writing at once.
  connections = await Promise.all(Array.from({ length: 4 }, () => connectMongo(mongoUrl, database)));
  store = new AggregateStore(connections[0]!, 'counters', codec, logger);
  await store.ensureIndexes();
});

afterAll(async () => {
  await connections[0]?.db.dropDatabase();
  await Promise.all(connections.map((connection) => connection.close()));
});

describe('AggregateStore', () => {
  it('creates version 1 and loads it back with exact bigints', async () => {
    const outcome = await store.create('c-create', { owner: 'alice', count: 9_007_199_254_740_993n }, []);
    expect(outcome.kind).toBe('created');
    await expect(store.load('c-create')).resolves.toEqual({ id: 'c-create', version: 1, state: { owner: 'alice', count: 9_007_199_254_740_993n }, counters: {} });
    await expect(store.load('c-missing')).resolves.toBeUndefined();
    await expect(store.get('c-missing', 'counter')).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });

  it('refuses a write from a stale version', async () => {
    await store.create('c-stale', { owner: 'bob', count: 0n }, []);
    const first = await store.get('c-stale');
    const second = await store.get('c-stale');
    await store.save(first, { owner: 'bob', count: 1n }, []);
    const refusal = await store.save(second, { owner: 'bob', count: 100n }, []).catch((error: unknown) => error);
    expect(refusal).toBeInstanceOf(DomainError);
    expect(refusal).toMatchObject({ code: 'CONCURRENT_MODIFICATION' });
    await expect(store.get('c-stale')).resolves.toMatchObject({ version: 2, state: { count: 1n } });
  });

  it('never loses an update when many writers on separate connections race', async () => {
    await store.create('c-race', { owner: 'carol', count: 0n }, []);
    const writers = connections.map((connection) => new AggregateStore(connection, 'counters', codec, logger));
    const incrementsPerWriter = 15;
    await Promise.all(
      writers.flatMap((writer) => Array.from({ length: incrementsPerWriter }, () => writer.update('c-race', increment(1n)))),
    );
    const total = BigInt(writers.length * incrementsPerWriter);
    await expect(store.get('c-race')).resolves.toMatchObject({ version: Number(total) + 1, state: { count: total } });
  });

  it('turns a repeated idempotency key into the first result, and a different request into IDEMPOTENCY_KEY_REUSED', async () => {
    const outcomes = await Promise.all(
      connections.flatMap((connection) =>
        Array.from({ length: 5 }, () => new AggregateStore(connection, 'counters', codec, logger).create('c-idem', { owner: 'dave', count: 7n }, [], 'fingerprint-1')),
      ),
    );
    expect(outcomes.filter((outcome) => outcome.kind === 'created')).toHaveLength(1);
    expect(outcomes.every((outcome) => outcome.aggregate.state.count === 7n)).toBe(true);
    await expect(store.create('c-idem', { owner: 'dave', count: 8n }, [], 'fingerprint-2')).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    await expect(store.get('c-idem')).resolves.toMatchObject({ version: 1, state: { count: 7n } });
  });

  it('writes nothing when a command refuses', async () => {
    await store.create('c-refuse', { owner: 'fay', count: 0n }, []);
    await expect(
      store.update('c-refuse', () => {
        throw new DomainError('INSUFFICIENT_FUNDS', 'no');
      }),
    ).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    await expect(store.get('c-refuse')).resolves.toMatchObject({ version: 1 });
  });

  it('stores plain domain data exactly with the plain codec', async () => {
    interface Rich {
      readonly name: string;
      readonly price: { readonly currency: string; readonly amountMinor: bigint };
      readonly at: Date;
      readonly tiers: readonly { readonly id: string; readonly quantity?: number; readonly remaining?: number }[];
      readonly note?: string;
    }
    const rich = new AggregateStore<Rich>(connections[0]!, 'rich', plainCodec<Rich>(), logger);
    const state: Rich = { name: 'r', price: { currency: 'CNY', amountMinor: 1n }, at: new Date('2026-11-25T01:02:03.004Z'), tiers: [{ id: 't0', quantity: 3, remaining: 2 }, { id: 't1' }], note: undefined };
    await rich.create('rich-1', state, []);
    const loaded = await rich.get('rich-1');
    expect(loaded.state).toEqual({ name: 'r', price: { currency: 'CNY', amountMinor: 1n }, at: new Date('2026-11-25T01:02:03.004Z'), tiers: [{ id: 't0', quantity: 3, remaining: 2 }, { id: 't1' }] });
    expect(typeof loaded.state.price.amountMinor).toBe('bigint');
  });

  it('applies a guarded counter increment once per key and refuses past its guard', async () => {
    await store.create('c-stock', { owner: 'gil', count: 0n }, [], undefined, { remaining: 3, pledgedMinor: 0n });
    const guard = { 'counters.remaining': { $gte: 1 } };
    const take = (key: string) => store.incrementCounters('c-stock', key, { remaining: -1, pledgedMinor: 500n }, guard);
    const outcomes = await Promise.all(connections.flatMap((connection, writer) => Array.from({ length: 3 }, (_, index) => new AggregateStore(connection, 'counters', codec, logger).incrementCounters('c-stock', `take-${writer}-${index}`, { remaining: -1, pledgedMinor: 500n }, guard))));
    expect(outcomes.filter((outcome) => outcome.kind === 'applied')).toHaveLength(3);
    expect(outcomes.filter((outcome) => outcome.kind === 'refused')).toHaveLength(9);
    await expect(store.get('c-stock')).resolves.toMatchObject({ version: 1, counters: { remaining: 0, pledgedMinor: 1_500n } });
    // A retried increment is recognised by its key and changes nothing.
    const appliedKey = outcomes.findIndex((outcome) => outcome.kind === 'applied');
    await expect(take(`take-${Math.floor(appliedKey / 3)}-${appliedKey % 3}`)).resolves.toEqual({ kind: 'already_applied' });
    await expect(store.get('c-stock')).resolves.toMatchObject({ counters: { remaining: 0, pledgedMinor: 1_500n } });
  });

  it('keeps counters when the versioned state is rewritten, and remembers the last keys only', async () => {
    await store.create('c-mixed', { owner: 'hal', count: 0n }, [], undefined, { hits: 0 });
    for (let index = 0; index < counterKeysKept + 5; index += 1) await store.incrementCounters('c-mixed', `hit-${index}`, { hits: 1 });
    await store.update('c-mixed', increment(2n));
    await expect(store.get('c-mixed')).resolves.toMatchObject({ version: 2, state: { count: 2n }, counters: { hits: counterKeysKept + 5 } });
    await expect(store.hasCounterKey('c-mixed', `hit-${counterKeysKept + 4}`)).resolves.toBe(true);
    await expect(store.hasCounterKey('c-mixed', 'hit-0')).resolves.toBe(false);
  });

  it('lists heads for queries', async () => {
    const page = await store.find({ 'state.owner': 'alice' }, { limit: 10 });
    expect(page.map((aggregate) => aggregate.id)).toEqual(['c-create']);
  });
});
