// Proves a real gRPC round trip on 127.0.0.1:0: health, identity, deadlines, tracing, every DomainError code mapped, and
// the fault-injection run's faults (a lost answer after the server acted, a call never sent, a seeded replay).
import { Client, credentials, Metadata, status as GrpcStatus, type ServiceError } from '@grpc/grpc-js';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { commonV1, healthV1 } from '@sizhong/proto';
import pino from 'pino';
import { DomainError, errorCodes, isErrorCode } from '../errors';
import { grpcStatusByErrorCode } from './errors';
import { startTelemetry, withSpan } from '../telemetry';
import { checkHealth, createGrpcClient, grpcTarget } from './client';
import { GrpcFaultInjector, installGrpcFaults, parseGrpcFaultPlan } from './faults';
import { GrpcServer, type RunningGrpcServer } from './server';

const { Money, CallerIdentity } = commonV1;
const method = <Request, Response>(
  name: string,
  request: { encode(value: Request): { finish(): Uint8Array }; decode(bytes: Uint8Array): Request },
  response: { encode(value: Response): { finish(): Uint8Array }; decode(bytes: Uint8Array): Response },
) =>
  ({
    path: `/sizhong.testing.v1.Probe/${name}`,
    requestStream: false as const,
    responseStream: false as const,
    requestSerialize: (value: Request) => Buffer.from(request.encode(value).finish()),
    requestDeserialize: (bytes: Buffer) => request.decode(bytes),
    responseSerialize: (value: Response) => Buffer.from(response.encode(value).finish()),
    responseDeserialize: (bytes: Buffer) => response.decode(bytes),
  }) as const;

/** A probe service defined in the test: the kit must work for any ts-proto-shaped definition. */
const ProbeService = {
  double: method('Double', Money, Money),
  whoAmI: method('WhoAmI', Money, CallerIdentity),
  raise: method('Raise', CallerIdentity, Money),
  crash: method('Crash', Money, Money),
  slow: method('Slow', Money, Money),
} as const;

const spans = new InMemorySpanExporter();
const telemetry = startTelemetry({ serviceName: 'grpc-test', spanProcessors: [new SimpleSpanProcessor(spans)] });
const logger = pino({ level: 'silent' });
let server: RunningGrpcServer;
let abortedSlowCalls = 0;
/** Calls the server answered: a lost answer still counts here. */
let doubled = 0;

beforeAll(async () => {
  server = await new GrpcServer({ logger })
    .addService(ProbeService, {
      double: async (request) => {
        doubled += 1;
        return { currency: request.currency, amountMinor: request.amountMinor * 2n };
      },
      whoAmI: async (_request, context) => ({ participantId: context.identity?.participantId ?? '', roles: [...(context.identity?.roles ?? [])] }),
      raise: async (request) => {
        if (!isErrorCode(request.participantId)) throw new Error('not a code');
        throw new DomainError(request.participantId, `refused with ${request.participantId}`, { hint: 'details travel too' });
      },
      crash: async () => {
        throw new Error('database password is hunter2');
      },
      slow: async (request, context) => {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, Number(request.amountMinor));
          context.signal.addEventListener('abort', () => {
            abortedSlowCalls += 1;
            clearTimeout(timer);
            resolve();
          });
        });
        return request;
      },
    })
    .start();
});

afterAll(async () => {
  await server.shutdown();
  await telemetry.shutdown();
});

