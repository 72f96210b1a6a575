// Proves credit at two replicas on one database (issue 18, seed 4 of the fault-injection run): events for one participant
// arriving on different partitions, so both replicas race to write the same records, are each applied exactly once — a
// lost write race is retried until it lands, never parked in the dead-letter topic.
import { connectMongo } from '@sizhong/kit';
import { testInfrastructure } from '@sizhong/testkit';
import { type FixtureEvent, FixtureProducer, startCreditHarness, type CreditHarness, eventually } from './support';

jest.setTimeout(120_000);

/** Pledges collected for one backer, each on its own campaign (its own key, so spread over the topic's partitions). */
const pledgesCollected = 15;

function collected(index: number): FixtureEvent {
  const campaignId = `cp_race_${index}`;
  return {
    id: `ev_race_collected_${index}`,
    type: 'PledgeCollected',
    aggregateType: 'pledge',
    aggregateId: `pl_race_${index}`,
    occurredAt: new Date(Date.UTC(2026, 0, 1, 0, index)),
    payloadType: 'PledgeChanged',
    payload: { pledgeId: `pl_race_${index}`, campaignId, creatorId: `pt_race_creator_${index}`, backerId: 'pt_race_backer', tierId: '', amount: { currency: 'CNY', amountMinor: 1_000n }, transferId: `tr_race_${index}` },
  };
}

describe('credit at two replicas', () => {
  let first: CreditHarness;
  let second: CreditHarness;
  let escrowEvents: FixtureProducer;

  beforeAll(async () => {
    // The same database, topic prefix and consumer group: two replicas of one deployment.
    first = await startCreditHarness('credit-two-replicas');
    second = await startCreditHarness('credit-two-replicas', { CREDIT_DATABASE: first.database, KAFKA_TOPIC_PREFIX: first.topicPrefix });
    escrowEvents = new FixtureProducer('escrow', first.topicPrefix);
  });

  afterAll(async () => {
    await escrowEvents.close();
    await second.stop();
    await first.stop();
  });

  it('applies every event for one backer once, whichever replica takes it, and parks none', async () => {
    await escrowEvents.publish(...Array.from({ length: pledgesCollected }, (_, index) => collected(index)));
    const eventIds = Array.from({ length: pledgesCollected }, (_, index) => `ev_race_collected_${index}`);
    // Each collected pledge moves the backer's score (PLEDGES_HONOURED, below its cap): one history entry per event, none twice.
    const history = await eventually(
      () => first.scores.call.getHistory({ participantId: 'pt_race_backer', role: 'backer', page: { limit: 100, cursor: '' } }),
      (page) => page.items.length >= pledgesCollected,
      'a history entry for every event',
      90_000,
    );
    expect(history.items.map((change) => change.causeEventId).sort()).toEqual([...eventIds].sort());
    const scores = await Promise.all([first, second].map((replica) => replica.scores.call.getScore({ participantId: 'pt_race_backer', role: 'backer' })));
    expect(scores[0]!.score).toBeGreaterThan(600);
    expect(scores[1]!.score).toBe(scores[0]!.score);

    const mongo = await connectMongo(testInfrastructure().mongoUrl, first.database);
    try {
      // The consumer marks an event processed just after its handler wrote the history entry: wait for the marks, then
      // require exactly these events (a parked event is never marked; a twice-applied one would show twice in history).
      const processedIds = async () => {
        const processed = await mongo.collection('processed_events').find({ _id: { $regex: 'ev_race_collected_' } } as never).toArray();
        return new Set(processed.map((entry) => String(entry['_id']).split(':').pop()));
      };
      const marked = await eventually(processedIds, (ids) => ids.size >= pledgesCollected, 'every event marked processed', 30_000);
      expect(marked).toEqual(new Set(eventIds));
    } finally {
      await mongo.close();
    }
  });
});
