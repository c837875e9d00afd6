/**
 * Messages the broker sent back (`basic.return`): a `mandatory` message no
 * queue took. The engine hands out their content; here it becomes a message
 * that reads like a delivered one, and the error a confirmed publish rejects
 * with.
 */
import type { ReturnedContent } from './engine/confirms.js';
import { replyCodeName } from './engine/errors.js';
import { AmqpError, type BrokerErrorCode, brandError } from './protocol/errors.js';
import { ReceivedMessage } from './received-message.js';

/**
 * A `mandatory` message the broker could not route and sent back, as the
 * channel's return handler, its `return` event and
 * {@link MessageReturnedError.returned} give it. It reads like an
 * {@link IncomingMessage}: `body`, `properties`, `headers`, `text()`,
 * `json()`, `json(schema)`, `data`, and `exchange` and `routingKey` as it
 * was published; `replyCode` and `replyText` say why it came back. It is
 * not a delivery: there is nothing to settle.
 */
export class ReturnedMessage extends ReceivedMessage<unknown> {
  /** Why it came back: 312 (`NO_ROUTE`) when no queue was bound to take it. */
  readonly replyCode: number;
  /** The broker's text, such as `NO_ROUTE`. */
  readonly replyText: string;

  /** @internal Made by the channel for each `basic.return`. */
  static create(returned: ReturnedContent): ReturnedMessage {
    return new ReturnedMessage(returned);
  }

  private constructor(returned: ReturnedContent) {
    super(returned.body, returned.properties, returned.exchange, returned.routingKey);
    this.replyCode = returned.replyCode;
    this.replyText = returned.replyText;
  }
}

/**
 * A `mandatory` message the broker could not route and sent back
 * (`basic.return`) on a confirm channel, or an RPC request no queue took:
 * `code` is the reply code name, usually `NO_ROUTE`; `returned` is the
 * message.
 */
export class MessageReturnedError extends AmqpError {
  static {
    brandError(MessageReturnedError, 'MessageReturnedError');
  }

  declare readonly code: BrokerErrorCode;
  /** The AMQP reply code, usually 312 (NO_ROUTE). */
  readonly replyCode: number;
  /** The broker's reply text. */
  readonly replyText: string;
  /** The returned message, as the broker sent it back. */
  readonly returned: ReturnedMessage;

  constructor(returned: ReturnedMessage) {
    super(
      replyCodeName(returned.replyCode),
      `the broker returned the message published to exchange '${returned.exchange}' with routing key '${returned.routingKey}': ${returned.replyCode} ${returned.replyText}`,
    );
    this.replyCode = returned.replyCode;
    this.replyText = returned.replyText;
    this.returned = returned;
  }
}

/** @internal What a confirmed publish the broker returned rejects with. */
export function rejectReturned(returned: ReturnedContent): MessageReturnedError {
  return new MessageReturnedError(ReturnedMessage.create(returned));
}
