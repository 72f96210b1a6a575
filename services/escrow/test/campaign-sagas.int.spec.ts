// Proves the campaign sagas cannot strand money under retries, clocks apart and configuration changes:
// a same-key retry after a compensated pledge answers its original refusal; a replica whose clock is
// behind cannot land a pledge after settlement closed the books; the fee is the one fixed at launch.
import { AggregateStore, createGrpcClient, type Clock } from '@sizhong/kit';
import { escrowV1 } from '@sizhong/proto';
import { createAndLaunchCampaign, type EscrowHarness, eventually, participant, startEscrowHarness } from './support';

jest.setTimeout(120_000);

const creator = participant('pt_saga_creator', 'creator');
const cny = (amountMinor: bigint) => ({ currency: 'CNY', amountMinor });

type CampaignClient = EscrowHarness['campaigns'];

async function launchCampaign(campaigns: CampaignClient, key: string, options: { goal: bigint; model?: string; endsInMs: number; tiers: escrowV1.TierInput[]; owner?: typeof creator }) {
  return (await createAndLaunchCampaign(campaigns, options.owner ?? creator, key, options)).live;
}

async function held(harness: EscrowHarness, participantId: string): Promise<bigint> {
  return (await harness.wallet.call.getWallet({ currency: 'CNY' }, { identity: participant(participantId, 'backer') })).held?.amountMinor ?? 0n;
}

describe('a same-key retry after a compensated pledge', () => {
  let harness: EscrowHarness;

  beforeAll(async () => {
    harness = await startEscrowHarness('campaign_retry', { DEADLINE_MIN_MS: '1000', CAMPAIGN_LAST_CALL_MS: '1000' });
  });

  afterAll(async () => {
    await harness.stop();
  });

  it('answers TIER_SOLD_OUT again after the unit was freed, holds nothing, and the campaign settles with exact wallets', async () => {
    const first = participant('pt_retry_first', 'backer');
    const second = participant('pt_retry_second', 'backer');
    await harness.deposit(first.participantId, 5_000n);
    await harness.deposit(second.participantId, 5_000n);
    const campaign = await launchCampaign(harness.campaigns, 'retry-sold-out', { goal: 1_000n, endsInMs: 6_000, tiers: [{ title: 'Only one', price: cny(1_000n), quantity: 1 }] });
    const tierId = campaign.tiers[0]!.id;
    const taken = await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'a', tierId, amount: cny(1_000n) }, { identity: first });
    const request = { campaignId: campaign.id, idempotencyKey: 'b', tierId, amount: cny(1_000n) };
    await expect(harness.campaigns.call.placePledge(request, { identity: second })).rejects.toMatchObject({ code: 'TIER_SOLD_OUT' });
    // The unit is freed by a cancellation; the refused request is retried under its key, as a phone on a bad network would.
    await harness.campaigns.call.cancelPledge({ pledgeId: taken.id }, { identity: first });
    await expect(harness.campaigns.call.placePledge(request, { identity: second })).rejects.toMatchObject({ code: 'TIER_SOLD_OUT' });
    expect(await held(harness, second.participantId)).toBe(0n);
    const live = await harness.campaigns.call.getCampaign({ campaignId: campaign.id });
    expect({ remaining: live.tiers[0]?.remaining, pledged: live.pledged?.amountMinor, pledges: live.pledgesCount }).toEqual({ remaining: 1, pledged: 0n, pledges: 0 });

    const settled = await eventually(() => harness.campaigns.call.getCampaign({ campaignId: campaign.id }), (current) => current.state === 'failed', 'the campaign settled as failed');
    expect(settled.pledgesCount).toBe(0);
    expect(await harness.available(first.participantId)).toBe(5_000n);
    expect(await harness.available(second.participantId)).toBe(5_000n);
    const invariants = await harness.ledger.call.getInvariants({});
    expect({ conserved: invariants.conserved, negative: invariants.negativeAccounts }).toEqual({ conserved: true, negative: [] });
  });
});

/** A replica's clock `offsetMs` away from the machine's. */
function offsetClock(offsetMs: number): Clock {
  return { now: () => new Date(Date.now() + offsetMs) };
}

/** Settings that make a harness another replica of `harness` (one database, one topic prefix). */
function replicaOf(harness: EscrowHarness): Record<string, string> {
  return { ESCROW_DATABASE: harness.database, KAFKA_TOPIC_PREFIX: harness.topicPrefix };
}

