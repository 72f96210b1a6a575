/** The escrow service's settings, read once in main.ts. */
import { configFields, type loadConfig, serviceRuntimeShape } from '@sizhong/kit';
import { z } from 'zod';

export const escrowConfigShape = {
  ...serviceRuntimeShape({ grpcPortDefault: 50_051 }),
  ESCROW_DATABASE: z.string().regex(/^[a-z0-9_]{1,38}$/).default('sizhong_escrow').describe('MongoDB database owned by escrow'),
  PSP_WEBHOOK_SECRET: z.string().min(32).optional().describe('HMAC secret of the payment provider webhook; unset means one generated under .data/'),
  RECOVERY_INTERVAL_MS: configFields.milliseconds(10_000, 'how often transfers left between legs by a crash are completed'),
  TRANSFER_RECOVERY_AGE_MS: configFields.milliseconds(30_000, 'how old a transfer left between legs must be before recovery completes it'),
  PLATFORM_FEE_BPS: configFields.basisPoints(500, 'platform fee on collected pledges'),
  DEADLINE_MIN_MS: configFields.milliseconds(86_400_000, 'shortest allowed time from now to a campaign deadline'),
  CAMPAIGN_DURATION_MAX_MS: configFields.milliseconds(60 * 86_400_000, 'longest allowed campaign'),
  CAMPAIGN_LAST_CALL_MS: configFields.milliseconds(86_400_000, 'window before endsAt in which a cancellation may not drop a met goal'),
  CAMPAIGN_RECOVERY_INTERVAL_MS: configFields.milliseconds(10_000, 'how often campaigns past their deadline and unfinished pledge sagas are looked for'),
  CAMPAIGN_RECOVERY_AGE_MS: configFields.milliseconds(60_000, 'how long past its deadline a live campaign (and how old an unfinished pledge saga) must be before the recovery loop drives it on'),
  MILESTONE_SILENCE_MS: configFields.milliseconds(14 * 86_400_000, 'silence after a milestone is due that counts as acceptance'),
};

export type EscrowConfig = ReturnType<typeof loadConfig<typeof escrowConfigShape>>;
