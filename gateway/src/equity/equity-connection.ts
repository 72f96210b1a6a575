/**
 * The gateway's client of the equity service (a DownstreamConnection). Reads use the kit's default
 * deadline; commands that move money (commitments, cancellations: a saga of several writes, an
 * escrow hold and, for a lead, a credit score) get `equityWriteDeadlineMs`.
 */
import { equityV1 } from '@sizhong/proto';
import { type DownstreamClients, DownstreamConnection } from '../downstream/downstream-connection';

const equityDefinitions = { equity: equityV1.EquityServiceService } as const;

export type EquityClients = DownstreamClients<typeof equityDefinitions>;
export type EquityConnection = DownstreamConnection<typeof equityDefinitions>;

/** Below the idempotency lease (60 s by default), so a retry never runs beside a call still in flight. */
export const equityWriteDeadlineMs = 30_000;

export function connectEquity(address: string | undefined): EquityConnection {
  return DownstreamConnection.connect('equity', address, equityDefinitions);
}
