// Proves campaign payments always finish: a settlement that fails for longer than the scheduler's old retries
// (about 15 s) settles once its ledger calls work again, and the payout of the last milestone, failed when the
// backer accepted it, reaches the creator afterwards without anyone's help.
import { connectMongo } from '@sizhong/kit';
import { escrowV1 } from '@sizhong/proto';
import { testInfrastructure } from '@sizhong/testkit';
import { createAndLaunchCampaign, type EscrowHarness, eventually, participant, startEscrowHarness } from './support';

jest.setTimeout(120_000);

const cny = (amountMinor: bigint) => ({ currency: 'CNY', amountMinor });
/** Longer than the old scheduler's five attempts (1 + 2 + 4 + 8 s of pauses). */
const ledgerOutageMs = 20_000;

let harness: EscrowHarness;

beforeAll(async () => {
  harness = await startEscrowHarness('campaign_recovery', { DEADLINE_MIN_MS: '1000', CAMPAIGN_LAST_CALL_MS: '1000', SAGA_RECOVERY_AGE_MS: '1000', SCHEDULER_INTERVAL_MS: '100', CAMPAIGN_RECOVERY_AGE_MS: '1000', CAMPAIGN_RECOVERY_INTERVAL_MS: '500' });
});

afterAll(async () => {
  await harness.stop();
});

/**
 * A campaign that ends soon: its launch needs the end at least DEADLINE_MIN_MS (1 s here) ahead
 * after the create, and its pledge must land before the end — on a busy machine too (CI once took
 * more than half a second between create and launch).
 */
const endsSoonMs = 4_000;

async function launchCampaign(key: string, owner: ReturnType<typeof participant>, endsInMs: number, milestones: escrowV1.MilestoneInput[] = []) {
  return (await createAndLaunchCampaign(harness.campaigns, owner, key, { goal: 1_000n, endsInMs, deliveryAfterMs: 120_000, tiers: [{ title: 'Any', price: cny(100n) }], milestones })).live;
}

/** Makes one ledger use case fail as an unreachable database would, until the returned function is called. */
function breakLedger(method: 'postPending' | 'createTransfer' | 'createSagaHold'): () => void {
  const ledger = harness.escrow.ledger as unknown as Record<string, unknown>;
  const working = ledger[method];
  ledger[method] = () => Promise.reject(new Error(`ledger ${method} is unavailable`));
  return () => void (ledger[method] = working);
}

