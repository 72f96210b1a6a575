/** Request and answer schemas of the equity routes (docs/equity.md, /openapi.json), and the conversions from the equity service's messages. */
import { assert } from '@sizhong/kit';
import type { equityV1 } from '@sizhong/proto';
import { instantField, textField } from '../http/fields';
import { pathIdLengthMax } from '../http/limits';
import { currencySchema, moneyJson, moneyMessage, moneySchema, positiveMoneySchemaUpTo } from '../http/money';
import { pageQuerySchema, pageSchema } from '../http/paging';
import { z } from '../openapi/zod';

/**
 * Equity's limits (services/equity/src/domain/policy.ts), repeated here because the gateway documents them.
 */
export const equityLimits = {
  titleLengthMax: 120,
  amountMinorMax: 1_000_000_000_000n,
  investorsPerRoundMax: 2_000,
  basisPointsMax: 10_000,
  /** Income and net worth: up to 10^15 minor units. */
  financialsMinorMax: 1_000_000_000_000_000n,
} as const;

export const roundStates = ['open_for_lead', 'open', 'closing', 'closed', 'failed'] as const;
export const commitmentStates = ['pending', 'cancelled', 'allocated', 'refunded'] as const;
export const commitmentRoles = ['lead', 'follower'] as const;

export const equityIdPattern = /^[A-Za-z0-9_-]+$/;
const equityIdSchema = (what: string) => z.string().min(1).max(pathIdLengthMax).regex(equityIdPattern, 'letters, digits, - and _ only').describe(`opaque ${what} id`);

export const roundParamsSchema = z.object({ id: equityIdSchema('round') });
export const commitmentParamsSchema = z.object({ id: equityIdSchema('commitment') });
export const investorParamsSchema = z.object({ id: equityIdSchema('investor (participant)') });
export const roundListQuerySchema = pageQuerySchema(equityIdSchema('round')).extend({
  state: z.enum(roundStates).optional().describe('only rounds in this state'),
});

const answeredInstantSchema = z.iso.datetime().describe('RFC 3339, UTC');

/** Amounts of rounds and commitments: at most 10^12 minor units (as escrow takes). */
export const roundMoneySchema = positiveMoneySchemaUpTo(equityLimits.amountMinorMax, 'RoundMoney');

/** Income and net worth: zero or more, in a supported currency. */
export const financialMoneySchema = z
  .object({
    currency: currencySchema,
    amountMinor: z
      .string()
      .regex(/^(0|[1-9][0-9]{0,14})$/, 'a non-negative integer of minor units as a decimal string, below 10^15')
      .describe('a non-negative integer of minor units (fen, cents) as a decimal string, below 10^15'),
  })
  .openapi('FinancialMoney');

export const investorProfileRequestSchema = z
  .object({
    annualIncome: financialMoneySchema.describe('annual income, in the currency of the rounds the limit applies to'),
    netWorth: financialMoneySchema.describe('net worth, in the same currency as annualIncome'),
    accredited: z.boolean().describe('an accredited investor has no 12-month limit, and may lead rounds'),
  })
  .openapi('InvestorProfileRequest');

export const investorProfileSchema = z
  .object({
    investorId: z.string(),
    annualIncome: moneySchema,
    netWorth: moneySchema,
    accredited: z.boolean(),
    limit12Months: z
      .object({ currency: z.string().regex(/^[A-Z]{3}$/), amountMinor: z.string().regex(/^(0|[1-9][0-9]{0,18})$/) })
      .nullable()
      .describe('what the investor may commit over 12 months (Money); null: no limit (accredited)'),
    used: moneySchema.describe('commitments of the last 12 months that still count (pending, or what was allocated)'),
    updatedAt: answeredInstantSchema,
  })
  .openapi('InvestorProfile');

