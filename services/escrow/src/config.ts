/** The escrow service's settings, read once in main.ts (API.md lists the shared ones). */
import { configFields, type loadConfig, serviceConfigShape } from '@sizhong/kit';
import { z } from 'zod';

export const escrowConfigShape = {
  ...serviceConfigShape,
  GRPC_HOST: z.string().default('127.0.0.1').describe('interface the gRPC server binds'),
  GRPC_PORT: configFields.port(50_051, 'gRPC port (0 picks a free one)'),
  ESCROW_DATABASE: z.string().regex(/^[a-z0-9_]{1,38}$/).default('sizhong_escrow').describe('MongoDB database owned by escrow'),
  KAFKA_TOPIC_PREFIX: z.string().regex(/^[a-z0-9.-]{0,80}$/).default('').describe('prefix of every topic name (tests isolate themselves with it)'),
  PSP_WEBHOOK_SECRET: z.string().min(32).optional().describe('HMAC secret of the payment provider webhook; unset means one generated under .data/'),
  SCHEDULER_INTERVAL_MS: configFields.milliseconds(1_000, 'how often due deadlines are looked for'),
  SCHEDULER_LEASE_MS: configFields.milliseconds(30_000, 'how long a claimed deadline job is reserved for the worker that claimed it'),
  RECOVERY_INTERVAL_MS: configFields.milliseconds(10_000, 'how often transfers left between legs by a crash are completed'),
  TRANSFER_RECOVERY_AGE_MS: configFields.milliseconds(30_000, 'how old a transfer left between legs must be before recovery completes it'),
  PLATFORM_FEE_BPS: configFields.basisPoints(500, 'platform fee on collected pledges'),
  DEADLINE_MIN_MS: configFields.milliseconds(86_400_000, 'shortest allowed time from now to a campaign deadline'),
  CAMPAIGN_DURATION_MAX_MS: configFields.milliseconds(60 * 86_400_000, 'longest allowed campaign'),
  CAMPAIGN_LAST_CALL_MS: configFields.milliseconds(86_400_000, 'window before endsAt in which a cancellation may not drop a met goal'),
  MILESTONE_SILENCE_MS: configFields.milliseconds(14 * 86_400_000, 'silence after a milestone is due that counts as acceptance'),
};

export type EscrowConfig = ReturnType<typeof loadConfig<typeof escrowConfigShape>>;
