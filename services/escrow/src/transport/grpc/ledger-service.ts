/** gRPC adapter of the ledger: decode, call one use case, encode. */
import type { Clock, ServiceHandlers } from '@sizhong/kit';
import { DomainError } from '@sizhong/kit';
import { escrowV1 } from '@sizhong/proto';
import { accountFromId, escrowAccount, externalAccount, feeAccount, walletAccount, type Account } from '../../domain/ledger/account';
import type { Ledger } from '../../app/ledger';
import {
  accountKindIn,
  accountKindOut,
  balanceOut,
  beforeSequence,
  currencyIn,
  entriesOut,
  invariantsOut,
  moneyIn,
  pageSize,
  requireServiceOrSupervisor,
  transferModeIn,
  transferOut,
} from './mapping';

const transferIdPattern = /^[A-Za-z0-9_:.-]{1,128}$/;

function transferIdIn(value: string): string {
  if (!transferIdPattern.test(value)) throw new DomainError('INVALID_ARGUMENT', 'transfer_id must be 1–128 characters of [A-Za-z0-9_:.-]', { field: 'transfer_id' });
  return value;
}

function accountFor(kind: escrowV1.AccountKind, ownerId: string, currency: string): Account {
  try {
    switch (accountKindIn(kind)) {
      case 'wallet':
        return walletAccount(ownerId, currency);
      case 'fee':
        return feeAccount(currency);
      case 'external':
        return externalAccount(ownerId, currency);
      case 'escrow': {
        const [dealKind, ...rest] = ownerId.split(':');
        return escrowAccount(dealKind ?? '', rest.join(':'), currency);
      }
    }
  } catch (error) {
    if (error instanceof DomainError) throw error;
    throw new DomainError('INVALID_ARGUMENT', 'malformed account owner or currency');
  }
}

export function ledgerServiceHandlers(ledger: Ledger, clock: Clock): ServiceHandlers<typeof escrowV1.LedgerServiceService> {
  return {
    openAccount: async (request, context) => {
      requireServiceOrSupervisor(context.identity);
      const account = await ledger.openAccount(accountFor(request.kind, request.ownerId, currencyIn(request.currency)));
      return { id: account.id, kind: accountKindOut(account.kind), ownerId: account.ownerId, currency: account.currency };
    },
    getBalance: async (request, context) => {
      requireServiceOrSupervisor(context.identity);
      const account = accountFromId(request.accountId);
      if (!account) throw new DomainError('INVALID_ARGUMENT', 'malformed account id');
      return balanceOut(account.id, account.currency, await ledger.balance(account.id));
    },
    listEntries: async (request, context) => {
      requireServiceOrSupervisor(context.identity);
      const limit = pageSize(request.page);
      return entriesOut(await ledger.entries(request.accountId, limit, beforeSequence(request.page)), limit);
    },
    createTransfer: async (request, context) => {
      requireServiceOrSupervisor(context.identity);
      const amount = moneyIn(request.amount, 'amount');
      const mode = transferModeIn(request.mode);
      const transfer = await ledger.createTransfer({
        id: transferIdIn(request.transferId),
        mode,
        debitAccountId: request.debitAccountId,
        creditAccountId: request.creditAccountId,
        currency: amount.currency,
        amountMinor: amount.amountMinor,
        reference: { kind: request.referenceKind || 'unspecified', id: request.referenceId },
        ...(mode === 'two_phase' && request.timeoutMs > 0n ? { timeoutMs: Number(request.timeoutMs) } : {}),
      });
      return transferOut(transfer);
    },
    postPendingTransfer: async (request, context) => {
      requireServiceOrSupervisor(context.identity);
      return transferOut(await ledger.postPending(transferIdIn(request.transferId), request.amountMinor));
    },
    voidPendingTransfer: async (request, context) => {
      requireServiceOrSupervisor(context.identity);
      return transferOut(await ledger.voidPending(transferIdIn(request.transferId)));
    },
    getTransfer: async (request, context) => {
      requireServiceOrSupervisor(context.identity);
      return transferOut(await ledger.transfer(transferIdIn(request.transferId)));
    },
    getInvariants: async (_request, context) => {
      requireServiceOrSupervisor(context.identity);
      return invariantsOut(await ledger.invariants(), clock.now());
    },
  };
}
