/** TCP ports: settings from the environment, and whether something holds or answers a port. */
import { createConnection, createServer } from 'node:net';
import { InfrastructureError } from './infrastructure-error';

/** How long a connection attempt to a local port may take before the port counts as silent. */
const portConnectTimeoutMs = 1_000;

/** Reads a port from `environment[variable]`, or `defaultPort` when unset. */
export function portFromEnvironment(environment: NodeJS.ProcessEnv, variable: string, defaultPort: number): number {
  const text = environment[variable];
  if (text === undefined || text.trim() === '') return defaultPort;
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new InfrastructureError('invalid-setting', `${variable}=${text} is not a TCP port; use a whole number from 1 to 65535`);
  }
  return port;
}

/** True when nothing is bound to `host:port`, found by binding it ourselves for a moment. */
export function isPortFree(host: string, port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'EADDRINUSE' || error.code === 'EACCES') resolve(false);
      else reject(error);
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** True when something accepts TCP connections on `host:port`. */
export function isPortAnswering(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host, port });
    const finish = (answering: boolean): void => {
      socket.destroy();
      resolve(answering);
    };
    socket.setTimeout(portConnectTimeoutMs, () => finish(false));
    socket.once('connect', () => finish(true));
    socket.once('error', () => finish(false));
  });
}

/** A port the operating system picks as free right now (for tests and throw-away servers). */
export function findFreePort(host: string = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host, port: 0 }, () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}
