/**
 * Typed promise clients for ts-proto service definitions. Every call carries a deadline, the
 * caller's identity and the trace context; failures come back as DomainError.
 */
import { Client, credentials, Metadata, type ServiceError } from '@grpc/grpc-js';
import { healthV1 } from '@sizhong/proto';
import { SpanKind, injectTraceContext, withSpan } from '../telemetry';
import { fromServiceError } from './errors';
import { installedGrpcFaults } from './faults';
import { writeIdentity } from './metadata';
import type { CallOptions, MethodDefinitionLike, ServiceCaller, ServiceDefinitionLike } from './types';

/** A call that names no deadline gets this one: nothing waits forever. */
export const grpcDeadlineDefaultMs = 5_000;

export interface GrpcClientOptions {
  readonly deadlineMs?: number;
}

export interface GrpcClient<Definition extends ServiceDefinitionLike> {
  readonly call: ServiceCaller<Definition>;
  close(): void;
}

export function createGrpcClient<Definition extends ServiceDefinitionLike>(
  definition: Definition,
  address: string,
  options: GrpcClientOptions = {},
): GrpcClient<Definition> {
  const client = new Client(grpcTarget(address), credentials.createInsecure(), grpcChannelOptions(address));
  const defaultDeadlineMs = options.deadlineMs ?? grpcDeadlineDefaultMs;
  const caller: Record<string, unknown> = {};
  for (const [name, method] of Object.entries(definition)) {
    caller[name] = method.responseStream
      ? (request: unknown, callOptions: CallOptions = {}) => serverStream(client, method, request, callOptions)
      : (request: unknown, callOptions: CallOptions = {}) => unary(client, method, request, callOptions, defaultDeadlineMs);
  }
  return { call: caller as ServiceCaller<Definition>, close: () => client.close() };
}

/**
 * `host:port`, or the replicas of one service as `host:port,host:port`: those become one channel
 * over every address (grpc-js's `ipv4:`/`ipv6:`/`dns:` targets) balanced round robin, so calls are
 * spread over the replicas and a replica that stops answering is left out until it answers again.
 */
export function grpcTarget(address: string): string {
  const addresses = address.split(',').map((part) => part.trim());
  if (addresses.length === 1) return address;
  if (addresses.every((part) => /^\d{1,3}(\.\d{1,3}){3}:\d+$/.test(part))) return `ipv4:${addresses.join(',')}`;
  if (addresses.every((part) => part.startsWith('['))) return `ipv6:${addresses.join(',')}`;
  throw new Error(`replica addresses must be IP addresses (ipv4 or bracketed ipv6), not names: ${address}`);
}

function grpcChannelOptions(address: string): Record<string, string> {
  return address.includes(',') ? { 'grpc.service_config': JSON.stringify({ loadBalancingConfig: [{ round_robin: {} }] }) } : {};
}

function outgoingMetadata(callOptions: CallOptions): Metadata {
  const metadata = new Metadata();
  if (callOptions.identity) writeIdentity(metadata, callOptions.identity);
  for (const [key, value] of Object.entries(injectTraceContext())) metadata.set(key, value);
  return metadata;
}

/** Health checks are never faulted: readiness must stay the truth about the process. */
const healthServicePrefix = '/grpc.health.v1.Health/';

function unary(client: Client, method: MethodDefinitionLike, request: unknown, callOptions: CallOptions, defaultDeadlineMs: number): Promise<unknown> {
  const faults = installedGrpcFaults();
  if (faults && !method.path.startsWith(healthServicePrefix)) return faults.around(method.path, () => unaryCall(client, method, request, callOptions, defaultDeadlineMs));
  return unaryCall(client, method, request, callOptions, defaultDeadlineMs);
}

function unaryCall(client: Client, method: MethodDefinitionLike, request: unknown, callOptions: CallOptions, defaultDeadlineMs: number): Promise<unknown> {
  return withSpan(
    method.path,
    () =>
      new Promise((resolve, reject) => {
        const call = client.makeUnaryRequest(
          method.path,
          method.requestSerialize as (value: unknown) => Buffer,
          method.responseDeserialize,
          request,
          outgoingMetadata(callOptions),
          { deadline: Date.now() + (callOptions.deadlineMs ?? defaultDeadlineMs) },
          (error: ServiceError | null, response?: unknown) => (error ? reject(fromServiceError(error)) : resolve(response)),
        );
        callOptions.signal?.addEventListener('abort', () => call.cancel());
      }),
    { kind: SpanKind.CLIENT, attributes: { 'rpc.system': 'grpc', 'rpc.method': method.path } },
  );
}

async function* serverStream(
  client: Client,
  method: MethodDefinitionLike,
  request: unknown,
  callOptions: CallOptions,
): AsyncIterable<unknown> {
  // Streams are long-lived: only an explicit deadline applies to them.
  const deadline = callOptions.deadlineMs === undefined ? Infinity : Date.now() + callOptions.deadlineMs;
  const call = client.makeServerStreamRequest(
    method.path,
    method.requestSerialize as (value: unknown) => Buffer,
    method.responseDeserialize,
    request,
    outgoingMetadata(callOptions),
    { deadline },
  );
  callOptions.signal?.addEventListener('abort', () => call.cancel());
  try {
    for await (const message of call) yield message;
  } catch (error) {
    if ((error as ServiceError).code !== undefined && (error as ServiceError).metadata !== undefined) throw fromServiceError(error as ServiceError);
    throw error;
  } finally {
    call.cancel();
  }
}

/** Asks a server's grpc.health.v1 whether it (or one of its services) is serving. */
export async function checkHealth(address: string, options: { service?: string; deadlineMs?: number } = {}): Promise<boolean> {
  const client = createGrpcClient(healthV1.HealthService, address, { deadlineMs: options.deadlineMs ?? 1_000 });
  try {
    const response = await client.call.check({ service: options.service ?? '' });
    return response.status === healthV1.HealthCheckResponse_ServingStatus.SERVING;
  } catch {
    return false;
  } finally {
    client.close();
  }
}
