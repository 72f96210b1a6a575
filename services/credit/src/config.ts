/** The credit service's settings, read once in main.ts (each has a default and a description). */
import { type loadConfig, serviceRuntimeShape } from '@sizhong/kit';
import { z } from 'zod';

export const creditConfigShape = {
  ...serviceRuntimeShape({ grpcPortDefault: 50054 }),
  CREDIT_DATABASE: z.string().regex(/^[a-z0-9_]{1,38}$/).default('sizhong_credit').describe('MongoDB database owned by credit'),
};

export type CreditConfig = ReturnType<typeof loadConfig<typeof creditConfigShape>>;
