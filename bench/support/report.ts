/**
 * What every benchmark prints: the command that reproduces it, the machine facts, and the figures
 * as a markdown table with the goals beside them, ready to paste into docs/benchmarks.md.
 */
import { execFileSync } from 'node:child_process';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join } from 'node:path';
import { connectMongo } from '@sizhong/kit';
import { type Infrastructure, readMongoJavaServerVersion } from '../../packages/testkit/src/infra';
import { sampleMachineBusy } from './cpu-meter';
import { completedPerSecond, percentile, type RunResult } from './driver';
import { repositoryRoot } from './processes';

/** A positive integer from the environment, else the default; anything else stops the run with a clear message. */
export function integerSetting(name: string, defaultValue: number, minimum = 1): number {
  const text = process.env[name]?.trim();
  if (text === undefined || text === '') return defaultValue;
  const value = Number(text);
  if (!Number.isInteger(value) || value < minimum) throw new Error(`${name}=${text}: expected an integer of at least ${minimum}`);
  return value;
}

export function fractionSetting(name: string, defaultValue: number): number {
  const text = process.env[name]?.trim();
  if (text === undefined || text === '') return defaultValue;
  const value = Number(text);
  if (!(value > 0 && value <= 1)) throw new Error(`${name}=${text}: expected a fraction in (0, 1]`);
  return value;
}

/** `BENCH_PLEDGES=100 npm run bench:escrow`: the command with the settings this run was given. */
export function reproducingCommand(script: string): string {
  const settings = Object.keys(process.env)
    .filter((name) => name.startsWith('BENCH_'))
    .sort()
    .map((name) => `${name}=${process.env[name]}`);
  // Only whether they were set: a URL may carry credentials.
  const servers = ['MONGO_URL', 'KAFKA_BROKERS'].filter((name) => (process.env[name] ?? '').trim() !== '').map((name) => `${name}=…`);
  return [...servers, ...settings, `npm run ${script}`].join(' ');
}

/** How long the machine is watched before a run, and how busy it may be to count as quiet. */
const machineSampleMs = 3_000;
const quietBusyShareMax = 0.1;

/** Cores, memory, kernel, node, the MongoDB-wire server and how busy the machine was at the start. */
export async function describeMachine(infrastructure: Infrastructure): Promise<string[]> {
  const processors = cpus();
  const load = loadavg().map((value) => value.toFixed(2));
  // The load average still counts a run that just ended; a short sample says how busy the machine is now.
  const busyShare = await sampleMachineBusy(machineSampleMs);
  const busyText = busyShare === undefined ? '' : `; ${Math.round(busyShare * 100)} % busy over the ${machineSampleMs / 1_000} s before the run${busyShare > quietBusyShareMax ? ' (BUSY: other processes are running; figures will be low)' : ''}`;
  return [
    `machine: ${processors.length} cores (${processors[0]?.model.trim() ?? 'unknown model'}), ${Math.round(totalmem() / 2 ** 30)} GiB, Linux ${release()}, Node ${process.version}`,
    `MongoDB-wire server: ${await describeMongoServer(infrastructure)}`,
    `Kafka: ${infrastructure.source === 'environment' || process.env['KAFKA_BROKERS'] ? 'KAFKA_BROKERS from the environment' : `${infrastructure.source} broker`} at ${infrastructure.kafkaBrokers.join(',')}`,
    `load average at the start: ${load.join(' ')} (1, 5, 15 min)${busyText}`,
    `date: ${new Date().toISOString()}; ${describeCommit()}`,
  ];
}

/** The commit measured, and whether the work tree had changes on top of it. */
function describeCommit(): string {
  try {
    const commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: repositoryRoot, encoding: 'utf8' }).trim();
    const changed = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: repositoryRoot, encoding: 'utf8' }).trim() !== '';
    return `commit ${commit}${changed ? ' with uncommitted changes in the work tree' : ''}`;
  } catch {
    return 'commit unknown (no git)';
  }
}

async function describeMongoServer(infrastructure: Infrastructure): Promise<string> {
  let kind: string;
  if (process.env['MONGO_URL']) kind = 'MONGO_URL from the environment';
  else if (infrastructure.source === 'local') kind = `mongo-java-server ${localMongoJavaServerVersion()} (local, one H2 file)`;
  else kind = `${infrastructure.source} server`;
  const connection = await connectMongo(infrastructure.mongoUrl, 'admin');
  try {
    const info = (await connection.db.admin().command({ buildInfo: 1 })) as { version?: string };
    return `${kind}, reports MongoDB ${info.version ?? 'unknown'}, at ${infrastructure.mongoUrl}`;
  } finally {
    await connection.close();
  }
}

