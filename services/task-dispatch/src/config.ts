/** The task-dispatch service's settings, read once in main.ts (each has a default and a description). */
import { type loadConfig, serviceRuntimeShape } from '@sizhong/kit';
import { z } from 'zod';

export const taskDispatchConfigShape = {
  ...serviceRuntimeShape({ grpcPortDefault: 50052 }),
  TASK_DISPATCH_DATABASE: z.string().regex(/^[a-z0-9_]{1,38}$/).default('sizhong_task_dispatch').describe('MongoDB database owned by task-dispatch'),
};

export type TaskDispatchConfig = ReturnType<typeof loadConfig<typeof taskDispatchConfigShape>>;
