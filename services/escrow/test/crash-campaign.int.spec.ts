// Proves a crowdfunding campaign survives SIGKILLs of the service and of its database server during concurrent
// pledges, cancellations and its own settlement: after restarts the campaign is delivered with exact wallets, fee
// and payout, no tier oversold, every hold resolved once, money conserved and every event published.
import { connectMongo, createGrpcClient, createKafka, EventConsumer, eventsTopic, MongoProcessedEventStore } from '@sizhong/kit';
import { escrowV1 } from '@sizhong/proto';
import { testDatabaseName, testInfrastructure, testTopicPrefix } from '@sizhong/testkit';
import pino from 'pino';
import { signPayload } from '../src/app/payment-provider';
import { CrashableMongo, retrying, seededRandom, ServiceProcess } from './crash-harness';

jest.setTimeout(300_000);

const secret = 'crash-test-webhook-secret-0123456789';
const backers = 6;
const pledgesPerBacker = 3;
const pledgeMinor = 1_000n;
const depositMinor = 10_000n;

describe('a campaign under SIGKILL', () => {
  it('settles exactly once with exact money after crashes during pledges, cancellations and settlement', async () => {
    const seed = Number(process.env['CRASH_TEST_SEED'] ?? Date.now() % 1_000_000);
    const random = seededRandom(seed);
    const infrastructure = testInfrastructure();
    const database = testDatabaseName('crash_campaign');
    const topicPrefix = testTopicPrefix('crash-campaign');
    const databaseServer = await CrashableMongo.start();
    const escrow = await ServiceProcess.create('escrow', {
      MONGO_URL: databaseServer.mongoUrl,
      KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
      ESCROW_DATABASE: database,
      KAFKA_TOPIC_PREFIX: topicPrefix,
      PSP_WEBHOOK_SECRET: secret,
      RECOVERY_INTERVAL_MS: '300',
      TRANSFER_RECOVERY_AGE_MS: '500',
      SCHEDULER_INTERVAL_MS: '200',
      SCHEDULER_LEASE_MS: '2000',
      DEADLINE_MIN_MS: '1000',
      CAMPAIGN_LAST_CALL_MS: '1000',
      PLATFORM_FEE_BPS: '500',
    });
    escrow.start();
    const wallet = createGrpcClient(escrowV1.WalletServiceService, escrow.address, { deadlineMs: 5_000 });
    const ledger = createGrpcClient(escrowV1.LedgerServiceService, escrow.address, { deadlineMs: 5_000 });
    const campaigns = createGrpcClient(escrowV1.CampaignServiceService, escrow.address, { deadlineMs: 10_000 });
    const creator = { participantId: 'pt_cc_creator', roles: ['creator' as const] };
    const backer = (index: number) => ({ participantId: `pt_cc_${index}`, roles: ['backer' as const] });

    for (let index = 0; index < backers; index += 1) {
      const body = Buffer.from(JSON.stringify({ id: `evt_cc_${index}`, type: 'deposit.succeeded', participantId: backer(index).participantId, amount: { currency: 'CNY', amountMinor: String(depositMinor) } }));
      await retrying(() => wallet.call.applyPaymentProviderEvent({ body, signature: signPayload(new TextEncoder().encode(secret), body, Math.floor(Date.now() / 1000)) }));
    }
    // Long enough for the pledges and cancellations to finish through several restarts of the service and of
    // its database (each costs a few seconds, more on a busy machine).
    const endsAt = new Date(Date.now() + 45_000);
    const draft = await retrying(() =>
      campaigns.call.createCampaign(
        {
          idempotencyKey: 'crash-campaign',
          title: 'Crash-proof kettle',
          description: 'Boils through anything',
          goal: { currency: 'CNY', amountMinor: 5_000n },
          fundingModel: 'keep_it_all',
          endsAt,
          deliveryDate: new Date(endsAt.getTime() + 60_000),
          tiers: [{ title: 'Kettle', price: { currency: 'CNY', amountMinor: pledgeMinor }, quantity: 1_000 }],
          milestones: [],
        },
        { identity: creator },
      ),
    );
    const campaign = await retrying(() => campaigns.call.launchCampaign({ campaignId: draft.id }, { identity: creator }));
    const tierId = campaign.tiers[0]!.id;

    let settled = false;
    const chaos = Promise.all([escrow.chaos(random, 5, () => settled, { min: 1_500, max: 6_000 }), databaseServer.chaos(random, 3, () => settled, { min: 2_000, max: 7_000 })]);
    try {
      await Promise.all(
        Array.from({ length: backers }, async (_, index) => {
          const pledgeIds: string[] = [];
          for (let pledge = 0; pledge < pledgesPerBacker; pledge += 1) {
            const placed = await retrying(() =>
              campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: `p${pledge}`, tierId, amount: { currency: 'CNY', amountMinor: pledgeMinor } }, { identity: backer(index) }),
            );
            pledgeIds.push(placed.id);
          }
          await retrying(() => campaigns.call.cancelPledge({ pledgeId: pledgeIds[0]! }, { identity: backer(index) }));
        }),
      );
      // Settlement runs at endsAt, with the kills still going on.
      const final = await retrying(async () => {
        const current = await campaigns.call.getCampaign({ campaignId: campaign.id }, { identity: creator });
        if (current.state !== 'delivered') throw Object.assign(new Error(`still ${current.state}`), { code: 'UNAVAILABLE' });
        return current;
      }).catch(async (error: unknown) => {
        // retrying() only retries DomainErrors: poll by hand instead.
        for (let waited = 0; waited < 90_000; waited += 250) {
          const current = await retrying(() => campaigns.call.getCampaign({ campaignId: campaign.id }, { identity: creator }));
          if (current.state === 'delivered') return current;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
        throw error;
      });
      settled = true;
      await chaos;
      const collected = pledgeMinor * BigInt(backers * (pledgesPerBacker - 1));
      const fee = (collected * 500n) / 10_000n;
      expect({ seed, state: final.state, payout: final.payout }).toEqual({
        seed,
        state: 'delivered',
        payout: { collected: { currency: 'CNY', amountMinor: collected }, fee: { currency: 'CNY', amountMinor: fee }, net: { currency: 'CNY', amountMinor: collected - fee } },
      });
    } catch (error) {
      settled = true;
      await chaos;
      const log = escrow.recentLog;
      await escrow.stop();
      await databaseServer.stop();
      throw new Error(`seed ${seed}: ${(error as Error).message}\n${log}`);
    }
    expect({ seed, serviceKills: escrow.kills >= 2, databaseKills: databaseServer.kills >= 1 }).toEqual({ seed, serviceKills: true, databaseKills: true });

    // Recovery finishes whatever a kill left between legs.
    let report = await retrying(() => ledger.call.getInvariants({}));
    for (let waited = 0; report.totals.some((total) => total.inFlightMinor !== 0n) && waited < 30_000; waited += 200) {
      await new Promise((resolve) => setTimeout(resolve, 200));
      report = await retrying(() => ledger.call.getInvariants({}));
    }
    expect({ conserved: report.conserved, negative: report.negativeAccounts }).toEqual({ conserved: true, negative: [] });
    const balance = async (accountId: string) => (await retrying(() => ledger.call.getBalance({ accountId }))).available?.amountMinor;
    for (let index = 0; index < backers; index += 1) {
      expect(await balance(`wallet:${backer(index).participantId}:CNY`)).toBe(depositMinor - pledgeMinor * BigInt(pledgesPerBacker - 1));
    }
    const collected = pledgeMinor * BigInt(backers * (pledgesPerBacker - 1));
    expect(await balance(`wallet:${creator.participantId}:CNY`)).toBe(collected - (collected * 500n) / 10_000n);
    expect(await balance(`escrow:campaign:${campaign.id}:CNY`)).toBe(0n);
    const pledges = await retrying(() => campaigns.call.listCampaignPledges({ campaignId: campaign.id, page: { limit: 100, cursor: '' } }, { identity: creator }));
    const states = pledges.pledges.reduce<Record<string, number>>((tally, pledge) => ({ ...tally, [pledge.state]: (tally[pledge.state] ?? 0) + 1 }), {});
    expect(states).toEqual({ collected: backers * (pledgesPerBacker - 1), cancelled: backers });
    // No unit sold twice: the tier's stock went down by exactly the pledges that stand.
    const after = await retrying(() => campaigns.call.getCampaign({ campaignId: campaign.id }, { identity: creator }));
    expect(after.tiers[0]?.remaining).toBe(1_000 - backers * (pledgesPerBacker - 1));

    // Every hold resolved exactly once.
    const mongo = await connectMongo(databaseServer.mongoUrl, database);
    for (const pledge of pledges.pledges) {
      const journaled = await mongo.collection('ledger_entries').countDocuments({ transferId: pledge.transferId, leg: 'release' });
      const account = await mongo.collection<{ _id: string; unjournaled: { transferId: string; leg: string }[] }>('ledger_accounts').findOne({ _id: `wallet:${pledge.backerId}:CNY` });
      expect(journaled + (account?.unjournaled.filter((entry) => entry.transferId === pledge.transferId && entry.leg === 'release').length ?? 0)).toBe(1);
    }

    // No event lost (duplicates from crashes are deduped by the consumer).
    const seen = new Map<string, number>();
    const consumer = new EventConsumer({
      kafka: createKafka({ brokers: infrastructure.kafkaBrokers, clientId: 'crash-campaign-reader', logger: pino({ level: 'silent' }) }),
      groupId: `${topicPrefix}reader`,
      topics: [eventsTopic('escrow', topicPrefix)],
      processedEvents: new MongoProcessedEventStore(mongo),
      logger: pino({ level: 'silent' }),
      handler: async ({ envelope }) => void seen.set(envelope.type, (seen.get(envelope.type) ?? 0) + 1),
    });
    await consumer.start();
    const expected = {
      DepositReceived: backers,
      CampaignLaunched: 1,
      PledgePlaced: backers * pledgesPerBacker,
      PledgeCancelled: backers,
      PledgeCollected: backers * (pledgesPerBacker - 1),
      CampaignSucceeded: 1,
      CampaignDeliveryStarted: 1,
      CampaignPayoutReleased: 1,
      CampaignDelivered: 1,
      TransferPending: backers * pledgesPerBacker,
      TransferVoided: backers,
      // Deposits, collected pledges, the fee and the payout.
      TransferPosted: backers + backers * (pledgesPerBacker - 1) + 2,
    };
    for (let waited = 0; waited < 30_000 && Object.entries(expected).some(([type, count]) => (seen.get(type) ?? 0) < count); waited += 200) {
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    await consumer.stop();
    expect(Object.fromEntries(seen)).toEqual(expected);

    await escrow.stop();
    wallet.close();
    ledger.close();
    campaigns.close();
    await mongo.db.dropDatabase();
    await mongo.close();
    await databaseServer.stop();
  });
});
