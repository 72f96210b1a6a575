/**
 * Readiness: the gateway's own database answers a ping, and every downstream service that is
 * configured answers grpc.health.v1 SERVING, each within a short deadline. Checks run in parallel,
 * so /readyz answers within about one deadline however many services there are.
 */
import { checkHealth, type MongoConnection } from '@sizhong/kit';
import type { DownstreamName } from '../config';

export type CheckStatus = 'up' | 'down';

export interface Readiness {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, CheckStatus>>;
}

export interface ReadinessDependencies {
  readonly mongo: MongoConnection;
  readonly downstream: Partial<Record<DownstreamName, string>>;
  readonly deadlineMs: number;
}

function withinDeadline(work: Promise<unknown>, deadlineMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), deadlineMs);
  });
  return Promise.race([work.then(() => true, () => false), deadline]).finally(() => clearTimeout(timer));
}

export async function checkReadiness(dependencies: ReadinessDependencies): Promise<Readiness> {
  const probes: Array<Promise<readonly [string, CheckStatus]>> = [
    withinDeadline(dependencies.mongo.db.command({ ping: 1 }), dependencies.deadlineMs).then((up) => ['mongo', up ? 'up' : 'down'] as const),
  ];
  for (const [name, address] of Object.entries(dependencies.downstream)) {
    if (address === undefined) continue;
    probes.push(checkHealth(address, { deadlineMs: dependencies.deadlineMs }).then((serving) => [name, serving ? 'up' : 'down'] as const));
  }
  const checks = Object.fromEntries(await Promise.all(probes));
  return { ready: Object.values(checks).every((status) => status === 'up'), checks };
}
