// Proves the task-dispatch service starts on the skeleton against the real servers and answers grpc.health.v1 SERVING.
import { checkHealth } from '@sizhong/kit';
import { startTestService } from '@sizhong/testkit';
import { taskDispatchConfigShape } from '../src/config';
import { taskDispatchService } from '../src/task-dispatch-service';

describe('task-dispatch service', () => {
  it('starts with its own database and topic, and answers health', async () => {
    const service = await startTestService(taskDispatchService, taskDispatchConfigShape, { label: 'task-dispatch' });
    try {
      await expect(checkHealth(service.address, { deadlineMs: 5_000 })).resolves.toBe(true);
    } finally {
      await service.stop();
    }
  });
});