export const createRoundRequestSchema = z
  .object({
    title: textField({ lengthMax: equityLimits.titleLengthMax, trimmed: true }).describe(`1 to ${equityLimits.titleLengthMax} characters, not only whitespace (trimmed)`),
    target: roundMoneySchema.describe('the least the round must raise by endsAt, a whole number of shares'),
    maximum: roundMoneySchema.describe('the most the round raises (commitments past it are scaled down at close), a whole number of shares, at least the target'),
    pricePerShare: roundMoneySchema.describe('the price of one share; commitments are whole shares'),
    endsAt: instantField.describe('when the round closes: at least DEADLINE_MIN_MS (a day) and at most 90 days from now'),
    leadMinBps: z.number().int().min(1).max(equityLimits.basisPointsMax).optional().describe('the least the lead commits, in basis points of the target (default 500)'),
    leadCarryBps: z.number().int().min(0).max(equityLimits.basisPointsMax).describe("the lead's carry, in basis points, recorded in the cap table"),
    investorsMax: z.number().int().min(1).max(equityLimits.investorsPerRoundMax).optional().describe('the most investors the round admits (default EQUITY_INVESTORS_MAX, 200)'),
  })
  .openapi('CreateRoundRequest');

export const commitRequestSchema = z.object({ amount: roundMoneySchema.describe("a whole number of shares, in the round's currency") }).openapi('CommitRequest');

export const roundSchema = z
  .object({
    id: z.string(),
    issuerId: z.string(),
    title: z.string(),
    state: z.enum(roundStates).describe('open_for_lead → open (a lead committed) → closing (from endsAt, while the close resolves what is under way) → closed | failed; a lead who cancels sends it back to open_for_lead'),
    target: moneySchema,
    maximum: moneySchema,
    pricePerShare: moneySchema,
    endsAt: answeredInstantSchema,
    leadMinBps: z.number().int(),
    leadCarryBps: z.number().int(),
    investorsMax: z.number().int(),
    committed: moneySchema.describe('pending commitments now; after close, what was committed at the deadline'),
    investorsCount: z.number().int().min(0).describe('investors with a pending commitment'),
    lead: z.string().nullable().describe("the lead investor's participant id; null while there is none"),
    commitmentsCap: moneySchema.describe('commitments are accepted up to this (EQUITY_OVERSUBSCRIPTION_CAP_BPS of the maximum)'),
    cancellableUntil: answeredInstantSchema.describe('commitments may be cancelled until then (endsAt − EQUITY_COOLING_OFF_MS)'),
    createdAt: answeredInstantSchema,
    closedAt: answeredInstantSchema.optional().describe('present once closed or failed'),
    raised: moneySchema.optional().describe('closed: shares issued × price'),
    fee: moneySchema.optional().describe('closed: the platform fee (PLATFORM_FEE_BPS of raised); the issuer receives raised − fee'),
    sharesIssued: z.number().int().min(0),
    failureReason: z.enum(['target_not_met', 'no_lead']).optional().describe('present when failed'),
  })
  .openapi('Round');

export const roundPageSchema = pageSchema(roundSchema).describe('in id order').openapi('RoundPage');

export const commitmentSchema = z
  .object({
    id: z.string(),
    roundId: z.string(),
    investorId: z.string(),
    role: z.enum(commitmentRoles),
    amount: moneySchema,
    state: z.enum(commitmentStates).describe("`pending`: held on the investor's wallet; `allocated` at close (shares × price collected, the rest returned); `refunded` (a failed round, or no shares); `cancelled` by the investor"),
    placedAt: answeredInstantSchema,
    shares: z.number().int().min(0),
    allocatedAmount: moneySchema.describe('shares × price collected at close'),
    refundedAmount: moneySchema.describe('what returned to the investor at close'),
    resolvedAt: answeredInstantSchema.optional(),
  })
  .openapi('Commitment');

export const capTableSchema = z
  .object({
    roundId: z.string(),
    state: z.enum(roundStates),
    holders: z
      .array(z.object({ participantId: z.string(), shares: z.number().int().min(1), amount: moneySchema, role: z.enum(commitmentRoles) }).openapi('CapTableHolder'))
      .describe('listed once the round is closed, one line per investor'),
    sharesIssued: z.number().int().min(0),
    pricePerShare: moneySchema,
    leadCarryBps: z.number().int(),
    lead: z.string().nullable(),
  })
  .openapi('CapTable');

function instant(value: Date | undefined, what: string): string {
  assert(value !== undefined, `equity sent ${what} without its time`);
  return value.toISOString();
}