function localMongoJavaServerVersion(): string {
  try {
    return readMongoJavaServerVersion(join(repositoryRoot, 'scripts', 'infra', 'mongo', 'pom.xml'));
  } catch {
    return '(version unknown)';
  }
}

export function printHeader(title: string, script: string, settings: Readonly<Record<string, number | string>>): void {
  console.log(`${title}\n  command: ${reproducingCommand(script)}`);
  console.log(`  settings: ${Object.entries(settings).map(([name, value]) => `${name}=${value}`).join(' ')}`);
}

/** 12345.6 → "12 346": the grouping docs/benchmarks.md uses. */
export function formatInteger(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return Math.round(value)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ' ');
}

export function formatMs(value: number): string {
  if (!Number.isFinite(value)) return '–';
  return value < 10 ? `${value.toFixed(1)} ms` : `${formatInteger(value)} ms`;
}

export function formatPercent(fraction: number): string {
  if (!Number.isFinite(fraction)) return '–';
  return fraction < 0.1 ? `${(fraction * 100).toFixed(1)} %` : `${Math.round(fraction * 100)} %`;
}

export interface Goal {
  readonly text: string;
  readonly met: boolean;
}

export interface TableRow {
  readonly scenario: string;
  readonly result: RunResult;
  /** The row's throughput as a fraction of the baseline's; undefined for the baseline itself. */
  readonly ofBaseline?: number;
  readonly goal?: Goal;
}

/** One markdown table: requests, in flight, per second, p50, p99, share of the baseline, goal, met. */
export function resultTable(unit: string, concurrency: number, rows: readonly TableRow[]): string[] {
  const lines = [
    `| scenario | ${unit} | in flight | ${unit}/s | p50 | p99 | of baseline | goal | met |`,
    '|---|---:|---:|---:|---:|---:|---:|---|---|',
  ];
  for (const row of rows) {
    const cells = [
      row.scenario,
      formatInteger(row.result.completed) + (row.result.failed > 0 ? ` (+${row.result.failed} failed)` : ''),
      String(concurrency),
      formatInteger(completedPerSecond(row.result)),
      formatMs(percentile(row.result.latenciesMs, 0.5)),
      formatMs(percentile(row.result.latenciesMs, 0.99)),
      row.ofBaseline === undefined ? '100 %' : formatPercent(row.ofBaseline),
      row.goal?.text ?? '',
      row.goal === undefined ? '' : row.goal.met ? 'yes' : '**no**',
    ];
    lines.push(`| ${cells.join(' | ')} |`);
  }
  return lines;
}

/** One line as a run finishes: `(a): 412/s, p50 30 ms, p99 80 ms, 38 % of baseline — goal …: met`. */
export function printResultLine(label: string, result: RunResult, comparison?: { ofBaseline: number; baselineName: string; goal: Goal }): void {
  const share = comparison === undefined ? '' : `, ${formatPercent(comparison.ofBaseline)} of ${comparison.baselineName} — goal ${comparison.goal.text}: ${comparison.goal.met ? 'met' : 'NOT met'}`;
  console.log(`  ${label}: ${formatInteger(completedPerSecond(result))}/s, p50 ${formatMs(percentile(result.latenciesMs, 0.5))}, p99 ${formatMs(percentile(result.latenciesMs, 0.99))}${share}`);
}

/** The paste-ready block: command, machine facts, tables, and the goals' verdict. */
export function printPasteBlock(options: { script: string; machine: readonly string[]; sections: readonly string[]; goals: readonly Goal[]; disturbed: readonly string[] }): void {
  const missed = options.goals.filter((goal) => !goal.met);
  console.log('\n----- figures for docs/benchmarks.md -----');
  console.log(`Command: \`${reproducingCommand(options.script)}\``);
  console.log('');
  for (const line of options.machine) console.log(`- ${line}`);
  console.log('');
  for (const line of options.sections) console.log(line);
  console.log('');
  console.log(missed.length === 0 ? `All ${options.goals.length} goals met.` : `Goals not met: ${missed.map((goal) => goal.text).join('; ')}.`);
  if (options.disturbed.length > 0) console.log(`Disturbed, so not clean figures: ${options.disturbed.join('; ')}.`);
  console.log('----- end of figures -----');
}
