/**
 * Wallet use cases: balances and journals of the caller's wallet, deposits from the payment
 * provider's webhook (applied once per provider event id), and withdrawals (once per key).
 */
import { type AggregateStore, type Clock, DomainError, deterministicId, type Money, requestFingerprint } from '@sizhong/kit';
import { eventsV1 } from '@sizhong/proto';
import { externalAccount, suspenseAccount, walletAccount } from '../domain/ledger/account';
import type { Balance } from '../domain/ledger/account';
import type { Entry } from '../domain/ledger/entry';
import { escrowEvent } from './events';
import type { Ledger } from './ledger';
import { parseProviderEvent, verifySignature } from './payment-provider';
import type { DepositRecord, SuspenseState, WithdrawalRecord } from '../storage/wallet-records';

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
  readonly outcome: 'applied' | 'held_in_suspense' | 'already_applied' | 'ignored';
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

  /**
   * `recipientUnknown` (the gateway's word: the participant id names nobody it knows) books the
   * money to the deposit's own suspense account instead of a wallet; an admin resolves it
   * (`resolveSuspense`). Whichever the first delivery of an event decided stands for its replays.
   */
  async applyProviderEvent(body: Buffer, signature: string, recipientUnknown = false): Promise<ProviderEventOutcome> {
    const now = this.options.clock.now();
    verifySignature(this.options.webhookSecret, body, signature, now);
    const event = parseProviderEvent(body);
    if (event.kind === 'other') return { eventId: event.id, outcome: 'ignored', transferId: '' };

    const depositId = deterministicId('dp', 'provider-deposit', event.id);
    const transferId = deterministicId('tr', 'provider-deposit', event.id);
    const applied = (await this.options.deposits.load(depositId))?.state;
    if (applied) {
      if (applied.participantId !== event.participantId || applied.amount.currency !== event.amount.currency || applied.amount.amountMinor !== event.amount.amountMinor) {
        throw new DomainError('IDEMPOTENCY_KEY_REUSED', `provider event ${event.id} was applied before with different content`);
      }
      return { eventId: event.id, outcome: 'already_applied', transferId };
    }
    // A transfer left by a crash before the record was written decided where the money went.
    const earlier = await this.options.ledger.transfer(transferId).catch(() => undefined);
    const suspense = earlier ? earlier.creditAccountId === suspenseAccount(depositId, event.amount.currency).id : recipientUnknown;
    const external = await this.options.ledger.openAccount(externalAccount(paymentProviderName, event.amount.currency));
    const credited = await this.options.ledger.openAccount(suspense ? suspenseAccount(depositId, event.amount.currency) : walletAccount(event.participantId, event.amount.currency));
    // The transfer first: a crash before the record leaves money moved but the event unsent, and
    // the provider's retry (same event id) completes the record without moving money twice.
    await this.options.ledger.createTransfer({
      id: transferId,
      mode: 'single_phase',
      debitAccountId: external.id,
      creditAccountId: credited.id,
      currency: event.amount.currency,
      amountMinor: event.amount.amountMinor,
      reference: { kind: 'deposit', id: depositId },
    });
    const record: DepositRecord = {
      providerEventId: event.id,
      participantId: event.participantId,
      amount: event.amount,
      transferId,
      receivedAt: now,
      ...(suspense ? { suspense: { state: 'held', accountId: credited.id } satisfies SuspenseState } : {}),
    };
    // Money in suspense is nobody's yet: DepositReceived is published when an admin assigns it.
    const outcome = await this.options.deposits.create(
      depositId,
      record,
      suspense ? [] : [
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
    if (outcome.kind !== 'created') return { eventId: event.id, outcome: 'already_applied', transferId };
    return { eventId: event.id, outcome: suspense ? 'held_in_suspense' : 'applied', transferId };
  }

  /** Deposits that went to suspense (held or resolved), in id order after `cursor`. */
  async suspenseDeposits(limit: number, cursor?: string): Promise<{ items: { id: string; record: DepositRecord }[]; nextCursor: string }> {
    const found = await this.options.deposits.find({ 'state.suspense.state': { $in: ['held', 'assigned', 'refunded'] }, ...(cursor ? { _id: { $gt: cursor } } : {}) } as never, { limit: limit + 1, sort: { _id: 1 } });
    const items = found.slice(0, limit).map((loaded) => ({ id: loaded.id, record: loaded.state }));
    return { items, nextCursor: found.length > limit ? items[items.length - 1]!.id : '' };
  }

  /**
   * An admin's resolution of a deposit in suspense: `assign` moves it to a participant's wallet
   * (and publishes DepositReceived for them), `refund` back to the provider. The one transfer out,
   * `tr/suspense-resolution/<deposit>`, decides: the ledger takes one request under that id, so two
   * admins resolving at once, or a contrary resolution later, cannot both move the money (the loser
   * is ALREADY_DECIDED); the same resolution again answers it. The record follows the transfer, and
   * a crash between them is repaired by any later resolution request.
   */
  async resolveSuspense(depositId: string, resolution: { action: 'assign'; participantId: string } | { action: 'refund' }): Promise<{ id: string; record: DepositRecord }> {
    const loaded = await this.options.deposits.load(depositId);
    const suspense = loaded?.state.suspense;
    if (!loaded || !suspense) throw new DomainError('NOT_FOUND', `no deposit ${depositId} is held in suspense`);
    const deposit = loaded.state;
    const resolutionId = deterministicId('tr', 'suspense-resolution', depositId);
    const target = resolution.action === 'assign' ? walletAccount(resolution.participantId, deposit.amount.currency) : externalAccount(paymentProviderName, deposit.amount.currency);
    const earlier = await this.options.ledger.transfer(resolutionId).catch(() => undefined);
    if (earlier && earlier.creditAccountId !== target.id) throw alreadyResolved(suspense, earlier.creditAccountId);
    if (suspense.state !== 'held' && !earlier) throw alreadyResolved(suspense, undefined);
    await this.options.ledger.openAccount(target);
    const transfer = await this.options.ledger
      .createTransfer({ id: resolutionId, mode: 'single_phase', debitAccountId: suspense.accountId, creditAccountId: target.id, currency: deposit.amount.currency, amountMinor: deposit.amount.amountMinor, reference: { kind: 'deposit', id: depositId } })
      .catch(async (error: unknown) => {
        // Another admin's resolution won the id between our read and our request.
        if (error instanceof DomainError && error.code === 'IDEMPOTENCY_KEY_REUSED') throw alreadyResolved(suspense, (await this.options.ledger.transfer(resolutionId)).creditAccountId);
        throw error;
      });
    const now = this.options.clock.now();
    const resolved: SuspenseState = {
      ...suspense,
      state: resolution.action === 'assign' ? 'assigned' : 'refunded',
      ...(resolution.action === 'assign' ? { assignedTo: resolution.participantId } : {}),
      resolvedAt: suspense.resolvedAt ?? now,
    };
    const { aggregate } = await this.options.deposits.update(depositId, (current) =>
      current.state.suspense?.state !== 'held'
        ? { state: current.state, events: [], result: undefined }
        : {
            result: undefined,
            state: { ...current.state, suspense: resolved },
            events:
              resolution.action === 'assign'
                ? [
                    escrowEvent(
                      {
                        type: 'DepositReceived',
                        aggregateType: 'deposit',
                        aggregateId: depositId,
                        aggregateVersion: current.version + 1,
                        payloadType: 'sizhong.events.v1.DepositReceived',
                        codec: eventsV1.DepositReceived,
                        payload: { participantId: resolution.participantId, amount: deposit.amount, providerEventId: deposit.providerEventId, transferId: transfer.id },
                        occurredAt: now,
                      },
                      this.options.topicPrefix,
                    ),
                  ]
                : [],
          },
    );
    return { id: depositId, record: aggregate.state };
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

/** The contrary resolution's refusal, naming the one recorded (from the record, or from the transfer out that decided it). */
function alreadyResolved(suspense: SuspenseState, creditAccountId: string | undefined): DomainError {
  const decision = suspense.state !== 'held' ? suspense.state : creditAccountId?.startsWith('external:') ? 'refunded' : 'assigned';
  return new DomainError('ALREADY_DECIDED', `the deposit was already ${decision}`, { decision, ...(suspense.assignedTo ? { assignedTo: suspense.assignedTo } : {}) });
}
