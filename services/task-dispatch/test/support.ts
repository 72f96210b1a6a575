/** Starts escrow and task-dispatch for a test file (real servers, real gRPC) and gives clients and money helpers. */
import { createGrpcClient, type CallerIdentity, type ParticipantRole } from '@sizhong/kit';
import { taskDispatchV1 } from '@sizhong/proto';
import { startTestService, type TestService } from '@sizhong/testkit';
import { type EscrowHarness, startEscrowHarness } from '../../escrow/test/support';
import { taskDispatchConfigShape } from '../src/config';
import { taskDispatchService, type TaskDispatchUseCases } from '../src/task-dispatch-service';

export interface TaskHarness {
  readonly escrow: EscrowHarness;
  readonly service: TestService<TaskDispatchUseCases>;
  readonly client: ReturnType<typeof createGrpcClient<typeof taskDispatchV1.TaskDispatchServiceService>>;
  balance(accountId: string): Promise<bigint>;
  stop(): Promise<void>;
}

export function as(participantId: string, ...roles: ParticipantRole[]): { identity: CallerIdentity } {
  return { identity: { participantId, roles } };
}

export async function startTaskHarness(label: string, environment: Record<string, string> = {}): Promise<TaskHarness> {
  const escrow = await startEscrowHarness(`${label}-escrow`);
  const service = await startTestService(taskDispatchService, taskDispatchConfigShape, { label, environment: { ESCROW_GRPC_ADDRESS: escrow.escrow.address, DEADLINE_MIN_MS: '1000', ...environment } });
  const client = createGrpcClient(taskDispatchV1.TaskDispatchServiceService, service.address, { deadlineMs: 60_000 });
  return {
    escrow,
    service,
    client,
    async balance(accountId) {
      return (await escrow.ledger.call.getBalance({ accountId })).available?.amountMinor ?? 0n;
    },
    async stop() {
      client.close();
      await service.stop();
      await escrow.stop();
    },
  };
}

export const cny = (amountMinor: bigint) => ({ currency: 'CNY', amountMinor });
export const inDays = (days: number) => new Date(Date.now() + days * 86_400_000);
