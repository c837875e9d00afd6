/** The error a `warren` command ends with: its message, and the exit code. */

/**
 * What went wrong on the command line: the command prints its message
 * and exits with `exitCode` (2 for a usage mistake, 1 for a failure).
 */
export class CommandLineError extends Error {
  /** The process's exit code: 2 for a usage mistake, 1 for a failure. */
  readonly exitCode: 1 | 2;

  constructor(message: string, exitCode: 1 | 2, options?: ErrorOptions) {
    super(message, options);
    this.name = 'CommandLineError';
    this.exitCode = exitCode;
  }
}
