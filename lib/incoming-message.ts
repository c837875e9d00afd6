import type { Settlement } from './deliveries.js';
import type { MessageProperties } from './message.js';
import { AmqpError } from './protocol/errors.js';
import { ReceivedMessage } from './received-message.js';
import { MessageValidationError, type Schema, type SchemaOutput } from './schema.js';
import { checkOptions } from './validate.js';

/** What an incoming message settles through: its channel. @internal */
export interface Settler {
  settle(message: IncomingMessage, settlement: Settlement): void;
}

/** What {@link IncomingMessage.fail} hands a message to: its consumer. @internal */
export interface FailureRoute {
  fail(message: IncomingMessage, error: unknown): Promise<void>;
}

/** Where a message came from. @internal */
export interface DeliveryInfo {
  readonly deliveryTag: number;
  readonly redelivered: boolean;
  readonly exchange: string;
  readonly routingKey: string;
  readonly consumerTag?: string | undefined;
  readonly messageCount?: number | undefined;
  /** Delivered with no-ack: the broker considers it settled already. */
  readonly noAck: boolean;
}

/** Options of {@link IncomingMessage.ack}. */
export interface AckOptions {
  /** Also ack every earlier unsettled message of this channel. @default false */
  multiple?: boolean;
}

/** Options of {@link IncomingMessage.nack}. */
export interface NackOptions {
  /** Put it back in the queue; `false` drops it, or dead-letters it when the queue has a dead-letter exchange. @default true */
  requeue?: boolean;
  /** Also nack every earlier unsettled message of this channel. @default false */
  multiple?: boolean;
}

/** Options of {@link IncomingMessage.reject}. */
export interface RejectOptions {
  /** Put it back in the queue; `false` drops it, or dead-letters it when the queue has a dead-letter exchange. @default true */
  requeue?: boolean;
}

/** The settlements without choices, made once: settling allocates nothing. */
const ACK: Settlement = Object.freeze({ kind: 'ack', multiple: false });
const ACK_MULTIPLE: Settlement = Object.freeze({ kind: 'ack', multiple: true });
const REJECT_REQUEUE: Settlement = Object.freeze({ kind: 'reject', requeue: true });
const REJECT_DROP: Settlement = Object.freeze({ kind: 'reject', requeue: false });

/**
 * A message received from a queue, by a {@link Consumer} or `queue.get()`.
 * `T` is the type of {@link IncomingMessage.data}: the output of the queue's
 * schema, or `unknown`.
 *
 * Unless it came with `noAck`, settle it exactly once: {@link IncomingMessage.ack},
 * {@link IncomingMessage.nack} or {@link IncomingMessage.reject}. Settling it
 * twice is an error that sends nothing (a repeated delivery tag would make
 * the broker close the channel).
 */
export class IncomingMessage<T = unknown> extends ReceivedMessage<T> {
  /** The channel-scoped number the broker gave this delivery. */
  readonly deliveryTag: number;
  /** Whether the broker delivered this message before, to this or another consumer. */
  readonly redelivered: boolean;
  /** The tag of the consumer that received it; absent for `queue.get()`. */
  readonly consumerTag: string | undefined;
  /** For `queue.get()`: how many messages remained in the queue; absent for consumers. */
  readonly messageCount: number | undefined;
  /** Whether it came with no-ack, so that it must not (and cannot) be settled. */
  readonly noAck: boolean;
  #settledAs: Settlement['kind'] | 'multiple' | null = null;
  readonly #settler: Settler;
  /** The consumer whose failure policy {@link IncomingMessage.fail} applies; none for `get()`. */
  #route: FailureRoute | undefined;

  /** @internal Made by the channel for each delivery and each `get`. */
  static create<T>(
    body: Buffer,
    properties: MessageProperties,
    info: DeliveryInfo,
    settler: Settler,
  ): IncomingMessage<T> {
    return new IncomingMessage<T>(body, properties, info, settler);
  }

  private constructor(
    body: Buffer,
    properties: MessageProperties,
    info: DeliveryInfo,
    settler: Settler,
  ) {
    super(body, properties, info.exchange, info.routingKey);
    this.deliveryTag = info.deliveryTag;
    this.redelivered = info.redelivered;
    this.consumerTag = info.consumerTag;
    this.messageCount = info.messageCount;
    this.noAck = info.noAck;
    this.#settler = settler;
  }

  /**
   * Which attempt at handling this is, from 1: the `x-warren-attempt`
   * header (1 when absent or not a whole number from 1), which each delayed
   * retry of the workers' `retry()` publishes one higher, plus the
   * `x-delivery-count` header a quorum queue (RabbitMQ 3.10) adds to a
   * message it delivers again: how many times it was returned to the queue
   * (requeued, or unacknowledged when its channel closed); absent on a
   * consumer's first delivery, 0 on a first `basic.get`. A classic queue
   * has no such count: a requeued redelivery there is the same attempt, and
   * only {@link IncomingMessage.redelivered} tells it apart.
   */
  get attempt(): number {
    const headers = this.properties.headers;
    if (headers === undefined) return 1;
    return (
      wholeNumber(headers['x-warren-attempt'], 1) + wholeNumber(headers['x-delivery-count'], 0)
    );
  }

