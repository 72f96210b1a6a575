// Proves the escrow service through real gRPC on 127.0.0.1:0: signed deposits applied once, forged and stale
// webhooks refused, wallets private to their owner, withdrawals idempotent, DepositReceived published, invariants.
import { createGrpcClient, createKafka, EventConsumer, eventsTopic, loadConfig, MongoProcessedEventStore, connectMongo, type MongoConnection } from '@sizhong/kit';
import { escrowV1 } from '@sizhong/proto';
import { testDatabaseName, testInfrastructure, testTopicPrefix } from '@sizhong/testkit';
import pino from 'pino';
import { depositAmountMinorMax, signPayload, signatureToleranceMs } from '../src/app/payment-provider';
import { escrowConfigShape } from '../src/config';
import { startEscrow, type RunningEscrow } from '../src/escrow-service';

const secret = 'test-webhook-secret-0123456789abcdef';
const logger = pino({ level: 'silent' });
let escrow: RunningEscrow;
let database: string;
let topicPrefix: string;
const alice = { participantId: 'pt_alice', roles: ['backer' as const] };
const bob = { participantId: 'pt_bob', roles: ['backer' as const] };
const regulator = { participantId: 'pt_reg', roles: ['regulator' as const] };

beforeAll(async () => {
  const infrastructure = testInfrastructure();
  database = testDatabaseName('escrow');
  topicPrefix = testTopicPrefix('escrow');
  const config = loadConfig(escrowConfigShape, {
    MONGO_URL: infrastructure.mongoUrl,
    KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
    ESCROW_DATABASE: database,
    KAFKA_TOPIC_PREFIX: topicPrefix,
    PSP_WEBHOOK_SECRET: secret,
    GRPC_PORT: '0',
    LOG_LEVEL: 'silent',
  });
  escrow = await startEscrow(config, { logger });
});

afterAll(async () => {
  await escrow.stop();
  const mongo = await connectMongo(testInfrastructure().mongoUrl, database);
  await mongo.db.dropDatabase();
  await mongo.close();
});

function webhook(event: object, at = new Date()) {
  const body = Buffer.from(JSON.stringify(event));
  return { body, signature: signPayload(new TextEncoder().encode(secret), body, Math.floor(at.getTime() / 1000)) };
}

