/**
 * Equity routes (docs/equity.md, /openapi.json): investor profiles, rounds, lead and follow commitments,
 * cancellations and the cap table. Each handler decodes, makes one gRPC call to the equity service
 * with the caller's identity, and encodes; equity decides (ownership, visibility, limits, the lead
 * rules, cooling-off) and its refusals reach the client through the one error table. Reads of
 * investor data by regulators (profiles, cap tables) are recorded in the regulator-read audit log
 * before they are answered. Without EQUITY_GRPC_ADDRESS they answer 503 UNAVAILABLE.
 */
import type { RegulatorReadAudit } from '../audit/regulator-reads';
import { moneyMessage } from '../http/money';
import type { RouteRegistrar } from '../openapi/route';
import { type EquityConnection, equityWriteDeadlineMs } from './equity-connection';
import {
  capTableSchema,
  capTableView,
  commitmentParamsSchema,
  commitmentSchema,
  commitmentView,
  commitRequestSchema,
  createRoundMessage,
  createRoundRequestSchema,
  financialMessage,
  investorParamsSchema,
  investorProfileRequestSchema,
  investorProfileSchema,
  profileView,
  roundListQuerySchema,
  roundPageSchema,
  roundParamsSchema,
  roundSchema,
  roundView,
} from './views';
import { sameNotFound } from '../downstream/same-not-found';

const downstreamProblems = {
  503: 'The equity service (or a service it needs: escrow, credit) is unavailable, or this gateway is not connected to it (UNAVAILABLE).',
  504: 'The equity service did not answer in time (DEADLINE_EXCEEDED).',
} as const;

const unknownRound = 'No round has this id (NOT_FOUND).';

const roundLinks = {
  get: { operationId: 'getRound', description: 'The round.', parameters: { id: '$response.body#/id' } },
  lead: { operationId: 'commitAsLead', description: 'A qualified investor leads the round with its target.', parameters: { id: '$response.body#/id' }, requestBody: { amount: '$response.body#/target' } },
  commit: { operationId: 'placeCommitment', description: 'An investor follows with one share.', parameters: { id: '$response.body#/id' }, requestBody: { amount: '$response.body#/pricePerShare' } },
  capTable: { operationId: 'getCapTable', description: 'Its cap table.', parameters: { id: '$response.body#/id' } },
} as const;

const commitmentLinks = {
  get: { operationId: 'getCommitment', description: 'The commitment.', parameters: { id: '$response.body#/id' } },
  cancel: { operationId: 'cancelCommitment', description: 'Its investor cancels it.', parameters: { id: '$response.body#/id' } },
  round: { operationId: 'getRound', description: 'The round committed to.', parameters: { id: '$response.body#/roundId' } },
} as const;

