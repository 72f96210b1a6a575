/**
 * Schemathesis and openapi-spec-validator, from PyPI, in a virtual environment cached per user and
 * version: `~/.cache/sizhong/schemathesis-<version>-<hash>/venv`, where the hash covers the pinned
 * requirements (requirements.txt, every package with `==` and its hashes) and the Python version.
 * The first run creates it (about half a minute, with progress lines on stderr); every later run
 * and every later clone on the machine reuses it. Like the local servers' downloads, an entry
 * appears all at once (testkit's ensureCacheEntry): an interrupted install leaves nothing a later
 * run would trust.
 *
 * The environment is moved into place after it is built, which breaks the absolute paths of its
 * console scripts (`bin/st`), so tools always run as `venv/bin/python -m <module>`.
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createWriteStream, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type InfrastructureLog, userCacheDirectory, withProgress, writeToStandardError } from '@sizhong/testkit';
import { runCommand, type ToolRequirement } from '../../../packages/testkit/src/infra/processes';
import { ensureCacheEntry } from '../../../packages/testkit/src/infra/user-cache';

export const fuzzDirectory = __dirname;
const requirementsFile = join(fuzzDirectory, 'requirements.txt');
/** Set to use another interpreter than `python3` on PATH. */
export const pythonVariable = 'SIZHONG_PYTHON';
/** Schemathesis 4.32 needs Python 3.11 or later. */
const pythonVersionMin = [3, 11] as const;

const versionQueryTimeoutMs = 30_000;
const venvCreateTimeoutMs = 2 * 60_000;
/** About 10 MB of wheels; generous for a slow mirror. */
const pipInstallTimeoutMs = 15 * 60_000;
const completeMarker = 'requirements.sha256';

export interface PythonTools {
  /** `<entry>/venv/bin/python`. */
  readonly python: string;
  readonly schemathesisVersion: string;
  readonly cacheEntry: string;
}

const installHint =
  `The gateway's fuzz test runs schemathesis from PyPI and needs Python ${pythonVersionMin.join('.')}+ with the venv module ` +
  '(for example `sudo apt-get install python3 python3-venv`), or point SIZHONG_PYTHON at such an interpreter.';

/** SIZHONG_PYTHON alone when set; otherwise `python3`, then versioned names, where `python3` is older. */
function pythonCandidates(environment: NodeJS.ProcessEnv): string[] {
  const chosen = environment[pythonVariable];
  return chosen ? [chosen] : ['python3', 'python3.13', 'python3.12', 'python3.11'];
}

/** The first candidate that runs and is recent enough, with its version (`3.11.7`). */
async function findPython(environment: NodeJS.ProcessEnv): Promise<{ tool: ToolRequirement; version: string }> {
  const found: string[] = [];
  for (const command of pythonCandidates(environment)) {
    const tool = { command, installHint };
    let version: string;
    try {
      version = (await runCommand(tool, ['-c', 'import sys; print("%d.%d.%d" % sys.version_info[:3])'], { cwd: fuzzDirectory, environment, timeoutMs: versionQueryTimeoutMs })).trim();
    } catch {
      found.push(`\`${command}\` did not run`);
      continue;
    }
    const [major = 0, minor = 0] = version.split('.').map(Number);
    if (major > pythonVersionMin[0] || (major === pythonVersionMin[0] && minor >= pythonVersionMin[1])) return { tool, version };
    found.push(`\`${command}\` is Python ${version}`);
  }
  throw new Error(`No Python ${pythonVersionMin.join('.')}+ found (${found.join('; ')}). ${installHint}`);
}

/** The schemathesis version the requirements pin; it names the cache entry. */
export function pinnedSchemathesisVersion(): string {
  const match = /^schemathesis==([^\s\\]+)/m.exec(readFileSync(requirementsFile, 'utf8'));
  if (match?.[1] === undefined) throw new Error(`${requirementsFile} pins no schemathesis version`);
  return match[1];
}

export async function ensurePythonTools(log: InfrastructureLog = writeToStandardError, environment: NodeJS.ProcessEnv = process.env): Promise<PythonTools> {
  const { tool: python, version: versionText } = await findPython(environment);
  const requirements = readFileSync(requirementsFile, 'utf8');
  const fingerprint = createHash('sha256').update(`python ${versionText}\n`).update(requirements).digest('hex');
  const version = pinnedSchemathesisVersion();
  const entry = await ensureCacheEntry(
    join(userCacheDirectory(environment), `schemathesis-${version}-${fingerprint.slice(0, 12)}`),
    (directory) => existsSync(join(directory, 'venv', 'bin', 'python')) && readMarker(directory) === fingerprint,
    async (temporaryDirectory) => {
      const venv = join(temporaryDirectory, 'venv');
      await withProgress(log, `Creating a Python ${versionText} virtual environment for schemathesis ${version} (once per user and version)`, () =>
        runCommand(python, ['-m', 'venv', venv], { cwd: temporaryDirectory, environment, timeoutMs: venvCreateTimeoutMs }),
      );
      await withProgress(log, `Installing schemathesis ${version} and openapi-spec-validator from PyPI into ${temporaryDirectory} (pinned with hashes)`, () =>
        runCommand(
          { command: join(venv, 'bin', 'python'), installHint },
          ['-m', 'pip', 'install', '--no-input', '--disable-pip-version-check', '--progress-bar', 'off', '--require-hashes', '--no-deps', '-r', requirementsFile],
          { cwd: temporaryDirectory, environment, timeoutMs: pipInstallTimeoutMs },
        ),
      );
      writeFileSync(join(temporaryDirectory, completeMarker), fingerprint);
    },
  );
  return { python: join(entry, 'venv', 'bin', 'python'), schemathesisVersion: version, cacheEntry: entry };
}

function readMarker(directory: string): string | undefined {
  const marker = join(directory, completeMarker);
  return existsSync(marker) ? readFileSync(marker, 'utf8').trim() : undefined;
}

export interface PythonRun {
  readonly exitCode: number | null;
  /** Standard output and error, interleaved as they came. */
  readonly output: string;
}

/**
 * Runs `python -m <module> …` to completion, its output also written to `logFile`. Unlike
 * testkit's runCommand, a non-zero exit is a result, not an error: schemathesis exits 1 when it
 * found something, and the caller reports what.
 */
export function runPythonModule(
  tools: PythonTools,
  module: string,
  args: readonly string[],
  options: { cwd: string; environment: NodeJS.ProcessEnv; timeoutMs: number; logFile: string },
): Promise<PythonRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(tools.python, ['-m', module, ...args], { cwd: options.cwd, env: options.environment, stdio: ['ignore', 'pipe', 'pipe'] });
    const log = createWriteStream(options.logFile);
    let output = '';
    const keep = (chunk: Buffer): void => {
      output += chunk.toString('utf8');
      log.write(chunk);
    };
    child.stdout.on('data', keep);
    child.stderr.on('data', keep);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      log.end();
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      log.end();
      resolve({ exitCode: code, output: signal ? `${output}\n(killed by ${signal} after ${options.timeoutMs} ms)` : output });
    });
  });
}
