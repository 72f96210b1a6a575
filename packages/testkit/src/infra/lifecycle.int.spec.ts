// Proves the whole lifecycle on a private mongo-java-server: up starts once, down leaves no process or pid file, stale pid files are cleaned.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalMongo } from './local-mongo';
import { findFreePort, isPortAnswering } from './ports';
import { isProcessAlive } from './processes';
import { discardLog } from './progress';

/** A pid far above any pid_max default, so no process can have it. */
const pidThatCannotExist = 2 ** 30;

describe('a private mongo-java-server (separate state directory and port)', () => {
  let scratchDirectory: string;
  let stateDirectory: string;
  let mongo: LocalMongo;
  let port: number;

  beforeAll(async () => {
    scratchDirectory = mkdtempSync(join(tmpdir(), 'sizhong-lifecycle-'));
    stateDirectory = join(scratchDirectory, 'mongo');
    port = await findFreePort();
    mongo = new LocalMongo({ stateDirectory, port, log: discardLog });
  });

  afterAll(async () => {
    await mongo.down();
    rmSync(scratchDirectory, { recursive: true, force: true });
  });

  it('starts on up, is reused by the next up, and stops on down without leftovers', async () => {
    const started = await mongo.up();
    expect(started).toMatchObject({ startedHere: true, address: `127.0.0.1:${port}` });
    expect(await mongo.status()).toMatchObject({ state: 'running', pid: started.pid });

    expect(await mongo.up()).toMatchObject({ startedHere: false, pid: started.pid });

    expect(await mongo.down()).toMatchObject({ outcome: 'stopped', pid: started.pid });
    expect(isProcessAlive(started.pid)).toBe(false);
    expect(await isPortAnswering('127.0.0.1', port)).toBe(false);
    expect(existsSync(join(stateDirectory, 'mongo.pid'))).toBe(false);
    expect(await mongo.status()).toMatchObject({ state: 'stopped' });

    expect(await mongo.down()).toMatchObject({ outcome: 'was-not-running' });
  });

  it('reports a stale pid file, removes it on down, and starts over it on up', async () => {
    // Given a pid file left by a server that died without cleaning up.
    const pidFile = join(stateDirectory, 'mongo.pid');
    mkdirSync(stateDirectory, { recursive: true });
    writeFileSync(pidFile, JSON.stringify({ pid: pidThatCannotExist, host: '127.0.0.1', ports: [port], startedAt: '' }));
    expect(await mongo.status()).toMatchObject({ state: 'stopped', detail: expect.stringContaining('stale pid file') });

    expect(await mongo.down()).toMatchObject({ outcome: 'was-not-running' });
    expect(existsSync(pidFile)).toBe(false);

    writeFileSync(pidFile, JSON.stringify({ pid: pidThatCannotExist, host: '127.0.0.1', ports: [port], startedAt: '' }));
    const started = await mongo.up();
    expect(started.startedHere).toBe(true);
    expect(JSON.parse(readFileSync(pidFile, 'utf8'))).toMatchObject({ pid: started.pid });
    await mongo.down();
  });
});
