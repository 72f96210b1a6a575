/**
 * Wallet use cases: balances and journals of the caller's wallet, deposits from the payment
 * provider's webhook (applied once per provider event id), and withdrawals (once per key).
 */
import { type AggregateStore, type Clock, DomainError, deterministicId, type Money, requestFingerprint } from '@sizhong/kit';
import { eventsV1 } from '@sizhong/proto';
import { externalAccount, walletAccount } from '../domain/ledger/account';
import type { Balance } from '../domain/ledger/account';
import type { Entry } from '../domain/ledger/entry';
import { escrowEvent } from './events';
import type { Ledger } from './ledger';
import { parseProviderEvent, verifySignature } from './payment-provider';
import type { DepositRecord, WithdrawalRecord } from '../storage/wallet-records';

export const paymentProviderName = 'psp';

export interface WalletsOptions {
  readonly ledger: Ledger;
  readonly deposits: AggregateStore<DepositRecord>;
  readonly withdrawals: AggregateStore<WithdrawalRecord>;
  readonly clock: Clock;
  readonly webhookSecret: Uint8Array;
  readonly topicPrefix?: string;
}

export interface ProviderEventOutcome {
  readonly eventId: string;
  readonly outcome: 'applied' | 'already_applied' | 'ignored';
  readonly transferId: string;
}

export class Wallets {
  constructor(private readonly options: WalletsOptions) {}

  async balance(participantId: string, currency: string): Promise<Balance> {
    const account = await this.options.ledger.openAccount(walletAccount(participantId, currency));
    return this.options.ledger.balance(account.id);
  }

  async entries(participantId: string, currency: string, limit: number, beforeSeq?: number): Promise<Entry[]> {
    return this.options.ledger.entries(walletAccount(participantId, currency).id, limit, beforeSeq);
  }

  async applyProviderEvent(body: Buffer, signature: string): Promise<ProviderEventOutcome> {
    const now = this.options.clock.now();
    verifySignature(this.options.webhookSecret, body, signature, now);
    const event = parseProviderEvent(body);
    if (event.kind === 'other') return { eventId: event.id, outcome: 'ignored', transferId: '' };

    const depositId = deterministicId('dp', 'provider-deposit', event.id);
    const transferId = deterministicId('tr', 'provider-deposit', event.id);
    const external = await this.options.ledger.openAccount(externalAccount(paymentProviderName, event.amount.currency));
    const wallet = await this.options.ledger.openAccount(walletAccount(event.participantId, event.amount.currency));
    // The transfer first: a crash before the record leaves money moved but the event unsent, and
    // the provider's retry (same event id) completes the record without moving money twice.
    await this.options.ledger.createTransfer({
      id: transferId,
      mode: 'single_phase',
      debitAccountId: external.id,
      creditAccountId: wallet.id,
      currency: event.amount.currency,
      amountMinor: event.amount.amountMinor,
      reference: { kind: 'deposit', id: depositId },
    });
    const record: DepositRecord = { providerEventId: event.id, participantId: event.participantId, amount: event.amount, transferId, receivedAt: now };
    const outcome = await this.options.deposits.create(
      depositId,
      record,
      [
        escrowEvent(
          {
            type: 'DepositReceived',
            aggregateType: 'deposit',
            aggregateId: depositId,
            aggregateVersion: 1,
            payloadType: 'sizhong.events.v1.DepositReceived',
            codec: eventsV1.DepositReceived,
            payload: { participantId: event.participantId, amount: event.amount, providerEventId: event.id, transferId },
            occurredAt: now,
          },
          this.options.topicPrefix,
        ),
      ],
      requestFingerprint({ participantId: event.participantId, amount: event.amount }),
    );
    return { eventId: event.id, outcome: outcome.kind === 'created' ? 'applied' : 'already_applied', transferId };
  }

  async requestWithdrawal(participantId: string, idempotencyKey: string, amount: Money): Promise<{ id: string; record: WithdrawalRecord }> {
    if (amount.amountMinor <= 0n) throw new DomainError('INVALID_ARGUMENT', 'a withdrawal is positive');
    const id = deterministicId('wd', 'withdrawal', participantId, idempotencyKey);
    const transferId = deterministicId('tr', 'withdrawal', id);
    const now = this.options.clock.now();
    const created = await this.options.withdrawals.create(
      id,
      { participantId, amount, transferId, state: 'requested', requestedAt: now },
      [],
      requestFingerprint({ amount }),
    );
    const current = created.aggregate.state;
    if (current.state === 'completed') return { id, record: current };
    if (current.state === 'rejected') throw new DomainError('INSUFFICIENT_FUNDS', 'the wallet does not have enough available money');

    const external = await this.options.ledger.openAccount(externalAccount(paymentProviderName, amount.currency));
    try {
      await this.options.ledger.createTransfer({
        id: transferId,
        mode: 'single_phase',
        debitAccountId: walletAccount(participantId, amount.currency).id,
        creditAccountId: external.id,
        currency: amount.currency,
        amountMinor: amount.amountMinor,
        reference: { kind: 'withdrawal', id },
      });
    } catch (error) {
      if (error instanceof DomainError && error.code === 'INSUFFICIENT_FUNDS') {
        await this.options.withdrawals.update(id, (loaded) => ({ state: { ...loaded.state, state: 'rejected' }, events: [], result: undefined }));
      }
      throw error;
    }
    const { aggregate } = await this.options.withdrawals.update(id, (loaded) =>
      loaded.state.state === 'completed'
        ? { state: loaded.state, events: [], result: undefined }
        : {
            state: { ...loaded.state, state: 'completed' },
            events: [
              escrowEvent(
                {
                  type: 'WithdrawalCompleted',
                  aggregateType: 'withdrawal',
                  aggregateId: id,
                  aggregateVersion: loaded.version + 1,
                  payloadType: 'sizhong.events.v1.WithdrawalCompleted',
                  codec: eventsV1.WithdrawalCompleted,
                  payload: { participantId, amount, withdrawalId: id, transferId },
                  occurredAt: this.options.clock.now(),
                },
                this.options.topicPrefix,
              ),
            ],
            result: undefined,
          },
    );
    return { id, record: aggregate.state };
  }
}
