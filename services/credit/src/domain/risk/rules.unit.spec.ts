// Proves the pure risk rules: each fires at its threshold and not one step below, thresholds are
// configurable and checked, and which campaigns the velocity rule flags does not depend on the order
// pledges arrive in (fast-check), with a state per key as the service keeps it.
import fc from 'fast-check';
import type { CreditEvent } from '../events';
import type { RiskRule } from './rule';
import { backerConcentration, disputeOverdue, moneyConservation, pledgeVelocitySpike, resolveThresholds, riskRules, scoreCollapse, scoreChangedEvent } from './rules';

/** Runs events through rules as the engine does (state per rule and key, each event once), returning alert keys. */
function run(rules: readonly RiskRule[], events: readonly CreditEvent[], overrides: Record<string, Record<string, number>> = {}): string[] {
  const thresholds = resolveThresholds(overrides);
  const states = new Map<string, unknown>();
  const alerts = new Set<string>();
  for (const event of events) {
    for (const rule of rules) {
      const keys = rule.keys(event);
      if (keys.length === 0) continue;
      const result = rule.step(new Map(keys.map((key) => [key, states.get(`${rule.id}|${key}`)])), event, thresholds[rule.id]!);
      for (const [key, state] of result.states) states.set(`${rule.id}|${key}`, state);
      for (const alert of result.alerts) alerts.add(`${alert.rule} ${alert.subject.kind}:${alert.subject.id} ${alert.dedupeKey}`);
    }
  }
  return [...alerts].sort();
}

let sequence = 0;
const pledge = (campaignId: string, backerId: string, amountMinor: bigint, atMs: number): CreditEvent => {
  sequence += 1;
  return { id: `p${sequence}`, type: 'PledgePlaced', aggregateId: `pl${sequence}`, aggregateType: 'pledge', occurredAt: new Date(atMs), payload: { pledgeId: `pl${sequence}`, campaignId, backerId, amount: { currency: 'CNY', amountMinor } } };
};

const launched = (campaignId: string, goalMinor: bigint): CreditEvent => {
  sequence += 1;
  return { id: `l${sequence}`, type: 'CampaignLaunched', aggregateId: campaignId, aggregateType: 'campaign', occurredAt: new Date(0), payload: { campaignId, creatorId: 'creator', goal: { currency: 'CNY', amountMinor: goalMinor } } };
};

