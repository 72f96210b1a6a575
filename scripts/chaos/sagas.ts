/**
 * The run's view of every saga, read from the services' databases: the kit's records
 * (`<service>_sagas`) and escrow's pledge sagas, whose records are entries of the backer's position
 * (`campaign_backers`: an active entry is running until its pledge document exists, then completed;
 * an ended entry is `compensating`, `given_back` or `cancelled`; docs/storage.md "Campaigns,
 * pledges, positions"). Read-only: the lint rule keeps every write to saga records in the kit.
 */
import type { Collection, Document, MongoClient } from 'mongodb';
import { chaosServices } from './schedule';

export const terminalSagaStates = ['completed', 'given_back', 'cancelled'];

export interface SagaView {
  readonly service: string;
  readonly id: string;
  readonly kind: string;
  readonly state: string;
  readonly input?: Document;
  readonly lastError?: string;
}

export function databaseName(service: string): string {
  return `sizhong_${service.replace(/-/g, '_')}`;
}

/** The kit's saga records of a service (read only). */
export function sagaRecords(client: MongoClient, service: string): Collection<Document> {
  // Reads for the run's checks: the lint rule keeps every other touch of saga records in the kit.
  // eslint-disable-next-line sizhong/saga-records-in-kit-only
  return client.db(databaseName(service)).collection(`${service}_sagas`);
}

interface PositionDocument {
  _id: string;
  campaignId: string;
  backerId: string;
  pledges?: { pledgeId: string; amountMinor: unknown; startedAt?: Date }[];
  ended?: { pledgeId: string; state: string; endedAt?: Date }[];
}

/** Every pledge saga, by the entries of the positions and the pledge documents that complete them. */
export async function pledgeSagas(client: MongoClient): Promise<SagaView[]> {
  const escrow = client.db(databaseName('escrow'));
  const pledgeIds = new Set((await escrow.collection('pledges').find({}, { projection: { _id: 1 } }).toArray()).map((pledge) => String(pledge._id)));
  const sagas: SagaView[] = [];
  for (const position of await escrow.collection<PositionDocument>('campaign_backers').find({}).toArray()) {
    const base = { service: 'escrow', kind: 'pledge' };
    for (const entry of position.pledges ?? []) sagas.push({ ...base, id: `${position._id}:${entry.pledgeId}`, state: pledgeIds.has(entry.pledgeId) ? 'completed' : 'running', input: { pledgeId: entry.pledgeId, campaignId: position.campaignId, backerId: position.backerId } });
    for (const entry of position.ended ?? []) sagas.push({ ...base, id: `${position._id}:${entry.pledgeId}`, state: entry.state, input: { pledgeId: entry.pledgeId, campaignId: position.campaignId, backerId: position.backerId } });
  }
  return sagas;
}

/** Every saga of every service: the kit's records and escrow's pledge sagas. */
export async function allSagas(client: MongoClient, services: readonly string[] = chaosServices): Promise<SagaView[]> {
  const sagas: SagaView[] = [];
  for (const service of services) {
    for (const record of await sagaRecords(client, service).find({}, { projection: { _id: 1, kind: 1, state: 1, input: 1, lastError: 1 } }).toArray()) {
      sagas.push({ service, id: String(record._id), kind: String(record['kind']), state: String(record['state']), input: record['input'] as Document | undefined, ...(record['lastError'] ? { lastError: String(record['lastError']) } : {}) });
    }
    if (service === 'escrow') sagas.push(...(await pledgeSagas(client)));
  }
  return sagas;
}

export function isUnfinished(saga: SagaView): boolean {
  return !terminalSagaStates.includes(saga.state);
}

/** What the injected gRPC faults did to sagas: how many sagas one hit, and how many hits, by service (kit records' `injectedFaults`). */
export interface InjectedFaultHits {
  readonly sagas: number;
  readonly hits: number;
  readonly sagasByService: Readonly<Record<string, number>>;
}

/**
 * Exact for the kit's records: each failure of a saga step on an injected fault is counted on the
 * saga's record (kit's saga-log.ts `noteFailure`). Pledge sagas keep their records in positions
 * and count nothing.
 */
export async function injectedFaultHits(client: MongoClient, services: readonly string[] = chaosServices): Promise<InjectedFaultHits> {
  let sagas = 0;
  let hits = 0;
  const sagasByService: Record<string, number> = {};
  for (const service of services) {
    for (const record of await sagaRecords(client, service).find({ injectedFaults: { $gt: 0 } }, { projection: { _id: 1, injectedFaults: 1 } }).toArray()) {
      sagas += 1;
      hits += Number(record['injectedFaults']);
      sagasByService[service] = (sagasByService[service] ?? 0) + 1;
    }
  }
  return { sagas, hits, sagasByService };
}
