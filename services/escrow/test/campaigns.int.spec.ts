// Proves product crowdfunding end to end through the escrow gRPC API with real storage and scheduler:
// all-or-nothing success and failure, keep-it-all, 500 concurrent pledges on a tier of 100, the last-call rule,
// insufficient funds, idempotent replays, pledges fired across the deadline while settlement runs, and delivery
// milestones released by acceptance and by silence.
import { escrowV1 } from '@sizhong/proto';
import { createAndLaunchCampaign, type EscrowHarness, eventually, participant, startEscrowHarness } from './support';

jest.setTimeout(180_000);

let harness: EscrowHarness;
const creator = participant('pt_creator', 'creator');
const feeAccountId = 'fee:platform:CNY';
const cny = (amountMinor: bigint) => ({ currency: 'CNY', amountMinor });

beforeAll(async () => {
  harness = await startEscrowHarness('campaigns', {
    DEADLINE_MIN_MS: '1000',
    CAMPAIGN_LAST_CALL_MS: '20000',
    MILESTONE_SILENCE_MS: '2500',
    PLATFORM_FEE_BPS: '500',
  });
});

afterAll(async () => {
  await harness.stop();
});

async function feeBalance(): Promise<bigint> {
  return (await harness.ledger.call.getBalance({ accountId: feeAccountId })).available?.amountMinor ?? 0n;
}

async function launchCampaign(
  key: string,
  options: { goal: bigint; model?: string; endsInMs: number; tiers?: escrowV1.TierInput[]; milestones?: escrowV1.MilestoneInput[]; owner?: typeof creator },
) {
  const { created, live } = await createAndLaunchCampaign(harness.campaigns, options.owner ?? creator, key, options);
  expect(created.state).toBe('draft');
  expect(live.state).toBe('live');
  return live;
}

async function settled(campaignId: string, states: string[]) {
  return eventually(() => harness.campaigns.call.getCampaign({ campaignId }, { identity: creator }), (campaign) => states.includes(campaign.state), `campaign ${campaignId} in ${states.join('/')}`);
}

