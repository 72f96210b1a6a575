/**
 * "Credit applied every domain event exactly once" (issue 18), checked three ways after quiet:
 *
 *   1. every event was published: no aggregate of any service still has events on its outbox
 *      (`outboxPending`), so the topics hold everything the services decided;
 *   2. credit's consumer saw every published event: each distinct event id on the topics it
 *      consumes (escrow's, task-dispatch's and equity's events, read from the beginning by a
 *      consumer of this check's own) has its `processed_events` entry for credit's scores group
 *      (waited for, since the consumer may still be catching up when the platform is quiet; one
 *      missing is reported with whether the consumer parked it in the dead-letter topic);
 *   3. and applied each exactly once: replaying the distinct events through credit's own pure
 *      `replayCredit` (facts are counts and extremes, so the order does not matter) gives every
 *      participant's record exactly as credit stored it. An event applied twice counts its facts
 *      twice; one never applied is missing from them.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { MongoClient } from 'mongodb';
import { decodeEnvelope, type EventEnvelope } from '../../packages/kit/src/kafka/envelope';
import { deadLetterTopic, eventsTopic } from '../../packages/kit/src/kafka/topics';
import { creditEventOf } from '../../services/credit/src/app/decode-event';
import { consumedServices } from '../../services/credit/src/app/consumed-topics';
import { type ParticipantCredit, replayCredit } from '../../services/credit/src/domain/participant-credit';
import { sleep } from './cluster';
import { chaosServices } from './schedule';
import { databaseName } from './sagas';

/** How long the check waits for credit's consumer to reach the end of the topics. */
export const creditCatchUpTimeoutMs = 120_000;
/** How long reading the topics from the beginning may take. */
export const topicReadTimeoutMs = 90_000;
/** Credit's consumer group of the scores (kit's `<prefix><service>.<consumer name>`, generation 1). */
export const creditScoresGroup = 'credit.scores-g1';

export interface CreditReport {
  readonly violations: string[];
  readonly notes: string[];
  checked: number;
}

/** Aggregates whose events are not all published yet, by service and collection. */
async function unpublished(client: MongoClient): Promise<string[]> {
  const found: string[] = [];
  for (const service of chaosServices) {
    const database = client.db(databaseName(service));
    for (const { name } of await database.listCollections({}, { nameOnly: true }).toArray()) {
      const pending = await database.collection(name).countDocuments({ outboxPending: true });
      if (pending > 0) found.push(`${service}/${name}: ${pending} aggregate(s) with events not published`);
    }
  }
  return found;
}

