import type { Channel } from './channel.js';
import { type ConsumeCallback, type ConsumeOptions, Consumer } from './consumer.js';
import type { Exchange } from './exchange.js';
import type { IncomingMessage } from './incoming-message.js';
import type { FieldTable } from './protocol/field-types.js';
import type { MethodArgs } from './protocol/spec.js';
import { checkShortString } from './validate.js';

/** Options of {@link Channel.declareQueue}. */
export interface QueueOptions {
  /** Survives a broker restart. @default false */
  durable?: boolean;
  /** Used by this connection only, and deleted when it closes. @default false */
  exclusive?: boolean;
  /** Deleted when its last consumer is cancelled. @default false */
  autoDelete?: boolean;
  /** Only check that it exists (404 closes the channel when it does not). @default false */
  passive?: boolean;
  /**
   * Extra arguments: `x-queue-type` (`quorum`, `stream`), `x-message-ttl`,
   * `x-dead-letter-exchange`, `x-max-length`, `x-max-priority`, …
   * @default {}
   */
  arguments?: FieldTable;
  /** Aborts the declaration. */
  signal?: AbortSignal;
}

/** What the broker reported when the queue was declared. */
export interface QueueCounts {
  /** Messages ready in the queue when it was declared. */
  readonly messageCount: number;
  /** Consumers on the queue when it was declared. */
  readonly consumerCount: number;
}

/** A queue on a channel: bind it, consume from it, get from it, purge or delete it. */
export class Queue {
  /** The channel that declared this handle. */
  readonly channel: Channel;
  /** The queue's name (the broker's choice for a queue declared without one). */
  readonly name: string;
  /** Counts from the declaration; undefined for a handle from {@link Channel.queue}. */
  readonly declared: QueueCounts | undefined;

  /** @internal */
  constructor(channel: Channel, name: string, declared: QueueCounts | undefined) {
    this.channel = channel;
    this.name = name;
    this.declared = declared;
  }

  /**
   * Binds the queue to `exchange`: messages published there that match
   * `routingKey` (or, for a headers exchange, `args`) are routed here.
   * @throws ChannelError NOT_FOUND (404) when the exchange does not exist
   */
  async bind(
    exchange: Exchange | string,
    routingKey = '',
    args: FieldTable = {},
    signal?: AbortSignal,
  ): Promise<QueueBinding> {
    const exchangeName = typeof exchange === 'string' ? exchange : exchange.name;
    checkShortString(exchangeName, 'exchange name');
    checkShortString(routingKey, 'routing key');
    await this.channel.engine.call(
      'queue.bind',
      { queue: this.name, exchange: exchangeName, routingKey, nowait: false, arguments: args },
      { signal },
    );
    return new QueueBinding(this, exchangeName, routingKey, args);
  }

  /**
   * Starts a consumer: `callback` receives each message. Unless `noAck`,
   * settle every message with `ack()`, `nack()` or `reject()`.
   */
  async consume(callback: ConsumeCallback, options: ConsumeOptions = {}): Promise<Consumer> {
    if (typeof callback !== 'function') throw new TypeError('consume needs a callback function');
    if (options.consumerTag !== undefined) checkShortString(options.consumerTag, 'consumer tag');
    const consumer = new Consumer(this, callback, options);
    await this.channel.engine.consume(
      {
        queue: this.name,
        consumerTag: consumer.tag,
        noLocal: options.noLocal ?? false,
        noAck: options.noAck ?? false,
        exclusive: options.exclusive ?? false,
        nowait: false,
        arguments: options.arguments ?? {},
      },
      consumer,
      options.signal,
    );
    consumer.start();
    return consumer;
  }

  /** Fetches one message (`basic.get`), or `null` when the queue is empty. */
  async get(
    options: { noAck?: boolean; signal?: AbortSignal } = {},
  ): Promise<IncomingMessage | null> {
    const noAck = options.noAck ?? false;
    let message: IncomingMessage | null = null;
    await this.channel.engine.call(
      'basic.get',
      { queue: this.name, noAck },
      {
        signal: options.signal,
        // Track the message as soon as get-ok arrives, in delivery order with consumers' messages.
        onReply: (reply, abandoned) => {
          if (reply.method.name !== 'basic.get-ok') return;
          const args = reply.method.args;
          if (abandoned) {
            // The caller aborted after asking: give the message back rather than strand it.
            if (!noAck) {
              this.channel.engine.send('basic.reject', {
                deliveryTag: args.deliveryTag,
                requeue: true,
              });
            }
            return;
          }
          message = this.channel.incoming(reply, {
            deliveryTag: args.deliveryTag,
            redelivered: args.redelivered,
            exchange: args.exchange,
            routingKey: args.routingKey,
            messageCount: args.messageCount,
            noAck,
          });
        },
      },
    );
    return message;
  }

  /** Removes every ready message; resolves with how many there were. */
  async purge(signal?: AbortSignal): Promise<number> {
    const reply = await this.channel.engine.call(
      'queue.purge',
      { queue: this.name, nowait: false },
      { signal },
    );
    return (reply.method.args as MethodArgs<'queue.purge-ok'>).messageCount;
  }

  /**
   * Deletes the queue; resolves with how many messages it held.
   * @param options.ifUnused - only if it has no consumers (else 406 closes the channel)
   * @param options.ifEmpty - only if it holds no messages (else 406 closes the channel)
   */
  async delete(
    options: { ifUnused?: boolean; ifEmpty?: boolean; signal?: AbortSignal } = {},
  ): Promise<number> {
    const reply = await this.channel.engine.call(
      'queue.delete',
      {
        queue: this.name,
        ifUnused: options.ifUnused ?? false,
        ifEmpty: options.ifEmpty ?? false,
        nowait: false,
      },
      { signal: options.signal },
    );
    return (reply.method.args as MethodArgs<'queue.delete-ok'>).messageCount;
  }
}

/** A binding of a queue to an exchange, made by {@link Queue.bind}. */
export class QueueBinding {
  /** The bound queue. */
  readonly queue: Queue;
  /** The name of the exchange it is bound to. */
  readonly exchange: string;
  /** The routing key (pattern) of the binding. */
  readonly routingKey: string;
  /** The binding's arguments (for a headers exchange, what to match). */
  readonly arguments: FieldTable;

  /** @internal */
  constructor(queue: Queue, exchange: string, routingKey: string, args: FieldTable) {
    this.queue = queue;
    this.exchange = exchange;
    this.routingKey = routingKey;
    this.arguments = args;
  }

  /** Removes the binding. */
  async unbind(signal?: AbortSignal): Promise<void> {
    await this.queue.channel.engine.call(
      'queue.unbind',
      {
        queue: this.queue.name,
        exchange: this.exchange,
        routingKey: this.routingKey,
        arguments: this.arguments,
      },
      { signal },
    );
  }
}
