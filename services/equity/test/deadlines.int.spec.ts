// Proves deadlines are fenced by the round's state, not by clocks: a lead whose credit check answers after endsAt is refused (equity reads the time at the guard), a follower whose hold answers after the close is given back by the close without waiting for the hold's expiry, and a replica whose clock is behind cannot land a commitment after another replica closed the round.
import { type CallerIdentity, ManualClock, type RunningService } from '@sizhong/kit';
import { commitmentIdOf } from '../src/app/commitments';
import type { EquityUseCases } from '../src/equity-service';
import { as, cny, eventually, type EquityHarness, startEquityHarness, startEquityReplica } from './support';

jest.setTimeout(90_000);

let harness: EquityHarness;
let replica: RunningService<EquityUseCases> | undefined;
const clock = new ManualClock(new Date());
const replicaClock = new ManualClock(new Date());
let keySequence = 0;
const key = (label: string) => `${label}-${Date.now()}-${(keySequence += 1)}`;

const issuer = as('pt_issuer_dl', 'issuer');
const lead = as('pt_lead_dl', 'investor');
const followers = ['pt_fa_dl', 'pt_fb_dl', 'pt_fc_dl'].map((id) => as(id, 'investor'));
const endsInMs = 60_000;

beforeAll(async () => {
  harness = await startEquityHarness('equity-deadlines', { EQUITY_ESCROW_DEADLINE_MS: '1500' }, { clock });
  replica = await startEquityReplica(harness, 'equity-deadlines-replica', {}, { clock: replicaClock });
  for (const participant of [lead, ...followers]) await harness.escrow.deposit(participant.identity.participantId, 1_000_000n);
  await harness.client.call.putInvestorProfile({ annualIncome: cny(100_000_000), netWorth: cny(500_000_000), accredited: true }, lead);
  for (const follower of followers) await harness.client.call.putInvestorProfile({ annualIncome: cny(10_000_000), netWorth: cny(5_000_000), accredited: false }, follower);
  await harness.investorScore('pt_lead_dl', (score) => score === 660, 'the accredited lead at 660');
});

afterAll(async () => {
  await replica?.stop();
  await harness?.stop();
});

/** A round ending a minute from now on both clocks (they are set to the wall clock first). */
async function openRound() {
  clock.set(new Date());
  replicaClock.set(clock.now());
  const round = await harness.client.call.createRound(
    { idempotencyKey: key('round'), title: 'Deadlines', target: cny(100_000), maximum: cny(150_000), pricePerShare: cny(1_000), endsAt: new Date(clock.now().getTime() + endsInMs), leadMinBps: 500, leadCarryBps: 0, investorsMax: 0 },
    issuer,
  );
  return { ...round, endsAt: round.endsAt! };
}

async function held(participantId: string): Promise<bigint> {
  const wallet = await harness.escrow.wallet.call.getWallet({ currency: 'CNY' }, { identity: { participantId, roles: ['investor'] } });
  return wallet.held?.amountMinor ?? 0n;
}

async function stateOf(commitmentId: string, who: { identity: CallerIdentity }): Promise<string> {
  return harness.client.call.getCommitment({ commitmentId }, who).then(
    (found) => found.state,
    (error: { code?: string }) => {
      if (error.code === 'NOT_FOUND') return 'none';
      throw error;
    },
  );
}

describe('a commitment delayed past the deadline', () => {
  it('a lead whose credit check answers after endsAt is refused: the guard reads the time when it writes', async () => {
    const round = await openRound();
    const scoreCheck = harness.gate.arm('getScore', (request) => request['participantId'] === 'pt_lead_dl');
    const committing = harness.client.call.commitAsLead({ roundId: round.id, idempotencyKey: key('lead'), amount: cny(100_000) }, lead);
    await scoreCheck.reached;
    // The deadline passes while credit thinks (the close is not due yet: it runs 2 s after endsAt).
    clock.set(new Date(round.endsAt.getTime() + 500));
    scoreCheck.release();
    await expect(committing).rejects.toMatchObject({ code: 'INVALID_STATE' });
    expect(await harness.client.call.getRound({ roundId: round.id }, issuer)).toMatchObject({ leadId: '', committed: cny(0), investorsCount: 0 });
    expect(await held('pt_lead_dl')).toBe(0n);
  });

  it('a follower whose hold answers after the close is given back by the close, without waiting for the hold to expire', async () => {
    const round = await openRound();
    await harness.client.call.commitAsLead({ roundId: round.id, idempotencyKey: key('lead'), amount: cny(100_000) }, lead);
    const heldBefore = await held('pt_fa_dl');
    const hold = harness.gate.arm('createTransfer', (request) => request['referenceKind'] === 'commitment');
    const idempotencyKey = key('late');
    const committing = harness.client.call.placeCommitment({ roundId: round.id, idempotencyKey, amount: cny(3_000) }, followers[0]!).catch((error: unknown) => error);
    await hold.reached;
    clock.set(new Date(round.endsAt.getTime() + 3_000));
    const closed = await harness.equity.exposed.closing.close(round.id);
    expect(closed).toMatchObject({ state: 'closed', raisedMinor: 100_000n });
    hold.release();
    await committing;
    const commitmentId = commitmentIdOf(round.id, 'pt_fa_dl', idempotencyKey);
    await eventually(
      async () => ({ state: await stateOf(commitmentId, followers[0]!), held: await held('pt_fa_dl') }),
      (found) => found.held === heldBefore && (found.state === 'none' || found.state === 'refunded'),
      'the late follower’s money to be free and its commitment not pending',
      15_000,
    );
  });
});

describe('two replicas whose clocks are apart at the deadline', () => {
  it('the replica behind cannot land a commitment after the other one closed the round', async () => {
    const round = await openRound();
    await harness.client.call.commitAsLead({ roundId: round.id, idempotencyKey: key('lead'), amount: cny(100_000) }, lead);
    // The replica's clock stays ten seconds before the deadline throughout.
    replicaClock.set(new Date(round.endsAt.getTime() - 10_000));
    const heldBefore = await held('pt_fb_dl');
    const hold = harness.gate.arm('createTransfer', (request) => request['referenceKind'] === 'commitment');
    const idempotencyKey = key('behind');
    const committing = replica!.exposed.commitments.commit(followers[1]!.identity, { roundId: round.id, idempotencyKey, amount: cny(5_000), role: 'follower' }).catch((error: unknown) => error);
    await hold.reached;
    clock.set(new Date(round.endsAt.getTime() + 3_000));
    expect(await harness.equity.exposed.closing.close(round.id)).toMatchObject({ state: 'closed', raisedMinor: 100_000n });
    hold.release();
    await committing;
    await expect(replica!.exposed.commitments.commit(followers[2]!.identity, { roundId: round.id, idempotencyKey: key('after'), amount: cny(5_000), role: 'follower' })).rejects.toMatchObject({ code: 'INVALID_STATE' });
    const commitmentId = commitmentIdOf(round.id, 'pt_fb_dl', idempotencyKey);
    await eventually(
      async () => ({ state: await stateOf(commitmentId, followers[1]!), held: await held('pt_fb_dl'), round: await harness.client.call.getRound({ roundId: round.id }, issuer) }),
      (found) => found.held === heldBefore && (found.state === 'none' || found.state === 'refunded') && found.round.state === 'closed',
      'the money of the commitment from the replica behind to be free',
      15_000,
    );
    expect(await held('pt_fc_dl')).toBe(0n);
  });
});