/** Every message on the topics, read from the beginning to the end each partition had when the read began. */
export async function readTopics(brokers: readonly string[], topics: readonly string[]): Promise<EventEnvelope[]> {
  const kafka = new Kafka({ clientId: 'chaos-check', brokers: [...brokers], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = new Map<string, bigint>();
  try {
    const existing = new Set(await admin.listTopics());
    for (const topic of topics.filter((name) => existing.has(name))) {
      for (const partition of await admin.fetchTopicOffsets(topic)) if (BigInt(partition.high) > 0n) ends.set(`${topic}/${partition.partition}`, BigInt(partition.high));
    }
  } finally {
    await admin.disconnect();
  }
  const envelopes: EventEnvelope[] = [];
  if (ends.size === 0) return envelopes;
  const consumer = kafka.consumer({ groupId: `chaos-check-${Date.now()}-${process.pid}` });
  await consumer.connect();
  try {
    const remaining = new Set(ends.keys());
    let done!: () => void;
    const finished = new Promise<void>((resolve) => (done = resolve));
    await consumer.subscribe({ topics: [...new Set([...ends.keys()].map((key) => key.slice(0, key.lastIndexOf('/'))))], fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ topic, partition, message }) => {
        const key = `${topic}/${partition}`;
        const end = ends.get(key);
        if (end === undefined || BigInt(message.offset) >= end) return;
        try {
          envelopes.push(decodeEnvelope(message.value));
        } catch {
          // Not an event envelope: credit's consumer skips it too.
        }
        if (BigInt(message.offset) + 1n >= end) {
          remaining.delete(key);
          if (remaining.size === 0) done();
        }
      },
    });
    const timedOut = sleep(topicReadTimeoutMs).then(() => {
      throw new Error(`reading the topics from the beginning took longer than ${topicReadTimeoutMs / 1000} s (${remaining.size} partition(s) not at their end)`);
    });
    await Promise.race([finished, timedOut]);
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return envelopes;
}

export async function checkCreditExactlyOnce(client: MongoClient, brokers: readonly string[], report: CreditReport, say: (line: string) => void): Promise<void> {
  report.checked += 1;
  for (const problem of await unpublished(client)) report.violations.push(`events never published: ${problem}`);

  const envelopes = await readTopics(
    brokers,
    consumedServices.map((service) => eventsTopic(service)),
  );
  const distinct = new Map<string, EventEnvelope>();
  for (const envelope of envelopes) if (!distinct.has(envelope.id)) distinct.set(envelope.id, envelope);
  const credit = client.db(databaseName('credit'));
  const processedIds = async () => new Set((await credit.collection('processed_events').find({ consumerGroup: creditScoresGroup }, { projection: { eventId: 1 } }).toArray()).map((entry) => String(entry['eventId'])));
  let processed = await processedIds();
  const startedAtMs = Date.now();
  const missing = () => [...distinct.keys()].filter((id) => !processed.has(id));
  while (missing().length > 0 && Date.now() - startedAtMs < creditCatchUpTimeoutMs) {
    say(`  credit has processed ${distinct.size - missing().length} of ${distinct.size} published events; waiting…`);
    await sleep(3_000);
    processed = await processedIds();
  }
  report.checked += 1;
  // The evidence for an event never processed: was it parked in a dead-letter topic (the consumer gave up on it)?
  const parked = missing().length === 0 ? new Set<string>() : new Set((await readTopics(brokers, consumedServices.map((service) => deadLetterTopic(eventsTopic(service))))).map((envelope) => envelope.id));
  for (const id of missing().slice(0, 20)) {
    const envelope = distinct.get(id)!;
    report.violations.push(`credit never applied event ${id} (${envelope.type} on ${envelope.aggregateType} ${envelope.aggregateId}): no processed_events entry for ${creditScoresGroup}${parked.has(id) ? '; its consumer parked it in the dead-letter topic' : ''}`);
  }
  if (missing().length > 20) report.violations.push(`credit never applied ${missing().length - 20} more published events`);

  // Exactly once: the records equal a replay of the distinct events.
  const replayed = replayCredit([...distinct.values()].map(creditEventOf));
  const stored = new Map((await credit.collection('credit_records').find({}).toArray()).map((document) => [String(document._id), document['state'] as ParticipantCredit]));
  for (const participantId of new Set([...replayed.keys(), ...stored.keys()])) {
    report.checked += 1;
    const expected = factsOf(replayed.get(participantId));
    const actual = factsOf(stored.get(participantId));
    if (expected !== actual) report.violations.push(`credit record of ${participantId} is not the published events applied once: stored ${actual}, replay of the ${distinct.size} distinct events gives ${expected}`);
  }
  report.notes.push(`credit: ${envelopes.length} messages on its topics, ${distinct.size} distinct events, ${stored.size} credit records compared with their replay`);
}

/** What applying events decides, comparable as text: every scope's counts, activity and first and last moments, and the accreditation. */
function factsOf(credit: ParticipantCredit | undefined): string {
  if (!credit) return 'no record';
  const time = (value: Date | string | undefined) => (value === undefined ? '-' : new Date(value).toISOString());
  const scopes = Object.entries(credit.scopes)
    .filter(([, facts]) => facts !== undefined)
    .sort(([first], [second]) => first.localeCompare(second))
    .map(([scope, facts]) => `${scope}{${Object.entries(facts!.counts).sort(([first], [second]) => first.localeCompare(second)).map(([name, count]) => `${name}=${count}`).join(',')}; activity ${facts!.activity}; ${time(facts!.firstSeenAt)}..${time(facts!.lastSeenAt)}${facts!.accredited ? '; accredited' : ''}}`);
  const accreditation = credit.accreditation ? ` accreditation v${credit.accreditation.version} ${credit.accreditation.accredited}` : '';
  return `${scopes.join(' ') || 'no facts'}${accreditation}`;
}
