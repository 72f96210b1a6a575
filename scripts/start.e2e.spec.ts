// Proves `npm start` as a user runs it: it builds, starts the gateway, prints a URL where /readyz and /docs
// answer, and a Ctrl-C (SIGINT) stops every process it started.
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testInfrastructure } from '@sizhong/testkit';

const repositoryRoot = join(__dirname, '..');
jest.setTimeout(240_000);

function childrenOf(pid: number): number[] {
  const output = execFileSync('ps', ['-e', '-o', 'pid=,ppid='], { encoding: 'utf8' });
  const pairs = output.trim().split('\n').map((line) => line.trim().split(/\s+/).map(Number) as [number, number]);
  const descendants: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    const parent = queue.shift()!;
    for (const [child, childParent] of pairs) {
      if (childParent !== parent) continue;
      descendants.push(child);
      queue.push(child);
    }
  }
  return descendants;
}

/** Running (not a zombie awaiting its reaper), with its command line for the failure message. */
function alive(pid: number): boolean {
  try {
    const state = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.[0];
    return state !== undefined && state !== 'Z' && state !== 'X';
  } catch {
    return false;
  }
}

function describeProcess(pid: number): string {
  try {
    return `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}`;
  } catch {
    return `${pid} (gone)`;
  }
}

describe('npm start', () => {
  it('prints a URL where /readyz and /docs answer, and Ctrl-C leaves no process behind', async () => {
    const infrastructure = testInfrastructure();
    const runner = spawn(process.execPath, ['--import', 'tsx', join(repositoryRoot, 'scripts', 'start.ts')], {
      cwd: repositoryRoot,
      env: { ...process.env, KAFKA_BROKERS: infrastructure.kafkaBrokers.join(','), MONGO_URL: infrastructure.mongoUrl, GATEWAY_PORT: '0' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    runner.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    runner.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => runner.on('exit', (code) => resolve(code)));

    const url = await new Promise<string>((resolve, reject) => {
      const timer = setInterval(() => {
        const match = /Sizhong is running at (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
        if (match?.[1]) {
          clearInterval(timer);
          resolve(match[1]);
        } else if (runner.exitCode !== null) {
          clearInterval(timer);
          reject(new Error(`runner exited early:\n${output}`));
        }
      }, 100);
    });
    expect(output).toContain('✓ built');
    expect(output).toContain('infrastructure (environment)');

    const readiness = await fetch(`${url}/readyz`);
    expect(readiness.status).toBe(200);
    expect(await readiness.json()).toMatchObject({ status: 'ready' });
    const docs = await fetch(`${url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toContain('text/html');

    const started = childrenOf(runner.pid!);
    expect(started.length).toBeGreaterThan(0);
    runner.kill('SIGINT');
    await expect(exited).resolves.toBe(0);
    expect(output).toContain('stopped.');
    // Helpers such as tsx's esbuild service exit right after their parent: give them a moment.
    for (let waited = 0; waited < 5_000 && started.some(alive); waited += 100) await new Promise((resolve) => setTimeout(resolve, 100));
    expect(started.filter(alive).map(describeProcess)).toEqual([]);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });
});
