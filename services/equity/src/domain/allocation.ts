/**
 * Allocation at close: whole shares only. The lead gets its commitment in full first (up to the
 * maximum); the followers share what is left of the maximum, in full when it suffices, otherwise
 * pro rata to the shares they asked for, the leftover whole shares going by largest remainder with
 * ties to the earlier commitment (the one split function, fed in commitment-time order). Every
 * investor pays exactly shares × price; the rest of their commitment returns to them.
 */
import { assert, split } from '@sizhong/kit/domain';

export interface AllocationRequest {
  readonly commitmentId: string;
  readonly investorId: string;
  readonly role: 'lead' | 'follower';
  readonly amountMinor: bigint;
  readonly placedAt: Date;
}

export interface AllocationLine {
  readonly commitmentId: string;
  readonly investorId: string;
  readonly role: 'lead' | 'follower';
  readonly committedMinor: bigint;
  readonly shares: bigint;
  /** shares × price: what is posted to the round's escrow. */
  readonly amountMinor: bigint;
  /** committed − amount: what returns to the investor. */
  readonly refundedMinor: bigint;
}

export interface AllocationResult {
  readonly lines: readonly AllocationLine[];
  readonly sharesIssued: bigint;
  readonly raisedMinor: bigint;
}

function byCommitmentTime(left: AllocationRequest, right: AllocationRequest): number {
  const difference = left.placedAt.getTime() - right.placedAt.getTime();
  if (difference !== 0) return difference;
  return left.commitmentId < right.commitmentId ? -1 : left.commitmentId > right.commitmentId ? 1 : 0;
}

export function allocate(requests: readonly AllocationRequest[], pricePerShareMinor: bigint, maximumMinor: bigint): AllocationResult {
  assert(pricePerShareMinor > 0n, 'price per share is positive');
  const sharesMax = maximumMinor / pricePerShareMinor;
  const leads = requests.filter((request) => request.role === 'lead');
  assert(leads.length <= 1, 'at most one lead commitment');
  for (const request of requests) assert(request.amountMinor > 0n && request.amountMinor % pricePerShareMinor === 0n, `commitment ${request.commitmentId} is whole shares`);

  const sharesBy = new Map<string, bigint>();
  let left = sharesMax;
  const lead = leads[0];
  if (lead) {
    const asked = lead.amountMinor / pricePerShareMinor;
    const given = asked < left ? asked : left;
    sharesBy.set(lead.commitmentId, given);
    left -= given;
  }
  const followers = requests.filter((request) => request.role === 'follower').sort(byCommitmentTime);
  const asked = followers.map((follower) => follower.amountMinor / pricePerShareMinor);
  const askedTotal = asked.reduce((sum, shares) => sum + shares, 0n);
  if (followers.length > 0) {
    const parts = askedTotal <= left ? asked : left === 0n ? asked.map(() => 0n) : split(left, asked);
    followers.forEach((follower, index) => sharesBy.set(follower.commitmentId, parts[index]!));
  }

  const ordered = lead ? [lead, ...followers] : followers;
  const lines = ordered.map((request) => {
    const shares = sharesBy.get(request.commitmentId)!;
    const amountMinor = shares * pricePerShareMinor;
    assert(amountMinor <= request.amountMinor, 'an allocation never exceeds its commitment');
    return { commitmentId: request.commitmentId, investorId: request.investorId, role: request.role, committedMinor: request.amountMinor, shares, amountMinor, refundedMinor: request.amountMinor - amountMinor };
  });
  const sharesIssued = lines.reduce((sum, line) => sum + line.shares, 0n);
  assert(sharesIssued <= sharesMax, 'no more shares than the maximum allows');
  return { lines, sharesIssued, raisedMinor: sharesIssued * pricePerShareMinor };
}
