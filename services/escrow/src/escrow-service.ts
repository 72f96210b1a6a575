/**
 * The escrow service as parts for the kit's service skeleton: its stores, the ledger, wallets and
 * campaigns, their scheduled deadlines, the recovery loop and the gRPC services. main.ts runs it;
 * integration tests start it in-process with `startEscrow`.
 */
import { AggregateStore, defaultDataDirectory, grpcService, resolveLocalSecret, type RunningService, type ServiceDefinition, startService, type StartServiceOptions } from '@sizhong/kit';
import { escrowV1 } from '@sizhong/proto';
import { Campaigns, campaignJobKinds } from './app/campaigns';
import { escrowServiceName } from './app/events';
import { Ledger } from './app/ledger';
import { Wallets } from './app/wallets';
import type { EscrowConfig } from './config';
import { assertCampaignPolicy, type CampaignPolicy, defaultCampaignPolicy } from './domain/campaign';
import { externalAccount, feeAccount, platformCurrencies } from './domain/ledger/account';
import type { Transfer } from './domain/ledger/transfer';
import { AccountStore } from './storage/account-store';
import { BackerPositions, createCampaignStore, createPledgeStore } from './storage/campaign-store';
import { transferCodec } from './storage/transfer-codec';
import { createDepositStore, createWithdrawalStore } from './storage/wallet-records';
import { campaignServiceHandlers } from './transport/grpc/campaign-service';
import { ledgerServiceHandlers } from './transport/grpc/ledger-service';
import { walletServiceHandlers } from './transport/grpc/wallet-service';

export const pspWebhookSecretFileName = 'psp-webhook-secret';
/** Currencies whose platform accounts are opened at start. */
export { platformCurrencies };

/** What tests and benchmarks reach in-process. */
export interface EscrowUseCases {
  readonly ledger: Ledger;
  readonly wallets: Wallets;
  readonly campaigns: Campaigns;
}

export type RunningEscrow = RunningService<EscrowUseCases> & EscrowUseCases;

function campaignPolicy(config: EscrowConfig): CampaignPolicy {
  const policy: CampaignPolicy = {
    ...defaultCampaignPolicy,
    durationMinMs: config.DEADLINE_MIN_MS,
    durationMaxMs: config.CAMPAIGN_DURATION_MAX_MS,
    lastCallMs: config.CAMPAIGN_LAST_CALL_MS,
    milestoneSilenceMs: config.MILESTONE_SILENCE_MS,
    deliveryGraceMs: Math.min(defaultCampaignPolicy.deliveryGraceMs, Math.floor(config.MILESTONE_SILENCE_MS / 2)),
  };
  assertCampaignPolicy(policy);
  return policy;
}

export const escrowService: ServiceDefinition<EscrowConfig, EscrowUseCases> = {
  name: escrowServiceName,
  databaseName: (config) => config.ESCROW_DATABASE,
  async build({ config, clock, logger, mongo, scheduler, sagas }) {
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

    const ledger = new Ledger({ accounts, transfers, clock, topicPrefix: config.KAFKA_TOPIC_PREFIX, recoveryAgeMs: config.TRANSFER_RECOVERY_AGE_MS });
    for (const currency of platformCurrencies) {
      await ledger.openAccount(feeAccount(currency));
      await ledger.openAccount(externalAccount('psp', currency));
    }
    const webhookSecret = resolveLocalSecret({ configured: config.PSP_WEBHOOK_SECRET, dataDirectory: defaultDataDirectory(), fileName: pspWebhookSecretFileName, lengthMin: 32 }).secret;
    const wallets = new Wallets({ ledger, deposits, withdrawals, clock, webhookSecret, topicPrefix: config.KAFKA_TOPIC_PREFIX });
    const campaigns = new Campaigns({
      campaigns: campaignStore,
      pledges: pledgeStore,
      positions,
      ledger,
      scheduler,
      clock,
      policy: campaignPolicy(config),
      feeBps: config.PLATFORM_FEE_BPS,
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
      sagas,
      recoveryAgeMs: config.CAMPAIGN_RECOVERY_AGE_MS,
      logger,
    });
    // The campaigns schedule their deadlines through the scheduler, which hands the due ones back.
    scheduler
      .handle(campaignJobKinds.settle, async (job) => void (await campaigns.settle(String(job.payload['campaignId']))))
      .handle(campaignJobKinds.advance, async (job) => void (await campaigns.advance(String(job.payload['campaignId']), job.id)));

    return {
      grpc: [
        grpcService(escrowV1.LedgerServiceService, ledgerServiceHandlers(ledger, clock)),
        grpcService(escrowV1.WalletServiceService, walletServiceHandlers(wallets)),
        grpcService(escrowV1.CampaignServiceService, campaignServiceHandlers(campaigns)),
      ],
      outboxes: [transfers, deposits, withdrawals, campaignStore, pledgeStore] as AggregateStore<unknown>[],
      loops: [
        { name: 'transfer recovery', intervalMs: config.RECOVERY_INTERVAL_MS, run: () => ledger.recover() },
        { name: 'campaign recovery', intervalMs: config.CAMPAIGN_RECOVERY_INTERVAL_MS, run: () => campaigns.recover() },
      ],
      // Entries still waiting for the journal are copied before the connection closes.
      stop: () => accounts.flush(),
      exposed: { ledger, wallets, campaigns },
    };
  },
};

/** Starts escrow in this process (integration tests, benchmarks). */
export async function startEscrow(config: EscrowConfig, options: StartServiceOptions = {}): Promise<RunningEscrow> {
  const running = await startService(escrowService, config, options);
  return { ...running, ...running.exposed };
}