describe('campaign recovery', () => {
  it('settles a campaign whose settlement failed for longer than the scheduler retried', async () => {
    const owner = participant('pt_recovery_creator', 'creator');
    await harness.deposit('pt_recovery_backer', 5_000n);
    const campaign = await launchCampaign('settle-outage', owner, endsSoonMs);
    await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'k', tierId: campaign.tiers[0]!.id, amount: cny(2_000n) }, { identity: participant('pt_recovery_backer', 'backer') });
    const repair = breakLedger('postPending');
    await new Promise((resolve) => setTimeout(resolve, campaign.endsAt!.getTime() - Date.now() + ledgerOutageMs));
    repair();
    const delivered = await eventually(() => harness.campaigns.call.getCampaign({ campaignId: campaign.id }), (current) => current.state === 'delivered', 'the campaign delivered after the outage', 60_000);
    expect(delivered.payout).toEqual({ collected: cny(2_000n), fee: cny(100n), net: cny(1_900n) });
    await eventually(() => harness.available(owner.participantId), (balance) => balance === 1_900n, "the creator's payout");
    expect(await harness.available('pt_recovery_backer')).toBe(3_000n);
  });

  it('settles a campaign whose settle job was lost (a crash between the launch and its schedule)', async () => {
    const owner = participant('pt_recovery_lost_creator', 'creator');
    await harness.deposit('pt_recovery_lost_backer', 5_000n);
    const campaign = await launchCampaign('lost-job', owner, endsSoonMs);
    await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'k', tierId: campaign.tiers[0]!.id, amount: cny(3_000n) }, { identity: participant('pt_recovery_lost_backer', 'backer') });
    const mongo = await connectMongo(testInfrastructure().mongoUrl, harness.database);
    try {
      const removed = await mongo.db.collection('escrow_jobs').deleteOne({ _id: `settle-campaign:${campaign.id}` as unknown as never });
      expect(removed.deletedCount).toBe(1);
    } finally {
      await mongo.close();
    }
    const delivered = await eventually(() => harness.campaigns.call.getCampaign({ campaignId: campaign.id }), (current) => current.state === 'delivered', 'the campaign delivered without its job', 30_000);
    expect(delivered.payout).toEqual({ collected: cny(3_000n), fee: cny(150n), net: cny(2_850n) });
    await eventually(() => harness.available(owner.participantId), (balance) => balance === 2_850n, "the creator's payout");
  });

  it('drives on a pledge saga whose request failed with an unknown outcome, without giving anything back', async () => {
    const owner = participant('pt_recovery_sweep_creator', 'creator');
    const backer = participant('pt_recovery_sweep_backer', 'backer');
    await harness.deposit(backer.participantId, 5_000n);
    const campaign = await launchCampaign('pledge-sweep', owner, 600_000);
    const repair = breakLedger('createSagaHold');
    // The hold's outcome is unknown to the request: it fails, and the saga is left running (the reservation stands).
    await expect(harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'k', tierId: campaign.tiers[0]!.id, amount: cny(2_000n) }, { identity: backer })).rejects.toMatchObject({ code: 'INTERNAL' });
    repair();
    // Nobody retries: the recovery sweep completes the saga.
    const pledges = await eventually(() => harness.campaigns.call.listCampaignPledges({ campaignId: campaign.id }, { identity: owner }), (page) => page.pledges.length === 1, 'the pledge completed by recovery');
    expect(pledges.pledges[0]).toMatchObject({ state: 'pending', amount: cny(2_000n) });
    const wallet = await harness.wallet.call.getWallet({ currency: 'CNY' }, { identity: backer });
    expect({ available: wallet.available?.amountMinor, held: wallet.held?.amountMinor }).toEqual({ available: 3_000n, held: 2_000n });
    const live = await harness.campaigns.call.getCampaign({ campaignId: campaign.id });
    expect({ pledged: live.pledged?.amountMinor, pledges: live.pledgesCount, backers: live.backersCount }).toEqual({ pledged: 2_000n, pledges: 1, backers: 1 });
  });

  it('pays out the last milestone whose payout failed when it was accepted', async () => {
    const owner = participant('pt_recovery_ms_creator', 'creator');
    const backer = participant('pt_recovery_ms_backer', 'backer');
    await harness.deposit(backer.participantId, 5_000n);
    const campaign = await launchCampaign('payout-outage', owner, endsSoonMs, [{ title: 'Shipped', shareBps: 10_000, dueAt: new Date(Date.now() + 60_000) }]);
    await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'k', tierId: campaign.tiers[0]!.id, amount: cny(2_000n) }, { identity: backer });
    await eventually(() => harness.campaigns.call.getCampaign({ campaignId: campaign.id }), (current) => current.state === 'delivering', 'delivery started');
    const repair = breakLedger('createTransfer');
    // The acceptance is decided (the last milestone released, the campaign delivered); its payout fails.
    await expect(harness.campaigns.call.acceptMilestone({ campaignId: campaign.id, index: 0 }, { identity: backer })).rejects.toBeDefined();
    const delivered = await harness.campaigns.call.getCampaign({ campaignId: campaign.id });
    expect(delivered.state).toBe('delivered');
    repair();
    await eventually(() => harness.available(owner.participantId), (balance) => balance === 1_900n, "the last milestone's payout", 60_000);
  });
});
