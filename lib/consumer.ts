import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import type { Channel } from './channel.js';
import type { IncomingMessage } from './incoming-message.js';
import type { Command } from './protocol/assembler.js';
import { AmqpError } from './protocol/errors.js';
import type { FieldTable } from './protocol/field-types.js';
import type { MethodArgs } from './protocol/spec.js';
import type { Queue } from './queue.js';
import { callSafely } from './validate.js';

/** Called with each message a {@link Consumer} receives. May be async. */
export type ConsumeCallback = (message: IncomingMessage) => void | Promise<void>;

/** Options of {@link Queue.consume}. */
export interface ConsumeOptions {
  /**
   * The broker considers each message settled as soon as it is sent: faster,
   * but a message in flight is lost if the consumer dies.
   * @default false
   */
  noAck?: boolean;
  /** No other consumer may consume from the queue meanwhile. @default false */
  exclusive?: boolean;
  /** Do not receive messages published on this connection (RabbitMQ ignores it). @default false */
  noLocal?: boolean;
  /** The consumer's tag, unique on the channel. @default a random `warren-…` tag */
  consumerTag?: string;
  /** Extra arguments, such as `x-priority`. @default {} */
  arguments?: FieldTable;
  /** Aborts starting the consumer. */
  signal?: AbortSignal;
}

/** Events of a {@link Consumer}. */
export interface ConsumerEvents {
  /**
   * The consumer stopped without {@link Consumer.cancel}: the broker
   * cancelled it (`code` `CONSUMER_CANCELLED`, e.g. its queue was deleted) or
   * its channel closed (a `ChannelError`).
   */
  cancel: [reason: AmqpError];
  /** The callback threw or rejected for `message`. The consumer goes on. */
  error: [error: unknown, message: IncomingMessage];
}

/** A subscription to a queue, made by {@link Queue.consume}. */
export class Consumer extends EventEmitter<ConsumerEvents> {
  /** The queue consumed from. */
  readonly queue: Queue;
  /** The consumer tag, unique on its channel. */
  readonly tag: string;
  /** The function each message is handed to. */
  readonly callback: ConsumeCallback;
  private isCancelled = false;
  private readonly noAck: boolean;
  /** Deliveries received before {@link Consumer.start}; null once started. */
  private early: Command[] | null = [];

  /** @internal Use {@link Queue.consume}. */
  constructor(queue: Queue, callback: ConsumeCallback, options: ConsumeOptions) {
    super();
    this.queue = queue;
    this.callback = callback;
    this.tag = options.consumerTag ?? `warren-${randomUUID()}`;
    this.noAck = options.noAck ?? false;
  }

  /** Whether the consumer has stopped, by {@link Consumer.cancel}, the broker, or its channel closing. */
  get cancelled(): boolean {
    return this.isCancelled;
  }

  /** The channel the consumer runs on. */
  get channel(): Channel {
    return this.queue.channel;
  }

  /** Stops deliveries (`basic.cancel`). Messages received and not yet settled stay yours to settle. */
  async cancel(signal?: AbortSignal): Promise<void> {
    if (this.isCancelled) return;
    await this.channel.engine.cancel(this.tag, signal);
    this.isCancelled = true;
  }

  /** Cancels the consumer, for `await using consumer = …`. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (this.channel.isOpen) await this.cancel();
  }

  /**
   * @internal Deliveries that arrive with consume-ok wait until the caller of
   * `consume()` has had its turn to add listeners; then they flow.
   */
  start(): void {
    setImmediate(() => {
      const early = this.early ?? [];
      this.early = null;
      for (const command of early) this.dispatch(command);
    });
  }

  /** @internal */
  deliver(command: Command): void {
    if (this.early !== null) this.early.push(command);
    else this.dispatch(command);
  }

  private dispatch(command: Command): void {
    const args = command.method.args as MethodArgs<'basic.deliver'>;
    const message = this.channel.incoming(command, {
      deliveryTag: args.deliveryTag,
      redelivered: args.redelivered,
      exchange: args.exchange,
      routingKey: args.routingKey,
      consumerTag: args.consumerTag,
      noAck: this.noAck,
    });
    let result: void | Promise<void>;
    try {
      result = this.callback(message);
    } catch (error) {
      this.failed(error, message);
      return;
    }
    if (result instanceof Promise) result.catch((error: unknown) => this.failed(error, message));
  }

  /** @internal */
  ended(error: AmqpError | undefined): void {
    if (this.isCancelled) return;
    this.isCancelled = true;
    const reason =
      error ??
      new AmqpError(
        'CONSUMER_CANCELLED',
        `the broker cancelled consumer ${this.tag} (was its queue deleted?)`,
      );
    callSafely('a cancel listener', () => this.emit('cancel', reason));
  }

  private failed(error: unknown, message: IncomingMessage): void {
    if (this.listenerCount('error') === 0) {
      process.emitWarning(
        `warren: the callback of consumer ${this.tag} failed and the consumer has no 'error' listener: ${error instanceof Error ? error.stack : String(error)}`,
        { code: 'WARREN_CONSUMER_ERROR' },
      );
      return;
    }
    callSafely('an error listener', () => this.emit('error', error, message));
  }
}
