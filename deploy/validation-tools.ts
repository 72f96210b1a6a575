/**
 * The tools that validate deploy/ offline, installed on first use from the package registries this
 * project reaches and cached per user and per version (like the Kafka and MongoDB jars,
 * docs/infrastructure.md), so a fresh clone on the same machine finds them at once:
 *
 * - **kubeconform** (Go), `go install github.com/yannh/kubeconform/cmd/kubeconform@<version>`
 *   through the Go module proxy, into `~/.cache/sizhong/kubeconform-<version>/`.
 * - **Kubernetes JSON schemas**: kubeconform fetches them from GitHub by default, which is out of
 *   reach here. The PyPI package `kubernetes-validate` ships the schemas of every Kubernetes minor
 *   release from 1.25 on, generated from each release's OpenAPI document (strict variants
 *   included). `pip download` brings its wheel; the schemas of the versions in
 *   `kubernetesVersions` are extracted into `~/.cache/sizhong/kubernetes-json-schema-<package
 *   version>/v<k8s version>-local-strict/`, and their references made local: the package's
 *   schemas name `https://kubernetes.io/api/...` ids and point at `/api/_definitions.json`, which
 *   kubeconform would resolve on the web; the extraction drops the ids and points the references
 *   at the sibling `_definitions.json`.
 * - **The compose specification's JSON schema**: `schema/compose-spec.json` of the Go module
 *   `github.com/compose-spec/compose-go/v2` (the loader Docker Compose itself uses), fetched with
 *   `go mod download`, copied to `~/.cache/sizhong/compose-spec-<version>/`.
 *
 * Needs `go` and `python3` with pip on the PATH (the project's machines have both). `XDG_CACHE_HOME`
 * moves the cache as it does for the other tools. `npx tsx deploy/validation-tools.ts` installs
 * everything ahead of a test run and prints where it went.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const kubeconformVersion = 'v0.8.0';
export const kubernetesSchemaPackageVersion = '1.37.0';
/** Validated against: the oldest Kubernetes release these manifests support, and the newest the schema package knows. */
export const kubernetesVersions: readonly string[] = ['1.30.0', '1.37.0'];
export const composeGoVersion = 'v2.16.2';
/** The first install compiles kubeconform and downloads a 22 MB wheel; later calls return at once. */
export const toolInstallTimeoutMs = 8 * 60_000;

export function toolCacheDirectory(): string {
  return join(process.env['XDG_CACHE_HOME'] || join(homedir(), '.cache'), 'sizhong');
}

export class ToolInstallError extends Error {
  override readonly name = 'ToolInstallError';
}

function run(command: string, args: readonly string[], options: { env?: NodeJS.ProcessEnv; cwd?: string } = {}): string {
  const result = spawnSync(command, [...args], { encoding: 'utf8', timeout: toolInstallTimeoutMs, env: options.env ?? process.env, cwd: options.cwd, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new ToolInstallError(`${command} ${args.join(' ')}: ${result.error.message}`);
  if (result.status !== 0) throw new ToolInstallError(`${command} ${args.join(' ')} exited with ${result.status}:\n${result.stderr}${result.stdout}`);
  return result.stdout;
}

/** Builds into a private temporary directory, then renames it into place: a reader never sees half of it, and two installers do not collide. */
function installOnce(target: string, build: (temporary: string) => void): string {
  if (existsSync(target)) return target;
  mkdirSync(join(target, '..'), { recursive: true });
  const temporary = mkdtempSync(`${target}.partial-`);
  try {
    build(temporary);
    try {
      renameSync(temporary, target);
    } catch (error) {
      if (!existsSync(target)) throw error;
      // Another installer finished first; its copy is as good as ours.
    }
  } finally {
    rmSync(temporary, { recursive: true, force: true });
  }
  return target;
}

/** The kubeconform binary, compiled from the Go module proxy on first use. */
export function ensureKubeconform(): string {
  const directory = installOnce(join(toolCacheDirectory(), `kubeconform-${kubeconformVersion.replace(/^v/, '')}`), (temporary) => {
    run('go', ['install', `github.com/yannh/kubeconform/cmd/kubeconform@${kubeconformVersion}`], {
      env: { ...process.env, GOBIN: temporary, GOTOOLCHAIN: 'local', CGO_ENABLED: '0' },
    });
  });
  return join(directory, 'kubeconform');
}

// Extracts the strict schemas of the wanted versions from the wheel, without `$id`, with local references.
const extractSchemas = `
import json, os, sys, zipfile
wheel, target, versions = sys.argv[1], sys.argv[2], sys.argv[3].split(',')
prefix = 'kubernetes_validate/kubernetes-json-schema/'
with zipfile.ZipFile(wheel) as archive:
    for version in versions:
        folder = 'v%s-local-strict/' % version
        names = [n for n in archive.namelist() if n.startswith(prefix + folder) and n.endswith('.json')]
        if not names:
            sys.exit('no schemas for Kubernetes %s in %s' % (version, wheel))
        for name in names:
            document = json.loads(archive.read(name))
            document.pop('$id', None)
            text = json.dumps(document).replace('"/api/_definitions.json#', '"_definitions.json#')
            path = target + '/' + name[len(prefix):]
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'w') as out:
                out.write(text)
`;

/**
 * A kubeconform `-schema-location` template over the extracted schemas, one directory per
 * Kubernetes version (`{{ .NormalizedKubernetesVersion }}` is `v1.30.0`).
 */
export function ensureKubernetesSchemas(): string {
  const directory = installOnce(join(toolCacheDirectory(), `kubernetes-json-schema-${kubernetesSchemaPackageVersion}-${kubernetesVersions.join('_')}`), (temporary) => {
    const download = join(temporary, 'wheel');
    run('python3', ['-m', 'pip', 'download', '--quiet', '--no-deps', '--only-binary=:all:', '--dest', download, `kubernetes-validate==${kubernetesSchemaPackageVersion}`]);
    const wheel = join(download, `kubernetes_validate-${kubernetesSchemaPackageVersion}-py3-none-any.whl`);
    if (!existsSync(wheel)) throw new ToolInstallError(`pip did not leave ${wheel}`);
    run('python3', ['-c', extractSchemas, wheel, temporary, kubernetesVersions.join(',')]);
    rmSync(download, { recursive: true, force: true });
  });
  return `${directory}/{{ .NormalizedKubernetesVersion }}-local-strict/{{ .ResourceKind }}{{ .KindSuffix }}.json`;
}

/** The compose specification's JSON schema, as the compose-go module of `composeGoVersion` ships it. */
export function ensureComposeSchema(): string {
  const directory = installOnce(join(toolCacheDirectory(), `compose-spec-${composeGoVersion.replace(/^v/, '')}`), (temporary) => {
    const module = JSON.parse(run('go', ['mod', 'download', '-json', `github.com/compose-spec/compose-go/v2@${composeGoVersion}`], { cwd: temporary, env: { ...process.env, GOTOOLCHAIN: 'local' } })) as { Dir?: string; Error?: string };
    if (!module.Dir) throw new ToolInstallError(`go mod download gave no directory: ${module.Error ?? 'unknown error'}`);
    copyFileSync(join(module.Dir, 'schema', 'compose-spec.json'), join(temporary, 'compose-spec.json'));
  });
  return join(directory, 'compose-spec.json');
}

if (require.main === module) {
  process.stdout.write(`kubeconform          ${ensureKubeconform()}\n`);
  process.stdout.write(`Kubernetes schemas   ${ensureKubernetesSchemas()}\n`);
  process.stdout.write(`compose schema       ${ensureComposeSchema()}\n`);
}
