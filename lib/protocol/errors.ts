/**
 * The root of every error warren raises. Lower layers define it so that the
 * codec, the engine and the entities share one hierarchy without importing
 * upwards; `lib/errors.ts` re-exports it with the rest of the public errors.
 */
export class AmqpError extends Error {
  /** A stable, machine-readable name for what went wrong, such as `FRAME_ERROR`. */
  readonly code: string;

  constructor(code: string, message: string, options?: ErrorOptions) {
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
} as const;

/** The name of a reply code in {@link ProtocolReplyCode}. */
export type ProtocolErrorCode = keyof typeof ProtocolReplyCode;

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
