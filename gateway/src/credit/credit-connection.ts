/** The gateway's clients of the credit service: scores (CreditService) and risk (RiskService). */
import { creditV1 } from '@sizhong/proto';
import { type DownstreamClients, DownstreamConnection } from '../downstream/downstream-connection';

const creditDefinitions = {
  scores: creditV1.CreditServiceService,
  risk: creditV1.RiskServiceService,
} as const;

export type CreditClients = DownstreamClients<typeof creditDefinitions>;
export type CreditConnection = DownstreamConnection<typeof creditDefinitions>;

export function connectCredit(address: string | undefined): CreditConnection {
  return DownstreamConnection.connect('credit', address, creditDefinitions);
}
