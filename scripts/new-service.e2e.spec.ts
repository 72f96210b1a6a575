// Proves the service generator: a service created from nothing type-checks, its generated test passes, it starts
// as its own process and answers grpc.health.v1 SERVING, and `npm start` runs it with the rest and /readyz checks
// it green; bad names and taken ports are refused.
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { checkHealth } from '../packages/kit/src/grpc/client';
import { ServiceProcess, testDatabaseName, testInfrastructure, testServiceEnvironment, testTopicPrefix } from '../packages/testkit/src';
import { PlatformUnderTest } from './platform/platform-under-test';
import { createService, declaredPorts, grpcPortFirst } from './new-service';

jest.setTimeout(480_000);

const root = join(__dirname, '..');
const name = `gen-${process.pid.toString(36)}-${Date.now().toString(36)}`;
const directory = join(root, 'services', name);

afterAll(() => rmSync(directory, { recursive: true, force: true }));

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { cwd: root, encoding: 'utf8', env: process.env });
  return { status: result.status, output: `${result.stdout}\n${result.stderr}` };
}

describe('npm run new-service', () => {
  it('refuses a malformed name, an existing service and a taken port', () => {
    expect(() => createService({ root, name: 'Bad_Name' })).toThrow('lower-case words joined by hyphens');
    expect(() => createService({ root, name: 'escrow' })).toThrow('services/escrow exists already');
    expect(() => createService({ root, name: `${name}-x`, port: grpcPortFirst })).toThrow("is services/escrow's");
  });

  it('creates a service that type-checks, passes its own test and answers health as a process', async () => {
    const created = createService({ root, name });
    expect(created).toContain(join('services', name, 'src', 'main.ts'));
    // It takes the next free port after the declared ones.
    expect(declaredPorts(root).get(name)).toBe(Math.max(...[...declaredPorts(root)].filter(([service]) => service !== name).map(([, port]) => port)) + 1);

    const typecheck = run(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(directory, 'tsconfig.json')]);
    expect({ status: typecheck.status, output: typecheck.status === 0 ? '' : typecheck.output }).toEqual({ status: 0, output: '' });

    // Its generated test, run as `npm test` would (the servers of this run are reused through the environment).
    const test = run(process.execPath, [join(root, 'node_modules', 'jest', 'bin', 'jest.js'), join('services', name)]);
    expect({ status: test.status, passed: /Tests:\s+1 passed, 1 total/.test(test.output) }).toEqual({ status: 0, passed: true });

    const service = await ServiceProcess.create(name, testServiceEnvironment(name, name, { LOG_LEVEL: 'info' }));
    service.start();
    try {
      let serving = false;
      for (let attempt = 0; attempt < 150 && !serving; attempt += 1) {
        serving = await checkHealth(service.address, { deadlineMs: 1_000 }).catch(() => false);
        if (!serving) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect({ serving, log: serving ? '' : service.recentLog }).toEqual({ serving: true, log: '' });
    } finally {
      await service.stop();
    }
    // A graceful stop exits 0.
    expect(service.exitCodes).toEqual([0]);
  });

  it('runs under npm start beside the others, and /readyz checks it', async () => {
    const platform = await PlatformUnderTest.start({
      build: true,
      infrastructure: testInfrastructure(),
      environment: {
        GATEWAY_DATABASE: testDatabaseName('generated_gateway'),
        ESCROW_DATABASE: testDatabaseName('generated_escrow'),
        KAFKA_TOPIC_PREFIX: testTopicPrefix('generated'),
        [`${name.toUpperCase().replace(/-/g, '_')}_GRPC_PORT`]: '0',
      },
    });
    try {
      const url = await platform.waitUntilRunning();
      expect(platform.output).toContain(`started ${name}`);
      const readiness = (await (await fetch(`${url}/readyz`)).json()) as { status: string; checks: Record<string, string> };
      expect(readiness).toMatchObject({ status: 'ready', checks: { [name]: 'up', escrow: 'up' } });
    } finally {
      await platform.cleanUp();
    }
  });
});
