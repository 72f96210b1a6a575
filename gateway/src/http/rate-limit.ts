/**
 * Token buckets in memory, one per key (a client IP or a participant id). A bucket holds up to
 * `burst` tokens and refills at `perSecond`; a request takes one token or is refused with the
 * time until one is back. Per replica: N replicas allow N times the rate, which is the price of
 * needing no shared store (docs/gateway.md).
 */
import type { Clock } from '@sizhong/kit';

/** Buckets kept per limiter; past this, the least recently used are dropped. */
export const rateLimitBucketsMax = 100_000;

export interface TokenBucketSettings {
  readonly burst: number;
  readonly perSecond: number;
}

export type TakeOutcome = { readonly allowed: true } | { readonly allowed: false; readonly retryAfterSeconds: number };

interface Bucket {
  tokens: number;
  updatedAtMs: number;
}

export class TokenBucketLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly settings: TokenBucketSettings,
    private readonly clock: Clock,
    private readonly bucketsMax = rateLimitBucketsMax,
  ) {
    if (!(settings.burst >= 1 && settings.perSecond > 0)) throw new Error('a token bucket needs burst >= 1 and perSecond > 0');
  }

  take(key: string): TakeOutcome {
    const nowMs = this.clock.now().getTime();
    const bucket = this.buckets.get(key) ?? { tokens: this.settings.burst, updatedAtMs: nowMs };
    this.refill(bucket, nowMs);
    // Re-inserting keeps the map in least-recently-used order for eviction.
    this.buckets.delete(key);
    this.buckets.set(key, bucket);
    if (this.buckets.size > this.bucketsMax) this.evict();
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.max(1, Math.ceil((1 - bucket.tokens) / this.settings.perSecond)) };
  }

  get size(): number {
    return this.buckets.size;
  }

  private refill(bucket: Bucket, nowMs: number): void {
    const elapsedMs = Math.max(0, nowMs - bucket.updatedAtMs);
    bucket.tokens = Math.min(this.settings.burst, bucket.tokens + (elapsedMs / 1_000) * this.settings.perSecond);
    bucket.updatedAtMs = nowMs;
  }

  /**
   * Drops the least recently used buckets. Under a flood of new keys that may drop a bucket that
   * was not yet full, handing its key a fresh burst; the bound on memory matters more.
   */
  private evict(): void {
    for (const key of this.buckets.keys()) {
      if (this.buckets.size <= this.bucketsMax) return;
      this.buckets.delete(key);
    }
  }
}
