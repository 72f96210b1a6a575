// Proves `npm start` as a new user meets it: it builds and prints a URL where /readyz and /docs answer; `npm run admin` and `npm run psp` find it with nothing exported; a service with invalid configuration is reported once and stops the platform; and Ctrl-C, once, twice or while starting, leaves no process and no listening port behind.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { testDatabaseName, testInfrastructure, testTopicPrefix } from '@sizhong/testkit';
import { isRunning, PlatformUnderTest, repositoryRoot, sleep } from './platform/platform-under-test';

jest.setTimeout(300_000);

interface Finished {
  readonly exitCode: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** `npm run <script> -- …` with exactly the environment given, as from another terminal. */
function runNpmScript(script: string, args: readonly string[], environment: NodeJS.ProcessEnv): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn('npm', ['run', '--silent', script, '--', ...args], { cwd: repositoryRoot, env: environment, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (exitCode) => resolve({ exitCode, stdout, stderr }));
  });
}

async function post(url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

const password = 'correct horse battery staple';
/** Named, so that a service another test file generates under services/ meanwhile is not started here. */
const services = ['escrow'];
let platform: PlatformUnderTest | undefined;

afterEach(async () => {
  await platform?.cleanUp();
  platform = undefined;
});

describe('npm start', () => {
  // Runs first and builds; the tests after it start with --no-build on what it built.
  it('builds, prints a URL where /readyz and /docs answer, and a SIGINT to the runner alone leaves no process behind', async () => {
    // On the jest run's servers, in databases and topics of its own.
    platform = await PlatformUnderTest.start({
      build: true,
      services,
      infrastructure: testInfrastructure(),
      environment: { GATEWAY_DATABASE: testDatabaseName('start_gateway'), ESCROW_DATABASE: testDatabaseName('start_escrow'), KAFKA_TOPIC_PREFIX: testTopicPrefix('start') },
    });
    const url = await platform.waitUntilRunning();
    expect(platform.output).toContain('✓ built');
    expect(platform.output).toContain('infrastructure (environment)');
    const readiness = await fetch(`${url}/readyz`);
    expect(readiness.status).toBe(200);
    expect(await readiness.json()).toMatchObject({ status: 'ready' });
    const docs = await fetch(`${url}/docs`);
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toContain('text/html');

    // As `kill -INT <pid>` would: only the runner is signalled, and it stops the rest.
    const { runnerPid } = JSON.parse(readFileSync(join(platform.stateDirectory, 'platform.json'), 'utf8')) as { runnerPid: number };
    expect(isRunning(runnerPid)).toBe(true);
    process.kill(runnerPid, 'SIGINT');
    await expect(platform.exited).resolves.toBe(0);
    expect(platform.output).toContain('stopped.');
    expect(await platform.leftBehind([])).toEqual({ processes: [], ports: [] });
  });

  it('is found by `npm run admin` and `npm run psp` with nothing exported; a Ctrl-C to its process group then stops everything, its own servers too', async () => {
    platform = await PlatformUnderTest.start({ services });
    const url = await platform.waitUntilRunning();
    expect(platform.output).toContain('infrastructure (local)');
    const environment = platform.neighbourEnvironment;
    expect(environment['MONGO_URL']).toBeUndefined();

    const created = await runNpmScript('admin', ['create-participant', '--role', 'regulator', '--email', 'Rita@example.org', '--password', password], environment);
    expect(created).toMatchObject({ exitCode: 0, stderr: '' });
    const regulator = JSON.parse(created.stdout.trim()) as { participantId: string; roles: string[] };
    expect(regulator.roles).toEqual(['regulator']);
    const token = await post(`${url}/v1/auth/token`, { email: 'rita@example.org', password });
    expect(token.status).toBe(200);
    const me = await fetch(`${url}/v1/me`, { headers: { authorization: `Bearer ${String(token.body['accessToken'])}` } });
    expect(await me.json()).toMatchObject({ participantId: regulator.participantId, roles: ['regulator'] });

    // The README's first walk: sign up, then the sandbox provider pays in, without --gateway.
    const signup = await post(`${url}/v1/auth/signup`, { email: 'ann@example.org', password, displayName: 'Ann', roles: ['backer'] }, { 'Idempotency-Key': 'signup-ann' });
    expect(signup.status).toBe(201);
    const deposit = await runNpmScript('psp', ['deposit', '--participant', String(signup.body['participantId']), '--amount', '100.00'], environment);
    expect(deposit.stderr).toBe('');
    expect(deposit.exitCode).toBe(0);
    expect(JSON.parse(deposit.stdout.trim())).toMatchObject({ status: 200, outcome: 'applied' });

    const serverPids = platform.serverPids();
    expect(serverPids).toHaveLength(2);
    platform.signalGroup('SIGINT');
    await platform.waitUntilGone();
    expect(await platform.leftBehind(serverPids)).toEqual({ processes: [], ports: [] });
    expect(platform.output).toContain('stopped.');

    // Stopped, the platform is no longer found, and the admin command says what to run first.
    const refused = await runNpmScript('admin', ['create-participant', '--role', 'regulator', '--email', 'rex@example.org', '--password', password], environment);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('MONGO_URL is not set and no platform is running from this clone');
    expect(refused.stderr).toContain('npm start');
  });

  it('reports a service that refuses its configuration once, naming the variable, and stops the platform with exit code 78', async () => {
    platform = await PlatformUnderTest.start({ services, environment: { PLATFORM_FEE_BPS: 'abc' } });
    await platform.waitForOutput(/infrastructure \(local\)/);
    const serverPids = platform.serverPids();
    await expect(platform.exited).resolves.toBe(78);
    await platform.waitUntilGone();
    const output = platform.output;
    expect(output.match(/PLATFORM_FEE_BPS="abc": not a number/g)).toHaveLength(1);
    expect(output).toContain('expected: a whole number from 0 to 10000');
    expect(output).toContain('PLATFORM_FEE_BPS=500');
    expect(output).toContain('escrow refused its configuration');
    expect(output).not.toMatch(/↻ restarting/);
    expect(output).not.toMatch(/\n\s+at /);
    expect(await platform.leftBehind(serverPids)).toEqual({ processes: [], ports: [] });
  });

  it('refuses an invalid setting of its own (a port, a service name) before starting anything, with exit code 78', async () => {
    platform = await PlatformUnderTest.start({ services, environment: { ESCROW_GRPC_PORT: 'fifty' } });
    await expect(platform.exited).resolves.toBe(78);
    expect(platform.output.match(/ESCROW_GRPC_PORT="fifty": not a number/g)).toHaveLength(1);
    expect(platform.output).not.toContain('infrastructure (');
    expect(await platform.leftBehind([])).toEqual({ processes: [], ports: [] });
    await platform.cleanUp();

    platform = await PlatformUnderTest.start({ services: ['escrow', 'nonesuch'] });
    await expect(platform.exited).resolves.toBe(78);
    expect(platform.output).toContain('SIZHONG_SERVICES="escrow,nonesuch": no service nonesuch under services/');
  });

  it('stops everything when SIGINT reaches the process group twice, 50 ms apart (one keypress delivered twice, or an impatient user)', async () => {
    platform = await PlatformUnderTest.start({ services });
    await platform.waitUntilRunning();
    const serverPids = platform.serverPids();
    platform.signalGroup('SIGINT');
    await sleep(50);
    platform.signalGroup('SIGINT');
    await platform.waitUntilGone();
    expect(await platform.leftBehind(serverPids)).toEqual({ processes: [], ports: [] });
    expect(platform.output).toContain('stopped.');
  });

  it('kills a service that does not stop when a later Ctrl-C hurries it, and still stops the servers', async () => {
    platform = await PlatformUnderTest.start({ services });
    await platform.waitUntilRunning();
    const serverPids = platform.serverPids();
    // A hung service: stopped processes do not act on SIGINT or SIGTERM, only on SIGKILL.
    const escrowPid = platform.memberRunning('services/escrow/dist/main.js');
    expect(escrowPid).toBeDefined();
    process.kill(escrowPid as number, 'SIGSTOP');
    platform.signalGroup('SIGINT');
    await sleep(1_000);
    platform.signalGroup('SIGINT');
    await sleep(50);
    platform.signalGroup('SIGTERM');
    await platform.waitUntilGone();
    expect(await platform.leftBehind(serverPids)).toEqual({ processes: [], ports: [] });
    expect(platform.output).toContain('killing the services now');
    expect(platform.output).toContain('stopped.');
  });

  it('stops the servers that were still starting when SIGINT and SIGTERM arrived', async () => {
    platform = await PlatformUnderTest.start({ services });
    await platform.waitForOutput(/infra: Waiting for Kafka/);
    const serverPids = platform.serverPids();
    platform.signalGroup('SIGINT');
    await sleep(50);
    platform.signalGroup('SIGTERM');
    await platform.waitUntilGone();
    expect(await platform.leftBehind(serverPids)).toEqual({ processes: [], ports: [] });
    expect(platform.output).toContain('stopped.');
    expect(platform.output).not.toContain('Sizhong is running');
  });
});
