// Proves a lead's cancellation racing its own commitment cannot leave the round open with no lead and no way in: the commitment's process stalls right after writing the commitment (its MongoDB traffic held by a proxy) while a replica cancels it, and afterwards a new lead, then followers, get in.
import { type RunningService } from '@sizhong/kit';
import { testInfrastructure } from '@sizhong/testkit';
import { commitmentIdOf } from '../src/app/commitments';
import type { EquityUseCases } from '../src/equity-service';
import { as, cny, type EquityHarness, eventually, mongoTarget, mongoUrlThrough, PausingProxy, startEquityHarness, startEquityReplica } from './support';

jest.setTimeout(90_000);

let harness: EquityHarness;
let replica: RunningService<EquityUseCases> | undefined;
let proxy: PausingProxy;
const dayMs = 86_400_000;
let keySequence = 0;
const key = (label: string) => `${label}-${Date.now()}-${(keySequence += 1)}`;

const issuer = as('pt_issuer_lr', 'issuer');
const lead = as('pt_lead_lr', 'investor');
const newLead = as('pt_newlead_lr', 'investor');
const follower = as('pt_follower_lr', 'investor');

/** The start of MongoDB's insert command on the `commitments` collection (BSON: string element "insert" = "commitments"). */
const insertCommitment = Buffer.concat([Buffer.from([0x02]), Buffer.from('insert\0', 'latin1'), Buffer.from([12, 0, 0, 0]), Buffer.from('commitments\0', 'latin1')]);

beforeAll(async () => {
  const mongoUrl = testInfrastructure().mongoUrl;
  proxy = await PausingProxy.start(mongoTarget(mongoUrl));
  // The harness's equity reaches MongoDB through the proxy; the replica goes straight.
  harness = await startEquityHarness('equity-lead-race', { MONGO_URL: mongoUrlThrough(mongoUrl, proxy.port) });
  replica = await startEquityReplica(harness, 'equity-lead-race-replica', { MONGO_URL: mongoUrl });
  for (const participant of [lead, newLead, follower]) await harness.escrow.deposit(participant.identity.participantId, 1_000_000n);
  for (const investor of [lead, newLead]) await harness.client.call.putInvestorProfile({ annualIncome: cny(100_000_000), netWorth: cny(500_000_000), accredited: true }, investor);
  await harness.client.call.putInvestorProfile({ annualIncome: cny(10_000_000), netWorth: cny(5_000_000), accredited: false }, follower);
  for (const investor of [lead, newLead]) await harness.investorScore(investor.identity.participantId, (score) => score === 660, 'the accredited investor at 660');
});

afterAll(async () => {
  proxy?.resume();
  await replica?.stop();
  await harness?.stop();
  await proxy?.close();
});

describe("a lead's cancellation racing its commitment", () => {
  it('leaves the round open for a new lead, who gets in, and followers after them', async () => {
    // Cooling-off is 48 h: a round ending in three days can still be cancelled.
    const round = await harness.client.call.createRound(
      { idempotencyKey: key('round'), title: 'Lead race', target: cny(100_000), maximum: cny(150_000), pricePerShare: cny(1_000), endsAt: new Date(Date.now() + 3 * dayMs), leadMinBps: 500, leadCarryBps: 0, investorsMax: 0 },
      issuer,
    );
    const idempotencyKey = key('lead');
    const commitmentId = commitmentIdOf(round.id, 'pt_lead_lr', idempotencyKey);

    // The lead's commitment is written, then its process stalls before anything else reaches MongoDB.
    const stalled = proxy.pauseAfter(insertCommitment);
    const committing = harness.client.call.commitAsLead({ roundId: round.id, idempotencyKey, amount: cny(10_000) }, lead).catch((error: unknown) => error);
    await stalled;
    // Meanwhile the lead cancels through another replica.
    const cancelled = await eventually(
      () => replica!.exposed.commitments.cancel(lead.identity, commitmentId).catch((error: { code?: string }) => (error.code === 'NOT_FOUND' ? undefined : Promise.reject(error))),
      (found) => found !== undefined,
      'the lead’s commitment to be cancellable',
      10_000,
    );
    expect(cancelled).toMatchObject({ state: 'cancelled' });
    proxy.resume();
    await committing;

    // Whatever the stalled commitment answers, the round is not left open without a lead.
    await expect(harness.client.call.commitAsLead({ roundId: round.id, idempotencyKey: key('new-lead'), amount: cny(10_000) }, newLead)).resolves.toMatchObject({ state: 'pending' });
    await expect(harness.client.call.placeCommitment({ roundId: round.id, idempotencyKey: key('follow'), amount: cny(5_000) }, follower)).resolves.toMatchObject({ state: 'pending' });
    expect(await harness.client.call.getRound({ roundId: round.id }, issuer)).toMatchObject({ state: 'open', leadId: 'pt_newlead_lr', committed: cny(15_000), investorsCount: 2 });
  });
});
