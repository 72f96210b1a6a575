/** gRPC adapter of equity: decode, call one use case, encode. */
import { type CallerIdentity, checkServiceIdempotencyKey, DomainError, isCurrencyCode, type Money, money, type ServiceHandlers } from '@sizhong/kit';
import type { commonV1, equityV1 } from '@sizhong/proto';
import type { Commitments } from '../../app/commitments';
import type { InvestorProfileView, Investors } from '../../app/investors';
import type { CapTableView, Rounds, RoundView } from '../../app/rounds';
import type { Commitment } from '../../domain';

const idPattern = /^[A-Za-z0-9_-]{1,64}$/;
export const pageSizeDefault = 20;

function idIn(value: string, field: string): string {
  if (!idPattern.test(value)) throw new DomainError('NOT_FOUND', `${field} not found`, { field });
  return value;
}

function keyIn(value: string): string {
  return checkServiceIdempotencyKey(value);
}

function moneyIn(value: commonV1.Money | undefined, field: string): Money {
  if (!value || !isCurrencyCode(value.currency)) throw new DomainError('INVALID_ARGUMENT', `${field} needs a currency`, { field: `${field}.currency` });
  return { currency: value.currency, amountMinor: value.amountMinor };
}

function caller(identity: CallerIdentity | undefined): CallerIdentity {
  if (!identity) throw new DomainError('UNAUTHENTICATED', 'this call needs the caller\'s identity');
  return identity;
}

export function roundOut({ round, totals }: RoundView): equityV1.Round {
  const currency = round.pricePerShare.currency;
  const finished = round.state === 'closed' || round.state === 'failed';
  return {
    id: round.id,
    issuerId: round.issuerId,
    title: round.title,
    state: round.state,
    target: round.target,
    maximum: round.maximum,
    pricePerShare: round.pricePerShare,
    endsAt: round.endsAt,
    leadMinBps: round.leadMinBps,
    leadCarryBps: round.leadCarryBps,
    investorsMax: round.investorsMax,
    committed: money(currency, finished ? round.committedMinor : totals.committedMinor),
    investorsCount: totals.investorsCount,
    leadId: round.state === 'open' || round.state === 'closed' || round.state === 'closing' ? (round.leadId ?? '') : '',
    commitmentsCap: money(currency, round.commitmentsCapMinor),
    cancellableUntil: round.cancellableUntil,
    createdAt: round.createdAt,
    ...(finished ? { closedAt: round.closedAt } : {}),
    ...(round.state === 'closed' ? { raised: money(currency, round.raisedMinor), fee: money(currency, round.feeMinor) } : {}),
    sharesIssued: round.state === 'closed' ? round.sharesIssued : 0n,
    failureReason: round.state === 'failed' ? round.reason : '',
  };
}

export function commitmentOut(commitment: Commitment): equityV1.Commitment {
  const currency = commitment.amount.currency;
  return {
    id: commitment.id,
    roundId: commitment.roundId,
    investorId: commitment.investorId,
    role: commitment.role,
    amount: commitment.amount,
    state: commitment.state,
    placedAt: commitment.placedAt,
    shares: commitment.shares,
    allocatedAmount: money(currency, commitment.allocatedMinor),
    refundedAmount: money(currency, commitment.refundedMinor),
    ...(commitment.resolvedAt ? { resolvedAt: commitment.resolvedAt } : {}),
  };
}

function profileOut(view: InvestorProfileView): equityV1.InvestorProfile {
  return {
    investorId: view.investorId,
    annualIncome: view.annualIncome,
    netWorth: view.netWorth,
    accredited: view.accredited,
    ...(view.limit12Months ? { limit12Months: view.limit12Months } : {}),
    used: view.used,
    updatedAt: view.updatedAt,
  };
}

function capTableOut({ round, holders }: CapTableView): equityV1.CapTable {
  const currency = round.pricePerShare.currency;
  return {
    roundId: round.id,
    state: round.state,
    holders: holders.map((holder) => ({ participantId: holder.participantId, role: holder.role, shares: holder.shares, amount: money(currency, holder.amountMinor) })),
    sharesIssued: round.state === 'closed' ? round.sharesIssued : 0n,
    pricePerShare: round.pricePerShare,
    leadCarryBps: round.leadCarryBps,
    leadId: round.state === 'open' || round.state === 'closed' || round.state === 'closing' ? (round.leadId ?? '') : '',
  };
}

export function equityServiceHandlers(useCases: { investors: Investors; rounds: Rounds; commitments: Commitments }): ServiceHandlers<typeof equityV1.EquityServiceService> {
  const { investors, rounds, commitments } = useCases;
  return {
    putInvestorProfile: async (request, context) =>
      profileOut(await investors.putProfile(caller(context.identity), { annualIncome: moneyIn(request.annualIncome, 'annualIncome'), netWorth: moneyIn(request.netWorth, 'netWorth'), accredited: request.accredited })),
    getInvestorProfile: async (request, context) => profileOut(await investors.getProfile(caller(context.identity), idIn(request.investorId, 'investor'))),
    createRound: async (request, context) => {
      if (!request.endsAt || Number.isNaN(request.endsAt.getTime())) throw new DomainError('INVALID_ARGUMENT', 'endsAt is required', { field: 'endsAt' });
      return roundOut(
        await rounds.create(caller(context.identity), {
          idempotencyKey: keyIn(request.idempotencyKey),
          title: request.title,
          target: moneyIn(request.target, 'target'),
          maximum: moneyIn(request.maximum, 'maximum'),
          pricePerShare: moneyIn(request.pricePerShare, 'pricePerShare'),
          endsAt: request.endsAt,
          ...(request.leadMinBps === 0 ? {} : { leadMinBps: request.leadMinBps }),
          leadCarryBps: request.leadCarryBps,
          ...(request.investorsMax === 0 ? {} : { investorsMax: request.investorsMax }),
        }),
      );
    },
    getRound: async (request, context) => {
      caller(context.identity);
      return roundOut(await rounds.get(idIn(request.roundId, 'round')));
    },
    listRounds: async (request, context) => {
      caller(context.identity);
      const found = await rounds.list(request.state, request.page?.limit || pageSizeDefault, request.page?.cursor || undefined);
      return { rounds: found.rounds.map(roundOut), page: { nextCursor: found.nextCursor ?? '' } };
    },
    commitAsLead: async (request, context) =>
      commitmentOut(await commitments.commit(caller(context.identity), { roundId: idIn(request.roundId, 'round'), idempotencyKey: keyIn(request.idempotencyKey), amount: moneyIn(request.amount, 'amount'), role: 'lead' })),
    placeCommitment: async (request, context) =>
      commitmentOut(await commitments.commit(caller(context.identity), { roundId: idIn(request.roundId, 'round'), idempotencyKey: keyIn(request.idempotencyKey), amount: moneyIn(request.amount, 'amount'), role: 'follower' })),
    getCommitment: async (request, context) => commitmentOut(await commitments.get(caller(context.identity), idIn(request.commitmentId, 'commitment'))),
    cancelCommitment: async (request, context) => commitmentOut(await commitments.cancel(caller(context.identity), idIn(request.commitmentId, 'commitment'))),
    getCapTable: async (request, context) => capTableOut(await rounds.capTable(caller(context.identity), idIn(request.roundId, 'round'))),
  };
}
