/**
 * The service skeleton: one function starts any Sizhong service from its parts, so every service
 * has the same wiring and differs only in its domain (docs/adding-a-service.md). It connects MongoDB (its own
 * database) and Kafka (its events topic), makes the outbox relay, the scheduler and the consumers,
 * lets the service build its stores and use cases on them, serves gRPC with health, and stops
 * everything in the reverse order. `runServiceMain` (main.ts) adds configuration, telemetry,
 * signals and exit codes; tests call `startService` directly or through the testkit harness.
 */
import type { ChaosFinding } from '../chaos-finding';
import { hostname } from 'node:os';
import type { Kafka, Producer } from 'kafkajs';
import { type Clock, systemClock } from '../clock';
import { createLogger, type Logger } from '../logging';
import type { ServiceDefinitionLike, ServiceHandlers } from '../grpc/types';
import { GrpcServer } from '../grpc/server';
import { createKafka, ensureTopics } from '../kafka/client';
import { EventConsumer, type EventHandler } from '../kafka/consumer';
import { eventsTopic } from '../kafka/topics';
import type { AggregateStore } from '../mongo/aggregate-store';
import { connectMongo, type MongoConnection } from '../mongo/connection';
import { OutboxRelay } from '../mongo/outbox-relay';
import { MongoProcessedEventStore } from '../mongo/processed-events';
import { Scheduler } from '../scheduler/scheduler';
import { Sagas } from '../saga/saga';
import { SagaLog } from '../saga/saga-log';
import { registerSagaGauges, registerStuckJobGauge, sagaRecoveryLoop } from '../saga/saga-recovery';

/** What every service's configuration carries besides its own settings (see `serviceRuntimeShape`). */
export interface ServiceRuntimeConfig {
  readonly LOG_LEVEL: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  readonly KAFKA_BROKERS?: readonly string[] | undefined;
  readonly MONGO_URL?: string | undefined;
  readonly OTEL_EXPORTER_OTLP_ENDPOINT?: string | undefined;
  readonly GRPC_HOST: string;
  readonly GRPC_PORT: number;
  readonly KAFKA_TOPIC_PREFIX: string;
  readonly SCHEDULER_INTERVAL_MS: number;
  readonly SCHEDULER_LEASE_MS: number;
  /** Defaults to `sagaRecoveryAgeDefaultMs` (tests that start services by hand may leave it out). */
  readonly SAGA_RECOVERY_AGE_MS?: number | undefined;
  readonly SAGA_RECOVERY_INTERVAL_MS?: number | undefined;
  /** Read by `runServiceMain` only (grpc/faults.ts). */
  readonly GRPC_FAULTS?: string | undefined;
  /** Read by `runServiceMain` only: the service's clock is `skewedClock(CLOCK_SKEW_MS)`. */
  readonly CLOCK_SKEW_MS?: number | undefined;
  /** Read by `runServiceMain` only (chaos-finding.ts): the fault-injection run's test-only switch. */
  readonly CHAOS_FINDING?: ChaosFinding | undefined;
}

/** What the skeleton hands the service to build on. */
export interface ServiceContext<Config extends ServiceRuntimeConfig> {
  readonly name: string;
  readonly config: Config;
  readonly clock: Clock;
  readonly logger: Logger;
  readonly mongo: MongoConnection;
  readonly kafka: Kafka;
  readonly producer: Producer;
  /** Deadlines as data; add handlers with `scheduler.handle(kind, handler)` while building. */
  readonly scheduler: Scheduler;
  /** The service's own events topic (`sizhong.<name>.events.v1` with the configured prefix). */
  readonly eventsTopic: string;
  /**
   * The one saga model on the service's `<name>_sagas` records: define sagas with
   * `sagas.define(…)` while building; the skeleton then runs their recovery loop.
   */
  readonly sagas: Sagas;
}

/** One gRPC service and its handlers; `grpcService(definition, handlers)` keeps the two typed together. */
export interface GrpcRegistration {
  register(server: GrpcServer): void;
}

export function grpcService<Definition extends ServiceDefinitionLike>(definition: Definition, handlers: ServiceHandlers<Definition>): GrpcRegistration {
  return { register: (server) => void server.addService(definition, handlers) };
}

/** A Kafka subscription: events applied once per consumer group (dedupe by event id in the service's database). */
export interface ConsumerRegistration {
  /** Appended to the service name: the group `<prefix><service>.<name>`. */
  readonly name: string;
  readonly topics: readonly string[];
  readonly handler: EventHandler;
  readonly fromBeginning?: boolean;
  /** Partitions handled at once (default 1); each partition stays in order. The handler must then serialise what it shares. */
  readonly partitionsConcurrently?: number;
}

/** Work repeated on a timer (recovery sweeps and the like); a failing run is logged and retried next time. */
export interface BackgroundLoop {
  readonly name: string;
  readonly intervalMs: number;
  run(): Promise<unknown>;
}

/** What a service builds on the context. */
export interface ServiceParts<Exposed> {
  readonly grpc: readonly GrpcRegistration[];
  /** Aggregate stores whose outboxes the relay publishes. */
  readonly outboxes?: readonly AggregateStore<unknown>[];
  readonly consumers?: readonly ConsumerRegistration[];
  readonly loops?: readonly BackgroundLoop[];
  /** Called after the server, loops, consumers, scheduler and relay stopped, before the connections close. */
  readonly stop?: () => Promise<void>;
  /** The use cases, for tests and benchmarks that drive the service in-process. */
  readonly exposed: Exposed;
}

