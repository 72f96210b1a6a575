/**
 * The regulator-read audit log: every read a regulator makes of a participant's data (credit
 * profiles, investor profiles, alerts, the feed, the summary, ...) is written here before the data
 * is returned, and admins read the log at GET /v1/audit/regulator-reads (audit/routes.ts).
 *
 * How to use it from a route module (the instance is `services.regulatorReads` in the
 * `GatewayServices` that createApp builds, or pass it to your register function):
 *
 *   await regulatorReads.recordIfRegulator(identity, {
 *     route: 'GET /v1/investors/{id}/profile',        // the route template
 *     subject: { kind: 'investor-profile', id: params.id },
 *     path: request.originalUrl,                      // what exactly was asked
 *     traceId,
 *   });
 *
 * Call it after the downstream read succeeded and before answering: a read that cannot be
 * recorded fails (500), so no regulator read goes unrecorded. Callers who are not regulators are
 * not recorded (the call is a no-op), so routes open to several roles can call it unconditionally.
 * Storage: one document per read in the gateway's database (`regulator_reads`), an insert each.
 */
import { randomUUID } from 'node:crypto';
import { type CallerIdentity, type Clock, hasRole, type MongoConnection } from '@sizhong/kit';
import type { Collection } from 'mongodb';

export const regulatorReadsCollectionName = 'regulator_reads';
/** Longest path kept per record (query strings can be long). */
export const auditPathLengthMax = 512;

export interface RegulatorRead {
  /** Route template, e.g. `GET /v1/participants/{id}/credit`. */
  readonly route: string;
  /** What was read: its kind (`credit-profile`, `risk-alerts`, `investor-profile`, ...) and id ('' for lists). */
  readonly subject: { readonly kind: string; readonly id: string };
  /** The request's path and query. */
  readonly path: string;
  readonly traceId?: string;
}

export interface RegulatorReadRecord extends RegulatorRead {
  readonly id: string;
  readonly regulatorId: string;
  readonly at: Date;
}

interface RegulatorReadDocument {
  _id: string;
  regulatorId: string;
  route: string;
  subjectKind: string;
  subjectId: string;
  path: string;
  traceId: string;
  at: Date;
}

export class RegulatorReadAudit {
  private readonly collection: Collection<RegulatorReadDocument>;

  constructor(
    mongo: MongoConnection,
    private readonly clock: Clock,
  ) {
    this.collection = mongo.collection<RegulatorReadDocument>(regulatorReadsCollectionName);
  }

  async ensureIndexes(): Promise<void> {
    await this.collection.createIndex({ at: -1 });
  }

  /** Records the read when the caller holds the regulator role; resolves once it is stored. */
  async recordIfRegulator(identity: CallerIdentity | undefined, read: RegulatorRead): Promise<void> {
    if (!identity || !hasRole(identity, 'regulator')) return;
    const at = this.clock.now();
    // Time first in the id, so ids sort by time and the list can page by id.
    const id = `${at.getTime().toString().padStart(15, '0')}-${randomUUID()}`;
    await this.collection.insertOne({
      _id: id,
      regulatorId: identity.participantId,
      route: read.route,
      subjectKind: read.subject.kind,
      subjectId: read.subject.id,
      path: read.path.slice(0, auditPathLengthMax),
      traceId: read.traceId ?? '',
      at,
    });
  }

  /** Newest first; `before` is the id of the last record of the previous page. */
  async list(limit: number, before: string | undefined, regulatorId?: string): Promise<RegulatorReadRecord[]> {
    const filter = { ...(before === undefined ? {} : { _id: { $lt: before } }), ...(regulatorId === undefined ? {} : { regulatorId }) };
    const documents = await this.collection.find(filter).sort({ _id: -1 }).limit(limit).toArray();
    return documents.map((document) => ({
      id: document._id,
      regulatorId: document.regulatorId,
      route: document.route,
      subject: { kind: document.subjectKind, id: document.subjectId },
      path: document.path,
      ...(document.traceId ? { traceId: document.traceId } : {}),
      at: document.at,
    }));
  }
}
