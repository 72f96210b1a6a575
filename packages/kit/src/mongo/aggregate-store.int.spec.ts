// Proves the aggregate store against the real MongoDB-wire server: stale versions are refused, concurrent
// writers never lose an update, and a repeated idempotency key returns the first result.
import { testDatabaseName, testInfrastructure } from '@sizhong/testkit';
import pino from 'pino';
import type { Document } from 'mongodb';
import { DomainError } from '../errors';
import { AggregateStore, revisionId, type AggregateCodec } from './aggregate-store';
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
    await expect(store.load('c-create')).resolves.toEqual({ id: 'c-create', version: 1, state: { owner: 'alice', count: 9_007_199_254_740_993n } });
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
    // Every version exists exactly once: the chain has no gaps and no forks.
    const revisions = await store.revisions.find({ aggregateId: 'c-race' }).sort({ version: 1 }).toArray();
    expect(revisions.map((revision) => revision.version)).toEqual(Array.from({ length: Number(total) + 1 }, (_, index) => index + 1));
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

  it('finds the latest revision even when the head lags, and repairs the head', async () => {
    await store.create('c-lag', { owner: 'erin', count: 0n }, []);
    await store.update('c-lag', increment(5n));
    await store.update('c-lag', increment(5n));
    // Simulate the FerretDB race in which a slow writer moved the head back.
    const first = await store.revisions.findOne({ _id: revisionId('c-lag', 1) });
    await store.heads.updateOne({ _id: 'c-lag' }, { $set: { version: 1, state: first!.state } });
    await expect(store.get('c-lag')).resolves.toMatchObject({ version: 3, state: { count: 10n } });
    await expect(store.heads.findOne({ _id: 'c-lag' })).resolves.toMatchObject({ version: 3 });
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

  it('compacts old revisions but keeps their ids taken, so no version can be written twice', async () => {
    const compacting = new AggregateStore(connections[0]!, 'counters', codec, logger, { revisionsKept: 2 });
    await compacting.create('c-compact', { owner: 'gil', count: 0n }, []);
    for (let step = 0; step < 5; step += 1) await compacting.update('c-compact', increment(1n));
    const revisions = await compacting.revisions.find({ aggregateId: 'c-compact' }).sort({ version: 1 }).toArray();
    expect(revisions.map((revision) => [revision.version, revision.state === undefined])).toEqual([
      [1, true],
      [2, true],
      [3, true],
      [4, true],
      [5, false],
      [6, false],
    ]);
    // A lagging head still finds the latest state past the compacted revisions.
    await compacting.heads.updateOne({ _id: 'c-compact' }, { $set: { version: 2 } });
    await expect(compacting.get('c-compact')).resolves.toMatchObject({ version: 6, state: { count: 5n } });
    const stale = { id: 'c-compact', version: 3, state: { owner: 'gil', count: 2n } };
    await expect(compacting.save(stale, { owner: 'gil', count: 99n }, [])).rejects.toMatchObject({ code: 'CONCURRENT_MODIFICATION' });
  });

  it('lists heads for queries', async () => {
    const page = await store.find({ 'state.owner': 'alice' }, { limit: 10 });
    expect(page.map((aggregate) => aggregate.id)).toEqual(['c-create']);
  });
});
