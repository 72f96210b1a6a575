/** What the equity use cases share: their stores, collaborators, policy, and the writes every flow uses. */
import { type AggregateStore, type Clock, DomainError, deterministicId, type Sagas, type Scheduler } from '@sizhong/kit';
import { type Commitment, type CommitmentEvent, type EquityPolicy, type Investor, type LimitBreach, newInvestor, type Round, type RoundEvent } from '../domain';
import type { ProfileCipher } from '../storage/profile-cipher';
import type { RoundAdmissions, RoundPositions } from '../storage/stores';
import { commitmentEventsToOutbox, limitBreachToOutbox, profileUpdatedToOutbox, roundEventsToOutbox } from './events';
import type { CreditPort, LedgerPort } from './ports';

/**
 * Holds outlive the deadline by this much: far past any recovery horizon (recovery retries an
 * unfinished saga at least every 5 minutes, with no attempt limit, and the close drives every
 * saga of its round on), so recovery or the close ends a saga, never a hold's expiry.
 */
export const holdGraceMs = 30 * 24 * 3_600_000;
export const roundPageSizeMax = 100;
/** Commitments a close resolves at once (posting or voiding their holds). */
export const closeConcurrency = 8;
export const roundJobKinds = { close: 'close-round' } as const;
/** The close runs this long after `endsAt` (it fences the round first and resolves what is under way itself, so this is only courtesy to sagas about to land). */
export const closeGraceMs = 2_000;

export interface EquityOptions {
  readonly rounds: AggregateStore<Round>;
  readonly commitments: AggregateStore<Commitment>;
  readonly investors: AggregateStore<Investor>;
  readonly positions: RoundPositions;
  readonly admissions: RoundAdmissions;
  readonly sagas: Sagas;
  readonly ledger: LedgerPort;
  readonly credit: CreditPort;
  readonly cipher: ProfileCipher;
  readonly scheduler: Scheduler;
  readonly clock: Clock;
  readonly policy: EquityPolicy;
  readonly topicPrefix: string;
}

export function holdTransferId(commitmentId: string): string {
  return deterministicId('tr', 'commitment-hold', commitmentId);
}

export const counterKeys = {
  reserve: (commitmentId: string) => `reserve:${commitmentId}`,
  cancel: (commitmentId: string) => `cancel:${commitmentId}`,
  left: (commitmentId: string) => `left:${commitmentId}`,
} as const;

export class EquityWrites {
  constructor(readonly options: EquityOptions) {}

  now(): Date {
    return this.options.clock.now();
  }

  async decideRound(roundId: string, decide: (round: Round) => { round: Round; events: readonly RoundEvent[] }): Promise<Round> {
    const { aggregate } = await this.options.rounds.update(
      roundId,
      (current) => {
        const decision = decide(current.state);
        return { state: decision.round, events: roundEventsToOutbox(decision.events, { aggregateId: roundId, version: current.version + 1, topicPrefix: this.options.topicPrefix }), result: undefined };
      },
      'round',
    );
    return aggregate.state;
  }

  async decideCommitment(commitmentId: string, decide: (commitment: Commitment) => { commitment: Commitment; events: readonly CommitmentEvent[] }): Promise<Commitment> {
    const { aggregate } = await this.options.commitments.update(
      commitmentId,
      (current) => {
        const decision = decide(current.state);
        return { state: decision.commitment, events: commitmentEventsToOutbox(decision.events, { aggregateId: commitmentId, version: current.version + 1, topicPrefix: this.options.topicPrefix }), result: undefined };
      },
      'commitment',
    );
    return aggregate.state;
  }

  /** An investor's document changes (usage); a missing one is created empty first. */
  async decideInvestor(investorId: string, decide: (investor: Investor) => Investor, breach?: LimitBreach): Promise<Investor> {
    const { aggregate } = await this.options.investors.update(
      investorId,
      (current) => {
        const state = decide(current.state);
        const events = breach ? [limitBreachToOutbox(breach, { aggregateId: investorId, version: current.version + 1, topicPrefix: this.options.topicPrefix })] : [];
        return { state, events, result: undefined };
      },
      'investor',
    );
    return aggregate.state;
  }

  /** Sets an investor's profile with one guarded write that also announces the accreditation (InvestorProfileUpdated). */
  async setInvestorProfile(investorId: string, decide: (investor: Investor) => Investor, accredited: boolean, at: Date): Promise<Investor> {
    const target = (version: number) => ({ aggregateId: investorId, version, topicPrefix: this.options.topicPrefix });
    const created = await this.options.investors.create(investorId, decide(newInvestor(investorId)), [profileUpdatedToOutbox(investorId, accredited, at, target(1))]);
    if (created.kind === 'created') return created.aggregate.state;
    const { aggregate } = await this.options.investors.update(
      investorId,
      (current) => ({ state: decide(current.state), events: [profileUpdatedToOutbox(investorId, accredited, at, target(current.version + 1))], result: undefined }),
      'investor',
    );
    return aggregate.state;
  }

  async commitmentsOf(roundId: string): Promise<Commitment[]> {
    return (await this.options.commitments.find({ 'state.roundId': roundId }, { limit: Number.MAX_SAFE_INTEGER, sort: { 'state.placedAt': 1, _id: 1 } })).map((loaded) => loaded.state);
  }
}

/** A hold already resolved by an earlier attempt (or expired, which returned the money) is fine; anything else is not. */
export function ignoreResolved(error: unknown): void {
  if (error instanceof DomainError && (error.code === 'TRANSFER_NOT_PENDING' || error.code === 'TRANSFER_EXPIRED' || error.code === 'NOT_FOUND')) return;
  throw error;
}

/** Runs `work` over `items` with at most `concurrency` in flight; the first failure is thrown after the rest settle. */
export async function forEachConcurrently<T>(items: readonly T[], concurrency: number, work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const failures: unknown[] = [];
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item).catch((error: unknown) => void failures.push(error));
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}
