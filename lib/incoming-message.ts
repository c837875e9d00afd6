import type { MessageProperties } from './message.js';
import { AmqpError } from './protocol/errors.js';
import { ReceivedMessage } from './received-message.js';

/** How a received message is settled. @internal */
export type Settlement =
  | { readonly kind: 'ack'; readonly multiple: boolean }
  | { readonly kind: 'nack'; readonly multiple: boolean; readonly requeue: boolean }
  | { readonly kind: 'reject'; readonly requeue: boolean };

/** What an incoming message settles through: its channel. @internal */
export interface Settler {
  settle(message: IncomingMessage, settlement: Settlement): void;
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
  private settledAs: Settlement['kind'] | 'multiple' | null = null;
  private readonly settler: Settler;

  /** @internal */
  constructor(body: Buffer, properties: MessageProperties, info: DeliveryInfo, settler: Settler) {
    super(body, properties, info.exchange, info.routingKey);
    this.deliveryTag = info.deliveryTag;
    this.redelivered = info.redelivered;
    this.consumerTag = info.consumerTag;
    this.messageCount = info.messageCount;
    this.noAck = info.noAck;
    this.settler = settler;
  }

  /** Whether it has been acked, nacked or rejected (or needs no settling). */
  get settled(): boolean {
    return this.noAck || this.settledAs !== null;
  }

  /**
   * Tells the broker the message is handled: it is removed from the queue.
   * @param options.multiple - also ack every earlier unsettled message of this channel
   */
  ack(options: { multiple?: boolean } = {}): void {
    this.settle({ kind: 'ack', multiple: options.multiple ?? false });
  }

  /**
   * Refuses the message (RabbitMQ's `basic.nack`).
   * @param options.requeue - put it back in the queue (default) or drop / dead-letter it (`false`)
   * @param options.multiple - also nack every earlier unsettled message of this channel
   */
  nack(options: { requeue?: boolean; multiple?: boolean } = {}): void {
    this.settle({
      kind: 'nack',
      requeue: options.requeue ?? true,
      multiple: options.multiple ?? false,
    });
  }

  /**
   * Refuses the message (`basic.reject`).
   * @param options.requeue - put it back in the queue (default) or drop / dead-letter it (`false`)
   */
  reject(options: { requeue?: boolean } = {}): void {
    this.settle({ kind: 'reject', requeue: options.requeue ?? true });
  }

  /** @internal Marks the message settled by a `multiple` settlement of a later one. */
  markSettled(): void {
    this.settledAs ??= 'multiple';
  }

  /** @internal Its settlement was rolled back with a transaction: it may be settled again. */
  unsettle(): void {
    this.settledAs = null;
  }

  private settle(settlement: Settlement): void {
    if (this.noAck) {
      throw new AmqpError(
        'NOT_ACKNOWLEDGEABLE',
        `message ${this.deliveryTag} came with noAck: the broker settled it on delivery`,
      );
    }
    if (this.settledAs !== null) {
      throw new AmqpError(
        'ALREADY_SETTLED',
        `message ${this.deliveryTag} is already settled (${this.settledAs}); nothing was sent`,
      );
    }
    this.settledAs = settlement.kind;
    this.settler.settle(this, settlement);
  }
}
