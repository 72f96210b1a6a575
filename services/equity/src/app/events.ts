/**
 * Equity's domain events as outbox entries on `sizhong.equity.events.v1` (payloads in
 * proto/sizhong/events/v1/equity_events.proto). Never income or net worth: those stay sealed.
 */
import { money, outboxEvent, type PendingEvent } from '@sizhong/kit';
import { eventsV1 } from '@sizhong/proto';
import type { CommitmentEvent, LimitBreach, RoundEvent } from '../domain';

export const equityServiceName = 'equity';

interface Target {
  readonly aggregateId: string;
  /** The version the write produces; with the type it fixes the event id. */
  readonly version: number;
  readonly topicPrefix: string;
}

export function roundEventsToOutbox(events: readonly RoundEvent[], target: Target): PendingEvent[] {
  return events.flatMap((event): PendingEvent[] => {
    const base = { type: event.type, aggregateType: 'round', aggregateId: target.aggregateId, aggregateVersion: target.version, occurredAt: event.occurredAt };
    switch (event.type) {
      case 'RoundLeadJoined':
      case 'RoundLeadLeft':
        // Consumers learn of the lead through LeadCommitted and CommitmentCancelled (was_lead).
        return [];
      case 'RoundOpened': {
        const { round } = event;
        const payload: eventsV1.RoundOpened = {
          roundId: round.id,
          issuerId: round.issuerId,
          target: round.target,
          maximum: round.maximum,
          pricePerShare: round.pricePerShare,
          endsAt: round.endsAt,
          leadMinBps: round.leadMinBps,
          leadCarryBps: round.leadCarryBps,
        };
        return [outboxEvent(equityServiceName, { ...base, payloadType: 'sizhong.events.v1.RoundOpened', codec: eventsV1.RoundOpened, payload }, target.topicPrefix)];
      }
      case 'RoundClosed': {
        const { round } = event;
        const currency = round.pricePerShare.currency;
        const payload: eventsV1.RoundClosed = {
          roundId: round.id,
          issuerId: round.issuerId,
          leadId: round.leadId,
          raised: money(currency, round.raisedMinor),
          fee: money(currency, round.feeMinor),
          sharesIssued: round.sharesIssued,
          leadCarryBps: round.leadCarryBps,
          allocations: round.allocations.map((line) => ({
            investorId: line.investorId,
            commitmentId: line.commitmentId,
            role: line.role,
            shares: line.shares,
            amount: money(currency, line.amountMinor),
            refunded: money(currency, line.refundedMinor),
          })),
        };
        return [outboxEvent(equityServiceName, { ...base, payloadType: 'sizhong.events.v1.RoundClosed', codec: eventsV1.RoundClosed, payload }, target.topicPrefix)];
      }
      case 'RoundFailed': {
        const { round } = event;
        const payload: eventsV1.RoundFailed = {
          roundId: round.id,
          issuerId: round.issuerId,
          leadId: round.leadId ?? '',
          reason: round.reason,
          committed: money(round.pricePerShare.currency, round.committedMinor),
        };
        return [outboxEvent(equityServiceName, { ...base, payloadType: 'sizhong.events.v1.RoundFailed', codec: eventsV1.RoundFailed, payload }, target.topicPrefix)];
      }
    }
  });
}

export function commitmentEventsToOutbox(events: readonly CommitmentEvent[], target: Target): PendingEvent[] {
  return events.flatMap((event): PendingEvent[] => {
    const { commitment } = event;
    const base = { type: event.type, aggregateType: 'commitment', aggregateId: target.aggregateId, aggregateVersion: target.version, occurredAt: event.occurredAt };
    const ids = { roundId: commitment.roundId, issuerId: commitment.issuerId, investorId: commitment.investorId, commitmentId: commitment.id, amount: commitment.amount };
    switch (event.type) {
      case 'LeadCommitted':
        return [outboxEvent(equityServiceName, { ...base, payloadType: 'sizhong.events.v1.LeadCommitted', codec: eventsV1.LeadCommitted, payload: ids }, target.topicPrefix)];
      case 'CommitmentPlaced':
        return [outboxEvent(equityServiceName, { ...base, payloadType: 'sizhong.events.v1.CommitmentPlaced', codec: eventsV1.CommitmentPlaced, payload: ids }, target.topicPrefix)];
      case 'CommitmentCancelled':
        return [outboxEvent(equityServiceName, { ...base, payloadType: 'sizhong.events.v1.CommitmentCancelled', codec: eventsV1.CommitmentCancelled, payload: { ...ids, wasLead: commitment.role === 'lead' } }, target.topicPrefix)];
      case 'CommitmentAllocated':
      case 'CommitmentRefunded':
        // RoundClosed and RoundFailed carry every commitment's outcome at once.
        return [];
    }
  });
}

/**
 * Every profile write announces the investor's accreditation (aggregate = the investor, so the event
 * id is fixed by the version the write produces and credit keeps the flag of the highest version).
 * Income, net worth and the limit stay sealed here.
 */
export function profileUpdatedToOutbox(investorId: string, accredited: boolean, occurredAt: Date, target: Target): PendingEvent {
  return outboxEvent(
    equityServiceName,
    {
      type: 'InvestorProfileUpdated',
      aggregateType: 'investor',
      aggregateId: target.aggregateId,
      aggregateVersion: target.version,
      occurredAt,
      payloadType: 'sizhong.events.v1.InvestorProfileUpdated',
      codec: eventsV1.InvestorProfileUpdated,
      payload: { investorId, accredited },
    },
    target.topicPrefix,
  );
}

export function limitBreachToOutbox(breach: LimitBreach, target: Target): PendingEvent {
  return outboxEvent(
    equityServiceName,
    {
      type: breach.type,
      aggregateType: 'investor',
      aggregateId: target.aggregateId,
      aggregateVersion: target.version,
      idDiscriminator: `${breach.roundId}:${breach.attempted.amountMinor}:${breach.occurredAt.getTime()}`,
      occurredAt: breach.occurredAt,
      payloadType: 'sizhong.events.v1.InvestorLimitBreachAttempted',
      codec: eventsV1.InvestorLimitBreachAttempted,
      payload: { roundId: breach.roundId, investorId: breach.investorId, attempted: breach.attempted, remaining: breach.remaining },
    },
    target.topicPrefix,
  );
}
