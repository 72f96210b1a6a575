/**
 * The equity rules that configuration decides (docs/equity.md): durations, thresholds and the
 * Regulation Crowdfunding figures of the investment limit. Domain rules never hard-code them.
 */
import { assert } from '@sizhong/kit/domain';

export interface EquityPolicy {
  /** Shortest time from now to a round's `endsAt` (`DEADLINE_MIN_MS`). */
  readonly durationMinMs: number;
  /** Longest time from now to a round's `endsAt`. */
  readonly durationMaxMs: number;
  /** Commitments can no longer be cancelled this long before `endsAt` (`EQUITY_COOLING_OFF_MS`). */
  readonly coolingOffMs: number;
  /** Commitments are accepted up to this share of the maximum (`EQUITY_OVERSUBSCRIPTION_CAP_BPS`). */
  readonly oversubscriptionCapBps: number;
  /** Credit score (role investor) a lead needs (`EQUITY_LEAD_SCORE_MIN`). */
  readonly leadScoreMin: number;
  /** Investors per round when the issuer names none (`EQUITY_INVESTORS_MAX`). */
  readonly investorsMaxDefault: number;
  /** Platform fee on the money raised (`PLATFORM_FEE_BPS`). */
  readonly feeBps: number;
  /** The investment limit's figures, in minor units of the round's currency. */
  readonly limitFloorMinor: bigint;
  readonly limitThresholdMinor: bigint;
  readonly limitCapMinor: bigint;
}

const dayMs = 86_400_000;

/** Regulation Crowdfunding (17 CFR 227.100(a)(2), figures as adjusted in 2022): $2 500, $124 000, $124 000, in cents. */
export const regulationCrowdfundingLimits = {
  limitFloorMinor: 250_000n,
  limitThresholdMinor: 12_400_000n,
  limitCapMinor: 12_400_000n,
} as const;

export const defaultEquityPolicy: EquityPolicy = {
  durationMinMs: dayMs,
  durationMaxMs: 90 * dayMs,
  coolingOffMs: 2 * dayMs,
  oversubscriptionCapBps: 15_000,
  leadScoreMin: 650,
  investorsMaxDefault: 200,
  feeBps: 500,
  ...regulationCrowdfundingLimits,
};

/** The most investors a round may admit (what the issuer may ask for; a closed round's allocation is stored in one document). */
export const investorsPerRoundMax = 2_000;
/** Lead share, carry: basis points. */
export const leadMinBpsDefault = 500;
export const basisPointsMax = 10_000;
/** Commitments one investor may hold pending in one round. */
export const commitmentsPerInvestorPerRoundMax = 10;
/** Commitments one investor's 12-month usage may list (older ones drop out of the window). */
export const usageEntriesMax = 500;
/** The limit's window: commitments of the last 365 days count. */
export const limitWindowMs = 365 * dayMs;
/** Largest amount anything here takes (as escrow): 10^12 minor units. */
export const amountMinorMax = 1_000_000_000_000n;
export const titleLengthMax = 120;

export function assertEquityPolicy(policy: EquityPolicy): void {
  for (const name of ['durationMinMs', 'durationMaxMs', 'coolingOffMs', 'oversubscriptionCapBps', 'leadScoreMin', 'investorsMaxDefault', 'feeBps'] as const) {
    assert(Number.isSafeInteger(policy[name]) && policy[name] >= 0, `equity policy ${name} must be a non-negative integer, got ${policy[name]}`);
  }
  assert(policy.durationMinMs > 0 && policy.durationMinMs <= policy.durationMaxMs, 'equity policy: 0 < durationMinMs <= durationMaxMs');
  assert(policy.oversubscriptionCapBps >= basisPointsMax, 'equity policy: the oversubscription cap is at least 100% of the maximum');
  assert(policy.investorsMaxDefault >= 1 && policy.investorsMaxDefault <= investorsPerRoundMax, `equity policy: investorsMaxDefault within 1..${investorsPerRoundMax}`);
  assert(policy.feeBps <= basisPointsMax, 'equity policy: feeBps within 0..10000');
  assert(policy.limitFloorMinor >= 0n && policy.limitThresholdMinor >= 0n && policy.limitCapMinor >= policy.limitFloorMinor, 'equity policy: limit figures non-negative, cap at least the floor');
}

/** The currencies wallets hold (escrow's platform currencies): rounds and profiles use one of them. */
export const platformCurrencies = ['CNY', 'USD'] as const;
