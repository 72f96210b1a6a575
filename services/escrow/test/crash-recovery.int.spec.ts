// Proves escrow survives SIGKILL of its own process and of its database server at random points of a concurrent
// money workload (deposits, holds, posts, voids, withdrawals): after restarts and recovery, money is conserved, no
// wallet is negative, every pending transfer resolved exactly once, balances are exact, and no event was lost.
import { connectMongo, createGrpcClient, createKafka, EventConsumer, eventsTopic, MongoProcessedEventStore } from '@sizhong/kit';
import { escrowV1 } from '@sizhong/proto';
import { testDatabaseName, testInfrastructure, testTopicPrefix } from '@sizhong/testkit';
import type { MongoConnection } from '@sizhong/kit';
import pino from 'pino';
import { signPayload } from '../src/app/payment-provider';
import { CrashableMongo, retrying, seededRandom, ServiceProcess } from './crash-harness';

jest.setTimeout(300_000);

const secret = 'crash-test-webhook-secret-0123456789';
const logger = pino({ level: 'silent' });
const backers = 6;
const depositsPerBacker = 3;
const depositMinor = 10_000n;
const holdsPerBacker = 6;
const holdMinor = 1_000n;
const withdrawalMinor = 500n;
const kills = 4;
const databaseKills = 3;
/** How long the withdrawals wait for the first kills (two of escrow, one of its database). */
const killsAwaitedMs = 30_000;
const escrowAccountId = 'escrow:campaign:crash:CNY';

