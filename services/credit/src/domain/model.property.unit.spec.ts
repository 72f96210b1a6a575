// Property tests of the credit model: scores stay within 350–950 for any history, and the profile
// does not depend on the order events are applied in, nor on duplicates.
import fc from 'fast-check';
import type { CreditEvent } from './events';
import { factExtractors } from './events';
import { creditRoles, scoreMax, scoreMin } from './model';
import { creditScore, factsFor, replayCredit } from './participant-credit';

const participants = ['p1', 'p2', 'p3'];
const eventTypes = Object.keys(factExtractors);

const eventsOf = (types: readonly string[]): fc.Arbitrary<Omit<CreditEvent, 'id'>> => fc
  .record({
    type: fc.constantFrom(...types),
    a: fc.constantFrom(...participants),
    b: fc.constantFrom(...participants),
    flag: fc.boolean(),
    share: fc.integer({ min: 0, max: 10_000 }),
    day: fc.integer({ min: 0, max: 1_000 }),
    stage: fc.constantFrom('open', 'awarded'),
    rejection: fc.constantFrom('INSUFFICIENT_FUNDS', 'LIMIT_EXCEEDED'),
    reference: fc.constantFrom('pledge', 'commitment', 'task', 'other'),
    version: fc.integer({ min: 1, max: 8 }),
  })
  .map(({ type, a, b, flag, share, day, stage, rejection, reference, version }) => {
    const occurredAt = new Date(Date.UTC(2026, 0, 1) + day * 86_400_000);
    const payload: Record<string, unknown> = {
      participantId: a,
      creatorId: a,
      backerId: b,
      solverId: a,
      ownerId: b,
      investorId: a,
      issuerId: b,
      leadId: flag ? a : '',
      onTime: flag,
      solverShareBps: share,
      stage,
      rejectionCode: rejection,
      referenceKind: reference,
      debitAccountId: `wallet:${a}:CNY`,
      dueAt: new Date(occurredAt.getTime() + (flag ? 1 : -1)),
      winners: [{ solverId: a }, { solverId: b }],
      accredited: flag,
    };
    // InvestorProfileUpdated is in `eventTypes` (every extractor); its versions collide on purpose, so ties must be decided by value.
    return { type, aggregateId: type === 'InvestorProfileUpdated' ? a : 'agg', aggregateType: 'test', aggregateVersion: version, occurredAt, payload };
  });

const historyOf = (types: readonly string[]) => fc.array(eventsOf(types), { maxLength: 120 }).map((events) => events.map((event, index) => ({ ...event, id: `e${index}` })));
const historyArbitrary = historyOf(eventTypes);
/** The investor's events only, so profile versions of one investor often meet out of order. */
const investorHistoryArbitrary = historyOf(['InvestorProfileUpdated', 'InvestorLimitBreachAttempted', 'RoundClosed', 'RoundFailed']);

function profiles(events: readonly CreditEvent[]): string {
  const records = replayCredit(events);
  const view = participants.flatMap((participantId) =>
    (['', ...creditRoles] as const).map((role) => {
      const record = records.get(participantId);
      return { participantId, role, score: creditScore(record, role), facts: factsFor(record, role) };
    }),
  );
  return JSON.stringify(view);
}

describe('credit model properties', () => {
  it('keeps every score within 350–950', () => {
    fc.assert(
      fc.property(historyArbitrary, (events) => {
        const records = replayCredit(events);
        for (const participantId of participants) {
          for (const role of ['', ...creditRoles] as const) {
            const { score } = creditScore(records.get(participantId), role);
            expect(score).toBeGreaterThanOrEqual(scoreMin);
            expect(score).toBeLessThanOrEqual(scoreMax);
          }
        }
      }),
      { numRuns: 300 },
    );
  });

  it('gives the same profiles (scores, reasons and facts) for any order of the same events', () => {
    fc.assert(
      fc.property(historyArbitrary.chain((events) => fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }))), ([events, shuffled]) => {
        expect(profiles(shuffled)).toBe(profiles(events));
      }),
      { numRuns: 200 },
    );
  });

  it('keeps the accreditation of the highest profile version, whatever the order (investor events only)', () => {
    fc.assert(
      fc.property(investorHistoryArbitrary.chain((events) => fc.tuple(fc.constant(events), fc.shuffledSubarray(events, { minLength: events.length, maxLength: events.length }))), ([events, shuffled]) => {
        expect(profiles(shuffled)).toBe(profiles(events));
      }),
      { numRuns: 200 },
    );
  });

  it('ignores duplicated and late-repeated events', () => {
    fc.assert(
      fc.property(historyArbitrary, fc.array(fc.nat(), { maxLength: 30 }), (events, picks) => {
        const repeats = events.length === 0 ? [] : picks.map((pick) => events[pick % events.length]!);
        expect(profiles([...events, ...repeats])).toBe(profiles(events));
      }),
      { numRuns: 200 },
    );
  });
});
