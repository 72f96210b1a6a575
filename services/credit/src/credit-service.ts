/**
 * The credit service as parts for the kit's service skeleton (docs/adding-a-service.md): credit
 * records and their history built from every domain topic, served over gRPC (CreditService).
 */
import { grpcService, type RunningService, type ServiceDefinition, startService, type StartServiceOptions } from '@sizhong/kit';
import { creditV1 } from '@sizhong/proto';
import { consumedTopics } from './app/consumed-topics';
import { CreditProfiles } from './app/credit-profiles';
import { creditEventOf } from './app/decode-event';
import type { CreditConfig } from './config';
import { createCreditStore, ScoreHistory } from './storage/credit-store';
import { creditServiceHandlers } from './transport/grpc/credit-service';

/** What tests reach in-process. */
export interface CreditUseCases {
  readonly profiles: CreditProfiles;
}

export type RunningCredit = RunningService<CreditUseCases> & CreditUseCases;

export const creditService: ServiceDefinition<CreditConfig, CreditUseCases> = {
  name: 'credit',
  databaseName: (config) => config.CREDIT_DATABASE,
  topics: (config) => consumedTopics(config.KAFKA_TOPIC_PREFIX),
  async build({ config, logger, mongo }) {
    const records = createCreditStore(mongo, logger);
    const history = new ScoreHistory(mongo);
    for (const store of [records, history]) await store.ensureIndexes();
    const profiles = new CreditProfiles(records, history);

    return {
      grpc: [grpcService(creditV1.CreditServiceService, creditServiceHandlers(profiles))],
      consumers: [
        {
          name: `scores-g${config.CREDIT_CONSUMER_GENERATION}`,
          topics: consumedTopics(config.KAFKA_TOPIC_PREFIX),
          handler: async ({ envelope }) => void (await profiles.apply(creditEventOf(envelope))),
        },
      ],
      exposed: { profiles },
    };
  },
};

/** Starts credit in this process (integration tests, benchmarks). */
export async function startCredit(config: CreditConfig, options: StartServiceOptions = {}): Promise<RunningCredit> {
  const running = await startService(creditService, config, options);
  return { ...running, ...running.exposed };
}
