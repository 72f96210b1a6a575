/** Progress reporting for steps that can take seconds to minutes (downloads, builds, readiness). */

/** Receives one human-readable line at a time; callers decide where it goes (stderr, nowhere). */
export type InfrastructureLog = (line: string) => void;

/** How often a long step repeats that it is still working, so a silent terminal never looks hung. */
export const progressIntervalMs = 10_000;

export const writeToStandardError: InfrastructureLog = (line) => {
  process.stderr.write(`[infra] ${line}\n`);
};

export const discardLog: InfrastructureLog = () => undefined;

export function formatSeconds(durationMs: number): string {
  return `${(durationMs / 1000).toFixed(1)} s`;
}

/** Runs `work`, announcing its start, a heartbeat every `progressIntervalMs`, and its duration. */
export async function withProgress<T>(log: InfrastructureLog, description: string, work: () => Promise<T>): Promise<T> {
  const startedAtMs = Date.now();
  log(`${description}…`);
  const heartbeat = setInterval(() => log(`${description}… ${formatSeconds(Date.now() - startedAtMs)}`), progressIntervalMs);
  heartbeat.unref();
  try {
    const result = await work();
    log(`${description}: done in ${formatSeconds(Date.now() - startedAtMs)}`);
    return result;
  } finally {
    clearInterval(heartbeat);
  }
}
