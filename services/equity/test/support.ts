/**
 * Starts equity beside a real escrow and a real credit service for a test file (credit on the
 * same topic prefix as equity, so it scores equity's own events), with typed clients and helpers.
 * A lead's track record is seeded the way credit learns it: RoundClosed events naming them lead,
 * published in the real envelope to the equity topic (rounds that closed before this test).
 */
import { type CallerIdentity, createGrpcClient, type ParticipantRole } from '@sizhong/kit';
import { equityV1 } from '@sizhong/proto';
import { startTestService, type TestService } from '@sizhong/testkit';
import { type CreditHarness, FixtureProducer, startCreditHarness } from '../../credit/test/support';
import { type EscrowHarness, startEscrowHarness } from '../../escrow/test/support';
import { equityConfigShape } from '../src/config';
import { equityService, type EquityUseCases } from '../src/equity-service';

export interface EquityHarness {
  readonly equity: TestService<EquityUseCases>;
  readonly escrow: EscrowHarness;
  readonly credit: CreditHarness;
  readonly client: ReturnType<typeof createGrpcClient<typeof equityV1.EquityServiceService>>;
  /** Publishes `rounds` RoundClosed events naming `investorId` lead, and waits until credit has scored them. */
  seedLeadTrackRecord(investorId: string, rounds: number): Promise<number>;
  stop(): Promise<void>;
}

export function as(participantId: string, ...roles: ParticipantRole[]): { identity: CallerIdentity } {
  return { identity: { participantId, roles } };
}

export const cny = (amountMinor: bigint | number) => ({ currency: 'CNY', amountMinor: BigInt(amountMinor) });

let seeded = 0;

export async function startEquityHarness(label: string, environment: Record<string, string> = {}): Promise<EquityHarness> {
  // One after the other: topic creation on the shared broker is where parallel starts flaked.
  const credit = await startCreditHarness(`${label}-credit`);
  const escrow = await startEscrowHarness(`${label}-escrow`, { PLATFORM_FEE_BPS: '500' });
  const equity = await startTestService(equityService, equityConfigShape, {
    label: `${label}-equity`,
    environment: {
      ESCROW_GRPC_ADDRESS: escrow.escrow.address,
      CREDIT_GRPC_ADDRESS: credit.credit.address,
      KAFKA_TOPIC_PREFIX: credit.topicPrefix,
      EQUITY_PROFILE_KEY: 'equity-test-profile-key-0123456789abcdef',
      DEADLINE_MIN_MS: '1000',
      ...environment,
    },
  });
  const client = createGrpcClient(equityV1.EquityServiceService, equity.address, { deadlineMs: 60_000 });
  const fixtures = new FixtureProducer('equity', credit.topicPrefix);
  return {
    equity,
    escrow,
    credit,
    client,
    async seedLeadTrackRecord(investorId, rounds) {
      const before = (await credit.scores.call.getScore({ participantId: investorId, role: 'investor' })).score;
      const now = new Date();
      const events = Array.from({ length: rounds }, (_, index) => {
        seeded += 1;
        const roundId = `rd_earlier_${label}_${seeded}`;
        return { id: `ev_seed_${label}_${seeded}_${index}`, type: 'RoundClosed', aggregateType: 'round', aggregateId: roundId, occurredAt: now, payloadType: 'RoundClosed' as const, payload: { roundId, issuerId: `pt_earlier_issuer_${seeded}`, leadId: investorId } };
      });
      await fixtures.publish(...events);
      const deadline = Date.now() + 30_000;
      for (;;) {
        const score = (await credit.scores.call.getScore({ participantId: investorId, role: 'investor' })).score;
        if (score >= before + 25 * rounds) return score;
        if (Date.now() > deadline) throw new Error(`credit did not score the seeded rounds of ${investorId} (score ${score})`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    },
    async stop() {
      client.close();
      await fixtures.close();
      await equity.stop();
      await Promise.all([escrow.stop(), credit.stop()]);
    },
  };
}

export async function eventually<T>(probe: () => Promise<T>, accept: (value: T) => boolean, what: string, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (accept(value)) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