export function registerEquityRoutes(routes: RouteRegistrar, connection: EquityConnection, regulatorReads: RegulatorReadAudit): void {
  const equity = () => connection.clients('equity operations').equity;

  routes.define(
    {
      method: 'put',
      path: '/v1/investors/me/profile',
      operationId: 'putInvestorProfile',
      summary: "Set the caller's investor profile; answers the 12-month limit",
      description:
        'Income and net worth are stored encrypted and shown only to the investor and to regulators (each regulator read is audited); they never appear in events or logs. ' +
        'Non-accredited investors may commit, over 12 months, the greater of EQUITY_LIMIT_FLOOR_MINOR and 5% of the greater of income and net worth when either is below ' +
        'EQUITY_LIMIT_THRESHOLD_MINOR, otherwise 10% of it, at most EQUITY_LIMIT_CAP_MINOR (Regulation Crowdfunding figures by default). Both amounts in one currency (CURRENCY_MISMATCH).',
      tags: ['equity'],
      access: ['investor'],
      request: { body: investorProfileRequestSchema },
      responses: { 200: { description: 'The profile with its limit and what is used of it.', schema: investorProfileSchema } },
      problems: { 400: 'Income and net worth in different currencies (CURRENCY_MISMATCH).', ...downstreamProblems },
    },
    async ({ body }, { identity, signal }) => {
      const profile = await equity().putInvestorProfile({ annualIncome: financialMessage(body.annualIncome), netWorth: financialMessage(body.netWorth), accredited: body.accredited }, { identity, signal });
      return { status: 200, body: profileView(profile) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/investors/{id}/profile',
      operationId: 'getInvestorProfile',
      summary: 'An investor profile (the investor, regulators, admins)',
      description: '`me` names the caller. A regulator\'s read is recorded in the regulator-read audit log before it is answered. Anyone else gets 404.',
      tags: ['equity'],
      access: 'authenticated',
      request: { params: investorParamsSchema },
      responses: { 200: { description: 'The profile.', schema: investorProfileSchema } },
      problems: { 404: 'No profile, or not the caller\'s (NOT_FOUND).', ...downstreamProblems },
    },
    async ({ params }, { identity, signal, request, traceId }) => {
      const investorId = params.id === 'me' ? identity.participantId : params.id;
      const profile = await sameNotFound(equity().getInvestorProfile({ investorId }, { identity, signal }), 'investor profile not found');
      await regulatorReads.recordIfRegulator(identity, { route: 'GET /v1/investors/{id}/profile', subject: { kind: 'investor-profile', id: investorId }, path: request.originalUrl, traceId });
      return { status: 200, body: profileView(profile) };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/rounds',
      operationId: 'createRound',
      summary: 'Open an equity round (issuer); it waits for a lead',
      description:
        'The round is `open_for_lead` until a qualified lead commits at least `leadMinBps` of the target; it closes by itself at `endsAt`. ' +
        'The Idempotency-Key also names the round inside equity, so a retry creates nothing twice.\n\n' +
        'Rules the schema cannot state (400 with `field`): target, maximum and price in one currency (CURRENCY_MISMATCH), target and maximum whole numbers of shares, ' +
        'maximum at least the target, `endsAt` between DEADLINE_MIN_MS and 90 days from now.',
      tags: ['equity'],
      access: ['issuer'],
      idempotency: 'required',
      request: { body: createRoundRequestSchema },
      responses: { 201: { description: 'The round, open for its lead.', schema: roundSchema, links: roundLinks } },
      problems: { 400: 'A rule between fields or against the clock refused a field (INVALID_ARGUMENT, LIMIT_EXCEEDED, CURRENCY_MISMATCH); `field` names it.', ...downstreamProblems },
    },
    async ({ body }, { identity, signal, idempotencyKey }) => {
      const round = await equity().createRound(createRoundMessage(body, idempotencyKey), { identity, signal, deadlineMs: equityWriteDeadlineMs });
      return { status: 201, body: roundView(round) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/rounds',
      operationId: 'listRounds',
      summary: 'List rounds',
      tags: ['equity'],
      access: 'authenticated',
      request: { query: roundListQuerySchema },
      responses: { 200: { description: 'A page of rounds.', schema: roundPageSchema, links: { firstRound: { operationId: 'getRound', description: 'The first round of the page.', parameters: { id: '$response.body#/items/0/id' } } } } },
      problems: downstreamProblems,
    },
    async ({ query }, { identity, signal }) => {
      const found = await equity().listRounds({ state: query.state ?? '', page: { limit: query.limit, cursor: query.cursor ?? '' } }, { identity, signal });
      return { status: 200, body: { items: found.rounds.map(roundView), nextCursor: found.page?.nextCursor ? found.page.nextCursor : null } };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/rounds/{id}',
      operationId: 'getRound',
      summary: 'One round',
      tags: ['equity'],
      access: 'authenticated',
      request: { params: roundParamsSchema },
      responses: { 200: { description: 'The round.', schema: roundSchema, links: { lead: roundLinks.lead, commit: roundLinks.commit, capTable: roundLinks.capTable } } },
      problems: { 404: unknownRound, ...downstreamProblems },
    },
    async ({ params }, { identity, signal }) => {
      const round = await sameNotFound(equity().getRound({ roundId: params.id }, { identity, signal }), `round ${params.id} not found`);
      return { status: 200, body: roundView(round) };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/rounds/{id}/lead',
      operationId: 'commitAsLead',
      summary: "Lead a round: the amount is held on the caller's wallet",
      description:
        'The lead must be accredited, hold a credit score (role investor) of at least EQUITY_LEAD_SCORE_MIN, not be the issuer (LEAD_NOT_QUALIFIED, `reason` says which), ' +
        'and commit at least `leadMinBps` of the target (LEAD_SHARE_TOO_SMALL). Its commitment opens the round to followers. The Idempotency-Key also names the commitment.',
      tags: ['equity'],
      access: ['investor'],
      idempotency: 'required',
      request: { params: roundParamsSchema, body: commitRequestSchema },
      responses: { 201: { description: 'The pending lead commitment.', schema: commitmentSchema, links: commitmentLinks } },
      problems: {
        400: "The amount is not a whole number of shares (INVALID_ARGUMENT) or not in the round's currency (CURRENCY_MISMATCH).",
        404: unknownRound,
        422: 'LEAD_NOT_QUALIFIED, LEAD_SHARE_TOO_SMALL, ROUND_FULL (past the oversubscription cap or the investors allowed), INSUFFICIENT_FUNDS, or INVALID_STATE (a lead is present, the round has ended, or the caller has no investor profile).',
        ...downstreamProblems,
      },
    },
    async ({ params, body }, { identity, signal, idempotencyKey }) => {
      const commitment = await equity().commitAsLead({ roundId: params.id, idempotencyKey, amount: moneyMessage(body.amount) }, { identity, signal, deadlineMs: equityWriteDeadlineMs });
      return { status: 201, body: commitmentView(commitment) };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/rounds/{id}/commitments',
      operationId: 'placeCommitment',
      summary: "Follow a round: the amount is held on the caller's wallet",
      description:
        'Accepted once the lead has committed (LEAD_REQUIRED before), within the caller\'s 12-month limit (INVESTOR_LIMIT_EXCEEDED), up to EQUITY_OVERSUBSCRIPTION_CAP_BPS of the maximum and the ' +
        'round\'s maximum number of investors (ROUND_FULL). At close the lead is served in full first and followers pro rata when the maximum is exceeded; what is not allocated returns. ' +
        'The Idempotency-Key also names the commitment.',
      tags: ['equity'],
      access: ['investor'],
      idempotency: 'required',
      request: { params: roundParamsSchema, body: commitRequestSchema },
      responses: { 201: { description: 'The pending commitment.', schema: commitmentSchema, links: commitmentLinks } },
      problems: {
        400: "The amount is not a whole number of shares (INVALID_ARGUMENT) or not in the round's currency (CURRENCY_MISMATCH).",
        403: 'An issuer may not invest in their own round (PERMISSION_DENIED).',
        404: unknownRound,
        422: 'LEAD_REQUIRED, INVESTOR_LIMIT_EXCEEDED, ROUND_FULL, INSUFFICIENT_FUNDS, or INVALID_STATE (the round has ended, or the caller has no investor profile).',
        ...downstreamProblems,
      },
    },
    async ({ params, body }, { identity, signal, idempotencyKey }) => {
      const commitment = await equity().placeCommitment({ roundId: params.id, idempotencyKey, amount: moneyMessage(body.amount) }, { identity, signal, deadlineMs: equityWriteDeadlineMs });
      return { status: 201, body: commitmentView(commitment) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/commitments/{id}',
      operationId: 'getCommitment',
      summary: "One commitment (its investor, the round's issuer, regulators, admins)",
      tags: ['equity'],
      access: 'authenticated',
      request: { params: commitmentParamsSchema },
      responses: { 200: { description: 'The commitment.', schema: commitmentSchema, links: { cancel: commitmentLinks.cancel, round: commitmentLinks.round } } },
      problems: { 404: 'No commitment has this id, or the caller may not see it (NOT_FOUND).', ...downstreamProblems },
    },
    async ({ params }, { identity, signal }) => {
      const commitment = await sameNotFound(equity().getCommitment({ commitmentId: params.id }, { identity, signal }), `commitment ${params.id} not found`);
      return { status: 200, body: commitmentView(commitment) };
    },
  );

  routes.define(
    {
      method: 'post',
      path: '/v1/commitments/{id}/cancel',
      operationId: 'cancelCommitment',
      summary: 'Cancel a pending commitment (its investor): the hold is released',
      description:
        'Allowed until EQUITY_COOLING_OFF_MS (48 hours) before `endsAt` (COOLING_OFF_ENDED after). A lead who cancels sends the round back to `open_for_lead`, and follow commitments wait for a new lead. ' +
        'Cancelling a cancelled commitment answers it unchanged.',
      tags: ['equity'],
      access: ['investor'],
      request: { params: commitmentParamsSchema },
      responses: { 200: { description: 'The cancelled commitment.', schema: commitmentSchema, links: { get: commitmentLinks.get, round: commitmentLinks.round } } },
      problems: { 404: "No commitment has this id, or it is not the caller's (NOT_FOUND).", 422: 'COOLING_OFF_ENDED, or INVALID_STATE (the commitment was resolved at close).', ...downstreamProblems },
    },
    async ({ params }, { identity, signal }) => {
      const commitment = await sameNotFound(equity().cancelCommitment({ commitmentId: params.id }, { identity, signal, deadlineMs: equityWriteDeadlineMs }), `commitment ${params.id} not found`);
      return { status: 200, body: commitmentView(commitment) };
    },
  );

  routes.define(
    {
      method: 'get',
      path: '/v1/rounds/{id}/cap-table',
      operationId: 'getCapTable',
      summary: "A round's cap table (its issuer, its investors, regulators, admins)",
      description: 'Holders are listed once the round is closed. Anyone else gets 404, as if the round had no cap table. A regulator\'s read is audited.',
      tags: ['equity'],
      access: 'authenticated',
      request: { params: roundParamsSchema },
      responses: { 200: { description: 'The cap table.', schema: capTableSchema } },
      problems: { 404: `${unknownRound} Or the caller is not its issuer, one of its investors, a regulator or an admin.`, ...downstreamProblems },
    },
    async ({ params }, { identity, signal, request, traceId }) => {
      const table = await sameNotFound(equity().getCapTable({ roundId: params.id }, { identity, signal }), `round ${params.id} not found, or its cap table is not visible to the caller`);
      await regulatorReads.recordIfRegulator(identity, { route: 'GET /v1/rounds/{id}/cap-table', subject: { kind: 'cap-table', id: params.id }, path: request.originalUrl, traceId });
      return { status: 200, body: capTableView(table) };
    },
  );
}
