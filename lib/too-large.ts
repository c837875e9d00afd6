/**
 * Messages over `maxBodySize`: warren refuses them on their channel (their
 * body is skipped, never buffered) rather than fail the connection, which
 * would only have the broker redeliver them after recovery, forever.
 */
import { type Log, loggedError } from './log.js';
import type { MessageProperties } from './message.js';
import type { OversizedContent } from './protocol/assembler.js';
import { AmqpError, brandError } from './protocol/errors.js';

/** How a refused message came: to a consumer, to `queue.get()`, or back as unroutable. */
export type TooLargeMethod = 'basic.deliver' | 'basic.get-ok' | 'basic.return';

/** @internal Where a refused message came from. */
export interface TooLargeOrigin {
  readonly method: TooLargeMethod;
  readonly exchange: string;
  readonly routingKey: string;
  readonly deliveryTag?: number | undefined;
  readonly consumerTag?: string | undefined;
  readonly redelivered?: boolean | undefined;
  /** Whether warren rejected it without requeue (false: no-ack or a return, nothing to settle). */
  readonly rejected: boolean;
}

/**
 * A message larger than the connection's `maxBodySize` came, and warren
 * refused it: `code` is `MESSAGE_TOO_LARGE`. Its body was skipped without
 * being kept. A delivery that needed an ack was rejected without requeue
 * (`rejected` is true; the queue's dead-letter exchange gets it, if it has
 * one); a no-ack delivery or a returned message was dropped. The connection
 * and the channel stay open.
 *
 * It is the payload of a consumer's `refused` event (and of a channel's, for
 * a returned message), and what `queue.get()` rejects with.
 */
export class MessageTooLargeError extends AmqpError {
  static {
    brandError(MessageTooLargeError, 'MessageTooLargeError');
  }

  declare readonly code: 'MESSAGE_TOO_LARGE';
  /** How it came: `basic.deliver` (a consumer), `basic.get-ok` (`queue.get()`) or `basic.return`. */
  readonly method: TooLargeMethod;
  /** The exchange it was published to (`''` for the default exchange). */
  readonly exchange: string;
  /** The routing key it was published with. */
  readonly routingKey: string;
  /** Its delivery tag on the channel; absent for a returned message. */
  readonly deliveryTag: number | undefined;
  /** The tag of the consumer it was delivered to; absent for `queue.get()` and returns. */
  readonly consumerTag: string | undefined;
  /** Whether the broker had delivered it before; absent for a returned message. */
  readonly redelivered: boolean | undefined;
  /** Its body size, in bytes, as its content header announced it. */
  readonly bodySize: number;
  /** The limit it exceeds: the connection's `maxBodySize`. */
  readonly maxBodySize: number;
  /** Its properties (`messageId`, `headers`, …): they arrived whole. */
  readonly properties: MessageProperties;
  /** Whether warren rejected it without requeue; false when it was dropped (no-ack, a return). */
  readonly rejected: boolean;

  /** @internal Made by the channel or consumer that refused the message. */
  constructor(origin: TooLargeOrigin, oversized: OversizedContent) {
    const outcome = origin.rejected ? 'rejected without requeue' : 'dropped';
    super(
      'MESSAGE_TOO_LARGE',
      `a message of ${oversized.bodySize} bytes (${origin.method}, exchange '${origin.exchange}', routing key '${origin.routingKey}') is larger than maxBodySize (${oversized.maxBodySize}): ${outcome}`,
    );
    this.method = origin.method;
    this.exchange = origin.exchange;
    this.routingKey = origin.routingKey;
    this.deliveryTag = origin.deliveryTag;
    this.consumerTag = origin.consumerTag;
    this.redelivered = origin.redelivered;
    this.bodySize = oversized.bodySize;
    this.maxBodySize = oversized.maxBodySize;
    this.properties = oversized.properties;
    this.rejected = origin.rejected;
  }
}

/** @internal Reports a refusal nobody listens for: to the logger, else as a process warning. */
export function warnTooLarge(error: MessageTooLargeError, where: string, log: Log): void {
  log.write('warren.message.tooLarge', {
    where,
    method: error.method,
    exchange: error.exchange,
    routingKey: error.routingKey,
    bodySize: error.bodySize,
    maxBodySize: error.maxBodySize,
    deliveryTag: error.deliveryTag,
    rejected: error.rejected,
    err: loggedError(error),
  });
}