describe('two replicas on one database', () => {
  let settler: EscrowHarness;
  let lagging: EscrowHarness;
  let laggingCampaigns: CampaignClient;

  afterEach(async () => {
    laggingCampaigns?.close();
    await lagging?.stop();
    await settler?.stop();
  });

  it('with clocks 20 s apart at the deadline: no pledge lands after the books closed, the campaign settles exactly', async () => {
    // The settler runs the deadline; the lagging replica (clock 20 s behind, scheduler idle) takes pledges across it.
    settler = await startEscrowHarness('campaign_clocks', { DEADLINE_MIN_MS: '1000', CAMPAIGN_LAST_CALL_MS: '1000' });
    lagging = await startEscrowHarness('campaign_clocks', { ...replicaOf(settler), DEADLINE_MIN_MS: '1000', CAMPAIGN_LAST_CALL_MS: '1000', SCHEDULER_INTERVAL_MS: '3600000' }, { clock: offsetClock(-20_000) });
    laggingCampaigns = createGrpcClient(escrowV1.CampaignServiceService, lagging.escrow.address, { deadlineMs: 30_000 });
    const backers = Array.from({ length: 8 }, (_, index) => participant(`pt_clock_${index}`, 'backer'));
    for (const backer of backers) await settler.deposit(backer.participantId, 1_000_000n);
    const campaign = await launchCampaign(settler.campaigns, 'clocks-apart', { goal: 1_000n, model: 'keep_it_all', endsInMs: 2_000, tiers: [{ title: 'Any', price: cny(100n) }] });
    const endsAtMs = campaign.endsAt!.getTime();
    // The settler's reads of the campaign's pledges are slow (a busy database), which widens the moment between
    // closing the books and deciding: the lagging replica, still before the deadline by its clock, pledges on.
    const find = AggregateStore.prototype.find;
    const slowReads = jest.spyOn(AggregateStore.prototype, 'find').mockImplementation(async function (this: AggregateStore<unknown>, ...args: Parameters<typeof find>) {
      const found = await find.apply(this, args);
      if ((args[0] as Record<string, unknown>)['state.campaignId'] === campaign.id) await new Promise((resolve) => setTimeout(resolve, 1_000));
      return found;
    });
    const accepted = new Map<string, bigint>();
    await Promise.all(
      backers.map(async (backer) => {
        for (let index = 0; Date.now() < endsAtMs + 3_000; index += 1) {
          try {
            const pledge = await laggingCampaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: `clock-${index}`, tierId: campaign.tiers[0]!.id, amount: cny(100n) }, { identity: backer });
            accepted.set(backer.participantId, (accepted.get(backer.participantId) ?? 0n) + 100n);
            // Cancel at once (racing the deadline too), so the per-backer cap is never in the way.
            await laggingCampaigns.call.cancelPledge({ pledgeId: pledge.id }, { identity: backer }).then(
              () => void accepted.set(backer.participantId, accepted.get(backer.participantId)! - 100n),
              () => undefined,
            );
          } catch (error) {
            const code = (error as { code?: string }).code;
            if (code !== 'CAMPAIGN_NOT_LIVE' && code !== 'PLEDGE_LIMIT_REACHED') throw error;
            await new Promise((resolve) => setTimeout(resolve, 20));
          }
        }
      }),
    );
    slowReads.mockRestore();
    const total = [...accepted.values()].reduce((sum, amount) => sum + amount, 0n);
    const final = await eventually(() => settler.campaigns.call.getCampaign({ campaignId: campaign.id }), (current) => current.state === 'delivered' || current.state === 'failed', 'the campaign settled', 30_000);
    expect(final.payout?.collected?.amountMinor ?? 0n).toBe(total);
    for (const backer of backers) await expect(settler.available(backer.participantId)).resolves.toBe(1_000_000n - (accepted.get(backer.participantId) ?? 0n));
    const invariants = await settler.ledger.call.getInvariants({});
    expect({ conserved: invariants.conserved, negative: invariants.negativeAccounts }).toEqual({ conserved: true, negative: [] });
  });

  it('with the fee changed between launch and settlement: the fee fixed at launch is charged', async () => {
    // The launching replica charges 5 % and leaves its deadlines to the other one, which is configured with 10 %.
    lagging = await startEscrowHarness('campaign_fee', { DEADLINE_MIN_MS: '1000', PLATFORM_FEE_BPS: '500', SCHEDULER_INTERVAL_MS: '3600000' });
    settler = await startEscrowHarness('campaign_fee', { ...replicaOf(lagging), DEADLINE_MIN_MS: '1000', PLATFORM_FEE_BPS: '1000' });
    await lagging.deposit('pt_fee_backer', 10_000n);
    const campaign = await launchCampaign(lagging.campaigns, 'fee-fixed', { goal: 1_000n, endsInMs: 2_000, tiers: [{ title: 'Any', price: cny(100n) }] });
    await lagging.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'k', tierId: campaign.tiers[0]!.id, amount: cny(4_000n) }, { identity: participant('pt_fee_backer', 'backer') });
    const delivered = await eventually(() => settler.campaigns.call.getCampaign({ campaignId: campaign.id }), (current) => current.state === 'delivered', 'the campaign delivered', 30_000);
    expect(delivered.payout).toEqual({ collected: cny(4_000n), fee: cny(200n), net: cny(3_800n) });
    await eventually(() => settler.available(creator.participantId), (balance) => balance === 3_800n, "the creator's payout");
  });
});

