/** Starts escrow and task-dispatch for a test file (real servers, real gRPC) and gives clients and money helpers. */
import { type Clock, connectMongo, createGrpcClient, type CallerIdentity, type JobDocument, type ParticipantRole } from '@sizhong/kit';
import { taskDispatchV1 } from '@sizhong/proto';
import { startTestService, testInfrastructure, type TestService } from '@sizhong/testkit';
import { type EscrowHarness, startEscrowHarness } from '../../escrow/test/support';
import { taskDispatchConfigShape } from '../src/config';
import { taskDispatchService, type TaskDispatchUseCases } from '../src/task-dispatch-service';
import { TcpProxy } from './tcp-proxy';

export interface TaskHarness {
  readonly escrow: EscrowHarness;
  readonly service: TestService<TaskDispatchUseCases>;
  readonly client: ReturnType<typeof createGrpcClient<typeof taskDispatchV1.TaskDispatchServiceService>>;
  /** Only with `escrowBehindProxy`: the proxy task-dispatch reaches escrow through (close it to take escrow down). */
  readonly escrowProxy: TcpProxy | undefined;
  balance(accountId: string): Promise<bigint>;
  /** A scheduled job of task-dispatch as stored (tests wait for one to have run). */
  job(id: string): Promise<JobDocument | null>;
  stop(): Promise<void>;
}

export function as(participantId: string, ...roles: ParticipantRole[]): { identity: CallerIdentity } {
  return { identity: { participantId, roles } };
}

export async function startTaskHarness(label: string, environment: Record<string, string> = {}, options: { escrowBehindProxy?: boolean; clock?: Clock } = {}): Promise<TaskHarness> {
  const escrow = await startEscrowHarness(`${label}-escrow`);
  const escrowProxy = options.escrowBehindProxy ? await TcpProxy.start(escrow.escrow.address) : undefined;
  const escrowAddress = escrowProxy?.address ?? escrow.escrow.address;
  const service = await startTestService(taskDispatchService, taskDispatchConfigShape, { label, environment: { ESCROW_GRPC_ADDRESS: escrowAddress, DEADLINE_MIN_MS: '1000', ...environment }, ...(options.clock ? { clock: options.clock } : {}) });
  const client = createGrpcClient(taskDispatchV1.TaskDispatchServiceService, service.address, { deadlineMs: 60_000 });
  const mongo = await connectMongo(testInfrastructure().mongoUrl, service.database);
  return {
    escrow,
    service,
    client,
    escrowProxy,
    async balance(accountId) {
      return (await escrow.ledger.call.getBalance({ accountId })).available?.amountMinor ?? 0n;
    },
    async job(id) {
      return mongo.collection<JobDocument>('task-dispatch_jobs').findOne({ _id: id });
    },
    async stop() {
      client.close();
      await mongo.close();
      await service.stop();
      await escrowProxy?.close();
      await escrow.stop();
    },
  };
}

export const cny = (amountMinor: bigint) => ({ currency: 'CNY', amountMinor });
export const inDays = (days: number) => new Date(Date.now() + days * 86_400_000);
