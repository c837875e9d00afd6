import type { ReplyCodeName } from './spec.js';

/**
 * Every `code` an {@link AmqpError} can carry, one union per error class.
 * They all live here, beside the root class, so that `AmqpError['code']` is
 * the union of all of them without this layer importing the ones above it.
 * docs/errors.md says when each is raised (a unit test keeps the two in step).
 */

/** The name a reply code AMQP does not define gets: `REPLY_` and the number. */
export type UnknownReplyCode = `REPLY_${number}`;

/**
 * The `code` of an error the broker reported: the name of its reply code
 * (`NOT_FOUND` for 404), or `REPLY_<n>` for a code AMQP does not define.
 */
export type BrokerErrorCode = ReplyCodeName | UnknownReplyCode;

/** The codes of a {@link ProtocolError}: the reply codes a malformed stream maps to. */
export type ProtocolErrorCode =
  | 'FRAME_ERROR'
  | 'SYNTAX_ERROR'
  | 'UNEXPECTED_FRAME'
  | 'NOT_IMPLEMENTED';

/**
 * The codes of a `ConnectionError`: the broker's reply code name when it
 * closed the connection (a {@link ProtocolErrorCode} when warren closed it
 * for a malformed stream), or one of warren's own.
 */
export type ConnectionErrorCode =
  | BrokerErrorCode
  | 'CONNECTION_CLOSED'
  | 'CONNECTION_LOST'
  | 'HEARTBEAT_TIMEOUT'
  | 'CONNECT_TIMEOUT'
  | 'CONNECTION_REFUSED'
  | 'CONNECTION_FAILED'
  | 'HANDSHAKE_FAILED'
  | 'NO_MECHANISM'
  | 'RECOVERY_FAILED';

/**
 * The codes of a `ChannelError`: the broker's reply code name when it closed
 * the channel, `CHANNEL_CLOSED` when the application did, `RECOVERY_FAILED`,
 * or any {@link ConnectionErrorCode} when the channel went down with its
 * connection.
 */
export type ChannelErrorCode = ConnectionErrorCode | 'CHANNEL_CLOSED';

/** Every code an {@link AmqpError} can carry, for an exhaustive `switch`. */
export type AmqpErrorCode =
  | ChannelErrorCode
  // One class each: AbortError, TimeoutError, PublishNackedError, PublishUnconfirmedError,
  // DisconnectedError, RemoteError, MessageValidationError, MessageTooLargeError.
  | 'ABORTED'
  | 'TIMEOUT'
  | 'PUBLISH_NACKED'
  | 'PUBLISH_UNCONFIRMED'
  | 'DISCONNECTED'
  | 'REMOTE_ERROR'
  | 'MESSAGE_INVALID'
  | 'MESSAGE_TOO_LARGE'
  // Raised as a plain AmqpError.
  | 'CHANNEL_LIMIT'
  | 'BLOCKED'
  | 'CONSUMER_CANCELLED'
  | 'ALREADY_SETTLED'
  | 'NOT_ACKNOWLEDGEABLE'
  | 'PUBLISH_BUFFER_FULL'
  // warren/testing: TestBrokerError, RabbitmqctlError.
  | TestBrokerErrorCode
  | 'RABBITMQCTL_FAILED';

/**
 * The codes of a `TestBrokerError` (from `warren/testing`): a throwaway broker
 * could not be started, found or driven.
 */
export type TestBrokerErrorCode =
  | 'BROKER_NOT_INSTALLED'
  | 'BROKER_START_FAILED'
  | 'BROKER_STOPPED'
  | 'BROKER_RUNNING'
  | 'RABBITMQCTL_UNAVAILABLE';

/** The brandError of each of warren's error classes, by class. */
const brands = new WeakMap<object, symbol>();

/**
 * Brands an {@link AmqpError} subclass so that `instanceof` recognises its
 * errors across every copy of warren a process has loaded (its ESM and CJS
 * builds, two versions side by side): its prototype carries
 * `Symbol.for('warren.error.<name>')`, which `instanceof` looks for. It also
 * sets the class's `name`, which an error's `name`, `String(error)` and its
 * stack show (a bundler may have renamed the class).
 *
 * warren brands each of its own error classes. Code built on warren that
 * defines its own `AmqpError` subclasses (its capabilities, such as
 * `replay`, do) calls it once per class, with a name unique to that class:
 *
 * ```ts
 * class OrderRejectedError extends AmqpError {
 *   static {
 *     brandError(OrderRejectedError, 'OrderRejectedError');
 *   }
 * }
 * ```
 */
export function brandError(
  errorClass: abstract new (...args: never[]) => AmqpError,
  name: string,
): void {
  const symbol = Symbol.for(`warren.error.${name}`);
  brands.set(errorClass, symbol);
  Object.defineProperty(errorClass.prototype, symbol, { value: true });
  Object.defineProperty(errorClass, 'name', { value: name, configurable: true });
}

/**
 * Whether `value` is an instance of `errorClass`, by its brandError when warren
 * branded the class. Never throws, whatever `value` is.
 */
function isInstance(errorClass: object, value: unknown): boolean {
  if (typeof value !== 'object' || value === null) return false;
  const symbol = brands.get(errorClass);
  try {
    if (symbol === undefined) return Function.prototype[Symbol.hasInstance].call(errorClass, value);
    return (value as { [key: symbol]: unknown })[symbol] === true;
  } catch {
    // A Proxy whose traps throw, or a revoked one, that an application threw: not warren's.
    return false;
  }
}

/**
 * The root of every error warren raises. Lower layers define it so that the
 * codec, the engine and the entities share one hierarchy without importing
 * upwards; `lib/errors.ts` re-exports it with the rest of the public errors.
 *
 * `instanceof` works across copies of warren: an application that loads both
 * its ESM and its CJS build (or two versions) has two of every class, and
 * `error instanceof ChannelError` holds for a `ChannelError` of either.
 */
export class AmqpError extends Error {
  static {
    brandError(AmqpError, 'AmqpError');
  }

  /**
   * Whether `value` is an instance of this class, made by any copy of
   * warren: it carries the class's brand. A subclass warren did not brand
   * (one of the application's) is checked by its prototype chain, as usual.
   */
  static override [Symbol.hasInstance](value: unknown): boolean {
    // biome-ignore lint/complexity/noThisInStatic: the class right of `instanceof`, maybe a subclass
    return isInstance(this, value);
  }

  /** A stable, machine-readable name for what went wrong, such as `NOT_FOUND` or `TIMEOUT`. */
  readonly code: AmqpErrorCode;

  constructor(code: AmqpErrorCode, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/** AMQP reply codes that a malformed or out-of-order stream maps to. */
export const ProtocolReplyCode = {
  FRAME_ERROR: 501,
  SYNTAX_ERROR: 502,
  UNEXPECTED_FRAME: 505,
  NOT_IMPLEMENTED: 540,
} as const satisfies Record<ProtocolErrorCode, number>;

/**
 * The peer sent bytes that break AMQP 0-9-1: a bad frame, a field that does not
 * parse, or a frame where the protocol allows none. The connection cannot go on;
 * `replyCode` is the code to close it with.
 */
export class ProtocolError extends AmqpError {
  static {
    brandError(ProtocolError, 'ProtocolError');
  }

  /** The AMQP reply code this error maps to (501, 502, 505 or 540). */
  readonly replyCode: number;
  declare readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string) {
    super(code, message);
    this.replyCode = ProtocolReplyCode[code];
  }
}
