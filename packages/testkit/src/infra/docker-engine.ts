/** Whether a Docker engine answers, asked of the docker client with a short timeout. */
import { execFile } from 'node:child_process';

/** An engine that answers at all answers within this; waiting longer only delays the fallback. */
export const dockerProbeTimeoutMs = 3_000;

/**
 * True when `docker version` reaches a server. The client alone (as on the project's machines)
 * prints its own version and fails, which counts as no engine; so does a missing client.
 */
export function isDockerEngineAnswering(): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('docker', ['version', '--format', '{{.Server.Version}}'], { timeout: dockerProbeTimeoutMs }, (error, stdout) => {
      resolve(error === null && stdout.trim() !== '');
    });
  });
}
