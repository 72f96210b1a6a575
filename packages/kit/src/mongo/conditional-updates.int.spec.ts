// Proves that the configured MongoDB-wire server applies conditional writes as compare-and-set, which
// storage relies on (docs/storage.md): 16 clients racing version-guarded updates lose none and
// report none falsely, and 16 clients claiming due jobs with findOneAndUpdate claim each job once.
// FerretDB 1.24 failed both (800 updates reported, 65 applied; 100 jobs claimed 312 times).
import { testDatabaseName, testInfrastructure } from '@sizhong/testkit';
import { connectMongo, type MongoConnection } from './connection';

const clientCount = 16;
const updatesPerClient = 50;
const jobCount = 100;
/** A lost race costs one retry; far more attempts than this would mean the server never lets a guarded update through. */
const attemptsPerClientMax = updatesPerClient * clientCount * 20;
/** About 25 000 requests (each win costs every other client a retry): 13–30 s here, more on a loaded CI machine. */
const racingUpdatesTimeoutMs = 180_000;

type Counter = { _id: string; version: number; count: number };
type Job = { _id: number; state: 'due' | 'claimed'; dueAt: Date; by?: number };

let database: string;
let clients: MongoConnection[];

beforeAll(async () => {
  const { mongoUrl } = testInfrastructure();
  database = testDatabaseName('conditional');
  // Separate connections (each its own pool), as separate service replicas would have.
  clients = await Promise.all(Array.from({ length: clientCount }, () => connectMongo(mongoUrl, database)));
});

afterAll(async () => {
  await clients[0]?.db.dropDatabase();
  await Promise.all(clients.map((client) => client.close()));
});

it(`applies ${clientCount * updatesPerClient} racing version-guarded updates exactly once each, and reports exactly those`, async () => {
  const counters = (client: MongoConnection) => client.collection<Counter>('counters');
  await counters(clients[0] as MongoConnection).insertOne({ _id: 'shared', version: 0, count: 0 });

  const reported = await Promise.all(
    clients.map(async (client) => {
      let succeeded = 0;
      for (let attempt = 0; succeeded < updatesPerClient; attempt++) {
        if (attempt >= attemptsPerClientMax) throw new Error(`a client made ${attempt} attempts for ${updatesPerClient} updates`);
        const current = await counters(client).findOne({ _id: 'shared' });
        if (current === null) throw new Error('the counter vanished');
        const result = await counters(client).updateOne({ _id: 'shared', version: current.version }, { $set: { version: current.version + 1 }, $inc: { count: 1 } });
        // A lost race (another client moved the version on) matches nothing: reload and retry.
        if (result.modifiedCount === 1) succeeded += 1;
      }
      return succeeded;
    }),
  );

  const total = clientCount * updatesPerClient;
  expect(reported.reduce((sum, count) => sum + count, 0)).toBe(total);
  expect(await counters(clients[0] as MongoConnection).findOne({ _id: 'shared' })).toEqual({ _id: 'shared', version: total, count: total });
}, racingUpdatesTimeoutMs);

it(`lets ${clientCount} clients claim ${jobCount} due jobs with findOneAndUpdate, each job exactly once, earliest first`, async () => {
  const jobs = (client: MongoConnection) => client.collection<Job>('jobs');
  const start = Date.now();
  await jobs(clients[0] as MongoConnection).insertMany(Array.from({ length: jobCount }, (_, index) => ({ _id: index, state: 'due' as const, dueAt: new Date(start + index * 1_000) })));

  const claimsByClient = await Promise.all(
    clients.map(async (client, by) => {
      const claimed: number[] = [];
      for (;;) {
        const job = await jobs(client).findOneAndUpdate({ state: 'due' }, { $set: { state: 'claimed', by } }, { sort: { dueAt: 1 } });
        if (job === null) return claimed;
        claimed.push(job._id);
      }
    }),
  );

  const claims = claimsByClient.flat();
  expect(claims).toHaveLength(jobCount);
  expect(new Set(claims).size).toBe(jobCount);
  // Each client took jobs in due order.
  for (const claimed of claimsByClient) expect(claimed).toEqual([...claimed].sort((a, b) => a - b));
  const stored = await jobs(clients[0] as MongoConnection).find({}).sort({ _id: 1 }).toArray();
  expect(stored.every((job) => job.state === 'claimed')).toBe(true);
  // The stored claimant is the one that was told it won.
  for (const [by, claimed] of claimsByClient.entries()) {
    for (const id of claimed) expect(stored[id]?.by).toBe(by);
  }
});
