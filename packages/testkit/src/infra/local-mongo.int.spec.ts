// Proves that a private mongo-java-server keeps every acknowledged write across SIGKILL: all of a
// batch acknowledged before the kill, and all of those acknowledged while a kill lands at a random
// moment; and that index changes racing inserts break neither (mongo-java-server alone fails both).
import { randomInt } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { mongo as driver } from 'mongoose';
import { LocalMongo } from './local-mongo';
import { findFreePort, isPortAnswering } from './ports';
import { isProcessAlive } from './processes';
import { discardLog } from './progress';

const insertCount = 500;
const inFlight = 16;
/** The writers' pace is unknown (a loaded CI machine), so the kill lands after a random count of acknowledgements. */
const killAfterAcknowledgedMin = 50;
const killAfterAcknowledgedMax = 400;

type Row = { _id: number; payload: string };

describe('a private mongo-java-server killed with SIGKILL', () => {
  let scratchDirectory: string;
  let server: LocalMongo;
  let client: driver.MongoClient | undefined;

  beforeAll(async () => {
    // Given a server of its own (own port and state directory): the shared one stays untouched.
    scratchDirectory = mkdtempSync(join(tmpdir(), 'sizhong-mongo-kill-'));
    server = new LocalMongo({ stateDirectory: join(scratchDirectory, 'mongo'), port: await findFreePort(), log: discardLog });
    await server.up();
  });

  afterEach(async () => {
    await client?.close(true).catch(() => undefined);
    client = undefined;
  });

  afterAll(async () => {
    await server.down();
    rmSync(scratchDirectory, { recursive: true, force: true });
  });

  async function connect(): Promise<driver.Collection<Row>> {
    client = new driver.MongoClient(server.mongoUrl, { serverSelectionTimeoutMS: 5_000, retryWrites: false, maxPoolSize: inFlight });
    await client.connect();
    return client.db('crash').collection<Row>('rows');
  }

  async function restart(): Promise<driver.Collection<Row>> {
    await client?.close(true).catch(() => undefined);
    const started = await server.up();
    expect(started.startedHere).toBe(true);
    return connect();
  }

  it('creates indexes while other clients insert into the same new collection, and drops the database afterwards', async () => {
    const clientCount = 8;
    const clients = await Promise.all(
      Array.from({ length: clientCount }, () => new driver.MongoClient(server.mongoUrl, { serverSelectionTimeoutMS: 5_000, retryWrites: false, maxPoolSize: 4 }).connect()),
    );
    try {
      for (let round = 0; round < 10; round++) {
        const database = `race_${round}`;
        await Promise.all(
          clients.map(async (raceClient, index) => {
            const things = raceClient.db(database).collection<{ _id: string; k: number; s: number }>('things');
            await Promise.all([things.createIndex({ k: 1 }, { unique: true }), things.createIndex({ s: 1 }), things.insertOne({ _id: `${index}`, k: index, s: 1 })]);
          }),
        );
        expect(await clients[0]?.db(database).collection('things').countDocuments()).toBe(clientCount);
        expect(await clients[0]?.db(database).dropDatabase()).toBe(true);
      }
    } finally {
      await Promise.all(clients.map((raceClient) => raceClient.close()));
    }
  });

  it(`keeps all ${insertCount} inserts acknowledged before the kill, and starts again on the same file`, async () => {
    const rows = await connect();
    await rows.deleteMany({});
    let next = 0;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let id = next++; id < insertCount; id = next++) await rows.insertOne({ _id: id, payload: `row ${id}` });
      }),
    );

    const killed = await server.kill();
    expect(killed).toMatchObject({ outcome: 'killed' });
    expect(isProcessAlive(killed.pid ?? 0)).toBe(false);
    expect(await server.status()).toMatchObject({ state: 'stopped' });
    expect(existsSync(server.dataFile)).toBe(true);

    const reopened = await restart();
    expect(await reopened.countDocuments()).toBe(insertCount);
    expect(await reopened.findOne({ _id: insertCount - 1 })).toEqual({ _id: insertCount - 1, payload: `row ${insertCount - 1}` });
  });

  it('keeps every insert acknowledged while the kill lands at a random moment, with a consistent unique index', async () => {
    const rows = await connect();
    await rows.deleteMany({});
    await rows.createIndex({ payload: 1 }, { unique: true });
    const killAfter = randomInt(killAfterAcknowledgedMin, killAfterAcknowledgedMax);
    const acknowledged: number[] = [];
    const attempted = new Set<number>();
    let next = 0;
    let killing: Promise<unknown> | undefined;
    await Promise.all(
      Array.from({ length: inFlight }, async () => {
        for (let id = next++; id < insertCount * 10; id = next++) {
          attempted.add(id);
          try {
            await rows.insertOne({ _id: id, payload: `row ${id}` });
          } catch {
            return; // the connection died with the server
          }
          acknowledged.push(id);
          if (acknowledged.length === killAfter) killing = server.kill();
        }
      }),
    );
    expect(await killing).toMatchObject({ outcome: 'killed' });
    expect(await isPortAnswering('127.0.0.1', Number(new URL(server.mongoUrl).port))).toBe(false);

    const reopened = await restart();
    const stored = new Set((await reopened.find({}, { projection: { _id: 1 } }).toArray()).map((row) => row._id));
    expect(acknowledged.filter((id) => !stored.has(id))).toEqual([]);
    // Writes in flight at the kill may or may not be there, but never half: a document and its index entry go together.
    for (const id of attempted) {
      const insertedAgain = await reopened.insertOne({ _id: id + insertCount * 100, payload: `row ${id}` }).then(
        () => true,
        () => false,
      );
      expect({ id, insertedAgain }).toEqual({ id, insertedAgain: !stored.has(id) });
    }
  });
});
