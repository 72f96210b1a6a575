/** Starts a real escrow service for a test file and gives typed clients and money helpers. */
import { createGrpcClient, type CallerIdentity, type Clock, type ParticipantRole } from '@sizhong/kit';
import { escrowV1 } from '@sizhong/proto';
import { eventually, startTestService } from '@sizhong/testkit';
import { signPayload } from '../src/app/payment-provider';
import { escrowConfigShape } from '../src/config';
import { escrowService, type RunningEscrow } from '../src/escrow-service';

export const webhookSecret = 'test-webhook-secret-0123456789abcdef';

export interface EscrowHarness {
  readonly escrow: RunningEscrow;
  readonly database: string;
  readonly topicPrefix: string;
  readonly wallet: ReturnType<typeof createGrpcClient<typeof escrowV1.WalletServiceService>>;
  readonly ledger: ReturnType<typeof createGrpcClient<typeof escrowV1.LedgerServiceService>>;
  readonly campaigns: ReturnType<typeof createGrpcClient<typeof escrowV1.CampaignServiceService>>;
  deposit(participantId: string, amountMinor: bigint): Promise<void>;
  available(participantId: string): Promise<bigint>;
  stop(): Promise<void>;
}

export function participant(participantId: string, ...roles: ParticipantRole[]): CallerIdentity {
  return { participantId, roles };
}

let depositSequence = 0;

/** A replica of another harness: pass its `ESCROW_DATABASE` and `KAFKA_TOPIC_PREFIX`; `clock` gives a replica its own time. */
export async function startEscrowHarness(label: string, overrides: Record<string, string> = {}, options: { clock?: Clock } = {}): Promise<EscrowHarness> {
  const service = await startTestService(escrowService, escrowConfigShape, { label, environment: { PSP_WEBHOOK_SECRET: webhookSecret, ...overrides }, ...(options.clock ? { clock: options.clock } : {}) });
  const escrow: RunningEscrow = { ...service, ...service.exposed };
  const { database, topicPrefix } = service;
  const wallet = createGrpcClient(escrowV1.WalletServiceService, escrow.address, { deadlineMs: 30_000 });
  const ledger = createGrpcClient(escrowV1.LedgerServiceService, escrow.address, { deadlineMs: 30_000 });
  // Generous: the 500-pledge test queues every pledge on one campaign, and CI machines are busy.
  const campaigns = createGrpcClient(escrowV1.CampaignServiceService, escrow.address, { deadlineMs: 150_000 });
  return {
    escrow,
    database,
    topicPrefix,
    wallet,
    ledger,
    campaigns,
    async deposit(participantId, amountMinor) {
      depositSequence += 1;
      const body = Buffer.from(JSON.stringify({ id: `evt_${label}_${depositSequence}_${participantId}`, type: 'deposit.succeeded', participantId, amount: { currency: 'CNY', amountMinor: String(amountMinor) } }));
      await wallet.call.applyPaymentProviderEvent({ body, signature: signPayload(new TextEncoder().encode(webhookSecret), body, Math.floor(Date.now() / 1000)) });
    },
    async available(participantId) {
      const balance = await wallet.call.getWallet({ currency: 'CNY' }, { identity: participant(participantId, 'backer') });
      expect(balance.held?.amountMinor).toBe(0n);
      return balance.available?.amountMinor ?? 0n;
    },
    async stop() {
      wallet.close();
      ledger.close();
      campaigns.close();
      await service.stop();
    },
  };
}

export { eventually };

export interface TestCampaignOptions {
  readonly goal: bigint;
  readonly model?: string;
  readonly endsInMs: number;
  /** After the deadline, when delivery is promised (default 60 s). */
  readonly deliveryAfterMs?: number;
  readonly tiers?: escrowV1.TierInput[];
  readonly milestones?: escrowV1.MilestoneInput[];
}

/** Creates a campaign as `owner` and launches it; both answers, so a test can check each. */
export async function createAndLaunchCampaign(campaigns: EscrowHarness['campaigns'], owner: CallerIdentity, key: string, options: TestCampaignOptions): Promise<{ created: escrowV1.Campaign; live: escrowV1.Campaign }> {
  const now = Date.now();
  const created = await campaigns.call.createCampaign(
    {
      idempotencyKey: key,
      title: `Campaign ${key}`,
      description: 'A product worth backing',
      goal: { currency: 'CNY', amountMinor: options.goal },
      fundingModel: options.model ?? 'all_or_nothing',
      endsAt: new Date(now + options.endsInMs),
      deliveryDate: new Date(now + options.endsInMs + (options.deliveryAfterMs ?? 60_000)),
      tiers: options.tiers ?? [{ title: 'Early bird', price: { currency: 'CNY', amountMinor: 1_000n }, quantity: 100 }],
      milestones: options.milestones ?? [],
    },
    { identity: owner },
  );
  const live = await campaigns.call.launchCampaign({ campaignId: created.id }, { identity: owner });
  return { created, live };
}
