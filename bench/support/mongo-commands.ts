/**
 * The benchmark's side of BENCH_COUNT_COMMANDS=1: asks a child that preloads
 * bench/diagnostics/count-mongo-commands.ts for its command counts after each scenario, and
 * prints them per pledge: how many round trips to the database one pledge costs, and where.
 */
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { mongoCommandsReportPrefix } from '../diagnostics/report-prefix';
import { repositoryRoot } from './processes';

export { mongoCommandsReportPrefix };
export const mongoCommandsPreload = join(repositoryRoot, 'bench', 'diagnostics', 'count-mongo-commands.ts');

export type CommandTallies = Record<string, { count: number; totalMs: number }>;

/** How long a child may take to answer SIGUSR2 with its counts. */
const reportTimeoutMs = 10_000;

export class MongoCommandCounts {
  private waiting: ((tallies: CommandTallies) => void) | undefined;

  /** Give this to the child's `onReport`. */
  readonly onReport = (text: string): void => {
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.(JSON.parse(text) as CommandTallies);
  };

  /** The child's counts since the last collection (and resets them there). */
  collect(child: ChildProcess): Promise<CommandTallies> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the child sent no command counts: was it started with the preload?')), reportTimeoutMs);
      this.waiting = (tallies) => {
        clearTimeout(timer);
        resolve(tallies);
      };
      child.kill('SIGUSR2');
    });
  }
}

/** Lines such as `  6.02 insert pledges (0.9 ms each)`, most frequent first, and the total. */
export function describePerPledge(label: string, tallies: CommandTallies, pledges: number): string[] {
  const entries = Object.entries(tallies).sort(([, left], [, right]) => right.count - left.count);
  const total = entries.reduce((sum, [, tally]) => sum + tally.count, 0);
  const totalMs = entries.reduce((sum, [, tally]) => sum + tally.totalMs, 0);
  return [
    `  ${label}: ${(total / pledges).toFixed(2)} database commands per pledge, ${(totalMs / pledges).toFixed(1)} ms of command time per pledge (all of the process's commands, background work included)`,
    ...entries.map(([key, tally]) => `    ${(tally.count / pledges).toFixed(2).padStart(7)}  ${key} (${(tally.totalMs / Math.max(1, tally.count)).toFixed(2)} ms each)`),
  ];
}
