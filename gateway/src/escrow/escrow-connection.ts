/**
 * The gateway's gRPC clients of the escrow service: one set per process, so connections are
 * reused across requests. When ESCROW_GRPC_ADDRESS is unset the routes still exist (the API and
 * its document do not depend on configuration) but answer 503 UNAVAILABLE.
 *
 * Deadlines are the kit's default (`grpcDeadlineDefaultMs`, 5 s) for every call except the
 * commands that write an existing campaign, which get `campaignWriteDeadlineMs`
 * (ESCROW_CAMPAIGN_WRITE_DEADLINE_MS, 30 s by default). Escrow serialises the writes on one
 * campaign (the campaign document holds its tier stock and reservations, docs/escrow.md), so under
 * a burst of pledges each waits for the ones queued before it: 500 concurrent pledges on one
 * campaign take about 15–20 s on the development machine. The default 5 s would turn that queue
 * into 504s for clients to retry. The Idempotency-Key lease (IDEMPOTENCY_LEASE_MS, 60 s by
 * default) stays above both.
 */
import { createGrpcClient, type GrpcClient } from '@sizhong/kit';
import { escrowV1 } from '@sizhong/proto';
import { HttpRefusal } from '../http/problem';

export interface EscrowClients {
  readonly wallet: GrpcClient<typeof escrowV1.WalletServiceService>['call'];
  readonly ledger: GrpcClient<typeof escrowV1.LedgerServiceService>['call'];
  readonly campaigns: GrpcClient<typeof escrowV1.CampaignServiceService>['call'];
}

interface Connected {
  readonly wallet: GrpcClient<typeof escrowV1.WalletServiceService>;
  readonly ledger: GrpcClient<typeof escrowV1.LedgerServiceService>;
  readonly campaigns: GrpcClient<typeof escrowV1.CampaignServiceService>;
}

export interface EscrowConnectionOptions {
  /** Deadline of the calls that write an existing campaign (ESCROW_CAMPAIGN_WRITE_DEADLINE_MS). */
  readonly campaignWriteDeadlineMs: number;
}

export class EscrowConnection {
  private constructor(
    private readonly connected: Connected | undefined,
    readonly campaignWriteDeadlineMs: number,
  ) {}

  /** Clients are lazy: nothing connects until the first call, so a gateway may start before escrow. */
  static connect(address: string | undefined, options: EscrowConnectionOptions): EscrowConnection {
    if (address === undefined) return new EscrowConnection(undefined, options.campaignWriteDeadlineMs);
    const connected: Connected = {
      wallet: createGrpcClient(escrowV1.WalletServiceService, address),
      ledger: createGrpcClient(escrowV1.LedgerServiceService, address),
      campaigns: createGrpcClient(escrowV1.CampaignServiceService, address),
    };
    return new EscrowConnection(connected, options.campaignWriteDeadlineMs);
  }

  get configured(): boolean {
    return this.connected !== undefined;
  }

  /**
   * The clients, or 503 UNAVAILABLE when this gateway was started without an escrow address.
   * `operations` names what is unavailable in that problem's detail.
   */
  clients(operations = 'wallet and ledger operations'): EscrowClients {
    if (this.connected === undefined) {
      throw new HttpRefusal('UNAVAILABLE', `${operations} are not available: this gateway is not connected to the escrow service`);
    }
    return { wallet: this.connected.wallet.call, ledger: this.connected.ledger.call, campaigns: this.connected.campaigns.call };
  }

  close(): void {
    this.connected?.wallet.close();
    this.connected?.ledger.close();
    this.connected?.campaigns.close();
  }
}
