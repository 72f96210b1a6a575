// Proves GetScore and GetHistory over real gRPC: a new participant gets the starting score, task-dispatch
// events (fixture producer, real envelope and topic) move a solver's score, reasons and history.
import { type FixtureEvent, FixtureProducer, startCreditHarness, type CreditHarness, eventually } from './support';

const at = (day: number) => new Date(Date.UTC(2026, 0, 1 + day));

function accepted(id: string, solverId: string, onTime: boolean, day: number): FixtureEvent {
  return { id, type: 'TaskMilestoneAccepted', aggregateType: 'task', aggregateId: `tsk_${solverId}`, occurredAt: at(day), payloadType: 'TaskMilestoneAccepted', payload: { taskId: `tsk_${id}`, ownerId: 'ent_1', solverId, milestoneIndex: 0, onTime, acceptedBy: 'owner' } };
}

describe('credit scores over gRPC', () => {
  let harness: CreditHarness;
  let tasks: FixtureProducer;

  beforeAll(async () => {
    harness = await startCreditHarness('credit-scores');
    tasks = new FixtureProducer('task-dispatch', harness.topicPrefix);
  });
  afterAll(async () => {
    await tasks.close();
    await harness.stop();
  });

  it('gives a participant without history the starting score 600 (fair), marked new, with no reasons', async () => {
    const profile = await harness.scores.call.getScore({ participantId: 'nobody_yet', role: '' });
    expect(profile).toMatchObject({ participantId: 'nobody_yet', role: '', score: 600, band: 'fair', modelVersion: 'credit-model-2', reasons: [], isNew: true });
    await expect(harness.scores.call.getScore({ participantId: 'nobody_yet', role: 'investor' })).resolves.toMatchObject({ score: 600, isNew: true });
  });

  it('refuses an unknown role and a malformed id', async () => {
    await expect(harness.scores.call.getScore({ participantId: 'p1', role: 'pirate' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(harness.scores.call.getScore({ participantId: 'bad id!', role: '' })).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  // One task (one key, one partition), so the events apply in the order published and the history is exact.
  it('moves the solver score with accepted, late and rejected work, explains it, and keeps the history', async () => {
    await tasks.publish(
      accepted('e1', 'sol_a', true, 0),
      accepted('e2', 'sol_a', false, 1),
      { id: 'e3', type: 'TaskMilestoneRejected', aggregateType: 'task', aggregateId: 'tsk_sol_a', occurredAt: at(2), payloadType: 'TaskMilestoneRejected', payload: { taskId: 'tsk_e3', ownerId: 'ent_1', solverId: 'sol_a', milestoneIndex: 0, reason: 'incomplete', rejections: 1 } },
    );
    // 600 + 2×6 (delivered) − 10 (one late) − 12 (one rejected) = 590.
    const profile = await eventually(() => harness.scores.call.getScore({ participantId: 'sol_a', role: 'solver' }), (p) => p.score === 590, 'the solver score to reach 590');
    expect(profile).toMatchObject({ band: 'poor', isNew: false, updatedAt: at(2) });
    expect(profile.reasons.map((reason) => [reason.code, reason.impact])).toEqual([
      ['MILESTONES_REJECTED', 12],
      ['LATE_DELIVERIES', 10],
    ]);
    expect(profile.reasons[0]).toMatchObject({ descriptionEn: 'Deliveries rejected', descriptionZh: '被拒收的交付' });
    await expect(harness.scores.call.getScore({ participantId: 'sol_a', role: '' })).resolves.toMatchObject({ score: 590 });
    await expect(harness.scores.call.getScore({ participantId: 'sol_a', role: 'backer' })).resolves.toMatchObject({ score: 600, isNew: true });

    const history = await harness.scores.call.getHistory({ participantId: 'sol_a', role: 'solver', page: { limit: 2, cursor: '' } });
    expect(history.items.map((change) => [change.previousScore, change.score, change.causeEventId])).toEqual([
      [602, 590, 'e3'],
      [606, 602, 'e2'],
    ]);
    expect(history.items[0]?.cause).toBe('TaskMilestoneRejected on task tsk_sol_a');
    const rest = await harness.scores.call.getHistory({ participantId: 'sol_a', role: 'solver', page: { limit: 2, cursor: history.page?.nextCursor ?? '' } });
    expect(rest.items.map((change) => [change.previousScore, change.score, change.causeEventId])).toEqual([[600, 606, 'e1']]);
    expect(rest.page?.nextCursor).toBe('');
  });

  it('scores lead investors and issuers from equity events (the contract equity publishes to its topic)', async () => {
    const equity = new FixtureProducer('equity', harness.topicPrefix);
    try {
      const round = (id: string, version: number, type: string, payload: Record<string, unknown>, day: number): FixtureEvent => ({ id, type, aggregateType: 'round', aggregateId: 'rnd_1', aggregateVersion: version, occurredAt: at(day), payloadType: type as FixtureEvent['payloadType'], payload: { roundId: 'rnd_1', issuerId: 'iss_1', ...payload } });
      await equity.publish(
        round('q1', 1, 'RoundOpened', {}, 0),
        round('q2', 2, 'LeadCommitted', { investorId: 'inv_lead', commitmentId: 'cm_1' }, 1),
        round('q3', 3, 'InvestorLimitBreachAttempted', { investorId: 'inv_lead' }, 2),
        round('q4', 4, 'RoundClosed', { leadId: 'inv_lead' }, 3),
      );
      // 600 + 25 (closed as lead) − 15 (a limit breach attempted) = 610; the issuer 600 + 20 = 620.
      await eventually(() => harness.scores.call.getScore({ participantId: 'inv_lead', role: 'investor' }), (p) => p.score === 610, 'the lead at 610');
      await eventually(() => harness.scores.call.getScore({ participantId: 'iss_1', role: 'issuer' }), (p) => p.score === 620, 'the issuer at 620');
      await expect(harness.scores.call.getScore({ participantId: 'inv_lead', role: 'investor' })).resolves.toMatchObject({ reasons: [{ code: 'LIMIT_BREACHES', impact: 15 }] });
    } finally {
      await equity.close();
    }
  });

  it('raises an accredited investor to 660 from InvestorProfileUpdated and keeps the flag of the highest aggregate version, whatever the arrival order', async () => {
    const equity = new FixtureProducer('equity', harness.topicPrefix);
    try {
      const profile = (investorId: string, version: number, accredited: boolean): FixtureEvent => ({ id: `pu_${investorId}_${version}`, type: 'InvestorProfileUpdated', aggregateType: 'investor', aggregateId: investorId, aggregateVersion: version, occurredAt: at(version), payloadType: 'InvestorProfileUpdated', payload: { investorId, accredited } });
      const score = (investorId: string) => harness.scores.call.getScore({ participantId: investorId, role: 'investor' });
      // In order: accredited (v1) → 660, qualifies for lead at 650; withdrawn (v2) → back to 600.
      await equity.publish(profile('inv_acc', 1, true));
      const accredited = await eventually(() => score('inv_acc'), (p) => p.score === 660, 'the accredited investor at 660');
      expect(accredited).toMatchObject({ band: 'fair', isNew: false, reasons: [], modelVersion: 'credit-model-2' });
      await equity.publish(profile('inv_acc', 2, false));
      await eventually(() => score('inv_acc'), (p) => p.score === 600, 'the withdrawn accreditation back to 600');

      // Out of order: v2 (not accredited) arrives before v1 (accredited). A limit breach at v3 (same key, so
      // applied after both) marks that both were applied: 600 − 15 = 585; had the last arrival won, 645.
      await equity.publish(profile('inv_late', 2, false), profile('inv_late', 1, true), {
        id: 'pu_inv_late_breach',
        type: 'InvestorLimitBreachAttempted',
        aggregateType: 'investor',
        aggregateId: 'inv_late',
        aggregateVersion: 3,
        occurredAt: at(3),
        payloadType: 'InvestorLimitBreachAttempted',
        payload: { roundId: 'rnd_x', investorId: 'inv_late' },
      });
      await eventually(() => score('inv_late'), (p) => p.score === 585, 'the older accreditation not to override the newer withdrawal');
      await new Promise((resolve) => setTimeout(resolve, 300));
      await expect(score('inv_late')).resolves.toMatchObject({ score: 585, reasons: [{ code: 'LIMIT_BREACHES', impact: 15 }] });
    } finally {
      await equity.close();
    }
  });

  it('applies a duplicated event once', async () => {
    await tasks.publish(accepted('d1', 'sol_dup', true, 0), accepted('d1', 'sol_dup', true, 0), accepted('d2', 'sol_dup', true, 1));
    await eventually(() => harness.scores.call.getScore({ participantId: 'sol_dup', role: 'solver' }), (p) => p.score === 612, 'two deliveries counted');
    await new Promise((resolve) => setTimeout(resolve, 500));
    await expect(harness.scores.call.getScore({ participantId: 'sol_dup', role: 'solver' })).resolves.toMatchObject({ score: 612 });
  });
});
