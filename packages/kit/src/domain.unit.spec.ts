// Proves that the kit's pure entry (`@sizhong/kit/domain`) loads no infrastructure package: a domain
// importing money, errors and ids does not pull in gRPC, MongoDB, Kafka, OpenTelemetry or logging.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';

const repositoryRoot = join(__dirname, '..', '..', '..');
const infrastructure = /node_modules[\\/](@grpc|mongodb|mongoose|kafkajs|@opentelemetry|pino|express|zod)[\\/]/;

/** The packages a module loads, asked of a fresh Node process (jest's own registry would hide them). */
function packagesLoadedBy(modulePath: string): string[] {
  const script = `require('tsx/cjs'); require(${JSON.stringify(modulePath)}); console.log(JSON.stringify(Object.keys(require.cache)));`;
  const run = spawnSync(process.execPath, ['-e', script], { cwd: repositoryRoot, encoding: 'utf8' });
  if (run.status !== 0) throw new Error(run.stderr);
  return JSON.parse(run.stdout) as string[];
}

jest.setTimeout(30_000);

describe('@sizhong/kit/domain', () => {
  it('loads no gRPC, MongoDB, Kafka, telemetry or logging package', () => {
    const loaded = packagesLoadedBy(join(repositoryRoot, 'packages', 'kit', 'src', 'domain.ts'));
    expect(loaded.filter((path) => infrastructure.test(path))).toEqual([]);
  });

  it('while the barrel does (the reason the domain rule refuses it)', () => {
    const loaded = packagesLoadedBy(join(repositoryRoot, 'packages', 'kit', 'src', 'index.ts'));
    expect(loaded.some((path) => /node_modules[\\/]@grpc[\\/]/.test(path))).toBe(true);
    expect(loaded.some((path) => /node_modules[\\/]mongodb[\\/]/.test(path))).toBe(true);
  });
});
