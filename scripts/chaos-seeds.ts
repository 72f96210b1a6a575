/**
 * `npm run chaos:seeds -- --from A --to B [--faults N] [--duration-ms D] [--replicas-from S]
 * [--skew-ms K] [--reintroduce F] [--until-caught] [--no-build]`: many seeds of the fault-injection
 * run (`npm run chaos`, docs/reliability.md), one after another, each in its own state directory
 * (`.cache/chaos-seeds/<seed>`, removed when the seed passes, kept when it finds a violation).
 * Seeds from `--replicas-from` on run at two replicas per service with clocks skewed up to
 * `--skew-ms`; the seeds before it at one replica.
 *
 * Each seed's `result` line is appended to `.cache/chaos-seeds/results.jsonl` with the commit it
 * ran, the options and the seconds it took, so a long run can be stopped and resumed (a seed with
 * a result for the same commit and options is not run again; `--again` runs it anyway) and a run
 * spread over days still reports one table. At the end (and after every seed) it prints the table
 * in Markdown and the totals: seeds, faults, sagas run, mid-flight hits, violations.
 *
 * `--reintroduce F --until-caught` is how a re-introduced finding is shown caught: seeds run until
 * the first violation, and the line `caught <finding> at seed <S> (seed n of the range)` says which.
 *
 * `--jobs J` runs J seeds at once, each its own platform (a busier machine is one more fault).
 *
 * Exit codes: 0 every seed held every invariant (or, with --until-caught, the finding was caught);
 * 1 a violation (or the finding was not caught in the range); 2 usage error.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { chaosFindingNames, type ChaosFinding } from '../packages/kit/src/chaos-finding';
import { findRepositoryRoot } from '../packages/testkit/src/infra';

export const chaosSeedsUsage = `Usage:
  npm run chaos:seeds -- --from <A> --to <B> [--faults <N>] [--duration-ms <D>] [--replicas-from <S>] [--skew-ms <K>]
                         [--reintroduce <finding>] [--until-caught] [--again] [--jobs <J>] [--no-build]

  --from, --to     the seeds to run, inclusive
  --faults         kills per seed; default 30
  --duration-ms    workload per seed; default 120000
  --replicas-from  seeds from this one on run two replicas per service with skewed clocks; default: none
  --skew-ms        clock skew bound at two replicas; default 2000
  --reintroduce    bring one fixed finding back (${chaosFindingNames.join(', ')})
  --until-caught   stop at the first violation (with --reintroduce: the finding is caught)
  --again          run seeds that already have a result for this commit and these options
  --jobs           seeds run at once, each its own platform (default 1; a slower machine is one more fault)
  --no-build       skip \`turbo run build\``;

/**
 * What each re-introduced finding breaks, as the run's violations word it: a seed catches the
 * finding when one of its violations matches; a violation that does not is a finding of its own.
 */
export const findingSignatures: Readonly<Record<ChaosFinding, RegExp>> = {
  'compensate-unknown-outcome': /was not posted or voided|moved money although|has no saga that owns it|completed without its hold|left pending/,
  'no-deadline-fence': /pledge|campaign|left pending|was not posted or voided/,
  'jobs-give-up': /not terminal|is still|is completed but|job due and not done|saga unfinished|not resolved|left pending|between legs/,
  'no-abandonment': /is rejected|task \(bidding\) \S+ is awarded/,
  'no-contest-rule': /task \(contest\) \S+ is open/,
  'consumer-parks': /credit never applied|credit record of/,
};

/** The most seeds run at once: each is a whole platform (two JVMs and five to nine Node processes). */
export const seedJobsMax = 4;

/** One line of results.jsonl. */
export interface SeedResult {
  readonly seed: number;
  readonly commit: string;
  readonly options: string;
  readonly exitCode: number;
  readonly seconds: number;
  readonly replicas: number;
  /** Seeds run at once when this one ran (absent: one). */
  readonly jobs?: number;
  readonly faults?: number;
  readonly sagas?: number;
  readonly midFlight?: number;
  readonly counts?: boolean;
  readonly quiet?: boolean;
  readonly checks?: number;
  readonly violations?: number;
  /** The run's ✗ lines (at most `foundLinesMax`), when it found a violation. */
  readonly found?: readonly string[];
  /** With a re-introduced finding: whether a violation matched its signature. */
  readonly caught?: boolean;
}

/** Violation lines kept per seed. */
const foundLinesMax = 20;

const say = (line: string) => process.stdout.write(`${line}\n`);
const running = new Set<ChildProcess>();

function commitOf(root: string): string {
  const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: root, encoding: 'utf8' }).trim();
  const dirty = execFileSync('git', ['status', '--porcelain', '--untracked-files=no'], { cwd: root, encoding: 'utf8' }).trim() !== '';
  return dirty ? `${head}+dirty` : head;
}

function readResults(file: string): SeedResult[] {
  if (!existsSync(file)) return [];
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map((line) => JSON.parse(line) as SeedResult);
}