export interface ServiceDefinition<Config extends ServiceRuntimeConfig, Exposed> {
  /** `escrow`, `task-dispatch`, …: names the events topic, the logger and the scheduler's collection. */
  readonly name: string;
  /** The database this service owns (`sizhong_<name>` by default; tests isolate with their own). */
  databaseName(config: Config): string;
  /** Topics to create at start besides the service's events topic (those it consumes, for example). */
  topics?(config: Config): readonly string[];
  build(context: ServiceContext<Config>): Promise<ServiceParts<Exposed>>;
}

export interface RunningService<Exposed> {
  readonly name: string;
  readonly address: string;
  readonly port: number;
  readonly exposed: Exposed;
  stop(): Promise<void>;
}

export interface StartServiceOptions {
  readonly clock?: Clock;
  readonly logger?: Logger;
}

/** Starts a service: connections, the service's own parts, relay, scheduler, consumers, loops, then gRPC. */
export async function startService<Config extends ServiceRuntimeConfig, Exposed>(
  definition: ServiceDefinition<Config, Exposed>,
  config: Config,
  options: StartServiceOptions = {},
): Promise<RunningService<Exposed>> {
  const clock = options.clock ?? systemClock;
  const logger = options.logger ?? createLogger({ service: definition.name, level: config.LOG_LEVEL });
  if (!config.MONGO_URL) throw new Error(`${definition.name}: MONGO_URL is required (npm start sets it for the local server)`);
  if (!config.KAFKA_BROKERS?.length) throw new Error(`${definition.name}: KAFKA_BROKERS is required (npm start sets it for the local broker)`);

  const stack: (() => Promise<void>)[] = [];
  const stopAll = async () => {
    for (const stop of stack.splice(0).reverse()) await stop().catch((error: unknown) => logger.error({ err: error }, 'a part failed to stop'));
  };
  try {
    const mongo = await connectMongo(config.MONGO_URL, definition.databaseName(config));
    stack.push(() => mongo.close());
    const kafka = createKafka({ brokers: [...config.KAFKA_BROKERS], clientId: definition.name, logger });
    const topic = eventsTopic(definition.name, config.KAFKA_TOPIC_PREFIX);
    await ensureTopics(kafka, [topic, ...(definition.topics?.(config) ?? [])]);
    const producer = kafka.producer({ allowAutoTopicCreation: true });
    await producer.connect();
    stack.push(() => producer.disconnect());
    const scheduler = new Scheduler({ mongo, name: definition.name, owner: `${hostname()}:${process.pid}`, clock, logger, intervalMs: config.SCHEDULER_INTERVAL_MS, leaseMs: config.SCHEDULER_LEASE_MS });
    await scheduler.ensureIndexes();
    const sagaLog = new SagaLog(mongo, definition.name);
    await sagaLog.ensureIndexes();
    const sagas = new Sagas({ log: sagaLog, clock, logger, ...(config.SAGA_RECOVERY_AGE_MS === undefined ? {} : { recoveryAgeMs: config.SAGA_RECOVERY_AGE_MS }) });

    const parts = await definition.build({ name: definition.name, config, clock, logger, mongo, kafka, producer, scheduler, eventsTopic: topic, sagas });
    if (parts.stop) stack.push(parts.stop);

    const relay = new OutboxRelay({ stores: parts.outboxes ?? [], producer, logger });
    relay.start();
    stack.push(() => relay.stop());
    scheduler.start();
    stack.push(() => scheduler.stop());
    registerStuckJobGauge(definition.name, scheduler);
    const processedEvents = new MongoProcessedEventStore(mongo, undefined, clock);
    for (const registration of parts.consumers ?? []) {
      const consumer = new EventConsumer({
        kafka,
        groupId: `${config.KAFKA_TOPIC_PREFIX}${definition.name}.${registration.name}`,
        topics: registration.topics,
        handler: registration.handler,
        processedEvents,
        logger,
        ...(registration.fromBeginning === undefined ? {} : { fromBeginning: registration.fromBeginning }),
        ...(registration.partitionsConcurrently === undefined ? {} : { partitionsConcurrently: registration.partitionsConcurrently }),
      });
      await consumer.start();
      stack.push(() => consumer.stop());
    }
    for (const loop of parts.loops ?? []) stack.push(startLoop(loop, logger));
    if (sagas.kinds.length > 0) {
      // Every service that runs sagas drives the unfinished ones on: no saga waits for a person.
      stack.push(startLoop(sagaRecoveryLoop({ sagas, logger, ...(config.SAGA_RECOVERY_INTERVAL_MS === undefined ? {} : { intervalMs: config.SAGA_RECOVERY_INTERVAL_MS }) }), logger));
      registerSagaGauges(definition.name, sagaLog, () => clock.now());
    }

    const server = new GrpcServer({ logger, host: config.GRPC_HOST, port: config.GRPC_PORT });
    for (const registration of parts.grpc) registration.register(server);
    const running = await server.start();
    stack.push(() => running.shutdown());
    logger.info({ address: running.address }, `${definition.name} listening`);
    return { name: definition.name, address: running.address, port: running.port, exposed: parts.exposed, stop: stopAll };
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** Runs a loop on its interval, one run at a time; returns its stop, which waits for a run under way. */
function startLoop(loop: BackgroundLoop, logger: Logger): () => Promise<void> {
  let running: Promise<unknown> | undefined;
  const timer = setInterval(() => {
    if (running) return;
    running = loop
      .run()
      .catch((error: unknown) => logger.error({ err: error, loop: loop.name }, `${loop.name} failed; it runs again in ${loop.intervalMs} ms`))
      .finally(() => (running = undefined));
  }, loop.intervalMs);
  timer.unref();
  return async () => {
    clearInterval(timer);
    await running;
  };
}
