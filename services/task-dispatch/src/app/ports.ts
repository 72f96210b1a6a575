/**
 * What task-dispatch asks of other services: escrow moves the money (each task has its own escrow
 * account `escrow:task:<id>:<currency>`, funded from the owner's wallet, paid out to wallets and
 * the platform's fee account), credit tells a solver's score. Both over gRPC, as system calls
 * (no participant identity: the ledger trusts services, not participants).
 */
import { createGrpcClient, DomainError, type Money } from '@sizhong/kit';
import { creditV1, escrowV1 } from '@sizhong/proto';

export const accountIds = {
  wallet: (participantId: string, currency: string) => `wallet:${participantId}:${currency}`,
  taskEscrow: (taskId: string, currency: string) => `escrow:task:${taskId}:${currency}`,
  fee: (currency: string) => `fee:platform:${currency}`,
} as const;

export interface TransferOrder {
  readonly transferId: string;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amount: Money;
  readonly referenceId: string;
}

export interface EscrowPort {
  /** Opens the task's escrow account (idempotent). */
  openTaskEscrow(taskId: string, currency: string): Promise<void>;
  /** A single-phase transfer, idempotent by id; refusals (INSUFFICIENT_FUNDS) come back as DomainError. */
  transfer(order: TransferOrder): Promise<void>;
  close(): void;
}

export interface CreditPort {
  /** The participant's current score for a role. */
  score(participantId: string, role: string): Promise<number>;
  close(): void;
}

function unavailable(service: string): never {
  throw new DomainError('UNAVAILABLE', `the ${service} service is not configured`);
}

export function grpcEscrow(address: string | undefined): EscrowPort {
  if (!address) return { openTaskEscrow: async () => unavailable('escrow'), transfer: async () => unavailable('escrow'), close: () => undefined };
  const client = createGrpcClient(escrowV1.LedgerServiceService, address);
  return {
    async openTaskEscrow(taskId, currency) {
      await client.call.openAccount({ kind: escrowV1.AccountKind.ACCOUNT_KIND_ESCROW, ownerId: `task:${taskId}`, currency });
    },
    async transfer(order) {
      await client.call.createTransfer({
        transferId: order.transferId,
        mode: escrowV1.TransferMode.TRANSFER_MODE_SINGLE_PHASE,
        debitAccountId: order.debitAccountId,
        creditAccountId: order.creditAccountId,
        amount: order.amount,
        timeoutMs: 0n,
        referenceKind: 'task',
        referenceId: order.referenceId,
      });
    },
    close: () => client.close(),
  };
}

export function grpcCredit(address: string | undefined): CreditPort {
  if (!address) return { score: async () => unavailable('credit'), close: () => undefined };
  const client = createGrpcClient(creditV1.CreditServiceService, address);
  return {
    async score(participantId, role) {
      return (await client.call.getScore({ participantId, role })).score;
    },
    close: () => client.close(),
  };
}
