/**
 * What equity needs from other services, as small interfaces the use cases call: escrow's ledger
 * (holds, posts, voids, payouts) and credit's scores. The gRPC adapters are in transport/grpc/downstream.ts.
 */
import type { Money } from '@sizhong/kit';

export interface HoldRequest {
  readonly transferId: string;
  readonly investorId: string;
  readonly escrowAccountId: string;
  readonly amount: Money;
  readonly timeoutMs: number;
  readonly commitmentId: string;
}

export interface LedgerPort {
  /** Opens the round's escrow account (`escrow:round:<id>:<currency>`) unless it exists; answers its id. */
  openRoundEscrow(roundId: string, currency: string): Promise<string>;
  /**
   * A pending transfer from the investor's wallet to the round's escrow (idempotent by transfer id:
   * a repeat answers the transfer as it is now, which the caller checks: a voided or expired
   * transfer is not a hold). INSUFFICIENT_FUNDS and CURRENCY_MISMATCH are definite refusals.
   */
  hold(request: HoldRequest): Promise<{ state: string }>;
  /** Posts `amountMinor` of a pending transfer; the rest returns to the investor. Repeating it is a no-op. */
  post(transferId: string, amountMinor: bigint): Promise<void>;
  /** Voids a pending transfer; one already resolved (or never created) is fine. */
  void(transferId: string): Promise<void>;
  /** A single-phase transfer (fee, proceeds), once per transfer id. */
  pay(transfer: { transferId: string; debitAccountId: string; creditAccountId: string; amount: Money; referenceKind: string; referenceId: string }): Promise<void>;
}

export interface CreditPort {
  /** The participant's score as an investor (350..950). */
  investorScore(participantId: string): Promise<number>;
}

export const walletAccountId = (participantId: string, currency: string) => `wallet:${participantId}:${currency}`;
export const feeAccountId = (currency: string) => `fee:platform:${currency}`;
