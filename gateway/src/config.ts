/**
 * The gateway's settings, read once from the environment by main.ts (and admin.ts) and passed
 * down. Every setting has a documented default; `describeConfig(gatewayConfigShape)` lists them.
 */
import { configFields, grpcAddressPattern, grpcFaultsField, loadConfig } from '@sizhong/kit';
import { z } from 'zod';

/** `host:port` of a downstream gRPC server; unset means that service is not part of this run. */
const grpcAddress = (service: string) =>
  z
    .string()
    .regex(grpcAddressPattern, 'expected host:port (or host:port,host:port… for replicas)')
    .optional()
    .describe(`gRPC address (host:port, or host:port,host:port… for its replicas, called round robin) of the ${service} service; unset means /readyz does not check it`);

const positiveInteger = (defaultValue: number, maximum: number, description: string) =>
  z.coerce.number().int().min(1).max(maximum).default(defaultValue).describe(description);

const durationMs = (defaultValue: number, minimum: number, maximum: number, description: string) =>
  z.coerce.number().int().min(minimum).max(maximum).default(defaultValue).describe(`${description} (milliseconds)`);

const hour = 3_600_000;

export const gatewayConfigShape = {
  GATEWAY_PORT: configFields.port(8080, 'TCP port the gateway listens on; 0 picks a free one'),
  GATEWAY_HOST: z.string().min(1).default('127.0.0.1').describe('interface the gateway listens on'),
  GATEWAY_DATABASE: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,63}$/)
    .default('sizhong_gateway')
    .describe("the gateway's own MongoDB database (participants, idempotency records)"),
  GATEWAY_DATA_DIR: z
    .string()
    .min(1)
    .optional()
    .describe('directory for generated local secrets; unset means <repository>/.data'),
  GATEWAY_TRUST_PROXY: z
    .string()
    .optional()
    .describe("express 'trust proxy' setting (e.g. loopback, 1); unset trusts no proxy, so the client IP is the socket peer"),
  MONGO_URL: configFields.optionalMongoUrl('MongoDB connection string: one host, a replica set seed list, or mongodb+srv (required by the gateway; the platform runner provides it)'),
  ESCROW_GRPC_ADDRESS: grpcAddress('escrow').describe(
    'gRPC address (host:port) of the escrow service; unset means /readyz does not check it and the wallet, ledger, webhook and campaign routes answer 503 UNAVAILABLE',
  ),
  ESCROW_CAMPAIGN_WRITE_DEADLINE_MS: durationMs(
    30_000,
    1_000,
    300_000,
    'gRPC deadline of the calls that write an existing campaign (pledges, cancellations, launches, milestone votes, delivery failures), which may move money for many pledges; keep it below IDEMPOTENCY_LEASE_MS',
  ),
  TASK_DISPATCH_GRPC_ADDRESS: grpcAddress('task-dispatch'),
  EQUITY_GRPC_ADDRESS: grpcAddress('equity'),
  CREDIT_GRPC_ADDRESS: grpcAddress('credit'),
  RISK_FEED_STREAM_MAX_MS: durationMs(25_000, 100, hour, 'how long one GET /v1/risk/feed response stays open before it ends (the client resumes with Last-Event-ID and misses nothing); keep it under the idle timeout of proxies in front'),
  GATEWAY_EXTRA_DOWNSTREAMS: z
    .string()
    .regex(/^(?:[a-z][a-z0-9-]{0,39}=(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5})(?:,[a-z][a-z0-9-]{0,39}=(?:[A-Za-z0-9.-]+|\[[0-9A-Fa-f:.]+\]):\d{1,5})*$/, 'expected name=host:port[,name=host:port…]')
    .optional()
    .describe('more services /readyz checks (a service the gateway has no routes for yet, such as a newly generated one), as name=host:port pairs; the platform runner sets it'),
  LOG_LEVEL: configFields.logLevel(),
  GRPC_FAULTS: grpcFaultsField,
  OTEL_EXPORTER_OTLP_ENDPOINT: configFields.optionalUrl('OTLP/HTTP endpoint for traces; unset means spans are not exported'),
  AUTH_TOKEN_SECRET: z
    .string()
    .min(32, 'AUTH_TOKEN_SECRET must be at least 32 characters')
    .optional()
    .describe('HS256 signing secret of access tokens; unset means one is generated once and kept in <data dir>/auth-token-secret'),
  ACCESS_TOKEN_TTL_MS: durationMs(900_000, 1_000, 24 * hour, 'lifetime of an access token'),
  IDEMPOTENCY_LEASE_MS: durationMs(60_000, 1_000, hour, 'how long a claimed idempotency key stays locked before a crashed claim may be taken over'),
  READINESS_CHECK_DEADLINE_MS: durationMs(1_000, 50, 30_000, 'how long /readyz waits for each dependency'),
  RATE_LIMIT_IP_BURST: positiveInteger(300, 1_000_000, 'requests one client IP may make in a burst'),
  RATE_LIMIT_IP_PER_SECOND: positiveInteger(50, 1_000_000, 'sustained requests per second for one client IP'),
  RATE_LIMIT_PARTICIPANT_BURST: positiveInteger(120, 1_000_000, 'requests one participant may make in a burst'),
  RATE_LIMIT_PARTICIPANT_PER_SECOND: positiveInteger(20, 1_000_000, 'sustained requests per second for one participant'),
};

export type GatewayConfig = z.infer<z.ZodObject<typeof gatewayConfigShape>>;

export function loadGatewayConfig(environment: Readonly<Record<string, string | undefined>> = process.env): GatewayConfig {
  return loadConfig(gatewayConfigShape, environment);
}

/** The downstream services /readyz checks, by the name it reports them under. */
export type DownstreamName = 'escrow' | 'taskDispatch' | 'equity' | 'credit' | string;

export function downstreamAddresses(config: GatewayConfig): Record<DownstreamName, string> {
  const addresses: Record<DownstreamName, string> = {};
  for (const pair of config.GATEWAY_EXTRA_DOWNSTREAMS?.split(',') ?? []) {
    const [name, address] = pair.split('=') as [string, string];
    addresses[name] = address;
  }
  if (config.ESCROW_GRPC_ADDRESS) addresses.escrow = config.ESCROW_GRPC_ADDRESS;
  if (config.TASK_DISPATCH_GRPC_ADDRESS) addresses.taskDispatch = config.TASK_DISPATCH_GRPC_ADDRESS;
  if (config.EQUITY_GRPC_ADDRESS) addresses.equity = config.EQUITY_GRPC_ADDRESS;
  if (config.CREDIT_GRPC_ADDRESS) addresses.credit = config.CREDIT_GRPC_ADDRESS;
  return addresses;
}
