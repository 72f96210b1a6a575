/**
 * The one error type of the infrastructure scripts. Each code is an expected failure with a
 * message written for the person at the terminal: what went wrong and what to do about it.
 */
export type InfrastructureErrorCode =
  | 'tool-missing'
  | 'tool-too-old'
  | 'invalid-setting'
  | 'port-taken'
  | 'running-on-other-ports'
  | 'command-failed'
  | 'server-exited'
  | 'server-not-ready'
  | 'lock-timeout'
  | 'environment-incomplete';

export class InfrastructureError extends Error {
  constructor(
    readonly code: InfrastructureErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'InfrastructureError';
  }
}
