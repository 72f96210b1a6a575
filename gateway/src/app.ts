/**
 * The gateway's express application, without listening: main.ts listens, tests listen on
 * 127.0.0.1:0. Wiring only; every route is declared through the route helper (openapi/route.ts).
 */
import { createHmac } from 'node:crypto';
import { type Clock, type Logger, type MongoConnection, systemClock } from '@sizhong/kit';
import express, { type Express } from 'express';
import helmet from 'helmet';
import { RegulatorReadAudit } from './audit/regulator-reads';
import { registerAuditRoutes } from './audit/routes';
import { downstreamAddresses, type GatewayConfig } from './config';
import { connectCredit } from './credit/credit-connection';
import { registerCreditRoutes } from './credit/routes';
import { connectEquity } from './equity/equity-connection';
import { registerEquityRoutes } from './equity/routes';
import { registerCampaignRoutes } from './escrow/campaign-routes';
import { connectEscrow } from './escrow/escrow-connection';
import { registerEscrowRoutes } from './escrow/routes';
import { accessLog } from './http/access-log';
import { errorMiddleware, notFoundHandler } from './http/error-middleware';
import { IdempotencyStore } from './http/idempotency';
import { createHttpMetrics, type HttpMetrics } from './http/metrics';
import { TokenBucketLimiter } from './http/rate-limit';
import { tracingMiddleware } from './http/tracing';
import { AccessTokens } from './identity/access-tokens';
import { ParticipantStore } from './identity/participant-store';
import { Participants } from './identity/participants';
import { registerIdentityRoutes } from './identity/routes';
import { registerSkillRoutes, SkillStore } from './identity/skills';
import { RouteRegistrar } from './openapi/route';
import { ApiDocument } from './openapi/registry';
import { consoleAssets, consoleAssetsPath, docsAssets, docsAssetsPath } from './operations/pages';
import { registerOperationsRoutes } from './operations/routes';
import { connectTaskDispatch } from './tasks/task-connection';
import { registerTaskRoutes } from './tasks/routes';

export const gatewayVersion = '0.1.0';

export interface GatewayDependencies {
  readonly config: GatewayConfig;
  /** The gateway's own database (participants, idempotency records). */
  readonly mongo: MongoConnection;
  readonly logger: Logger;
  /** HS256 key of access tokens (AUTH_TOKEN_SECRET or the generated one; see identity/token-secret.ts). */
  readonly tokenSecret: Uint8Array;
  /** Time for tokens, leases and rate limits; tests pass a ManualClock. */
  readonly clock?: Clock;
  /**
   * More routes, declared with the same helper after the built-in ones. Service routes plug in
   * here; tests add deliberately slow or failing routes.
   */
  readonly routes?: (routes: RouteRegistrar, services: GatewayServices) => void;
}

export interface GatewayServices {
  readonly participants: Participants;
  readonly tokens: AccessTokens;
  readonly logger: Logger;
  readonly clock: Clock;
  /** Where route modules record regulator reads (audit/regulator-reads.ts says how). */
  readonly regulatorReads: RegulatorReadAudit;
}

export interface Gateway {
  readonly app: Express;
  readonly document: ApiDocument;
  readonly metrics: HttpMetrics;
  readonly services: GatewayServices;
  /** Closes the downstream gRPC clients; the caller closes the HTTP server and the database. */
  close(): void;
}

