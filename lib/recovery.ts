/**
 * Automatic recovery: which losses it answers, how long it waits between
 * attempts, and how operations wait for the connection to come back.
 */
import { type WaitLimits, waitWithin } from './engine/abort.js';
import { ConnectionError, TimeoutError } from './engine/errors.js';
import { AmqpError, brandError, type ConnectionErrorCode } from './protocol/errors.js';
import { checkChoice, checkCount, checkTimeout } from './validate.js';

/** How a connection recovers from losing its socket. Pass `recovery: false` to turn it off. */
export interface RecoveryOptions {
  /**
   * The longest pause before the first reconnect attempt, in ms; each later
   * attempt doubles it, up to `maxDelay`. The actual pause is random below
   * that bound ("full jitter"), so that many clients do not reconnect in step.
   * @default 100
   */
  initialDelay?: number;
  /** The longest pause between two attempts, in ms. @default 30000 */
  maxDelay?: number;
  /** How many reconnect attempts before giving up (the connection then closes). @default Infinity */
  maxAttempts?: number;
  /**
   * How many times in a row recovery may meet the same failure (the same
   * error `code`) once the broker has taken the connection, before it gives
   * up and closes the connection with `RECOVERY_FAILED` (its `cause` is the
   * last failure). A failure counts when the connection is lost within 30 s
   * of recovering before it got anything done (no publish written, no
   * delivery settled), or when a reconnect attempt fails after its
   * handshake; any other loss starts over. Such a failure would come back on every attempt (a
   * message that breaks the connection each time it is delivered, a broker
   * that drops the connection after the handshake), so retrying forever
   * only loops. Failing to reach the broker at all does not count (that is
   * what `maxAttempts` bounds). `Infinity` never gives up.
   * @default 5
   */
  maxRepeatedFailures?: number;
  /**
   * What a publish does while the connection is down or blocked by the
   * broker: `'wait'` for it to come back (bounded by the three limits
   * below), or `'fail'` at once with a `DISCONNECTED` error.
   * @default 'wait'
   */
  whileDisconnected?: 'wait' | 'fail';
  /**
   * How long an operation (a publish, a declare, a get, …) waits for the
   * connection to come back before it rejects with `DISCONNECTED`, in ms.
   * @default 30000
   */
  waitTimeout?: number;
  /** How many publishes may wait at once; one more rejects with `DISCONNECTED`. @default 10000 */
  maxWaitingPublishes?: number;
  /** How many body bytes the waiting publishes may hold; more rejects with `DISCONNECTED`. @default 67108864 (64 MiB) */
  maxWaitingBytes?: number;
}

/** The recovery options with defaults applied. @internal */
export interface ResolvedRecovery {
  readonly initialDelay: number;
  readonly maxDelay: number;
  readonly maxAttempts: number;
  readonly maxRepeatedFailures: number;
  readonly whileDisconnected: 'wait' | 'fail';
  readonly waitTimeout: number;
  readonly maxWaitingPublishes: number;
  readonly maxWaitingBytes: number;
}

/** @internal Checks the recovery options and applies the defaults; `null` when recovery is off. */
export function resolveRecovery(
  options: RecoveryOptions | false | undefined,
): ResolvedRecovery | null {
  if (options === false) return null;
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new TypeError('recovery must be an options object or false');
  }
  const given = options ?? {};
  checkTimeout(given.initialDelay, 'recovery.initialDelay');
  checkTimeout(given.maxDelay, 'recovery.maxDelay');
  // 0 would reconnect in a tight loop against a broker that is down.
  if (given.initialDelay === 0) throw new RangeError('recovery.initialDelay must be at least 1 ms');
  if ((given.initialDelay ?? 100) > (given.maxDelay ?? 30_000)) {
    throw new RangeError('recovery.initialDelay must not exceed recovery.maxDelay');
  }
  checkTimeout(given.waitTimeout, 'recovery.waitTimeout');
  if (given.maxAttempts !== Number.POSITIVE_INFINITY) {
    checkCount(given.maxAttempts, 'recovery.maxAttempts', 1, Number.MAX_SAFE_INTEGER);
  }
  if (given.maxRepeatedFailures !== Number.POSITIVE_INFINITY) {
    checkCount(
      given.maxRepeatedFailures,
      'recovery.maxRepeatedFailures',
      1,
      Number.MAX_SAFE_INTEGER,
    );
  }
  checkCount(given.maxWaitingPublishes, 'recovery.maxWaitingPublishes', 0, Number.MAX_SAFE_INTEGER);
  checkCount(given.maxWaitingBytes, 'recovery.maxWaitingBytes', 0, Number.MAX_SAFE_INTEGER);
  checkChoice(given.whileDisconnected, 'recovery.whileDisconnected', ['wait', 'fail']);
  const mode = given.whileDisconnected ?? 'wait';
  return {
    initialDelay: given.initialDelay ?? 100,
    maxDelay: given.maxDelay ?? 30_000,
    maxAttempts: given.maxAttempts ?? Number.POSITIVE_INFINITY,
    maxRepeatedFailures: given.maxRepeatedFailures ?? 5,
    whileDisconnected: mode,
    waitTimeout: given.waitTimeout ?? 30_000,
    maxWaitingPublishes: given.maxWaitingPublishes ?? 10_000,
    maxWaitingBytes: given.maxWaitingBytes ?? 64 * 1024 * 1024,
  };
}

