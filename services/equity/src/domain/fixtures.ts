/** Rounds and commitments for the domain's unit tests. */
import { type Money, money } from '@sizhong/kit/domain';
import { defaultEquityPolicy, type EquityPolicy } from './policy';
import { createRound, type CreateRoundInput, type Round } from './round';

export const usd = (amountMinor: bigint | number): Money => money('USD', BigInt(amountMinor));
export const fixtureNow = new Date('2026-11-01T00:00:00Z');
export const dayMs = 86_400_000;

export function openRound(overrides: Partial<CreateRoundInput> = {}, policy: EquityPolicy = defaultEquityPolicy): Round {
  return createRound(
    {
      id: 'rd_1',
      issuerId: 'pt_issuer',
      title: 'Series Seed',
      target: usd(1_000_000),
      maximum: usd(2_000_000),
      pricePerShare: usd(100),
      endsAt: new Date(fixtureNow.getTime() + 10 * dayMs),
      leadCarryBps: 2_000,
      ...overrides,
    },
    policy,
    fixtureNow,
  ).round;
}
