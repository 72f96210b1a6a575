/**
 * The processes `npm start` runs: every service whose workspace exists, then the gateway in front.
 * A service joins the platform by having services/<name>/src/main.ts (built to dist/main.js).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';

export interface PlatformService {
  readonly name: string;
  readonly directory: string;
  /** Default gRPC port on 127.0.0.1; `<NAME>_GRPC_PORT` overrides it. */
  readonly grpcPortDefault: number;
  /** The variable through which the gateway learns the service's address. */
  readonly addressVariable: string;
}

export const platformServices: readonly PlatformService[] = [
  { name: 'escrow', directory: 'services/escrow', grpcPortDefault: 50_051, addressVariable: 'ESCROW_GRPC_ADDRESS' },
  { name: 'task-dispatch', directory: 'services/task-dispatch', grpcPortDefault: 50_052, addressVariable: 'TASK_DISPATCH_GRPC_ADDRESS' },
  { name: 'equity', directory: 'services/equity', grpcPortDefault: 50_053, addressVariable: 'EQUITY_GRPC_ADDRESS' },
  { name: 'credit', directory: 'services/credit', grpcPortDefault: 50_054, addressVariable: 'CREDIT_GRPC_ADDRESS' },
];

export const gatewayDirectory = 'gateway';

export function entryPoint(repositoryRoot: string, directory: string): string {
  return join(repositoryRoot, directory, 'dist', 'main.js');
}

export function presentServices(repositoryRoot: string): PlatformService[] {
  return platformServices.filter((service) => existsSync(join(repositoryRoot, service.directory, 'src', 'main.ts')));
}

export function portVariable(service: PlatformService): string {
  return `${service.name.toUpperCase().replace(/-/g, '_')}_GRPC_PORT`;
}
