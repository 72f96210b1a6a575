/** Runs the gateway's entry points (main.ts, admin.ts) as real child processes through tsx. */
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

export const repositoryRootPath = join(__dirname, '..', '..', '..');
const tsxPath = join(repositoryRootPath, 'node_modules', '.bin', 'tsx');

/** The parent's environment minus the settings a test must choose explicitly. */
export function cleanEnvironment(overrides: Record<string, string>): NodeJS.ProcessEnv {
  const environment: NodeJS.ProcessEnv = { ...process.env };
  for (const name of ['AUTH_TOKEN_SECRET', 'GATEWAY_PORT', 'GATEWAY_DATABASE', 'GATEWAY_DATA_DIR', 'ESCROW_GRPC_ADDRESS', 'TASK_DISPATCH_GRPC_ADDRESS', 'EQUITY_GRPC_ADDRESS', 'CREDIT_GRPC_ADDRESS', 'OTEL_EXPORTER_OTLP_ENDPOINT']) {
    delete environment[name];
  }
  return { ...environment, ...overrides };
}

export interface Finished {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

export function runScript(script: string, args: readonly string[], environment: NodeJS.ProcessEnv, stdin?: string): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(tsxPath, [script, ...args], { cwd: repositoryRootPath, env: environment, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
    child.stdin.end(stdin ?? '');
  });
}

export function startScript(script: string, environment: NodeJS.ProcessEnv): { child: ChildProcess; lines: string[]; exited: Promise<number | null> } {
  const child = spawn(tsxPath, [script], { cwd: repositoryRootPath, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  let pending = '';
  const collect = (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const complete = pending.split('\n');
    pending = complete.pop() ?? '';
    lines.push(...complete.filter((line) => line.trim() !== ''));
  };
  child.stdout?.on('data', collect);
  child.stderr?.on('data', collect);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, lines, exited };
}

export async function waitFor<T>(probe: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
