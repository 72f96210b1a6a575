/**
 * The gateway process: reads configuration once, connects to its database, starts telemetry,
 * listens, and prints one JSON log line `{"msg":"gateway listening","url":"http://…"}` whatever
 * LOG_LEVEL says (the platform runner reads it). SIGINT or SIGTERM closes the server (requests in
 * flight finish, up to a grace period), then the database and telemetry, and exits 0. Invalid
 * configuration exits with 78 after saying what is wrong once (kit's `exitOnConfigurationError`);
 * anything else that stops the start exits with 1 and its stack.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  ConfigurationError,
  configurationProblem,
  connectMongo,
  createLogger,
  exitOnConfigurationError,
  type Logger,
  type MongoConnection,
  startTelemetry,
  type Telemetry,
  installGrpcFaults,
  parseGrpcFaultPlan,
} from '@sizhong/kit';
import { createApp, type GatewayDependencies } from './app';
import { applyServerTimeouts } from './http/server-timeouts';
import { type GatewayConfig, loadGatewayConfig } from './config';
import { defaultDataDirectory, resolveTokenSecret } from './identity/token-secret';
import { consoleBundle } from './operations/console-bundle';

/** How long shutdown waits for requests in flight before closing their connections. */
export const shutdownGraceMs = 10_000;

export interface RunningGateway {
  readonly url: string;
  readonly server: Server;
  close(): Promise<void>;
}

export async function startGateway(
  config: GatewayConfig,
  options: { logger?: Logger; routes?: GatewayDependencies['routes'] } = {},
): Promise<RunningGateway> {
  const logger = options.logger ?? createLogger({ service: 'gateway', level: config.LOG_LEVEL });
  if (config.MONGO_URL === undefined) {
    throw new ConfigurationError([
      configurationProblem('MONGO_URL', undefined, 'required by the gateway, which keeps participants in its own database', 'a MongoDB connection string', 'mongodb://127.0.0.1:27027/'),
    ]);
  }
  const telemetry: Telemetry = startTelemetry({ serviceName: 'gateway', otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  let mongo: MongoConnection | undefined;
  try {
    mongo = await connectMongo(config.MONGO_URL, config.GATEWAY_DATABASE);
    const tokenSecret = resolveTokenSecret({ configured: config.AUTH_TOKEN_SECRET, dataDirectory: config.GATEWAY_DATA_DIR ?? defaultDataDirectory() });
    if (tokenSecret.source !== 'configuration') logger.info({ path: tokenSecret.path, source: tokenSecret.source }, 'access tokens are signed with the local secret file');
    const gateway = await createApp({ config, mongo, logger, tokenSecret: tokenSecret.secret, ...(options.routes ? { routes: options.routes } : {}) });
    const server = await new Promise<Server>((resolve, reject) => {
      const listening = gateway.app.listen(config.GATEWAY_PORT, config.GATEWAY_HOST, (error?: Error) => (error ? reject(error) : resolve(listening)));
    });
    applyServerTimeouts(server);
    const { port } = server.address() as AddressInfo;
    const host = config.GATEWAY_HOST.includes(':') ? `[${config.GATEWAY_HOST}]` : config.GATEWAY_HOST;
    const url = `http://${host}:${port}`;
    const openMongo = mongo;
    let closing: Promise<void> | undefined;
    const close = () => {
      closing ??= (async () => {
        await closeServer(server);
        gateway.close();
        await openMongo.close();
        await telemetry.shutdown();
      })();
      return closing;
    };
    return { url, server, close };
  } catch (error) {
    await mongo?.close().catch(() => undefined);
    await telemetry.shutdown().catch(() => undefined);
    throw error;
  }
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => server.closeAllConnections(), shutdownGraceMs);
    timer.unref();
    server.close(() => {
      clearTimeout(timer);
      resolve();
    });
    // Keep-alive connections with no request in flight would hold close() open.
    server.closeIdleConnections();
  });
}

async function main(): Promise<void> {
  const config = loadGatewayConfig();
  installGrpcFaults(parseGrpcFaultPlan(config.GRPC_FAULTS));
  const logger = createLogger({ service: 'gateway', level: config.LOG_LEVEL });
  const gateway = await startGateway(config, { logger });
  // The platform runner reads this line, so it is printed whatever LOG_LEVEL says.
  const lifecycle = logger.isLevelEnabled('info') ? logger : createLogger({ service: 'gateway', level: 'info' });
  lifecycle.info({ url: gateway.url }, 'gateway listening');
  // The console's bundle is built on first use (a few seconds); start now so the first visit does not wait.
  consoleBundle().then(
    (bundle) => lifecycle.info({ hash: bundle.hash }, 'console bundle ready'),
    (error: unknown) => logger.error({ err: error }, 'console bundle failed to build; / will answer 500 until it does'),
  );
  let signalled = false;
  const stop = (signal: NodeJS.Signals) => {
    if (signalled) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    signalled = true;
    lifecycle.info({ signal }, 'gateway stopping');
    gateway.close().then(
      () => {
        lifecycle.info('gateway stopped');
        process.exit(0);
      },
      (error: unknown) => {
        logger.error({ err: error }, 'gateway did not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    // Invalid configuration: said once, without a stack, exit 78 (the runner does not restart it).
    exitOnConfigurationError(error, 'gateway');
    const stack = error instanceof Error ? error.stack : undefined;
    process.stderr.write(`${JSON.stringify({ level: 'fatal', service: 'gateway', msg: 'gateway failed to start', error: error instanceof Error ? error.message : String(error), stack })}\n`);
    process.exit(1);
  });
}

