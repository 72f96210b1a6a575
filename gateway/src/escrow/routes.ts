/**
 * Wallet and ledger routes (docs/escrow.md, /openapi.json): the caller's wallet and
 * journal, withdrawals, the payment provider's webhook and the ledger's invariant report. Each
 * handler decodes, makes one gRPC call to escrow with the caller's identity, and encodes; escrow
 * decides. Without ESCROW_GRPC_ADDRESS they answer 503 UNAVAILABLE (see escrow-connection.ts).
 */
import { pageQuerySchema, pageSchema } from '../http/paging';
import { DomainError } from '@sizhong/kit';
import { HttpRefusal } from '../http/problem';
import { currencySchema, moneyMessage } from '../http/money';
import type { RouteRegistrar } from '../openapi/route';
import { z } from '../openapi/zod';
import type { EscrowConnection } from './escrow-connection';
import {
  accountBalanceSchema,
  accountBalanceView,
  accountIdLengthMax,
  accountIdPattern,
  invariantReportSchema,
  invariantReportView,
  paymentProviderEventSchema,
  paymentProviderOutcomeSchema,
  assignSuspenseRequestSchema,
  suspenseDepositSchema,
  suspenseDepositView,
  walletEntryPageSchema,
  walletEntryView,
  walletSchema,
  walletView,
  withdrawalRequestSchema,
  withdrawalSchema,
  withdrawalView,
} from './views';

/** The header the payment provider signs its webhooks with (as node delivers it, in lower case). */
export const signatureHeader = 'sizhong-signature';

/** Escrow pages a journal by sequence number (at most 15 digits); the page starts below the cursor's. */
const sequenceCursorSchema = z.string().regex(/^[1-9][0-9]{0,14}$/, 'a journal sequence number').describe('a journal sequence number');

const downstreamProblems = {
  503: 'The escrow service is unavailable, or this gateway is not connected to it (UNAVAILABLE).',
  504: 'The escrow service did not answer in time (DEADLINE_EXCEEDED).',
} as const;

/** Named in the 503 answered without escrow. */
const walletOperations = 'wallet and ledger operations';

/** A deposit's id: `dp_` and 32 hex digits (a position in the suspense list, too). */
const depositIdSchema = z.string().regex(/^dp_[0-9a-f]{32}$/, 'a deposit id').describe('a deposit id, `dp_` and 32 hex digits');

const walletQuerySchema = z.object({ currency: currencySchema.default('CNY') });

