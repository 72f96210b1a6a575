/**
 * Test-only switches of the fault-injection run (docs/reliability.md, "The run must be able to
 * fail"): each re-introduces one fixed finding of the saga and payment issues, so the run can show
 * that it catches it. A process takes at most one, from `CHAOS_FINDING`, which its configuration
 * accepts only together with `GRPC_FAULTS` (the run's mode: nothing else sets it); unset, the
 * default, changes nothing. Code asks `findingReintroduced(name)` at the one place the fix lives.
 */

/** Every switch, with the finding it brings back. */
export const chaosFindings = {
  'compensate-unknown-outcome': 'issue 16, finding 1: a saga step that fails with an unknown outcome (a gRPC deadline, an unavailable peer) is compensated as if it had been refused',
  'no-deadline-fence': 'issue 16, finding 4: a campaign is settled at its end by the settling replica clock without the closing fence, so a pledge taken by a replica whose clock is behind may land after the books were read',
  'jobs-give-up': 'issue 17, finding 1: a deadline job gives up after five failed attempts and its work stays unfinished',
  'no-abandonment': 'issue 17, finding 2: rejected work that is never handed in again is never closed, so its money stays in escrow',
  'no-contest-rule': 'issue 17, finding 3: a contest whose owner names no winners keeps its prize in escrow after its deadline',
  'consumer-parks': 'issue 18, seed 4: a consumer parks an event in the dead-letter topic after five failed attempts whatever the failure, so a lost write race at two replicas is never applied',
} as const;

export type ChaosFinding = keyof typeof chaosFindings;

export const chaosFindingNames = Object.keys(chaosFindings) as ChaosFinding[];

let reintroduced: ChaosFinding | undefined;

/** Called once by a process's main with its validated configuration. */
export function installChaosFinding(finding: ChaosFinding | undefined): void {
  reintroduced = finding;
}

/** Whether this process runs with `finding` re-introduced (only ever in the fault-injection run). */
export function findingReintroduced(finding: ChaosFinding): boolean {
  return reintroduced === finding;
}