  /** Whether it has been acked, nacked or rejected (or needs no settling). */
  get settled(): boolean {
    return this.noAck || this.#settledAs !== null;
  }

  /** Tells the broker the message is handled: it is removed from the queue. */
  ack(options?: AckOptions): void {
    checkOptions(options, 'ack');
    this.#settle(options?.multiple === true ? ACK_MULTIPLE : ACK);
  }

  /** Refuses the message (RabbitMQ's `basic.nack`): requeued unless `options.requeue` is `false`. */
  nack(options?: NackOptions): void {
    checkOptions(options, 'nack');
    this.#settle({
      kind: 'nack',
      requeue: options?.requeue ?? true,
      multiple: options?.multiple ?? false,
    });
  }

  /** Refuses the message (`basic.reject`): requeued unless `options.requeue` is `false`. */
  reject(options?: RejectOptions): void {
    checkOptions(options, 'reject');
    this.#settle(options?.requeue === false ? REJECT_DROP : REJECT_REQUEUE);
  }

  /**
   * Checks the body against `schema` and makes the schema's output this
   * message's {@link IncomingMessage.data}. Returns the message itself, typed
   * by the schema: for a queue that carries several kinds of message, where
   * the handler picks the schema (as `byType` does).
   *
   * ```ts
   * const refund = message.validate(Refund); // IncomingMessage<Refund>
   * await issueRefund(refund.data.orderId);
   * refund.ack();
   * ```
   * @throws MessageValidationError when the body is not JSON or does not
   *   match (`data` is left as it was). Thrown from a consumer's handler, it
   *   refuses the message: rejected without requeue, the `invalid` event.
   */
  validate<S extends Schema>(schema: S): IncomingMessage<SchemaOutput<S>> {
    const value = this.json(schema);
    this.setData(value as T);
    return this as IncomingMessage<unknown> as IncomingMessage<SchemaOutput<S>>;
  }

  /**
   * Hands the message to its consumer's failure policy (`onFailure` of
   * `queue.consume()` or `queue.messages()`), as if its handler had thrown
   * `error`: what a `for await` loop over `queue.messages({ onFailure })`
   * calls when handling fails. Resolves once the message is settled: by a
   * `FailureHandler` such as the workers' `retry()` (a delayed retry, or a
   * dead letter that says why), or at once by a named policy or a function
   * (requeued or rejected, as it says; `'retry-once'` without `onFailure`).
   * A `MessageValidationError` is never retried. For a message from
   * `queue.get()`, which has no consumer, it applies `'retry-once'`:
   * requeued unless it was redelivered (call a `FailureHandler`'s `handle`
   * yourself to do more). Nothing is reported: the caller has the error.
   * @param error - why handling failed; it goes into a dead letter's headers
   * @throws AmqpError ALREADY_SETTLED when it is settled already (the promise rejects), or
   *   NOT_ACKNOWLEDGEABLE when it came with noAck
   */
  fail(error: unknown = new Error('the application gave up on the message')): Promise<void> {
    try {
      this.#checkSettleable();
    } catch (problem) {
      return Promise.reject(problem);
    }
    const route = this.#route;
    if (route !== undefined) return route.fail(this, error);
    this.reject({ requeue: !this.redelivered && !(error instanceof MessageValidationError) });
    return Promise.resolve();
  }

  /** @internal The consumer that received it: {@link IncomingMessage.fail} goes to its policy. */
  route(consumer: FailureRoute): void {
    this.#route = consumer;
  }

  /** @internal Marks the message settled by a `multiple` settlement of a later one. */
  markSettled(): void {
    this.#settledAs ??= 'multiple';
  }

  /** @internal Its settlement was rolled back with a transaction: it may be settled again. */
  unsettle(): void {
    this.#settledAs = null;
  }

  #settle(settlement: Settlement): void {
    this.#checkSettleable();
    this.#settledAs = settlement.kind;
    this.#settler.settle(this, settlement);
  }

  #checkSettleable(): void {
    if (this.noAck) {
      throw new AmqpError(
        'NOT_ACKNOWLEDGEABLE',
        `message ${this.deliveryTag} came with noAck: the broker settled it on delivery`,
      );
    }
    if (this.#settledAs !== null) {
      throw new AmqpError(
        'ALREADY_SETTLED',
        `message ${this.deliveryTag} is already settled (${this.#settledAs}); nothing was sent`,
      );
    }
  }
}

/** A header's whole number from 1 (or from 0 for `fallback` 0); `fallback` for anything else. */
function wholeNumber(value: unknown, fallback: number): number {
  const number = typeof value === 'bigint' ? Number(value) : value;
  return typeof number === 'number' && Number.isSafeInteger(number) && number >= fallback
    ? number
    : fallback;
}
