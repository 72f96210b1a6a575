// Proves that `up` on servers that already run is harmless and quick, and that status reports them running.
import { discardLog } from './progress';
import { LocalKafka } from './local-kafka';
import { LocalMongo } from './local-mongo';
import type { LocalServerStarted } from './local-server';

/** A reuse only reads a pid file and runs one readiness check; anything slower means it restarted. */
const reuseDurationMaxMs = 3_000;

describe.each([
  ['Kafka', () => new LocalKafka({ log: discardLog })],
  ['mongo-java-server', () => new LocalMongo({ log: discardLog })],
])('the shared local %s', (_name, createManager) => {
  let first: LocalServerStarted;

  beforeAll(async () => {
    // Given the server of this clone is up (global setup started it, or it already ran).
    first = await createManager().up();
  });

  afterAll(async () => {
    // Only when this file had to start it (the run uses servers from the environment) does it stop it.
    if (first.startedHere) await createManager().down();
  });

  it('is reused by a second up, quickly and without a new process', async () => {
    const started = Date.now();
    const second = await createManager().up();
    expect(second.startedHere).toBe(false);
    expect(second.pid).toBe(first.pid);
    expect(Date.now() - started).toBeLessThan(reuseDurationMaxMs);
  });

  it('tolerates concurrent ups, which all reuse the same process', async () => {
    const results = await Promise.all([createManager().up(), createManager().up(), createManager().up()]);
    expect(results.map((result) => result.startedHere)).toEqual([false, false, false]);
    expect(new Set(results.map((result) => result.pid))).toEqual(new Set([first.pid]));
  });

  it('is reported running with its pid and address', async () => {
    const status = await createManager().status();
    expect(status).toEqual({ state: 'running', name: first.name, pid: first.pid, address: expect.stringContaining(first.address) });
  });
});
