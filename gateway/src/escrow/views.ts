/**
 * The public JSON of wallets and the ledger (docs/escrow.md, /openapi.json), as zod schemas that both
 * document the answers and type the handlers, and the functions that build them from escrow's
 * gRPC messages. Amounts leave as decimal strings, never as numbers.
 */
import { assert, isCurrencyCode } from '@sizhong/kit';
import type { escrowV1 } from '@sizhong/proto';
import { minorUnitsJson, moneyJson, moneySchema, positiveMoneySchema } from '../http/money';
import { pageSchema } from '../http/paging';
import { z } from '../openapi/zod';

export const walletSchema = z
  .object({
    available: moneySchema.describe('money the participant may spend or withdraw'),
    held: moneySchema.describe('money reserved by pending transfers (pledges, commitments) until they are posted or voided'),
  })
  .openapi('Wallet');

export const walletEntrySchema = z
  .object({
    sequence: z.number().int().positive().describe("the entry's position in the wallet's journal, starting at 1"),
    transferId: z.string(),
    leg: z.enum(['debit', 'credit', 'hold', 'release']).describe('debit and credit move available money; hold reserves it; release resolves a hold'),
    availableDelta: moneySchema,
    heldDelta: moneySchema,
    available: moneySchema.describe('available money after this entry'),
    held: moneySchema.describe('held money after this entry'),
    at: z.iso.datetime().describe('RFC 3339, UTC'),
    reference: z
      .object({ kind: z.string().describe('what moved the money: `deposit`, `withdrawal`, `pledge`, …'), id: z.string() })
      .describe('the business object behind the transfer'),
  })
  .openapi('WalletEntry');

export const walletEntryPageSchema = pageSchema(walletEntrySchema).describe('newest entry first').openapi('WalletEntryPage');

export const withdrawalRequestSchema = z.object({ amount: positiveMoneySchema }).openapi('WithdrawalRequest');

export const withdrawalSchema = z
  .object({
    withdrawalId: z.string(),
    state: z.enum(['requested', 'completed']).describe('`completed`: the sandbox payment provider pays out at once'),
    amount: moneySchema,
  })
  .openapi('Withdrawal');

/** Documentation only: the gateway passes the bytes through and escrow validates them after the signature. */
export const paymentProviderEventSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9_-]{1,100}$/).describe("the provider's event id; an event is applied once however often it is sent"),
    type: z.string().describe('`deposit.succeeded` credits the wallet; other types are acknowledged and ignored'),
    participantId: z.string().optional().describe('deposit.succeeded: whose wallet to credit'),
    amount: positiveMoneySchema.optional().describe('deposit.succeeded: the amount received'),
  })
  .openapi('PaymentProviderEvent');

export const paymentProviderOutcomeSchema = z
  .object({
    eventId: z.string(),
    outcome: z
      .enum(['applied', 'held_in_suspense', 'already_applied', 'ignored'])
      .describe(
        '`held_in_suspense`: the participant id names nobody the platform knows, so the money is held in a suspense account of its own until an admin assigns or refunds it; ' +
          '`already_applied`: a replay of an event applied before (nothing moved this time); `ignored`: an event type escrow does not act on',
      ),
  })
  .openapi('PaymentProviderOutcome');

export const suspenseDepositSchema = z
  .object({
    depositId: z.string(),
    providerEventId: z.string(),
    participantId: z.string().describe('the participant id the provider named, which nobody had'),
    amount: moneySchema,
    state: z.enum(['held', 'assigned', 'refunded']),
    suspenseAccountId: z.string().describe('`escrow:suspense:<deposit id>:<currency>`, where the money is held'),
    assignedTo: z.string().nullable().describe('the participant whose wallet received it, once assigned'),
    receivedAt: z.iso.datetime(),
    resolvedAt: z.iso.datetime().nullable(),
  })
  .openapi('SuspenseDeposit');

export const assignSuspenseRequestSchema = z
  .object({ participantId: z.string().regex(/^pt_[0-9a-f]{32}$/).describe('who receives the deposit') })
  .openapi('AssignSuspenseDepositRequest');

export function suspenseDepositView(deposit: escrowV1.SuspenseDeposit): z.input<typeof suspenseDepositSchema> {
  return {
    depositId: deposit.depositId,
    providerEventId: deposit.providerEventId,
    participantId: deposit.participantId,
    amount: moneyJson(deposit.amount),
    state: deposit.state as 'held' | 'assigned' | 'refunded',
    suspenseAccountId: deposit.suspenseAccountId,
    assignedTo: deposit.assignedTo === '' ? null : deposit.assignedTo,
    receivedAt: (deposit.receivedAt ?? new Date(0)).toISOString(),
    resolvedAt: deposit.resolvedAt ? deposit.resolvedAt.toISOString() : null,
  };
}

