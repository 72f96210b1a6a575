/** Jest's global teardown: stops only the servers that global-setup.ts started in this run. */
import type { Infrastructure } from '../infra';
import { infrastructureHandleKey } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const infrastructure = (globalThis as Record<string, unknown>)[infrastructureHandleKey] as Infrastructure | undefined;
  await infrastructure?.stop();
}
