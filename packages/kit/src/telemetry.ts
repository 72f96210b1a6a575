/**
 * OpenTelemetry tracing. Spans and W3C context propagation are always on (trace ids then appear
 * in logs and cross gRPC and Kafka); spans are exported over OTLP only when an endpoint is
 * configured, so without one the cost is a few object allocations per request.
 */
import { context, metrics, propagation, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span } from '@opentelemetry/api';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { MeterProvider, PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export interface TelemetryOptions {
  readonly serviceName: string;
  readonly otlpEndpoint?: string | undefined;
  /** Extra processors, for example an in-memory exporter in tests. */
  readonly spanProcessors?: readonly SpanProcessor[];
}

export interface Telemetry {
  shutdown(): Promise<void>;
}

let active: NodeTracerProvider | undefined;
/** How often metrics are pushed to the OTLP endpoint. */
export const metricsExportIntervalMs = 60_000;

export function startTelemetry(options: TelemetryOptions): Telemetry {
  if (active) {
    // One provider per process: a second start (tests, wiring twice) keeps the first.
    return { shutdown: async () => undefined };
  }
  const spanProcessors: SpanProcessor[] = [...(options.spanProcessors ?? [])];
  if (options.otlpEndpoint) {
    spanProcessors.push(new BatchSpanProcessor(new OTLPTraceExporter({ url: new URL('/v1/traces', options.otlpEndpoint).toString() })));
  }
  const provider = new NodeTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
    spanProcessors,
  });
  provider.register();
  active = provider;
  // Metrics (the stuck-work gauges) go to the same collector as the traces, once a minute.
  const meterProvider = options.otlpEndpoint
    ? new MeterProvider({
        resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: options.serviceName }),
        readers: [new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: new URL('/v1/metrics', options.otlpEndpoint).toString() }), exportIntervalMillis: metricsExportIntervalMs })],
      })
    : undefined;
  if (meterProvider) metrics.setGlobalMeterProvider(meterProvider);
  return {
    shutdown: async () => {
      await provider.shutdown();
      await meterProvider?.shutdown();
      if (active === provider) active = undefined;
    },
  };
}

const tracer = () => trace.getTracer('sizhong');

/** Runs `work` in a new span that records failure and always ends. */
export async function withSpan<T>(
  name: string,
  work: (span: Span) => Promise<T>,
  options: { kind?: SpanKind; attributes?: Attributes; parent?: Context } = {},
): Promise<T> {
  const parent = options.parent ?? context.active();
  const spanOptions = { kind: options.kind ?? SpanKind.INTERNAL, ...(options.attributes ? { attributes: options.attributes } : {}) };
  return tracer().startActiveSpan(name, spanOptions, parent, async (span) => {
    try {
      return await work(span);
    } catch (error) {
      span.recordException(error as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      throw error;
    } finally {
      span.end();
    }
  });
}

/** Writes the active trace context into string headers (`traceparent`, `tracestate`). */
export function injectTraceContext(carrier: Record<string, string> = {}, from: Context = context.active()): Record<string, string> {
  propagation.inject(from, carrier);
  return carrier;
}

/** Reads a trace context from headers; the result is the parent for the consumer's span. */
export function extractTraceContext(carrier: Readonly<Record<string, string | undefined>>): Context {
  return propagation.extract(context.active(), carrier, {
    get: (headers, key) => headers[key],
    keys: (headers) => Object.keys(headers),
  });
}

export function activeTraceId(): string | undefined {
  return trace.getActiveSpan()?.spanContext().traceId;
}

export { SpanKind } from '@opentelemetry/api';