function runSeed(root: string, args: readonly string[], prefix: string): Promise<{ exitCode: number; output: string }> {
  return new Promise((resolve, reject) => {
    // Node itself with tsx's loader, not the tsx wrapper: a signal reaches the runner directly, and
    // this process waits for it to stop everything it started (its output pipe must stay open meanwhile).
    const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'scripts', 'chaos.ts'), ...args], { cwd: root, env: process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    running.add(child);
    let output = '';
    const keep = (chunk: Buffer) => {
      output += chunk.toString();
      // The seed's own progress, indented under the runner's line.
      for (const line of chunk.toString().split('\n')) if (/^(✓|✗| {2}⚡| {2}… )/.test(line)) say(`    ${prefix}${line.trim()}`);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    child.on('error', reject);
    child.on('close', (exitCode) => {
      running.delete(child);
      resolve({ exitCode: exitCode ?? 1, output });
    });
  });
}

/** The Markdown table and totals of these results. */
export function resultsTable(results: readonly SeedResult[]): string {
  const lines = ['| seed | replicas | faults | sagas run | mid-flight | counts | checks | violations | minutes | commit |', '|---|---|---|---|---|---|---|---|---|---|'];
  for (const result of results) {
    lines.push(
      `| ${result.seed} | ${result.replicas} | ${result.faults ?? '—'} | ${result.sagas ?? '—'} | ${result.midFlight ?? '—'} | ${result.counts === undefined ? '—' : result.counts ? 'yes' : 'no'} | ${result.checks ?? '—'} | ${result.violations ?? `exit ${result.exitCode}`} | ${(result.seconds / 60).toFixed(1)} | ${result.commit} |`,
    );
  }
  const sum = (pick: (result: SeedResult) => number | undefined) => results.reduce((total, result) => total + (pick(result) ?? 0), 0);
  const failed = results.filter((result) => result.exitCode !== 0).length;
  lines.push('');
  lines.push(
    `${results.length} seeds (${results.filter((result) => result.replicas > 1).length} at two replicas), ${sum((result) => result.faults)} faults, ${sum((result) => result.sagas)} sagas run, ${sum((result) => result.midFlight)} mid-flight hits, ` +
      `${results.filter((result) => result.counts).length} counting, ${sum((result) => result.violations)} violations in ${failed} seed(s) that failed, ${(sum((result) => result.seconds) / 3_600).toFixed(1)} hours`,
  );
  return lines.join('\n');
}

