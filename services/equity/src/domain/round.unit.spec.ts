// Pins the round's rules: creation checks, every refusal code a commitment or cancellation can meet, lead qualification, and the outcome at close.
import { DomainError } from '@sizhong/kit/domain';
import { type Commitment, cancelCommitment, placeCommitment, resolveCommitment, viewableCommitment } from './commitment';
import { dayMs, fixtureNow, openRound, usd } from './fixtures';
import { defaultEquityPolicy } from './policy';
import { admit, checkCommitmentAmount, checkLeadShare, checkNotIssuer, closeRound, createRound, leadJoined, leadLeft, markSettled, qualifyLead, type Round, type RoundTotals, startClosing } from './round';

const code = (name: string) => expect.objectContaining({ code: name }) as DomainError;
const noTotals: RoundTotals = { committedMinor: 0n, investorsCount: 0, leadPresent: false };

function withLead(round: Round): Round {
  return leadJoined(round, 'pt_lead', 'cm_lead', fixtureNow).round;
}

describe('createRound', () => {
  it('opens for a lead with the defaults (lead share 500 bps, 200 investors) and the cap at 150% of the maximum', () => {
    const round = openRound();
    expect(round).toMatchObject({ state: 'open_for_lead', leadMinBps: 500, investorsMax: 200, commitmentsCapMinor: 3_000_000n });
    expect(round.cancellableUntil.getTime()).toBe(round.endsAt.getTime() - 2 * dayMs);
  });

  it.each([
    ['target not whole shares', { target: usd(1_000_050) }, 'INVALID_ARGUMENT'],
    ['maximum below target', { maximum: usd(500_000) }, 'INVALID_ARGUMENT'],
    ['mixed currencies', { maximum: { currency: 'CNY', amountMinor: 2_000_000n } }, 'CURRENCY_MISMATCH'],
    ['deadline too soon', { endsAt: new Date(fixtureNow.getTime() + 1_000) }, 'INVALID_ARGUMENT'],
    ['lead share 0', { leadMinBps: 0 }, 'INVALID_ARGUMENT'],
    ['too many investors', { investorsMax: 2_001 }, 'INVALID_ARGUMENT'],
    ['an empty title', { title: '   ' }, 'INVALID_ARGUMENT'],
  ])('refuses %s', (_name, overrides, expected) => {
    expect(() => openRound(overrides as never)).toThrow(code(expected));
  });

  it('rounds the cap down to whole shares', () => {
    expect(createRound({ id: 'r', issuerId: 'i', title: 't', target: usd(300), maximum: usd(300), pricePerShare: usd(300), endsAt: new Date(fixtureNow.getTime() + 2 * dayMs), leadCarryBps: 0 }, defaultEquityPolicy, fixtureNow).round.commitmentsCapMinor).toBe(300n);
  });
});

