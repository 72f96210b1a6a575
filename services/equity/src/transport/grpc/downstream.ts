/** gRPC adapters of equity's ports: escrow's LedgerService and credit's CreditService (calls as the service itself, no participant identity). */
import { createGrpcClient, DomainError, type GrpcClient } from '@sizhong/kit';
import { creditV1, escrowV1 } from '@sizhong/proto';
import type { CreditPort, LedgerPort } from '../../app/ports';

/** How long equity waits for one escrow call; past it the outcome is unknown and the saga is left for recovery. */
export const escrowDeadlineDefaultMs = 15_000;

function unavailable(service: string): never {
  throw new DomainError('UNAVAILABLE', `the ${service} service is not configured for equity`);
}

export class GrpcLedger implements LedgerPort {
  private readonly client: GrpcClient<typeof escrowV1.LedgerServiceService> | undefined;

  constructor(address: string | undefined, deadlineMs: number = escrowDeadlineDefaultMs) {
    this.client = address === undefined ? undefined : createGrpcClient(escrowV1.LedgerServiceService, address, { deadlineMs });
  }

  private get call() {
    return this.client?.call ?? unavailable('escrow');
  }

  async openRoundEscrow(roundId: string, currency: string): Promise<string> {
    return (await this.call.openAccount({ kind: escrowV1.AccountKind.ACCOUNT_KIND_ESCROW, ownerId: `round:${roundId}`, currency })).id;
  }

  async hold(request: Parameters<LedgerPort['hold']>[0]): Promise<{ state: string }> {
    return this.call.createTransfer({
      transferId: request.transferId,
      mode: escrowV1.TransferMode.TRANSFER_MODE_TWO_PHASE,
      debitAccountId: `wallet:${request.investorId}:${request.amount.currency}`,
      creditAccountId: request.escrowAccountId,
      amount: request.amount,
      timeoutMs: BigInt(request.timeoutMs),
      referenceKind: 'commitment',
      referenceId: request.commitmentId,
    });
  }

  async post(transferId: string, amountMinor: bigint): Promise<void> {
    await this.call.postPendingTransfer({ transferId, amountMinor });
  }

  async void(transferId: string): Promise<void> {
    await this.call.voidPendingTransfer({ transferId });
  }

  async pay(transfer: Parameters<LedgerPort['pay']>[0]): Promise<void> {
    await this.call.createTransfer({
      transferId: transfer.transferId,
      mode: escrowV1.TransferMode.TRANSFER_MODE_SINGLE_PHASE,
      debitAccountId: transfer.debitAccountId,
      creditAccountId: transfer.creditAccountId,
      amount: transfer.amount,
      timeoutMs: 0n,
      referenceKind: transfer.referenceKind,
      referenceId: transfer.referenceId,
    });
  }

  close(): void {
    this.client?.close();
  }
}

export class GrpcCredit implements CreditPort {
  private readonly client: GrpcClient<typeof creditV1.CreditServiceService> | undefined;

  constructor(address: string | undefined) {
    this.client = address === undefined ? undefined : createGrpcClient(creditV1.CreditServiceService, address);
  }

  async investorScore(participantId: string): Promise<number> {
    const call = this.client?.call ?? unavailable('credit');
    return (await call.getScore({ participantId, role: 'investor' })).score;
  }

  close(): void {
    this.client?.close();
  }
}
