/**
 * Does the MongoDB-wire server find a document by `_id` when the filter also has a guard? Times
 * `updateOne({_id}, $inc)` against `updateOne({_id, guard}, $inc)` (the shape of every
 * version-guarded or balance-guarded write in kit and escrow) on collections of growing size, one
 * request at a time. On a server that uses the `_id` index for both, the two stay flat and close;
 * on one that scans the collection for the guarded filter, the guarded time grows with the size.
 * When the server is a local mongo-java-server of ours, it also prints the server's own CPU time
 * per update (from /proc), which other load on the machine hardly changes, unlike the wall time.
 *
 *   npx tsx bench/diagnostics/guarded-updates.ts           (the local server; MONGO_URL for another)
 */
import { connectMongo } from '@sizhong/kit';
import { ensureInfrastructure } from '../../packages/testkit/src/infra';
import { findServerProcesses, processCpuMs } from '../support/cpu-meter';

const sizes = [100, 1_000, 10_000];
const updatesPerShape = 300;
const insertBatch = 1_000;

async function main(): Promise<void> {
  const infrastructure = await ensureInfrastructure({ log: (line) => console.log(`  infra: ${line}`) });
  const database = `bench_guarded_${Date.now().toString(36)}`;
  const mongo = await connectMongo(infrastructure.mongoUrl, database);
  try {
    const serverPid = findServerProcesses(infrastructure.mongoUrl).find((subject) => subject.name === 'mongo-java-server')?.pid;
    const serverCpuMs = () => (serverPid === undefined ? undefined : processCpuMs(serverPid));
    console.log(
      `server: ${infrastructure.mongoUrl}; ${updatesPerShape} updates of each shape, one at a time; mean per update` +
        (serverPid === undefined ? '' : ` (wall time; in brackets the server's CPU time, pid ${serverPid})`),
    );
    for (const size of sizes) {
      const collection = mongo.collection<{ _id: string; version: number; balance: number }>(`documents_${size}`);
      for (let start = 0; start < size; start += insertBatch) {
        await collection.insertMany(Array.from({ length: Math.min(insertBatch, size - start) }, (_, offset) => ({ _id: `d${start + offset}`, version: 0, balance: 1_000_000 })));
      }
      const time = async (filterOf: (id: string) => Record<string, unknown>) => {
        const began = performance.now();
        const cpuBefore = serverCpuMs();
        for (let index = 0; index < updatesPerShape; index += 1) {
          const id = `d${(index * 7919) % size}`;
          const result = await collection.updateOne(filterOf(id) as never, { $inc: { version: 1, balance: -1 } });
          if (result.matchedCount !== 1) throw new Error(`the update of ${id} matched ${result.matchedCount}`);
        }
        const cpuAfter = serverCpuMs();
        const wallMs = (performance.now() - began) / updatesPerShape;
        const cpuMs = cpuBefore === undefined || cpuAfter === undefined ? undefined : (cpuAfter - cpuBefore) / updatesPerShape;
        return { wallMs, cpuMs, text: `${wallMs.toFixed(2)} ms${cpuMs === undefined ? '' : ` [${cpuMs.toFixed(2)} ms]`}` };
      };
      const plain = await time((id) => ({ _id: id }));
      const guarded = await time((id) => ({ _id: id, balance: { $gte: 1 } }));
      const cpuRatio = plain.cpuMs === undefined || guarded.cpuMs === undefined || plain.cpuMs === 0 ? '' : `, [${(guarded.cpuMs / plain.cpuMs).toFixed(1)}×]`;
      console.log(
        `  ${String(size).padStart(6)} documents: {_id} ${plain.text}, {_id, balance: {$gte: 1}} ${guarded.text} (${(guarded.wallMs / plain.wallMs).toFixed(1)}×${cpuRatio})`,
      );
    }
  } finally {
    await mongo.db.dropDatabase().catch((error: unknown) => console.error(`could not drop ${database}: ${(error as Error).message}`));
    await mongo.close();
    await infrastructure.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
