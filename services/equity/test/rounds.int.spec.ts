// Proves the equity service over real gRPC beside real escrow and credit services (MongoDB-wire server, Kafka): sealed profiles, every refusal, an oversubscribed round closed pro rata with exact wallets, fee and proceeds, a failed round returning everything, limits across rounds, credit scoring equity's own events (a first lead qualified by an accredited profile alone, a breacher accredited later refused), and a close that resumes (run twice, a saga a lost escrow answer left unfinished given back).
import { connectMongo } from '@sizhong/kit';
import { testInfrastructure } from '@sizhong/testkit';
import { escrowAccountIdOf } from '../src/app/commitments';
import { as, cny, eventually, type EquityHarness, startEquityHarness } from './support';

jest.setTimeout(180_000);

const dayMs = 86_400_000;
let harness: EquityHarness;
let keySequence = 0;
const key = (label: string) => `${label}-${Date.now()}-${(keySequence += 1)}`;

const issuer = as('pt_issuer_int', 'issuer');
const lead = as('pt_lead_int', 'investor');
const newLead = as('pt_newlead_int', 'investor');
const followers = ['pt_fa_int', 'pt_fb_int', 'pt_fc_int'].map((id) => as(id, 'investor'));
const small = as('pt_small_int', 'investor');
const breacher = as('pt_breacher_int', 'investor');
const regulator = as('pt_regulator_int', 'regulator');
const deposits = 1_000_000n;

beforeAll(async () => {
  harness = await startEquityHarness('equity-rounds', { EQUITY_LIMIT_FLOOR_MINOR: '20000', EQUITY_ESCROW_DEADLINE_MS: '1500' });
  for (const participant of [lead, newLead, ...followers, small, breacher]) await harness.escrow.deposit(participant.identity.participantId, deposits);
  await harness.client.call.putInvestorProfile({ annualIncome: cny(100_000_000), netWorth: cny(500_000_000), accredited: true }, lead);
  await harness.client.call.putInvestorProfile({ annualIncome: cny(100_000_000), netWorth: cny(500_000_000), accredited: true }, newLead);
  for (const follower of followers) await harness.client.call.putInvestorProfile({ annualIncome: cny(10_000_000), netWorth: cny(5_000_000), accredited: false }, follower);
  // 5% of 1 000 000 = 50 000 (above the floor of 20 000 set for this file).
  await harness.client.call.putInvestorProfile({ annualIncome: cny(1_000_000), netWorth: cny(0), accredited: false }, small);
  await harness.client.call.putInvestorProfile({ annualIncome: cny(1_000_000), netWorth: cny(0), accredited: false }, breacher);
  // A fresh platform: no one has led a round. The accredited profiles reach credit as
  // InvestorProfileUpdated events: 600 + 60 (ACCREDITED_INVESTOR) = 660 ≥ 650, enough to lead.
  for (const investor of [lead, newLead]) await harness.investorScore(investor.identity.participantId, (score) => score === 660, 'the accredited investor at 660');
});

afterAll(async () => {
  await harness?.stop();
});

async function round(overrides: Record<string, unknown> = {}, endsInMs = 10 * 60_000) {
  return harness.client.call.createRound(
    { idempotencyKey: key('round'), title: 'Seed round', target: cny(100_000), maximum: cny(150_000), pricePerShare: cny(1_000), endsAt: new Date(Date.now() + endsInMs), leadMinBps: 500, leadCarryBps: 2_000, investorsMax: 0, ...overrides },
    issuer,
  );
}

const commit = (who: { identity: { participantId: string } }, roundId: string, amountMinor: number, idempotencyKey = key('commit')) =>
  harness.client.call.placeCommitment({ roundId, idempotencyKey, amount: cny(amountMinor) }, who as never);
const commitLead = (who: { identity: { participantId: string } }, roundId: string, amountMinor: number, idempotencyKey = key('lead')) =>
  harness.client.call.commitAsLead({ roundId, idempotencyKey, amount: cny(amountMinor) }, who as never);

