/** The task rules that are configuration (from main.ts), passed into the pure functions. */
import { assert } from '@sizhong/kit/domain';

export interface TaskPolicy {
  /** Platform fee on every payout to a solver (PLATFORM_FEE_BPS). */
  readonly feeBps: number;
  /** Shortest time from posting to the deadline (DEADLINE_MIN_MS). */
  readonly deadlineMinMs: number;
  /** Silence after a submission that counts as acceptance (TASK_AUTO_ACCEPT_MS). */
  readonly autoAcceptMs: number;
  /** How long a dispatch claim holds its slot before the first submission (TASK_LEASE_MS). */
  readonly leaseMs: number;
  /** A rejected piece of work not handed in again within this closes as abandoned (TASK_RESUBMIT_WINDOW_MS). */
  readonly resubmitWindowMs: number;
  /** After a contest's deadline, how long its owner has to name winners before the rule splits the prize (TASK_CONTEST_DECISION_MS). */
  readonly contestDecisionMs: number;
  /** A dispute open longer than this raises a regulator alert and shows as stuck (DISPUTE_RESOLUTION_MS). */
  readonly disputeResolutionMs: number;
}

export const defaultTaskPolicy: TaskPolicy = {
  feeBps: 500,
  deadlineMinMs: 86_400_000,
  autoAcceptMs: 14 * 86_400_000,
  leaseMs: 86_400_000,
  resubmitWindowMs: 7 * 86_400_000,
  contestDecisionMs: 14 * 86_400_000,
  disputeResolutionMs: 14 * 86_400_000,
};

export function assertTaskPolicy(policy: TaskPolicy): void {
  assert(Number.isInteger(policy.feeBps) && policy.feeBps >= 0 && policy.feeBps <= 10_000, 'feeBps within 0..10000');
  assert(policy.deadlineMinMs >= 0 && policy.autoAcceptMs > 0 && policy.leaseMs > 0 && policy.resubmitWindowMs > 0 && policy.contestDecisionMs > 0 && policy.disputeResolutionMs > 0, 'task durations positive');
}
