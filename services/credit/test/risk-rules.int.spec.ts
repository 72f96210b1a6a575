// Proves every risk rule over the real broker: events in the real envelope on the real topics (escrow,
// task-dispatch and equity shapes from fixture producers) raise each rule's alert at its threshold and
// nothing one step below it; alerts carry their evidence, are raised once, and the gRPC feed resumes
// from a cursor with exactly the alerts after it.
import { creditV1 } from '@sizhong/proto';
import { ledgerInvariantsType } from '../src/domain/risk/rules';
import { type CreditHarness, eventually, type FixtureEvent, FixtureProducer, startCreditHarness } from './support';

jest.setTimeout(120_000);

const thresholds = {
  PLEDGE_VELOCITY_SPIKE: { pledges: 5, windowMs: 60_000 },
  DELIVERY_OVERDUE: { overdueMilestones: 2 },
  LEAD_TIED_TO_ISSUER: { reciprocalCommitments: 2 },
  SCORE_COLLAPSE: { dropPoints: 149 },
  ESCROW_HELD_TOO_LONG: { windowMs: 60_000 },
};

let sequence = 0;
// The velocity rule dedupes a burst by the window (a minute here) its first pledge falls in: keep
// the test's burst (0…4.5 s after `now`) inside one minute, or a late pledge that slides the burst
// across a minute boundary is a second alert (CI hit it once). At most 11 s ahead of the clock.
const wall = Date.now();
const now = wall % 60_000 > 50_000 ? wall - (wall % 60_000) + 61_000 : wall;
const at = (offsetMs = 0) => new Date(now + offsetMs);
const cny = (amountMinor: bigint) => ({ currency: 'CNY', amountMinor });

function fixture(type: string, payloadType: FixtureEvent['payloadType'], aggregateId: string, payload: Record<string, unknown>, occurredAt = at()): FixtureEvent {
  sequence += 1;
  return { id: `rr_${sequence}`, type, aggregateType: 'test', aggregateId, aggregateVersion: sequence, occurredAt, payloadType, payload };
}

const pledge = (campaignId: string, backerId: string, amountMinor: bigint, offsetMs = 0) =>
  fixture('PledgePlaced', 'PledgeChanged', `pl_${campaignId}_${sequence}`, { pledgeId: `pl_${campaignId}_${sequence}`, campaignId, creatorId: 'cre_x', backerId, amount: cny(amountMinor) }, at(offsetMs));

const launched = (campaignId: string, goalMinor: bigint) =>
  fixture('CampaignLaunched', 'CampaignLaunched', campaignId, { campaignId, creatorId: 'cre_x', goal: cny(goalMinor), fundingModel: 'all_or_nothing', endsAt: at(86_400_000), deliveryDate: at(2 * 86_400_000) });

