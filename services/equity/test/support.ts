/**
 * Starts equity beside a real escrow and a real credit service for a test file (credit on the
 * same topic prefix as equity, so it scores equity's own events), with typed clients and helpers.
 * A lead qualifies the way one does on a fresh platform: an accredited profile (PUT) makes equity
 * emit InvestorProfileUpdated, credit raises the investor score to 660 (ACCREDITED_INVESTOR), and
 * the test waits for that score (scoreOf polls GetScore, bounded).
 *
 * Faults are injected only at the edges, never by mocking our own code: a `HandlerGate` holds one
 * chosen gRPC request at escrow's or credit's door until the test releases it (a peer that answers
 * late, or after its client gave up), `PausingProxy` holds a service's MongoDB traffic after a
 * chosen command (a process that stalls between two writes), and `startEquityReplica` starts a
 * second equity on the same database with its own clock or settings (replicas that disagree).
 */
import { createServer, connect, type Server, type Socket } from 'node:net';
import { type CallerIdentity, type Clock, createGrpcClient, loadConfig, type ParticipantRole, type RunningService, type ServiceDefinition, type ServiceRuntimeConfig, startService } from '@sizhong/kit';
import { creditV1, equityV1, escrowV1 } from '@sizhong/proto';
import { eventually, startTestService, testServiceEnvironment, type TestService } from '@sizhong/testkit';
import pino from 'pino';
import { creditConfigShape } from '../../credit/src/config';
import { creditService } from '../../credit/src/credit-service';
import { signPayload } from '../../escrow/src/app/payment-provider';
import { escrowConfigShape } from '../../escrow/src/config';
import { escrowService } from '../../escrow/src/escrow-service';
import { equityConfigShape } from '../src/config';
import { equityService, type EquityUseCases } from '../src/equity-service';

export const webhookSecret = 'test-webhook-secret-0123456789abcdef';

export interface EscrowSide {
  readonly address: string;
  readonly wallet: ReturnType<typeof createGrpcClient<typeof escrowV1.WalletServiceService>>;
  readonly ledger: ReturnType<typeof createGrpcClient<typeof escrowV1.LedgerServiceService>>;
  deposit(participantId: string, amountMinor: bigint, currency?: string): Promise<void>;
}

export interface EquityHarness {
  readonly equity: TestService<EquityUseCases>;
  readonly escrow: EscrowSide;
  readonly credit: { readonly address: string; readonly topicPrefix: string; readonly scores: ReturnType<typeof createGrpcClient<typeof creditV1.CreditServiceService>> };
  readonly client: ReturnType<typeof createGrpcClient<typeof equityV1.EquityServiceService>>;
  /** Holds chosen requests at escrow's and credit's doors (nothing is held until armed). */
  readonly gate: HandlerGate;
  /** Equity's settings in this file, for replicas. */
  readonly environment: Readonly<Record<string, string>>;
  /** Polls credit's investor score of `investorId` until `accept` holds (bounded); returns it. */
  investorScore(investorId: string, accept: (score: number) => boolean, what: string): Promise<number>;
  stop(): Promise<void>;
}

export function as(participantId: string, ...roles: ParticipantRole[]): { identity: CallerIdentity } {
  return { identity: { participantId, roles } };
}

export const cny = (amountMinor: bigint | number) => ({ currency: 'CNY', amountMinor: BigInt(amountMinor) });
export const usd = (amountMinor: bigint | number) => ({ currency: 'USD', amountMinor: BigInt(amountMinor) });

/** One armed hold: the first request of `method` that `matches` waits at the door until released. */
interface ArmedHold {
  readonly method: string;
  readonly matches: (request: Record<string, unknown>) => boolean;
  readonly arrived: () => void;
  readonly released: Promise<void>;
}

/**
 * Holds a chosen gRPC request at a real service's door: the request is received, then waits until
 * the test releases it, then runs the real handler (whatever its client did meanwhile). Each armed
 * hold catches one request; every other request passes straight through.
 */
export class HandlerGate {
  private readonly armed: ArmedHold[] = [];
  private readonly releases: (() => void)[] = [];

