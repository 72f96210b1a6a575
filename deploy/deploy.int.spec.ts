// Proves the deployment files are ones an engine would accept and that they run what the code is:
// the Kubernetes manifests pass kubeconform (strict) against the API schemas of the oldest and the
// newest Kubernetes supported, the compose file passes the compose specification's JSON schema, and
// broken copies of each are refused. Every service the runner discovers (scripts/platform) has its
// Deployment, Service, PodDisruptionBudget and HorizontalPodAutoscaler and its compose service,
// on its declared port; every variable set is one its process declares (services/*/src/config.ts,
// gateway/src/config.ts); the variables a process needs are set; secrets come from a Secret or the
// environment, never from the files. The tools install themselves on first use (validation-tools.ts).
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Ajv2020 from 'ajv/dist/2020';
import { parse, parseAllDocuments, stringify } from 'yaml';
import type { z } from 'zod';
import { gatewayConfigShape } from '../gateway/src/config';
import { gatewayKnownServices, type PlatformService, presentServices } from '../scripts/platform/components';
import { ensureComposeSchema, ensureKubeconform, ensureKubernetesSchemas, kubernetesVersions, toolInstallTimeoutMs } from './validation-tools';

jest.setTimeout(120_000);

const root = join(__dirname, '..');
const k8sDirectory = join(__dirname, 'k8s');
const composeFile = join(__dirname, 'docker-compose.yml');

type Json = Record<string, unknown>;
type Shape = Record<string, z.ZodType>;
interface Manifest {
  readonly file: string;
  readonly kind: string;
  readonly name: string;
  readonly body: Json;
}

/** A variable that holds a secret: it must come from a Secret (Kubernetes) or the environment (compose), never from these files. */
const secretVariable = /SECRET|PASSWORD|_KEY$/;

/**
 * The services under services/ that git tracks: what a clone deploys. (Another test generates a
 * throwaway service under services/ while it runs; that one is not part of the platform.)
 */
function platformServices(): PlatformService[] {
  const present = presentServices(root);
  const listed = spawnSync('git', ['ls-files', '--', 'services/*/package.json'], { cwd: root, encoding: 'utf8' });
  if (listed.status !== 0) return present;
  const tracked = new Set(listed.stdout.split('\n').filter(Boolean).map((path) => path.split('/')[1]));
  return present.filter((service) => tracked.has(service.name));
}

async function configShapeOf(service: PlatformService): Promise<Shape> {
  const module = (await import(join(root, service.directory, 'src', 'config.ts'))) as Record<string, unknown>;
  const shapes = Object.entries(module).filter(([name]) => name.endsWith('ConfigShape'));
  if (shapes.length !== 1) throw new Error(`${service.directory}/src/config.ts should export one …ConfigShape, exports ${Object.keys(module).join(', ')}`);
  return shapes[0]![1] as Shape;
}

function readManifests(directory: string): Manifest[] {
  return readdirSync(directory)
    .filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml')
    .flatMap((file) =>
      parseAllDocuments(readFileSync(join(directory, file), 'utf8')).map((document) => {
        if (document.errors.length > 0) throw new Error(`${file}: ${document.errors.map((error) => error.message).join('; ')}`);
        const body = document.toJS() as Json;
        return { file, kind: String(body['kind']), name: String((body['metadata'] as Json | undefined)?.['name']), body };
      }),
    );
}

function find(manifests: readonly Manifest[], kind: string, name: string): Manifest {
  const found = manifests.find((manifest) => manifest.kind === kind && manifest.name === name);
  if (!found) throw new Error(`no ${kind} named ${name} in deploy/k8s`);
  return found;
}

interface Kubeconform {
  readonly exitCode: number | null;
  readonly summary: { valid: number; invalid: number; errors: number; skipped: number };
  readonly problems: string;
}

let kubeconform: string;
let schemaLocation: string;

