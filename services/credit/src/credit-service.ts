/**
 * The credit service as parts for the kit's service skeleton (docs/adding-a-service.md): build its
 * stores on `mongo`, its use cases on them, and return the gRPC services, the stores whose outboxes
 * the relay publishes, the consumers and the loops. Deadlines go through `scheduler.handle`.
 */
import type { ServiceDefinition } from '@sizhong/kit';
import type { CreditConfig } from './config';

/** What tests reach in-process: the use cases, once there are some. */
export type CreditUseCases = Record<string, never>;

export const creditService: ServiceDefinition<CreditConfig, CreditUseCases> = {
  name: 'credit',
  databaseName: (config) => config.CREDIT_DATABASE,
  async build() {
    return { grpc: [], exposed: {} };
  },
};
