/**
 * The task-dispatch service as parts for the kit's service skeleton (docs/adding-a-service.md): its
 * stores, the escrow and credit clients, the use cases, their scheduled deadlines (funding resumes,
 * settlements, auto-acceptance, lease expiry) and the gRPC service.
 */
import { type AggregateStore, grpcService, type ServiceDefinition } from '@sizhong/kit';
import { taskDispatchV1 } from '@sizhong/proto';
import { TaskContext, taskJobKinds } from './app/context';
import { Dispatch } from './app/dispatch';
import { taskDispatchServiceName } from './app/events';
import { type EscrowPort, grpcCredit, grpcEscrow } from './app/ports';
import { Tasks } from './app/tasks';
import { WorkFlows } from './app/work';
import type { TaskDispatchConfig } from './config';
import { assertTaskPolicy, type TaskPolicy } from './domain';
import { createTaskStores, type TaskStores } from './storage/stores';
import { taskDispatchServiceHandlers } from './transport/grpc/task-dispatch-service';

/** What tests and benchmarks reach in-process. */
export interface TaskDispatchUseCases {
  readonly tasks: Tasks;
  readonly dispatch: Dispatch;
  readonly work: WorkFlows;
  readonly stores: TaskStores;
  readonly policy: TaskPolicy;
  /** The escrow client (tests lose one call's answer around it). */
  readonly escrow: EscrowPort;
}

function taskPolicy(config: TaskDispatchConfig): TaskPolicy {
  const policy: TaskPolicy = {
    feeBps: config.PLATFORM_FEE_BPS,
    deadlineMinMs: config.DEADLINE_MIN_MS,
    autoAcceptMs: config.TASK_AUTO_ACCEPT_MS,
    leaseMs: config.TASK_LEASE_MS,
    resubmitWindowMs: config.TASK_RESUBMIT_WINDOW_MS,
    contestDecisionMs: config.TASK_CONTEST_DECISION_MS,
    disputeResolutionMs: config.DISPUTE_RESOLUTION_MS,
  };
  assertTaskPolicy(policy);
  return policy;
}

export const taskDispatchService: ServiceDefinition<TaskDispatchConfig, TaskDispatchUseCases> = {
  name: taskDispatchServiceName,
  databaseName: (config) => config.TASK_DISPATCH_DATABASE,
  async build({ config, clock, logger, mongo, scheduler, sagas }) {
    const stores = await createTaskStores(mongo, logger, clock);
    const escrow = grpcEscrow(config.ESCROW_GRPC_ADDRESS);
    const credit = grpcCredit(config.CREDIT_GRPC_ADDRESS);
    const policy = taskPolicy(config);
    const context = new TaskContext({ stores, escrow, credit, scheduler, clock, logger, policy, topicPrefix: config.KAFKA_TOPIC_PREFIX, retryMs: config.TASK_PAYMENT_RETRY_MS, sagas });
    const tasks = new Tasks(context);
    const dispatch = new Dispatch(context);
    const work = new WorkFlows(context, dispatch);
    const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
    scheduler
      .handle(taskJobKinds.resumeFunding, async (job) => tasks.resumeFunding(String(job.payload['taskId'])))
      .handle(taskJobKinds.closeAtDeadline, async (job) => tasks.closeAtDeadline(String(job.payload['taskId'])))
      .handle(taskJobKinds.settle, async (job) =>
        work.settle({ subject: text(job.payload['assignmentId']) ? { assignmentId: text(job.payload['assignmentId'])! } : { taskId: String(job.payload['taskId']) }, decision: text(job.payload['decision']) ?? '' }),
      )
      .handle(taskJobKinds.decideContest, async (job) => tasks.decideContest(String(job.payload['taskId'])))
      .handle(taskJobKinds.disputeOverdue, async (job) => work.flagOverdueDispute(String(job.payload['disputeId'])))
      .handle(taskJobKinds.abandonWork, async (job) =>
        work.abandon({
          ...(text(job.payload['taskId']) ? { taskId: text(job.payload['taskId'])!, milestoneIndex: Number(job.payload['milestoneIndex']) } : {}),
          ...(text(job.payload['assignmentId']) ? { assignmentId: text(job.payload['assignmentId'])! } : {}),
          rejections: Number(job.payload['rejections']),
        }),
      )
      .handle(taskJobKinds.leaseExpiry, async (job) => dispatch.expireLease(String(job.payload['assignmentId'])))
      .handle(taskJobKinds.autoAccept, async (job) =>
        work.autoAccept({
          ...(text(job.payload['taskId']) ? { taskId: text(job.payload['taskId'])!, milestoneIndex: Number(job.payload['milestoneIndex']) } : {}),
          ...(text(job.payload['assignmentId']) ? { assignmentId: text(job.payload['assignmentId'])! } : {}),
          submissionNumber: Number(job.payload['submissionNumber']),
        }),
      );
    return {
      grpc: [grpcService(taskDispatchV1.TaskDispatchServiceService, taskDispatchServiceHandlers({ tasks, dispatch, work, autoAcceptMs: policy.autoAcceptMs }))],
      outboxes: [stores.tasks, stores.assignments] as AggregateStore<unknown>[],
      stop: async () => {
        escrow.close();
        credit.close();
      },
      exposed: { tasks, dispatch, work, stores, policy, escrow },
    };
  },
};