function runKubeconform(files: readonly string[], kubernetesVersion: string): Kubeconform {
  const result = spawnSync(
    kubeconform,
    ['-strict', '-summary', '-output', 'json', '-skip', 'Kustomization', '-kubernetes-version', kubernetesVersion, '-schema-location', schemaLocation, ...files],
    { encoding: 'utf8' },
  );
  const report = JSON.parse(result.stdout) as { resources: { msg?: string; name?: string; kind?: string }[]; summary: Kubeconform['summary'] };
  return { exitCode: result.status, summary: report.summary, problems: report.resources.map((resource) => `${resource.kind} ${resource.name}: ${resource.msg}`).join('\n') };
}

function documentCount(files: readonly string[]): number {
  return files.reduce((count, file) => count + parseAllDocuments(readFileSync(file, 'utf8')).filter((document) => (document.toJS() as Json)['kind'] !== 'Kustomization').length, 0);
}

const container = (deployment: Manifest): Json => {
  const containers = ((((deployment.body['spec'] as Json)['template'] as Json)['spec'] as Json)['containers'] as Json[]) ?? [];
  expect(containers).toHaveLength(1);
  return containers[0]!;
};

/** Every variable a container gets, with where its value comes from. */
function containerEnvironment(manifests: readonly Manifest[], deployment: Manifest): Map<string, { from: 'literal' | 'configmap' | 'secret'; value?: string }> {
  const environment = new Map<string, { from: 'literal' | 'configmap' | 'secret'; value?: string }>();
  const main = container(deployment);
  for (const source of (main['envFrom'] as Json[] | undefined) ?? []) {
    const reference = source['configMapRef'] as Json | undefined;
    expect(reference).toBeDefined();
    const data = (find(manifests, 'ConfigMap', String(reference!['name'])).body['data'] as Record<string, string>) ?? {};
    for (const [name, value] of Object.entries(data)) environment.set(name, { from: 'configmap', value });
  }
  for (const variable of (main['env'] as Json[] | undefined) ?? []) {
    const name = String(variable['name']);
    const valueFrom = variable['valueFrom'] as Json | undefined;
    if (valueFrom?.['secretKeyRef']) environment.set(name, { from: 'secret' });
    else if (valueFrom?.['configMapKeyRef']) {
      const reference = valueFrom['configMapKeyRef'] as Json;
      const data = (find(manifests, 'ConfigMap', String(reference['name'])).body['data'] as Record<string, string>) ?? {};
      expect(Object.keys(data)).toContain(reference['key']);
      environment.set(name, { from: 'configmap', value: data[String(reference['key'])] });
    } else environment.set(name, { from: 'literal', value: String(variable['value']) });
  }
  return environment;
}

/** What a process's variables must look like wherever it is deployed. */
function expectedVariables(service: PlatformService | 'gateway', shape: Shape, services: readonly PlatformService[]) {
  const declared = Object.keys(shape);
  const required = service === 'gateway' ? ['MONGO_URL', 'GATEWAY_HOST', 'GATEWAY_PORT'] : ['MONGO_URL', 'KAFKA_BROKERS', 'GRPC_HOST', 'GRPC_PORT'];
  const secrets = declared.filter((name) => secretVariable.test(name));
  // The addresses of other services it declares (the gateway's, and those services that call others).
  const addresses = new Map(services.filter((other) => declared.includes(other.addressVariable)).map((other) => [other.addressVariable, `${other.name}:${other.grpcPortDefault}`]));
  return { declared, required, secrets, addresses };
}

beforeAll(() => {
  kubeconform = ensureKubeconform();
  schemaLocation = ensureKubernetesSchemas();
}, toolInstallTimeoutMs * 2);