describe('a cancellation is a saga: a crash after its release is finished, never left half-done', () => {
  let harness: EscrowHarness;

  beforeAll(async () => {
    harness = await startEscrowHarness('campaign_cancel_saga', { DEADLINE_MIN_MS: '1000', CAMPAIGN_LAST_CALL_MS: '1000', SAGA_RECOVERY_AGE_MS: '1000', SAGA_RECOVERY_INTERVAL_MS: '200' });
  });

  afterAll(async () => {
    jest.restoreAllMocks();
    await harness.stop();
  });

  it('the pledge write fails after the counters were released: the backer hears an error, recovery cancels the pledge and gives the money back', async () => {
    const backer = participant('pt_cancel_saga_backer', 'backer');
    await harness.deposit(backer.participantId, 3_000n);
    const campaign = await launchCampaign(harness.campaigns, 'cancel-saga', { goal: 10_000n, endsInMs: 60_000, tiers: [{ title: 'Few', price: cny(1_000n), quantity: 2 }] });
    const pledge = await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'p', tierId: campaign.tiers[0]!.id, amount: cny(1_000n) }, { identity: backer });
    expect((await harness.campaigns.call.getCampaign({ campaignId: campaign.id })).tiers[0]?.remaining).toBe(1);

    // The database refuses the pledge's next write once (a crash between the release and the pledge write, as the backer sees it).
    const update = AggregateStore.prototype.update;
    let failed = false;
    jest.spyOn(AggregateStore.prototype, 'update').mockImplementation(function (this: AggregateStore<unknown>, ...args: Parameters<AggregateStore<unknown>['update']>) {
      if (!failed && this.collection.collectionName === 'pledges') {
        failed = true;
        return Promise.reject(new Error('connection reset by the database'));
      }
      return update.apply(this, args) as ReturnType<AggregateStore<unknown>['update']>;
    });
    await expect(harness.campaigns.call.cancelPledge({ pledgeId: pledge.id }, { identity: backer })).rejects.toMatchObject({ code: 'INTERNAL' });
    expect(failed).toBe(true);
    // The release landed: the unit is back; the pledge is still pending and its hold still held.
    expect((await harness.campaigns.call.getCampaign({ campaignId: campaign.id })).tiers[0]?.remaining).toBe(2);

    const cancelled = await eventually(() => harness.campaigns.call.getPledge({ pledgeId: pledge.id }, { identity: backer }), (current) => current.state === 'cancelled', 'recovery finished the cancellation');
    expect(cancelled.state).toBe('cancelled');
    expect(await eventually(() => harness.available(backer.participantId).catch(() => -1n), (available) => available === 3_000n, 'the hold was voided')).toBe(3_000n);
    // A retry by the backer answers the finished cancellation.
    await expect(harness.campaigns.call.cancelPledge({ pledgeId: pledge.id }, { identity: backer })).resolves.toMatchObject({ state: 'cancelled' });
    const invariants = await harness.ledger.call.getInvariants({});
    expect({ conserved: invariants.conserved, negative: invariants.negativeAccounts }).toEqual({ conserved: true, negative: [] });
  });
});
