/**
 * `npm run bench:sign-in`: sign-ins under load through the public HTTP API (issue 19). The gateway
 * runs as its own process (as `npm start` runs it) on the MongoDB-wire server, without services:
 * sign-in needs none. One participant signs up; then
 *   1. alone: BENCH_SOLO sign-ins one after another give the time of one (one scrypt hash at the
 *      gateway's cost, plus the request), and so what the machine's cores allow per second;
 *   2. bursts: BENCH_ROUNDS rounds of BENCH_BURST concurrent sign-ins. Each request must be
 *      answered — 200, or 503 UNAVAILABLE with Retry-After once the hashing queue is full
 *      (identity/hashing-gate.ts) — none dropped. Reported: answers by status, successes per second
 *      against the cores' allowance (goal: at least 1.0 of `cores / solo time`, less a tenth for
 *      the driver sharing the machine), and the latency of successes and of refusals (a refusal
 *      should be immediate: that is the point of the queue's bound).
 *
 * Settings (environment), with their defaults:
 *   BENCH_SOLO=10     sign-ins one at a time
 *   BENCH_BURST=200   concurrent sign-ins per round
 *   BENCH_ROUNDS=3    rounds
 * Everything the run creates (the gateway process, its database) is removed at the end, also on
 * failure or Ctrl-C. Figures are in docs/benchmarks.md.
 */
import { randomUUID } from 'node:crypto';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { passwordHashQueueMax } from '../gateway/src/identity/hashing-gate';
import { percentile } from './support/driver';

const sortedPercentile = (values: readonly number[], fraction: number) => percentile([...values].sort((first, second) => first - second), fraction);
import { Cleanup, dropDatabasesAtCleanup, repositoryRoot, startInfrastructure, startNodeChild } from './support/processes';
import { describeMachine, formatInteger, formatMs, integerSetting, printHeader } from './support/report';

const solo = integerSetting('BENCH_SOLO', 10);
const burst = integerSetting('BENCH_BURST', 200);
const rounds = integerSetting('BENCH_ROUNDS', 3);
/** Successes per second as a fraction of what the cores allow (one hash per core at the solo time), less a tenth for the driver. */
const throughputGoal = 0.9;

interface Answer {
  readonly status: number;
  readonly ms: number;
  readonly retryAfter: string | null;
}

async function signIn(url: string, email: string, password: string): Promise<Answer> {
  const startedAt = performance.now();
  try {
    const response = await fetch(`${url}/v1/auth/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
    await response.arrayBuffer();
    return { status: response.status, ms: performance.now() - startedAt, retryAfter: response.headers.get('retry-after') };
  } catch {
    return { status: 0, ms: performance.now() - startedAt, retryAfter: null };
  }
}

async function main(): Promise<void> {
  const cleanup = new Cleanup();
  try {
    const cores = availableParallelism();
    printHeader('Sign-ins under load', 'bench:sign-in', { BENCH_SOLO: solo, BENCH_BURST: burst, BENCH_ROUNDS: rounds, cores, passwordHashQueueMax });
    const infrastructure = await startInfrastructure(cleanup);
    const database = `bench_sign_in_${randomUUID().slice(0, 8)}`;
    dropDatabasesAtCleanup(cleanup, infrastructure.mongoUrl, [database]);
    const gateway = startNodeChild(cleanup, {
      name: 'gateway',
      script: join(repositoryRoot, 'gateway', 'src', 'main.ts'),
      environment: {
        ...process.env,
        MONGO_URL: infrastructure.mongoUrl,
        GATEWAY_DATABASE: database,
        GATEWAY_HOST: '127.0.0.1',
        GATEWAY_PORT: '0',
        AUTH_TOKEN_SECRET: `bench-token-secret-${randomUUID()}`,
        RATE_LIMIT_IP_BURST: '1000000',
        RATE_LIMIT_IP_PER_SECOND: '1000000',
        LOG_LEVEL: 'warn',
      },
    });
    const url = (JSON.parse(await gateway.waitForLine(/"msg":"gateway listening"/)) as { url: string }).url;
    const email = `bench-${randomUUID()}@example.org`;
    const password = 'a-long-bench-password';
    const signedUp = await fetch(`${url}/v1/auth/signup`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password, displayName: 'Bench', roles: ['backer'] }) });
    if (signedUp.status !== 201) throw new Error(`sign-up answered ${signedUp.status}`);

    const alone: number[] = [];
    for (let index = 0; index < solo; index++) {
      const answer = await signIn(url, email, password);
      if (answer.status !== 200) throw new Error(`a sign-in alone answered ${answer.status}`);
      alone.push(answer.ms);
    }
    const soloMs = sortedPercentile(alone, 0.5);
    const allowance = (cores * 1_000) / soloMs;
    console.log(`\nalone: a sign-in takes ${formatMs(soloMs)} (median of ${solo}); ${cores} cores allow about ${allowance.toFixed(1)} sign-ins/s`);

    console.log(`\n| round | answered | 200 | 503 (Retry-After) | dropped | wall | sign-ins/s | of the cores' allowance | p50 / p99 of 200s | p50 / p99 of 503s |`);
    console.log('|---|---|---|---|---|---|---|---|---|---|');
    let worst = Number.POSITIVE_INFINITY;
    let dropped = 0;
    for (let round = 1; round <= rounds; round++) {
      const startedAt = performance.now();
      const answers = await Promise.all(Array.from({ length: burst }, () => signIn(url, email, password)));
      const wallMs = performance.now() - startedAt;
      const succeeded = answers.filter((answer) => answer.status === 200);
      const refused = answers.filter((answer) => answer.status === 503);
      const withRetryAfter = refused.filter((answer) => answer.retryAfter !== null).length;
      const lost = answers.filter((answer) => answer.status === 0).length;
      dropped += lost;
      // The successes finish within the wall time: that is the rate they were served at.
      const perSecond = (succeeded.length * 1_000) / Math.max(...succeeded.map((answer) => answer.ms), 1);
      worst = Math.min(worst, perSecond / allowance);
      const latency = (list: readonly Answer[]) => (list.length === 0 ? '—' : `${formatMs(sortedPercentile(list.map((answer) => answer.ms), 0.5))} / ${formatMs(sortedPercentile(list.map((answer) => answer.ms), 0.99))}`);
      console.log(
        `| ${round} | ${formatInteger(answers.length - lost)} | ${formatInteger(succeeded.length)} | ${formatInteger(refused.length)} (${withRetryAfter}) | ${lost} | ${formatMs(wallMs)} | ${perSecond.toFixed(1)} | ${(perSecond / allowance).toFixed(2)} | ${latency(succeeded)} | ${latency(refused)} |`,
      );
      // Let the queue drain and the refused clients' Retry-After pass before the next crowd.
      await new Promise((resolve) => setTimeout(resolve, 2_500));
    }
    console.log('');
    console.log(`goal: every request answered (dropped: ${dropped}) — ${dropped === 0 ? 'met' : 'NOT met'}`);
    console.log(`goal: sign-ins/s at least ${throughputGoal} of what the cores allow (worst round ${worst.toFixed(2)}) — ${worst >= throughputGoal ? 'met' : 'NOT met'}`);
    console.log(`machine: ${(await describeMachine(infrastructure)).join('; ')}`);
  } finally {
    await cleanup.run();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : String(error));
  process.exit(1);
});