describe('Kubernetes manifests (deploy/k8s)', () => {
  const files = readdirSync(k8sDirectory)
    .filter((file) => file.endsWith('.yaml'))
    .map((file) => join(k8sDirectory, file));
  const manifests = readManifests(k8sDirectory);

  it.each(kubernetesVersions)('are valid Kubernetes %s objects, strictly (kubeconform)', (version) => {
    const result = runKubeconform(files, version);
    expect(result.problems).toBe('');
    expect(result.summary).toEqual({ valid: documentCount(files), invalid: 0, errors: 0, skipped: 1 });
    expect(result.exitCode).toBe(0);
  });

  it('are refused when broken: a wrong type, an unknown field, a field of another API version', () => {
    const scratch = mkdtempSync(join(tmpdir(), 'sizhong-k8s-'));
    try {
      const [configMap, deployment, ...rest] = parseAllDocuments(readFileSync(join(k8sDirectory, 'escrow.yaml'), 'utf8')).map((document) => document.toJS() as Json);
      const broken = (mutate: (copy: Json) => void, source: Json): string => {
        const copy = structuredClone(source);
        mutate(copy);
        const file = join(scratch, `broken-${readdirSync(scratch).length}.yaml`);
        writeFileSync(file, stringify(copy));
        return file;
      };
      const probePortAsText = broken((copy) => {
        const main = ((((copy['spec'] as Json)['template'] as Json)['spec'] as Json)['containers'] as Json[])[0]!;
        main['readinessProbe'] = { grpc: { port: 'grpc' } };
      }, deployment!);
      const misspelledField = broken((copy) => {
        const main = ((((copy['spec'] as Json)['template'] as Json)['spec'] as Json)['containers'] as Json[])[0]!;
        main['enviroment'] = main['env'];
      }, deployment!);
      const hpa = rest.find((body) => body['kind'] === 'HorizontalPodAutoscaler')!;
      const v1FieldInV2 = broken((copy) => {
        (copy['spec'] as Json)['targetCPUUtilizationPercentage'] = 70;
      }, hpa);
      const wrongConfigMapValue = broken((copy) => {
        copy['data'] = { GRPC_PORT: 50051 };
      }, configMap!);
      for (const [file, complaint] of [
        [probePortAsText, /readinessProbe\/grpc\/port.*want integer/],
        [misspelledField, /additional properties 'enviroment' not allowed/],
        [v1FieldInV2, /additional properties 'targetCPUUtilizationPercentage' not allowed/],
        [wrongConfigMapValue, /data\/GRPC_PORT.*got number, want (null or )?string/],
      ] as const) {
        const result = runKubeconform([file], kubernetesVersions[0]!);
        expect(result.exitCode).toBe(1);
        expect(result.summary.invalid).toBe(1);
        expect(result.problems).toMatch(complaint);
      }
    } finally {
      rmSync(scratch, { recursive: true, force: true });
    }
  });

  it('are all listed in kustomization.yaml, which names the image', () => {
    const kustomization = parse(readFileSync(join(k8sDirectory, 'kustomization.yaml'), 'utf8')) as { resources: string[]; images: { name: string }[] };
    const yamlFiles = readdirSync(k8sDirectory).filter((file) => file.endsWith('.yaml') && file !== 'kustomization.yaml');
    expect([...kustomization.resources].sort()).toEqual(yamlFiles.sort());
    expect(kustomization.images.map((image) => image.name)).toEqual(['sizhong']);
  });

  it('give every service the runner discovers a Deployment probed over gRPC health, a Service, a PodDisruptionBudget and an autoscaler on its declared port', () => {
    const services = platformServices();
    expect(services.map((service) => service.name)).toEqual(expect.arrayContaining(['escrow']));
    for (const service of services) {
      const deployment = find(manifests, 'Deployment', service.name);
      const main = container(deployment);
      expect(main['image']).toBe('sizhong');
      expect(main['args']).toEqual([service.name]);
      expect(main['ports']).toEqual([{ name: 'grpc', containerPort: service.grpcPortDefault, protocol: 'TCP' }]);
      for (const probe of ['startupProbe', 'readinessProbe', 'livenessProbe']) expect((main[probe] as Json)['grpc']).toEqual({ port: service.grpcPortDefault });
      expectResourcesAndSecurity(main);
      const podLabels = (((deployment.body['spec'] as Json)['template'] as Json)['metadata'] as Json)['labels'] as Json;

      const serviceObject = find(manifests, 'Service', service.name).body['spec'] as Json;
      expect(serviceObject['selector']).toEqual({ 'app.kubernetes.io/name': service.name });
      expect(podLabels).toMatchObject(serviceObject['selector'] as Json);
      expect(serviceObject['ports']).toEqual([expect.objectContaining({ port: service.grpcPortDefault, targetPort: 'grpc' })]);
      expectDisruptionBudgetAndAutoscaler(service.name, podLabels);
    }
  });

  it('run the gateway probed on /readyz and /healthz, in front of every service', () => {
    const main = container(find(manifests, 'Deployment', 'gateway'));
    expect(main['args']).toEqual(['gateway']);
    expect((main['readinessProbe'] as Json)['httpGet']).toEqual({ path: '/readyz', port: 'http' });
    expect((main['livenessProbe'] as Json)['httpGet']).toEqual({ path: '/healthz', port: 'http' });
    expectResourcesAndSecurity(main);
    const environment = containerEnvironment(manifests, find(manifests, 'Deployment', 'gateway'));
    expect(main['ports']).toEqual([{ name: 'http', containerPort: Number(environment.get('GATEWAY_PORT')?.value), protocol: 'TCP' }]);
    const podLabels = (((find(manifests, 'Deployment', 'gateway').body['spec'] as Json)['template'] as Json)['metadata'] as Json)['labels'] as Json;
    expect((find(manifests, 'Service', 'gateway').body['spec'] as Json)['ports']).toEqual([expect.objectContaining({ targetPort: 'http' })]);
    expectDisruptionBudgetAndAutoscaler('gateway', podLabels);
  });

  it('set only variables each process declares, every one it needs, and secrets only from the sizhong-secrets Secret', async () => {
    const services = platformServices();
    const deployed: [PlatformService | 'gateway', Shape][] = [['gateway', gatewayConfigShape]];
    for (const service of services) deployed.push([service, await configShapeOf(service)]);
    for (const [service, shape] of deployed) {
      const name = service === 'gateway' ? 'gateway' : service.name;
      const environment = containerEnvironment(manifests, find(manifests, 'Deployment', name));
      const { declared, required, secrets, addresses } = expectedVariables(service, shape, services);
      const set = [...environment.keys()];
      expect({ name, undeclared: set.filter((variable) => !declared.includes(variable)) }).toEqual({ name, undeclared: [] });
      expect({ name, missing: [...required, ...secrets, ...addresses.keys()].filter((variable) => !environment.has(variable)) }).toEqual({ name, missing: [] });
      for (const variable of set.filter((candidate) => secretVariable.test(candidate))) expect({ name, variable, from: environment.get(variable)?.from }).toEqual({ name, variable, from: 'secret' });
      for (const [variable, address] of addresses) expect({ name, variable, value: environment.get(variable)?.value }).toEqual({ name, variable, value: address });
      if (service !== 'gateway') expect({ name, port: environment.get('GRPC_PORT')?.value }).toEqual({ name, port: String(service.grpcPortDefault) });
      // Every value passes the process's own validation.
      const values = Object.fromEntries([...environment].filter(([, source]) => source.from !== 'secret').map(([variable, source]) => [variable, source.value]));
      for (const [variable, value] of Object.entries(values)) expect({ name, variable, valid: shape[variable]!.safeParse(value).success }).toEqual({ name, variable, valid: true });
    }
    // The gateway knows every service it has routes for.
    const gatewayEnvironment = containerEnvironment(manifests, find(manifests, 'Deployment', 'gateway'));
    for (const service of services.filter((candidate) => gatewayKnownServices.includes(candidate.name))) expect(gatewayEnvironment.get(service.addressVariable)?.value).toBe(`${service.name}:${service.grpcPortDefault}`);
    // Secret references name the one Secret; no Secret object carries values in these files.
    expect(manifests.filter((manifest) => manifest.kind === 'Secret')).toEqual([]);
  });

  function expectResourcesAndSecurity(main: Json): void {
    const resources = main['resources'] as Json;
    expect(Object.keys(resources['requests'] as Json).sort()).toEqual(['cpu', 'memory']);
    expect(Object.keys(resources['limits'] as Json)).toContain('memory');
    expect(main['securityContext']).toMatchObject({ allowPrivilegeEscalation: false, readOnlyRootFilesystem: true });
  }

  function expectDisruptionBudgetAndAutoscaler(name: string, podLabels: Json): void {
    const budget = find(manifests, 'PodDisruptionBudget', name).body;
    expect(budget['apiVersion']).toBe('policy/v1');
    expect(podLabels).toMatchObject(((budget['spec'] as Json)['selector'] as Json)['matchLabels'] as Json);
    const autoscaler = find(manifests, 'HorizontalPodAutoscaler', name).body;
    expect(autoscaler['apiVersion']).toBe('autoscaling/v2');
    const spec = autoscaler['spec'] as Json;
    expect(spec['scaleTargetRef']).toEqual({ apiVersion: 'apps/v1', kind: 'Deployment', name });
    expect(spec['minReplicas']).toBeGreaterThanOrEqual(2);
  }
});

