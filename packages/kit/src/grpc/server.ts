/**
 * A gRPC server on 127.0.0.1 that every service uses: it answers grpc.health.v1, maps errors in
 * one place (./errors), reads the caller's identity and trace context from metadata, and logs
 * unexpected failures with their trace id.
 */
import {
  type handleServerStreamingCall,
  type handleUnaryCall,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type UntypedServiceImplementation,
} from '@grpc/grpc-js';
import { healthV1 } from '@sizhong/proto';
import type { Logger } from 'pino';
import { DomainError } from '../errors';
import { activeTraceId, extractTraceContext, SpanKind, withSpan } from '../telemetry';
import { toGrpcStatus } from './errors';
import { metadataToHeaders, readIdentity } from './metadata';
import type { CallContext, ServiceDefinitionLike, ServiceHandlers, ServerStreamHandler, UnaryHandler } from './types';

const ServingStatus = healthV1.HealthCheckResponse_ServingStatus;

/** How long a graceful shutdown waits for calls in flight before cutting them off. */
export const grpcShutdownGraceMs = 5_000;
/** Messages larger than this are refused by the transport. */
export const grpcMessageBytesMax = 4 * 1024 * 1024;

export interface GrpcServerOptions {
  readonly logger: Logger;
  readonly host?: string;
  /** 0 picks a free port. */
  readonly port?: number;
}

export interface RunningGrpcServer {
  readonly port: number;
  readonly address: string;
  /** Marks a service (or '' for the whole server) serving or not; Watch streams see the change. */
  setServing(service: string, serving: boolean): void;
  shutdown(): Promise<void>;
}

export class GrpcServer {
  private readonly server = new Server({
    'grpc.max_receive_message_length': grpcMessageBytesMax,
    'grpc.max_send_message_length': grpcMessageBytesMax,
  });
  private readonly statuses = new Map<string, healthV1.HealthCheckResponse_ServingStatus>([['', ServingStatus.SERVING]]);
  private readonly watchers = new Set<{ service: string; send: (status: healthV1.HealthCheckResponse_ServingStatus) => void }>();

  constructor(private readonly options: GrpcServerOptions) {
    this.addService(healthV1.HealthService, {
      check: async (request) => {
        const status = this.statuses.get(request.service);
        if (status === undefined) throw new DomainError('NOT_FOUND', `unknown service ${request.service}`);
        return { status };
      },
      watch: async (request, context, send) => {
        await send({ status: this.statuses.get(request.service) ?? ServingStatus.SERVICE_UNKNOWN });
        await new Promise<void>((resolve) => {
          const watcher = { service: request.service, send: (status: healthV1.HealthCheckResponse_ServingStatus) => void send({ status }) };
          this.watchers.add(watcher);
          context.signal.addEventListener('abort', () => {
            this.watchers.delete(watcher);
            resolve();
          });
        });
      },
    });
  }

  addService<Definition extends ServiceDefinitionLike>(definition: Definition, handlers: ServiceHandlers<Definition>): this {
    const implementation: UntypedServiceImplementation = {};
    for (const [name, method] of Object.entries(definition)) {
      const handler = handlers[name as keyof Definition] as unknown;
      if (typeof handler !== 'function') throw new Error(`missing handler for ${method.path}`);
      implementation[name] = method.responseStream
        ? this.wrapServerStream(method.path, handler as ServerStreamHandler<unknown, unknown>)
        : this.wrapUnary(method.path, handler as UnaryHandler<unknown, unknown>);
      const serviceName = method.path.split('/')[1];
      if (serviceName && !this.statuses.has(serviceName)) this.statuses.set(serviceName, ServingStatus.SERVING);
    }
    // grpc-js wants its own definition type; ours is the same object typed more loosely.
    this.server.addService(definition as never, implementation);
    return this;
  }

  async start(): Promise<RunningGrpcServer> {
    const host = this.options.host ?? '127.0.0.1';
    const port = await new Promise<number>((resolve, reject) =>
      this.server.bindAsync(`${host}:${this.options.port ?? 0}`, ServerCredentials.createInsecure(), (error, boundPort) =>
        error ? reject(error) : resolve(boundPort),
      ),
    );
    return {
      port,
      address: `${host}:${port}`,
      setServing: (service, serving) => this.setServing(service, serving),
      shutdown: () => this.shutdown(),
    };
  }

  private setServing(service: string, serving: boolean): void {
    const status = serving ? ServingStatus.SERVING : ServingStatus.NOT_SERVING;
    this.statuses.set(service, status);
    for (const watcher of this.watchers) if (watcher.service === service) watcher.send(status);
  }

  private async shutdown(): Promise<void> {
    for (const service of this.statuses.keys()) this.setServing(service, false);
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.server.forceShutdown();
        resolve();
      }, grpcShutdownGraceMs);
      this.server.tryShutdown(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private context(call: ServerUnaryCall<unknown, unknown> | ServerWritableStream<unknown, unknown>, path: string): CallContext {
    const controller = new AbortController();
    call.on('cancelled', () => controller.abort());
    const deadline = call.getDeadline();
    return {
      identity: readIdentity(call.metadata),
      deadline: deadline instanceof Date ? deadline : Number.isFinite(deadline) ? new Date(deadline) : undefined,
      metadata: call.metadata,
      signal: controller.signal,
      logger: this.options.logger.child({ rpc: path }),
    };
  }

  private failure(error: unknown, path: string) {
    const traceId = activeTraceId();
    if (!(error instanceof DomainError)) {
      this.options.logger.error({ err: error, rpc: path, traceId }, 'unexpected error in gRPC handler');
    }
    return toGrpcStatus(error, traceId);
  }

  private wrapUnary(path: string, handler: UnaryHandler<unknown, unknown>): handleUnaryCall<unknown, unknown> {
    return (call, callback) => {
      const parent = extractTraceContext(metadataToHeaders(call.metadata));
      void withSpan(
        path,
        async () => {
          try {
            callback(null, await handler(call.request, this.context(call, path)));
          } catch (error) {
            callback(this.failure(error, path));
          }
        },
        { kind: SpanKind.SERVER, parent, attributes: { 'rpc.system': 'grpc', 'rpc.method': path } },
      );
    };
  }

  private wrapServerStream(path: string, handler: ServerStreamHandler<unknown, unknown>): handleServerStreamingCall<unknown, unknown> {
    return (call) => {
      const parent = extractTraceContext(metadataToHeaders(call.metadata));
      void withSpan(
        path,
        async () => {
          const send = (response: unknown) =>
            new Promise<void>((resolve) => {
              // Respect back-pressure: wait for drain when the socket buffer is full.
              if (call.write(response)) resolve();
              else call.once('drain', () => resolve());
            });
          try {
            await handler(call.request, this.context(call, path), send);
            call.end();
          } catch (error) {
            call.emit('error', this.failure(error, path));
          }
        },
        { kind: SpanKind.SERVER, parent, attributes: { 'rpc.system': 'grpc', 'rpc.method': path } },
      );
    };
  }
}
