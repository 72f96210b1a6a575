// Proves work on one key runs one at a time in arrival order, other keys run alongside, and nothing leaks.
import { KeyedMutex } from './keyed-mutex';

const pause = (milliseconds: number) => new Promise((resolve) => setTimeout(resolve, milliseconds));

describe('KeyedMutex', () => {
  it('serialises work per key, in order, and forgets idle keys', async () => {
    const mutex = new KeyedMutex();
    const log: string[] = [];
    let running = 0;
    let maximum = 0;
    const work = (label: string) => async () => {
      running += 1;
      maximum = Math.max(maximum, running);
      log.push(`start ${label}`);
      await pause(5);
      log.push(`end ${label}`);
      running -= 1;
      return label;
    };
    const results = await Promise.all(['a1', 'a2', 'a3'].map((label) => mutex.run('a', work(label))));
    expect(results).toEqual(['a1', 'a2', 'a3']);
    expect(maximum).toBe(1);
    expect(log).toEqual(['start a1', 'end a1', 'start a2', 'end a2', 'start a3', 'end a3']);
    expect(mutex.size).toBe(0);
  });

  it('lets different keys overlap and survives failures', async () => {
    const mutex = new KeyedMutex();
    let running = 0;
    let maximum = 0;
    const work = async () => {
      running += 1;
      maximum = Math.max(maximum, running);
      await pause(5);
      running -= 1;
    };
    await Promise.all([mutex.run('a', work), mutex.run('b', work)]);
    expect(maximum).toBe(2);
    await expect(mutex.run('a', async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(mutex.run('a', async () => 'after')).resolves.toBe('after');
    expect(mutex.size).toBe(0);
  });
});