describe('docker compose (deploy/docker-compose.yml)', () => {
  let validateCompose: ReturnType<Ajv2020['compile']>;
  const loadCompose = () => parse(readFileSync(composeFile, 'utf8'), { merge: true }) as { services: Record<string, Json> };
  const problems = () => (validateCompose.errors ?? []).map((error) => `${error.instancePath} ${error.message} ${JSON.stringify(error.params)}`).join('\n');

  beforeAll(() => {
    const schema = JSON.parse(readFileSync(ensureComposeSchema(), 'utf8')) as Json;
    validateCompose = new Ajv2020({ allErrors: true, strict: false }).compile(schema);
  }, toolInstallTimeoutMs);

  it('follows the compose specification', () => {
    const valid = validateCompose(loadCompose());
    expect(problems()).toBe('');
    expect(valid).toBe(true);
  });

  it('is refused when broken: a misspelled key, an unknown dependency condition, values of the wrong type', () => {
    const cases: [(compose: { services: Record<string, Json> }) => void, RegExp][] = [
      [(compose) => (compose.services['gateway']!['enviroment'] = {}), /\/services\/gateway must NOT have unevaluated properties.*enviroment/],
      [(compose) => (compose.services['gateway']!['depends_on'] = { escrow: { condition: 'healthy' } }), /depends_on\/escrow\/condition must be equal to one of the allowed values/],
      [(compose) => (compose.services['escrow']!['environment'] = { GRPC_PORT: { value: '50051' } }), /\/services\/escrow\/environment\/GRPC_PORT must be string,number,boolean,null/],
      [(compose) => (compose.services['escrow']!['cap_drop'] = 'ALL'), /\/services\/escrow\/cap_drop must be array/],
    ];
    for (const [breakIt, complaint] of cases) {
      const compose = loadCompose();
      breakIt(compose);
      expect(validateCompose(compose)).toBe(false);
      expect(problems()).toMatch(complaint);
    }
  });

  it('runs every discovered service and the gateway from the one Dockerfile, with only declared variables and secrets from the environment', async () => {
    const compose = loadCompose();
    const services = platformServices();
    const deployed: [PlatformService | 'gateway', Shape][] = [['gateway', gatewayConfigShape]];
    for (const service of services) deployed.push([service, await configShapeOf(service)]);
    for (const [service, shape] of deployed) {
      const name = service === 'gateway' ? 'gateway' : service.name;
      const definition = compose.services[name];
      expect({ name, defined: definition !== undefined }).toEqual({ name, defined: true });
      expect(definition!['build']).toEqual({ context: '..', dockerfile: 'deploy/Dockerfile' });
      expect(definition!['command']).toEqual([name]);
      const environment = definition!['environment'] as Record<string, string>;
      const { declared, required, secrets, addresses } = expectedVariables(service, shape, services);
      expect({ name, undeclared: Object.keys(environment).filter((variable) => !declared.includes(variable)) }).toEqual({ name, undeclared: [] });
      expect({ name, missing: [...required, ...secrets, ...addresses.keys()].filter((variable) => !(variable in environment)) }).toEqual({ name, missing: [] });
      for (const variable of Object.keys(environment).filter((candidate) => secretVariable.test(candidate))) {
        // `${NAME:?…}`: taken from the environment or deploy/.env, and compose refuses to start without it.
        expect(environment[variable]).toMatch(new RegExp(`^\\$\\{${variable}:\\?`));
      }
      for (const [variable, address] of addresses) expect({ name, variable, value: environment[variable] }).toEqual({ name, variable, value: address });
      if (service !== 'gateway') expect({ name, port: environment['GRPC_PORT'] }).toEqual({ name, port: String(service.grpcPortDefault) });
    }
    expect(compose.services['gateway']!['ports']).toEqual([expect.stringMatching(/:8080$/)]);
  });

  it('sends traces to an OpenTelemetry collector whose pipeline ends in Jaeger', () => {
    const compose = loadCompose();
    const collector = parse(readFileSync(join(__dirname, 'otel-collector.yaml'), 'utf8')) as { receivers: Json; processors: Json; exporters: Record<string, Json>; service: { pipelines: Record<string, { receivers: string[]; processors: string[]; exporters: string[] }> } };
    const traces = collector.service.pipelines['traces']!;
    for (const receiver of traces.receivers) expect(collector.receivers).toHaveProperty([receiver]);
    for (const processor of traces.processors) expect(collector.processors).toHaveProperty([processor]);
    for (const exporter of traces.exporters) expect(collector.exporters).toHaveProperty([exporter]);
    expect(traces.exporters.map((exporter) => collector.exporters[exporter]!['endpoint'])).toEqual(['jaeger:4317']);
    expect(compose.services['otel-collector']!['volumes']).toEqual(['./otel-collector.yaml:/etc/otelcol/config.yaml:ro']);
    for (const name of ['gateway', ...platformServices().map((service) => service.name)]) {
      expect((compose.services[name]!['environment'] as Json)['OTEL_EXPORTER_OTLP_ENDPOINT']).toBe('http://otel-collector:4318');
    }
  });
});

