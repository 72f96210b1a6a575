/** pino JSON logs that carry the active trace and span ids, so a log line leads to its trace. */
import { trace } from '@opentelemetry/api';
import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger } from 'pino';

export interface LoggerOptions {
  readonly service: string;
  readonly level?: LevelWithSilent;
  /** Where lines go; standard output by default. */
  readonly destination?: pino.DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: options.service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      mixin() {
        const spanContext = trace.getActiveSpan()?.spanContext();
        return spanContext ? { traceId: spanContext.traceId, spanId: spanContext.spanId } : {};
      },
      serializers: { err: pino.stdSerializers.err },
    },
    options.destination,
  );
}
