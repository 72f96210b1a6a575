/**
 * Durations that configuration decides (minimum durations are configuration,
 * so tests can run a campaign that ends in seconds). Domain rules never hard-code a day.
 */
import { assert } from '@sizhong/kit/domain';

export interface CampaignPolicy {
  /** Shortest time from now (creation or launch) to `endsAt`. `DEADLINE_MIN_MS`. */
  readonly durationMinMs: number;
  /** Longest time from now (creation or launch) to `endsAt`. */
  readonly durationMaxMs: number;
  /** Window before `endsAt` in which a cancellation may not drop a met goal. `CAMPAIGN_LAST_CALL_MS`. */
  readonly lastCallMs: number;
  /** Silence after a milestone's `dueAt` that counts as backer acceptance. */
  readonly milestoneSilenceMs: number;
  /** Time after a milestone's `dueAt` after which an unreleased milestone is reported overdue. */
  readonly deliveryGraceMs: number;
  /** Latest `deliveryDate` or milestone `dueAt`, measured from `endsAt`. */
  readonly deliveryHorizonMaxMs: number;
}

const hourMs = 3_600_000;
const dayMs = 24 * hourMs;

export const defaultCampaignPolicy: CampaignPolicy = {
  durationMinMs: dayMs,
  durationMaxMs: 60 * dayMs,
  lastCallMs: dayMs,
  milestoneSilenceMs: 14 * dayMs,
  deliveryGraceMs: 7 * dayMs,
  deliveryHorizonMaxMs: 730 * dayMs,
};

/**
 * A policy is configuration validated at start; a bad one here is a programmer error. The grace
 * must end before the silence does, otherwise a milestone would be released by silence before it
 * could ever be reported overdue, and admins would get no signal to act on.
 */
export function assertCampaignPolicy(policy: CampaignPolicy): void {
  for (const [name, value] of Object.entries(policy)) {
    assert(Number.isSafeInteger(value) && value >= 0, `campaign policy ${name} must be a non-negative integer of milliseconds, got ${value}`);
  }
  assert(policy.durationMinMs > 0, 'campaign policy durationMinMs must be positive');
  assert(policy.durationMinMs <= policy.durationMaxMs, 'campaign policy durationMinMs must not exceed durationMaxMs');
  assert(policy.deliveryGraceMs < policy.milestoneSilenceMs, 'campaign policy deliveryGraceMs must be shorter than milestoneSilenceMs');
  assert(policy.deliveryHorizonMaxMs > 0, 'campaign policy deliveryHorizonMaxMs must be positive');
}
