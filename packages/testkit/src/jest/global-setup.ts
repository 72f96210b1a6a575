/**
 * Jest's global setup (root jest.config.js): brings up Kafka and the MongoDB-wire server once per
 * jest run and hands their addresses to the test workers through the environment, which workers
 * inherit. The handle stays on globalThis for global-teardown.ts, which runs in this same process.
 */
import { ensureInfrastructure, type Infrastructure } from '../infra';
import { newTestRunId, testRunIdVariable } from '../isolation';

export const infrastructureHandleKey = '__sizhongTestInfrastructure';

export default async function globalSetup(): Promise<void> {
  // Jest prints its own header on the same line otherwise.
  let firstLine = true;
  const infrastructure: Infrastructure = await ensureInfrastructure({
    log: (line) => {
      process.stderr.write(`${firstLine ? '\n' : ''}[infra] ${line}\n`);
      firstLine = false;
    },
  });
  (globalThis as Record<string, unknown>)[infrastructureHandleKey] = infrastructure;
  process.env.KAFKA_BROKERS = infrastructure.kafkaBrokers.join(',');
  process.env.MONGO_URL = infrastructure.mongoUrl;
  process.env[testRunIdVariable] = newTestRunId();
}
