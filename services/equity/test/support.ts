/**
 * Starts equity beside a real escrow and a real credit service for a test file (credit on the
 * same topic prefix as equity, so it scores equity's own events), with typed clients and helpers.
 * A lead qualifies the way one does on a fresh platform: an accredited profile (PUT) makes equity
 * emit InvestorProfileUpdated, credit raises the investor score to 660 (ACCREDITED_INVESTOR), and
 * the test waits for that score (scoreOf polls GetScore, bounded).
 */
import { type CallerIdentity, createGrpcClient, type ParticipantRole } from '@sizhong/kit';
import { equityV1 } from '@sizhong/proto';
import { eventually, startTestService, type TestService } from '@sizhong/testkit';
import { type CreditHarness, startCreditHarness } from '../../credit/test/support';
import { type EscrowHarness, startEscrowHarness } from '../../escrow/test/support';
import { equityConfigShape } from '../src/config';
import { equityService, type EquityUseCases } from '../src/equity-service';

export interface EquityHarness {
  readonly equity: TestService<EquityUseCases>;
  readonly escrow: EscrowHarness;
  readonly credit: CreditHarness;
  readonly client: ReturnType<typeof createGrpcClient<typeof equityV1.EquityServiceService>>;
  /** Polls credit's investor score of `investorId` until `accept` holds (bounded); returns it. */
  investorScore(investorId: string, accept: (score: number) => boolean, what: string): Promise<number>;
  stop(): Promise<void>;
}

export function as(participantId: string, ...roles: ParticipantRole[]): { identity: CallerIdentity } {
  return { identity: { participantId, roles } };
}

export const cny = (amountMinor: bigint | number) => ({ currency: 'CNY', amountMinor: BigInt(amountMinor) });

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
  return {
    equity,
    escrow,
    credit,
    client,
    async investorScore(investorId, accept, what) {
      const profile = await eventually(() => credit.scores.call.getScore({ participantId: investorId, role: 'investor' }), (found) => accept(found.score), what);
      return profile.score;
    },
    async stop() {
      client.close();
      await equity.stop();
      await Promise.all([escrow.stop(), credit.stop()]);
    },
  };
}

export { eventually };