describe('risk rules (pure)', () => {
  it('velocity: the 20th pledge within a minute fires, 19 do not, 20 spread over more than a minute do not', () => {
    const burst = Array.from({ length: 20 }, (_unused, index) => pledge('c1', `b${index}`, 100n, index * 1_000));
    expect(run([pledgeVelocitySpike], burst)).toEqual(['PLEDGE_VELOCITY_SPIKE campaign:c1 0']);
    expect(run([pledgeVelocitySpike], burst.slice(0, 19))).toEqual([]);
    const spread = Array.from({ length: 20 }, (_unused, index) => pledge('c2', `b${index}`, 100n, index * 3_200));
    expect(run([pledgeVelocitySpike], spread)).toEqual([]);
  });

  it('concentration: 50 % of 100 000 fires, 49.999 % does not, below the campaign minimum nothing fires', () => {
    const launch = launched('c', 100_000n);
    expect(run([backerConcentration], [launch, pledge('c', 'a', 50_000n, 0), pledge('c', 'b', 50_000n, 1)])).toEqual(['BACKER_CONCENTRATION campaign:c a', 'BACKER_CONCENTRATION campaign:c b']);
    expect(run([backerConcentration], [launch, pledge('c', 'a', 49_999n, 0), pledge('c', 'b', 49_999n, 1), pledge('c', 'x', 2n, 2)])).toEqual([]);
    expect(run([backerConcentration], [launch, pledge('c', 'a', 99_999n, 0)])).toEqual([]);
    expect(run([backerConcentration], [launch, pledge('c', 'a', 100_000n, 0)])).toEqual(['BACKER_CONCENTRATION campaign:c a']);
  });

  it("concentration is measured against the goal: a campaign's first backer holding all that is pledged so far is no alert", () => {
    // 100 % of what is pledged, 20 % of the goal: ordinary. Half of the goal: concentrated.
    expect(run([backerConcentration], [launched('g', 1_000_000n), pledge('g', 'first', 200_000n, 0)])).toEqual([]);
    expect(run([backerConcentration], [launched('g', 1_000_000n), pledge('g', 'first', 200_000n, 0), pledge('g', 'first', 300_000n, 1)])).toEqual(['BACKER_CONCENTRATION campaign:g first']);
    // Past the goal, against what is pledged: one backer who alone funds a campaign thrice over is concentration.
    expect(run([backerConcentration], [launched('h', 100_000n), pledge('h', 'a', 300_000n, 0), pledge('h', 'b', 400_000n, 1)])).toEqual(['BACKER_CONCENTRATION campaign:h a', 'BACKER_CONCENTRATION campaign:h b']);
    expect(run([backerConcentration], [launched('i', 100_000n), pledge('i', 'a', 40_000n, 0), pledge('i', 'b', 40_000n, 1), pledge('i', 'c', 40_000n, 2)])).toEqual([]);
    // The goal arriving after the pledges (another partition) judges them then, with the same outcome.
    expect(run([backerConcentration], [pledge('k', 'first', 200_000n, 0), launched('k', 1_000_000n)])).toEqual([]);
    expect(run([backerConcentration], [pledge('k', 'big', 600_000n, 0), launched('k', 1_000_000n)])).toEqual(['BACKER_CONCENTRATION campaign:k big']);
  });

  it('velocity flags the same campaigns in any order of the pledges', () => {
    const pledges = fc.array(fc.record({ campaign: fc.constantFrom('c1', 'c2'), backer: fc.constantFrom('a', 'b', 'c', 'd'), amount: fc.bigInt({ min: 1n, max: 80_000n }), atMs: fc.integer({ min: 0, max: 120_000 }) }), { maxLength: 40 });
    fc.assert(
      fc.property(
        pledges.map((list) => list.map((item) => pledge(item.campaign, item.backer, item.amount, item.atMs))).chain((events) => fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }))),
        ([events, shuffled]) => {
          const thresholds = { PLEDGE_VELOCITY_SPIKE: { pledges: 4, windowMs: 30_000 } };
          // Whether each campaign is flagged (how many alerts a long spike raises may depend on the order).
          const flagged = (list: readonly CreditEvent[]) => run([pledgeVelocitySpike], list, thresholds).map((alert) => alert.split(' ')[1]);
          expect(new Set(flagged(shuffled))).toEqual(new Set(flagged(events)));
        },
      ),
      { numRuns: 200 },
    );
  });

  it('score collapse: a fall of the threshold fires, one point less does not', () => {
    const change = (score: number, previousScore: number) => scoreChangedEvent({ participantId: 'p', role: '', score, previousScore, at: new Date(0), causeEventId: `c${score}`, causeEventType: 'X' });
    expect(run([scoreCollapse], [change(500, 600)])).toHaveLength(1);
    expect(run([scoreCollapse], [change(501, 600)])).toEqual([]);
  });

  it('money conservation: an imbalance past the tolerance fires once per breach', () => {
    const report = (id: string, balancesMinor: bigint, atMs: number): CreditEvent => ({ id, type: 'LedgerInvariantsReported', aggregateId: 'escrow', aggregateType: 'ledger', occurredAt: new Date(atMs), payload: { totals: [{ currency: 'CNY', balancesMinor, inFlightMinor: 0n }] } });
    expect(run([moneyConservation], [report('r1', 5n, 0)], { MONEY_CONSERVATION_BROKEN: { toleranceMinor: 5 } })).toEqual([]);
    expect(run([moneyConservation], [report('r1', 6n, 0), report('r2', 6n, 1), report('r3', 0n, 2), report('r4', -1n, 3)])).toEqual(['MONEY_CONSERVATION_BROKEN ledger:escrow 0', 'MONEY_CONSERVATION_BROKEN ledger:escrow 3']);
  });

  it('dispute overdue: task-dispatch’s DisputeOverdue raises one alert per dispute for the regulator', () => {
    const overdue = (id: string, disputeId: string): CreditEvent => ({
      id,
      type: 'DisputeOverdue',
      aggregateId: 'as1',
      aggregateType: 'assignment',
      occurredAt: new Date(0),
      payload: { disputeId, taskId: 't1', ownerId: 'o', solverId: 's', milestoneIndex: 0, assignmentId: 'as1', openedBy: 'owner', amount: { currency: 'CNY', amountMinor: 2_000n } },
    });
    expect(run([disputeOverdue], [overdue('e1', 'd1'), overdue('e2', 'd1'), overdue('e3', 'd2')])).toEqual(['DISPUTE_OVERDUE task:t1 d1', 'DISPUTE_OVERDUE task:t1 d2']);
  });

  it('refuses unknown rules and thresholds in the configuration; every rule has an id, a severity and defaults', () => {
    expect(() => resolveThresholds({ NOPE: { x: 1 } })).toThrow(/unknown risk rule NOPE/);
    expect(() => resolveThresholds({ PLEDGE_VELOCITY_SPIKE: { speed: 1 } })).toThrow(/has no threshold speed/);
    expect(riskRules.map((rule) => rule.id)).toHaveLength(11);
    for (const rule of riskRules) expect(Object.keys(rule.defaults).length).toBeGreaterThan(0);
  });
});
