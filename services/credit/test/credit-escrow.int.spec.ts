// Proves credit over escrow's real events: a real escrow service (deposits, a campaign that succeeds,
// one that fails, a transfer refused for lack of funds) moves creators' and backers' scores; a second
// credit started on an empty database and a new consumer generation replays the topics from the
// beginning and rebuilds byte-identical profiles.
import { connectMongo } from '@sizhong/kit';
import { testInfrastructure } from '@sizhong/testkit';
import { type EscrowHarness, participant, startEscrowHarness } from '../../escrow/test/support';
import { creditRoles } from '../src/domain/model';
import { type CreditHarness, eventually, startCreditHarness } from './support';

jest.setTimeout(120_000);

const cny = (amountMinor: bigint) => ({ currency: 'CNY', amountMinor });
const creator1 = participant('pt_cre_ok', 'creator');
const creator2 = participant('pt_cre_ko', 'creator');

async function launch(escrow: EscrowHarness, key: string, owner: typeof creator1, goal: bigint) {
  const now = Date.now();
  const created = await escrow.campaigns.call.createCampaign(
    { idempotencyKey: key, title: `Campaign ${key}`, description: 'A product', goal: cny(goal), fundingModel: 'all_or_nothing', endsAt: new Date(now + 2_500), deliveryDate: new Date(now + 60_000), tiers: [{ title: 'Tier', price: cny(1_000n), quantity: 100 }], milestones: [] },
    { identity: owner },
  );
  return escrow.campaigns.call.launchCampaign({ campaignId: created.id }, { identity: owner });
}

/** Every record's facts and every GetScore answer, as canonical JSON. */
async function profilesOf(harness: CreditHarness, participantIds: readonly string[]): Promise<string> {
  const mongo = await connectMongo(testInfrastructure().mongoUrl, harness.database);
  try {
    const records = await mongo.collection('credit_records').find({}).sort({ _id: 1 }).toArray();
    const facts = records.map((record) => ({ id: record._id, scopes: (record['state'] as { scopes: unknown }).scopes }));
    const scores = [];
    for (const participantId of participantIds) for (const role of ['', ...creditRoles]) scores.push(await harness.scores.call.getScore({ participantId, role }));
    return JSON.stringify({ facts, scores });
  } finally {
    await mongo.close();
  }
}

describe('credit over escrow events', () => {
  let escrow: EscrowHarness;
  let credit: CreditHarness;

  beforeAll(async () => {
    escrow = await startEscrowHarness('credit-escrow', { DEADLINE_MIN_MS: '1000' });
    credit = await startCreditHarness('credit-escrow', { KAFKA_TOPIC_PREFIX: escrow.topicPrefix });
  });
  afterAll(async () => {
    await credit.stop();
    await escrow.stop();
  });

  it('scores creators and backers from escrow facts, and a replay into an empty database rebuilds the same profiles', async () => {
    await escrow.deposit('pt_backer_a', 10_000n);
    await escrow.deposit('pt_backer_b', 500n);
    const succeeding = await launch(escrow, 'ok', creator1, 3_000n);
    const failing = await launch(escrow, 'ko', creator2, 100_000n);
    const backerA = participant('pt_backer_a', 'backer');
    await escrow.campaigns.call.placePledge({ campaignId: succeeding.id, idempotencyKey: 'a1', tierId: succeeding.tiers[0]!.id, amount: cny(3_500n) }, { identity: backerA });
    await escrow.campaigns.call.placePledge({ campaignId: failing.id, idempotencyKey: 'a2', tierId: failing.tiers[0]!.id, amount: cny(1_000n) }, { identity: backerA });
    await expect(
      escrow.campaigns.call.placePledge({ campaignId: succeeding.id, idempotencyKey: 'b1', tierId: succeeding.tiers[0]!.id, amount: cny(1_000n) }, { identity: participant('pt_backer_b', 'backer') }),
    ).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    // A refused pledge leaves no event (escrow refuses its hold before recording a transfer); a
    // ledger transfer refused for lack of funds does: TransferRejected, which credit counts.
    await expect(
      escrow.ledger.call.createTransfer({ transferId: 'tr_b_refused', mode: 1, debitAccountId: 'wallet:pt_backer_b:CNY', creditAccountId: 'fee:platform:CNY', amount: cny(1_000n), referenceKind: 'pledge', referenceId: 'pl_b', timeoutMs: 0n }),
    ).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });

    const score = (participantId: string, role: string) => credit.scores.call.getScore({ participantId, role });
    // Succeeded (+10) and delivered at once, no milestones (+30).
    await eventually(() => score('pt_cre_ok', 'creator'), (profile) => profile.score === 640, 'the successful creator at 640');
    // Failed (−20).
    await eventually(() => score('pt_cre_ko', 'creator'), (profile) => profile.score === 580, 'the failed creator at 580');
    await expect(score('pt_cre_ko', 'creator')).resolves.toMatchObject({ band: 'poor', reasons: [{ code: 'CAMPAIGNS_FAILED', impact: 20 }] });
    // One pledge collected (+2), one refunded (no change).
    await eventually(() => score('pt_backer_a', 'backer'), (profile) => profile.score === 602, 'backer A at 602');
    // The refused pledge: a payment failure (−20), in the backer role and overall.
    await eventually(() => score('pt_backer_b', ''), (profile) => profile.score === 580, 'backer B at 580 overall');
    await expect(score('pt_backer_b', 'backer')).resolves.toMatchObject({ score: 580, reasons: [{ code: 'PAYMENT_FAILURES' }] });

    const participants = ['pt_cre_ok', 'pt_cre_ko', 'pt_backer_a', 'pt_backer_b'];
    const original = await profilesOf(credit, participants);
    const rebuilt = await startCreditHarness('credit-escrow-replay', { KAFKA_TOPIC_PREFIX: escrow.topicPrefix, CREDIT_CONSUMER_GENERATION: '2' });
    try {
      await eventually(() => profilesOf(rebuilt, participants), (profiles) => profiles === original, 'the replay to rebuild identical profiles');
      // And it stays identical: nothing is applied twice once the replay has caught up.
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(await profilesOf(rebuilt, participants)).toBe(original);
    } finally {
      await rebuilt.stop();
    }
  });
});
