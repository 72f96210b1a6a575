// Proves the equity service starts on the skeleton against the real servers and answers grpc.health.v1 SERVING.
import { checkHealth } from '@sizhong/kit';
import { startTestService } from '@sizhong/testkit';
import { equityConfigShape } from '../src/config';
import { equityService } from '../src/equity-service';

describe('equity service', () => {
  it('starts with its own database and topic, and answers health', async () => {
    const service = await startTestService(equityService, equityConfigShape, { label: 'equity' });
    try {
      await expect(checkHealth(service.address, { deadlineMs: 5_000 })).resolves.toBe(true);
    } finally {
      await service.stop();
    }
  });
});
