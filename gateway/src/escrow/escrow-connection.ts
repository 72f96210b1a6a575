/**
 * The gateway's gRPC clients of the escrow service: one pair per process, so connections are
 * reused across requests. When ESCROW_GRPC_ADDRESS is unset the routes still exist (the API and
 * its document do not depend on configuration) but answer 503 UNAVAILABLE.
 *
 * Deadlines are the kit's default (`grpcDeadlineDefaultMs`, 5 s) for every call; the
 * Idempotency-Key lease (IDEMPOTENCY_LEASE_MS, 60 s by default) stays well above it.
 */
import { createGrpcClient, type GrpcClient } from '@sizhong/kit';
import { escrowV1 } from '@sizhong/proto';
import { HttpRefusal } from '../http/problem';

export interface EscrowClients {
  readonly wallet: GrpcClient<typeof escrowV1.WalletServiceService>['call'];
  readonly ledger: GrpcClient<typeof escrowV1.LedgerServiceService>['call'];
}

export class EscrowConnection {
  private constructor(
    private readonly wallet: GrpcClient<typeof escrowV1.WalletServiceService> | undefined,
    private readonly ledger: GrpcClient<typeof escrowV1.LedgerServiceService> | undefined,
  ) {}

  /** Clients are lazy: nothing connects until the first call, so a gateway may start before escrow. */
  static connect(address: string | undefined): EscrowConnection {
    if (address === undefined) return new EscrowConnection(undefined, undefined);
    return new EscrowConnection(createGrpcClient(escrowV1.WalletServiceService, address), createGrpcClient(escrowV1.LedgerServiceService, address));
  }

  get configured(): boolean {
    return this.wallet !== undefined;
  }

  /** The clients, or 503 UNAVAILABLE when this gateway was started without an escrow address. */
  clients(): EscrowClients {
    if (this.wallet === undefined || this.ledger === undefined) {
      throw new HttpRefusal('UNAVAILABLE', 'wallet and ledger operations are not available: this gateway is not connected to the escrow service');
    }
    return { wallet: this.wallet.call, ledger: this.ledger.call };
  }

  close(): void {
    this.wallet?.close();
    this.ledger?.close();
  }
}
