// Pins the credit model: the worked examples of docs/credit-model.md give exactly the documented
// score, band and reasons (given a history, when it is replayed, then the profile is as written).
import { creditScore, replayCredit } from './participant-credit';
import { event, profileUpdated, times } from './fixtures';
import { bandOf, reasonsMax, startingScore } from './model';

const profileOf = (events: Parameters<typeof replayCredit>[0], participantId: string, role: Parameters<typeof creditScore>[1]) => {
  const score = creditScore(replayCredit(events).get(participantId), role);
  return { score: score.score, band: score.band, reasons: score.reasons.map((reason) => `${reason.code} -${reason.impact}`), isNew: score.isNew };
};

describe('credit model: the documented examples', () => {
  it('example 1: a participant with no history starts at 600, fair, new, without reasons', () => {
    expect(profileOf([], 'nobody', '')).toEqual({ score: 600, band: 'fair', reasons: [], isNew: true });
    expect(startingScore).toBe(600);
  });

  it('example 2: a solver with 20 accepted deliveries (3 late), 2 rejections and a lost dispute over 200 days', () => {
    const history = [
      ...times(20, (index) => event('TaskMilestoneAccepted', { taskId: `t${index}`, solverId: 'sol', onTime: index >= 3 }, index * 10)),
      ...times(2, (index) => event('TaskMilestoneRejected', { taskId: `r${index}`, solverId: 'sol' }, 100)),
      event('DisputeResolved', { taskId: 'd1', solverId: 'sol', ownerId: 'ent', solverShareBps: 2_000 }, 200),
    ];
    // 600 + 120 delivered + 18 age (6 × 30 days) + 4 volume (23 events) − 45 − 30 − 24 = 643
    expect(profileOf(history, 'sol', 'solver')).toEqual({ score: 643, band: 'fair', reasons: ['DISPUTES_LOST -45', 'LATE_DELIVERIES -30', 'MILESTONES_REJECTED -24'], isNew: false });
    // The enterprise won the dispute: no loss on its side, one event of activity.
    expect(profileOf(history, 'ent', 'enterprise')).toEqual({ score: 600, band: 'fair', reasons: [], isNew: false });
  });

  it('example 3: a creator whose funded campaign went overdue twice and then failed delivery', () => {
    const history = [
      event('CampaignLaunched', { campaignId: 'c1', creatorId: 'cre' }, 0),
      event('CampaignSucceeded', { campaignId: 'c1', creatorId: 'cre' }, 30),
      event('DeliveryOverdue', { campaignId: 'c1', creatorId: 'cre', milestoneIndex: 0 }, 45),
      event('DeliveryOverdue', { campaignId: 'c1', creatorId: 'cre', milestoneIndex: 1 }, 50),
      event('CampaignDeliveryFailed', { campaignId: 'c1', creatorId: 'cre' }, 60),
    ];
    // 600 + 10 funded + 6 age (2 × 30 days) − 150 − 50 = 416
    expect(profileOf(history, 'cre', 'creator')).toEqual({ score: 416, band: 'very_poor', reasons: ['DELIVERY_FAILED -150', 'DELIVERY_OVERDUE -50'], isNew: false });
  });

  it('example 4: the floor holds at 350 and caps bound each factor', () => {
    const history = [
      ...times(3, (index) => event('CampaignDeliveryFailed', { campaignId: `f${index}`, creatorId: 'bad' })),
      ...times(5, (index) => event('DeliveryOverdue', { campaignId: `o${index}`, creatorId: 'bad' })),
      ...times(5, (index) => event('CampaignFailed', { campaignId: `x${index}`, creatorId: 'bad' })),
    ];
    // 600 + 2 volume − 300 (cap) − 125 (cap) − 100 (cap) = 77 → 350
    expect(profileOf(history, 'bad', 'creator')).toEqual({ score: 350, band: 'very_poor', reasons: ['DELIVERY_FAILED -300', 'DELIVERY_OVERDUE -125', 'CAMPAIGNS_FAILED -100'], isNew: false });
  });

  it('example 5: a lead investor with four closed rounds, one failed and two limit breaches over 400 days', () => {
    const history = [
      ...times(4, (index) => event('RoundClosed', { roundId: `r${index}`, issuerId: 'iss', leadId: 'lead' }, index * 100)),
      event('RoundFailed', { roundId: 'rf', issuerId: 'iss', leadId: 'lead', reason: 'target_not_met' }, 400),
      ...times(2, (index) => event('InvestorLimitBreachAttempted', { roundId: `rb${index}`, investorId: 'lead' }, 200)),
    ];
    // 600 + 100 lead record + 39 age (13 × 30 days) − 30 − 30 = 679 (ties ranked by code)
    expect(profileOf(history, 'lead', 'investor')).toEqual({ score: 679, band: 'fair', reasons: ['LEAD_ROUNDS_FAILED -30', 'LIMIT_BREACHES -30'], isNew: false });
    // The issuer: 4 closed (80), 1 failed (−15), 5 events over 400 days (39).
    expect(profileOf(history, 'iss', 'issuer')).toEqual({ score: 704, band: 'good', reasons: ['ROUNDS_FAILED -15'], isNew: false });
  });

  it('example 6: the overall score adds up every role; a refused pledge payment counts against the backer', () => {
    const history = [
      ...times(10, (index) => event('TaskMilestoneAccepted', { taskId: `t${index}`, solverId: 'p', onTime: true })),
      ...times(5, (index) => event('PledgeCollected', { pledgeId: `pl${index}`, backerId: 'p' })),
      event('TransferRejected', { debitAccountId: 'wallet:p:CNY', referenceKind: 'pledge', rejectionCode: 'INSUFFICIENT_FUNDS' }),
      event('TransferRejected', { debitAccountId: 'wallet:p:CNY', referenceKind: 'pledge', rejectionCode: 'IDEMPOTENCY_KEY_REUSED' }),
    ];
    expect(profileOf(history, 'p', 'solver')).toMatchObject({ score: 662, band: 'fair' });
    expect(profileOf(history, 'p', 'backer')).toEqual({ score: 590, band: 'poor', reasons: ['PAYMENT_FAILURES -20'], isNew: false });
    // 600 + 60 + 10 + 2 volume (16 events) − 20 = 652
    expect(profileOf(history, 'p', '')).toEqual({ score: 652, band: 'fair', reasons: ['PAYMENT_FAILURES -20'], isNew: false });
    expect(profileOf(history, 'p', 'investor')).toMatchObject({ score: 600, isNew: true });
  });

  it('example 7: an accredited new investor qualifies as a lead (660); the latest version of the profile decides; one breach or one failed lead round drops below 650', () => {
    expect(profileOf([profileUpdated('acc', true, 1)], 'acc', 'investor')).toEqual({ score: 660, band: 'fair', reasons: [], isNew: false });
    expect(profileOf([profileUpdated('acc', true, 1)], 'acc', '')).toMatchObject({ score: 660 });
    // Version 3 (accreditation withdrawn) wins over version 2, whichever arrives last; profile edits are no activity.
    const withdrawn = [profileUpdated('acc', true, 1, 0), profileUpdated('acc', false, 3, 40), profileUpdated('acc', true, 2, 20)];
    expect(profileOf(withdrawn, 'acc', 'investor')).toEqual({ score: 600, band: 'fair', reasons: [], isNew: false });
    expect(profileOf([...withdrawn].reverse(), 'acc', 'investor').score).toBe(600);
    // 600 + 60 − 15 = 645
    const breached = [profileUpdated('acc', true, 1), event('InvestorLimitBreachAttempted', { roundId: 'rb', investorId: 'acc' })];
    expect(profileOf(breached, 'acc', 'investor')).toEqual({ score: 645, band: 'fair', reasons: ['LIMIT_BREACHES -15'], isNew: false });
    // 600 + 60 − 30 = 630
    const failedLead = [profileUpdated('acc', true, 1), event('RoundFailed', { roundId: 'rf', issuerId: 'iss', leadId: 'acc', reason: 'target_not_met' })];
    expect(profileOf(failedLead, 'acc', 'investor')).toEqual({ score: 630, band: 'fair', reasons: ['LEAD_ROUNDS_FAILED -30'], isNew: false });
  });

  it('returns at most four reasons, largest first', () => {
    const history = [
      event('CampaignDeliveryFailed', { creatorId: 'many' }),
      event('DeliveryOverdue', { creatorId: 'many' }),
      event('CampaignFailed', { creatorId: 'many' }),
      event('MilestoneReleased', { creatorId: 'many', dueAt: new Date(0) }),
      ...times(2, () => event('PledgeCancelled', { backerId: 'many' })),
    ];
    const reasons = profileOf(history, 'many', '').reasons;
    expect(reasons).toHaveLength(reasonsMax);
    expect(reasons).toEqual(['DELIVERY_FAILED -150', 'DELIVERY_OVERDUE -25', 'CAMPAIGNS_FAILED -20', 'LATE_DELIVERIES -10']);
  });

  it('bands at their edges', () => {
    expect([349, 350, 499, 500, 599, 600, 699, 700, 799, 800, 950].map(bandOf)).toEqual(['very_poor', 'very_poor', 'very_poor', 'poor', 'poor', 'fair', 'fair', 'good', 'good', 'excellent', 'excellent']);
  });

  it('counts an event once, however often it is applied', () => {
    const accepted = event('TaskMilestoneAccepted', { taskId: 't', solverId: 's', onTime: true }, 0, 'same');
    expect(profileOf([accepted, accepted, accepted], 's', 'solver').score).toBe(606);
  });

  it('an even dispute split is nobody’s loss; more than half to the solver is the owner’s', () => {
    const even = [event('DisputeResolved', { solverId: 's', ownerId: 'o', solverShareBps: 5_000 })];
    expect(profileOf(even, 's', 'solver').score).toBe(600);
    expect(profileOf(even, 'o', 'enterprise').score).toBe(600);
    const solverWins = [event('DisputeResolved', { solverId: 's', ownerId: 'o', solverShareBps: 5_001 })];
    expect(profileOf(solverWins, 'o', 'enterprise')).toMatchObject({ score: 555, reasons: ['DISPUTES_LOST -45'] });
  });
});
