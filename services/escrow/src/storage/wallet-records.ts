/**
 * Deposit and withdrawal records as stored documents (bigint → Long, dates as dates). The records
 * are aggregates: a deposit is created once per provider event, a withdrawal once per key.
 */
import { type AggregateCodec, AggregateStore, type Logger, money, type Money, type MongoConnection } from '@sizhong/kit';
import type { Document } from 'mongodb';

export interface DepositRecord {
  readonly providerEventId: string;
  /** As the provider named it; for a deposit in suspense, nobody the platform knew. */
  readonly participantId: string;
  readonly amount: Money;
  readonly transferId: string;
  readonly receivedAt: Date;
  /** Set when the participant was unknown: the money went to a suspense account, not a wallet. */
  readonly suspense?: SuspenseState;
}

/** A deposit held in suspense and how an admin resolved it (one transfer out, `tr/suspense-resolution/<deposit>`). */
export interface SuspenseState {
  readonly state: 'held' | 'assigned' | 'refunded';
  readonly accountId: string;
  readonly assignedTo?: string;
  readonly resolvedAt?: Date;
}

export interface WithdrawalRecord {
  readonly participantId: string;
  readonly amount: Money;
  readonly transferId: string;
  readonly state: 'requested' | 'completed' | 'rejected';
  readonly requestedAt: Date;
}

const moneyDocument = (value: Money) => ({ currency: value.currency, amountMinor: value.amountMinor });
const moneyFrom = (document: Document) => money(String(document['currency']), BigInt(document['amountMinor'] as bigint));

export const depositCodec: AggregateCodec<DepositRecord> = {
  toDocument: (deposit) => ({ ...deposit, amount: moneyDocument(deposit.amount) }),
  fromDocument: (document) => ({
    providerEventId: String(document['providerEventId']),
    participantId: String(document['participantId']),
    amount: moneyFrom(document['amount'] as Document),
    transferId: String(document['transferId']),
    receivedAt: document['receivedAt'] as Date,
    ...(document['suspense'] ? { suspense: suspenseFrom(document['suspense'] as Document) } : {}),
  }),
};

function suspenseFrom(document: Document): SuspenseState {
  return {
    state: document['state'] as SuspenseState['state'],
    accountId: String(document['accountId']),
    ...(document['assignedTo'] ? { assignedTo: String(document['assignedTo']) } : {}),
    ...(document['resolvedAt'] ? { resolvedAt: document['resolvedAt'] as Date } : {}),
  };
}

export const withdrawalCodec: AggregateCodec<WithdrawalRecord> = {
  toDocument: (withdrawal) => ({ ...withdrawal, amount: moneyDocument(withdrawal.amount) }),
  fromDocument: (document) => ({
    participantId: String(document['participantId']),
    amount: moneyFrom(document['amount'] as Document),
    transferId: String(document['transferId']),
    state: document['state'] as WithdrawalRecord['state'],
    requestedAt: document['requestedAt'] as Date,
  }),
};

export function createDepositStore(mongo: MongoConnection, logger: Logger): AggregateStore<DepositRecord> {
  return new AggregateStore<DepositRecord>(mongo, 'deposits', depositCodec, logger);
}

export function createWithdrawalStore(mongo: MongoConnection, logger: Logger): AggregateStore<WithdrawalRecord> {
  return new AggregateStore<WithdrawalRecord>(mongo, 'withdrawals', withdrawalCodec, logger);
}
