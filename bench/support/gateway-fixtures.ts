/**
 * What the benchmarks that drive the public HTTP API set up first, through that API: participants
 * signed up with tokens, backers funded through the signed payment-provider webhook, and launched
 * campaigns (bench:gateway and bench:tracing).
 */
import { type CampaignSpecification, campaignSpecification, currency, launchedCampaign, type LaunchedCampaign, signedDeposit } from './fixtures';
import { requireAllCompleted, runClosedLoop } from './driver';
import type { HttpClient } from './http-client';

/** Sign-ups and token requests at once: each is a scrypt hash on the gateway's libuv pool (4 threads). */
const signupConcurrency = 4;
const password = 'correct horse battery staple';

export interface Participant {
  readonly participantId: string;
  readonly token: string;
}

export async function signUpParticipants(http: HttpClient, options: { runId: string; backers: number; signal: AbortSignal }): Promise<{ creator: Participant; backerList: Participant[] }> {
  const { runId, backers, signal } = options;
  console.log(`  signing up a creator and ${backers} backers (scrypt: about a second each on a busy gateway)`);
  const participants: Participant[] = [];
  await runClosedLoop({
    label: 'sign-ups',
    count: backers + 1,
    concurrency: signupConcurrency,
    signal,
    request: async (index) => {
      const email = `bench.${runId}.${index}@example.org`;
      const roles = index === backers ? ['creator'] : ['backer'];
      const signup = await http.expect<{ participantId: string }>(201, 'POST', '/v1/auth/signup', {
        json: { email, password, displayName: `Bench ${index}`, roles },
        headers: { 'idempotency-key': `${runId}-signup-${index}` },
      });
      const issued = await http.expect<{ accessToken: string }>(200, 'POST', '/v1/auth/token', { json: { email, password } });
      participants[index] = { participantId: signup.participantId, token: issued.accessToken };
    },
  }).then(requireAllCompleted);
  return { creator: participants[backers]!, backerList: participants.slice(0, backers) };
}

export async function fundBackers(http: HttpClient, backerList: readonly Participant[], options: { runId: string; webhookSecret: string; concurrency: number; signal: AbortSignal }): Promise<void> {
  const { runId, webhookSecret, concurrency, signal } = options;
  await runClosedLoop({
    label: 'funding backers',
    count: backerList.length,
    concurrency,
    signal,
    request: (index) => {
      const deposit = signedDeposit(webhookSecret, `bench_${runId}_${index}`, backerList[index]!.participantId);
      return http.expect(200, 'POST', '/v1/psp/webhooks', { rawBody: deposit.body, headers: { 'sizhong-signature': deposit.signature } });
    },
  }).then(requireAllCompleted);
}

export async function launchCampaigns(http: HttpClient, creator: Participant, count: number, options: { runId: string; concurrency: number; signal: AbortSignal }): Promise<LaunchedCampaign[]> {
  const { runId, concurrency, signal } = options;
  const launched: LaunchedCampaign[] = [];
  const now = new Date();
  await runClosedLoop({
    label: 'campaigns',
    count,
    concurrency,
    signal,
    request: async (index) => {
      const draft = await http.expect<{ id: string }>(201, 'POST', '/v1/campaigns', {
        json: campaignJson(campaignSpecification(`Benchmark campaign ${index}`, now)),
        token: creator.token,
        headers: { 'idempotency-key': `${runId}-campaign-${index}` },
      });
      const live = await http.expect<{ id: string; tiers: Array<{ id: string; title: string }> }>(200, 'POST', `/v1/campaigns/${draft.id}/launch`, {
        token: creator.token,
        headers: { 'idempotency-key': `${runId}-launch-${index}` },
      });
      launched[index] = launchedCampaign(live);
    },
  }).then(requireAllCompleted);
  return launched;
}

function campaignJson(specification: CampaignSpecification): unknown {
  return {
    title: specification.title,
    description: specification.description,
    goal: { currency, amountMinor: specification.goalMinor.toString() },
    fundingModel: specification.fundingModel,
    endsAt: specification.endsAt.toISOString(),
    deliveryDate: specification.deliveryDate.toISOString(),
    tiers: specification.tiers.map((tier) => ({ title: tier.title, price: { currency, amountMinor: tier.priceMinor.toString() }, ...(tier.quantity === undefined ? {} : { quantity: tier.quantity }) })),
  };
}
