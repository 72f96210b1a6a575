/** The escrow service process: configuration, telemetry, wiring, graceful stop. */
import { createLogger, loadConfig, startTelemetry } from '@sizhong/kit';
import { escrowServiceName } from './app/events';
import { escrowConfigShape } from './config';
import { startEscrow } from './escrow-service';

async function main(): Promise<void> {
  const config = loadConfig(escrowConfigShape);
  const telemetry = startTelemetry({ serviceName: escrowServiceName, otlpEndpoint: config.OTEL_EXPORTER_OTLP_ENDPOINT });
  const logger = createLogger({ service: escrowServiceName, level: config.LOG_LEVEL });
  const escrow = await startEscrow(config, { logger });
  let stopping = false;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'escrow stopping');
      void escrow
        .stop()
        .then(() => telemetry.shutdown())
        .then(() => process.exit(0));
    });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`${JSON.stringify({ level: 'fatal', service: escrowServiceName, msg: (error as Error).message, stack: (error as Error).stack })}\n`);
  process.exit(1);
});
