/** Tasks and clocks for the domain's unit tests. */
import { money } from '@sizhong/kit/domain';
import type { TaskPolicy } from './policy';
import { postTask, type PostTaskInput, type Task } from './task';

export const t0 = new Date('2026-06-01T00:00:00Z');
export const later = (ms: number) => new Date(t0.getTime() + ms);
export const day = 86_400_000;
export const policy: TaskPolicy = { feeBps: 500, deadlineMinMs: day, autoAcceptMs: 14 * day, leaseMs: day, resubmitWindowMs: 7 * day, contestDecisionMs: 14 * day, disputeResolutionMs: 14 * day };
export const cny = (minor: bigint | number) => money('CNY', BigInt(minor));

export function input(overrides: Partial<PostTaskInput> = {}): PostTaskInput {
  return {
    id: 'tk_1',
    ownerId: 'owner',
    title: 'Logo',
    description: 'A logo',
    kind: 'rnd',
    mode: 'bidding',
    budget: cny(10_000),
    skills: ['design'],
    deadline: later(10 * day),
    milestones: [
      { title: 'Sketch', amount: cny(4_000) },
      { title: 'Final', amount: cny(6_000) },
    ],
    ...overrides,
  };
}

export function posted(overrides: Partial<PostTaskInput> = {}): Task {
  return postTask(input(overrides), policy, t0).task;
}
