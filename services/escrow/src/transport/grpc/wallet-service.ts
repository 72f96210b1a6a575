/** gRPC adapter of wallets: the caller's identity comes from metadata, set by the gateway. */
import { type CallerIdentity, checkServiceIdempotencyKey, DomainError, hasRole, type ServiceHandlers } from '@sizhong/kit';
import type { escrowV1 } from '@sizhong/proto';
import type { Wallets } from '../../app/wallets';
import type { DepositRecord } from '../../storage/wallet-records';
import { walletAccount } from '../../domain/ledger/account';
import { balanceOut, beforeSequence, currencyIn, entriesOut, idIn, moneyIn, pageSize, requireParticipant } from './mapping';

export function walletServiceHandlers(wallets: Wallets): ServiceHandlers<typeof escrowV1.WalletServiceService> {
  return {
    getWallet: async (request, context) => {
      const { participantId } = requireParticipant(context.identity);
      const currency = currencyIn(request.currency);
      return balanceOut(walletAccount(participantId, currency).id, currency, await wallets.balance(participantId, currency));
    },
    listWalletEntries: async (request, context) => {
      const { participantId } = requireParticipant(context.identity);
      const limit = pageSize(request.page);
      await wallets.balance(participantId, currencyIn(request.currency));
      return entriesOut(await wallets.entries(participantId, request.currency, limit, beforeSequence(request.page)), limit);
    },
    applyPaymentProviderEvent: async (request) => {
      const outcome = await wallets.applyProviderEvent(Buffer.from(request.body), request.signature, request.recipientUnknown ?? false);
      return { eventId: outcome.eventId, outcome: outcome.outcome, transferId: outcome.transferId };
    },
    requestWithdrawal: async (request, context) => {
      const { participantId } = requireParticipant(context.identity);
      const { id, record } = await wallets.requestWithdrawal(participantId, checkServiceIdempotencyKey(request.idempotencyKey), moneyIn(request.amount, 'amount'));
      return { withdrawalId: id, state: record.state, amount: record.amount, transferId: record.transferId };
    },
    listSuspenseDeposits: async (request, context) => {
      requireAdmin(context.identity);
      const found = await wallets.suspenseDeposits(pageSize(request.page), request.page?.cursor ? idIn(request.page.cursor, 'cursor') : undefined);
      return { deposits: found.items.map(suspenseDepositOut), page: { nextCursor: found.nextCursor } };
    },
    resolveSuspenseDeposit: async (request, context) => {
      requireAdmin(context.identity);
      const depositId = idIn(request.depositId, 'deposit_id');
      if (request.action === 'refund') return suspenseDepositOut(await wallets.resolveSuspense(depositId, { action: 'refund' }));
      if (request.action !== 'assign') throw new DomainError('INVALID_ARGUMENT', 'action is assign or refund', { field: 'action' });
      return suspenseDepositOut(await wallets.resolveSuspense(depositId, { action: 'assign', participantId: idIn(request.participantId, 'participant_id') }));
    },
  };
}

/** Deposits in suspense are the admins' to resolve. */
function requireAdmin(identity: CallerIdentity | undefined): void {
  if (!hasRole(identity, 'admin')) throw new DomainError('PERMISSION_DENIED', 'only admins resolve deposits held in suspense');
}

function suspenseDepositOut({ id, record }: { id: string; record: DepositRecord }): escrowV1.SuspenseDeposit {
  const suspense = record.suspense!;
  return {
    depositId: id,
    providerEventId: record.providerEventId,
    participantId: record.participantId,
    amount: record.amount,
    state: suspense.state,
    suspenseAccountId: suspense.accountId,
    assignedTo: suspense.assignedTo ?? '',
    receivedAt: record.receivedAt,
    ...(suspense.resolvedAt ? { resolvedAt: suspense.resolvedAt } : {}),
  };
}