/** @internal The pause before reconnect attempt `attempt` (0 for the first): full jitter below an exponential bound. */
export function backoffDelay(attempt: number, recovery: ResolvedRecovery): number {
  const bound = Math.min(recovery.maxDelay, recovery.initialDelay * 2 ** Math.min(attempt, 30));
  return Math.floor(Math.random() * bound);
}

/**
 * How soon after a recovery a loss counts as the same failure coming back
 * (see {@link RecoveryOptions.maxRepeatedFailures}), in ms.
 */
export const REPEATED_FAILURE_WINDOW_MS = 30_000;

/**
 * @internal Counts the failures recovery meets in a row with the same code
 * (see {@link RecoveryOptions.maxRepeatedFailures}).
 */
export class RepeatedFailures {
  private code: string | undefined;
  private count = 0;

  constructor(private readonly limit: number) {}

  /** Records a failure that counts; true when it is the `limit`-th of its kind in a row. */
  add(error: unknown): boolean {
    const code = failureCode(error);
    if (code === this.code) this.count++;
    else {
      this.code = code;
      this.count = 1;
    }
    return this.count >= this.limit;
  }

  /** The connection stayed up long enough: what came before is not a streak any more. */
  reset(): void {
    this.code = undefined;
    this.count = 0;
  }

  /** The error a connection closes with when a failure came back `limit` times in a row. */
  giveUp(lastError: unknown): ConnectionError {
    return new ConnectionError(
      'RECOVERY_FAILED',
      `recovery gave up: the same failure (${this.code}) came back ${this.count} times in a row: ${lastError instanceof Error ? lastError.message : String(lastError)}`,
      undefined,
      { cause: lastError },
    );
  }
}

/** What makes two failures the same: the error's code, else its class. */
function failureCode(error: unknown): string {
  if (error instanceof AmqpError) return error.code;
  if (error instanceof Error) return error.name;
  return typeof error;
}

/** Reply codes after which reconnecting cannot help: the broker refuses this login or vhost. */
const PERMANENT: ReadonlySet<ConnectionErrorCode> = new Set([
  'ACCESS_REFUSED',
  'NOT_ALLOWED',
  'CONNECTION_CLOSED',
  'NO_MECHANISM',
]);

/** The class id of `connection.*` methods; the classes above it are channel-level (channel, queue, basic, …). */
const CONNECTION_CLASS = 10;

/**
 * @internal Whether losing the connection with `error` is worth reconnecting for. A refusal
 * (403, 530) is permanent when the login or the vhost was refused (a `connection.*` method, or
 * none named); one caused by a channel-level method (a duplicate consumer tag is 530 on
 * `basic.consume`) says nothing about the next connection.
 */
export function isRecoverable(error: ConnectionError): boolean {
  if (!PERMANENT.has(error.code)) return true;
  return (
    (error.code === 'ACCESS_REFUSED' || error.code === 'NOT_ALLOWED') &&
    (error.classId ?? 0) > CONNECTION_CLASS
  );
}

/**
 * The connection is down (or blocked by the broker) and an operation could
 * not wait for it: `code` is `DISCONNECTED`. `cause` is why the connection
 * went down, when known.
 */
export class DisconnectedError extends AmqpError {
  static {
    brandError(DisconnectedError, 'DisconnectedError');
  }

