/** What escrow's crash tests share: retries through crashes, over the testkit's killable processes. */
import { DomainError } from '@sizhong/kit';

export { CrashableMongo, seededRandom, ServiceProcess } from '@sizhong/testkit';

/** Transient failures (the service or its database is down) are retried this often before the test gives up. */
export const retryAttemptsMax = 400;
export const retryPauseMs = 100;
const transientCodes = new Set(['UNAVAILABLE', 'DEADLINE_EXCEEDED', 'INTERNAL', 'CONCURRENT_MODIFICATION']);

/** Retries an idempotent call through crashes; a domain refusal ends it. */
export async function retrying<T>(call: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await call();
    } catch (error) {
      if (!(error instanceof DomainError) || !transientCodes.has(error.code) || attempt >= retryAttemptsMax) throw error;
      await new Promise((resolve) => setTimeout(resolve, retryPauseMs));
    }
  }
}
