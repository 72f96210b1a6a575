/** Transfers as stored documents (bigint → Long, dates as dates, undefined fields left out). */
import type { AggregateCodec } from '@sizhong/kit';
import type { Document } from 'mongodb';
import type { Transfer, TransferMode, TransferState } from '../domain/ledger/transfer';

export const transferCodec: AggregateCodec<Transfer> = {
  toDocument: (transfer) => ({
    mode: transfer.mode,
    debitAccountId: transfer.debitAccountId,
    creditAccountId: transfer.creditAccountId,
    currency: transfer.currency,
    amountMinor: transfer.amountMinor,
    referenceKind: transfer.reference.kind,
    referenceId: transfer.reference.id,
    state: transfer.state,
    createdAt: transfer.createdAt,
    timeoutAt: transfer.timeoutAt ?? null,
    postedMinor: transfer.postedMinor ?? null,
    rejectionCode: transfer.rejectionCode ?? null,
    resolvedAt: transfer.resolvedAt ?? null,
    transferId: transfer.id,
  }),
  fromDocument: (document: Document) => ({
    id: String(document['transferId']),
    mode: document['mode'] as TransferMode,
    debitAccountId: String(document['debitAccountId']),
    creditAccountId: String(document['creditAccountId']),
    currency: String(document['currency']),
    amountMinor: BigInt(document['amountMinor'] as bigint),
    reference: { kind: String(document['referenceKind']), id: String(document['referenceId']) },
    state: document['state'] as TransferState,
    createdAt: document['createdAt'] as Date,
    timeoutAt: (document['timeoutAt'] as Date | null) ?? undefined,
    postedMinor: document['postedMinor'] === null || document['postedMinor'] === undefined ? undefined : BigInt(document['postedMinor'] as bigint),
    rejectionCode: (document['rejectionCode'] as string | null) ?? undefined,
    resolvedAt: (document['resolvedAt'] as Date | null) ?? undefined,
  }),
};
