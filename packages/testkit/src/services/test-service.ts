/**
 * Starts any service for a test, the same way for every service: in-process (`startTestService`)
 * for integration tests that reach into its use cases, or as a child process (`ServiceProcess`)
 * that a crash test can SIGKILL and start again. Each gets the test run's Kafka and
 * MongoDB-wire server, its own database and topic prefix, and a free gRPC port.
 */
import { connectMongo, loadConfig, type RunningService, type ServiceDefinition, type ServiceRuntimeConfig, startService, type StartServiceOptions } from '@sizhong/kit';
import pino from 'pino';
import type { z } from 'zod';
import { testDatabaseName, testInfrastructure, testTopicPrefix } from '../isolation';

/** The variable that names a service's database: `ESCROW_DATABASE`, `TASK_DISPATCH_DATABASE`, … */
export function databaseVariableOf(serviceName: string): string {
  return `${serviceName.toUpperCase().replace(/-/g, '_')}_DATABASE`;
}

export interface TestServiceOptions extends StartServiceOptions {
  /** Names the database and topic prefix of this test file (see isolation.ts). */
  readonly label: string;
  /** Settings on top of the test defaults (quick scheduler, silent logs, free port). */
  readonly environment?: Readonly<Record<string, string>>;
}

/** The settings a test run gives a service: its infrastructure, isolation and quick loops. */
export function testServiceEnvironment(serviceName: string, label: string, environment: Readonly<Record<string, string>> = {}): Record<string, string> {
  const infrastructure = testInfrastructure();
  return {
    MONGO_URL: infrastructure.mongoUrl,
    KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
    [databaseVariableOf(serviceName)]: testDatabaseName(label),
    KAFKA_TOPIC_PREFIX: testTopicPrefix(label),
    GRPC_PORT: '0',
    LOG_LEVEL: 'silent',
    SCHEDULER_INTERVAL_MS: '100',
    ...environment,
  };
}

export interface TestService<Exposed> extends RunningService<Exposed> {
  readonly database: string;
  readonly topicPrefix: string;
  /** Stops the service and drops its database. */
  stop(): Promise<void>;
}

export async function startTestService<Shape extends Record<string, z.ZodType>, Exposed>(
  definition: ServiceDefinition<z.infer<z.ZodObject<Shape>> & ServiceRuntimeConfig, Exposed>,
  shape: Shape,
  options: TestServiceOptions,
): Promise<TestService<Exposed>> {
  const environment = testServiceEnvironment(definition.name, options.label, options.environment);
  const config = loadConfig(shape, environment) as z.infer<z.ZodObject<Shape>> & ServiceRuntimeConfig;
  const running = await startService(definition, config, { logger: options.logger ?? pino({ level: 'silent' }), ...(options.clock ? { clock: options.clock } : {}) });
  const database = definition.databaseName(config);
  return {
    ...running,
    database,
    topicPrefix: config.KAFKA_TOPIC_PREFIX,
    async stop() {
      await running.stop();
      const mongo = await connectMongo(environment['MONGO_URL']!, database);
      await mongo.db.dropDatabase();
      await mongo.close();
    },
  };
}
