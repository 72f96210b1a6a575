/** The campaign domain's events as outbox entries with their protobuf payloads. */
import type { PendingEvent } from '@sizhong/kit';
import { eventsV1 } from '@sizhong/proto';
import type { CampaignEvent, PledgeEvent } from '../../domain/campaign';
import { escrowEvent } from '../events';

interface Versioned {
  readonly aggregateId: string;
  /** The version the write produces; with the event type it fixes the event id. */
  readonly version: number;
  readonly topicPrefix: string;
}

export function campaignEventsToOutbox(events: readonly CampaignEvent[], target: Versioned): PendingEvent[] {
  return events.flatMap((event) => {
    const base = { type: event.type, aggregateType: 'campaign', aggregateId: target.aggregateId, aggregateVersion: target.version, occurredAt: event.occurredAt };
    const ids = { campaignId: event.campaignId, creatorId: event.creatorId };
    switch (event.type) {
      case 'CampaignCreated':
      case 'MilestoneAccepted':
        // Internal steps: consumers learn of the campaign at launch and of votes through the release.
        return [];
      case 'CampaignLaunched':
        return [escrowEvent({ ...base, payloadType: 'sizhong.events.v1.CampaignLaunched', codec: eventsV1.CampaignLaunched, payload: { ...ids, goal: event.goal, fundingModel: event.fundingModel, endsAt: event.endsAt, deliveryDate: event.deliveryDate } }, target.topicPrefix)];
      case 'CampaignSucceeded':
        return [escrowEvent({ ...base, payloadType: 'sizhong.events.v1.CampaignSucceeded', codec: eventsV1.CampaignSucceeded, payload: { ...ids, fundingModel: event.fundingModel, goal: event.goal, pledged: event.pledged, pledgesCount: event.pledgesCount, backersCount: event.backersCount } }, target.topicPrefix)];
      case 'CampaignFailed':
        return [escrowEvent({ ...base, payloadType: 'sizhong.events.v1.CampaignFailed', codec: eventsV1.CampaignFailed, payload: { ...ids, fundingModel: event.fundingModel, reason: event.reason, goal: event.goal, pledged: event.pledged, pledgesCount: event.pledgesCount, backersCount: event.backersCount } }, target.topicPrefix)];
      case 'CampaignDeliveryStarted':
        return [escrowEvent({ ...base, payloadType: 'sizhong.events.v1.CampaignDeliveryStarted', codec: eventsV1.CampaignDeliveryStarted, payload: { ...ids, collected: event.collected, fee: event.fee, net: event.net, milestoneAmounts: [...event.milestoneAmounts] } }, target.topicPrefix)];
      case 'CampaignPayoutReleased':
        return [escrowEvent({ ...base, payloadType: 'sizhong.events.v1.CampaignPayoutReleased', codec: eventsV1.CampaignPayoutReleased, payload: { ...ids, amount: event.amount } }, target.topicPrefix)];
      case 'MilestoneReleased':
        return [escrowEvent({ ...base, idDiscriminator: `milestone-${event.milestoneIndex}`, payloadType: 'sizhong.events.v1.MilestoneReleased', codec: eventsV1.MilestoneReleased, payload: { ...ids, milestoneIndex: event.milestoneIndex, amount: event.amount, reason: event.reason, dueAt: event.dueAt } }, target.topicPrefix)];
      case 'DeliveryOverdue':
        return [escrowEvent({ ...base, idDiscriminator: `milestone-${event.milestoneIndex}`, payloadType: 'sizhong.events.v1.DeliveryOverdue', codec: eventsV1.DeliveryOverdue, payload: { ...ids, milestoneIndex: event.milestoneIndex, dueAt: event.dueAt, amount: event.amount } }, target.topicPrefix)];
      case 'CampaignDelivered':
        return [escrowEvent({ ...base, payloadType: 'sizhong.events.v1.CampaignDelivered', codec: eventsV1.CampaignDelivered, payload: { ...ids, released: event.released, milestonesCount: event.milestonesCount, deliveryDate: event.deliveryDate } }, target.topicPrefix)];
      case 'CampaignDeliveryFailed':
        return [escrowEvent({ ...base, payloadType: 'sizhong.events.v1.CampaignDeliveryFailed', codec: eventsV1.CampaignDeliveryFailed, payload: { ...ids, released: event.released, refundAmount: event.refundAmount, milestonesReleasedCount: event.milestonesReleasedCount, milestonesRefundedCount: event.milestonesRefundedCount } }, target.topicPrefix)];
    }
  });
}

export function pledgeEventsToOutbox(events: readonly PledgeEvent[], target: Versioned): PendingEvent[] {
  return events.map((event) =>
    escrowEvent(
      {
        type: event.type,
        aggregateType: 'pledge',
        aggregateId: target.aggregateId,
        aggregateVersion: target.version,
        occurredAt: event.occurredAt,
        payloadType: 'sizhong.events.v1.PledgeChanged',
        codec: eventsV1.PledgeChanged,
        payload: {
          pledgeId: event.pledgeId,
          campaignId: event.campaignId,
          creatorId: event.creatorId,
          backerId: event.backerId,
          tierId: event.tierId ?? '',
          amount: event.amount,
          transferId: event.transferId,
          refundReason: event.type === 'PledgeRefunded' ? event.reason : '',
          ...(event.type === 'PledgeRefunded' ? { refundedAmount: event.refundedAmount } : {}),
        },
      },
      target.topicPrefix,
    ),
  );
}