async function main(argv: readonly string[]): Promise<number> {
  const root = findRepositoryRoot();
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        faults: { type: 'string', default: '30' },
        'duration-ms': { type: 'string', default: '120000' },
        'replicas-from': { type: 'string' },
        'skew-ms': { type: 'string', default: '2000' },
        reintroduce: { type: 'string' },
        'until-caught': { type: 'boolean' },
        again: { type: 'boolean' },
        'no-build': { type: 'boolean' },
        jobs: { type: 'string', default: '1' },
      },
    }));
  } catch (error) {
    process.stderr.write(`chaos:seeds: ${(error as Error).message}\n\n${chaosSeedsUsage}\n`);
    return 2;
  }
  const whole = (text: string | undefined, name: string) => {
    if (text === undefined || !/^\d+$/.test(text)) throw new Error(`--${name} must be a whole number`);
    return Number(text);
  };
  let from: number, to: number, replicasFrom: number, jobs: number;
  try {
    from = whole(values.from, 'from');
    to = whole(values.to, 'to');
    replicasFrom = values['replicas-from'] === undefined ? Number.POSITIVE_INFINITY : whole(values['replicas-from'], 'replicas-from');
    jobs = whole(values.jobs, 'jobs');
    if (jobs < 1 || jobs > seedJobsMax) throw new Error(`--jobs must be from 1 to ${seedJobsMax}`);
    whole(values.faults, 'faults');
    whole(values['duration-ms'], 'duration-ms');
    whole(values['skew-ms'], 'skew-ms');
    if (to < from) throw new Error('--to must not be below --from');
    if (values.reintroduce !== undefined && !chaosFindingNames.includes(values.reintroduce as ChaosFinding)) throw new Error(`--reintroduce must be one of ${chaosFindingNames.join(', ')}`);
  } catch (error) {
    process.stderr.write(`chaos:seeds: ${(error as Error).message}\n\n${chaosSeedsUsage}\n`);
    return 2;
  }
  const directory = join(root, '.cache', 'chaos-seeds');
  mkdirSync(directory, { recursive: true });
  const resultsFile = join(directory, 'results.jsonl');
  if (!values['no-build']) {
    say('• building (turbo run build)…');
    execFileSync(join(root, 'node_modules', '.bin', 'turbo'), ['run', 'build', '--output-logs=errors-only'], { cwd: root, stdio: 'inherit', env: { ...process.env, TURBO_TELEMETRY_DISABLED: '1', TURBO_NO_UPDATE_NOTIFIER: '1' } });
  }
  const commit = commitOf(root);
  const mine: SeedResult[] = [];
  const total = to - from + 1;
  const startedAtMs = Date.now();
  let ranHere = 0;
  let stop = false;
  const runOne = async (seed: number): Promise<void> => {
    const replicas = seed >= replicasFrom ? 2 : 1;
    const seedArgs = ['--faults', values.faults!, '--duration-ms', values['duration-ms']!, '--replicas', String(replicas), ...(replicas > 1 ? ['--skew-ms', values['skew-ms']!] : []), ...(values.reintroduce ? ['--reintroduce', values.reintroduce] : [])];
    const options = seedArgs.join(' ');
    const done = readResults(resultsFile).find((result) => result.seed === seed && result.commit === commit && result.options === options);
    const position = `seed ${seed} (${seed - from + 1} of ${total})`;
    if (done && !values.again) {
      say(`• ${position}: already run at ${commit} with these options (${done.exitCode === 0 ? 'held' : 'violation'}); skipped`);
      mine.push(done);
      if (values['until-caught'] && (values.reintroduce ? done.caught === true : done.exitCode !== 0)) stop = true;
      return;
    }
    const remaining = to - seed + 1;
    const eta = ranHere === 0 ? '' : `, about ${Math.round(((Date.now() - startedAtMs) / ranHere) * remaining / 60_000)} min left`;
    say(`• ${position}: ${replicas} replica(s), ${options}${eta}`);
    const stateDirectory = join(directory, String(seed));
    rmSync(stateDirectory, { recursive: true, force: true });
    const seedStartedAtMs = Date.now();
    const { exitCode, output } = await runSeed(root, ['--seed', String(seed), ...seedArgs, '--no-build', '--state-dir', stateDirectory], jobs > 1 ? `[${seed}] ` : '');
    ranHere += 1;
    // The seed's whole output beside its logs (the directory is kept when the seed fails).
    if (existsSync(stateDirectory)) writeFileSync(join(stateDirectory, 'run.log'), output);
    const resultLine = output.split('\n').find((line) => line.trim().startsWith('result {'));
    const parsed = resultLine ? (JSON.parse(resultLine.trim().slice('result '.length)) as Partial<SeedResult>) : {};
    const found = output
      .split('\n')
      .filter((line) => line.startsWith('✗ seed') || line.startsWith('✗ chaos'))
      .slice(0, foundLinesMax);
    const signature = values.reintroduce ? findingSignatures[values.reintroduce as ChaosFinding] : undefined;
    const caught = signature ? found.some((line) => signature.test(line)) : undefined;
    const result: SeedResult = {
      ...parsed,
      seed,
      commit,
      options,
      exitCode,
      seconds: Math.round((Date.now() - seedStartedAtMs) / 1_000),
      replicas,
      ...(jobs > 1 ? { jobs } : {}),
      ...(found.length > 0 ? { found } : {}),
      ...(caught === undefined ? {} : { caught }),
    };
    appendFileSync(resultsFile, `${JSON.stringify(result)}\n`);
    mine.push(result);
    if (exitCode === 0) rmSync(stateDirectory, { recursive: true, force: true });
    say(`  seed ${seed} ${exitCode === 0 ? '✓ held' : `✗ exit ${exitCode}`}: ${result.faults ?? '?'} faults, ${result.sagas ?? '?'} sagas, ${result.midFlight ?? '?'} mid-flight, ${result.checks ?? '?'} checks, ${result.seconds} s${exitCode === 0 ? '' : ` (kept: ${stateDirectory})`}`);
    for (const line of found) say(`    ${signature && !signature.test(line) ? '(not the finding) ' : ''}${line}`);
    if (values['until-caught'] && (signature ? caught : exitCode !== 0)) stop = true;
  };
  // `jobs` seeds at once, each its own private platform; seeds start in order.
  let next = from;
  await Promise.all(
    Array.from({ length: jobs }, async () => {
      while (!stop && next <= to) {
        const seed = next;
        next += 1;
        await runOne(seed);
      }
    }),
  );
  mine.sort((first, second) => first.seed - second.seed);
  say('');
  say(resultsTable(mine));
  const failedSeeds = mine.filter((result) => result.exitCode !== 0);
  if (values.reintroduce) {
    const caught = mine.find((result) => result.caught);
    const others = mine.filter((result) => result.exitCode !== 0 && !result.caught);
    if (others.length > 0) say(`violations that are not the finding, in seed(s) ${others.map((result) => result.seed).join(', ')}: findings of their own`);
    say(caught ? `caught ${values.reintroduce} at seed ${caught.seed} (seed ${caught.seed - from + 1} of the range)` : `${values.reintroduce} was not caught in seeds ${from}…${to}`);
    return caught ? 0 : 1;
  }
  return failedSeeds.length === 0 ? 0 : 1;
}

if (require.main === module) {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.on(signal, () => {
      // Each seed's runner stops everything it started on the same signal; then this one exits.
      if (running.size === 0) process.exit(130);
      for (const child of running) {
        child.kill(signal);
        child.on('close', () => {
          if (running.size === 0) process.exit(130);
        });
      }
    });
  }
  main(process.argv.slice(2)).then(
    (exitCode) => process.exit(exitCode),
    (error: unknown) => {
      say(`✗ chaos:seeds: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      process.exit(1);
    },
  );
}
