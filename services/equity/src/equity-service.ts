/**
 * The equity service as parts for the kit's service skeleton: its stores, the profile cipher, the
 * ledger and credit clients, the use cases, the close at each round's deadline (scheduler) and the
 * gRPC service. main.ts runs it; tests start it in-process with `startTestService(equityService, …)`.
 */
import { defaultDataDirectory, grpcService, resolveLocalSecret, type AggregateStore, type ServiceDefinition } from '@sizhong/kit';
import { equityV1 } from '@sizhong/proto';
import { Closing } from './app/closing';
import { Commitments } from './app/commitments';
import { EquityWrites, roundJobKinds } from './app/context';
import { equityServiceName } from './app/events';
import { Investors } from './app/investors';
import type { CreditPort, LedgerPort } from './app/ports';
import { Rounds } from './app/rounds';
import type { EquityConfig } from './config';
import { assertEquityPolicy, defaultEquityPolicy, type EquityPolicy } from './domain';
import { ProfileCipher } from './storage/profile-cipher';
import { createCommitmentStore, createInvestorStore, createRoundStore, RoundAdmissions, RoundPositions } from './storage/stores';
import { GrpcCredit, GrpcLedger } from './transport/grpc/downstream';
import { equityServiceHandlers } from './transport/grpc/equity-handlers';

export const profileKeyFileName = 'equity-profile-key';

/** What tests reach in-process. */
export interface EquityUseCases {
  readonly investors: Investors;
  readonly rounds: Rounds;
  readonly commitments: Commitments;
  readonly closing: Closing;
  readonly ledger: LedgerPort;
  readonly credit: CreditPort;
  readonly positions: RoundPositions;
}

export function equityPolicy(config: EquityConfig): EquityPolicy {
  const policy: EquityPolicy = {
    ...defaultEquityPolicy,
    durationMinMs: config.DEADLINE_MIN_MS,
    durationMaxMs: config.EQUITY_ROUND_DURATION_MAX_MS,
    coolingOffMs: config.EQUITY_COOLING_OFF_MS,
    oversubscriptionCapBps: config.EQUITY_OVERSUBSCRIPTION_CAP_BPS,
    leadScoreMin: config.EQUITY_LEAD_SCORE_MIN,
    investorsMaxDefault: config.EQUITY_INVESTORS_MAX,
    feeBps: config.PLATFORM_FEE_BPS,
    limitFloorMinor: config.EQUITY_LIMIT_FLOOR_MINOR,
    limitThresholdMinor: config.EQUITY_LIMIT_THRESHOLD_MINOR,
    limitCapMinor: config.EQUITY_LIMIT_CAP_MINOR,
  };
  assertEquityPolicy(policy);
  return policy;
}

export const equityService: ServiceDefinition<EquityConfig, EquityUseCases> = {
  name: equityServiceName,
  databaseName: (config) => config.EQUITY_DATABASE,
  async build({ config, clock, logger, mongo, scheduler, sagas }) {
    const rounds = createRoundStore(mongo, logger);
    const commitmentStore = createCommitmentStore(mongo, logger);
    const investorStore = createInvestorStore(mongo, logger);
    const positions = new RoundPositions(mongo);
    for (const store of [rounds, commitmentStore, investorStore, positions]) await store.ensureIndexes();

    const secret = resolveLocalSecret({ configured: config.EQUITY_PROFILE_KEY, dataDirectory: defaultDataDirectory(), fileName: profileKeyFileName, lengthMin: 32 }).secret;
    const ledger = new GrpcLedger(config.ESCROW_GRPC_ADDRESS, config.EQUITY_ESCROW_DEADLINE_MS);
    const credit = new GrpcCredit(config.CREDIT_GRPC_ADDRESS);
    const writes = new EquityWrites({
      rounds,
      commitments: commitmentStore,
      investors: investorStore,
      positions,
      admissions: new RoundAdmissions(rounds, clock),
      sagas,
      ledger,
      credit,
      cipher: new ProfileCipher(secret),
      scheduler,
      clock,
      policy: equityPolicy(config),
      topicPrefix: config.KAFKA_TOPIC_PREFIX,
    });
    const investors = new Investors(writes);
    const roundUseCases = new Rounds(writes);
    const commitments = new Commitments(writes, investors);
    const closing = new Closing(writes);
    scheduler.handle(roundJobKinds.close, async (job) => void (await closing.close(String(job.payload['roundId']))));

    return {
      grpc: [grpcService(equityV1.EquityServiceService, equityServiceHandlers({ investors, rounds: roundUseCases, commitments }))],
      outboxes: [rounds, commitmentStore, investorStore] as AggregateStore<unknown>[],
      loops: [{ name: 'round close recovery', intervalMs: config.EQUITY_CLOSE_RECOVERY_INTERVAL_MS, run: () => closing.recover() }],
      stop: async () => {
        ledger.close();
        credit.close();
      },
      exposed: { investors, rounds: roundUseCases, commitments, closing, ledger, credit, positions },
    };
  },
};
