// Proves `npm run chaos` as CI runs it: three short seeds (two at one replica, one at two replicas with skewed clocks) each start a private platform from the built dist/, inject the seed's kills of every kind and gRPC faults, reach quiet, find every invariant holding (ledger, lifecycles, sagas, hold ownership, credit exactly once), print the summary with the sagas run and the mid-flight hits, exit 0 and leave no process behind; and a seed with a fixed finding brought back fails, naming it.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repositoryRoot } from './platform/platform-under-test';

/** A short seed takes about 3–4 minutes on the two-core machine; the first also builds. */
const runTimeoutMs = 540_000;
jest.setTimeout(runTimeoutMs + 60_000);

interface ChaosRun {
  readonly exitCode: number | null;
  readonly output: string;
  readonly pid: number;
  readonly stateDirectory: string;
}

const stateDirectories: string[] = [];
let running: ChildProcess | undefined;

/** `npm run chaos -- …` in a process group of its own (as from a terminal), its state in a temporary directory. */
function runChaos(args: readonly string[]): Promise<ChaosRun> {
  const stateDirectory = mkdtempSync(join(tmpdir(), 'sizhong-chaos-'));
  stateDirectories.push(stateDirectory);
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', 'chaos', '--', ...args, '--state-dir', stateDirectory], { cwd: repositoryRoot, env: process.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    running = child;
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
    // Ctrl-C as a terminal sends it, if the run outlives its budget: the runner stops what it started.
    const timer = setTimeout(() => signalGroup(child, 'SIGINT'), runTimeoutMs);
    child.on('error', reject);
    child.on('close', (exitCode) => {
      clearTimeout(timer);
      running = undefined;
      resolve({ exitCode, output, pid: child.pid!, stateDirectory });
    });
  });
}

function signalGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // Already gone.
  }
}

/** Processes still in the run's process group (its services and gateway), or naming its state directory (its detached Kafka and MongoDB-wire server). */
function leftBehind(run: ChaosRun): string[] {
  const matching = (args: string[]) => {
    try {
      return execFileSync('pgrep', args, { encoding: 'utf8' }).trim().split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };
  // A zombie (`<defunct>`, tsx's esbuild whose parent exited) runs nothing and holds no port: init reaps it.
  return [...matching(['-a', '-g', String(run.pid)]), ...matching(['-af', run.stateDirectory])].filter((line) => !line.includes('<defunct>'));
}

/** The `result {…}` line of the summary. */
function resultOf(output: string): Record<string, unknown> {
  const line = output.split('\n').find((each) => each.trimStart().startsWith('result {'));
  if (!line) throw new Error(`no result line in the output:\n${output.slice(-4_000)}`);
  return JSON.parse(line.trim().slice('result '.length)) as Record<string, unknown>;
}

afterEach(() => {
  if (running) signalGroup(running, 'SIGKILL');
});

afterAll(() => {
  for (const directory of stateDirectories) rmSync(directory, { recursive: true, force: true });
});

describe('npm run chaos', () => {
  it('a short seed at one replica: every invariant holds, the summary counts sagas and mid-flight hits, nothing is left running', async () => {
    // Builds as `npm start` does (turbo's cache makes it quick when dist/ is current); the second test uses this build.
    const run = await runChaos(['--seed', '101', '--faults', '7', '--duration-ms', '30000']);
    process.stdout.write(`chaos seed 101: ${JSON.stringify(resultOf(run.output))}\n`);
    expect({ exitCode: run.exitCode, tail: run.exitCode === 0 ? '' : run.output.slice(-6_000) }).toEqual({ exitCode: 0, tail: '' });
    expect(run.output).toContain('✓ seed 101: every invariant held');
    expect(run.output).toMatch(/sagas run \d+ \(escrow \d+, task-dispatch \d+, equity \d+, credit \d+\)/);
    expect(run.output).toMatch(/hit a saga mid-flight \d+: \d+ kills while a saga of the killed service was unfinished, \d+ sagas failed on an injected gRPC fault \(\d+ failures;/);
    expect(run.output).toMatch(/the seed (counts|does not count)/);
    expect(resultOf(run.output)).toMatchObject({ seed: 101, replicas: 1, faults: 7, violations: 0, quiet: true });
    expect(leftBehind(run)).toEqual([]);
  });

  it('a short seed at two replicas with skewed clocks: one replica killed at a time, every invariant holds', async () => {
    const run = await runChaos(['--seed', '102', '--faults', '5', '--duration-ms', '30000', '--replicas', '2', '--no-build']);
    process.stdout.write(`chaos seed 102: ${JSON.stringify(resultOf(run.output))}\n`);
    expect({ exitCode: run.exitCode, tail: run.exitCode === 0 ? '' : run.output.slice(-6_000) }).toEqual({ exitCode: 0, tail: '' });
    expect(run.output).toContain('2 replicas per service, clocks skewed up to ±2000 ms');
    expect(run.output).toMatch(/CLOCK_SKEW_MS: escrow-r1 -?\d+, escrow-r2 -?\d+/);
    expect(run.output).toContain('✓ seed 102: every invariant held');
    expect(resultOf(run.output)).toMatchObject({ seed: 102, replicas: 2, faults: 5, violations: 0, quiet: true });
    expect(leftBehind(run)).toEqual([]);
  });

  it('a third short seed at one replica, its faults overlapping: every invariant holds', async () => {
    const run = await runChaos(['--seed', '103', '--faults', '10', '--duration-ms', '30000', '--no-build']);
    process.stdout.write(`chaos seed 103: ${JSON.stringify(resultOf(run.output))}\n`);
    expect({ exitCode: run.exitCode, tail: run.exitCode === 0 ? '' : run.output.slice(-6_000) }).toEqual({ exitCode: 0, tail: '' });
    expect(resultOf(run.output)).toMatchObject({ seed: 103, replicas: 1, faults: 10, violations: 0, quiet: true });
    expect(leftBehind(run)).toEqual([]);
  });

  it('can fail: with a fixed finding brought back (contests nobody decides keep their prize), the seed names each undecided contest and exits 1', async () => {
    const run = await runChaos(['--seed', '2', '--faults', '3', '--duration-ms', '40000', '--reintroduce', 'no-contest-rule', '--no-build']);
    process.stdout.write(`chaos seed 2 with no-contest-rule: ${JSON.stringify(resultOf(run.output))}\n`);
    expect(run.exitCode).toBe(1);
    expect(run.output).toContain('CHAOS_FINDING no-contest-rule: issue 17, finding 3');
    const violations = run.output.split('\n').filter((line) => line.startsWith('✗ seed 2'));
    expect(violations.length).toBeGreaterThan(0);
    // Only the finding: every violation is an undecided contest still holding its prize.
    for (const line of violations) expect(line).toMatch(/^✗ seed 2, step \d+ of 3: task \(contest\) tk_\w+ is open, not terminal/);
    expect(resultOf(run.output)).toMatchObject({ seed: 2, reintroduce: 'no-contest-rule', violations: violations.length });
    expect(leftBehind(run)).toEqual([]);
  });
});
