/**
 * What the fuzzer talks to: the real gateway on 127.0.0.1:0 with the real escrow service behind
 * it (own database and topic prefix), and one signed-in participant per role the API knows, so
 * every operation can be called by someone it allows. The backer's wallet is funded through the
 * signed webhook, so pledges and withdrawals can succeed and reach the routes behind them.
 * Task-dispatch and credit run behind it too (same topic prefix), and the enterprise is funded, so
 * contests and dispatch tasks can be posted and the routes behind them reached.
 */
import { depositAmountMinorMax } from '../../../services/escrow/src/app/payment-provider';
import { connectMongo, createLogger, loadConfig, type ParticipantRole, participantRoles, selfServiceRoles } from '@sizhong/kit';
import { startTestService, testDatabaseName, testInfrastructure, testTopicPrefix } from '@sizhong/testkit';
import { signPayload } from '../../../services/escrow/src/app/payment-provider';
import { escrowConfigShape } from '../../../services/escrow/src/config';
import { type RunningEscrow, startEscrow } from '../../../services/escrow/src/escrow-service';
import { createPrivilegedParticipant, signUpAndSignIn, startTestGateway, type TestGateway } from '../support/test-gateway';
import { creditConfigShape } from '../../../services/credit/src/config';
import { creditService } from '../../../services/credit/src/credit-service';
import { taskDispatchConfigShape } from '../../../services/task-dispatch/src/config';
import { taskDispatchService } from '../../../services/task-dispatch/src/task-dispatch-service';
import { equityConfigShape } from '../../../services/equity/src/config';
import { equityService } from '../../../services/equity/src/equity-service';

const webhookSecret = 'fuzz-target-webhook-secret-0123456789abcdef';

/**
 * The participants the fuzzer signs in as, one per role the kit knows (a role added later gets
 * one too); the Python hooks pick one per operation by its `x-sizhong-access`.
 */
export const fuzzRoles = participantRoles;
export type FuzzRole = ParticipantRole;

const selfService: ReadonlySet<ParticipantRole> = new Set(selfServiceRoles);

/** Enough for many pledges of any size a campaign takes (10^12 minor units at most each). */
const backerFundsMinor = depositAmountMinorMax; // the largest deposit escrow takes

export interface FuzzTarget {
  readonly url: string;
  readonly gateway: TestGateway;
  /** Access tokens by role; each participant holds exactly that one role. */
  readonly tokens: Readonly<Record<FuzzRole, string>>;
  close(): Promise<void>;
}

export async function startFuzzTarget(label: string): Promise<FuzzTarget> {
  const infrastructure = testInfrastructure();
  const escrowDatabase = testDatabaseName(`${label}-escrow`);
  const escrow: RunningEscrow = await startEscrow(
    loadConfig(escrowConfigShape, {
      MONGO_URL: infrastructure.mongoUrl,
      KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
      ESCROW_DATABASE: escrowDatabase,
      KAFKA_TOPIC_PREFIX: testTopicPrefix(label),
      PSP_WEBHOOK_SECRET: webhookSecret,
      GRPC_PORT: '0',
      LOG_LEVEL: 'silent',
    }),
    { logger: createLogger({ service: 'escrow', level: 'silent' }) },
  );
  let gateway: TestGateway | undefined;
  const downstream: { stop(): Promise<void> }[] = [];
  const stopDownstream = async () => {
    for (const service of downstream.splice(0).reverse()) await service.stop();
  };
  try {
    const credit = await startTestService(creditService, creditConfigShape, { label: `${label}-credit`, environment: { KAFKA_TOPIC_PREFIX: testTopicPrefix(label) } });
    downstream.push(credit);
    const taskDispatch = await startTestService(taskDispatchService, taskDispatchConfigShape, {
      label: `${label}-tasks`,
      environment: { ESCROW_GRPC_ADDRESS: escrow.address, CREDIT_GRPC_ADDRESS: credit.address, KAFKA_TOPIC_PREFIX: testTopicPrefix(label) },
    });
    downstream.push(taskDispatch);
    const equity = await startTestService(equityService, equityConfigShape, {
      label: `${label}-equity`,
      environment: { ESCROW_GRPC_ADDRESS: escrow.address, CREDIT_GRPC_ADDRESS: credit.address, KAFKA_TOPIC_PREFIX: testTopicPrefix(label), EQUITY_PROFILE_KEY: 'fuzz-target-equity-profile-key-0123456789' },
    });
    downstream.push(equity);
    gateway = await startTestGateway({
      label,
      environment: {
        ESCROW_GRPC_ADDRESS: escrow.address,
        TASK_DISPATCH_GRPC_ADDRESS: taskDispatch.address,
        CREDIT_GRPC_ADDRESS: credit.address,
        EQUITY_GRPC_ADDRESS: equity.address,
        LOG_LEVEL: 'warn',
        // Each GET /v1/risk/feed answer ends after a second (clients resume with Last-Event-ID), not the default 25 s.
        RISK_FEED_STREAM_MAX_MS: '1000',
      },
    });
    const running = gateway;
    const participants = await Promise.all(
      fuzzRoles.map((role) => (selfService.has(role) ? signUpAndSignIn(running.http, [role]) : createPrivilegedParticipant(running, [role]))),
    );
    const tokens = {} as Record<FuzzRole, string>;
    fuzzRoles.forEach((role, index) => {
      tokens[role] = participants[index]!.token;
    });
    await deposit(running, participants[fuzzRoles.indexOf('backer')]!.participantId, backerFundsMinor);
    await deposit(running, participants[fuzzRoles.indexOf('enterprise')]!.participantId, backerFundsMinor);
    await deposit(running, participants[fuzzRoles.indexOf('investor')]!.participantId, backerFundsMinor);
    return {
      url: running.url,
      gateway: running,
      tokens,
      close: async () => {
        await running.close();
        await stopDownstream();
        await stopEscrow(escrow, escrowDatabase);
      },
    };
  } catch (error) {
    await gateway?.close();
    await stopDownstream();
    await stopEscrow(escrow, escrowDatabase);
    throw error;
  }
}

async function stopEscrow(escrow: RunningEscrow, database: string): Promise<void> {
  await escrow.stop();
  const mongo = await connectMongo(testInfrastructure().mongoUrl, database);
  await mongo.db.dropDatabase().catch(() => undefined);
  await mongo.close();
}

/** A signed deposit through the webhook route, as the payment provider makes it. */
async function deposit(gateway: TestGateway, participantId: string, amountMinor: bigint): Promise<void> {
  const body = JSON.stringify({ id: `evt_fuzz_${Date.now()}_${participantId}`, type: 'deposit.succeeded', participantId, amount: { currency: 'CNY', amountMinor: amountMinor.toString() } });
  const signature = signPayload(new TextEncoder().encode(webhookSecret), body, Math.floor(Date.now() / 1_000));
  const response = await gateway.http.request('POST', '/v1/psp/webhooks', { rawBody: body, headers: { 'content-type': 'application/json', 'sizhong-signature': signature } });
  if (response.status !== 200) throw new Error(`funding the backer failed: ${response.status} ${response.text}`);
}