  arm(method: string, matches: (request: Record<string, unknown>) => boolean = () => true): { reached: Promise<void>; release(): void } {
    let arrived!: () => void;
    let release!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const released = new Promise<void>((resolve) => (release = resolve));
    this.armed.push({ method, matches, arrived, released });
    this.releases.push(release);
    return { reached, release };
  }

  /** Lets every held request go (end of a test). */
  releaseAll(): void {
    for (const release of this.releases.splice(0)) release();
  }

  wrap<Handlers extends object>(handlers: Handlers): Handlers {
    const wrapped: Record<string, unknown> = {};
    for (const [name, handler] of Object.entries(handlers)) {
      if (typeof handler !== 'function') {
        wrapped[name] = handler;
        continue;
      }
      wrapped[name] = (...args: unknown[]) => {
        const index = this.armed.findIndex((hold) => hold.method === name && hold.matches((args[0] ?? {}) as Record<string, unknown>));
        if (index < 0) return (handler as (...all: unknown[]) => unknown)(...args);
        const [hold] = this.armed.splice(index, 1);
        return (async () => {
          hold!.arrived();
          await hold!.released;
          return (handler as (...all: unknown[]) => unknown)(...args);
        })();
      };
    }
    return wrapped as Handlers;
  }
}

/** The same service with its gRPC handlers behind the gate. */
export function gated<Config extends ServiceRuntimeConfig, Exposed>(definition: ServiceDefinition<Config, Exposed>, gate: HandlerGate): ServiceDefinition<Config, Exposed> {
  return {
    ...definition,
    async build(context) {
      const parts = await definition.build(context);
      return {
        ...parts,
        grpc: parts.grpc.map((registration) => ({
          register: (server) =>
            registration.register(
              new Proxy(server, {
                get: (target, property, receiver) =>
                  property === 'addService' ? (serviceDefinition: never, handlers: object) => target.addService(serviceDefinition, gate.wrap(handlers) as never) : Reflect.get(target, property, receiver),
              }),
            ),
        })),
      };
    },
  };
}

let depositSequence = 0;

export interface HarnessOptions {
  readonly clock?: Clock;
}

export async function startEquityHarness(label: string, environment: Record<string, string> = {}, options: HarnessOptions = {}): Promise<EquityHarness> {
  const gate = new HandlerGate();
  // One after the other: topic creation on the shared broker is where parallel starts flaked.
  const credit = await startTestService(gated(creditService, gate), creditConfigShape, { label: `${label}-credit` });
  const escrow = await startTestService(gated(escrowService, gate), escrowConfigShape, { label: `${label}-escrow`, environment: { PSP_WEBHOOK_SECRET: webhookSecret, PLATFORM_FEE_BPS: '500' } });
  const equityEnvironment = {
    ESCROW_GRPC_ADDRESS: escrow.address,
    CREDIT_GRPC_ADDRESS: credit.address,
    KAFKA_TOPIC_PREFIX: credit.topicPrefix,
    EQUITY_PROFILE_KEY: 'equity-test-profile-key-0123456789abcdef',
    DEADLINE_MIN_MS: '1000',
    ...environment,
  };
  const equity = await startTestService(equityService, equityConfigShape, { label: `${label}-equity`, environment: equityEnvironment, ...(options.clock ? { clock: options.clock } : {}) });
  const client = createGrpcClient(equityV1.EquityServiceService, equity.address, { deadlineMs: 60_000 });
  const wallet = createGrpcClient(escrowV1.WalletServiceService, escrow.address, { deadlineMs: 30_000 });
  const ledger = createGrpcClient(escrowV1.LedgerServiceService, escrow.address, { deadlineMs: 30_000 });
  const scores = createGrpcClient(creditV1.CreditServiceService, credit.address, { deadlineMs: 10_000 });
  return {
    equity,
    escrow: {
      address: escrow.address,
      wallet,
      ledger,
      async deposit(participantId, amountMinor, currency = 'CNY') {
        depositSequence += 1;
        const body = Buffer.from(JSON.stringify({ id: `evt_${label}_${depositSequence}_${participantId}`, type: 'deposit.succeeded', participantId, amount: { currency, amountMinor: String(amountMinor) } }));
        await wallet.call.applyPaymentProviderEvent({ body, signature: signPayload(new TextEncoder().encode(webhookSecret), body, Math.floor(Date.now() / 1000)) });
      },
    },
    credit: { address: credit.address, topicPrefix: credit.topicPrefix, scores },
    client,
    gate,
    environment: { ...equityEnvironment, EQUITY_DATABASE: equity.database },
    async investorScore(investorId, accept, what) {
      const profile = await eventually(() => scores.call.getScore({ participantId: investorId, role: 'investor' }), (found) => accept(found.score), what);
      return profile.score;
    },
    async stop() {
      gate.releaseAll();
      client.close();
      wallet.close();
      ledger.close();
      scores.close();
      await equity.stop();
      await Promise.all([escrow.stop(), credit.stop()]);
    },
  };
}

