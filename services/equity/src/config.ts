/** The equity service's settings, read once in main.ts (each has a default and a description). */
import { configFields, type loadConfig, serviceRuntimeShape } from '@sizhong/kit';
import { z } from 'zod';
import { regulationCrowdfundingLimits } from './domain/policy';

const grpcAddress = (service: string) => configFields.grpcAddress(`gRPC address (host:port, or host:port,host:port… for its replicas) of the ${service} service; unset means the operations that need it answer UNAVAILABLE`);

const minorUnits = (defaultValue: bigint, description: string) =>
  z.coerce.bigint().min(0n).max(1_000_000_000_000n).default(defaultValue).describe(`${description} (minor units of the round's currency)`);

export const equityConfigShape = {
  ...serviceRuntimeShape({ grpcPortDefault: 50053 }),
  EQUITY_DATABASE: z.string().regex(/^[a-z0-9_]{1,38}$/).default('sizhong_equity').describe('MongoDB database owned by equity'),
  ESCROW_GRPC_ADDRESS: grpcAddress('escrow'),
  CREDIT_GRPC_ADDRESS: grpcAddress('credit'),
  EQUITY_PROFILE_KEY: z
    .string()
    .min(32)
    .optional()
    .describe('secret from which the AES-256-GCM key of investor profiles (income, net worth) is derived; unset means one generated under .data/'),
  PLATFORM_FEE_BPS: configFields.basisPoints(500, 'platform fee on the money a round raises'),
  DEADLINE_MIN_MS: configFields.milliseconds(86_400_000, 'shortest allowed time from now to a round deadline'),
  EQUITY_ROUND_DURATION_MAX_MS: configFields.milliseconds(90 * 86_400_000, 'longest allowed time from now to a round deadline'),
  EQUITY_COOLING_OFF_MS: configFields.milliseconds(172_800_000, 'commitments can no longer be cancelled this long before endsAt'),
  EQUITY_OVERSUBSCRIPTION_CAP_BPS: z.coerce.number().int().min(10_000).max(100_000).default(15_000).describe('commitments accepted up to this share of a round\'s maximum (basis points)'),
  EQUITY_LEAD_SCORE_MIN: z.coerce.number().int().min(350).max(950).default(650).describe('credit score (role investor) a lead investor needs'),
  EQUITY_INVESTORS_MAX: z.coerce.number().int().min(1).max(2_000).default(200).describe('investors per round when the issuer names no other number'),
  EQUITY_ESCROW_DEADLINE_MS: configFields.milliseconds(15_000, 'how long equity waits for one escrow call; past it the outcome is unknown and the saga is left to recovery'),
  EQUITY_CLOSE_RECOVERY_INTERVAL_MS: configFields.milliseconds(60_000, 'how often rounds whose close the scheduler gave up on (or a crash interrupted) are looked for'),
  EQUITY_LIMIT_FLOOR_MINOR: minorUnits(regulationCrowdfundingLimits.limitFloorMinor, 'the 12-month limit of a non-accredited investor is at least this'),
  EQUITY_LIMIT_THRESHOLD_MINOR: minorUnits(regulationCrowdfundingLimits.limitThresholdMinor, 'income or net worth below this: 5% (else 10%) of the greater of them'),
  EQUITY_LIMIT_CAP_MINOR: minorUnits(regulationCrowdfundingLimits.limitCapMinor, 'the 12-month limit of a non-accredited investor is at most this'),
};

export type EquityConfig = ReturnType<typeof loadConfig<typeof equityConfigShape>>;
