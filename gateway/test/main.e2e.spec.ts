// Proves gateway/src/main.ts as the platform runner uses it: a real process prints one JSON line with its URL, serves, keeps a generated token secret (0600) across restarts, and exits 0 on SIGTERM and SIGINT; invalid configuration exits 78 with one message and no stack.
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectMongo } from '@sizhong/kit';
import { testDatabaseName, testInfrastructure } from '@sizhong/testkit';
import { tokenSecretFileName } from '../src/identity/token-secret';
import { cleanEnvironment, runScript, startScript, waitFor } from './support/processes';
import { HttpClient, signUpAndSignIn } from './support/test-gateway';

const mainScript = 'gateway/src/main.ts';
let dataDirectory: string;
let environment: NodeJS.ProcessEnv;
let databaseName: string;

beforeAll(() => {
  dataDirectory = mkdtempSync(join(tmpdir(), 'sizhong-gateway-main-'));
  databaseName = testDatabaseName('gateway-main');
  environment = cleanEnvironment({
    MONGO_URL: testInfrastructure().mongoUrl,
    GATEWAY_DATABASE: databaseName,
    GATEWAY_PORT: '0',
    GATEWAY_DATA_DIR: dataDirectory,
    // The URL line is printed even when other logs are off.
    LOG_LEVEL: 'silent',
  });
});

afterAll(async () => {
  rmSync(dataDirectory, { recursive: true, force: true });
  const mongo = await connectMongo(testInfrastructure().mongoUrl, databaseName);
  await mongo.db.dropDatabase();
  await mongo.close();
});

async function startMain() {
  const started = startScript(mainScript, environment);
  const listening = await waitFor(
    () => started.lines.map((line) => JSON.parse(line) as Record<string, unknown>).find((entry) => entry.msg === 'gateway listening'),
    30_000,
    `"gateway listening" from main.ts; output so far:\n${started.lines.join('\n')}`,
  );
  return { ...started, url: listening.url as string, listening };
}

describe('main.ts', () => {
  it('listens, prints its URL as one JSON line, generates the token secret once, and stops on SIGTERM', async () => {
    const first = await startMain();
    expect(first.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(first.listening).toMatchObject({ level: 'info', service: 'gateway', msg: 'gateway listening' });
    for (const line of first.lines) expect(() => JSON.parse(line)).not.toThrow();

    const http = new HttpClient(first.url);
    expect((await http.get('/healthz')).status).toBe(200);
    expect((await http.get('/readyz')).body).toEqual({ status: 'ready', checks: { mongo: 'up' } });
    const secretPath = join(dataDirectory, tokenSecretFileName);
    expect(statSync(secretPath).mode & 0o777).toBe(0o600);
    const { token } = await signUpAndSignIn(http);

    first.child.kill('SIGTERM');
    expect(await first.exited).toBe(0);
    expect(first.lines.some((line) => line.includes('"gateway stopped"'))).toBe(true);
    expect(first.lines.some((line) => line.includes('"request"'))).toBe(false);

    // A restart signs with the same secret: the earlier token still works.
    const second = await startMain();
    expect((await new HttpClient(second.url).get('/v1/me', { token })).status).toBe(200);
    second.child.kill('SIGINT');
    expect(await second.exited).toBe(0);
  });

  it('refuses to start without MONGO_URL, saying why once, with exit code 78 (configuration)', async () => {
    const refused = await runScript(mainScript, [], cleanEnvironment({ MONGO_URL: '', GATEWAY_PORT: '0', GATEWAY_DATA_DIR: dataDirectory }));
    expect(refused.exitCode).toBe(78);
    expect(refused.stderr).toMatch(/^gateway cannot start: invalid configuration \(1 variable\)/);
    expect(refused.stderr).toContain('MONGO_URL=(unset): required by the gateway');
    expect(refused.stderr).toContain('example:  MONGO_URL=mongodb://');
  });

  it('refuses invalid configuration with every setting named once, no stack, and exit code 78', async () => {
    const refused = await runScript(mainScript, [], { ...environment, GATEWAY_PORT: 'eighty', AUTH_TOKEN_SECRET: 'short' });
    expect(refused.exitCode).toBe(78);
    expect(refused.stderr.match(/GATEWAY_PORT="eighty": not a number/g)).toHaveLength(1);
    expect(refused.stderr).toContain('AUTH_TOKEN_SECRET=(hidden, 5 characters): AUTH_TOKEN_SECRET must be at least 32 characters');
    expect(refused.stderr).not.toContain('"short"');
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });
});
