/**
 * A TCP proxy in front of a service for tests that take it down: `close()` refuses new connections
 * and cuts the open ones, so calls fail fast with UNAVAILABLE (a port closed, not a frozen peer);
 * `open()` listens on the same port again.
 */
import { createServer, type Server, type Socket, connect } from 'node:net';

export class TcpProxy {
  private server: Server | undefined;
  private readonly sockets = new Set<Socket>();

  private constructor(
    private readonly target: { host: string; port: number },
    private listenPort: number,
  ) {}

  static async start(targetAddress: string): Promise<TcpProxy> {
    const [host, port] = targetAddress.split(':');
    const proxy = new TcpProxy({ host: host!, port: Number(port) }, 0);
    await proxy.open();
    return proxy;
  }

  get address(): string {
    return `127.0.0.1:${this.listenPort}`;
  }

  async open(): Promise<void> {
    const server = createServer((client) => {
      const upstream = connect(this.target.port, this.target.host);
      for (const socket of [client, upstream]) {
        this.sockets.add(socket);
        socket.on('close', () => this.sockets.delete(socket));
        socket.on('error', () => undefined);
      }
      client.pipe(upstream).pipe(client);
      client.on('close', () => upstream.destroy());
      upstream.on('close', () => client.destroy());
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.listenPort, '127.0.0.1', () => resolve());
    });
    this.listenPort = (server.address() as { port: number }).port;
    this.server = server;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    for (const socket of this.sockets) socket.destroy();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