describe('admission', () => {
  const follower = { role: 'follower' as const, amount: usd(10_000), newInvestor: true };
  const lead = { role: 'lead' as const, amount: usd(50_000), newInvestor: true };

  it('LEAD_REQUIRED: followers wait for the lead', () => {
    expect(() => admit(openRound(), noTotals, follower, fixtureNow)).toThrow(code('LEAD_REQUIRED'));
    // A lead who cancelled freezes follow commitments again.
    const reopened = leadLeft(withLead(openRound()), 'cm_lead', fixtureNow).round;
    expect(reopened.state).toBe('open_for_lead');
    expect(() => admit(reopened, noTotals, follower, fixtureNow)).toThrow(code('LEAD_REQUIRED'));
  });

  it('admits a follower once the lead is present', () => {
    expect(() => admit(withLead(openRound()), { ...noTotals, leadPresent: true, investorsCount: 1 }, follower, fixtureNow)).not.toThrow();
  });

  it('ROUND_FULL: the investor after the maximum number, and a commitment past the oversubscription cap', () => {
    const round = withLead(openRound({ investorsMax: 3 }));
    expect(() => admit(round, { committedMinor: 0n, investorsCount: 2, leadPresent: true }, follower, fixtureNow)).not.toThrow();
    expect(() => admit(round, { committedMinor: 0n, investorsCount: 3, leadPresent: true }, follower, fixtureNow)).toThrow(code('ROUND_FULL'));
    // An investor already in the round may add to it.
    expect(() => admit(round, { committedMinor: 0n, investorsCount: 3, leadPresent: true }, { ...follower, newInvestor: false }, fixtureNow)).not.toThrow();
    expect(() => admit(round, { committedMinor: 2_990_000n, investorsCount: 1, leadPresent: true }, follower, fixtureNow)).not.toThrow();
    expect(() => admit(round, { committedMinor: 2_990_100n, investorsCount: 1, leadPresent: true }, follower, fixtureNow)).toThrow(code('ROUND_FULL'));
    expect(() => checkCommitmentAmount(round, usd(3_000_100))).toThrow(code('ROUND_FULL'));
  });

  it('a second lead, a closed round or one past its deadline is INVALID_STATE', () => {
    expect(() => admit(withLead(openRound()), { ...noTotals, leadPresent: true }, lead, fixtureNow)).toThrow(code('INVALID_STATE'));
    expect(() => admit(openRound(), { ...noTotals, leadPresent: true }, lead, fixtureNow)).toThrow(code('INVALID_STATE'));
    const round = openRound();
    expect(() => admit(round, noTotals, lead, round.endsAt)).toThrow(code('INVALID_STATE'));
  });

  it('amounts are whole shares in the round currency', () => {
    const round = openRound();
    expect(() => checkCommitmentAmount(round, usd(150))).toThrow(code('INVALID_ARGUMENT'));
    expect(() => checkCommitmentAmount(round, { currency: 'CNY', amountMinor: 100n })).toThrow(code('CURRENCY_MISMATCH'));
    expect(() => checkCommitmentAmount(round, usd(0))).toThrow(code('INVALID_ARGUMENT'));
  });

  it('PERMISSION_DENIED: an issuer never invests in their own round', () => {
    expect(() => checkNotIssuer(openRound(), 'pt_issuer')).toThrow(code('PERMISSION_DENIED'));
  });
});

describe('lead', () => {
  const round = openRound();
  const candidate = { investorId: 'pt_lead', hasProfile: true, accredited: true, score: 700 };

  it('LEAD_SHARE_TOO_SMALL below leadMinBps of the target (exactly at it is enough)', () => {
    expect(() => checkLeadShare(round, usd(49_900))).toThrow(code('LEAD_SHARE_TOO_SMALL'));
    expect(() => checkLeadShare(round, usd(50_000))).not.toThrow();
  });

  it.each([
    ['the issuer', { investorId: 'pt_issuer' }, 'issuer'],
    ['no profile', { hasProfile: false }, 'no_profile'],
    ['not accredited', { accredited: false }, 'not_accredited'],
    ['a score below the minimum', { score: 649 }, 'score_too_low'],
  ])('LEAD_NOT_QUALIFIED for %s', (_name, overrides, reason) => {
    expect(() => qualifyLead(round, { ...candidate, ...overrides }, 650)).toThrow(expect.objectContaining({ code: 'LEAD_NOT_QUALIFIED', details: { reason } }) as DomainError);
  });

  it('qualifies at exactly the minimum score', () => {
    expect(() => qualifyLead(round, { ...candidate, score: 650 }, 650)).not.toThrow();
  });

  it('joining opens the round for followers; a replay changes nothing', () => {
    const joined = leadJoined(round, 'pt_lead', 'cm_lead', fixtureNow);
    expect(joined.round.state).toBe('open');
    expect(leadJoined(joined.round, 'pt_lead', 'cm_lead', fixtureNow).events).toEqual([]);
    expect(() => leadJoined(joined.round, 'pt_other', 'cm_other', fixtureNow)).toThrow(code('INVALID_STATE'));
  });
});

