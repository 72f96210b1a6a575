/**
 * `npm run new-service -- <name> [--port <grpc port>] [--description "<one line>"] [--no-install]`:
 * creates services/<name> on the service skeleton — package and TypeScript settings, its
 * configuration, the service definition (gRPC with health, its own database and events topic,
 * outbox relay, scheduler), main.ts, a pure domain/ folder, and an integration test that starts it
 * and asks for its health. `npm start` runs it and /readyz checks it from then on. See
 * docs/adding-a-service.md.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Lower-case words joined by single hyphens: the service's directory, package and topic name. */
export const serviceNamePattern = /^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$/;
export const serviceNameLengthMax = 30;
/** The first gRPC port handed out when no service declares one. */
export const grpcPortFirst = 50_051;

export interface NewServiceOptions {
  readonly root: string;
  readonly name: string;
  readonly port?: number;
  readonly description?: string;
}

interface Names {
  readonly kebab: string;
  readonly camel: string;
  readonly pascal: string;
  readonly upper: string;
  readonly snake: string;
}

export function namesOf(name: string): Names {
  const words = name.split('-');
  const camel = words.map((word, index) => (index === 0 ? word : word[0]!.toUpperCase() + word.slice(1))).join('');
  return { kebab: name, camel, pascal: camel[0]!.toUpperCase() + camel.slice(1), upper: words.join('_').toUpperCase(), snake: words.join('_') };
}

/** The gRPC ports services declare in their package.json (`"sizhong": {"grpcPort": …}`). */
export function declaredPorts(root: string): Map<string, number> {
  const ports = new Map<string, number>();
  const services = join(root, 'services');
  if (!existsSync(services)) return ports;
  for (const directory of readdirSync(services)) {
    const manifest = join(services, directory, 'package.json');
    if (!existsSync(manifest)) continue;
    const port = (JSON.parse(readFileSync(manifest, 'utf8')) as { sizhong?: { grpcPort?: number } }).sizhong?.grpcPort;
    if (typeof port === 'number') ports.set(directory, port);
  }
  return ports;
}

/** Writes the new service's files; returns their paths. Refuses a bad or taken name or port. */
export function createService(options: NewServiceOptions): string[] {
  const { name, root } = options;
  if (!serviceNamePattern.test(name) || name.length > serviceNameLengthMax) {
    throw new Error(`service name ${JSON.stringify(name)}: use lower-case words joined by hyphens, at most ${serviceNameLengthMax} characters (for example: notifications, risk-audit)`);
  }
  const directory = join(root, 'services', name);
  if (existsSync(directory)) throw new Error(`services/${name} exists already`);
  const ports = declaredPorts(root);
  const port = options.port ?? Math.max(grpcPortFirst - 1, ...ports.values()) + 1;
  if (!Number.isInteger(port) || port < 1_024 || port > 65_535) throw new Error(`port ${port}: choose one between 1024 and 65535`);
  const taken = [...ports].find(([, used]) => used === port);
  if (taken) throw new Error(`port ${port} is services/${taken[0]}'s; choose another with --port`);

  const files = templates(namesOf(name), port, options.description ?? `The ${name} service`);
  for (const [path, content] of Object.entries(files)) {
    const target = join(directory, path);
    mkdirSync(join(target, '..'), { recursive: true });
    writeFileSync(target, content);
  }
  return Object.keys(files).map((path) => join('services', name, path));
}

