/**
 * Close at `endsAt`: a saga of the kit's model (`round-close`, id `close:<round>`, one per round,
 * with no refusals: every failure leaves it running), started by the scheduler and, for a round
 * whose job was lost, by equity's recovery loop; the kit's saga recovery drives it on until it
 * completes. Every step is idempotent, so a close a crash or an unreachable escrow interrupted
 * resumes where it stopped, and nothing makes it give up.
 *
 *   1. the fence: one version-guarded write moves the round to `closing`. Commitments and
 *      cancellations get in only through the round's guarded writes on the open states, so from
 *      here on none does, whatever a replica's clock says;
 *   2. the sagas under way for the round, read from their records (`equity_sagas`), are driven on
 *      here: one already admitted lands, one not yet admitted is refused by the fence and gives
 *      its hold back (its hold step is run again first, so a hold escrow made after equity gave up
 *      waiting is found and voided, not left to expire). An unknown outcome (escrow unreachable)
 *      stops the close here; it is run again later;
 *   3. the outcome is decided on the pending commitment documents and written into the round once,
 *      allocation and fee (fixed when the round opened) included, with `RoundClosed` or
 *      `RoundFailed` on its outbox;
 *   4. only then does money move: each hold posted for exactly its allocation (the rest returns to
 *      the investor) or voided, then the fee and the proceeds paid out of the round's escrow
 *      account; then the round is marked settled.
 */
import { deterministicId, money, requestFingerprint, type Saga } from '@sizhong/kit';
import { closeRound, type Commitment, isAcceptingCommitments, markSettled, resolveCommitment, type Round, settleUsage, startClosing } from '../domain';
import { commitmentSagaKinds, escrowAccountIdOf } from './commitments';
import { closeConcurrency, type EquityWrites, forEachConcurrently, holdTransferId, ignoreResolved } from './context';
import { feeAccountId, walletAccountId } from './ports';

/** How long after its deadline a round must be before the recovery loop closes it (the scheduler gets the first go). */
export const closeRecoveryAgeMs = 5 * 60_000;
/** Rounds one recovery run looks at. */
export const closeRecoveryBatch = 20;
/** Unfinished sagas of one kind one close drives on (they are few: each ends within seconds unless escrow is down; more wait for the next run). */
export const unfinishedSagasScanMax = 10_000;

export const roundCloseSagaKind = 'round-close';

export function roundCloseSagaId(roundId: string): string {
  return `close:${roundId}`;
}

export class Closing {
  private readonly saga: Saga<{ roundId: string }, { state: string }>;

  constructor(private readonly writes: EquityWrites) {
    this.saga = writes.options.sagas.define<{ roundId: string }, object, { state: string }>({
      kind: roundCloseSagaKind,
      initialFacts: () => ({}),
      stages: [],
      finish: {
        refusals: [],
        run: async ({ roundId }) => {
          const round = await this.closeNow(roundId);
          // A replica whose clock is behind the deadline leaves the saga running for a later attempt.
          if (round.state !== 'closed' && round.state !== 'failed') throw new Error(`round ${roundId} is ${round.state} (it ends at ${round.endsAt.toISOString()}); the close runs again`);
          if (round.settledAt === undefined) throw new Error(`round ${roundId} is ${round.state} and not settled yet`);
          return { state: round.state };
        },
      },
    });
  }

  private get options() {
    return this.writes.options;
  }

  /** Closes a round past its deadline (by this replica's clock) through its saga; a round not yet ended is returned as it is. */
  async close(roundId: string): Promise<Round> {
    const round = (await this.options.rounds.get(roundId, 'round')).state;
    if (isAcceptingCommitments(round) && this.writes.now().getTime() < round.endsAt.getTime()) return round;
    await this.saga.run({ id: roundCloseSagaId(roundId), input: { roundId }, fingerprint: requestFingerprint({ roundId }) });
    return (await this.options.rounds.get(roundId, 'round')).state;
  }

  /** The close's one step, idempotent: fence, resolve what is under way, decide, move the money, mark settled. */
  private async closeNow(roundId: string): Promise<Round> {
    let round = (await this.options.rounds.get(roundId, 'round')).state;
    if (isAcceptingCommitments(round)) {
      if (this.writes.now().getTime() < round.endsAt.getTime()) return round;
      round = await this.writes.decideRound(roundId, (current) => startClosing(current, this.writes.now()));
    }
    if (round.state === 'closing') {
      await this.resolveUnderWay(roundId);
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
   * The safety net behind the scheduler: rounds past their deadline by `closeRecoveryAgeMs` and
   * not yet decided (open or closing), and rounds decided but not settled, are closed again
   * (every step is idempotent). Two scans, bounded.
   */
  async recover(ageMs: number = closeRecoveryAgeMs): Promise<number> {
    const now = this.writes.now();
    const overdue = await this.options.rounds.find(
      { 'state.state': { $in: ['open_for_lead', 'open', 'closing'] }, 'state.endsAt': { $lte: new Date(now.getTime() - ageMs) } },
      { limit: closeRecoveryBatch },
    );
    const unsettled = await this.options.rounds.find({ 'state.state': { $in: ['closed', 'failed'] }, 'state.settledAt': { $exists: false } }, { limit: closeRecoveryBatch });
    const stuck = [...overdue, ...unsettled].filter((loaded) => now.getTime() - loaded.state.endsAt.getTime() >= ageMs);
    for (const loaded of stuck) await this.close(loaded.id);
    return stuck.length;
  }

  /**
   * Drives every unfinished commitment and cancellation saga of the round on, as their records
   * say (behind the fence each either lands or is given back); an unknown outcome is thrown.
   */
  private async resolveUnderWay(roundId: string): Promise<void> {
    for (const kind of [commitmentSagaKinds.commitment, commitmentSagaKinds.cancellation]) {
      for (const record of await this.options.sagas.log.unfinishedOf(kind, { roundId }, unfinishedSagasScanMax)) await this.options.sagas.resume(record);
    }
  }

  private async payOut(round: Extract<Round, { state: 'closed' }>): Promise<void> {
    await forEachConcurrently(round.allocations, closeConcurrency, async (line) => {
      const transferId = holdTransferId(line.commitmentId);
      if (line.shares > 0n) await this.options.ledger.post(transferId, line.amountMinor);
      else await this.options.ledger.void(transferId).catch(ignoreResolved);
      await this.writes.decideCommitment(line.commitmentId, (current) => resolveCommitment(current, line, this.writes.now()));
      await this.writes.decideInvestor(line.investorId, (current) => settleUsage(current, line.commitmentId, line.amountMinor));
    });
    // The fee was fixed in the decision (at the rate fixed when the round opened); the rest is the issuer's.
    const currency = round.pricePerShare.currency;
    const fee = money(currency, round.feeMinor);
    const net = money(currency, round.raisedMinor - round.feeMinor);
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
