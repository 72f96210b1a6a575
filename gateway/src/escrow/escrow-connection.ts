/**
 * The gateway's clients of the escrow service (a DownstreamConnection). Calls use the kit's
 * default deadline (`grpcDeadlineDefaultMs`, 5 s) except the commands that write an existing
 * campaign, which get `ESCROW_CAMPAIGN_WRITE_DEADLINE_MS` (30 s by default): settlement-time
 * writes and milestone releases move money for many pledges. Pledges themselves no longer queue
 * behind each other (each is its own document and the campaign's totals are guarded counters,
 * docs/storage.md), so the longer deadline is a margin, not a queue.
 */
import { escrowV1 } from '@sizhong/proto';
import { type DownstreamClients, DownstreamConnection } from '../downstream/downstream-connection';

const escrowDefinitions = {
  wallet: escrowV1.WalletServiceService,
  ledger: escrowV1.LedgerServiceService,
  campaigns: escrowV1.CampaignServiceService,
} as const;

export type EscrowClients = DownstreamClients<typeof escrowDefinitions>;

export interface EscrowConnectionOptions {
  /** Deadline of the calls that write an existing campaign (ESCROW_CAMPAIGN_WRITE_DEADLINE_MS). */
  readonly campaignWriteDeadlineMs: number;
}

export type EscrowConnection = DownstreamConnection<typeof escrowDefinitions> & { readonly campaignWriteDeadlineMs: number };

export function connectEscrow(address: string | undefined, options: EscrowConnectionOptions): EscrowConnection {
  return Object.assign(DownstreamConnection.connect('escrow', address, escrowDefinitions), { campaignWriteDeadlineMs: options.campaignWriteDeadlineMs });
}
