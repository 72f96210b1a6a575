/** The task-dispatch service's settings, read once in main.ts (each has a default and a description). */
import { configFields, type loadConfig, serviceRuntimeShape } from '@sizhong/kit';
import { z } from 'zod';

const grpcAddress = (service: string) => configFields.grpcAddress(`gRPC address (host:port, or host:port,host:port… for its replicas) of the ${service} service`);

export const taskDispatchConfigShape = {
  ...serviceRuntimeShape({ grpcPortDefault: 50052 }),
  TASK_DISPATCH_DATABASE: z.string().regex(/^[a-z0-9_]{1,38}$/).default('sizhong_task_dispatch').describe('MongoDB database owned by task-dispatch'),
  ESCROW_GRPC_ADDRESS: grpcAddress('escrow').describe('gRPC address (host:port, or its replicas comma separated) of escrow, which holds every task’s money; unset means commands that move money answer UNAVAILABLE'),
  CREDIT_GRPC_ADDRESS: grpcAddress('credit').describe('gRPC address (host:port, or its replicas comma separated) of credit; unset means tasks with a minimum credit score refuse solvers with UNAVAILABLE'),
  PLATFORM_FEE_BPS: configFields.basisPoints(500, 'platform fee on every payout to a solver'),
  DEADLINE_MIN_MS: configFields.milliseconds(86_400_000, 'shortest allowed time from now to a task deadline'),
  TASK_AUTO_ACCEPT_MS: configFields.milliseconds(1_209_600_000, 'silence after a submission that counts as acceptance'),
  TASK_LEASE_MS: configFields.milliseconds(86_400_000, 'how long a dispatch claim holds its slot before the first submission'),
  TASK_RESUBMIT_WINDOW_MS: configFields.milliseconds(604_800_000, 'after a rejection, how long the solver has to hand in again (or dispute) before the work closes as abandoned and its money returns'),
  TASK_CONTEST_DECISION_MS: configFields.milliseconds(1_209_600_000, 'after a contest’s deadline, how long its owner has to name winners before the prize is split equally among the entries (refunded with none)'),
  DISPUTE_RESOLUTION_MS: configFields.milliseconds(1_209_600_000, 'how long a dispute may stay unresolved before it raises a regulator alert and shows as stuck (its money stays held)'),
  TASK_PAYMENT_RETRY_MS: configFields.milliseconds(30_000, 'when a payment, funding or lease step a crash or an unreachable escrow interrupted is tried again'),
};

export type TaskDispatchConfig = ReturnType<typeof loadConfig<typeof taskDispatchConfigShape>>;
