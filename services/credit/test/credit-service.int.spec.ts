// Proves the credit service starts on the skeleton against the real servers and answers grpc.health.v1 SERVING.
import { checkHealth } from '@sizhong/kit';
import { startTestService } from '@sizhong/testkit';
import { creditConfigShape } from '../src/config';
import { creditService } from '../src/credit-service';

describe('credit service', () => {
  it('starts with its own database and topic, and answers health', async () => {
    const service = await startTestService(creditService, creditConfigShape, { label: 'credit' });
    try {
      await expect(checkHealth(service.address, { deadlineMs: 5_000 })).resolves.toBe(true);
    } finally {
      await service.stop();
    }
  });
});
