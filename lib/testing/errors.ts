/**
 * The errors of `warren/testing`: both are {@link AmqpError}s with a stable
 * `code`, branded so that `instanceof` holds across copies of warren.
 */
import { AmqpError, brandError, type TestBrokerErrorCode } from 'warren';

/**
 * A throwaway broker could not be started, found or driven:
 * - `BROKER_NOT_INSTALLED`: neither Debian's `rabbitmq-server` nor one on `PATH`;
 * - `BROKER_START_FAILED`: the node exited, or did not accept AMQP in time (the
 *   message holds the tail of its output and logs);
 * - `BROKER_STOPPED`: the node was stopped, it cannot be restarted;
 * - `BROKER_RUNNING`: a restart of a node that is still running;
 * - `RABBITMQCTL_UNAVAILABLE`: `rabbitmqctl` cannot reach the broker (one given
 *   by `AMQP_URL` on another machine, say); the message says what to do.
 */
export class TestBrokerError extends AmqpError {
  static {
    brandError(TestBrokerError, 'TestBrokerError');
  }

  declare readonly code: TestBrokerErrorCode;

  /**
   * @param code - what went wrong
   * @param message - what, and what to do about it
   * @param options - the `cause`, when there is one
   */
  constructor(code: TestBrokerErrorCode, message: string, options?: ErrorOptions) {
    super(code, message, options);
  }
}

/** A `rabbitmqctl` command exited with an error: `code` is `RABBITMQCTL_FAILED`. */
export class RabbitmqctlError extends AmqpError {
  static {
    brandError(RabbitmqctlError, 'RabbitmqctlError');
  }

  declare readonly code: 'RABBITMQCTL_FAILED';
  /** Its exit code; null when a signal (or the time limit) ended it. */
  readonly exitCode: number | null;
  /** What it wrote to standard output. */
  readonly stdout: string;
  /** What it wrote to standard error. */
  readonly stderr: string;

  /**
   * @param message - the command and why it failed
   * @param exitCode - its exit code, null when a signal ended it
   * @param stdout - its standard output
   * @param stderr - its standard error
   */
  constructor(message: string, exitCode: number | null, stdout: string, stderr: string) {
    super('RABBITMQCTL_FAILED', message);
    this.exitCode = exitCode;
    this.stdout = stdout;
    this.stderr = stderr;
  }
}
