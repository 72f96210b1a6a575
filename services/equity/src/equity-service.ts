/**
 * The equity service as parts for the kit's service skeleton (docs/adding-a-service.md): build its
 * stores on `mongo`, its use cases on them, and return the gRPC services, the stores whose outboxes
 * the relay publishes, the consumers and the loops. Deadlines go through `scheduler.handle`.
 */
import type { ServiceDefinition } from '@sizhong/kit';
import type { EquityConfig } from './config';

/** What tests reach in-process: the use cases, once there are some. */
export type EquityUseCases = Record<string, never>;

export const equityService: ServiceDefinition<EquityConfig, EquityUseCases> = {
  name: 'equity',
  databaseName: (config) => config.EQUITY_DATABASE,
  async build() {
    return { grpc: [], exposed: {} };
  },
};
