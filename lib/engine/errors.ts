import {
  AmqpError,
  type BrokerErrorCode,
  brandError,
  type ChannelErrorCode,
  type ConnectionErrorCode,
} from '../protocol/errors.js';
import { type MethodName, methodInfo, ReplyCode, type ReplyCodeName } from '../protocol/spec.js';

/** What the broker said when it closed a channel or the connection. */
export interface CloseReason {
  /** The AMQP reply code, such as 404. */
  readonly replyCode: number;
  /** The broker's text, such as `NOT_FOUND - no exchange 'x' in vhost '/'`. */
  readonly replyText: string;
  /** The class id of the method that caused the close; 0 when none did. */
  readonly classId: number;
  /** The method id of the method that caused the close; 0 when none did. */
  readonly methodId: number;
}

const replyCodeNames = new Map<number, ReplyCodeName>(
  Object.entries(ReplyCode).map(([name, code]) => [code, name as ReplyCodeName]),
);
const methodNames = new Map<number, MethodName>(
  Object.entries(methodInfo).map(([name, info]) => [info.id, name as MethodName]),
);

/** The name of an AMQP reply code (`NOT_FOUND` for 404), or `REPLY_<code>` for one AMQP does not define. */
export function replyCodeName(replyCode: number): BrokerErrorCode {
  return replyCodeNames.get(replyCode) ?? `REPLY_${replyCode}`;
}

/**
 * An error that ended a channel or a connection. When the broker ended it,
 * `replyCode`, `replyText`, `classId`, `methodId` and `method` say what it
 * said and which method caused it; when warren ended it (the socket died, a
 * heartbeat was missed, the user closed it), they are absent and `cause` may
 * hold the underlying error.
 */
export abstract class ClosedError extends AmqpError {
  static {
    brandError(ClosedError, 'ClosedError');
  }

  /** The AMQP reply code the broker closed with. */
  readonly replyCode?: number;
  /** The broker's reply text. */
  readonly replyText?: string;
  /** The class id of the method that caused the close (0 when none did). */
  readonly classId?: number;
  /** The method id of the method that caused the close (0 when none did). */
  readonly methodId?: number;
  /** The name of the method that caused the close, such as `queue.declare`. */
  readonly method?: MethodName;
  declare readonly code: ConnectionErrorCode | ChannelErrorCode;

  constructor(
    code: ConnectionErrorCode | ChannelErrorCode,
    message: string,
    reason?: CloseReason,
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    if (reason !== undefined) {
      this.replyCode = reason.replyCode;
      this.replyText = reason.replyText;
      this.classId = reason.classId;
      this.methodId = reason.methodId;
      const method = methodNames.get((reason.classId << 16) | reason.methodId);
      if (method !== undefined) this.method = method;
    }
  }
}

/**
 * The connection is closed or could not be opened. `code` says why: a reply
 * code name when the broker closed it (`CONNECTION_FORCED`, `ACCESS_REFUSED`,
 * `NOT_ALLOWED`, …), a `ProtocolError`'s code when warren closed it for
 * a malformed stream, or one of warren's own: `CONNECTION_CLOSED` (closed by
 * the application), `CONNECTION_LOST` (the socket ended),
 * `HEARTBEAT_TIMEOUT`, `CONNECT_TIMEOUT`, `CONNECTION_REFUSED`,
 * `CONNECTION_FAILED`, `HANDSHAKE_FAILED`, `NO_MECHANISM`, `RECOVERY_FAILED`.
 * See {@link ConnectionErrorCode}.
 */
export class ConnectionError extends ClosedError {
  static {
    brandError(ConnectionError, 'ConnectionError');
  }

  declare readonly code: ConnectionErrorCode;

  constructor(
    code: ConnectionErrorCode,
    message: string,
    reason?: CloseReason,
    options?: ErrorOptions,
  ) {
    super(code, message, reason, options);
  }

  /** Builds the error for a `connection.close` the broker sent. */
  static fromBroker(reason: CloseReason): ConnectionError {
    return new ConnectionError(
      replyCodeName(reason.replyCode),
      `connection closed by the broker: ${reason.replyCode} ${reason.replyText}`,
      reason,
    );
  }
}

/**
 * The channel is closed. `code` is a reply code name when the broker closed
 * it (`NOT_FOUND`, `PRECONDITION_FAILED`, `RESOURCE_LOCKED`, `ACCESS_REFUSED`,
 * …), `CHANNEL_CLOSED` when the application did, `RECOVERY_FAILED` when it
 * could not be reopened after a recovery, or the connection's code when the
 * channel went down with its connection (then `cause` is the
 * {@link ConnectionError}). See {@link ChannelErrorCode}.
 */
export class ChannelError extends ClosedError {
  static {
    brandError(ChannelError, 'ChannelError');
  }

  declare readonly code: ChannelErrorCode;

  constructor(
    code: ChannelErrorCode,
    message: string,
    reason?: CloseReason,
    options?: ErrorOptions,
  ) {
    super(code, message, reason, options);
  }

  /** Builds the error for a `channel.close` the broker sent. */
  static fromBroker(reason: CloseReason): ChannelError {
    return new ChannelError(
      replyCodeName(reason.replyCode),
      `channel closed by the broker: ${reason.replyCode} ${reason.replyText}`,
      reason,
    );
  }

  /** The error for a channel that went down because its connection did. */
  static fromConnection(error: ConnectionError): ChannelError {
    return new ChannelError(
      error.code,
      `channel closed with its connection: ${error.message}`,
      undefined,
      {
        cause: error,
      },
    );
  }
}

/** An operation was aborted through its `AbortSignal`: `code` is `ABORTED`, `cause` the signal's reason. */
export class AbortError extends AmqpError {
  static {
    brandError(AbortError, 'AbortError');
  }

  declare readonly code: 'ABORTED';

  constructor(message: string, reason: unknown) {
    super('ABORTED', message, { cause: reason });
  }
}

/**
 * An operation took longer than its `timeout`: `code` is `TIMEOUT`. It is
 * made when the operation begins to wait, so its stack leads to the call
 * that timed out rather than to a timer.
 */
export class TimeoutError extends AmqpError {
  static {
    brandError(TimeoutError, 'TimeoutError');
  }

  declare readonly code: 'TIMEOUT';

  constructor(message: string) {
    super('TIMEOUT', message);
  }
}

/** The broker refused to take responsibility for a published message (`basic.nack`): `code` is `PUBLISH_NACKED`. */
export class PublishNackedError extends AmqpError {
  static {
    brandError(PublishNackedError, 'PublishNackedError');
  }

  declare readonly code: 'PUBLISH_NACKED';

  constructor() {
    super('PUBLISH_NACKED', 'the broker nacked the message: it was not accepted');
  }
}

/**
 * The channel closed (or its connection was lost) before the broker
 * confirmed the publish: the message may or may not have reached its
 * queues. Republish it if it must arrive (consumers should tolerate a
 * duplicate). `code` is `PUBLISH_UNCONFIRMED`; `cause` is the channel's error.
 */
export class PublishUnconfirmedError extends AmqpError {
  static {
    brandError(PublishUnconfirmedError, 'PublishUnconfirmedError');
  }

  declare readonly code: 'PUBLISH_UNCONFIRMED';

  constructor(cause: ChannelError) {
    super(
      'PUBLISH_UNCONFIRMED',
      `the channel closed before the broker confirmed the publish, so its fate is unknown (${cause.code}): republish it if it must arrive`,
      { cause },
    );
  }
}
