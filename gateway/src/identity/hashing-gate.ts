/**
 * Password hashing is the gateway's most expensive work: scrypt at OWASP's cost takes about a
 * quarter of a second of one core and 32 MiB. Unbounded, a crowd of sign-ins queues in libuv's pool
 * and every one of them waits (30 at once took ~12 s each on two cores). The gate runs at most
 * `concurrency` hashes at once (one per core) with at most `queueMax` waiting; past that a sign-in
 * or sign-up is answered at once with 503 UNAVAILABLE and `Retry-After`, so a client knows to come
 * back, and those admitted finish in bounded time.
 */
import { availableParallelism } from 'node:os';
import { HttpRefusal } from '../http/problem';

/** Hashes waiting for a core, beyond those running; past it, 503. */
export const passwordHashQueueMax = 32;
/** What `Retry-After` tells a refused client (seconds): about the time the queue takes to drain. */
export const passwordHashRetryAfterSeconds = 2;

export class HashingGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(
    readonly concurrency: number = availableParallelism(),
    readonly queueMax: number = passwordHashQueueMax,
  ) {}

  /** Runs `hash` when a core is free; refuses at once when the queue is full. */
  async run<T>(hash: () => Promise<T>): Promise<T> {
    if (this.running >= this.concurrency) {
      if (this.waiting.length >= this.queueMax) {
        throw new HttpRefusal('UNAVAILABLE', 'too many sign-ins at once; try again shortly', [], { 'retry-after': String(passwordHashRetryAfterSeconds) });
      }
      await new Promise<void>((resolve) => this.waiting.push(resolve));
    } else {
      this.running += 1;
    }
    try {
      return await hash();
    } finally {
      // Hand the core to the next in line (it keeps the count), or give it back.
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    }
  }

  /** Hashes running and waiting now (for metrics and tests). */
  get load(): { readonly running: number; readonly waiting: number } {
    return { running: this.running, waiting: this.waiting.length };
  }
}
