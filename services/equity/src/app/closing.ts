/**
 * Close at `endsAt`, run by the scheduler (and again until it completes: every step is idempotent,
 * so a close a crash interrupted resumes where it stopped). The deadline is a fact the guarded
 * counter writes check, so from `endsAt` on no commitment can land. The close then rolls back the
 * sagas a crash left unfinished, decides the outcome on the pending commitment documents
 * themselves (not on the live counters) and writes it into the round once, allocation included;
 * only then does money move: each hold posted for exactly its allocation (the rest returns to the
 * investor) or voided, then the fee and the proceeds paid out of the round's escrow account.
 */
import { deterministicId, money, splitByBasisPoints } from '@sizhong/kit';
import { closeRound, type Commitment, markSettled, resolveCommitment, type Round, settleUsage } from '../domain';
import { escrowAccountIdOf } from './commitments';
import { closeConcurrency, type EquityWrites, forEachConcurrently, holdTransferId, ignoreResolved } from './context';
import { feeAccountId, walletAccountId } from './ports';

/** How long after its deadline a round must be before the recovery loop closes it (the scheduler gets the first go). */
export const closeRecoveryAgeMs = 5 * 60_000;
/** Rounds one recovery run looks at. */
export const closeRecoveryBatch = 20;

export class Closing {
  constructor(private readonly writes: EquityWrites) {}

  private get options() {
    return this.writes.options;
  }

  async close(roundId: string): Promise<Round> {
    let round = (await this.options.rounds.get(roundId, 'round')).state;
    if (round.state === 'open_for_lead' || round.state === 'open') {
      if (this.writes.now().getTime() < round.endsAt.getTime()) return round;
      await this.rollBackUnfinished(round);
      const pending = (await this.writes.commitmentsOf(roundId)).filter((commitment) => commitment.state === 'pending');
      const facts = pending.map((commitment) => ({ commitmentId: commitment.id, investorId: commitment.investorId, role: commitment.role, amountMinor: commitment.amount.amountMinor, placedAt: commitment.placedAt }));
      round = await this.writes.decideRound(roundId, (current) => closeRound(current, facts, this.options.policy.feeBps, this.writes.now()));
    }
    if (round.state !== 'closed' && round.state !== 'failed') return round;
    if (round.settledAt !== undefined) return round;
    if (round.state === 'closed') await this.payOut(round);
    else await this.refundAll(round);
    return this.writes.decideRound(roundId, (current) => markSettled(current, this.writes.now()));
  }

  /**
   * The safety net behind the scheduler (whose job gives up after its attempts, for example while
   * escrow is down for long): rounds past their deadline by `closeRecoveryAgeMs` and still open, and
   * rounds decided but not settled, are closed again (every step is idempotent). Two scans, bounded.
   */
  async recover(ageMs: number = closeRecoveryAgeMs): Promise<number> {
    const now = this.writes.now();
    const overdue = await this.options.rounds.find(
      { 'state.state': { $in: ['open_for_lead', 'open'] }, 'state.endsAt': { $lte: new Date(now.getTime() - ageMs) } },
      { limit: closeRecoveryBatch },
    );
    const unsettled = await this.options.rounds.find({ 'state.state': { $in: ['closed', 'failed'] }, 'state.settledAt': { $exists: false } }, { limit: closeRecoveryBatch });
    const stuck = [...overdue, ...unsettled].filter((loaded) => now.getTime() - loaded.state.endsAt.getTime() >= ageMs);
    for (const loaded of stuck) await this.close(loaded.id);
    return stuck.length;
  }

  /** Positions naming a commitment that was never written: a saga a crash interrupted. Nothing of it may land now: void its hold, give back its limit. */
  private async rollBackUnfinished(round: Round): Promise<void> {
    const written = new Set((await this.writes.commitmentsOf(round.id)).map((commitment) => commitment.id));
    const positions = await this.options.positions.ofRound(round.id);
    const unfinished = positions.flatMap((position) => position.commitments.filter((entry) => !written.has(entry.commitmentId)).map((entry) => ({ ...entry, investorId: position.investorId })));
    await forEachConcurrently(unfinished, closeConcurrency, async (entry) => {
      await this.options.ledger.void(holdTransferId(entry.commitmentId)).catch(ignoreResolved);
      await this.writes.decideInvestor(entry.investorId, (current) => settleUsage(current, entry.commitmentId, 0n));
      await this.options.positions.remove(round.id, entry.investorId, entry.commitmentId);
    });
  }

  private async payOut(round: Extract<Round, { state: 'closed' }>): Promise<void> {
    await forEachConcurrently(round.allocations, closeConcurrency, async (line) => {
      const transferId = holdTransferId(line.commitmentId);
      if (line.shares > 0n) await this.options.ledger.post(transferId, line.amountMinor);
      else await this.options.ledger.void(transferId).catch(ignoreResolved);
      await this.writes.decideCommitment(line.commitmentId, (current) => resolveCommitment(current, line, this.writes.now()));
      await this.writes.decideInvestor(line.investorId, (current) => settleUsage(current, line.commitmentId, line.amountMinor));
    });
    // A commitment whose saga finished after the decision (it passed the round's counters before the
    // deadline, its document landed after the close read them) has no allocation: it is returned.
    const allocated = new Set(round.allocations.map((line) => line.commitmentId));
    const stragglers = (await this.writes.commitmentsOf(round.id)).filter((commitment) => commitment.state === 'pending' && !allocated.has(commitment.id));
    await forEachConcurrently(stragglers, closeConcurrency, (commitment) => this.refund(commitment));
    const currency = round.pricePerShare.currency;
    const [fee, net] = splitByBasisPoints(money(currency, round.raisedMinor), BigInt(this.options.policy.feeBps));
    const escrow = escrowAccountIdOf(round);
    if (fee.amountMinor > 0n) {
      await this.options.ledger.pay({ transferId: deterministicId('tr', 'round-fee', round.id), debitAccountId: escrow, creditAccountId: feeAccountId(currency), amount: fee, referenceKind: 'round-fee', referenceId: round.id });
    }
    if (net.amountMinor > 0n) {
      await this.options.ledger.pay({ transferId: deterministicId('tr', 'round-proceeds', round.id), debitAccountId: escrow, creditAccountId: walletAccountId(round.issuerId, currency), amount: net, referenceKind: 'round-proceeds', referenceId: round.id });
    }
  }

  private async refundAll(round: Round): Promise<void> {
    const pending = (await this.writes.commitmentsOf(round.id)).filter((commitment) => commitment.state === 'pending');
    await forEachConcurrently(pending, closeConcurrency, (commitment) => this.refund(commitment));
  }

  private async refund(commitment: Commitment): Promise<void> {
    await this.options.ledger.void(commitment.transferId).catch(ignoreResolved);
    await this.writes.decideCommitment(commitment.id, (current) => resolveCommitment(current, undefined, this.writes.now()));
    await this.writes.decideInvestor(commitment.investorId, (current) => settleUsage(current, commitment.id, 0n));
  }
}
