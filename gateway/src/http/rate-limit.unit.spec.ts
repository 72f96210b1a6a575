// Proves the token bucket arithmetic: burst, refill rate, Retry-After rounding, separate keys, and the bound on buckets kept.
import { ManualClock } from '@sizhong/kit';
import { TokenBucketLimiter } from './rate-limit';

describe('TokenBucketLimiter', () => {
  it('allows the burst, then refuses with the seconds until the next token', () => {
    const clock = new ManualClock();
    const limiter = new TokenBucketLimiter({ burst: 2, perSecond: 0.5 }, clock);
    expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('a')).toEqual({ allowed: true });
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 2 });
    clock.advance(1_000);
    expect(limiter.take('a')).toEqual({ allowed: false, retryAfterSeconds: 1 });
    clock.advance(1_000);
    expect(limiter.take('a')).toEqual({ allowed: true });
  });

  it('never refills past the burst', () => {
    const clock = new ManualClock();
    const limiter = new TokenBucketLimiter({ burst: 3, perSecond: 10 }, clock);
    clock.advance(3_600_000);
    for (let index = 0; index < 3; index += 1) expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('keeps keys apart', () => {
    const limiter = new TokenBucketLimiter({ burst: 1, perSecond: 1 }, new ManualClock());
    expect(limiter.take('a').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
    expect(limiter.take('b').allowed).toBe(true);
  });

  it('keeps at most bucketsMax buckets, dropping the least recently used', () => {
    const limiter = new TokenBucketLimiter({ burst: 1, perSecond: 1 }, new ManualClock(), 3);
    for (const key of ['a', 'b', 'c']) limiter.take(key);
    limiter.take('a');
    limiter.take('d');
    expect(limiter.size).toBe(3);
    // 'b' was least recently used: it was dropped and starts full again; 'a' was kept and is empty.
    expect(limiter.take('b').allowed).toBe(true);
    expect(limiter.take('a').allowed).toBe(false);
  });

  it('refuses nonsensical settings', () => {
    expect(() => new TokenBucketLimiter({ burst: 0, perSecond: 1 }, new ManualClock())).toThrow();
    expect(() => new TokenBucketLimiter({ burst: 1, perSecond: 0 }, new ManualClock())).toThrow();
  });
});