  declare readonly code: 'DISCONNECTED';

  constructor(message: string, options?: ErrorOptions) {
    super('DISCONNECTED', message, options);
  }
}

/** A publish waiting for the connection. */
interface Waiter {
  readonly bytes: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/**
 * @internal Where publishes (and other operations) wait while the
 * connection is down or blocked, in order, within the count, byte and time
 * limits; all of them go on when it opens, or fail when it closes for good.
 */
export class ReadyGate {
  private waiters: Waiter[] = [];
  /** Publishes among the waiters, and their body bytes: what the limits count. */
  private publishes = 0;
  private bytes = 0;
  private cause: unknown;
  private closed: Error | null = null;
  private isOpen = true;

  /**
   * `down` says what operations wait for, in the errors of those that
   * cannot; `onWaiting`, when given, hears the waiting publishes' count and
   * bytes each time they change.
   */
  constructor(
    private readonly recovery: ResolvedRecovery,
    private readonly down = 'the connection is down',
    private readonly onWaiting?: (publishes: number, bytes: number) => void,
  ) {}

  /** Whether an operation may go ahead without waiting. */
  get open(): boolean {
    return this.isOpen;
  }

  /** Operations wait from now on; `cause` is why (the loss, or the broker's block). */
  shut(cause: unknown): void {
    this.isOpen = false;
    this.cause = cause;
  }

  /** Lets every waiting operation go ahead, in order. */
  reopen(): void {
    this.isOpen = true;
    this.cause = undefined;
    const waiters = this.waiters;
    this.waiters = [];
    this.#count(-this.publishes, -this.bytes);
    for (const waiter of waiters) waiter.resolve();
  }

  /** Fails every waiting operation, and every later one, with `error`: the connection is closed for good. */
  close(error: Error): void {
    this.closed = error;
    const waiters = this.waiters;
    this.waiters = [];
    this.#count(-this.publishes, -this.bytes);
    for (const waiter of waiters) waiter.reject(error);
  }

  /** Adds to the waiting publishes and bytes, and tells `onWaiting` when they changed. */
  #count(publishes: number, bytes: number): void {
    this.publishes += publishes;
    this.bytes += bytes;
    if ((publishes !== 0 || bytes !== 0) && this.onWaiting !== undefined) {
      this.onWaiting(this.publishes, this.bytes);
    }
  }

  /**
   * Resolves when the operation may go ahead. A publish counts its `bytes`
   * against the limits; other operations pass 0 and wait on time alone.
   */
  wait(bytes: number, isPublish: boolean, signal: AbortSignal | undefined): Promise<void> {
    if (this.closed !== null) return Promise.reject(this.closed);
    if (this.isOpen) return Promise.resolve();
    const { recovery } = this;
    const options = { cause: this.cause };
    const state =
      this.cause instanceof AmqpError && this.cause.code === 'BLOCKED'
        ? 'the broker blocks the connection'
        : this.down;
    if (isPublish) {
      if (recovery.whileDisconnected === 'fail') {
        return Promise.reject(
          new DisconnectedError(`${state}: publish refused (whileDisconnected: fail)`, options),
        );
      }
      if (
        this.publishes >= recovery.maxWaitingPublishes ||
        this.bytes + bytes > recovery.maxWaitingBytes
      ) {
        return Promise.reject(
          new DisconnectedError(
            `${state} and ${this.publishes} publishes (${this.bytes} bytes) already wait`,
            options,
          ),
        );
      }
    }
    const waiter: Waiter = { bytes, resolve: () => {}, reject: () => {} };
    const waiting = new Promise<void>((resolve, reject) => {
      waiter.resolve = resolve;
      waiter.reject = reject;
    });
    this.waiters.push(waiter);
    this.#count(isPublish ? 1 : 0, bytes);
    const limits: WaitLimits = { timeout: recovery.waitTimeout, signal };
    return waitWithin(waiting, limits, 'waiting for the connection').catch((error: unknown) => {
      const index = this.waiters.indexOf(waiter);
      if (index >= 0) {
        this.waiters.splice(index, 1);
        this.#count(isPublish ? -1 : 0, -bytes);
      }
      if (!(error instanceof TimeoutError)) throw error;
      throw new DisconnectedError(
        `${state}, and it did not change within ${recovery.waitTimeout} ms`,
        options,
      );
    });
  }
}
