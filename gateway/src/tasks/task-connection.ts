/** The gateway's client of the task-dispatch service (a DownstreamConnection): 503 without TASK_DISPATCH_GRPC_ADDRESS. */
import { taskDispatchV1 } from '@sizhong/proto';
import { DownstreamConnection } from '../downstream/downstream-connection';

const taskDefinitions = { tasks: taskDispatchV1.TaskDispatchServiceService } as const;

export type TaskConnection = DownstreamConnection<typeof taskDefinitions>;

export function connectTaskDispatch(address: string | undefined): TaskConnection {
  return DownstreamConnection.connect('task-dispatch', address, taskDefinitions);
}
