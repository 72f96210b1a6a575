/** gRPC adapter of wallets: the caller's identity comes from metadata, set by the gateway. */
import { checkServiceIdempotencyKey, type ServiceHandlers } from '@sizhong/kit';
import type { escrowV1 } from '@sizhong/proto';
import type { Wallets } from '../../app/wallets';
import { walletAccount } from '../../domain/ledger/account';
import { balanceOut, beforeSequence, currencyIn, entriesOut, moneyIn, pageSize, requireParticipant } from './mapping';


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
      const outcome = await wallets.applyProviderEvent(Buffer.from(request.body), request.signature);
      return { eventId: outcome.eventId, outcome: outcome.outcome, transferId: outcome.transferId };
    },
    requestWithdrawal: async (request, context) => {
      const { participantId } = requireParticipant(context.identity);
      const { id, record } = await wallets.requestWithdrawal(participantId, checkServiceIdempotencyKey(request.idempotencyKey), moneyIn(request.amount, 'amount'));
      return { withdrawalId: id, state: record.state, amount: record.amount, transferId: record.transferId };
    },
  };
}
