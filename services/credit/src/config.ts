/** The credit service's settings, read once in main.ts (each has a default and a description). */
import { type loadConfig, serviceRuntimeShape } from '@sizhong/kit';
import { z } from 'zod';

export const creditConfigShape = {
  ...serviceRuntimeShape({ grpcPortDefault: 50054 }),
  CREDIT_DATABASE: z.string().regex(/^[a-z0-9_]{1,38}$/).default('sizhong_credit').describe('MongoDB database owned by credit'),
  CREDIT_CONSUMER_GENERATION: z.coerce.number().int().min(1).max(1_000_000).default(1).describe('names the consumer groups (`…credit.scores-g<n>`); a new generation with an empty CREDIT_DATABASE rebuilds everything from the beginning of the topics'),
};

export type CreditConfig = ReturnType<typeof loadConfig<typeof creditConfigShape>>;
