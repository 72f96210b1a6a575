// Proves the 12-month limit is used per currency (an investor whose profile moved from CNY to USD is not charged CNY commitments against a USD limit) and that a round's fee is fixed when it opens (a replica configured with another fee closes it with the fee it opened with).
import { type RunningService } from '@sizhong/kit';
import type { EquityUseCases } from '../src/equity-service';
import { as, cny, type EquityHarness, startEquityHarness, startEquityReplica, usd } from './support';

jest.setTimeout(90_000);

let harness: EquityHarness;
let replica: RunningService<EquityUseCases> | undefined;
let keySequence = 0;
const key = (label: string) => `${label}-${Date.now()}-${(keySequence += 1)}`;

const issuer = as('pt_issuer_lf', 'issuer');
const lead = as('pt_lead_lf', 'investor');
const investor = as('pt_investor_lf', 'investor');

beforeAll(async () => {
  // The harness opens rounds with a 5% fee; the replica is configured with 10%.
  harness = await startEquityHarness('equity-limits-fees', { PLATFORM_FEE_BPS: '500', EQUITY_LIMIT_FLOOR_MINOR: '20000' });
  replica = await startEquityReplica(harness, 'equity-limits-fees-replica', { PLATFORM_FEE_BPS: '1000' });
  for (const currency of ['CNY', 'USD']) {
    await harness.escrow.deposit('pt_lead_lf', 1_000_000n, currency);
    await harness.escrow.deposit('pt_investor_lf', 1_000_000n, currency);
  }
  await harness.client.call.putInvestorProfile({ annualIncome: cny(100_000_000), netWorth: cny(500_000_000), accredited: true }, lead);
  await harness.investorScore('pt_lead_lf', (score) => score === 660, 'the accredited lead at 660');
});

afterAll(async () => {
  await replica?.stop();
  await harness?.stop();
});

async function openRound(currency: 'CNY' | 'USD', endsInMs: number) {
  const amount = currency === 'CNY' ? cny : usd;
  const round = await harness.client.call.createRound(
    { idempotencyKey: key('round'), title: 'Limits and fees', target: amount(100_000), maximum: amount(150_000), pricePerShare: amount(1_000), endsAt: new Date(Date.now() + endsInMs), leadMinBps: 500, leadCarryBps: 0, investorsMax: 0 },
    issuer,
  );
  await harness.client.call.commitAsLead({ roundId: round.id, idempotencyKey: key('lead'), amount: amount(100_000) }, lead);
  return round;
}

describe('the 12-month limit in two currencies', () => {
  it('counts only commitments in the limit’s own currency', async () => {
    // 5% of 10 000.00 = 500.00 CNY (the floor is 200.00 in this file); 400.00 of it used in a CNY round.
    await harness.client.call.putInvestorProfile({ annualIncome: cny(1_000_000), netWorth: cny(0), accredited: false }, investor);
    const cnyRound = await openRound('CNY', 10 * 60_000);
    await harness.client.call.placeCommitment({ roundId: cnyRound.id, idempotencyKey: key('cny'), amount: cny(40_000) }, investor);
    expect(await harness.client.call.getInvestorProfile({ investorId: 'pt_investor_lf' }, investor)).toMatchObject({ used: cny(40_000) });

    // The investor's figures are now stated in USD: a USD limit of 500.00 with nothing used in USD.
    await harness.client.call.putInvestorProfile({ annualIncome: usd(1_000_000), netWorth: usd(0), accredited: false }, investor);
    expect(await harness.client.call.getInvestorProfile({ investorId: 'pt_investor_lf' }, investor)).toMatchObject({ limit12Months: usd(50_000), used: usd(0) });
    const usdRound = await openRound('USD', 10 * 60_000);
    await expect(harness.client.call.placeCommitment({ roundId: usdRound.id, idempotencyKey: key('usd'), amount: usd(30_000) }, investor)).resolves.toMatchObject({ state: 'pending' });
    await expect(harness.client.call.placeCommitment({ roundId: usdRound.id, idempotencyKey: key('usd'), amount: usd(30_000) }, investor)).rejects.toMatchObject({ code: 'INVESTOR_LIMIT_EXCEEDED', details: { usedMinor: '30000', currency: 'USD' } });
  });
});

describe('the fee of a round', () => {
  it('is the one in force when the round opened, whatever the closing replica is configured with', async () => {
    const round = await openRound('CNY', 3_000);
    await new Promise((resolve) => setTimeout(resolve, 3_100));
    const closed = await replica!.exposed.closing.close(round.id);
    expect(closed).toMatchObject({ state: 'closed', raisedMinor: 100_000n, feeMinor: 5_000n });
    const issuerWallet = await harness.escrow.wallet.call.getWallet({ currency: 'CNY' }, { identity: { participantId: 'pt_issuer_lf', roles: ['issuer'] } });
    expect(issuerWallet.available?.amountMinor).toBe(95_000n);
  });
});
