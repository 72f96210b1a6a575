/**
 * The processes `npm start` runs: every service under services/ (a workspace with src/main.ts that
 * declares its gRPC port in package.json as `"sizhong": {"grpcPort": …}`, as `npm run new-service`
 * writes it), then the gateway in front.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PlatformService {
  readonly name: string;
  readonly directory: string;
  /** Default gRPC port on 127.0.0.1; `<NAME>_GRPC_PORT` overrides it. */
  readonly grpcPortDefault: number;
  /** The variable through which the gateway learns the service's address. */
  readonly addressVariable: string;
}

/** The services the gateway has its own address variable for; others reach it through GATEWAY_EXTRA_DOWNSTREAMS. */
export const gatewayKnownServices: readonly string[] = ['escrow', 'task-dispatch', 'equity', 'credit'];

export const gatewayDirectory = 'gateway';

export function entryPoint(repositoryRoot: string, directory: string): string {
  return join(repositoryRoot, directory, 'dist', 'main.js');
}

function variablePrefix(name: string): string {
  return name.toUpperCase().replace(/-/g, '_');
}

/** Every service workspace with a main and a declared port, in name order. */
export function presentServices(repositoryRoot: string): PlatformService[] {
  const servicesDirectory = join(repositoryRoot, 'services');
  if (!existsSync(servicesDirectory)) return [];
  const found: PlatformService[] = [];
  for (const name of readdirSync(servicesDirectory).sort()) {
    const directory = join('services', name);
    const manifest = join(repositoryRoot, directory, 'package.json');
    if (!existsSync(join(repositoryRoot, directory, 'src', 'main.ts')) || !existsSync(manifest)) continue;
    const port = (JSON.parse(readFileSync(manifest, 'utf8')) as { sizhong?: { grpcPort?: unknown } }).sizhong?.grpcPort;
    if (typeof port !== 'number') throw new Error(`${directory}/package.json declares no gRPC port ("sizhong": {"grpcPort": …}); npm run new-service writes one`);
    found.push({ name, directory, grpcPortDefault: port, addressVariable: `${variablePrefix(name)}_GRPC_ADDRESS` });
  }
  return found;
}

export function portVariable(service: PlatformService): string {
  return `${variablePrefix(service.name)}_GRPC_PORT`;
}

/** The gateway's settings naming where each service runs: its own variables, and the list for the others. */
export function gatewayDownstreamEnvironment(addresses: ReadonlyMap<PlatformService, string>): Record<string, string> {
  const environment: Record<string, string> = {};
  const extra: string[] = [];
  for (const [service, address] of addresses) {
    if (gatewayKnownServices.includes(service.name)) environment[service.addressVariable] = address;
    else extra.push(`${service.name}=${address}`);
  }
  if (extra.length > 0) environment['GATEWAY_EXTRA_DOWNSTREAMS'] = extra.join(',');
  return environment;
}
