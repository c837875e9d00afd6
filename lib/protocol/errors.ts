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
  // DisconnectedError, RemoteError, MessageValidationError.
  | 'ABORTED'
  | 'TIMEOUT'
  | 'PUBLISH_NACKED'
  | 'PUBLISH_UNCONFIRMED'
  | 'DISCONNECTED'
  | 'REMOTE_ERROR'
  | 'MESSAGE_INVALID'
  // Raised as a plain AmqpError.
  | 'CHANNEL_LIMIT'
  | 'BLOCKED'
  | 'CONSUMER_CANCELLED'
  | 'ALREADY_SETTLED'
  | 'NOT_ACKNOWLEDGEABLE';

/**
 * The root of every error warren raises. Lower layers define it so that the
 * codec, the engine and the entities share one hierarchy without importing
 * upwards; `lib/errors.ts` re-exports it with the rest of the public errors.
 */
export class AmqpError extends Error {
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
  /** The AMQP reply code this error maps to (501, 502, 505 or 540). */
  readonly replyCode: number;
  declare readonly code: ProtocolErrorCode;

  constructor(code: ProtocolErrorCode, message: string) {
    super(code, message);
    this.replyCode = ProtocolReplyCode[code];
  }
}