describe('risk rules over the broker', () => {
  let harness: CreditHarness;
  let escrow: FixtureProducer;
  let tasks: FixtureProducer;
  let equity: FixtureProducer;

  beforeAll(async () => {
    harness = await startCreditHarness('risk-rules', { CREDIT_RISK_THRESHOLDS: JSON.stringify(thresholds), CREDIT_HOLDS_CHECK_INTERVAL_MS: '200' });
    [escrow, tasks, equity] = [new FixtureProducer('escrow', harness.topicPrefix), new FixtureProducer('task-dispatch', harness.topicPrefix), new FixtureProducer('equity', harness.topicPrefix)];
  });
  afterAll(async () => {
    for (const producer of [escrow, tasks, equity]) await producer.close();
    await harness.stop();
  });

  const supervisor = { identity: { participantId: 'reg_1', roles: ['regulator' as const] } };
  const allAlerts = async () => (await harness.risk.call.listAlerts({ severity: '', rule: '', page: { limit: 100, cursor: '' } }, supervisor)).items;

  it('fires each rule at its threshold and stays quiet one step below', async () => {
    await escrow.publish(
      // Velocity: 5 pledges within a minute fire; 4 do not.
      ...[0, 1, 2, 3, 4].map((index) => pledge('c_fast', `b_fast_${index}`, 1_000n, index * 1_000)),
      ...[0, 1, 2, 3].map((index) => pledge('c_slow', `b_slow_${index}`, 1_000n, index * 1_000)),
      // Concentration: a backer with 50.001% of a 100 000 goal fires; 49.999% does not (in any order).
      launched('c_conc', 100_000n),
      launched('c_even', 100_000n),
      pledge('c_conc', 'b_small', 49_999n),
      pledge('c_conc', 'b_big', 50_001n, 10),
      pledge('c_even', 'b_first', 49_999n),
      pledge('c_even', 'b_second', 49_999n, 10),
      pledge('c_even', 'b_third', 2n, 20),
      // Overdue: two milestones of one campaign fire; one does not.
      fixture('DeliveryOverdue', 'DeliveryOverdue', 'c_late', { campaignId: 'c_late', creatorId: 'cre_late', milestoneIndex: 0 }),
      fixture('DeliveryOverdue', 'DeliveryOverdue', 'c_late', { campaignId: 'c_late', creatorId: 'cre_late', milestoneIndex: 1 }),
      fixture('DeliveryOverdue', 'DeliveryOverdue', 'c_once', { campaignId: 'c_once', creatorId: 'cre_once', milestoneIndex: 0 }),
      // Failed after promotion: 50 pledges fire, 49 do not.
      fixture('CampaignFailed', 'CampaignFailed', 'c_hyped', { campaignId: 'c_hyped', creatorId: 'cre_h', reason: 'goal_not_met', pledgesCount: 50, backersCount: 40 }),
      fixture('CampaignFailed', 'CampaignFailed', 'c_quiet', { campaignId: 'c_quiet', creatorId: 'cre_q', reason: 'goal_not_met', pledgesCount: 49, backersCount: 40 }),
      // Score collapse: one failed delivery takes 150 points (fires at 149); five failed campaigns and four rejections take 148.
      fixture('CampaignDeliveryFailed', 'CampaignDeliveryFailed', 'c_broken', { campaignId: 'c_broken', creatorId: 'cre_collapse' }),
      ...[0, 1, 2, 3, 4].map((index) => fixture('CampaignFailed', 'CampaignFailed', `c_sink_${index}`, { campaignId: `c_sink_${index}`, creatorId: 'pt_sinking', reason: 'no_pledges' })),
      // Held too long: resolved 60 001 ms after the hold fires; 60 000 ms does not. A hold still open for two minutes fires from the sweep.
      fixture('TransferPending', 'TransferChanged', 'tr_long', { transferId: 'tr_long', mode: 'two_phase', debitAccountId: 'wallet:b1:CNY', creditAccountId: 'escrow:campaign:c9:CNY', amount: cny(500n), referenceKind: 'pledge' }, at(-200_000)),
      fixture('TransferPosted', 'TransferChanged', 'tr_long', { transferId: 'tr_long', mode: 'two_phase', debitAccountId: 'wallet:b1:CNY', creditAccountId: 'escrow:campaign:c9:CNY', amount: cny(500n), postedAmount: cny(500n) }, at(-200_000 + 60_001)),
      // (Held 60 000 ms from 10 s ago: neither its resolution nor the sweep of the next 50 s finds it past the window.)
      fixture('TransferPending', 'TransferChanged', 'tr_ok', { transferId: 'tr_ok', mode: 'two_phase', debitAccountId: 'wallet:b1:CNY', creditAccountId: 'escrow:campaign:c9:CNY', amount: cny(700n), referenceKind: 'pledge' }, at(-10_000)),
      fixture('TransferVoided', 'TransferChanged', 'tr_ok', { transferId: 'tr_ok', mode: 'two_phase', debitAccountId: 'wallet:b1:CNY', creditAccountId: 'escrow:campaign:c9:CNY', amount: cny(700n) }, at(50_000)),
      fixture('TransferPending', 'TransferChanged', 'tr_open_old', { transferId: 'tr_open_old', mode: 'two_phase', debitAccountId: 'wallet:b2:CNY', creditAccountId: 'escrow:task:t9:CNY', amount: cny(900n), referenceKind: 'task' }, at(-120_000)),
      fixture('TransferPending', 'TransferChanged', 'tr_open_new', { transferId: 'tr_open_new', mode: 'two_phase', debitAccountId: 'wallet:b2:CNY', creditAccountId: 'escrow:task:t9:CNY', amount: cny(100n), referenceKind: 'task' }, at(-30_000)),
    );
    await tasks.publish(
      ...[0, 1, 2].map((index) => fixture('DisputeOpened', 'DisputeOpened', `t_d${index}`, { disputeId: `d${index}`, taskId: `t_d${index}`, ownerId: 'ent_1', solverId: 'sol_disputed', openedBy: 'owner' })),
      ...[0, 1].map((index) => fixture('DisputeOpened', 'DisputeOpened', `t_e${index}`, { disputeId: `e${index}`, taskId: `t_e${index}`, ownerId: 'ent_1', solverId: 'sol_twice', openedBy: 'owner' })),
      ...[0, 1, 2, 3].map((index) => fixture('TaskMilestoneRejected', 'TaskMilestoneRejected', `t_r${index}`, { taskId: `t_r${index}`, ownerId: 'ent_1', solverId: 'pt_sinking', milestoneIndex: 0, rejections: 1 })),
    );
    await equity.publish(
      ...[0, 1, 2].map((index) => fixture('InvestorLimitBreachAttempted', 'InvestorLimitBreachAttempted', `r_b${index}`, { roundId: `r_b${index}`, investorId: 'inv_greedy' })),
      ...[0, 1].map((index) => fixture('InvestorLimitBreachAttempted', 'InvestorLimitBreachAttempted', `r_c${index}`, { roundId: `r_c${index}`, investorId: 'inv_careful' })),
      // Ties: the issuer committed twice to the lead's rounds (fires at 2), once (quiet), and a lead that is the issuer.
      fixture('CommitmentPlaced', 'CommitmentPlaced', 'r_l1a', { roundId: 'r_l1a', issuerId: 'lead_1', investorId: 'iss_1', commitmentId: 'cm1' }),
      fixture('CommitmentPlaced', 'CommitmentPlaced', 'r_l1b', { roundId: 'r_l1b', issuerId: 'lead_1', investorId: 'iss_1', commitmentId: 'cm2' }),
      fixture('CommitmentPlaced', 'CommitmentPlaced', 'r_l2a', { roundId: 'r_l2a', issuerId: 'lead_2', investorId: 'iss_2', commitmentId: 'cm3' }),
    );
    // The leads commit after the issuers' commitments are in (ties are seen when the lead commits).
    await eventually(async () => (await harness.credit.engine.heldInEscrow()).length, (count) => count > 0, 'escrow events applied');
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    await equity.publish(
      fixture('LeadCommitted', 'LeadCommitted', 'r_i1', { roundId: 'r_i1', issuerId: 'iss_1', investorId: 'lead_1', commitmentId: 'cm4' }),
      fixture('LeadCommitted', 'LeadCommitted', 'r_i2', { roundId: 'r_i2', issuerId: 'iss_2', investorId: 'lead_2', commitmentId: 'cm5' }),
      fixture('LeadCommitted', 'LeadCommitted', 'r_self', { roundId: 'r_self', issuerId: 'same_person', investorId: 'same_person', commitmentId: 'cm6' }),
    );
    // Money conservation: a report off by one minor unit fires (tolerance 0); a balanced one does not.
    const report = (id: string, balancesMinor: bigint) => ({ id, type: ledgerInvariantsType, aggregateId: 'escrow', aggregateType: 'ledger', occurredAt: at(), payload: { totals: [{ currency: 'CNY', balancesMinor, inFlightMinor: 0n }] } });
    await harness.credit.engine.evaluate(report('inv_ok', 0n));
    await harness.credit.engine.evaluate(report('inv_broken', 1n));

    const expected = [
      'BACKER_CONCENTRATION campaign:c_conc',
      'CAMPAIGN_FAILED_AFTER_PROMOTION campaign:c_hyped',
      'DELIVERY_OVERDUE campaign:c_late',
      'DISPUTES_RISING participant:sol_disputed',
      'ESCROW_HELD_TOO_LONG transfer:tr_long',
      'ESCROW_HELD_TOO_LONG transfer:tr_open_old',
      'INVESTOR_LIMIT_BREACHES participant:inv_greedy',
      'LEAD_TIED_TO_ISSUER round:r_i1',
      'LEAD_TIED_TO_ISSUER round:r_self',
      'MONEY_CONSERVATION_BROKEN ledger:escrow',
      'PLEDGE_VELOCITY_SPIKE campaign:c_fast',
      // The creator's role score and overall score both fell by 150.
      'SCORE_COLLAPSE participant:cre_collapse',
      'SCORE_COLLAPSE participant:cre_collapse',
    ];
    const names = (alerts: creditV1.RiskAlert[]) => alerts.map((alert) => `${alert.rule} ${alert.subject?.kind}:${alert.subject?.id}`).sort();
    await eventually(allAlerts, (alerts) => alerts.length >= expected.length, 'every expected alert', 60_000);
    // Let anything else that might fire arrive before the exact comparison.
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const alerts = await allAlerts();
    expect(names(alerts)).toEqual(expected);

    const velocity = alerts.find((alert) => alert.rule === 'PLEDGE_VELOCITY_SPIKE')!;
    expect(velocity).toMatchObject({ severity: 'high', subject: { kind: 'campaign', id: 'c_fast' } });
    expect(velocity.evidence.filter((item) => item.eventType === 'PledgePlaced')).toHaveLength(5);
    expect(velocity.evidence.every((item) => item.link.startsWith('/v1/'))).toBe(true);
    expect(velocity.evidence.at(-1)?.link).toBe('/v1/campaigns/c_fast');
    expect(alerts.find((alert) => alert.rule === 'MONEY_CONSERVATION_BROKEN')).toMatchObject({ severity: 'critical', evidence: [{ eventId: 'inv_broken', link: '/v1/ledger/invariants' }] });
  });

  it('raises an alert once however often its trigger is seen again', async () => {
    const before = (await allAlerts()).length;
    await escrow.publish(pledge('c_fast', 'b_fast_late', 1_000n, 4_500));
    await harness.credit.engine.evaluate({ id: 'inv_broken_again', type: ledgerInvariantsType, aggregateId: 'escrow', aggregateType: 'ledger', occurredAt: at(1_000), payload: { totals: [{ currency: 'CNY', balancesMinor: 1n, inFlightMinor: 0n }] } });
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    expect(await allAlerts()).toHaveLength(before);
  });

  it('lists with filters and pages, refuses non-supervisors, and sums what escrow holds', async () => {
    const high = await harness.risk.call.listAlerts({ severity: 'high', rule: '', page: { limit: 2, cursor: '' } }, supervisor);
    expect(high.items).toHaveLength(2);
    expect(high.items.every((alert) => alert.severity === 'high')).toBe(true);
    const next = await harness.risk.call.listAlerts({ severity: 'high', rule: '', page: { limit: 100, cursor: high.page?.nextCursor ?? '' } }, supervisor);
    expect(Number(next.items[0]!.cursor)).toBeLessThan(Number(high.items[1]!.cursor));
    const byRule = await harness.risk.call.listAlerts({ severity: '', rule: 'DELIVERY_OVERDUE', page: { limit: 10, cursor: '' } }, supervisor);
    expect(byRule.items.map((alert) => alert.subject?.id)).toEqual(['c_late']);
    await expect(harness.risk.call.listAlerts({ severity: 'x', rule: '', page: undefined }, supervisor)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(harness.risk.call.listAlerts({ severity: '', rule: '', page: undefined }, { identity: { participantId: 'b', roles: ['backer'] } })).rejects.toMatchObject({ code: 'PERMISSION_DENIED' });

    const summary = await harness.risk.call.getSummary({}, supervisor);
    expect(summary.alertsTotal).toBe(13n);
    expect(summary.alerts).toContainEqual({ rule: 'SCORE_COLLAPSE', severity: 'high', count: 2n });
    // Campaign escrow: 500 posted (the 700 hold was voided); task escrow: two open holds, 900 + 100.
    expect(summary.heldInEscrow).toEqual([
      { kind: 'campaign', held: { currency: 'CNY', amountMinor: 500n } },
      { kind: 'task', held: { currency: 'CNY', amountMinor: 1_000n } },
    ]);
  });

  it('streams the feed in order and resumes after a cursor with exactly the alerts after it', async () => {
    const read = async (afterCursor: string, count: number) => {
      const controller = new AbortController();
      const received: creditV1.RiskAlert[] = [];
      for await (const alert of harness.risk.call.streamRiskFeed({ afterCursor }, { ...supervisor, signal: controller.signal })) {
        received.push(alert);
        if (received.length === count) break;
      }
      controller.abort();
      return received;
    };
    const everything = await read('', 13);
    expect(everything.map((alert) => Number(alert.cursor))).toEqual([...Array(13).keys()].map((index) => index + 1));
    const rest = await read(everything[9]!.cursor, 3);
    expect(rest.map((alert) => alert.id)).toEqual(everything.slice(10).map((alert) => alert.id));
  });
});