describe('gRPC server and client', () => {
  it('listens on an ephemeral loopback port and round-trips int64 money as bigint', async () => {
    expect(server.address).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(server.port).toBeGreaterThan(0);
    const client = createGrpcClient(ProbeService, server.address);
    await expect(client.call.double({ currency: 'CNY', amountMinor: 4_611_686_018_427_387_903n })).resolves.toEqual({
      currency: 'CNY',
      amountMinor: 9_223_372_036_854_775_806n,
    });
    client.close();
  });

  it('answers grpc.health.v1 for the server and each service, and streams changes', async () => {
    expect(await checkHealth(server.address)).toBe(true);
    expect(await checkHealth(server.address, { service: 'sizhong.testing.v1.Probe' })).toBe(true);
    expect(await checkHealth(server.address, { service: 'no.such.Service' })).toBe(false);

    const health = createGrpcClient(healthV1.HealthService, server.address);
    const seen: healthV1.HealthCheckResponse_ServingStatus[] = [];
    const controller = new AbortController();
    const watching = (async () => {
      for await (const update of health.call.watch({ service: 'sizhong.testing.v1.Probe' }, { signal: controller.signal })) {
        seen.push(update.status);
        if (seen.length === 1) server.setServing('sizhong.testing.v1.Probe', false);
        if (seen.length === 2) break;
      }
    })();
    await watching;
    controller.abort();
    expect(seen).toEqual([healthV1.HealthCheckResponse_ServingStatus.SERVING, healthV1.HealthCheckResponse_ServingStatus.NOT_SERVING]);
    expect(await checkHealth(server.address, { service: 'sizhong.testing.v1.Probe' })).toBe(false);
    server.setServing('sizhong.testing.v1.Probe', true);
    expect(await checkHealth(server.address, { service: 'sizhong.testing.v1.Probe' })).toBe(true);
    health.close();
  });

  it('carries the caller identity in metadata', async () => {
    const client = createGrpcClient(ProbeService, server.address);
    await expect(client.call.whoAmI({ currency: 'CNY', amountMinor: 0n }, { identity: { participantId: 'pt_1', roles: ['backer', 'creator'] } })).resolves.toEqual({
      participantId: 'pt_1',
      roles: ['backer', 'creator'],
    });
    await expect(client.call.whoAmI({ currency: 'CNY', amountMinor: 0n })).resolves.toEqual({ participantId: '', roles: [] });
    client.close();
  });

  it.each(errorCodes)('maps %s to its gRPC status and back to the same DomainError', async (code) => {
    const client = createGrpcClient(ProbeService, server.address);
    const error = await client.call.raise({ participantId: code, roles: [] }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code, message: `refused with ${code}`, details: { hint: 'details travel too' } });
    client.close();

    // The wire status is the table's, so non-Sizhong clients see a meaningful status too.
    const raw = new Client(server.address, credentials.createInsecure());
    const status = await new Promise<number>((resolve) =>
      raw.makeUnaryRequest(
        ProbeService.raise.path,
        ProbeService.raise.requestSerialize,
        ProbeService.raise.responseDeserialize,
        { participantId: code, roles: [] },
        new Metadata(),
        {},
        (failure: ServiceError | null) => resolve(failure?.code ?? GrpcStatus.OK),
      ),
    );
    raw.close();
    expect(status).toBe(grpcStatusByErrorCode[code]);
  });

  it('turns unexpected errors into INTERNAL without leaking their message', async () => {
    const client = createGrpcClient(ProbeService, server.address);
    const error = (await client.call.crash({ currency: 'CNY', amountMinor: 1n }).catch((caught: unknown) => caught)) as DomainError;
    expect(error.code).toBe('INTERNAL');
    expect(error.message).not.toContain('hunter2');
    expect(error.message).toMatch(/internal error \(trace [0-9a-f]{32}\)/);
    client.close();
  });

  it('enforces deadlines: the client gets DEADLINE_EXCEEDED and the handler sees the cancellation', async () => {
    const client = createGrpcClient(ProbeService, server.address, { deadlineMs: 150 });
    const started = Date.now();
    const error = (await client.call.slow({ currency: 'CNY', amountMinor: 5_000n }).catch((caught: unknown) => caught)) as DomainError;
    expect(error.code).toBe('DEADLINE_EXCEEDED');
    expect(Date.now() - started).toBeLessThan(4_000);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(abortedSlowCalls).toBeGreaterThanOrEqual(1);
    await expect(client.call.slow({ currency: 'CNY', amountMinor: 10n }, { deadlineMs: 2_000 })).resolves.toEqual({ currency: 'CNY', amountMinor: 10n });
    client.close();
  });

  it('reports an unreachable server as UNAVAILABLE', async () => {
    const client = createGrpcClient(ProbeService, '127.0.0.1:1', { deadlineMs: 500 });
    const error = (await client.call.double({ currency: 'CNY', amountMinor: 1n }).catch((caught: unknown) => caught)) as DomainError;
    expect(['UNAVAILABLE', 'DEADLINE_EXCEEDED']).toContain(error.code);
    client.close();
  });

  it('continues the caller trace into the server span', async () => {
    spans.reset();
    const client = createGrpcClient(ProbeService, server.address);
    const traceId = await withSpan('caller', async (span) => {
      await client.call.double({ currency: 'CNY', amountMinor: 1n });
      return span.spanContext().traceId;
    });
    client.close();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const serverSpan = spans.getFinishedSpans().find((span) => span.name === ProbeService.double.path && span.kind === 1);
    expect(serverSpan?.spanContext().traceId).toBe(traceId);
  });
});