const accountIdDescription = 'self-describing ledger account id `<kind>:<owner>:<currency>`, e.g. `wallet:pt_1:CNY`, `escrow:task:tk_9:CNY`';

export const invariantReportSchema = z
  .object({
    conserved: z.boolean().describe('true when, for every currency, balances + inFlight = 0'),
    totalsByCurrency: z.record(
      z.string().regex(/^[A-Z]{3}$/),
      z.object({
        balances: moneySchema.describe("sum of every account's available + held (the provider's external account is negative by design)"),
        inFlight: moneySchema.describe('money that left a source leg and has not reached its destination leg yet'),
      }),
    ),
    negativeAccounts: z
      .array(z.object({ accountId: z.string().describe(accountIdDescription), available: moneySchema, held: moneySchema }))
      .describe('accounts below zero other than external ones; always empty unless an invariant is broken'),
    computedAt: z.iso.datetime().describe('RFC 3339, UTC'),
  })
  .openapi('LedgerInvariants');

/**
 * `<kind>:<owner>:<currency>` exactly as escrow reads account ids (domain/ledger/account.ts
 * `accountFromId`): one of its four kinds, an owner of 1–96 characters of `A–Z a–z 0–9 _ : -`, an
 * ISO 4217 code. Such an id of an account never opened is 404.
 */
export const accountIdPattern = /^(?:wallet|escrow|fee|external):[A-Za-z0-9_:-]{1,96}:[A-Z]{3}$/;
/** The longest id the pattern allows (`external:` + 96 + `:CNY`). */
export const accountIdLengthMax = 'external'.length + 1 + 96 + 1 + 3;

export const accountBalanceSchema = z
  .object({
    accountId: z.string().describe(accountIdDescription),
    available: moneySchema,
    held: moneySchema.describe('reserved by pending transfers'),
  })
  .openapi('LedgerAccountBalance');

export function accountBalanceView(balance: escrowV1.AccountBalance): z.input<typeof accountBalanceSchema> {
  return { accountId: balance.accountId, available: moneyJson(balance.available), held: moneyJson(balance.held) };
}

export function walletView(balance: escrowV1.AccountBalance): z.input<typeof walletSchema> {
  return { available: moneyJson(balance.available), held: moneyJson(balance.held) };
}

export function walletEntryView(entry: escrowV1.Entry, currency: string): z.input<typeof walletEntrySchema> {
  assert(entry.at !== undefined, 'escrow sent a journal entry without its time');
  assert(entry.sequence <= BigInt(Number.MAX_SAFE_INTEGER), `journal sequence ${entry.sequence} does not fit a JSON number`);
  return {
    sequence: Number(entry.sequence),
    transferId: entry.transferId,
    leg: entry.leg as z.input<typeof walletEntrySchema>['leg'],
    availableDelta: minorUnitsJson(currency, entry.availableDeltaMinor),
    heldDelta: minorUnitsJson(currency, entry.heldDeltaMinor),
    available: minorUnitsJson(currency, entry.availableMinor),
    held: minorUnitsJson(currency, entry.heldMinor),
    at: entry.at.toISOString(),
    reference: { kind: entry.referenceKind, id: entry.referenceId },
  };
}

export function withdrawalView(withdrawal: escrowV1.Withdrawal): z.input<typeof withdrawalSchema> {
  return { withdrawalId: withdrawal.withdrawalId, state: withdrawal.state as z.input<typeof withdrawalSchema>['state'], amount: moneyJson(withdrawal.amount) };
}

/** Ledger account ids end in their currency (ledger.proto `Account.id`). */
function currencyOfAccount(accountId: string): string {
  const currency = accountId.slice(accountId.lastIndexOf(':') + 1);
  assert(isCurrencyCode(currency), `ledger account id ${JSON.stringify(accountId)} does not end in a currency`);
  return currency;
}

export function invariantReportView(report: escrowV1.InvariantReport): z.input<typeof invariantReportSchema> {
  assert(report.computedAt !== undefined, 'escrow sent an invariant report without its time');
  return {
    conserved: report.conserved,
    totalsByCurrency: Object.fromEntries(
      report.totals.map((totals) => [
        totals.currency,
        { balances: minorUnitsJson(totals.currency, totals.balancesMinor), inFlight: minorUnitsJson(totals.currency, totals.inFlightMinor) },
      ]),
    ),
    negativeAccounts: report.negativeAccounts.map((account) => {
      const currency = currencyOfAccount(account.accountId);
      return { accountId: account.accountId, available: minorUnitsJson(currency, account.availableMinor), held: minorUnitsJson(currency, account.heldMinor) };
    }),
    computedAt: report.computedAt.toISOString(),
  };
}
