// Proves a commitment never strands money when escrow's answer is lost (a hold that times out at the client but is made afterwards ends counted or voided by recovery) and that a same-key retry of a given-back commitment answers its original refusal instead of letting a second lead in.
import { commitmentIdOf } from '../src/app/commitments';
import { as, cny, eventually, type EquityHarness, startEquityHarness } from './support';

jest.setTimeout(90_000);

let harness: EquityHarness;
let keySequence = 0;
const key = (label: string) => `${label}-${Date.now()}-${(keySequence += 1)}`;

const issuer = as('pt_issuer_uo', 'issuer');
const lead = as('pt_lead_uo', 'investor');
const brokeLead = as('pt_brokelead_uo', 'investor');
const follower = as('pt_follower_uo', 'investor');

beforeAll(async () => {
  harness = await startEquityHarness('equity-unknown', {
    // A short deadline on escrow calls and a quick recovery loop, so the test sees both in seconds.
    EQUITY_ESCROW_DEADLINE_MS: '1500',
    SAGA_RECOVERY_AGE_MS: '500',
    SAGA_RECOVERY_INTERVAL_MS: '200',
  });
  for (const participant of [lead, follower]) await harness.escrow.deposit(participant.identity.participantId, 1_000_000n);
  for (const investor of [lead, brokeLead]) await harness.client.call.putInvestorProfile({ annualIncome: cny(100_000_000), netWorth: cny(500_000_000), accredited: true }, investor);
  await harness.client.call.putInvestorProfile({ annualIncome: cny(10_000_000), netWorth: cny(5_000_000), accredited: false }, follower);
  for (const investor of [lead, brokeLead]) await harness.investorScore(investor.identity.participantId, (score) => score === 660, 'the accredited investor at 660');
});

afterAll(async () => {
  await harness?.stop();
});

async function openRound() {
  return harness.client.call.createRound(
    { idempotencyKey: key('round'), title: 'Unknown outcomes', target: cny(100_000), maximum: cny(150_000), pricePerShare: cny(1_000), endsAt: new Date(Date.now() + 10 * 60_000), leadMinBps: 500, leadCarryBps: 0, investorsMax: 0 },
    issuer,
  );
}

async function wallet(participantId: string) {
  const found = await harness.escrow.wallet.call.getWallet({ currency: 'CNY' }, { identity: { participantId, roles: ['investor'] } });
  return { available: found.available?.amountMinor ?? 0n, held: found.held?.amountMinor ?? 0n };
}

async function commitmentOrMissing(commitmentId: string) {
  return harness.client.call.getCommitment({ commitmentId }, follower).catch((error: { code?: string }) => {
    if (error.code === 'NOT_FOUND') return undefined;
    throw error;
  });
}

describe('a hold whose answer is lost', () => {
  it('escrow makes the hold after equity gave up waiting: recovery ends with the commitment counted, never with money held for nothing', async () => {
    const round = await openRound();
    await harness.client.call.commitAsLead({ roundId: round.id, idempotencyKey: key('lead'), amount: cny(100_000) }, lead);
    const before = await wallet('pt_follower_uo');

    // Escrow receives the follower's hold and sits on it past equity's deadline, then makes it.
    const hold = harness.gate.arm('createTransfer', (request) => request['referenceKind'] === 'commitment');
    const idempotencyKey = key('follow');
    const commitmentId = commitmentIdOf(round.id, 'pt_follower_uo', idempotencyKey);
    const placing = harness.client.call.placeCommitment({ roundId: round.id, idempotencyKey, amount: cny(30_000) }, follower);
    await hold.reached;
    await expect(placing).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    hold.release();

    // Either way the saga ends (no waiting for the hold's expiry): the commitment exists and is
    // counted with its money held, or the hold is voided and nothing of it remains.
    const settled = await eventually(
      async () => ({ commitment: await commitmentOrMissing(commitmentId), wallet: await wallet('pt_follower_uo'), round: await harness.client.call.getRound({ roundId: round.id }, issuer) }),
      ({ commitment, wallet: now, round: current }) =>
        (commitment?.state === 'pending' && now.held === before.held + 30_000n && current.committed?.amountMinor === 130_000n) ||
        (commitment === undefined && now.held === before.held && now.available === before.available && current.committed?.amountMinor === 100_000n),
      'the follower’s saga to end counted or given back',
      20_000,
    );
    // A retry with the same key answers what the saga ended with.
    if (settled.commitment) await expect(harness.client.call.placeCommitment({ roundId: round.id, idempotencyKey, amount: cny(30_000) }, follower)).resolves.toMatchObject({ id: commitmentId, state: 'pending' });
  });
});

describe('a same-key retry after a definite refusal', () => {
  it('answers the original refusal: a lead given back for lack of money cannot come back as a second lead', async () => {
    const round = await openRound();
    const idempotencyKey = key('broke-lead');
    // No money in the wallet: escrow refuses the hold for certain, the saga gives everything back.
    await expect(harness.client.call.commitAsLead({ roundId: round.id, idempotencyKey, amount: cny(50_000) }, brokeLead)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    await harness.client.call.commitAsLead({ roundId: round.id, idempotencyKey: key('lead'), amount: cny(100_000) }, lead);

    // The broke lead is funded meanwhile and retries with the same key (a client on a bad network).
    await harness.escrow.deposit('pt_brokelead_uo', 1_000_000n);
    await expect(harness.client.call.commitAsLead({ roundId: round.id, idempotencyKey, amount: cny(50_000) }, brokeLead)).rejects.toMatchObject({ code: 'INSUFFICIENT_FUNDS' });
    expect(await wallet('pt_brokelead_uo')).toEqual({ available: 1_000_000n, held: 0n });
    await expect(harness.client.call.getCommitment({ commitmentId: commitmentIdOf(round.id, 'pt_brokelead_uo', idempotencyKey) }, brokeLead)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(await harness.client.call.getRound({ roundId: round.id }, issuer)).toMatchObject({ state: 'open', leadId: 'pt_lead_uo', committed: cny(100_000), investorsCount: 1 });
  });
});