/** Builds the app and prepares its storage (indexes). Listening is the caller's business. */
export async function createApp(dependencies: GatewayDependencies): Promise<Gateway> {
  const { config, mongo, logger } = dependencies;
  const clock = dependencies.clock ?? systemClock;

  const participantStore = new ParticipantStore(mongo);
  const idempotency = new IdempotencyStore(mongo, clock, config.IDEMPOTENCY_LEASE_MS);
  const regulatorReads = new RegulatorReadAudit(mongo, clock);
  await Promise.all([participantStore.ensureIndexes(), idempotency.ensureIndexes(), regulatorReads.ensureIndexes()]);
  const participants = new Participants(participantStore, clock);
  await participants.prepare();
  const tokens = new AccessTokens(dependencies.tokenSecret, config.ACCESS_TOKEN_TTL_MS, clock);

  const app = express();
  app.disable('x-powered-by');
  if (config.GATEWAY_TRUST_PROXY !== undefined) app.set('trust proxy', config.GATEWAY_TRUST_PROXY);

  const metrics = createHttpMetrics();
  app.use(tracingMiddleware());
  app.use(metrics.middleware);
  app.use(accessLog(logger));
  app.use(
    helmet({
      contentSecurityPolicy: {
        useDefaults: false,
        directives: {
          defaultSrc: ["'self'"],
          scriptSrc: ["'self'"],
          // Swagger UI sets style attributes at run time.
          styleSrc: ["'self'", "'unsafe-inline'"],
          imgSrc: ["'self'", 'data:'],
          fontSrc: ["'self'", 'data:'],
          connectSrc: ["'self'"],
          objectSrc: ["'none'"],
          baseUri: ["'self'"],
          formAction: ["'self'"],
          frameAncestors: ["'none'"],
        },
      },
    }),
  );
  app.use('/v1', (_request, response, next) => {
    // Tokens and personal data: never cached by browsers or proxies.
    response.setHeader('Cache-Control', 'no-store');
    next();
  });
  app.use(docsAssetsPath, docsAssets);
  app.use(consoleAssetsPath, consoleAssets);

  const document = new ApiDocument(gatewayVersion);
  const router = express.Router();
  const routes = new RouteRegistrar(router, document, {
    tokens,
    idempotency,
    ipLimiter: new TokenBucketLimiter({ burst: config.RATE_LIMIT_IP_BURST, perSecond: config.RATE_LIMIT_IP_PER_SECOND }, clock),
    participantLimiter: new TokenBucketLimiter({ burst: config.RATE_LIMIT_PARTICIPANT_BURST, perSecond: config.RATE_LIMIT_PARTICIPANT_PER_SECOND }, clock),
    logger,
    // A key of its own, derived from the token secret, so fingerprints reveal nothing about passwords.
    fingerprintKey: createHmac('sha256', dependencies.tokenSecret).update('sizhong idempotency fingerprint v1').digest(),
  });
  registerOperationsRoutes(routes, {
    readiness: { mongo, downstream: downstreamAddresses(config), deadlineMs: config.READINESS_CHECK_DEADLINE_MS },
    metrics: metrics.registry,
    document,
  });
  const services: GatewayServices = { participants, tokens, logger, clock, regulatorReads };
  registerIdentityRoutes(routes, participants, tokens);
  registerAuditRoutes(routes, regulatorReads);
  const escrow = connectEscrow(config.ESCROW_GRPC_ADDRESS, { campaignWriteDeadlineMs: config.ESCROW_CAMPAIGN_WRITE_DEADLINE_MS });
  if (config.ESCROW_CAMPAIGN_WRITE_DEADLINE_MS >= config.IDEMPOTENCY_LEASE_MS) {
    // Not fatal (escrow dedupes pledges by key), but a retry could then run beside a call still in flight.
    logger.warn({ deadlineMs: config.ESCROW_CAMPAIGN_WRITE_DEADLINE_MS, leaseMs: config.IDEMPOTENCY_LEASE_MS }, 'ESCROW_CAMPAIGN_WRITE_DEADLINE_MS should be below IDEMPOTENCY_LEASE_MS');
  }
  registerEscrowRoutes(routes, escrow, async (participantId) => (await participantStore.findById(participantId)) !== undefined);
  registerCampaignRoutes(routes, escrow);
  const credit = connectCredit(config.CREDIT_GRPC_ADDRESS);
  registerCreditRoutes(routes, credit, { regulatorReads, participants, feedStreamMaxMs: config.RISK_FEED_STREAM_MAX_MS });
  const skills = new SkillStore(mongo);
  registerSkillRoutes(routes, skills);
  const taskDispatch = connectTaskDispatch(config.TASK_DISPATCH_GRPC_ADDRESS);
  registerTaskRoutes(routes, taskDispatch, skills);
  const equity = connectEquity(config.EQUITY_GRPC_ADDRESS);
  registerEquityRoutes(routes, equity, regulatorReads);
  dependencies.routes?.(routes, services);
  routes.answerOtherMethods();
  app.use(router);

  app.use(notFoundHandler(logger));
  app.use(errorMiddleware(logger));
  return {
    app,
    document,
    metrics,
    services,
    close: () => {
      escrow.close();
      credit.close();
      taskDispatch.close();
      equity.close();
    },
  };
}