/** The wallet's available money (what is held for pending commitments is not available). */
async function available(participantId: string): Promise<bigint> {
  const wallet = await harness.escrow.wallet.call.getWallet({ currency: 'CNY' }, { identity: { participantId, roles: ['investor'] } });
  return wallet.available?.amountMinor ?? 0n;
}

async function held(participantId: string): Promise<bigint> {
  const wallet = await harness.escrow.wallet.call.getWallet({ currency: 'CNY' }, { identity: { participantId, roles: ['investor'] } });
  return wallet.held?.amountMinor ?? 0n;
}

async function balance(accountId: string) {
  const found = await harness.escrow.ledger.call.getBalance({ accountId });
  return { available: found.available?.amountMinor ?? 0n, held: found.held?.amountMinor ?? 0n };
}

/** Waits out a round's deadline (they end within seconds here), then closes it as the scheduler would. */
async function closeNow(roundId: string) {
  const current = await harness.client.call.getRound({ roundId }, issuer);
  const waitMs = (current.endsAt?.getTime() ?? 0) - Date.now();
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs + 50));
  return harness.equity.exposed.closing.close(roundId);
}

describe('investor profiles', () => {
  it('answer the 12-month limit, and are stored sealed: no income or net worth in the database', async () => {
    const profile = await harness.client.call.getInvestorProfile({ investorId: 'pt_fa_int' }, followers[0]!);
    expect(profile).toMatchObject({ annualIncome: cny(10_000_000), netWorth: cny(5_000_000), accredited: false, limit12Months: cny(500_000), used: cny(0) });
    const accredited = await harness.client.call.getInvestorProfile({ investorId: 'pt_lead_int' }, regulator);
    expect(accredited.limit12Months).toBeUndefined();

    const mongo = await connectMongo(testInfrastructure().mongoUrl, harness.equity.database);
    const stored = await mongo.db.collection<{ _id: string; state: Record<string, unknown> }>('investors').findOne({ _id: 'pt_fa_int' });
    await mongo.close();
    const text = JSON.stringify(stored, (_key, value: unknown) => (typeof value === 'bigint' ? value.toString() : value));
    expect(text).not.toContain('10000000');
    expect(text).not.toContain('5000000');
    expect(stored?.state['profile']).toMatchObject({ accredited: false, currency: 'CNY', sealed: { keyVersion: 1 } });
  });

  it("another investor's profile is NOT_FOUND", async () => {
    await expect(harness.client.call.getInvestorProfile({ investorId: 'pt_fa_int' }, followers[1]!)).rejects.toMatchObject({ code: 'NOT_FOUND' });
  });
});