describe('fault injection (GRPC_FAULTS, for the fault-injection run only)', () => {
  afterEach(() => installGrpcFaults(undefined));

  it('a lost answer: the server acts, the caller sees DEADLINE_EXCEEDED (an unknown outcome)', async () => {
    installGrpcFaults(parseGrpcFaultPlan('seed=7,lostAnswer=1'));
    const client = createGrpcClient(ProbeService, server.address);
    const before = doubled;
    await expect(client.call.double({ currency: 'CNY', amountMinor: 21n })).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    expect(doubled).toBe(before + 1);
    await expect(checkHealth(server.address)).resolves.toBe(true);
    client.close();
  });

  it('unavailable: the call is never sent', async () => {
    installGrpcFaults(parseGrpcFaultPlan('seed=7,unavailable=1'));
    const client = createGrpcClient(ProbeService, server.address);
    const before = doubled;
    await expect(client.call.double({ currency: 'CNY', amountMinor: 21n })).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(doubled).toBe(before);
    client.close();
  });

  it('a delay holds the request back, then it is answered', async () => {
    installGrpcFaults(parseGrpcFaultPlan('seed=7,delay=1,delayMaxMs=200'));
    const client = createGrpcClient(ProbeService, server.address);
    await expect(client.call.double({ currency: 'CNY', amountMinor: 21n })).resolves.toEqual({ currency: 'CNY', amountMinor: 42n });
    client.close();
  });

  it('the same seed draws the same faults; plans are validated', () => {
    const draws = (seed: number) => {
      const injector = new GrpcFaultInjector(parseGrpcFaultPlan(`seed=${seed},delay=0.2,lostAnswer=0.2,unavailable=0.2,delayMaxMs=1000`)!);
      return Array.from({ length: 50 }, () => injector.next());
    };
    expect(draws(42)).toEqual(draws(42));
    expect(draws(42)).not.toEqual(draws(43));
    expect(new Set(draws(42).map((fault) => fault.kind))).toEqual(new Set(['none', 'delay', 'lost_answer', 'unavailable']));
    expect(parseGrpcFaultPlan('')).toBeUndefined();
    expect(() => parseGrpcFaultPlan('lostAnswer=0.7,unavailable=0.7')).toThrow('at most 1');
    expect(() => parseGrpcFaultPlan('chaos=1')).toThrow('"chaos=1" is not one of');
    expect(() => parseGrpcFaultPlan('delay=-1')).toThrow('at least 0');
  });
});

describe('replicas: host:port,host:port', () => {
  it('spreads calls over both replicas round robin, and goes on with one when the other stops', async () => {
    const answered = [0, 0];
    const replicas = await Promise.all(
      [0, 1].map((index) =>
        new GrpcServer({ logger })
          .addService(ProbeService, {
            double: async (request) => {
              answered[index]! += 1;
              return { currency: request.currency, amountMinor: request.amountMinor * 2n };
            },
            whoAmI: async () => ({ participantId: '', roles: [] }),
            raise: async () => ({ currency: 'CNY', amountMinor: 0n }),
            crash: async () => ({ currency: 'CNY', amountMinor: 0n }),
            slow: async () => ({ currency: 'CNY', amountMinor: 0n }),
          })
          .start(),
      ),
    );
    const client = createGrpcClient(ProbeService, replicas.map((replica) => replica.address).join(','));
    try {
      for (let call = 0; call < 20; call += 1) await client.call.double({ currency: 'CNY', amountMinor: 1n });
      expect(answered[0]).toBeGreaterThan(0);
      expect(answered[1]).toBeGreaterThan(0);
      expect(answered[0]! + answered[1]!).toBe(20);

      await replicas[0]!.shutdown();
      const before = answered[1]!;
      for (let call = 0; call < 10; call += 1) await expect(client.call.double({ currency: 'CNY', amountMinor: 1n })).resolves.toEqual({ currency: 'CNY', amountMinor: 2n });
      expect(answered[1]! - before).toBe(10);
    } finally {
      client.close();
      await replicas[1]!.shutdown();
    }
  });

  it('names the target grpc-js balances over, and refuses host names in a replica list', () => {
    expect(grpcTarget('127.0.0.1:50051')).toBe('127.0.0.1:50051');
    expect(grpcTarget('escrow:50051')).toBe('escrow:50051');
    expect(grpcTarget('127.0.0.1:50051,127.0.0.1:50061')).toBe('ipv4:127.0.0.1:50051,127.0.0.1:50061');
    expect(grpcTarget('[::1]:50051,[::1]:50061')).toBe('ipv6:[::1]:50051,[::1]:50061');
    expect(() => grpcTarget('escrow-0:50051,escrow-1:50051')).toThrow('replica addresses must be IP addresses');
  });
});
