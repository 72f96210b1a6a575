// Property: whatever a task goes through, once it is finished its escrow ends at zero: payouts + fees + refunds = funded.
import fc from 'fast-check';
import { acceptAssignment, claimAssignment, expireLease, openAssignmentDispute, rejectAssignment, resolveAssignmentDispute, submitAssignment, type Assignment } from './assignment';
import { cny, day, later, policy, posted, t0 } from './fixtures';
import { paymentsOfAssignment, paymentsOfTask, totalMinor } from './payments';
import { acceptMilestone, cancelTask, fundingSucceeded, nameWinners, openMilestoneDispute, rejectMilestone, resolveMilestoneDispute, startAward, submitMilestone, type Task } from './task';

const deliverable = { deliverableUrl: 'https://example.org/d', note: '' };
const feeBps = fc.integer({ min: 0, max: 10_000 });
const outcome = fc.oneof(fc.constant({ kind: 'accept' as const }), fc.constant({ kind: 'cancel' as const }), fc.record({ kind: fc.constant('dispute' as const), bps: fc.integer({ min: 0, max: 10_000 }) }));

describe('escrow conservation', () => {
  it('bidding: milestones accepted, disputed or refunded pay out exactly what the award funded', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 1n, max: 10n ** 9n }), { minLength: 1, maxLength: 10 }), fc.bigInt({ min: 1n, max: 10n ** 9n }), fc.array(outcome, { minLength: 10, maxLength: 10 }), fc.nat(3), feeBps, (amounts, priceSeed, outcomes, rejections, fee) => {
        const budget = amounts.reduce((sum, amount) => sum + amount, 0n);
        const price = 1n + (priceSeed % budget);
        const rules = { ...policy, feeBps: fee };
        let task: Task = posted({ budget: cny(budget), milestones: amounts.map((amount, index) => ({ title: `m${index}`, amount: cny(amount) })) });
        task = fundingSucceeded(startAward(task, 'owner', { bidId: 'b', solverId: 'solver', price: cny(price), taskId: task.id }, 'k').task, t0).task;
        let cancelling = false;
        task.milestones.forEach((_, index) => {
          const chosen = outcomes[index]!;
          if (chosen.kind === 'cancel') return void (cancelling = true);
          for (let round = 0; round < rejections; round += 1) task = rejectMilestone(submitMilestone(task, 'solver', index, deliverable, t0).task, 'owner', index, 'again', t0).task;
          task = submitMilestone(task, 'solver', index, deliverable, t0).task;
          if (chosen.kind === 'accept') task = acceptMilestone(task, 'owner', index, rules, t0).task;
          else task = resolveMilestoneDispute(openMilestoneDispute(task, 'solver', index, `dp${index}`, 'no', t0).task, index, { solverShareBps: chosen.bps, arbiterId: 'arb' }, rules, t0).task;
        });
        if (cancelling) task = cancelTask(task, 'owner', { submissionsCount: 0, slotsAvailable: 0 }, t0).task;
        expect(['completed', 'cancelled']).toContain(task.state);
        expect(totalMinor(paymentsOfTask(task))).toBe(task.funded.amountMinor);
        expect(task.funded.amountMinor).toBe(price);
      }),
    );
  });

  it('contest: winners split the pool exactly, or a cancellation returns it', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 1n, max: 10n ** 12n }), fc.array(fc.integer({ min: 1, max: 1_000 }), { minLength: 1, maxLength: 20 }), fc.boolean(), feeBps, (budget, weights, cancel, fee) => {
        let task = fundingSucceeded(posted({ mode: 'contest', milestones: [], budget: cny(budget) }), t0).task;
        if (cancel) task = cancelTask(task, 'owner', { submissionsCount: 0, slotsAvailable: 0 }, t0).task;
        else {
          const total = weights.reduce((sum, weight) => sum + weight, 0);
          const shares = weights.map((weight) => Math.max(1, Math.floor((weight * 10_000) / total)));
          shares[0]! += 10_000 - shares.reduce((sum, share) => sum + share, 0);
          fc.pre(shares[0]! >= 1);
          task = nameWinners(task, 'owner', shares.map((shareBps, index) => ({ submissionId: `s${index}`, solverId: `v${index}`, shareBps })), { ...policy, feeBps: fee }, t0).task;
        }
        expect(totalMinor(paymentsOfTask(task))).toBe(budget);
      }),
    );
  });

  it('dispatch: every slot is paid, split by an arbiter, or returned to the owner', () => {
    const slotOutcome = fc.constantFrom('accept', 'dispute', 'expire-then-cancelled', 'unclaimed', 'reject-accept');
    fc.assert(
      fc.property(fc.array(slotOutcome, { minLength: 1, maxLength: 30 }), fc.bigInt({ min: 1n, max: 10n ** 6n }), fc.integer({ min: 0, max: 10_000 }), feeBps, (slots, perSlot, bps, fee) => {
        const rules = { ...policy, feeBps: fee };
        let task = fundingSucceeded(posted({ mode: 'dispatch', kind: 'operations', milestones: [], slots: slots.length, budget: cny(perSlot * BigInt(slots.length)) }), t0).task;
        const assignments: Assignment[] = [];
        let available = 0;
        slots.forEach((kind, index) => {
          if (kind === 'unclaimed') return void (available += 1);
          let assignment = claimAssignment(task, { assignmentId: `as${index}`, solverId: `v${index}` }, rules, t0).assignment;
          if (kind === 'expire-then-cancelled') return void assignments.push(assignment);
          assignment = submitAssignment(assignment, `v${index}`, deliverable, t0).assignment;
          if (kind === 'reject-accept') assignment = submitAssignment(rejectAssignment(assignment, 'owner', 'no', t0).assignment, `v${index}`, deliverable, t0).assignment;
          assignment = kind === 'dispute' ? resolveAssignmentDispute(openAssignmentDispute(assignment, 'owner', `dp${index}`, 'no', t0).assignment, { solverShareBps: bps, arbiterId: 'arb' }, rules, t0).assignment : acceptAssignment(assignment, 'owner', rules, t0).assignment;
          assignments.push(assignment);
        });
        task = cancelTask(task, 'owner', { submissionsCount: 0, slotsAvailable: available }, t0).task;
        const settled = assignments.map((assignment) => (assignment.lease === 'held' && assignment.work.state === 'pending' ? expireLease(assignment, 'owner', later(2 * day)).assignment : assignment));
        const out = totalMinor(paymentsOfTask(task)) + settled.reduce((sum, assignment) => sum + totalMinor(paymentsOfAssignment(assignment)), 0n);
        expect(out).toBe(task.funded.amountMinor);
      }),
    );
  });
});
