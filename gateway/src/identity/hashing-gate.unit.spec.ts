// Proves the password-hashing gate: at most `concurrency` hashes at once, at most `queueMax` waiting in order, the rest refused at once with 503 and Retry-After; a failed hash frees its place.
import { HashingGate, passwordHashQueueMax, passwordHashRetryAfterSeconds } from './hashing-gate';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (error: Error) => void } {
  let resolve!: () => void;
  let reject!: (error: Error) => void;
  const promise = new Promise<void>((done, fail) => {
    resolve = done;
    reject = fail;
  });
  return { promise, resolve, reject };
}

describe('HashingGate', () => {
  it('runs at most `concurrency` at once, queues up to `queueMax` in order, and refuses the next at once', async () => {
    const gate = new HashingGate(2, 3);
    const hashes = Array.from({ length: 5 }, () => deferred());
    const started: number[] = [];
    const runs = hashes.map((hash, index) =>
      gate.run(async () => {
        started.push(index);
        await hash.promise;
        return index;
      }),
    );
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1]);
    expect(gate.load).toEqual({ running: 2, waiting: 3 });
    await expect(gate.run(async () => 'too many')).rejects.toMatchObject({ code: 'UNAVAILABLE', headers: { 'retry-after': String(passwordHashRetryAfterSeconds) } });
    hashes[0]!.resolve();
    await runs[0];
    await new Promise((resolve) => setImmediate(resolve));
    expect(started).toEqual([0, 1, 2]);
    hashes[1]!.reject(new Error('scrypt failed'));
    await expect(runs[1]).rejects.toThrow('scrypt failed');
    for (const hash of hashes.slice(2)) hash.resolve();
    expect(await Promise.all(runs.slice(2))).toEqual([2, 3, 4]);
    expect(gate.load).toEqual({ running: 0, waiting: 0 });
  });

  it('defaults to one hash per core and a queue of passwordHashQueueMax', () => {
    const gate = new HashingGate();
    expect(gate.concurrency).toBeGreaterThanOrEqual(1);
    expect(gate.queueMax).toBe(passwordHashQueueMax);
  });
});
