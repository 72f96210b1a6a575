/**
 * One factory for the gateway's gRPC clients of a downstream service: one set of clients per
 * process (connections reused across requests, connected lazily so the gateway may start before
 * the service), 503 UNAVAILABLE when the service is not configured, and the readiness probe
 * (grpc.health.v1) that /readyz uses. A new service gets its routes with
 * `DownstreamConnection.connect('credit', config.CREDIT_GRPC_ADDRESS, { scores: creditV1.ScoreServiceService })`.
 */
import { checkHealth, createGrpcClient, type GrpcClient, type ServiceDefinitionLike } from '@sizhong/kit';
import { HttpRefusal } from '../http/problem';

type Definitions = Readonly<Record<string, ServiceDefinitionLike>>;
export type DownstreamClients<D extends Definitions> = { readonly [Name in keyof D]: GrpcClient<D[Name]>['call'] };

export class DownstreamConnection<D extends Definitions> {
  private constructor(
    /** The service's name in problem details and readiness checks. */
    readonly name: string,
    readonly address: string | undefined,
    private readonly connected: { readonly [Name in keyof D]: GrpcClient<D[Name]> } | undefined,
  ) {}

  /** Clients are lazy: nothing connects until the first call. An unset address leaves the routes answering 503. */
  static connect<D extends Definitions>(name: string, address: string | undefined, definitions: D): DownstreamConnection<D> {
    if (address === undefined) return new DownstreamConnection<D>(name, undefined, undefined);
    const connected = Object.fromEntries(Object.entries(definitions).map(([key, definition]) => [key, createGrpcClient(definition, address)])) as { [Name in keyof D]: GrpcClient<D[Name]> };
    return new DownstreamConnection(name, address, connected);
  }

  get configured(): boolean {
    return this.connected !== undefined;
  }

  /** The clients, or 503 UNAVAILABLE naming `operations` when this gateway runs without the service. */
  clients(operations = `${this.name} operations`): DownstreamClients<D> {
    if (this.connected === undefined) {
      throw new HttpRefusal('UNAVAILABLE', `${operations} are not available: this gateway is not connected to the ${this.name} service`);
    }
    return Object.fromEntries(Object.entries(this.connected).map(([key, client]) => [key, client.call])) as DownstreamClients<D>;
  }

  /** Whether the service answers grpc.health.v1 SERVING within the deadline; undefined when it is not configured. */
  async ready(deadlineMs: number): Promise<boolean | undefined> {
    if (this.address === undefined) return undefined;
    return checkHealth(this.address, { deadlineMs });
  }

  close(): void {
    for (const client of Object.values(this.connected ?? {})) client.close();
  }
}
