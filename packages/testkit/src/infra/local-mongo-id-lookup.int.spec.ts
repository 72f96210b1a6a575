// Proves, on a private mongo-java-server built from scripts/infra/mongo/src, that a filter with an
// `_id` equality and other conditions (every guarded write of storage) is answered by the `_id`
// index with MongoDB's results: a failing guard refuses, a passing one applies, operators on the
// other fields and `_id` given as an operator document work as before, also for collections opened
// from the file at a restart; that such a write finds its document through the index, not by
// scanning the collection (the server counts both); and that dropping a database leaves a database whose name it prefixes alone.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mongo as driver } from 'mongoose';
import { LocalMongo } from './local-mongo';
import { findFreePort } from './ports';
import { discardLog } from './progress';

/** Large enough that a scan would cost several times an index lookup (4× at 10 000 documents before the change). */
const largeCollectionSize = 10_000;
const insertBatch = 1_000;
const countedUpdates = 50;
/** Inserting 10 000 documents, a restart and 200 updates, some of them scans, on a loaded machine. */
const largeCollectionTimeoutMs = 180_000;

/** The kinds of _id besides strings that the lookup must treat as MongoDB does. */
type Thing = number | driver.Double | driver.Long | driver.ObjectId | { k: number };
type Account = { _id: string; version: number; available: number; state: string; counterKeys: string[]; limits: { max: number } };

function account(id: string, overrides: Partial<Account> = {}): Account {
  return { _id: id, version: 1, available: 5, state: 'open', counterKeys: ['k1'], limits: { max: 3 }, ...overrides };
}

