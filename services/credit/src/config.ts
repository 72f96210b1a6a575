/** The credit service's settings, read once in main.ts (each has a default and a description). */
import { configFields, type loadConfig, serviceRuntimeShape } from '@sizhong/kit';
import { z } from 'zod';

/** `{"RULE_ID": {"threshold": number}}`: overrides of the risk rules' default thresholds (docs/credit-risk.md). */
const thresholdsSchema = z
  .string()
  .default('{}')
  .transform((value, context) => {
    try {
      return z.record(z.string(), z.record(z.string(), z.number().nonnegative())).parse(JSON.parse(value));
    } catch {
      context.addIssue({ code: 'custom', message: 'expected JSON like {"PLEDGE_VELOCITY_SPIKE":{"pledges":10}}' });
      return z.NEVER;
    }
  });

export const creditConfigShape = {
  ...serviceRuntimeShape({ grpcPortDefault: 50054 }),
  CREDIT_DATABASE: z.string().regex(/^[a-z0-9_]{1,38}$/).default('sizhong_credit').describe('MongoDB database owned by credit'),
  CREDIT_CONSUMER_GENERATION: z.coerce.number().int().min(1).max(1_000_000).default(1).describe('names the consumer groups (`…credit.scores-g<n>`); a new generation with an empty CREDIT_DATABASE rebuilds everything from the beginning of the topics'),
  CREDIT_RISK_THRESHOLDS: thresholdsSchema.describe('JSON overrides of the risk rules\u2019 thresholds, e.g. {"PLEDGE_VELOCITY_SPIKE":{"pledges":10,"windowMs":30000}}'),
  ESCROW_GRPC_ADDRESS: configFields.grpcAddress('escrow (host:port, or host:port,host:port… for its replicas), whose ledger invariants the money-conservation rule reads (unset: the rule only sees reports it is given)'),
  CREDIT_INVARIANTS_INTERVAL_MS: configFields.milliseconds(10_000, 'how often the ledger invariants are read from escrow'),
  CREDIT_HOLDS_CHECK_INTERVAL_MS: configFields.milliseconds(60_000, 'how often open escrow holds are checked against the ESCROW_HELD_TOO_LONG window'),
  CREDIT_FEED_POLL_MS: configFields.milliseconds(500, 'how often a feed stream looks for alerts raised by other replicas'),
};

export type CreditConfig = ReturnType<typeof loadConfig<typeof creditConfigShape>>;
