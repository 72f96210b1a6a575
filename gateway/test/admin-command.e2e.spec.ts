// Proves the admin command as a real child process against the test database: it creates a regulator who can then sign in, lists unfinished sagas and stuck jobs and drives them on, refuses a taken email, answers usage errors clearly with exit code 2, says what to run first when it finds no database, and refuses invalid configuration with 78. (Finding the platform `npm start` runs is proved in scripts/start.e2e.spec.ts.)
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connectMongo, type JobDocument, type MongoConnection, type SagaRecord, schedulerStuckAfterAttempts, type StuckWorkReport } from '@sizhong/kit';
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

describe('npm run admin -- stuck / drive', () => {
  it('lists an unfinished saga and a stuck job with their last errors, and drives each on (made due now)', async () => {
    const escrowDatabase = testDatabaseName('admin-stuck-escrow');
    const escrow = await connectMongo(testInfrastructure().mongoUrl, escrowDatabase);
    try {
      const createdAt = new Date(Date.now() - 120_000);
      const farAway = new Date(Date.now() + 3_600_000);
      await escrow.collection<SagaRecord>('escrow_sagas').insertMany([
        { _id: 'sg-unfinished', kind: 'pledge', state: 'running', input: {}, fingerprint: 'f', attempts: 3, nextAttemptAt: farAway, lastError: 'DomainError: deadline exceeded', createdAt, updatedAt: createdAt },
        { _id: 'sg-done', kind: 'pledge', state: 'completed', input: {}, fingerprint: 'f', attempts: 0, nextAttemptAt: createdAt, createdAt, updatedAt: createdAt },
      ]);
      await escrow.collection<JobDocument>('escrow_jobs').insertMany([
        { _id: 'settle:cp-1', kind: 'settle-campaign', dueAt: farAway, payload: {}, state: 'scheduled', attempt: schedulerStuckAfterAttempts, lastError: 'escrow unavailable', scheduledAt: createdAt },
        { _id: 'settle:cp-2', kind: 'settle-campaign', dueAt: farAway, payload: {}, state: 'scheduled', attempt: 1, scheduledAt: createdAt },
      ]);
      const withEscrow = { ...environment, ESCROW_DATABASE: escrowDatabase };

      const listed = await runScript(adminScript, ['stuck', '--service', 'escrow', '--json'], withEscrow);
      expect(listed.stderr).toBe('');
      expect(listed.exitCode).toBe(0);
      const [report] = JSON.parse(listed.stdout) as StuckWorkReport[];
      expect(report!.sagas).toEqual([expect.objectContaining({ id: 'sg-unfinished', kind: 'pledge', state: 'running', attempts: 3, lastError: 'DomainError: deadline exceeded' })]);
      expect(report!.jobs).toEqual([expect.objectContaining({ id: 'settle:cp-1', attempt: schedulerStuckAfterAttempts, lastError: 'escrow unavailable' })]);
      const readable = await runScript(adminScript, ['stuck', '--service', 'escrow'], withEscrow);
      expect(readable.stdout).toContain('escrow: 1 unfinished saga(s), 1 stuck job(s)');
      expect((await runScript(adminScript, ['stuck', '--service', 'escrow', '--older-than', '3600', '--json'], withEscrow)).stdout).toContain('"sagas":[]');

      for (const id of ['sg-unfinished', 'settle:cp-1']) {
        const driven = await runScript(adminScript, ['drive', '--service', 'escrow', '--id', id], withEscrow);
        expect(driven.exitCode).toBe(0);
        expect(JSON.parse(driven.stdout)).toMatchObject({ service: 'escrow', id, found: id.startsWith('sg-') ? 'saga' : 'job' });
      }
      expect((await escrow.collection<SagaRecord>('escrow_sagas').findOne({ _id: 'sg-unfinished' }))!.nextAttemptAt.getTime()).toBeLessThanOrEqual(Date.now());
      expect((await escrow.collection<JobDocument>('escrow_jobs').findOne({ _id: 'settle:cp-1' }))!.dueAt.getTime()).toBeLessThanOrEqual(Date.now());
      const finished = await runScript(adminScript, ['drive', '--service', 'escrow', '--id', 'sg-done'], withEscrow);
      expect(finished.exitCode).toBe(1);
      expect(finished.stderr).toContain('no unfinished saga or job sg-done');
    } finally {
      await escrow.db.dropDatabase();
      await escrow.close();
    }
  });

  it.each([
    [['stuck', '--service', 'bakery'], 'unknown service "bakery"'],
    [['drive', '--id', 'x'], 'drive needs exactly one --service'],
    [['drive', '--service', 'escrow'], 'drive needs --id'],
    [['stuck', '--older-than', 'soon'], '--older-than takes whole seconds'],
  ])('answers usage error %j with exit code 2', async (args, message) => {
    const refused = await runScript(adminScript, args, environment);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toContain(message);
  });
});
