/**
 * A service process's main, the same for every service: read and validate the configuration once,
 * start telemetry and the service, stop gracefully on SIGTERM or SIGINT (a second signal while
 * stopping is ignored: the stop is already under way), and exit with a code that tells what
 * happened: 0 after a stop, `configurationErrorExitCode` (78, config.ts) when the configuration is invalid
 * (printed once, without a stack: the runner does not restart it), 1 after a crash.
 */
import { z } from 'zod';
import { ConfigurationError, configFields, exitOnConfigurationError, loadConfig, serviceConfigShape } from '../config';
import { createLogger } from '../logging';
import { skewedClock } from '../clock';
import { startTelemetry } from '../telemetry';
import { installGrpcFaults, parseGrpcFaultPlan } from '../grpc/faults';
import { type ChaosFinding, chaosFindingNames, installChaosFinding } from '../chaos-finding';
import { type ServiceDefinition, type ServiceRuntimeConfig, startService } from './service';

/** A stop that takes longer than this is cut short with exit code 1. */
export const serviceStopTimeoutMs = 30_000;

/** The largest clock skew a process may be given (CLOCK_SKEW_MS). */
export const clockSkewMaxMs = 10 * 60_000;

/** Fault injection for the seeded fault-injection run only (grpc/faults.ts); empty, the default, injects nothing. */
export const grpcFaultsField = z
  .string()
  .optional()
  .superRefine((text, context) => {
    try {
      parseGrpcFaultPlan(text);
    } catch (error) {
      context.addIssue({ code: 'custom', message: (error as Error).message });
    }
  })
  .describe('fault injection into outgoing gRPC calls, for the fault-injection run only: "seed=42,delay=0.1,delayMaxMs=3000,lostAnswer=0.05,unavailable=0.05" (unset: none)');

/** The settings the skeleton reads, besides each service's own (which add their database variable). */
export function serviceRuntimeShape(options: { grpcPortDefault: number }) {
  return {
    ...serviceConfigShape,
    GRPC_HOST: z.string().default('127.0.0.1').describe('interface the gRPC server binds'),
    GRPC_PORT: configFields.port(options.grpcPortDefault, 'gRPC port (0 picks a free one)'),
    KAFKA_TOPIC_PREFIX: z.string().regex(/^[a-z0-9.-]{0,80}$/).default('').describe('prefix of every topic name (tests isolate themselves with it)'),
    SCHEDULER_INTERVAL_MS: configFields.milliseconds(1_000, 'how often due deadlines are looked for'),
    SCHEDULER_LEASE_MS: configFields.milliseconds(30_000, 'how long a claimed deadline job is reserved for the worker that claimed it'),
    SAGA_RECOVERY_AGE_MS: configFields.milliseconds(30_000, 'how long a fresh saga is left to the request that started it before the recovery loop drives it on'),
    GRPC_FAULTS: grpcFaultsField,
    CLOCK_SKEW_MS: z.coerce
      .number()
      .int()
      .min(-clockSkewMaxMs)
      .max(clockSkewMaxMs)
      .default(0)
      .describe(`shifts this process's clock (milliseconds, ±${clockSkewMaxMs}); for the fault-injection run only, to prove replicas with clocks apart stay correct`),
    SAGA_RECOVERY_INTERVAL_MS: configFields.milliseconds(1_000, 'how often the recovery loop looks for unfinished sagas that are due'),
    CHAOS_FINDING: chaosFindingField,
  };
}

/** A test-only switch of the fault-injection run (chaos-finding.ts); accepted only with GRPC_FAULTS set. */
export const chaosFindingField = z
  .enum(chaosFindingNames as [ChaosFinding, ...ChaosFinding[]])
  .optional()
  .describe('re-introduces one fixed finding, for the fault-injection run only (requires GRPC_FAULTS); unset: none');

/** Refuses CHAOS_FINDING outside the fault-injection run, whose mark is a gRPC fault plan. */
export function checkChaosFindingMode(config: { readonly CHAOS_FINDING?: string | undefined; readonly GRPC_FAULTS?: string | undefined }): void {
  if (config.CHAOS_FINDING === undefined || parseGrpcFaultPlan(config.GRPC_FAULTS) !== undefined) return;
  throw new ConfigurationError([
    { variable: 'CHAOS_FINDING', given: `"${config.CHAOS_FINDING}"`, problem: 'set outside the fault-injection run', expected: 'only together with GRPC_FAULTS, which the fault-injection run sets', example: undefined },
  ]);
}

type Shape = Record<string, z.ZodType>;

/** The whole main.ts of a service: `runServiceMain(escrowService, escrowConfigShape)`. */
export function runServiceMain<S extends Shape, Exposed>(definition: ServiceDefinition<z.infer<z.ZodObject<S>> & ServiceRuntimeConfig, Exposed>, shape: S, environment: NodeJS.ProcessEnv = process.env): void {
  let config: z.infer<z.ZodObject<S>> & ServiceRuntimeConfig;
  try {
    config = loadConfig(shape, environment) as z.infer<z.ZodObject<S>> & ServiceRuntimeConfig;
    checkChaosFindingMode(config);
  } catch (error) {
    exitOnConfigurationError(error, definition.name);
    throw error;
  }
  installGrpcFaults(parseGrpcFaultPlan(config.GRPC_FAULTS));
  installChaosFinding(config.CHAOS_FINDING);
  const telemetry = startTelemetry({ serviceName: definition.name, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const logger = createLogger({ service: definition.name, level: config.LOG_LEVEL });
  const crash = (error: unknown) => {
    logger.fatal({ err: error }, `${definition.name} crashed`);
    process.exit(1);
  };
  process.on('uncaughtException', crash);
  process.on('unhandledRejection', crash);
  startService(definition, config, { logger, clock: skewedClock(config.CLOCK_SKEW_MS ?? 0) }).then((service) => {
    let stopping = false;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      process.on(signal, () => {
        if (stopping) return;
        stopping = true;
        logger.info({ signal }, `${definition.name} stopping`);
        setTimeout(() => crash(new Error(`stop took longer than ${serviceStopTimeoutMs} ms`)), serviceStopTimeoutMs).unref();
        void service
          .stop()
          .then(() => telemetry.shutdown())
          .then(() => process.exit(0), crash);
      });
    }
  }, crash);
}