describe('escrow under SIGKILL', () => {
  it('recovers to exact, conserved balances with every event published', async () => {
    const seed = Number(process.env['CRASH_TEST_SEED'] ?? Date.now() % 1_000_000);
    const random = seededRandom(seed);
    const infrastructure = testInfrastructure();
    const database = testDatabaseName('crash');
    const topicPrefix = testTopicPrefix('crash');
    const databaseServer = await CrashableMongo.start();
    const escrow = await ServiceProcess.create('escrow', {
      MONGO_URL: databaseServer.mongoUrl,
      KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
      ESCROW_DATABASE: database,
      KAFKA_TOPIC_PREFIX: topicPrefix,
      PSP_WEBHOOK_SECRET: secret,
      RECOVERY_INTERVAL_MS: '300',
      TRANSFER_RECOVERY_AGE_MS: '500',
    });
    const address = escrow.address;
    escrow.start();

    const wallet = createGrpcClient(escrowV1.WalletServiceService, address, { deadlineMs: 3_000 });
    const ledger = createGrpcClient(escrowV1.LedgerServiceService, address, { deadlineMs: 3_000 });
    await retrying(() => ledger.call.openAccount({ kind: escrowV1.AccountKind.ACCOUNT_KIND_ESCROW, ownerId: 'campaign:crash', currency: 'CNY' }));

    const workload = async (backer: number) => {
      const participantId = `pt_crash_${backer}`;
      const identity = { participantId, roles: ['backer' as const] };
      for (let deposit = 0; deposit < depositsPerBacker; deposit += 1) {
        const body = Buffer.from(JSON.stringify({ id: `evt_${backer}_${deposit}`, type: 'deposit.succeeded', participantId, amount: { currency: 'CNY', amountMinor: String(depositMinor) } }));
        // The provider re-signs every retry, as real providers do.
        await retrying(() => wallet.call.applyPaymentProviderEvent({ body, signature: signPayload(new TextEncoder().encode(secret), body, Math.floor(Date.now() / 1000)) }));
      }
      for (let hold = 0; hold < holdsPerBacker; hold += 1) {
        const transferId = `pl_${backer}_${hold}`;
        await retrying(() =>
          ledger.call.createTransfer({
            transferId,
            mode: escrowV1.TransferMode.TRANSFER_MODE_TWO_PHASE,
            debitAccountId: `wallet:${participantId}:CNY`,
            creditAccountId: escrowAccountId,
            amount: { currency: 'CNY', amountMinor: holdMinor },
            timeoutMs: 3_600_000n,
            referenceKind: 'pledge',
            referenceId: transferId,
          }),
        );
        if (hold % 3 === 0) await retrying(() => ledger.call.voidPendingTransfer({ transferId }));
        else await retrying(() => ledger.call.postPendingTransfer({ transferId, ...(hold % 3 === 2 ? { amountMinor: 600n } : {}) }));
      }
      // On a fast, quiet machine the moves above can finish before the kills are due: the
      // withdrawals wait for them, so every kill still lands while money is moving.
      for (const deadline = Date.now() + killsAwaitedMs; !(escrow.kills >= 2 && databaseServer.kills >= 1) && Date.now() < deadline; ) {
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      await retrying(() => wallet.call.requestWithdrawal({ idempotencyKey: `wd_${backer}`, amount: { currency: 'CNY', amountMinor: withdrawalMinor } }, { identity }));
    };

    let running = true;
    const killers = [escrow.chaos(random, kills, () => !running, { min: 500, max: 2_000 }), databaseServer.chaos(random, databaseKills, () => !running, { min: 700, max: 2_500 })];
    try {
      await Promise.all(Array.from({ length: backers }, (_, backer) => workload(backer)));
    } catch (error) {
      running = false;
      await Promise.all(killers);
      const log = escrow.recentLog;
      await escrow.stop();
      await databaseServer.stop();
      throw new Error(`workload failed (seed ${seed}): ${log ? `${(error as Error).message}\n${log}` : (error as Error).message}`);
    } finally {
      running = false;
      await Promise.all(killers);
    }

    // The kills landed while money was moving, not after the workload.
    expect({ seed, serviceKills: escrow.kills >= 2, databaseKills: databaseServer.kills >= 1 }).toEqual({ seed, serviceKills: true, databaseKills: true });

    // Recovery completes whatever a kill left between legs.
    let report = await retrying(() => ledger.call.getInvariants({}));
    for (let waited = 0; report.totals.some((total) => total.inFlightMinor !== 0n) && waited < 30_000; waited += 200) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      report = await retrying(() => ledger.call.getInvariants({}));
    }
    expect({ seed, conserved: report.conserved, negative: report.negativeAccounts }).toEqual({ seed, conserved: true, negative: [] });
    expect(report.totals.find((total) => total.currency === 'CNY')).toMatchObject({ balancesMinor: 0n, inFlightMinor: 0n });

    const postedPerBacker = [...Array(holdsPerBacker).keys()].reduce((sum, hold) => sum + (hold % 3 === 0 ? 0n : hold % 3 === 1 ? holdMinor : 600n), 0n);
    for (let backer = 0; backer < backers; backer += 1) {
      const balance = await retrying(() => ledger.call.getBalance({ accountId: `wallet:pt_crash_${backer}:CNY` }));
      expect({ backer, available: balance.available?.amountMinor, held: balance.held?.amountMinor }).toEqual({
        backer,
        available: depositMinor * BigInt(depositsPerBacker) - withdrawalMinor - postedPerBacker,
        held: 0n,
      });
    }
    const escrowBalance = await retrying(() => ledger.call.getBalance({ accountId: escrowAccountId }));
    expect(escrowBalance.available?.amountMinor).toBe(postedPerBacker * BigInt(backers));

    // Every pending transfer resolved exactly once: one release leg each, none left pending.
    const mongo = await connectMongo(databaseServer.mongoUrl, database);
    for (let backer = 0; backer < backers; backer += 1) {
      for (let hold = 0; hold < holdsPerBacker; hold += 1) {
        const transferId = `pl_${backer}_${hold}`;
        await expect(legsApplied(mongo, `wallet:pt_crash_${backer}:CNY`, transferId, 'release')).resolves.toBe(1);
        await expect(legsApplied(mongo, `wallet:pt_crash_${backer}:CNY`, transferId, 'hold')).resolves.toBe(1);
        const transfer = await retrying(() => ledger.call.getTransfer({ transferId }));
        expect(transfer.state).toBe(hold % 3 === 0 ? 'voided' : 'posted');
      }
    }

    // No event lost: every deposit and withdrawal reached the topic (duplicates are allowed, losses are not).
    const seen = new Map<string, number>();
    const consumer = new EventConsumer({
      kafka: createKafka({ brokers: infrastructure.kafkaBrokers, clientId: 'crash-test-reader', logger }),
      groupId: `${topicPrefix}reader`,
      topics: [eventsTopic('escrow', topicPrefix)],
      processedEvents: new MongoProcessedEventStore(mongo),
      logger,
      handler: async ({ envelope }) => void seen.set(envelope.type, (seen.get(envelope.type) ?? 0) + 1),
    });
    await consumer.start();
    const expected = {
      DepositReceived: backers * depositsPerBacker,
      WithdrawalCompleted: backers,
      TransferPending: backers * holdsPerBacker,
      TransferVoided: backers * (holdsPerBacker / 3),
      // Deposits, posted holds and withdrawals.
      TransferPosted: backers * (depositsPerBacker + (holdsPerBacker * 2) / 3 + 1),
    };
    const complete = () => Object.entries(expected).every(([type, count]) => (seen.get(type) ?? 0) >= count);
    for (let waited = 0; !complete() && waited < 30_000; waited += 200) await new Promise((resolve) => setTimeout(resolve, 200));
    await consumer.stop();
    expect(Object.fromEntries(seen)).toEqual(expected);

    await escrow.stop();
    wallet.close();
    ledger.close();
    await mongo.db.dropDatabase();
    await mongo.close();
    await databaseServer.stop();
  });
});

/** How many times a leg is on record: in the journal, or still on its account waiting to be copied there. */
async function legsApplied(mongo: MongoConnection, accountId: string, transferId: string, leg: string): Promise<number> {
  const journaled = await mongo.collection('ledger_entries').countDocuments({ transferId, leg, accountId });
  const account = await mongo.collection<{ _id: string; unjournaled: { transferId: string; leg: string }[] }>('ledger_accounts').findOne({ _id: accountId });
  return journaled + (account?.unjournaled.filter((entry) => entry.transferId === transferId && entry.leg === leg).length ?? 0);
}
