/** Types that turn a ts-proto service definition into typed handlers and typed client calls. */
import type { Metadata } from '@grpc/grpc-js';
import type { Logger } from 'pino';
import type { CallerIdentity } from '../identity';

export interface MethodDefinitionLike {
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
  readonly requestSerialize: (value: never) => Buffer;
  readonly requestDeserialize: (bytes: Buffer) => unknown;
  readonly responseSerialize: (value: never) => Buffer;
  readonly responseDeserialize: (bytes: Buffer) => unknown;
}

export type ServiceDefinitionLike = Readonly<Record<string, MethodDefinitionLike>>;

export type RequestOf<M> = M extends { requestDeserialize: (bytes: Buffer) => infer Request } ? Request : never;
export type ResponseOf<M> = M extends { responseDeserialize: (bytes: Buffer) => infer Response } ? Response : never;

/** What a handler knows about the call besides the request. */
export interface CallContext {
  /** The authenticated participant the gateway vouches for; undefined for system calls. */
  readonly identity: CallerIdentity | undefined;
  readonly deadline: Date | undefined;
  readonly metadata: Metadata;
  /** Aborted when the client cancels or the deadline passes. */
  readonly signal: AbortSignal;
  readonly logger: Logger;
}

export type UnaryHandler<Request, Response> = (request: Request, context: CallContext) => Promise<Response>;
export type ServerStreamHandler<Request, Response> = (
  request: Request,
  context: CallContext,
  send: (response: Response) => Promise<void>,
) => Promise<void>;

export type ServiceHandlers<Definition extends ServiceDefinitionLike> = {
  [Name in keyof Definition]: Definition[Name] extends { requestStream: false; responseStream: false }
    ? UnaryHandler<RequestOf<Definition[Name]>, ResponseOf<Definition[Name]>>
    : Definition[Name] extends { requestStream: false; responseStream: true }
      ? ServerStreamHandler<RequestOf<Definition[Name]>, ResponseOf<Definition[Name]>>
      : never;
};

export interface CallOptions {
  readonly identity?: CallerIdentity | undefined;
  /** Overrides the client's default deadline. */
  readonly deadlineMs?: number;
  readonly signal?: AbortSignal;
}

export type ServiceCaller<Definition extends ServiceDefinitionLike> = {
  [Name in keyof Definition]: Definition[Name] extends { requestStream: false; responseStream: false }
    ? (request: RequestOf<Definition[Name]>, options?: CallOptions) => Promise<ResponseOf<Definition[Name]>>
    : Definition[Name] extends { requestStream: false; responseStream: true }
      ? (request: RequestOf<Definition[Name]>, options?: CallOptions) => AsyncIterable<ResponseOf<Definition[Name]>>
      : never;
};
