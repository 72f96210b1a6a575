/** Time enters through a Clock so that domain code and tests never read the wall clock. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

/**
 * The system clock shifted by `skewMs` (positive: ahead). Only the fault-injection run sets a skew
 * (CLOCK_SKEW_MS), to show that replicas whose clocks disagree stay correct: deadlines are fenced by
 * state, never by one replica's idea of the time.
 */
export function skewedClock(skewMs: number): Clock {
  return skewMs === 0 ? systemClock : { now: () => new Date(Date.now() + skewMs) };
}

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  private current: number;

  constructor(start: Date | string = '2026-01-01T00:00:00.000Z') {
    this.current = new Date(start).getTime();
  }

  now(): Date {
    return new Date(this.current);
  }

  advance(milliseconds: number): void {
    this.current += milliseconds;
  }

  set(to: Date | string): void {
    this.current = new Date(to).getTime();
  }
}
