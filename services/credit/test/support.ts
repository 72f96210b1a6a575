/**
 * Test helpers for credit: a started credit service with typed clients, and fixture producers that
 * publish events in the real envelope to the real topics (`sizhong.<service>.events.v1` with the
 * test's prefix), for event types whose services do not emit them yet.
 */
import { buildEnvelope, createGrpcClient, createKafka, eventsTopic, EventPublisher, type PayloadType } from '@sizhong/kit';
import { creditV1, eventsV1 } from '@sizhong/proto';
import { eventually, startTestService, testInfrastructure } from '@sizhong/testkit';
import pino from 'pino';
import { creditConfigShape } from '../src/config';
import { creditService, type RunningCredit } from '../src/credit-service';

export interface CreditHarness {
  readonly credit: RunningCredit;
  readonly database: string;
  readonly topicPrefix: string;
  readonly scores: ReturnType<typeof createGrpcClient<typeof creditV1.CreditServiceService>>;
  readonly risk: ReturnType<typeof createGrpcClient<typeof creditV1.RiskServiceService>>;
  stop(): Promise<void>;
}

export async function startCreditHarness(label: string, environment: Record<string, string> = {}): Promise<CreditHarness> {
  const service = await startTestService(creditService, creditConfigShape, { label, environment });
  const credit: RunningCredit = { ...service, ...service.exposed };
  const scores = createGrpcClient(creditV1.CreditServiceService, credit.address, { deadlineMs: 10_000 });
  const risk = createGrpcClient(creditV1.RiskServiceService, credit.address, { deadlineMs: 10_000 });
  return {
    credit,
    database: service.database,
    topicPrefix: service.topicPrefix,
    scores,
    risk,
    async stop() {
      scores.close();
      risk.close();
      await service.stop();
    },
  };
}

export interface FixtureEvent {
  readonly id: string;
  readonly type: string;
  readonly aggregateType: string;
  readonly aggregateId: string;
  readonly aggregateVersion?: number;
  readonly occurredAt: Date;
  /** The payload message's name in sizhong.events.v1, e.g. "TaskMilestoneAccepted". */
  readonly payloadType: keyof typeof eventsV1;
  readonly payload: Record<string, unknown>;
}

/** Publishes events as the producing service would: its topic, key = aggregate id, the real envelope. */
export class FixtureProducer {
  private readonly publisher = new EventPublisher(createKafka({ brokers: testInfrastructure().kafkaBrokers, clientId: 'credit-fixtures', logger: pino({ level: 'silent' }) }));

  constructor(
    private readonly service: 'escrow' | 'task-dispatch' | 'equity',
    private readonly topicPrefix: string,
  ) {}

  async publish(...events: FixtureEvent[]): Promise<void> {
    await this.publisher.publish(
      events.map((event) => ({
        topic: eventsTopic(this.service, this.topicPrefix),
        envelope: buildEnvelope(
          {
            id: event.id,
            type: event.type,
            aggregateId: event.aggregateId,
            aggregateType: event.aggregateType,
            aggregateVersion: BigInt(event.aggregateVersion ?? 1),
            occurredAt: event.occurredAt,
            producer: this.service,
            payloadType: `sizhong.events.v1.${String(event.payloadType)}`,
            // Defaults for the fields a fixture leaves out, as the producing service's encoder would have.
            payload: (eventsV1[event.payloadType] as unknown as { fromPartial(value: object): Record<string, unknown> }).fromPartial(event.payload),
          },
          eventsV1[event.payloadType] as unknown as PayloadType<Record<string, unknown>>,
        ),
      })),
    );
  }

  async close(): Promise<void> {
    await this.publisher.disconnect();
  }
}

export { eventually };
