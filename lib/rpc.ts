/**
 * What the two sides of warren's request/reply agree on: how a reply says
 * the handler failed, and the error the caller receives for it.
 */
import { Message } from './message.js';
import { describeMessage } from './protocol/describe.js';
import { AmqpError, brandError } from './protocol/errors.js';
import type { FieldTable } from './protocol/field-types.js';

/** RabbitMQ's pseudo-queue for direct reply-to: consumed with no-ack, named in `replyTo`. */
export const DIRECT_REPLY_TO = 'amq.rabbitmq.reply-to';

/** Header of an error reply: the handler's error message. */
const ERROR_HEADER = 'x-warren-error';
/** Header of an error reply: the handler's error `code`, when it had a string one. */
const ERROR_CODE_HEADER = 'x-warren-error-code';

/**
 * The request's handler failed: it threw, or its request or reply did not
 * match a schema. `code` is `REMOTE_ERROR`; `remoteMessage` and `remoteCode`
 * are what the serving side reported.
 */
export class RemoteError extends AmqpError {
  static {
    brandError(RemoteError, 'RemoteError');
  }

  declare readonly code: 'REMOTE_ERROR';
  /** The message of the error the handler threw. */
  readonly remoteMessage: string;
  /** Its `code`, when it had a string one (for instance `MESSAGE_INVALID`). */
  readonly remoteCode: string | undefined;

  constructor(remoteMessage: string, remoteCode: string | undefined) {
    super('REMOTE_ERROR', `the request's handler failed: ${remoteMessage}`);
    this.remoteMessage = remoteMessage;
    this.remoteCode = remoteCode;
  }
}

/** The reply that tells the caller its request failed with `error`. */
export function errorReply(error: unknown, correlationId: string | undefined): Message<string> {
  const headers: FieldTable = {
    [ERROR_HEADER]: onTheWire(describeMessage(error, REMOTE_MESSAGE_LIMIT)),
  };
  const code = codeOf(error);
  if (code !== undefined) headers[ERROR_CODE_HEADER] = onTheWire(code);
  return new Message('', { headers, ...(correlationId === undefined ? {} : { correlationId }) });
}

/**
 * The most characters of the handler's error message an error reply carries:
 * the reply's headers must fit in one frame.
 */
const REMOTE_MESSAGE_LIMIT = 1000;

/** The handler's error `code`, when it has a string one; a value that throws on reading it has none. */
function codeOf(error: unknown): string | undefined {
  try {
    const code = (error as { code?: unknown } | null)?.code;
    return typeof code === 'string' ? code.slice(0, REMOTE_MESSAGE_LIMIT) : undefined;
  } catch {
    return undefined;
  }
}

/** A lone surrogate cannot go on the wire as UTF-8: it becomes U+FFFD here, in a report. */
function onTheWire(text: string): string {
  return text.toWellFormed();
}

/** The {@link RemoteError} an error reply carries, or undefined for a normal reply. */
export function remoteError(headers: FieldTable | undefined): RemoteError | undefined {
  const message = headers?.[ERROR_HEADER];
  if (message === undefined) return undefined;
  const code = headers?.[ERROR_CODE_HEADER];
  return new RemoteError(describeMessage(message), typeof code === 'string' ? code : undefined);
}
