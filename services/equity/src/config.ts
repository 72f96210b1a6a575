/** The equity service's settings, read once in main.ts (each has a default and a description). */
import { type loadConfig, serviceRuntimeShape } from '@sizhong/kit';
import { z } from 'zod';

export const equityConfigShape = {
  ...serviceRuntimeShape({ grpcPortDefault: 50053 }),
  EQUITY_DATABASE: z.string().regex(/^[a-z0-9_]{1,38}$/).default('sizhong_equity').describe('MongoDB database owned by equity'),
};

export type EquityConfig = ReturnType<typeof loadConfig<typeof equityConfigShape>>;