/**
 * A second equity on the first one's database and topics (a replica), with its own clock or
 * settings. Stopping it leaves the database to the harness.
 */
export async function startEquityReplica(harness: EquityHarness, label: string, environment: Record<string, string> = {}, options: HarnessOptions = {}): Promise<RunningService<EquityUseCases>> {
  const config = loadConfig(equityConfigShape, testServiceEnvironment('equity', label, { ...harness.environment, ...environment }));
  return startService(equityService, config, { logger: pino({ level: 'silent' }), ...(options.clock ? { clock: options.clock } : {}) });
}

interface ProxiedConnection {
  readonly client: Socket;
  readonly upstream: Socket;
  readonly held: Buffer[];
  tail: Buffer;
}

/**
 * A TCP proxy in front of the MongoDB server that can stall one service's traffic: `pauseAfter`
 * lets the first client message containing a byte pattern through, then holds every later client
 * byte (answers still flow back) until `resume`. A process stalled between two writes, on demand.
 */
export class PausingProxy {
  private readonly connections = new Set<ProxiedConnection>();
  private paused = false;
  private trigger: { pattern: Buffer; fired: () => void } | undefined;

  private constructor(
    private readonly server: Server,
    readonly port: number,
  ) {}

  static async start(target: { host: string; port: number }): Promise<PausingProxy> {
    const started: { proxy?: PausingProxy } = {};
    const server = createServer((client) => started.proxy?.accept(client, target));
    const port = await new Promise<number>((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as { port: number }).port)));
    started.proxy = new PausingProxy(server, port);
    return started.proxy;
  }

  /** Resolves once a client message with `pattern` went through; every later client byte waits for `resume`. */
  pauseAfter(pattern: Buffer): Promise<void> {
    return new Promise((resolve) => (this.trigger = { pattern, fired: resolve }));
  }

  resume(): void {
    this.paused = false;
    for (const connection of this.connections) for (const chunk of connection.held.splice(0)) connection.upstream.write(chunk);
  }

  async close(): Promise<void> {
    this.resume();
    for (const connection of this.connections) {
      connection.client.destroy();
      connection.upstream.destroy();
    }
    await new Promise((resolve) => this.server.close(resolve));
  }

  private accept(client: Socket, target: { host: string; port: number }): void {
    const upstream = connect(target.port, target.host);
    const connection: ProxiedConnection = { client, upstream, held: [], tail: Buffer.alloc(0) };
    this.connections.add(connection);
    const end = () => {
      this.connections.delete(connection);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    upstream.on('data', (chunk: Buffer) => client.write(chunk));
    client.on('data', (chunk: Buffer) => {
      if (this.paused) {
        connection.held.push(chunk);
        return;
      }
      upstream.write(chunk);
      const trigger = this.trigger;
      if (!trigger) return;
      const window = Buffer.concat([connection.tail, chunk]);
      connection.tail = window.subarray(Math.max(0, window.length - trigger.pattern.length));
      if (window.includes(trigger.pattern)) {
        this.trigger = undefined;
        this.paused = true;
        trigger.fired();
      }
    });
  }
}

/** The MongoDB URL of the test run with its host and port replaced (through a proxy). */
export function mongoUrlThrough(mongoUrl: string, port: number): string {
  const url = new URL(mongoUrl);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  return url.toString();
}

export function mongoTarget(mongoUrl: string): { host: string; port: number } {
  const url = new URL(mongoUrl);
  return { host: url.hostname, port: Number(url.port || 27017) };
}

export { eventually };