describe('escrow gRPC service', () => {
  it('applies a signed deposit once, however often the provider retries it', async () => {
    const wallet = createGrpcClient(escrowV1.WalletServiceService, escrow.address);
    const deposit = { id: 'evt_1', type: 'deposit.succeeded', participantId: 'pt_alice', amount: { currency: 'CNY', amountMinor: '10000' } };
    await expect(wallet.call.applyPaymentProviderEvent(webhook(deposit))).resolves.toMatchObject({ eventId: 'evt_1', outcome: 'applied' });
    await expect(wallet.call.applyPaymentProviderEvent(webhook(deposit))).resolves.toMatchObject({ outcome: 'already_applied' });
    await expect(wallet.call.getWallet({ currency: 'CNY' }, { identity: alice })).resolves.toEqual({
      accountId: 'wallet:pt_alice:CNY',
      available: { currency: 'CNY', amountMinor: 10_000n },
      held: { currency: 'CNY', amountMinor: 0n },
    });
    const entries = await wallet.call.listWalletEntries({ currency: 'CNY' }, { identity: alice });
    expect(entries.entries).toHaveLength(1);
    wallet.close();
  });

  it('refuses a deposit in a currency the platform does not hold, or above the largest deposit, and moves no money', async () => {
    const wallet = createGrpcClient(escrowV1.WalletServiceService, escrow.address);
    const foreign = { id: 'evt_xyz', type: 'deposit.succeeded', participantId: 'pt_dora', amount: { currency: 'XYZ', amountMinor: '100' } };
    await expect(wallet.call.applyPaymentProviderEvent(webhook(foreign))).rejects.toMatchObject({ code: 'CURRENCY_MISMATCH' });
    const huge = { id: 'evt_huge', type: 'deposit.succeeded', participantId: 'pt_dora', amount: { currency: 'CNY', amountMinor: String(depositAmountMinorMax + 1n) } };
    await expect(wallet.call.applyPaymentProviderEvent(webhook(huge))).rejects.toMatchObject({ code: 'LIMIT_EXCEEDED' });
    const largest = { ...huge, id: 'evt_largest', amount: { currency: 'CNY', amountMinor: String(depositAmountMinorMax) } };
    await expect(wallet.call.applyPaymentProviderEvent(webhook(largest))).resolves.toMatchObject({ outcome: 'applied' });
    await expect(wallet.call.getWallet({ currency: 'CNY' }, { identity: { participantId: 'pt_dora', roles: ['backer'] } })).resolves.toMatchObject({ available: { currency: 'CNY', amountMinor: depositAmountMinorMax } });
    wallet.close();
  });

  it('refuses forged, tampered and stale signatures, and moves no money', async () => {
    const wallet = createGrpcClient(escrowV1.WalletServiceService, escrow.address);
    const event = { id: 'evt_forged', type: 'deposit.succeeded', participantId: 'pt_bob', amount: { currency: 'CNY', amountMinor: '5000' } };
    const signed = webhook(event);
    const tampered = { body: Buffer.from(JSON.stringify({ ...event, amount: { currency: 'CNY', amountMinor: '5000000' } })), signature: signed.signature };
    const forged = { body: signed.body, signature: signPayload(new TextEncoder().encode('not-the-secret-0123456789abcdefgh'), signed.body, Math.floor(Date.now() / 1000)) };
    const stale = webhook(event, new Date(Date.now() - signatureToleranceMs - 1_000));
    for (const attempt of [tampered, forged, stale, { body: signed.body, signature: 'garbage' }]) {
      await expect(wallet.call.applyPaymentProviderEvent(attempt)).rejects.toMatchObject({ code: 'SIGNATURE_INVALID' });
    }
    await expect(wallet.call.getWallet({ currency: 'CNY' }, { identity: bob })).resolves.toMatchObject({ available: { amountMinor: 0n } });
    wallet.close();
  });

  it('keeps wallets private: a participant only ever sees their own', async () => {
    const wallet = createGrpcClient(escrowV1.WalletServiceService, escrow.address);
    await expect(wallet.call.getWallet({ currency: 'CNY' })).rejects.toMatchObject({ code: 'UNAUTHENTICATED' });
    await expect(wallet.call.getWallet({ currency: 'CNY' }, { identity: bob })).resolves.toMatchObject({ accountId: 'wallet:pt_bob:CNY' });
    wallet.close();
  });

  it('withdraws once per idempotency key and refuses an overdraft', async () => {
    const wallet = createGrpcClient(escrowV1.WalletServiceService, escrow.address);
    const request = { idempotencyKey: 'wd-1', amount: { currency: 'CNY', amountMinor: 2_500n } };
    const first = await wallet.call.requestWithdrawal(request, { identity: alice });
    expect(first).toMatchObject({ state: 'completed', amount: { amountMinor: 2_500n } });
    await expect(wallet.call.requestWithdrawal(request, { identity: alice })).resolves.toEqual(first);
    await expect(wallet.call.requestWithdrawal({ ...request, amount: { currency: 'CNY', amountMinor: 1n } }, { identity: alice })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    await expect(wallet.call.requestWithdrawal({ idempotencyKey: 'wd-2', amount: { currency: 'CNY', amountMinor: 1_000_000n } }, { identity: alice })).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    await expect(wallet.call.getWallet({ currency: 'CNY' }, { identity: alice })).resolves.toMatchObject({ available: { amountMinor: 7_500n } });
    wallet.close();
  });

  it('reports conserved money to regulators and refuses other participants', async () => {
    const ledger = createGrpcClient(escrowV1.LedgerServiceService, escrow.address);
    const report = await ledger.call.getInvariants({}, { identity: regulator });
    expect(report.conserved).toBe(true);
    expect(report.negativeAccounts).toEqual([]);
    expect(report.totals.find((total) => total.currency === 'CNY')).toMatchObject({ balancesMinor: 0n, inFlightMinor: 0n });
    await expect(ledger.call.getInvariants({}, { identity: alice })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    ledger.close();
  });

  it('publishes DepositReceived once per applied deposit through the outbox', async () => {
    // The deposits applied by the tests above: alice's evt_1 and dora's largest one.
    const depositsApplied = 2;
    const mongo: MongoConnection = await connectMongo(testInfrastructure().mongoUrl, `${database}_c`.slice(0, 38));
    const seen: string[] = [];
    const consumer = new EventConsumer({
      kafka: createKafka({ brokers: testInfrastructure().kafkaBrokers, clientId: 'escrow-test', logger }),
      groupId: `${topicPrefix}reader`,
      topics: [eventsTopic('escrow', topicPrefix)],
      processedEvents: new MongoProcessedEventStore(mongo),
      logger,
      handler: async ({ envelope }) => void seen.push(envelope.type),
    });
    await consumer.start();
    const deadline = Date.now() + 20_000;
    while (!(seen.filter((type) => type === 'DepositReceived').length >= depositsApplied && seen.includes('WithdrawalCompleted')) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100));
    await consumer.stop();
    await mongo.db.dropDatabase();
    await mongo.close();
    expect(seen.filter((type) => type === 'DepositReceived')).toHaveLength(depositsApplied);
    expect(seen.filter((type) => type === 'WithdrawalCompleted')).toHaveLength(1);
  });
});
