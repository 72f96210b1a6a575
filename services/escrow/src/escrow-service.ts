/**
 * Wiring of the escrow service: storage, use cases, the outbox relay, the scheduler, recovery and
 * the gRPC server. main.ts calls it with the configuration; integration tests call it directly.
 */
import { hostname } from 'node:os';
import {
  AggregateStore,
  type Clock,
  connectMongo,
  createKafka,
  createLogger,
  defaultDataDirectory,
  ensureTopics,
  eventsTopic,
  GrpcServer,
  type Logger,
  OutboxRelay,
  resolveLocalSecret,
  Scheduler,
  systemClock,
} from '@sizhong/kit';
import { escrowV1 } from '@sizhong/proto';
import { Campaigns, campaignJobKinds } from './app/campaigns';
import { Ledger } from './app/ledger';
import { Wallets } from './app/wallets';
import { createDepositStore, createWithdrawalStore } from './storage/wallet-records';
import { escrowServiceName } from './app/events';
import type { EscrowConfig } from './config';
import { externalAccount, feeAccount } from './domain/ledger/account';
import { assertCampaignPolicy, type CampaignPolicy, defaultCampaignPolicy } from './domain/campaign';
import type { Transfer } from './domain/ledger/transfer';
import { AccountStore } from './storage/account-store';
import { BackerPositions, createCampaignStore, createPledgeStore } from './storage/campaign-store';
import { transferCodec } from './storage/transfer-codec';
import { campaignServiceHandlers } from './transport/grpc/campaign-service';
import { ledgerServiceHandlers } from './transport/grpc/ledger-service';
import { walletServiceHandlers } from './transport/grpc/wallet-service';

export const pspWebhookSecretFileName = 'psp-webhook-secret';
/** Currencies whose platform accounts are opened at start. */
export const platformCurrencies = ['CNY', 'USD'] as const;

export interface RunningEscrow {
  readonly address: string;
  readonly port: number;
  readonly ledger: Ledger;
  readonly wallets: Wallets;
  readonly campaigns: Campaigns;
  stop(): Promise<void>;
}

export async function startEscrow(config: EscrowConfig, options: { clock?: Clock; logger?: Logger } = {}): Promise<RunningEscrow> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ service: escrowServiceName, level: config.LOG_LEVEL });
  if (!config.MONGO_URL) throw new Error('MONGO_URL is required');
  if (!config.KAFKA_BROKERS?.length) throw new Error('KAFKA_BROKERS is required');

  const mongo = await connectMongo(config.MONGO_URL, config.ESCROW_DATABASE);
  const kafka = createKafka({ brokers: config.KAFKA_BROKERS, clientId: escrowServiceName, logger });
  await ensureTopics(kafka, [eventsTopic(escrowServiceName, config.KAFKA_TOPIC_PREFIX)]);
  const producer = kafka.producer({ allowAutoTopicCreation: true });
  await producer.connect();

  const accounts = new AccountStore(mongo, logger);
  const transfers = new AggregateStore<Transfer>(mongo, 'transfers', transferCodec, logger, { indexes: [{ 'state.state': 1, 'state.timeoutAt': 1 }] });
  const deposits = createDepositStore(mongo, logger);
  const withdrawals = createWithdrawalStore(mongo, logger);
  const campaignStore = createCampaignStore(mongo, logger);
  const pledgeStore = createPledgeStore(mongo, logger);
  const positions = new BackerPositions(mongo);
  for (const store of [accounts, transfers, deposits, withdrawals, campaignStore, pledgeStore, positions]) await store.ensureIndexes();
  // Entries a previous process applied but did not copy into the journal.
  await accounts.journalLeftovers();
  const policy: CampaignPolicy = {
    ...defaultCampaignPolicy,
    durationMinMs: config.DEADLINE_MIN_MS,
    durationMaxMs: config.CAMPAIGN_DURATION_MAX_MS,
    lastCallMs: config.CAMPAIGN_LAST_CALL_MS,
    milestoneSilenceMs: config.MILESTONE_SILENCE_MS,
    deliveryGraceMs: Math.min(defaultCampaignPolicy.deliveryGraceMs, Math.floor(config.MILESTONE_SILENCE_MS / 2)),
  };
  assertCampaignPolicy(policy);
  const ledger = new Ledger({ accounts, transfers, clock, topicPrefix: config.KAFKA_TOPIC_PREFIX, recoveryAgeMs: config.TRANSFER_RECOVERY_AGE_MS });
  const scheduler = new Scheduler({
    mongo,
    name: 'escrow',
    owner: `${hostname()}:${process.pid}`,
    clock,
    logger,
    intervalMs: config.SCHEDULER_INTERVAL_MS,
    leaseMs: config.SCHEDULER_LEASE_MS,
  });
  await scheduler.ensureIndexes();
  for (const currency of platformCurrencies) {
    await ledger.openAccount(feeAccount(currency));
    await ledger.openAccount(externalAccount('psp', currency));
  }

  const webhookSecret = resolveLocalSecret({
    configured: config.PSP_WEBHOOK_SECRET,
    dataDirectory: defaultDataDirectory(),
    fileName: pspWebhookSecretFileName,
    lengthMin: 32,
  }).secret;
  const wallets = new Wallets({ ledger, deposits, withdrawals, clock, webhookSecret, topicPrefix: config.KAFKA_TOPIC_PREFIX });

  const campaigns = new Campaigns({ campaigns: campaignStore, pledges: pledgeStore, positions, ledger, scheduler, clock, policy, feeBps: config.PLATFORM_FEE_BPS, topicPrefix: config.KAFKA_TOPIC_PREFIX });
  // The campaigns schedule their deadlines through the scheduler, which hands the due ones back.
  scheduler
    .handle(campaignJobKinds.settle, async (job) => void (await campaigns.settle(String(job.payload['campaignId']))))
    .handle(campaignJobKinds.advance, async (job) => void (await campaigns.advance(String(job.payload['campaignId']))));
  const relay = new OutboxRelay({ stores: [transfers, deposits, withdrawals, campaignStore, pledgeStore] as AggregateStore<unknown>[], producer, logger });
  relay.start();
  scheduler.start();
  const recovery = setInterval(() => {
    ledger.recover().catch((error: unknown) => logger.error({ err: error }, 'transfer recovery failed'));
  }, config.RECOVERY_INTERVAL_MS);
  recovery.unref();

  const server = await new GrpcServer({ logger, host: config.GRPC_HOST, port: config.GRPC_PORT })
    .addService(escrowV1.LedgerServiceService, ledgerServiceHandlers(ledger, clock))
    .addService(escrowV1.WalletServiceService, walletServiceHandlers(wallets))
    .addService(escrowV1.CampaignServiceService, campaignServiceHandlers(campaigns))
    .start();
  logger.info({ address: server.address }, 'escrow listening');

  return {
    address: server.address,
    port: server.port,
    ledger,
    wallets,
    campaigns,
    stop: async () => {
      clearInterval(recovery);
      await server.shutdown();
      await scheduler.stop();
      await relay.stop();
      await accounts.flush();
      await producer.disconnect();
      await mongo.close();
    },
  };
}
