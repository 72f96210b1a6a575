// Proves the admin command as a real child process against the test database: it creates a regulator who can then sign in, refuses a taken email, answers usage errors clearly with exit code 2, says what to run first when it finds no database, and refuses invalid configuration with 78. (Finding the platform `npm start` runs is proved in scripts/start.e2e.spec.ts.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectMongo, type MongoConnection } from '@sizhong/kit';
import { testDatabaseName, testInfrastructure } from '@sizhong/testkit';
import { HttpClient, signIn, startTestGateway, type TestGateway, testPassword, uniqueEmail } from './support/test-gateway';
import { cleanEnvironment, runScript } from './support/processes';

const adminScript = 'gateway/src/admin.ts';
let databaseName: string;
let environment: NodeJS.ProcessEnv;
let mongo: MongoConnection;

beforeAll(async () => {
  const { mongoUrl } = testInfrastructure();
  databaseName = testDatabaseName('gateway-admin');
  environment = cleanEnvironment({ MONGO_URL: mongoUrl, GATEWAY_DATABASE: databaseName });
  mongo = await connectMongo(mongoUrl, databaseName);
});

afterAll(async () => {
  await mongo.db.dropDatabase();
  await mongo.close();
});

describe('npm run admin -- create-participant', () => {
  it('creates a regulator who signs in with that role', async () => {
    const email = uniqueEmail('Regulator');
    const created = await runScript(adminScript, ['create-participant', '--role', 'regulator', '--email', email, '--password', testPassword, '--display-name', 'R. Egulator'], environment);
    expect(created.stderr).toBe('');
    expect(created.exitCode).toBe(0);
    const printed = JSON.parse(created.stdout.trim()) as { participantId: string; email: string; roles: string[] };
    expect(printed).toEqual({ participantId: expect.stringMatching(/^pt_[0-9a-f]{32}$/), email: email.toLowerCase(), roles: ['regulator'] });

    const test: TestGateway = await startTestGateway({ label: 'unused', databaseName });
    try {
      const token = await signIn(test.http, email);
      const me = await new HttpClient(test.url).get('/v1/me', { token });
      expect(me.body).toEqual({ participantId: printed.participantId, displayName: 'R. Egulator', roles: ['regulator'], email: email.toLowerCase() });
    } finally {
      await test.close();
    }
  });

  it('takes several roles and the password from standard input', async () => {
    const email = uniqueEmail('arbiter');
    const created = await runScript(adminScript, ['create-participant', '--role', 'arbiter,admin', '--role', 'regulator', '--email', email, '--password-stdin'], environment, `${testPassword}\n`);
    expect(created.exitCode).toBe(0);
    expect(JSON.parse(created.stdout.trim())).toMatchObject({ roles: ['arbiter', 'admin', 'regulator'] });
    const stored = await mongo.collection('participants').findOne({ email });
    expect(stored).toMatchObject({ displayName: email.split('@')[0], createdBy: 'admin-command' });
    expect(JSON.stringify(stored)).not.toContain(testPassword);
  });

  it('refuses an email that is taken (exit 1)', async () => {
    const email = uniqueEmail('twice');
    expect((await runScript(adminScript, ['create-participant', '--role', 'admin', '--email', email, '--password', testPassword], environment)).exitCode).toBe(0);
    const again = await runScript(adminScript, ['create-participant', '--role', 'admin', '--email', email, '--password', testPassword], environment);
    expect(again.exitCode).toBe(1);
    expect(again.stderr).toContain('already exists (ALREADY_EXISTS)');
  });

  it.each([
    [[], 'no command given'],
    [['make-coffee'], 'unknown command "make-coffee"'],
    [['create-participant', '--email', 'a@example.org', '--password', testPassword], '--role is required'],
    [['create-participant', '--role', 'king', '--email', 'a@example.org', '--password', testPassword], 'unknown role "king"'],
    [['create-participant', '--role', 'admin', '--email', 'not-an-email', '--password', testPassword], '--email: an email address such as ann@example.org'],
    [['create-participant', '--role', 'admin', '--email', 'a@example.org', '--password', 'short'], '--password: at least 12 characters'],
    [['create-participant', '--role', 'admin', '--email', 'a@example.org'], '--password or --password-stdin is required'],
    [['create-participant', '--role', 'admin', '--email', 'a@example.org', '--password', testPassword, '--colour', 'red'], "Unknown option '--colour'"],
  ])('answers usage error %j with exit code 2', async (args, message) => {
    const refused = await runScript(adminScript, args, environment);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(message);
    expect(refused.stderr).toContain('Usage:');
    expect(refused.stdout).toBe('');
  });

  it('says what to run first when MONGO_URL is missing and no platform runs from the clone (exit 1)', async () => {
    // An empty state directory: a platform the developer runs from this clone must not answer instead.
    const stateDirectory = mkdtempSync(join(tmpdir(), 'sizhong-admin-state-'));
    try {
      const refused = await runScript(
        adminScript,
        ['create-participant', '--role', 'admin', '--email', 'a@example.org', '--password', testPassword],
        cleanEnvironment({ MONGO_URL: '', SIZHONG_STATE_DIR: stateDirectory }),
      );
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain('MONGO_URL is not set and no platform is running from this clone');
      expect(refused.stderr).toContain('`npm start`');
    } finally {
      rmSync(stateDirectory, { recursive: true, force: true });
    }
  });

  it('refuses invalid configuration once, naming the variable, with exit code 78', async () => {
    const refused = await runScript(adminScript, ['create-participant', '--role', 'admin', '--email', 'a@example.org', '--password', testPassword], { ...environment, GATEWAY_DATABASE: 'no spaces allowed' });
    expect(refused.exitCode).toBe(78);
    expect(refused.stderr.match(/GATEWAY_DATABASE="no spaces allowed"/g)).toHaveLength(1);
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });
});