describe('commitments', () => {
  const round = withLead(openRound());
  const placed = placeCommitment({ id: 'cm_1', roundId: round.id, issuerId: round.issuerId, investorId: 'pt_a', role: 'follower', amount: usd(10_000), transferId: 'tr_1', placedAt: fixtureNow }).commitment;

  it('COOLING_OFF_ENDED from endsAt − cooling-off on; allowed a millisecond before', () => {
    expect(cancelCommitment(placed, round, 'pt_a', new Date(round.cancellableUntil.getTime() - 1)).commitment.state).toBe('cancelled');
    expect(() => cancelCommitment(placed, round, 'pt_a', round.cancellableUntil)).toThrow(code('COOLING_OFF_ENDED'));
  });

  it("another investor's cancel is NOT_FOUND; a resolved commitment is INVALID_STATE", () => {
    expect(() => cancelCommitment(placed, round, 'pt_b', fixtureNow)).toThrow(code('NOT_FOUND'));
    const allocated = resolveCommitment(placed, { commitmentId: 'cm_1', investorId: 'pt_a', role: 'follower', committedMinor: 10_000n, shares: 60n, amountMinor: 6_000n, refundedMinor: 4_000n }, fixtureNow).commitment;
    expect(allocated).toMatchObject({ state: 'allocated', shares: 60n, allocatedMinor: 6_000n, refundedMinor: 4_000n });
    expect(() => cancelCommitment(allocated, round, 'pt_a', fixtureNow)).toThrow(code('INVALID_STATE'));
  });

  it('is visible to its investor, the issuer and regulators only', () => {
    expect(viewableCommitment(placed, { participantId: 'pt_issuer', roles: ['issuer'] })).toBe(placed);
    expect(viewableCommitment(placed, { participantId: 'pt_r', roles: ['regulator'] })).toBe(placed);
    expect(() => viewableCommitment(placed, { participantId: 'pt_b', roles: ['investor'] })).toThrow(code('NOT_FOUND'));
  });
});

describe('closeRound', () => {
  const pending = (id: string, role: 'lead' | 'follower', amountMinor: bigint): Commitment => placeCommitment({ id, roundId: 'rd_1', issuerId: 'pt_issuer', investorId: `pt_${id}`, role, amount: usd(amountMinor), transferId: `tr_${id}`, placedAt: fixtureNow }).commitment;
  const facts = (commitments: Commitment[]) => commitments.map((each) => ({ commitmentId: each.id, investorId: each.investorId, role: each.role, amountMinor: each.amount.amountMinor, placedAt: each.placedAt }));
  const open = withLead(openRound());
  const round = startClosing(open, open.endsAt).round;

  it('is fenced only from the deadline on, and decided only behind the fence', () => {
    expect(() => startClosing(open, fixtureNow)).toThrow(code('INVALID_STATE'));
    expect(round).toMatchObject({ state: 'closing', leadId: 'pt_lead', closingAt: open.endsAt });
    expect(startClosing(round, open.endsAt).round).toBe(round);
    expect(() => closeRound(open, [], 500, open.endsAt)).toThrow(code('INVALID_STATE'));
    expect(() => admit(round, noTotals, { role: 'lead', amount: usd(100_000n), newInvestor: true }, fixtureNow)).toThrow(code('INVALID_STATE'));
  });

  it('fails without a lead, or with the target missed', () => {
    expect(closeRound(round, facts([pending('a', 'follower', 1_000_000n)]), 500, round.endsAt).round).toMatchObject({ state: 'failed', reason: 'no_lead' });
    expect(closeRound(round, facts([pending('l', 'lead', 50_000n), pending('a', 'follower', 900_000n)]), 500, round.endsAt).round).toMatchObject({ state: 'failed', reason: 'target_not_met', committedMinor: 950_000n });
  });

  it('closes with the allocation and the fee fixed when the round opened (PLATFORM_FEE_BPS then), whatever is configured now', () => {
    const closed = closeRound(round, facts([pending('l', 'lead', 500_000n), pending('a', 'follower', 1_500_000n), pending('b', 'follower', 1_000_000n)]), 1_000, round.endsAt).round;
    expect(closed).toMatchObject({ state: 'closed', raisedMinor: 2_000_000n, feeMinor: 100_000n, sharesIssued: 20_000n, committedMinor: 3_000_000n, leadId: 'pt_l' });
    if (closed.state !== 'closed') throw new Error('closed');
    expect(closed.allocations.map((line) => [line.commitmentId, line.shares])).toEqual([['l', 5_000n], ['a', 9_000n], ['b', 6_000n]]);
    // A round opened before the fee was kept on it takes the configured one.
    const { feeBps: _feeBps, ...older } = round;
    expect(closeRound(older as Round, facts([pending('l', 'lead', 500_000n), pending('a', 'follower', 1_500_000n)]), 1_000, round.endsAt).round).toMatchObject({ feeMinor: 200_000n });
  });

  it('is settled once, after its money moved; an open round is never marked settled', () => {
    const failed = closeRound(round, [], 500, round.endsAt).round;
    const settled = markSettled(failed, round.endsAt).round;
    expect(settled).toMatchObject({ state: 'failed', settledAt: round.endsAt });
    expect(markSettled(settled, new Date(round.endsAt.getTime() + 1)).round).toBe(settled);
    expect(markSettled(open, round.endsAt).round).toBe(open);
  });
});
