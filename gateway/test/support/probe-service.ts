/**
 * A small gRPC service for tests, in the shape ts-proto generates: the gateway must work with any
 * such definition. `whoAmI` echoes the caller identity from metadata; `raise` throws the
 * DomainError whose code is sent as `participantId`.
 */
import { commonV1 } from '@sizhong/proto';
import { DomainError, GrpcServer, isErrorCode, type Logger, type RunningGrpcServer } from '@sizhong/kit';

const { Money, CallerIdentity } = commonV1;

const method = <Request, Response>(
  name: string,
  request: { encode(value: Request): { finish(): Uint8Array }; decode(bytes: Uint8Array): Request },
  response: { encode(value: Response): { finish(): Uint8Array }; decode(bytes: Uint8Array): Response },
) =>
  ({
    path: `/sizhong.testing.v1.GatewayProbe/${name}`,
    requestStream: false as const,
    responseStream: false as const,
    requestSerialize: (value: Request) => Buffer.from(request.encode(value).finish()),
    requestDeserialize: (bytes: Buffer) => request.decode(bytes),
    responseSerialize: (value: Response) => Buffer.from(response.encode(value).finish()),
    responseDeserialize: (bytes: Buffer) => response.decode(bytes),
  }) as const;

export const ProbeService = {
  whoAmI: method('WhoAmI', Money, CallerIdentity),
  raise: method('Raise', CallerIdentity, Money),
} as const;

export function startProbeServer(logger: Logger, port = 0): Promise<RunningGrpcServer> {
  return new GrpcServer({ logger, port })
    .addService(ProbeService, {
      whoAmI: async (_request, context) => ({ participantId: context.identity?.participantId ?? '', roles: [...(context.identity?.roles ?? [])] }),
      raise: async (request) => {
        if (!isErrorCode(request.participantId)) throw new Error('not a code');
        throw new DomainError(request.participantId, `refused with ${request.participantId}`, { hint: 'details travel too' });
      },
    })
    .start();
}
