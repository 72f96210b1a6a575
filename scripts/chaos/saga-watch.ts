/**
 * Which sagas an injected gRPC fault hit mid-flight. Kit's fault injector (GRPC_FAULTS) keeps no
 * log of its own, but a saga whose step failed on one keeps the error as its record's `lastError`
 * ("fault injected: …") until it is driven on and finishes, which takes at least a same-key retry
 * and usually the recovery age. The watch reads the unfinished records of every service every
 * 250 ms during the run and remembers each saga it saw so failed: a lower bound (a saga a retry
 * finished within 250 ms is missed). Pledge sagas keep no error text and are not counted here.
 */
import { MongoClient } from 'mongodb';
import { unfinishedSagaStates } from '../../packages/kit/src/saga/saga-log';
import { sagaRecords } from './sagas';
import { chaosServices } from './schedule';

export const sagaWatchIntervalMs = 250;
/** What kit's fault injector writes in the errors it raises (packages/kit/src/grpc/faults.ts). */
export const injectedFaultPattern = /fault injected/;

export class SagaWatch {
  /** `<service>|<saga id>` of each saga seen failed on an injected fault. */
  readonly hit = new Set<string>();
  private stopped = false;
  private readonly loop: Promise<void>;

  constructor(private readonly mongoUrl: string) {
    this.loop = this.watch();
  }

  /** Sagas hit, by service. */
  get hitByService(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const key of this.hit) counts[key.split('|')[0]!] = (counts[key.split('|')[0]!] ?? 0) + 1;
    return counts;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
  }

  private async watch(): Promise<void> {
    const client = new MongoClient(this.mongoUrl, { serverSelectionTimeoutMS: 2_000, connectTimeoutMS: 2_000 });
    try {
      while (!this.stopped) {
        try {
          for (const service of chaosServices) {
            const failed = await sagaRecords(client, service)
              .find({ state: { $in: [...unfinishedSagaStates] } }, { projection: { _id: 1, lastError: 1 } })
              .toArray();
            for (const record of failed) if (injectedFaultPattern.test(String(record['lastError'] ?? ''))) this.hit.add(`${service}|${String(record._id)}`);
          }
        } catch {
          // The database is down (a fault of the schedule): the next round reads again.
        }
        await new Promise((resolve) => setTimeout(resolve, sagaWatchIntervalMs));
      }
    } finally {
      await client.close().catch(() => undefined);
    }
  }
}