function templates(names: Names, port: number, description: string): Record<string, string> {
  const { kebab, camel, pascal, upper, snake } = names;
  const tsconfig = (extra: object) => `${JSON.stringify({ extends: '../../tsconfig.base.json', ...extra }, null, 2)}\n`;
  return {
    'package.json': `${JSON.stringify(
      {
        name: `@sizhong/${kebab}`,
        version: '0.1.0',
        private: true,
        description,
        main: 'dist/main.js',
        scripts: { build: 'tsc -p tsconfig.build.json', typecheck: 'tsc -p tsconfig.json --noEmit' },
        dependencies: { '@sizhong/kit': '0.1.0', '@sizhong/proto': '0.1.0', zod: '^4.1.0' },
        sizhong: { grpcPort: port },
      },
      null,
      2,
    )}\n`,
    'tsconfig.json': tsconfig({ compilerOptions: { noEmit: true }, include: ['src', 'test'] }),
    'tsconfig.build.json': tsconfig({ compilerOptions: { rootDir: 'src', outDir: 'dist', types: ['node'], paths: {} }, include: ['src'], exclude: ['src/**/*.spec.ts'] }),
    'src/config.ts': `/** The ${kebab} service's settings, read once in main.ts (each has a default and a description). */
import { type loadConfig, serviceRuntimeShape } from '@sizhong/kit';
import { z } from 'zod';

export const ${camel}ConfigShape = {
  ...serviceRuntimeShape({ grpcPortDefault: ${port} }),
  ${upper}_DATABASE: z.string().regex(/^[a-z0-9_]{1,38}$/).default('sizhong_${snake}').describe('MongoDB database owned by ${kebab}'),
};

export type ${pascal}Config = ReturnType<typeof loadConfig<typeof ${camel}ConfigShape>>;
`,
    [`src/${kebab}-service.ts`]: `/**
 * The ${kebab} service as parts for the kit's service skeleton (docs/adding-a-service.md): build its
 * stores on \`mongo\`, its use cases on them, and return the gRPC services, the stores whose outboxes
 * the relay publishes, the consumers and the loops. Deadlines go through \`scheduler.handle\`.
 */
import type { ServiceDefinition } from '@sizhong/kit';
import type { ${pascal}Config } from './config';

/** What tests reach in-process: the use cases, once there are some. */
export type ${pascal}UseCases = Record<string, never>;

export const ${camel}Service: ServiceDefinition<${pascal}Config, ${pascal}UseCases> = {
  name: '${kebab}',
  databaseName: (config) => config.${upper}_DATABASE,
  async build() {
    return { grpc: [], exposed: {} };
  },
};
`,
    'src/main.ts': `/** The ${kebab} service process: the kit's service main with its parts and settings. */
import { runServiceMain } from '@sizhong/kit';
import { ${camel}ConfigShape } from './config';
import { ${camel}Service } from './${kebab}-service';

runServiceMain(${camel}Service, ${camel}ConfigShape);
`,
    'src/domain/README.md': `# ${kebab} domain (pure)

The rules of ${kebab}, with no I/O: functions take the state and \`now\` and return the new state
and its events, or throw a \`DomainError\`. Import the kit's pure parts from \`@sizhong/kit/domain\`;
the lint rule refuses the barrel, frameworks, the clock and randomness here (docs/adding-a-service.md).
`,
    [`test/${kebab}-service.int.spec.ts`]: `// Proves the ${kebab} service starts on the skeleton against the real servers and answers grpc.health.v1 SERVING.
import { checkHealth } from '@sizhong/kit';
import { startTestService } from '@sizhong/testkit';
import { ${camel}ConfigShape } from '../src/config';
import { ${camel}Service } from '../src/${kebab}-service';

describe('${kebab} service', () => {
  it('starts with its own database and topic, and answers health', async () => {
    const service = await startTestService(${camel}Service, ${camel}ConfigShape, { label: '${kebab}' });
    try {
      await expect(checkHealth(service.address, { deadlineMs: 5_000 })).resolves.toBe(true);
    } finally {
      await service.stop();
    }
  });
});
`,
  };
}

function parseArguments(argv: readonly string[]): NewServiceOptions & { install: boolean } {
  const [name, ...rest] = argv;
  if (!name || name.startsWith('-')) throw new Error('usage: npm run new-service -- <name> [--port <grpc port>] [--description "<one line>"] [--no-install]');
  let port: number | undefined;
  let description: string | undefined;
  let install = true;
  for (let index = 0; index < rest.length; index += 1) {
    const flag = rest[index];
    if (flag === '--port') port = Number(rest[++index]);
    else if (flag === '--description') description = rest[++index];
    else if (flag === '--no-install') install = false;
    else throw new Error(`unknown option ${flag}`);
  }
  return { root: join(__dirname, '..'), name, ...(port === undefined ? {} : { port }), ...(description === undefined ? {} : { description }), install };
}

function main(): void {
  const options = parseArguments(process.argv.slice(2));
  const created = createService(options);
  console.log(`Created services/${options.name}:\n${created.map((path) => `  ${path}`).join('\n')}`);
  if (options.install) {
    console.log('Linking the new workspace (npm install)…');
    const run = spawnSync('npm', ['install', '--no-audit', '--no-fund'], { cwd: options.root, stdio: 'inherit' });
    if (run.status !== 0) throw new Error('npm install failed; run it yourself once the problem above is fixed');
  }
  console.log(`\nNext:\n  npx jest services/${options.name}     its test\n  npm start                     runs it with the rest; /readyz checks it\n  docs/adding-a-service.md      what to add next (domain, gRPC contract, gateway routes)`);
}

if (require.main === module) {
  try {
    main();
  } catch (error) {
    console.error(`new-service: ${(error as Error).message}`);
    process.exitCode = 1;
  }
}