describe('an oversubscribed round', () => {
  it('refuses followers before the lead, unqualified and small leads; closes pro rata with exact wallets, fee and proceeds', async () => {
    const opened = await round({}, 8_000);
    expect(opened).toMatchObject({ state: 'open_for_lead', commitmentsCap: cny(225_000), investorsMax: 200 });

    await expect(commit(followers[0]!, opened.id, 10_000)).rejects.toMatchObject({ code: 'LEAD_REQUIRED' });
    await expect(commitLead(followers[0]!, opened.id, 50_000)).rejects.toMatchObject({ code: 'LEAD_NOT_QUALIFIED', details: { reason: 'not_accredited' } });
    await expect(commitLead(as('pt_issuer_int', 'investor', 'issuer'), opened.id, 50_000)).rejects.toMatchObject({ code: 'LEAD_NOT_QUALIFIED', details: { reason: 'issuer' } });
    // The lead has led nothing yet: accreditation alone (660) qualifies them.
    await expect(commitLead(lead, opened.id, 4_000)).rejects.toMatchObject({ code: 'LEAD_SHARE_TOO_SMALL' });

    const leadKey = key('lead');
    const leadCommitment = await commitLead(lead, opened.id, 50_000, leadKey);
    expect(leadCommitment).toMatchObject({ role: 'lead', state: 'pending', amount: cny(50_000) });
    // The same key again is the same commitment; with another amount it is refused.
    await expect(commitLead(lead, opened.id, 50_000, leadKey)).resolves.toMatchObject({ id: leadCommitment.id });
    await expect(commitLead(lead, opened.id, 60_000, leadKey)).rejects.toMatchObject({ code: 'IDEMPOTENCY_KEY_REUSED' });

    await expect(commit(small, opened.id, 60_000)).rejects.toMatchObject({ code: 'INVESTOR_LIMIT_EXCEEDED', details: { remainingMinor: '50000' } });
    const placed = [await commit(followers[0]!, opened.id, 80_000), await commit(followers[1]!, opened.id, 50_000), await commit(followers[2]!, opened.id, 30_000)];
    await expect(commit(followers[0]!, opened.id, 100_000)).rejects.toMatchObject({ code: 'ROUND_FULL' });
    await expect(commit(followers[0]!, opened.id, 1_500)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await harness.client.call.getRound({ roundId: opened.id }, issuer)).toMatchObject({ state: 'open', leadId: 'pt_lead_int', committed: cny(210_000), investorsCount: 4 });
    expect(await available('pt_fa_int')).toBe(deposits - 80_000n);
    expect(await held('pt_fa_int')).toBe(80_000n);
    // Inside the cooling-off window (48 h by default, the round ends in seconds) no one may cancel.
    await expect(harness.client.call.cancelCommitment({ commitmentId: placed[0]!.id }, followers[0]!)).rejects.toMatchObject({ code: 'COOLING_OFF_ENDED' });
    await expect(harness.client.call.getCommitment({ commitmentId: placed[0]!.id }, followers[1]!)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(harness.client.call.getCapTable({ roundId: opened.id }, small)).rejects.toMatchObject({ code: 'NOT_FOUND' });

    const closed = await closeNow(opened.id);
    expect(closed).toMatchObject({ state: 'closed', raisedMinor: 150_000n, feeMinor: 7_500n, sharesIssued: 150n });
    // 100 shares for followers asking 80 + 50 + 30: 50, 31.25, 18.75 → 50, 31, 19 (the leftover share to the largest remainder).
    const table = await harness.client.call.getCapTable({ roundId: opened.id }, followers[2]!);
    expect(table.holders.map((holder) => [holder.participantId, holder.role, holder.shares, holder.amount?.amountMinor])).toEqual([
      ['pt_lead_int', 'lead', 50n, 50_000n],
      ['pt_fa_int', 'follower', 50n, 50_000n],
      ['pt_fb_int', 'follower', 31n, 31_000n],
      ['pt_fc_int', 'follower', 19n, 19_000n],
    ]);
    expect(table).toMatchObject({ leadId: 'pt_lead_int', leadCarryBps: 2_000, sharesIssued: 150n });
    expect(await available('pt_lead_int')).toBe(deposits - 50_000n);
    expect(await available('pt_fa_int')).toBe(deposits - 50_000n);
    expect(await available('pt_fb_int')).toBe(deposits - 31_000n);
    expect(await available('pt_fc_int')).toBe(deposits - 19_000n);
    for (const participant of ['pt_lead_int', 'pt_fa_int', 'pt_fb_int', 'pt_fc_int']) expect(await held(participant)).toBe(0n);
    expect(await harness.client.call.getCommitment({ commitmentId: placed[1]!.id }, followers[1]!)).toMatchObject({ state: 'allocated', shares: 31n, allocatedAmount: cny(31_000), refundedAmount: cny(19_000) });
    const issuerWallet = await harness.escrow.wallet.call.getWallet({ currency: 'CNY' }, { identity: { participantId: 'pt_issuer_int', roles: ['issuer'] } });
    expect(issuerWallet.available?.amountMinor).toBe(142_500n);
    expect(await balance(escrowAccountIdOf({ id: opened.id, pricePerShare: cny(1_000) }))).toEqual({ available: 0n, held: 0n });

    // A second close (a rerun after a crash) changes nothing.
    await harness.equity.exposed.closing.close(opened.id);
    expect(await available('pt_fb_int')).toBe(deposits - 31_000n);
    expect((await harness.escrow.wallet.call.getWallet({ currency: 'CNY' }, { identity: { participantId: 'pt_issuer_int', roles: ['issuer'] } })).available?.amountMinor).toBe(142_500n);

    // Credit scored equity's own events: the lead's first closed round (660 + 25), the small investor's breach attempt.
    await eventually(() => harness.credit.scores.call.getScore({ participantId: 'pt_lead_int', role: 'investor' }), (profile) => profile.score === 685, "the lead's score to reach 685");
    await eventually(() => harness.credit.scores.call.getScore({ participantId: 'pt_small_int', role: 'investor' }), (profile) => profile.score === 585, 'the breach attempt to cost 15 points');
    const invariants = await harness.escrow.ledger.call.getInvariants({});
    expect(invariants.conserved).toBe(true);
  });
});

describe('lead qualification on credit', () => {
  it('an accredited investor with a bad record (a limit breach: 660 − 15 = 645) is not qualified; a non-accredited one never is', async () => {
    const withLead = await round();
    await commitLead(lead, withLead.id, 10_000);
    // Before accreditation: the 12-month limit (50 000) refuses 60 000, and credit records the attempt (600 − 15).
    await expect(commit(breacher, withLead.id, 60_000)).rejects.toMatchObject({ code: 'INVESTOR_LIMIT_EXCEEDED' });
    await harness.investorScore('pt_breacher_int', (score) => score === 585, 'the breach attempt to cost 15 points');
    const fresh = await round();
    await expect(commitLead(breacher, fresh.id, 10_000)).rejects.toMatchObject({ code: 'LEAD_NOT_QUALIFIED', details: { reason: 'not_accredited' } });
    await harness.client.call.putInvestorProfile({ annualIncome: cny(100_000_000), netWorth: cny(500_000_000), accredited: true }, breacher);
    await harness.investorScore('pt_breacher_int', (score) => score === 645, 'the accredited breacher at 645');
    await expect(commitLead(breacher, fresh.id, 10_000)).rejects.toMatchObject({ code: 'LEAD_NOT_QUALIFIED', details: { reason: 'score_too_low' } });
    expect(await harness.client.call.getRound({ roundId: fresh.id }, issuer)).toMatchObject({ state: 'open_for_lead', leadId: '' });
  });
});

describe('rounds that fail, fill up, or lose their lead', () => {
  it('a round that misses its target returns every commitment, and the limit is used across rounds meanwhile', async () => {
    const other = await round({}, 6_000);
    await commitLead(lead, other.id, 10_000);
    const first = await commit(small, other.id, 30_000);
    const second = await round({}, 10 * 60_000);
    await commitLead(lead, second.id, 10_000);
    // 30 000 of the small investor's 50 000 are in use in the other round.
    await expect(commit(small, second.id, 30_000)).rejects.toMatchObject({ code: 'INVESTOR_LIMIT_EXCEEDED', details: { remainingMinor: '20000' } });
    expect(await harness.client.call.getInvestorProfile({ investorId: 'pt_small_int' }, small)).toMatchObject({ used: cny(30_000) });

    const failed = await closeNow(other.id);
    expect(failed).toMatchObject({ state: 'failed', reason: 'target_not_met', committedMinor: 40_000n });
    expect(await harness.client.call.getCommitment({ commitmentId: first.id }, small)).toMatchObject({ state: 'refunded', refundedAmount: cny(30_000) });
    expect(await available('pt_small_int')).toBe(deposits);
    expect(await harness.client.call.getInvestorProfile({ investorId: 'pt_small_int' }, small)).toMatchObject({ used: cny(0) });
    await expect(commit(small, second.id, 30_000)).resolves.toMatchObject({ state: 'pending' });
  });

  it('ROUND_FULL for the investor after investorsMax; an investor already in may add to it', async () => {
    const full = await round({ investorsMax: 3 });
    await commitLead(lead, full.id, 10_000);
    await commit(followers[0]!, full.id, 1_000);
    await commit(followers[1]!, full.id, 1_000);
    await expect(commit(followers[2]!, full.id, 1_000)).rejects.toMatchObject({ code: 'ROUND_FULL', details: { investorsMax: 3 } });
    await expect(commit(followers[1]!, full.id, 1_000)).resolves.toMatchObject({ state: 'pending' });
    expect(await harness.client.call.getRound({ roundId: full.id }, issuer)).toMatchObject({ investorsCount: 3, committed: cny(13_000) });
  });

  it('a lead who cancels reopens the round for a lead and freezes follow commitments; a new lead reopens it', async () => {
    // Cooling-off is 48 h: a round ending in three days can still be cancelled.
    const later = await round({}, 3 * dayMs);
    const leadCommitment = await commitLead(lead, later.id, 10_000);
    const follow = await commit(followers[0]!, later.id, 5_000);
    await expect(harness.client.call.cancelCommitment({ commitmentId: leadCommitment.id }, followers[0]!)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(harness.client.call.cancelCommitment({ commitmentId: leadCommitment.id }, lead)).resolves.toMatchObject({ state: 'cancelled' });
    expect(await harness.client.call.getRound({ roundId: later.id }, issuer)).toMatchObject({ state: 'open_for_lead', leadId: '', committed: cny(5_000), investorsCount: 1 });
    await expect(commit(followers[1]!, later.id, 5_000)).rejects.toMatchObject({ code: 'LEAD_REQUIRED' });
    // The new lead qualified by accreditation alone (660, waited for in beforeAll).
    await commitLead(newLead, later.id, 10_000);
    await expect(commit(followers[1]!, later.id, 5_000)).resolves.toMatchObject({ state: 'pending' });
    await expect(harness.client.call.cancelCommitment({ commitmentId: follow.id }, followers[0]!)).resolves.toMatchObject({ state: 'cancelled' });
    // Cancelling again answers the cancelled commitment.
    await expect(harness.client.call.cancelCommitment({ commitmentId: follow.id }, followers[0]!)).resolves.toMatchObject({ state: 'cancelled' });
    expect(await harness.client.call.getRound({ roundId: later.id }, issuer)).toMatchObject({ state: 'open', leadId: 'pt_newlead_int', committed: cny(15_000), investorsCount: 2 });
  });

  it('a commitment saga left unfinished (escrow made its hold after equity gave up waiting) is given back at close, hold voided', async () => {
    const unfinished = await round({}, 6_000);
    await commitLead(lead, unfinished.id, 100_000);
    const before = await available('pt_fc_int');
    const hold = harness.gate.arm('createTransfer', (request) => request['referenceKind'] === 'commitment');
    const placing = commit(followers[2]!, unfinished.id, 7_000);
    await hold.reached;
    await expect(placing).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    hold.release();
    await eventually(() => available('pt_fc_int'), (now) => now === before - 7_000n, 'escrow to make the late hold');
    await expect(closeNow(unfinished.id)).resolves.toMatchObject({ state: 'closed', raisedMinor: 100_000n });
    expect(await available('pt_fc_int')).toBe(before);
    expect(await held('pt_fc_int')).toBe(0n);
  });

  it('a round whose scheduled close was lost (the scheduler gave up) is closed and settled by the recovery loop', async () => {
    const lost = await round({}, 3_000);
    const leadCommitment = await commitLead(lead, lost.id, 100_000);
    const mongo = await connectMongo(testInfrastructure().mongoUrl, harness.equity.database);
    try {
      expect((await mongo.db.collection<{ _id: string }>('equity_jobs').deleteOne({ _id: `close:${lost.id}` })).deletedCount).toBe(1);
    } finally {
      await mongo.close();
    }
    await new Promise((resolve) => setTimeout(resolve, 3_200));
    expect(await harness.client.call.getRound({ roundId: lost.id }, issuer)).toMatchObject({ state: 'open' });
    await harness.equity.exposed.closing.recover(0);
    const recovered = await harness.client.call.getRound({ roundId: lost.id }, issuer);
    expect(recovered).toMatchObject({ state: 'closed', raised: cny(100_000) });
    expect(await harness.client.call.getCommitment({ commitmentId: leadCommitment.id }, lead)).toMatchObject({ state: 'allocated', shares: 100n });
    // Settled: a second run finds nothing left to do.
    await expect(harness.equity.exposed.closing.recover(0)).resolves.toBe(0);
  });
});
