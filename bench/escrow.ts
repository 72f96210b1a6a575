/**
 * `npm run bench:escrow`: pledges per second and their p50 / p99 latency through the escrow gRPC
 * API (escrow runs as its own process, as in production), and in the same run a bare baseline:
 * one document insert per request against the same MongoDB-wire server. Prints the ratio.
 *
 * Options (environment): BENCH_PLEDGES (default 2000), BENCH_CONCURRENCY (default 16).
 * Not part of `npm test`: timings depend on the machine; see docs/benchmarks.md for figures.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { connectMongo, createGrpcClient, DomainError } from '@sizhong/kit';
import { escrowV1 } from '@sizhong/proto';
import { ensureInfrastructure, findFreePort } from '../packages/testkit/src/infra';
import { signPayload } from '../services/escrow/src/app/payment-provider';

const pledges = Number(process.env['BENCH_PLEDGES'] ?? 2_000);
const concurrency = Number(process.env['BENCH_CONCURRENCY'] ?? 16);
/** A backer holds at most 10 pledges per campaign (pledgesPerBackerMax). */
const backers = Math.ceil(pledges / 10);
const secret = 'bench-webhook-secret-0123456789abcdef';
const repositoryRoot = join(__dirname, '..');
const runId = Date.now().toString(36);
const database = `bench_${runId}`;

function percentile(sortedMs: number[], fraction: number): number {
  return sortedMs[Math.min(sortedMs.length - 1, Math.floor(sortedMs.length * fraction))] ?? 0;
}

/** Runs `count` requests with `concurrency` in flight; returns the per-request latencies and the wall time. */
async function drive(label: string, count: number, request: (index: number) => Promise<unknown>): Promise<{ latenciesMs: number[]; wallMs: number }> {
  const latenciesMs: number[] = [];
  let next = 0;
  let done = 0;
  const started = performance.now();
  const progress = setInterval(() => console.log(`  ${label}: ${done}/${count}`), 5_000);
  try {
    await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (let index = next++; index < count; index = next++) {
        const begin = performance.now();
        await request(index);
        latenciesMs.push(performance.now() - begin);
        done += 1;
      }
    }),
    );
  } finally {
    clearInterval(progress);
  }
  console.log(`  ${label}: ${done}/${count} done`);
  return { latenciesMs: latenciesMs.sort((left, right) => left - right), wallMs: performance.now() - started };
}

function report(label: string, result: { latenciesMs: number[]; wallMs: number }): number {
  const perSecond = (result.latenciesMs.length / result.wallMs) * 1_000;
  console.log(`  ${label.padEnd(34)} ${perSecond.toFixed(0).padStart(6)}/s   p50 ${percentile(result.latenciesMs, 0.5).toFixed(1).padStart(6)} ms   p99 ${percentile(result.latenciesMs, 0.99).toFixed(1).padStart(6)} ms`);
  return perSecond;
}

async function main(): Promise<void> {
  console.log(`Escrow benchmark: ${pledges} pledges, ${concurrency} in flight, ${backers} backers`);
  const infrastructure = await ensureInfrastructure({ log: (line) => console.log(`  infra: ${line}`) });
  const port = await findFreePort();
  const escrow: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(repositoryRoot, 'services', 'escrow', 'src', 'main.ts')], {
    cwd: repositoryRoot,
    env: {
      ...process.env,
      MONGO_URL: infrastructure.mongoUrl,
      KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','),
      ESCROW_DATABASE: database,
      KAFKA_TOPIC_PREFIX: `bench.${runId}.`,
      PSP_WEBHOOK_SECRET: secret,
      GRPC_PORT: String(port),
      LOG_LEVEL: 'warn',
      DEADLINE_MIN_MS: '1000',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const address = `127.0.0.1:${port}`;
  const wallet = createGrpcClient(escrowV1.WalletServiceService, address, { deadlineMs: 60_000 });
  const campaigns = createGrpcClient(escrowV1.CampaignServiceService, address, { deadlineMs: 60_000 });
  const creator = { participantId: 'pt_bench_creator', roles: ['creator' as const] };
  try {
    for (let attempt = 0; ; attempt += 1) {
      try {
        await wallet.call.getWallet({ currency: 'CNY' }, { identity: creator });
        break;
      } catch (error) {
        if (!(error instanceof DomainError) || attempt > 300) throw error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    console.log('  escrow is up; funding backers…');
    await Promise.all(
      Array.from({ length: backers }, async (_, backer) => {
        const body = Buffer.from(JSON.stringify({ id: `bench_${runId}_${backer}`, type: 'deposit.succeeded', participantId: `pt_bench_${backer}`, amount: { currency: 'CNY', amountMinor: String(10n ** 12n) } }));
        await wallet.call.applyPaymentProviderEvent({ body, signature: signPayload(new TextEncoder().encode(secret), body, Math.floor(Date.now() / 1000)) });
      }),
    );
    const now = Date.now();
    const draft = await campaigns.call.createCampaign(
      {
        idempotencyKey: runId,
        title: 'Benchmark campaign',
        description: 'Unlimited tier',
        goal: { currency: 'CNY', amountMinor: 1_000n },
        fundingModel: 'keep_it_all',
        endsAt: new Date(now + 3_600_000),
        deliveryDate: new Date(now + 7_200_000),
        tiers: [{ title: 'Any', price: { currency: 'CNY', amountMinor: 100n } }],
        milestones: [],
      },
      { identity: creator },
    );
    const campaign = await campaigns.call.launchCampaign({ campaignId: draft.id }, { identity: creator });
    const tierId = campaign.tiers[0]!.id;

    const pledgeRun = await drive('pledges via gRPC', pledges, (index) =>
      campaigns.call.placePledge(
        { campaignId: campaign.id, idempotencyKey: `p${index}`, tierId, amount: { currency: 'CNY', amountMinor: 100n } },
        { identity: { participantId: `pt_bench_${index % backers}`, roles: ['backer'] } },
      ),
    );

    const mongo = await connectMongo(infrastructure.mongoUrl, `${database}_baseline`);
    const collection = mongo.collection('inserts');
    const baselineRun = await drive('baseline inserts', pledges, (index) => collection.insertOne({ _id: `i${index}` as never, amountMinor: 100n, at: new Date() }));
    await mongo.db.dropDatabase();
    await mongo.close();

    console.log('\nResults');
    const pledgeRate = report('pledges through escrow gRPC', pledgeRun);
    const baselineRate = report('bare insert (same MongoDB server)', baselineRun);
    console.log(`  ratio: a pledge costs ${(baselineRate / pledgeRate).toFixed(1)}× a bare insert (pledge = campaign write + hold on the wallet + pledge insert, each an insert-based CAS)`);
  } finally {
    wallet.close();
    campaigns.close();
    escrow.kill('SIGTERM');
    const cleanup = await connectMongo(infrastructure.mongoUrl, database);
    await cleanup.db.dropDatabase();
    await cleanup.close();
    await infrastructure.stop();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