describe('product campaigns', () => {
  it('all-or-nothing that meets its goal: pledges collected, fee split off, the creator paid, wallets exact', async () => {
    const backers = ['pt_aon_1', 'pt_aon_2', 'pt_aon_3'];
    for (const backer of backers) await harness.deposit(backer, 10_000n);
    const campaign = await launchCampaign('aon-success', { goal: 5_000n, endsInMs: 2_500 });
    const feeBefore = await feeBalance();
    const creatorBefore = await harness.available('pt_creator');
    for (const [index, backer] of backers.entries()) {
      const pledge = await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: `k${index}`, tierId: campaign.tiers[0]!.id, amount: cny(2_001n) }, { identity: participant(backer, 'backer') });
      expect(pledge.state).toBe('pending');
    }
    const live = await harness.campaigns.call.getCampaign({ campaignId: campaign.id });
    expect({ pledged: live.pledged?.amountMinor, backers: live.backersCount, remaining: live.tiers[0]?.remaining }).toEqual({ pledged: 6_003n, backers: 3, remaining: 97 });

    const delivered = await settled(campaign.id, ['delivered']);
    // 5% of 6003 = 300.15 → 300 by the split rule; the creator gets the rest at once (no milestones).
    expect(delivered.payout).toEqual({ collected: cny(6_003n), fee: cny(300n), net: cny(5_703n) });
    for (const backer of backers) expect(await harness.available(backer)).toBe(10_000n - 2_001n);
    // The payout follows the state change as the saga's next step: wait for it.
    await eventually(feeBalance, (balance) => balance - feeBefore === 300n, 'the fee');
    await eventually(() => harness.available('pt_creator'), (balance) => balance - creatorBefore === 5_703n, "the creator's payout");
    await eventually(() => harness.ledger.call.getBalance({ accountId: `escrow:campaign:${campaign.id}:CNY` }), (balance) => balance.available?.amountMinor === 0n, 'an empty campaign escrow');
    const pledges = await harness.campaigns.call.listCampaignPledges({ campaignId: campaign.id }, { identity: creator });
    expect(pledges.pledges.map((pledge) => pledge.state)).toEqual(['collected', 'collected', 'collected']);
  });

  it('all-or-nothing that misses its goal: every pledge refunded, nobody pays anything', async () => {
    await harness.deposit('pt_fail_1', 5_000n);
    const feeBefore = await feeBalance();
    const campaign = await launchCampaign('aon-failure', { goal: 50_000n, endsInMs: 2_000 });
    const pledge = await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'k', tierId: campaign.tiers[0]!.id, amount: cny(3_000n) }, { identity: participant('pt_fail_1', 'backer') });
    const failed = await settled(campaign.id, ['failed']);
    expect(failed.state).toBe('failed');
    await eventually(() => harness.campaigns.call.getPledge({ pledgeId: pledge.id }, { identity: participant('pt_fail_1', 'backer') }), (current) => current.state === 'refunded', 'the refunded pledge');
    expect(await harness.available('pt_fail_1')).toBe(5_000n);
    expect(await feeBalance()).toBe(feeBefore);
  });

  it('keep-it-all below its goal still collects what was pledged', async () => {
    await harness.deposit('pt_kia_1', 4_000n);
    const campaign = await launchCampaign('kia', { goal: 100_000n, model: 'keep_it_all', endsInMs: 2_000 });
    await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'k', tierId: campaign.tiers[0]!.id, amount: cny(4_000n) }, { identity: participant('pt_kia_1', 'backer') });
    const delivered = await settled(campaign.id, ['delivered']);
    expect(delivered.payout).toEqual({ collected: cny(4_000n), fee: cny(200n), net: cny(3_800n) });
    expect(await harness.available('pt_kia_1')).toBe(0n);
  });

  it('sells exactly 100 units of a 100-unit tier to 500 concurrent pledges', async () => {
    const backers = Array.from({ length: 50 }, (_, index) => `pt_rush_${index}`);
    await Promise.all(backers.map((backer) => harness.deposit(backer, 10_000n)));
    const campaign = await launchCampaign('rush', { goal: 1_000n, endsInMs: 600_000 });
    const tierId = campaign.tiers[0]!.id;
    const outcomes = await Promise.all(
      Array.from({ length: 500 }, (_, index) =>
        harness.campaigns.call
          .placePledge({ campaignId: campaign.id, idempotencyKey: `rush-${index}`, tierId, amount: cny(1_000n) }, { identity: participant(backers[index % backers.length]!, 'backer') })
          .then(
            (pledge) => pledge.state,
            (error: { code?: string }) => error.code ?? 'unknown',
          ),
      ),
    );
    const counts = outcomes.reduce<Record<string, number>>((tally, outcome) => ({ ...tally, [outcome]: (tally[outcome] ?? 0) + 1 }), {});
    expect(counts).toEqual({ pending: 100, TIER_SOLD_OUT: 400 });
    const after = await harness.campaigns.call.getCampaign({ campaignId: campaign.id });
    expect({ remaining: after.tiers[0]?.remaining, pledged: after.pledged?.amountMinor, pledges: after.pledgesCount }).toEqual({ remaining: 0, pledged: 100_000n, pledges: 100 });
    const held = await Promise.all(backers.map(async (backer) => (await harness.wallet.call.getWallet({ currency: 'CNY' }, { identity: participant(backer, 'backer') })).held?.amountMinor ?? 0n));
    expect(held.reduce((sum, amount) => sum + amount, 0n)).toBe(100_000n);
  });

  it('refuses a cancellation in the last call window that would drop a met goal, allows one that keeps it', async () => {
    await harness.deposit('pt_last_1', 10_000n);
    await harness.deposit('pt_last_2', 10_000n);
    // Ends in 10 s, last call is 20 s: the campaign is inside its last call from the start.
    const campaign = await launchCampaign('last-call', { goal: 3_000n, endsInMs: 10_000 });
    const big = await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'big', tierId: campaign.tiers[0]!.id, amount: cny(3_000n) }, { identity: participant('pt_last_1', 'backer') });
    const small = await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'small', tierId: campaign.tiers[0]!.id, amount: cny(1_000n) }, { identity: participant('pt_last_2', 'backer') });
    await expect(harness.campaigns.call.cancelPledge({ pledgeId: big.id }, { identity: participant('pt_last_1', 'backer') })).rejects.toMatchObject({ code: 'CANCELLATION_WINDOW_CLOSED' });
    await expect(harness.campaigns.call.cancelPledge({ pledgeId: small.id }, { identity: participant('pt_last_2', 'backer') })).resolves.toMatchObject({ state: 'cancelled' });
    expect(await harness.available('pt_last_2')).toBe(10_000n);
    // Someone else's pledge does not exist for them.
    await expect(harness.campaigns.call.cancelPledge({ pledgeId: big.id }, { identity: participant('pt_last_2', 'backer') })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(harness.campaigns.call.getPledge({ pledgeId: big.id }, { identity: participant('pt_last_2', 'backer') })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(harness.campaigns.call.getPledge({ pledgeId: big.id }, { identity: creator })).resolves.toMatchObject({ state: 'pending' });
  });

  it('refuses a pledge without the money and gives the tier unit back', async () => {
    await harness.deposit('pt_poor', 500n);
    const campaign = await launchCampaign('poor', { goal: 1_000n, endsInMs: 600_000, tiers: [{ title: 'Only one', price: cny(1_000n), quantity: 1 }] });
    await expect(
      harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'k', tierId: campaign.tiers[0]!.id, amount: cny(1_000n) }, { identity: participant('pt_poor', 'backer') }),
    ).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    const after = await harness.campaigns.call.getCampaign({ campaignId: campaign.id });
    expect({ remaining: after.tiers[0]?.remaining, pledged: after.pledged?.amountMinor }).toEqual({ remaining: 1, pledged: 0n });
    expect(await harness.available('pt_poor')).toBe(500n);
  });

  it('replays a pledge under the same key and refuses a different one', async () => {
    await harness.deposit('pt_replay', 5_000n);
    const campaign = await launchCampaign('replay', { goal: 1_000n, endsInMs: 600_000 });
    const request = { campaignId: campaign.id, idempotencyKey: 'same', tierId: campaign.tiers[0]!.id, amount: cny(1_000n) };
    const identity = participant('pt_replay', 'backer');
    const results = await Promise.all(Array.from({ length: 5 }, () => harness.campaigns.call.placePledge(request, { identity })));
    expect(new Set(results.map((pledge) => pledge.id)).size).toBe(1);
    await expect(harness.campaigns.call.placePledge({ ...request, amount: cny(2_000n) }, { identity })).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });
    expect((await harness.wallet.call.getWallet({ currency: 'CNY' }, { identity })).held?.amountMinor).toBe(1_000n);
    const after = await harness.campaigns.call.getCampaign({ campaignId: campaign.id });
    expect(after.tiers[0]?.remaining).toBe(99);
  });

  it('releases delivery milestones to the creator: the first by backer acceptance, the second by silence', async () => {
    await harness.deposit('pt_ms_1', 10_000n);
    await harness.deposit('pt_ms_2', 10_000n);
    // Its own creator: other tests' campaigns pay out to the shared one in the background.
    const owner = participant('pt_creator_ms', 'creator');
    const now = Date.now();
    const campaign = await launchCampaign('milestones', {
      owner,
      goal: 4_000n,
      endsInMs: 2_000,
      milestones: [
        { title: 'Prototype shipped', shareBps: 4_000, dueAt: new Date(now + 3_000) },
        { title: 'Units delivered', shareBps: 6_000, dueAt: new Date(now + 3_500) },
      ],
    });
    await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'a', tierId: campaign.tiers[0]!.id, amount: cny(3_000n) }, { identity: participant('pt_ms_1', 'backer') });
    await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'b', tierId: campaign.tiers[0]!.id, amount: cny(2_000n) }, { identity: participant('pt_ms_2', 'backer') });
    const delivering = await settled(campaign.id, ['delivering']);
    // Net 4750 split 40/60 by the one split function.
    expect(delivering.milestones.map((milestone) => [milestone.state, milestone.amount?.amountMinor])).toEqual([
      ['open', 1_900n],
      ['waiting', 2_850n],
    ]);
    // The backer with 3000 of 5000 collected holds the majority.
    const accepted = await harness.campaigns.call.acceptMilestone({ campaignId: campaign.id, index: 0 }, { identity: participant('pt_ms_1', 'backer') });
    expect(accepted.milestones[0]?.state).toBe('released');
    await eventually(() => harness.available('pt_creator_ms'), (balance) => balance === 1_900n, 'the first milestone payout');
    await expect(harness.campaigns.call.acceptMilestone({ campaignId: campaign.id, index: 1 }, { identity: participant('pt_stranger', 'backer') })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    // Nobody accepts the second one: it is released when the silence window passes.
    const delivered = await settled(campaign.id, ['delivered']);
    expect(delivered.milestones.map((milestone) => milestone.state)).toEqual(['released', 'released']);
    await eventually(() => harness.available('pt_creator_ms'), (balance) => balance === 4_750n, 'the second milestone payout');
    const report = await harness.ledger.call.getInvariants({});
    expect(report.conserved).toBe(true);
    expect(report.negativeAccounts).toEqual([]);
  });

  it('refunds the unreleased money pro rata when an admin finds the creator failed to deliver', async () => {
    await harness.deposit('pt_fd_1', 10_000n);
    await harness.deposit('pt_fd_2', 10_000n);
    // Its own creator: other tests' campaigns pay out to the shared one in the background.
    const owner = participant('pt_creator_fd', 'creator');
    const now = Date.now();
    const campaign = await launchCampaign('delivery-failure', {
      owner,
      goal: 3_000n,
      endsInMs: 2_000,
      milestones: [
        { title: 'Prototype', shareBps: 5_000, dueAt: new Date(now + 60_000) },
        { title: 'Shipping', shareBps: 5_000, dueAt: new Date(now + 120_000) },
      ],
    });
    await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'a', tierId: campaign.tiers[0]!.id, amount: cny(3_000n) }, { identity: participant('pt_fd_1', 'backer') });
    await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: 'b', tierId: campaign.tiers[0]!.id, amount: cny(1_000n) }, { identity: participant('pt_fd_2', 'backer') });
    await settled(campaign.id, ['delivering']);
    // Net 3800 (4000 less 5%): 1900 per milestone. The first is accepted, the second never comes.
    await harness.campaigns.call.acceptMilestone({ campaignId: campaign.id, index: 0 }, { identity: participant('pt_fd_1', 'backer') });
    await expect(harness.campaigns.call.failDelivery({ campaignId: campaign.id }, { identity: participant('pt_fd_1', 'backer') })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });
    const failed = await harness.campaigns.call.failDelivery({ campaignId: campaign.id }, { identity: participant('pt_admin', 'admin') });
    expect(failed.state).toBe('delivery_failed');
    // The unreleased 1900 goes back 3:1 → 1425 and 475; the fee stays earned.
    await eventually(() => harness.available('pt_fd_1'), (balance) => balance === 10_000n - 3_000n + 1_425n, 'the first refund');
    await eventually(() => harness.available('pt_fd_2'), (balance) => balance === 10_000n - 1_000n + 475n, 'the second refund');
    await eventually(() => harness.available('pt_creator_fd'), (balance) => balance === 1_900n, 'the released milestone only');
    const pledges = await harness.campaigns.call.listCampaignPledges({ campaignId: campaign.id }, { identity: owner });
    expect(pledges.pledges.map((pledge) => [pledge.state, pledge.refundReason, pledge.refundedAmount?.amountMinor]).sort()).toEqual([
      ['refunded', 'delivery_failed', 1_425n],
      ['refunded', 'delivery_failed', 475n],
    ]);
    await eventually(() => harness.ledger.call.getBalance({ accountId: `escrow:campaign:${campaign.id}:CNY` }), (balance) => balance.available?.amountMinor === 0n, 'an empty campaign escrow');
  });

  it('takes no pledge after the deadline: pledges fired across it while settlement runs are either collected or refused, exactly', async () => {
    const backers = Array.from({ length: 8 }, (_, index) => `pt_edge_${index}`);
    for (const backer of backers) await harness.deposit(backer, 100_000n);
    const campaign = await launchCampaign('deadline-edge', { goal: 1_000n, model: 'keep_it_all', endsInMs: 1_500, tiers: [{ title: 'Any', price: cny(100n) }] });
    const endsAtMs = campaign.endsAt!.getTime();
    const accepted = new Map<string, bigint>();
    const refusals = new Map<string, number>();
    // Each backer pledges in a loop from before the deadline until well after it (settlement runs meanwhile).
    await Promise.all(
      backers.map(async (backer) => {
        let kept = 0;
        for (let index = 0; Date.now() < endsAtMs + 1_500; index += 1) {
          try {
            const pledge = await harness.campaigns.call.placePledge({ campaignId: campaign.id, idempotencyKey: `edge-${index}`, tierId: campaign.tiers[0]!.id, amount: cny(100n) }, { identity: participant(backer, 'backer') });
            accepted.set(backer, (accepted.get(backer) ?? 0n) + 100n);
            // Keep a few, cancel the rest right away: under the per-backer cap, and racing the deadline too.
            if (kept >= 8 || index % 2 === 0) {
              await harness.campaigns.call.cancelPledge({ pledgeId: pledge.id }, { identity: participant(backer, 'backer') }).then(
                () => void accepted.set(backer, accepted.get(backer)! - 100n),
                (error: { code?: string }) => void refusals.set(`cancel:${error.code}`, (refusals.get(`cancel:${error.code}`) ?? 0) + 1),
              );
            } else kept += 1;
          } catch (error) {
            const code = (error as { code?: string }).code ?? 'unknown';
            refusals.set(code, (refusals.get(code) ?? 0) + 1);
            if (code === 'PLEDGE_LIMIT_REACHED') await new Promise((resolve) => setTimeout(resolve, 50));
          }
        }
      }),
    );
    // Only the deadline (and the per-backer cap) refused anything; cancellations after it were refused as closed.
    expect([...refusals.keys()].every((code) => ['CAMPAIGN_NOT_LIVE', 'PLEDGE_LIMIT_REACHED', 'cancel:CANCELLATION_WINDOW_CLOSED', 'cancel:CAMPAIGN_NOT_LIVE'].includes(code))).toBe(true);
    expect(refusals.get('CAMPAIGN_NOT_LIVE') ?? 0).toBeGreaterThan(0);
    const final = await settled(campaign.id, ['delivered']);
    const total = [...accepted.values()].reduce((sum, amount) => sum + amount, 0n);
    expect(final.payout?.collected?.amountMinor).toBe(total);
    // Every backer's wallet lost exactly what was accepted and kept; nothing is left held.
    for (const backer of backers) await expect(harness.available(backer)).resolves.toBe(100_000n - (accepted.get(backer) ?? 0n));
    const states = new Set<string>();
    for (let cursor = ''; ; ) {
      const page = await harness.campaigns.call.listCampaignPledges({ campaignId: campaign.id, page: { limit: 100, cursor } }, { identity: creator });
      for (const pledge of page.pledges) states.add(pledge.state);
      cursor = page.page?.nextCursor ?? '';
      if (!cursor) break;
    }
    expect([...states].sort()).toEqual(['cancelled', 'collected']);
    const invariants = await harness.ledger.call.getInvariants({});
    expect({ conserved: invariants.conserved, negative: invariants.negativeAccounts }).toEqual({ conserved: true, negative: [] });
  });
});