describe('a private mongo-java-server answering filters with an _id equality and other conditions', () => {
  let scratchDirectory: string;
  let server: LocalMongo;
  let client: driver.MongoClient;

  beforeAll(async () => {
    scratchDirectory = mkdtempSync(join(tmpdir(), 'sizhong-mongo-id-lookup-'));
    server = new LocalMongo({ stateDirectory: join(scratchDirectory, 'mongo'), port: await findFreePort(), log: discardLog });
    await server.up();
    client = await connect();
  });

  afterAll(async () => {
    await client?.close(true).catch(() => undefined);
    await server.down();
    rmSync(scratchDirectory, { recursive: true, force: true });
  });

  function connect(): Promise<driver.MongoClient> {
    return new driver.MongoClient(server.mongoUrl, { serverSelectionTimeoutMS: 5_000, retryWrites: false }).connect();
  }

  async function restart(): Promise<void> {
    await client.close(true);
    await server.down();
    expect((await server.up()).startedHere).toBe(true);
    client = await connect();
  }

  /** The server's own counts (command sizhongQueryStats of scripts/infra/mongo) since it started. */
  async function queryStats(): Promise<{ idLookups: number; collectionScans: number }> {
    const { idLookups, collectionScans } = await client.db('admin').command({ sizhongQueryStats: 1 });
    return { idLookups: Number(idLookups), collectionScans: Number(collectionScans) };
  }

  const accounts = (): driver.Collection<Account> => client.db('lookup').collection<Account>('accounts');

  /** Every guarded write shape storage sends, with what MongoDB answers; run on a fresh copy of the same documents. */
  async function expectGuardedWritesAsMongoDb(collection: driver.Collection<Account>): Promise<void> {
    await collection.deleteMany({});
    await collection.insertMany([account('a'), account('b', { version: 7, available: 0, state: 'closed', counterKeys: [] }), account('c')]);

    // A version guard: the wrong version changes nothing, the right one applies once.
    expect(await collection.updateOne({ _id: 'a', version: 0 }, { $set: { version: 2 } })).toMatchObject({ matchedCount: 0, modifiedCount: 0 });
    expect(await collection.findOne({ _id: 'a' })).toEqual(account('a'));
    expect(await collection.updateOne({ _id: 'a', version: 1 }, { $set: { version: 2 } })).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await collection.findOne({ _id: 'a' })).toEqual(account('a', { version: 2 }));

    // A balance guard with $gte: exactly enough passes, one more is refused.
    expect(await collection.updateOne({ _id: 'c', available: { $gte: 6 } }, { $inc: { available: -6 } })).toMatchObject({ matchedCount: 0 });
    expect(await collection.updateOne({ _id: 'c', available: { $gte: 5 } }, { $inc: { available: -5 } })).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect((await collection.findOne({ _id: 'c' }))?.available).toBe(0);

    // A counter guard with $ne on an array: a key already counted is refused, a new one applies.
    expect(await collection.updateOne({ _id: 'a', counterKeys: { $ne: 'k1' } }, { $push: { counterKeys: 'k1' } })).toMatchObject({ matchedCount: 0 });
    expect(await collection.updateOne({ _id: 'a', counterKeys: { $ne: 'k2' } }, { $push: { counterKeys: 'k2' } })).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect((await collection.findOne({ _id: 'a' }))?.counterKeys).toEqual(['k1', 'k2']);

    // Several conditions at once, $in, $nin, a dotted path, $or beside the _id, $exists.
    expect(await collection.countDocuments({ _id: 'b', state: { $in: ['open', 'launched'] } })).toBe(0);
    expect(await collection.countDocuments({ _id: 'b', state: { $in: ['closed'] }, version: { $gt: 6, $lt: 8 } })).toBe(1);
    expect(await collection.countDocuments({ _id: 'b', state: { $nin: ['closed'] } })).toBe(0);
    expect(await collection.countDocuments({ _id: 'a', 'limits.max': { $gte: 3 } })).toBe(1);
    expect(await collection.countDocuments({ _id: 'a', 'limits.max': { $gte: 4 } })).toBe(0);
    expect(await collection.countDocuments({ _id: 'a', $or: [{ version: 9 }, { state: 'open' }] })).toBe(1);
    expect(await collection.countDocuments({ _id: 'a', $or: [{ version: 9 }, { state: 'closed' }] })).toBe(0);
    expect(await collection.countDocuments({ _id: 'a', missing: { $exists: false } })).toBe(1);
    // An _id that no document has matches nothing, whatever the guard.
    expect(await collection.countDocuments({ _id: 'z', version: { $gte: 0 } })).toBe(0);

    // findOneAndUpdate and deleteOne take the same guards.
    expect(await collection.findOneAndUpdate({ _id: 'b', version: 6 }, { $set: { state: 'open' } })).toBeNull();
    expect(await collection.findOneAndUpdate({ _id: 'b', version: 7 }, { $set: { state: 'open' } }, { returnDocument: 'after' })).toMatchObject({ _id: 'b', state: 'open' });
    expect(await collection.deleteOne({ _id: 'b', version: 8 })).toMatchObject({ deletedCount: 0 });
    expect(await collection.deleteOne({ _id: 'b', version: 7 })).toMatchObject({ deletedCount: 1 });
    expect(await collection.countDocuments({ _id: 'b' })).toBe(0);

    // An upsert whose guard fails on an existing _id inserts, so the _id is a duplicate (E11000), as on MongoDB.
    await expect(collection.updateOne({ _id: 'a', version: 0 }, { $set: { state: 'x' } }, { upsert: true })).rejects.toMatchObject({ code: 11000 });
    expect((await collection.findOne({ _id: 'a' }))?.state).toBe('open');

    // _id given as an operator document still works (the library's own path).
    expect(await collection.countDocuments({ _id: { $in: ['a', 'c'] }, version: 2 })).toBe(1);
    expect(await collection.countDocuments({ _id: { $eq: 'a' }, version: 2 })).toBe(1);
    expect(await collection.countDocuments({ _id: { $gte: 'a' }, available: 0 })).toBe(1);
    expect(await collection.updateMany({ _id: { $ne: 'a' }, available: { $lte: 0 } }, { $inc: { version: 1 } })).toMatchObject({ matchedCount: 1, modifiedCount: 1 });
    expect(await collection.countDocuments({ _id: { $regex: '^[ac]$' }, version: 2 })).toBe(2);
  }

  it('applies or refuses every guarded write shape as MongoDB does', async () => {
    await expectGuardedWritesAsMongoDb(accounts());
  });

  it('matches other kinds of _id: numbers of another type, ObjectIds and sub-documents', async () => {
    const things = client.db('lookup').collection<{ _id: Thing; n: number }>('things');
    const objectId = new driver.ObjectId();
    await things.insertMany([{ _id: new driver.Double(7), n: 1 }, { _id: driver.Long.fromNumber(8), n: 1 }, { _id: objectId, n: 1 }, { _id: { k: 1 }, n: 1 }]);
    // MongoDB compares numbers by value across types.
    expect(await things.countDocuments({ _id: 7, n: 1 })).toBe(1);
    expect(await things.countDocuments({ _id: 8, n: { $gte: 1 } })).toBe(1);
    expect(await things.countDocuments({ _id: 8, n: { $gte: 2 } })).toBe(0);
    expect(await things.countDocuments({ _id: new driver.ObjectId(objectId.toHexString()), n: 1 })).toBe(1);
    expect(await things.countDocuments({ _id: new driver.ObjectId(), n: 1 })).toBe(0);
    expect(await things.countDocuments({ _id: { k: 1 }, n: 1 })).toBe(1);
    expect(await things.countDocuments({ _id: { k: 2 }, n: 1 })).toBe(0);
  });

  it('answers the same after a restart, when the collections are opened from the file', async () => {
    await restart();
    await expectGuardedWritesAsMongoDb(accounts());
  });

  it(`finds the document of every guarded update of a ${largeCollectionSize}-document collection through the _id index, not by a scan, also after a restart`, async () => {
    const large = () => client.db('lookup').collection<{ _id: string; version: number; balance: number }>('large');
    for (let start = 0; start < largeCollectionSize; start += insertBatch) {
      await large().insertMany(Array.from({ length: insertBatch }, (_, offset) => ({ _id: `d${start + offset}`, version: 0, balance: 1_000_000 })));
    }
    const guardedUpdates = async (filterOf: (id: string) => driver.Filter<{ _id: string; version: number; balance: number }>) => {
      const before = await queryStats();
      for (let index = 0; index < countedUpdates; index++) {
        const id = `d${(index * 7919) % largeCollectionSize}`;
        expect((await large().updateOne(filterOf(id), { $inc: { version: 1, balance: -1 } })).modifiedCount).toBe(1);
      }
      const after = await queryStats();
      return { idLookups: after.idLookups - before.idLookups, collectionScans: after.collectionScans - before.collectionScans };
    };

    expect(await guardedUpdates((id) => ({ _id: id, balance: { $gte: 1 } }))).toEqual({ idLookups: countedUpdates, collectionScans: 0 });
    expect(await guardedUpdates((id) => ({ _id: id, version: { $gte: 1 }, balance: { $lt: 1_000_000 } }))).toEqual({ idLookups: countedUpdates, collectionScans: 0 });
    // The counters do tell the paths apart: an _id operator document still scans (the library's own path).
    expect(await guardedUpdates((id) => ({ _id: { $in: [id] }, balance: { $gte: 1 } }))).toEqual({ idLookups: 0, collectionScans: countedUpdates });

    await restart();
    expect(await guardedUpdates((id) => ({ _id: id, balance: { $gte: 1 } }))).toEqual({ idLookups: countedUpdates, collectionScans: 0 });
  }, largeCollectionTimeoutMs);

  it('drops a database without touching one whose name it prefixes, and neither comes back after a restart', async () => {
    const kept = client.db('bench_run_baseline').collection<{ _id: string }>('inserts');
    await kept.insertMany([{ _id: 'x' }, { _id: 'y' }]);
    await client.db('bench_run').collection<{ _id: string }>('pledges').insertOne({ _id: 'p' });

    expect(await client.db('bench_run').dropDatabase()).toBe(true);
    expect(await kept.find().sort({ _id: 1 }).toArray()).toEqual([{ _id: 'x' }, { _id: 'y' }]);
    await restart();
    const names = async () => (await client.db('admin').admin().listDatabases()).databases.map((database) => database.name);
    expect(await names()).toEqual(expect.arrayContaining(['bench_run_baseline']));
    expect(await names()).not.toContain('bench_run');
    expect(await client.db('bench_run_baseline').collection('inserts').countDocuments()).toBe(2);

    expect(await client.db('bench_run_baseline').dropDatabase()).toBe(true);
    await restart();
    expect(await names()).not.toContain('bench_run_baseline');
  });
});