describe('the image (deploy/Dockerfile)', () => {
  it('builds in stages, runs as a user that is not root, and starts the process named at run time', () => {
    const dockerfile = readFileSync(join(__dirname, 'Dockerfile'), 'utf8');
    expect(dockerfile.match(/^FROM /gm)?.length).toBeGreaterThanOrEqual(3);
    expect(dockerfile.match(/^USER (\S+)/gm)?.at(-1)).toBe('USER node');
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/app\/deploy\/docker-entrypoint.sh"\]$/m);
    const ignored = readFileSync(join(root, '.dockerignore'), 'utf8').split('\n');
    expect(ignored).toEqual(expect.arrayContaining(['**/node_modules', '**/dist', '.git', '.data', 'deploy/.env']));
    // The runtime cannot write under /app, so the gateway's web console is bundled at build time.
    if (existsSync(join(root, 'gateway', 'src', 'operations', 'console-bundle.ts'))) expect(dockerfile).toContain("require('./gateway/dist/operations/console-bundle.js').consoleBundle()");
    const entrypoint = readFileSync(join(__dirname, 'docker-entrypoint.sh'), 'utf8');
    expect(entrypoint).toContain('exec node');
    expect(spawnSync('sh', ['-n', join(__dirname, 'docker-entrypoint.sh')]).status).toBe(0);
  });
});
