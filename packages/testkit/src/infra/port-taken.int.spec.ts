// Proves that a port held by another process stops a start with a message naming the port and the variable that moves it.
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InfrastructureError } from './infrastructure-error';
import { LocalKafka } from './local-kafka';
import { LocalMongo } from './local-mongo';
import { findFreePort } from './ports';
import { discardLog } from './progress';

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port }, () => resolve(server));
  });
}

describe('a start on a port held by another process', () => {
  let scratchDirectory: string;
  let squatter: Server;
  let takenPort: number;

  beforeEach(async () => {
    // Given a separate clone state (so the shared servers stay untouched) and a port someone else holds.
    scratchDirectory = mkdtempSync(join(tmpdir(), 'sizhong-port-taken-'));
    takenPort = await findFreePort();
    squatter = await listenOn(takenPort);
  });

  afterEach(async () => {
    await new Promise((resolve) => squatter.close(resolve));
    rmSync(scratchDirectory, { recursive: true, force: true });
  });

  it('fails for Kafka naming the port and SIZHONG_KAFKA_PORT', async () => {
    const kafka = new LocalKafka({ stateDirectory: join(scratchDirectory, 'kafka'), port: takenPort, controllerPort: await findFreePort(), log: discardLog });
    const failure = await kafka.up().catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(InfrastructureError);
    expect(failure).toMatchObject({ code: 'port-taken' });
    expect((failure as Error).message).toContain(`127.0.0.1:${takenPort} is already in use`);
    expect((failure as Error).message).toContain('SIZHONG_KAFKA_PORT=<port>');
  });

  it("fails for Kafka's controller port naming SIZHONG_KAFKA_CONTROLLER_PORT", async () => {
    const kafka = new LocalKafka({ stateDirectory: join(scratchDirectory, 'kafka'), port: await findFreePort(), controllerPort: takenPort, log: discardLog });
    const failure = await kafka.up().catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'port-taken' });
    expect((failure as Error).message).toContain(`127.0.0.1:${takenPort} (its controller port) is already in use`);
    expect((failure as Error).message).toContain('SIZHONG_KAFKA_CONTROLLER_PORT=<port>');
  });

  it('fails for mongo-java-server naming the port and SIZHONG_MONGO_PORT, and reports the port as not ours', async () => {
    const mongo = new LocalMongo({ stateDirectory: join(scratchDirectory, 'mongo'), port: takenPort, log: discardLog });
    const failure = await mongo.up().catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'port-taken' });
    expect((failure as Error).message).toContain(`127.0.0.1:${takenPort} is already in use`);
    expect((failure as Error).message).toContain('SIZHONG_MONGO_PORT=<port>');
    expect(await mongo.status()).toMatchObject({ state: 'stopped', detail: expect.stringContaining('did not start') });
  });
});