export function roundView(round: equityV1.Round): z.input<typeof roundSchema> {
  assert((roundStates as readonly string[]).includes(round.state), `equity sent round state ${round.state}`);
  return {
    id: round.id,
    issuerId: round.issuerId,
    title: round.title,
    state: round.state as (typeof roundStates)[number],
    target: moneyJson(round.target),
    maximum: moneyJson(round.maximum),
    pricePerShare: moneyJson(round.pricePerShare),
    endsAt: instant(round.endsAt, 'a round end'),
    leadMinBps: round.leadMinBps,
    leadCarryBps: round.leadCarryBps,
    investorsMax: round.investorsMax,
    committed: moneyJson(round.committed),
    investorsCount: round.investorsCount,
    lead: round.leadId === '' ? null : round.leadId,
    commitmentsCap: moneyJson(round.commitmentsCap),
    cancellableUntil: instant(round.cancellableUntil, 'a cancellation window'),
    createdAt: instant(round.createdAt, 'a round'),
    ...(round.closedAt ? { closedAt: round.closedAt.toISOString() } : {}),
    ...(round.raised ? { raised: moneyJson(round.raised) } : {}),
    ...(round.fee ? { fee: moneyJson(round.fee) } : {}),
    sharesIssued: Number(round.sharesIssued),
    ...(round.failureReason ? { failureReason: round.failureReason as 'target_not_met' | 'no_lead' } : {}),
  };
}

export function commitmentView(commitment: equityV1.Commitment): z.input<typeof commitmentSchema> {
  assert((commitmentStates as readonly string[]).includes(commitment.state), `equity sent commitment state ${commitment.state}`);
  return {
    id: commitment.id,
    roundId: commitment.roundId,
    investorId: commitment.investorId,
    role: commitment.role as (typeof commitmentRoles)[number],
    amount: moneyJson(commitment.amount),
    state: commitment.state as (typeof commitmentStates)[number],
    placedAt: instant(commitment.placedAt, 'a commitment'),
    shares: Number(commitment.shares),
    allocatedAmount: moneyJson(commitment.allocatedAmount),
    refundedAmount: moneyJson(commitment.refundedAmount),
    ...(commitment.resolvedAt ? { resolvedAt: commitment.resolvedAt.toISOString() } : {}),
  };
}

export function capTableView(table: equityV1.CapTable): z.input<typeof capTableSchema> {
  return {
    roundId: table.roundId,
    state: table.state as (typeof roundStates)[number],
    holders: table.holders.map((holder) => ({ participantId: holder.participantId, shares: Number(holder.shares), amount: moneyJson(holder.amount), role: holder.role as (typeof commitmentRoles)[number] })),
    sharesIssued: Number(table.sharesIssued),
    pricePerShare: moneyJson(table.pricePerShare),
    leadCarryBps: table.leadCarryBps,
    lead: table.leadId === '' ? null : table.leadId,
  };
}

export function profileView(profile: equityV1.InvestorProfile): z.input<typeof investorProfileSchema> {
  return {
    investorId: profile.investorId,
    annualIncome: moneyJson(profile.annualIncome),
    netWorth: moneyJson(profile.netWorth),
    accredited: profile.accredited,
    limit12Months: profile.limit12Months ? moneyJson(profile.limit12Months) : null,
    used: moneyJson(profile.used),
    updatedAt: instant(profile.updatedAt, 'a profile'),
  };
}

export function createRoundMessage(body: z.output<typeof createRoundRequestSchema>, idempotencyKey: string): equityV1.CreateRoundRequest {
  return {
    idempotencyKey,
    title: body.title,
    target: moneyMessage(body.target),
    maximum: moneyMessage(body.maximum),
    pricePerShare: moneyMessage(body.pricePerShare),
    endsAt: new Date(body.endsAt),
    leadMinBps: body.leadMinBps ?? 0,
    leadCarryBps: body.leadCarryBps,
    investorsMax: body.investorsMax ?? 0,
  };
}

export function financialMessage(value: z.output<typeof financialMoneySchema>) {
  return { currency: value.currency, amountMinor: BigInt(value.amountMinor) };
}