function parsedEvent(body: Buffer): { type?: unknown; participantId?: unknown } | undefined {
  try {
    const parsed: unknown = JSON.parse(body.toString('utf8'));
    return parsed !== null && typeof parsed === 'object' ? (parsed as { type?: unknown; participantId?: unknown }) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether a participant id names someone the platform knows (the gateway's participant store, by `_id`). */
export type KnownParticipant = (participantId: string) => Promise<boolean>;

export function registerEscrowRoutes(routes: RouteRegistrar, escrow: EscrowConnection, knownParticipant: KnownParticipant): void {
  routes.define(
    {
      method: 'get',
      path: '/v1/wallet',
      operationId: 'getWallet',
      summary: "The caller's wallet in one currency",
      description: 'A wallet exists for every participant and currency; one never used holds zero.',
      tags: ['wallet'],
      access: 'authenticated',
      request: { query: walletQuerySchema },
      responses: { 200: { description: 'Available and held money.', schema: walletSchema } },
      problems: downstreamProblems,
    },
    async ({ query }, { identity, signal }) => {
      const balance = await escrow.clients(walletOperations).wallet.getWallet({ currency: query.currency }, { identity, signal });
      return { status: 200, body: walletView(balance) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/wallet/entries',
      operationId: 'listWalletEntries',
      summary: "Journal entries of the caller's wallet, newest first",
      tags: ['wallet'],
      access: 'authenticated',
      request: { query: pageQuerySchema(sequenceCursorSchema).extend(walletQuerySchema.shape) },
      responses: { 200: { description: 'A page of entries.', schema: walletEntryPageSchema } },
      problems: downstreamProblems,
    },
    async ({ query }, { identity, signal }) => {
      const found = await escrow.clients(walletOperations).wallet.listWalletEntries(
        { currency: query.currency, page: { limit: query.limit, cursor: query.cursor ?? '' } },
        { identity, signal },
      );
      const nextSequence = found.page?.nextCursor ?? '';
      return {
        status: 200,
        body: { items: found.entries.map((entry) => walletEntryView(entry, query.currency)), nextCursor: nextSequence === '' ? null : nextSequence },
      };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/wallet/withdrawals',
      operationId: 'requestWithdrawal',
      summary: "Pay money out of the caller's wallet to the payment provider",
      description: 'The sandbox provider pays out at once, so a withdrawal answers `completed`. The Idempotency-Key also names the withdrawal inside escrow.',
      tags: ['wallet'],
      access: 'authenticated',
      idempotency: 'required',
      request: { body: withdrawalRequestSchema },
      responses: {
        201: {
          description: 'The withdrawal.',
          schema: withdrawalSchema,
          links: {
            wallet: { operationId: 'getWallet', description: 'The wallet the money left.', parameters: { currency: '$response.body#/amount/currency' } },
            entries: { operationId: 'listWalletEntries', description: 'The journal, with the withdrawal on top.', parameters: { currency: '$response.body#/amount/currency' } },
          },
        },
      },
      problems: { 422: 'The wallet does not hold that much available money (INSUFFICIENT_FUNDS).', ...downstreamProblems },
    },
    async ({ body }, { identity, signal, idempotencyKey }) => {
      const withdrawal = await escrow.clients(walletOperations).wallet.requestWithdrawal({ idempotencyKey, amount: moneyMessage(body.amount) }, { identity, signal });
      return { status: 201, body: withdrawalView(withdrawal) };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/psp/webhooks',
      operationId: 'receivePaymentProviderEvent',
      summary: "The payment provider's signed webhook",
      description:
        'Called by the payment provider, not by participants: no access token, no Idempotency-Key, rate limited per client address only. ' +
        'The body is passed to escrow as the exact bytes received; escrow checks `Sizhong-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">` ' +
        '(a signature more than 5 minutes old or new is refused) and applies each event id once: a replay answers 200 `already_applied`.',
      tags: ['payment provider'],
      access: 'public',
      idempotency: 'none',
      request: {
        headers: z.object({ [signatureHeader]: z.string().optional().describe('`t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`') }),
        rawBody: { schema: paymentProviderEventSchema },
      },
      responses: { 200: { description: 'The event was applied now (to the wallet, or held in suspense when the participant is unknown), before, or ignored.', schema: paymentProviderOutcomeSchema } },
      problems: {
        400: 'The signed body is not a valid event (INVALID_ARGUMENT).',
        401: 'The signature header is missing, malformed, outside the time tolerance or does not match the body (SIGNATURE_INVALID).',
        413: 'Escrow takes webhook bodies of at most 16 KiB (PAYLOAD_TOO_LARGE).',
        422: 'An event id seen before arrived with different content (IDEMPOTENCY_KEY_REUSED).',
        ...downstreamProblems,
      },
    },
    async ({ headers, body }, { signal }) => {
      const signature = headers[signatureHeader];
      if (signature === undefined) throw new HttpRefusal('SIGNATURE_INVALID', `the ${signatureHeader} header is missing`);
      // The provider has moved the money already: a deposit for a participant id nobody has is still
      // taken (200), into a suspense account an admin resolves, never into a made-up wallet.
      // (A body that is not an event is escrow's to refuse, from the exact bytes.)
      const event = parsedEvent(body);
      const recipientUnknown = event?.type === 'deposit.succeeded' && typeof event.participantId === 'string' && !(await knownParticipant(event.participantId));
      const outcome = await escrow.clients(walletOperations).wallet.applyPaymentProviderEvent({ body, signature, recipientUnknown }, { signal });
      return { status: 200, body: { eventId: outcome.eventId, outcome: outcome.outcome as z.input<typeof paymentProviderOutcomeSchema>['outcome'] } };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/ledger/invariants',
      operationId: 'getLedgerInvariants',
      summary: 'Conservation of money and accounts below zero, computed now',
      description: 'Reads every account, so it is meant for supervision, not for polling.',
      tags: ['ledger'],
      access: ['admin', 'regulator'],
      responses: { 200: { description: 'The invariant report.', schema: invariantReportSchema } },
      problems: downstreamProblems,
    },
    async (_input, { identity, signal }) => {
      const report = await escrow.clients(walletOperations).ledger.getInvariants({}, { identity, signal });
      return { status: 200, body: invariantReportView(report) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/ledger/accounts/{accountId}',
      operationId: 'getLedgerAccount',
      summary: 'The balance of any ledger account (supervision)',
      description:
        'For regulators and admins: a wallet, a deal\'s escrow account (`escrow:campaign:<campaign id>:CNY`), the platform fee account ' +
        '(`fee:platform:CNY`) or the payment provider\'s external account (`external:psp:CNY`).',
      tags: ['ledger'],
      access: ['admin', 'regulator'],
      request: {
        params: z.object({
          accountId: z
            .string()
            .max(accountIdLengthMax)
            .regex(accountIdPattern, 'expected <kind>:<owner>:<currency>, kind one of wallet, escrow, fee, external')
            .describe('self-describing ledger account id `<kind>:<owner>:<currency>`'),
        }),
      },
      responses: { 200: { description: 'Available and held money of the account.', schema: accountBalanceSchema } },
      problems: { 404: 'No such account (NOT_FOUND).', ...downstreamProblems },
    },
    async ({ params }, { identity, signal }) => {
      const balance = await escrow.clients(walletOperations).ledger.getBalance({ accountId: params.accountId }, { identity, signal });
      return { status: 200, body: accountBalanceView(balance) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/admin/suspense-deposits',
      operationId: 'listSuspenseDeposits',
      summary: 'Deposits held in suspense, and how each was resolved (admin)',
      description: 'A deposit whose participant id names nobody the platform knows is held in a suspense account of its own until an admin assigns it to a participant or refunds it to the provider.',
      tags: ['admin'],
      access: ['admin'],
      request: { query: pageQuerySchema(depositIdSchema) },
      responses: {
        200: {
          description: 'A page of deposits in suspense, in id order.',
          schema: pageSchema(suspenseDepositSchema).openapi('SuspenseDepositPage'),
          links: { refundFirst: { operationId: 'refundSuspenseDeposit', description: 'Refund the first deposit of the page.', parameters: { id: '$response.body#/items/0/depositId' } } },
        },
      },
      problems: downstreamProblems,
    },
    async ({ query }, { identity, signal }) => {
      const found = await escrow.clients(walletOperations).wallet.listSuspenseDeposits({ page: { limit: query.limit, cursor: query.cursor ?? '' } }, { identity, signal });
      return { status: 200, body: { items: found.deposits.map(suspenseDepositView), nextCursor: found.page?.nextCursor ? found.page.nextCursor : null } };
    },
  );

  const resolutionProblems = {
    404: 'No deposit with this id is held in suspense (NOT_FOUND).',
    409: 'The deposit was already resolved otherwise (ALREADY_DECIDED, the problem member `decision`: assigned or refunded); the same resolution again is answered 200.',
    ...downstreamProblems,
  };
  const oneResolution = 'One resolution per deposit: the single ledger transfer out of the suspense account decides, so two admins cannot both move the money.';

  routes.define(
    {
      method: 'post',
      path: '/v1/admin/suspense-deposits/{id}/assign',
      operationId: 'assignSuspenseDeposit',
      summary: "Assign a deposit held in suspense to a participant's wallet (admin)",
      description: oneResolution,
      tags: ['admin'],
      access: ['admin'],
      request: { params: z.object({ id: depositIdSchema }), body: assignSuspenseRequestSchema },
      responses: { 200: { description: 'The deposit, assigned.', schema: suspenseDepositSchema } },
      problems: { ...resolutionProblems, 404: 'No deposit with this id is held in suspense, or no participant has the id to assign to (NOT_FOUND).' },
    },
    async ({ params, body }, { identity, signal }) => {
      if (!(await knownParticipant(body.participantId))) throw new DomainError('NOT_FOUND', `participant ${body.participantId} not found`);
      const request = { depositId: params.id, action: 'assign', participantId: body.participantId };
      return { status: 200, body: suspenseDepositView(await escrow.clients(walletOperations).wallet.resolveSuspenseDeposit(request, { identity, signal })) };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/admin/suspense-deposits/{id}/refund',
      operationId: 'refundSuspenseDeposit',
      summary: 'Refund a deposit held in suspense to the payment provider (admin)',
      description: oneResolution,
      tags: ['admin'],
      access: ['admin'],
      request: { params: z.object({ id: depositIdSchema }) },
      responses: { 200: { description: 'The deposit, refunded.', schema: suspenseDepositSchema } },
      problems: resolutionProblems,
    },
    async ({ params }, { identity, signal }) => {
      const request = { depositId: params.id, action: 'refund', participantId: '' };
      return { status: 200, body: suspenseDepositView(await escrow.clients(walletOperations).wallet.resolveSuspenseDeposit(request, { identity, signal })) };
    },
  );
}
