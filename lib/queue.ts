import type { Channel, SignalOptions } from './channel.js';
import {
  type ConsumeCallback,
  type ConsumeOptions,
  Consumer,
  type ConsumerHooks,
  type FailurePolicy,
  isFailureHandler,
} from './consumer.js';
import { ChannelError } from './engine/errors.js';
import { BIND_OPTIONS, type BindOptions, type Exchange, type UnbindOptions } from './exchange.js';
import type { IncomingMessage } from './incoming-message.js';
import { MessageIterator, type MessagesOptions } from './message-iterator.js';
import { AmqpError } from './protocol/errors.js';
import type { FieldTable } from './protocol/field-types.js';
import type { MethodArgs } from './protocol/spec.js';
import { type RpcHandler, type ServeOptions, serve } from './rpc-server.js';
import { parseBody, type Schema, type SchemaInput } from './schema.js';
import type { MessageTooLargeError } from './too-large.js';
import { checkChoice, checkCount, checkOptions, checkShortString } from './validate.js';

/** The schema option of {@link Channel.declareQueue} and {@link Channel.queue}. */
export interface QueueSchemaOption<S extends Schema | undefined = undefined> {
  /**
   * A zod schema for the JSON bodies of this queue's messages: handlers
   * receive `IncomingMessage<output type>` with the checked value in
   * `data`; a message that is not JSON or does not match is rejected
   * without requeue and reported (a consumer's `invalid` event).
   */
  schema?: S;
}

/**
 * Options of {@link Channel.queue}: the schema, and what you know of the
 * queue. The rest only describe it: they are kept on the handle
 * ({@link Queue.durable}, …) and never sent. Give a quorum queue's handle
 * its `arguments` (`{ 'x-queue-type': 'quorum' }`), so that
 * {@link Queue.delete} knows how to check `ifUnused` and `ifEmpty`.
 */
export interface QueueHandleOptions<S extends Schema | undefined = undefined>
  extends QueueSchemaOption<S> {
  /** Whether the queue is durable, as you know it; never sent. @default undefined */
  durable?: boolean;
  /** Whether it is exclusive, as you know it; never sent. @default undefined */
  exclusive?: boolean;
  /** Whether it is auto-delete, as you know it; never sent. @default undefined */
  autoDelete?: boolean;
  /** Its arguments (`x-queue-type`, …), as you know them; never sent. @default undefined */
  arguments?: FieldTable;
}

/** Options of {@link Channel.declareQueue}. */
export interface QueueOptions<S extends Schema | undefined = undefined>
  extends QueueSchemaOption<S>,
    SignalOptions {
  /**
   * Survives a broker restart.
   * @default true, except for a server-named queue (no name, or `''`) and an
   *   exclusive one, which die with their connection anyway
   */
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

/** Options of {@link Queue.get}. */
export interface GetOptions extends SignalOptions {
  /**
   * The broker considers the message settled as soon as it is sent: it
   * needs no ack, and is lost if the application fails with it.
   * @default false
   */
  noAck?: boolean;
}

/** Options of {@link Queue.purge}. */
export type PurgeOptions = SignalOptions;

/** Options of {@link Queue.delete}. */
export interface QueueDeleteOptions extends SignalOptions {
  /**
   * Only if it has no consumers: else the broker refuses (406
   * PRECONDITION_FAILED closes the channel).
   * @default true
   */
  ifUnused?: boolean;
  /**
   * Only if it holds no ready messages: else the broker refuses (406
   * PRECONDITION_FAILED closes the channel). A stream reports none, so this
   * never keeps a stream.
   * @default true
   */
  ifEmpty?: boolean;
}

/** What the broker reported when the queue was declared. */
export interface QueueCounts {
  /** Messages ready in the queue when it was declared. */
  readonly messageCount: number;
  /** Consumers on the queue when it was declared. */
  readonly consumerCount: number;
}

/**
 * A queue on a channel: bind it, consume from it, get from it, purge or
 * delete it. `T` is the type of the messages' `data`: the output type of the
 * queue's schema, or `unknown` without one.
 */
export class Queue<T = unknown> {
  /** The channel that declared this handle. */
  readonly channel: Channel;
  #name: string;
  /** Counts from the declaration; undefined for a handle from {@link Channel.queue}. */
  readonly declared: QueueCounts | undefined;
  /**
   * Whether it was declared durable. On a handle from {@link Channel.queue}
   * (or a passive declare), what its options said, else undefined; so for
   * the fields below.
   */
  readonly durable: boolean | undefined;
  /** Whether it was declared exclusive. */
  readonly exclusive: boolean | undefined;
  /** Whether it was declared auto-delete. */
  readonly autoDelete: boolean | undefined;
  /** The arguments it was declared with. */
  readonly arguments: FieldTable | undefined;
  /** The schema messages are checked against, if any. */
  readonly schema: Schema | undefined;

  /** @internal Use {@link Channel.declareQueue} or {@link Channel.queue}. */
  static create<T>(
    channel: Channel,
    name: string,
    declared: QueueCounts | undefined,
    declaration: QueueHandleOptions<Schema | undefined>,
  ): Queue<T> {
    return new Queue<T>(channel, name, declared, declaration);
  }

  private constructor(
    channel: Channel,
    name: string,
    declared: QueueCounts | undefined,
    declaration: QueueHandleOptions<Schema | undefined>,
  ) {
    this.channel = channel;
    this.#name = name;
    this.declared = declared;
    this.durable = declaration.durable;
    this.exclusive = declaration.exclusive;
    this.autoDelete = declaration.autoDelete;
    this.arguments = declaration.arguments;
    this.schema = declaration.schema;
  }

  /**
   * The queue's name: the broker's choice for a queue declared without one,
   * which changes when recovery declares it again (see the connection's
   * `queueRenamed` event).
   */
  get name(): string {
    return this.#name;
  }

  /** @internal Recovery declared the server-named queue again under a new name. */
  rename(name: string): void {
    this.#name = name;
  }

  /**
   * Binds the queue to `exchange`: messages published there that match
   * `routingKey` (or, for a headers exchange, `options.arguments`) are
   * routed here.
   *
   * ```ts
   * await queue.bind(reports, '', { arguments: { 'x-match': 'all', format: 'pdf' } });
   * ```
   * @throws ChannelError NOT_FOUND (404) when the exchange does not exist
   * @throws TypeError for an option it does not know, such as a field table passed as the options
   */
  async bind(
    exchange: Exchange | string,
    routingKey = '',
    options: BindOptions = {},
  ): Promise<QueueBinding> {
    if (typeof exchange === 'string') checkShortString(exchange, 'exchange name');
    checkShortString(routingKey, 'routing key');
    checkOptions(options, 'queue.bind', BIND_OPTIONS);
    const to = typeof exchange === 'string' ? this.channel.exchange(exchange) : exchange;
    const binding = QueueBinding.create(this as Queue, to, routingKey, options.arguments ?? {});
    await this.channel.call('queue.bind', binding.bindArgs(), { signal: options.signal });
    this.channel.connection.topology.addQueueBinding(binding);
    return binding;
  }

  /**
   * Starts a consumer: `callback` receives each message, at most
   * `concurrency` at a time. With `settle: 'manual'` (the default) settle
   * every message with `ack()`, `nack()` or `reject()`; with `'auto'` warren
   * acks it when the handler resolves. Whatever the handler throws becomes
   * the consumer's `error` event, and the message is requeued or
   * dead-lettered by `onFailure`.
   *
   * ```ts
   * await queue.consume(async (message) => { await handle(message.data); }, { settle: 'auto', prefetch: 20, concurrency: 4 });
   * ```
   */
  consume(callback: ConsumeCallback<T>, options: ConsumeOptions<T> = {}): Promise<Consumer<T>> {
    try {
      checkOptions(options, 'consume');
    } catch (error) {
      return Promise.reject(error);
    }
    return this.subscribe(callback, options, {});
  }

  /** @internal {@link Queue.consume}, with what `serve()` adds. */
  async subscribe(
    callback: ConsumeCallback<T>,
    options: ConsumeOptions<T>,
    hooks: ConsumerHooks,
  ): Promise<Consumer<T>> {
    if (typeof callback !== 'function') throw new TypeError('consume needs a callback function');
    if (options.consumerTag !== undefined) checkShortString(options.consumerTag, 'consumer tag');
    checkCount(options.concurrency, 'concurrency', 1);
    checkCount(options.prefetch, 'prefetch', 0, 65535);
    if (options.noAck === true && options.prefetch !== undefined) {
      throw new TypeError(
        'prefetch has no effect with noAck: true (RabbitMQ does not limit what it sends a ' +
          'consumer that needs no acks); leave prefetch out: maxBufferedDeliveryBytes, a ' +
          'connection option, bounds what waits for the handler',
      );
    }
    checkSettleOptions(options);
    // A tag of the caller's choosing may clash (the random ones do not): refused here, since
    // RabbitMQ answers a duplicate by closing the whole connection (530).
    const tag = options.consumerTag;
    if (tag !== undefined) this.channel.claimTag(tag);
    try {
      const { onFailure, signal } = options;
      if (isFailureHandler(onFailure) && onFailure.prepare !== undefined) {
        await onFailure.prepare(this, signal === undefined ? {} : { signal });
      }
      if (options.prefetch !== undefined) {
        await this.channel.setQos(
          signal === undefined
            ? { prefetchCount: options.prefetch }
            : { prefetchCount: options.prefetch, signal },
        );
      }
      const consumer = Consumer.create(this, callback, options, hooks);
      const engine = this.channel.isLive
        ? this.channel.engine
        : await this.channel.live(0, false, options.signal);
      await consumer.begin(engine, options.signal);
      consumer.start();
      return consumer;
    } catch (error) {
      if (tag !== undefined) this.channel.releaseTag(tag);
      throw error;
    }
  }

  /**
   * The queue's messages as an async iterable, with backpressure through
   * `prefetch`; settle each message in the loop. Leaving the loop (`break`,
   * `return`, a throw) cancels the consumer and requeues what was delivered
   * and not settled.
   *
   * ```ts
   * for await (const message of queue.messages({ prefetch: 10 })) {
   *   await handle(message.data);
   *   message.ack();
   * }
   * ```
   */
  messages(options: MessagesOptions = {}): MessageIterator<T> {
    checkOptions(options, 'messages');
    checkCount(options.prefetch, 'prefetch', 1, 65535);
    checkFailurePolicy(options.onFailure);
    return MessageIterator.create(this, options);
  }

  /**
   * Serves requests from this queue: `handler`'s return value (or resolved
   * value) is sent back to the caller (`replyTo`, with its `correlationId`),
   * and the request is acked. When the handler throws, the caller receives
   * the error as a rejection. See {@link RpcClient}.
   * @returns the consumer; cancel it to stop serving
   */
  serve<S extends Schema | undefined = undefined>(
    handler: RpcHandler<T, SchemaInput<S>>,
    options: ServeOptions<S> = {},
  ): Promise<Consumer<T>> {
    return serve(this, handler, options);
  }

  /**
   * Fetches one message (`basic.get`), or `null` when the queue is empty.
   * On a queue with a schema, a message that does not match is rejected
   * without requeue and `get` throws the `MessageValidationError`.
   * @throws MessageTooLargeError when the message is larger than the
   *   connection's `maxBodySize`: it was rejected without requeue (dead-lettered
   *   when the queue has a dead-letter exchange), or dropped with `noAck`
   */
  async get(options: GetOptions = {}): Promise<IncomingMessage<T> | null> {
    checkOptions(options, 'get');
    const noAck = options.noAck ?? false;
    let message: IncomingMessage<T> | null = null;
    let refused: MessageTooLargeError | undefined;
    await this.channel.call(
      'basic.get',
      { queue: this.name, noAck },
      {
        signal: options.signal,
        // Track the message as soon as get-ok arrives, in delivery order with consumers' messages.
        onReply: (reply, abandoned) => {
          if (reply.method.name !== 'basic.get-ok') return;
          const args = reply.method.args;
          const info = {
            deliveryTag: args.deliveryTag,
            redelivered: args.redelivered,
            exchange: args.exchange,
            routingKey: args.routingKey,
            messageCount: args.messageCount,
            noAck,
          };
          // Over maxBodySize: rejected without requeue, even when the caller gave up waiting.
          if (reply.oversized !== undefined) {
            refused = this.channel.refuse(reply, info, 'basic.get-ok');
            return;
          }
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
          message = this.channel.incoming<T>(reply, info, this);
        },
      },
    );
    // Set by the reply hook, which the compiler cannot see.
    const tooLarge = refused as MessageTooLargeError | undefined;
    if (tooLarge !== undefined) throw tooLarge;
    const fetched = message as IncomingMessage<T> | null;
    if (fetched === null) return null;
    try {
      this.parse(fetched);
    } catch (error) {
      // Dead-letter it, as a consumer would.
      if (!fetched.settled) fetched.reject({ requeue: false });
      throw error;
    }
    return fetched;
  }

  /**
   * @internal Checks a received message against the schema and sets its
   * `data`. @throws MessageValidationError
   */
  parse(message: IncomingMessage<T>): void {
    if (this.schema === undefined) return;
    const what = `a message on queue '${this.name}' is invalid`;
    message.setData(parseBody(message.text(), this.schema, what) as T);
  }

  /** Removes every ready message; resolves with how many there were. */
  async purge(options: PurgeOptions = {}): Promise<number> {
    checkOptions(options, 'purge');
    const reply = await this.channel.call(
      'queue.purge',
      { queue: this.name, nowait: false },
      { signal: options.signal },
    );
    return (reply.method.args as MethodArgs<'queue.purge-ok'>).messageCount;
  }

  /**
   * Deletes the queue; resolves with how many messages it held. By default
   * only a queue without consumers (`ifUnused`) and without messages
   * (`ifEmpty`): else the broker refuses with 406 PRECONDITION_FAILED, which
   * closes the channel. Pass `false` to delete it regardless.
   *
   * RabbitMQ refuses either flag on a quorum queue by closing the whole
   * connection (540 NOT_IMPLEMENTED). So on a queue whose `arguments` say
   * `'x-queue-type': 'quorum'` (declared so, or a handle told so), warren
   * checks the counts itself, on a channel of its own, then deletes without
   * the flags: a refusal is then an `AmqpError` with code
   * `PRECONDITION_FAILED`, and the channel stays open. The check and the
   * delete are two steps: a consumer or message arriving between them is not
   * seen. A stream accepts the flags but reports no ready messages, so
   * `ifEmpty` does not keep it.
   * @throws ChannelError PRECONDITION_FAILED (406) when the queue is in use or not empty
   * @throws AmqpError PRECONDITION_FAILED for a quorum queue in use or not empty (the channel stays open)
   */
  async delete(options: QueueDeleteOptions = {}): Promise<number> {
    checkOptions(options, 'queue.delete');
    let ifUnused = options.ifUnused ?? true;
    let ifEmpty = options.ifEmpty ?? true;
    if ((ifUnused || ifEmpty) && this.arguments?.['x-queue-type'] === 'quorum') {
      await this.#checkDeletable(ifUnused, ifEmpty, options.signal);
      ifUnused = false;
      ifEmpty = false;
    }
    const reply = await this.channel.call(
      'queue.delete',
      { queue: this.name, ifUnused, ifEmpty, nowait: false },
      { signal: options.signal },
    );
    this.channel.connection.topology.removeQueue(this.name);
    return (reply.method.args as MethodArgs<'queue.delete-ok'>).messageCount;
  }

  /**
   * For a quorum queue, which the broker cannot delete with `if-unused` or
   * `if-empty`: checks its counts with a passive declare, on a channel of
   * its own so that a missing queue (404) closes only that one.
   * @throws AmqpError PRECONDITION_FAILED when the queue is in use or not empty
   */
  async #checkDeletable(
    ifUnused: boolean,
    ifEmpty: boolean,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const options = signal === undefined ? {} : { signal };
    const side = await this.channel.connection.openChannel(options);
    let counts: QueueCounts | undefined;
    try {
      counts = (await side.declareQueue(this.name, { ...options, passive: true })).declared;
    } catch (error) {
      // Gone already: the delete itself answers, as it does for any missing queue.
      if (error instanceof ChannelError && error.replyCode === 404) return;
      throw error;
    } finally {
      if (side.isOpen) void side.close().catch(() => {});
    }
    let refusal: string | undefined;
    if (ifUnused && counts !== undefined && counts.consumerCount > 0) {
      refusal = `it has ${counts.consumerCount} consumer(s)`;
    } else if (ifEmpty && counts !== undefined && counts.messageCount > 0) {
      refusal = `it holds ${counts.messageCount} message(s)`;
    }
    if (refusal !== undefined) {
      throw new AmqpError(
        'PRECONDITION_FAILED',
        `quorum queue '${this.name}' was not deleted: ${refusal} (checked by warren, as RabbitMQ does not implement ifUnused and ifEmpty for quorum queues; the channel stays open)`,
      );
    }
  }
}

/** A binding of a queue to an exchange, made by {@link Queue.bind}. */
export class QueueBinding {
  /** The bound queue. */
  readonly queue: Queue;
  /**
   * The exchange it is bound to: the one passed to {@link Queue.bind}, or a
   * handle ({@link Channel.exchange}) when it was given by name.
   */
  readonly exchange: Exchange;
  /** The routing key (pattern) of the binding. */
  readonly routingKey: string;
  /** The binding's arguments (for a headers exchange, what to match). */
  readonly arguments: FieldTable;

  /** @internal Use {@link Queue.bind}. */
  static create(
    queue: Queue,
    exchange: Exchange,
    routingKey: string,
    args: FieldTable,
  ): QueueBinding {
    return new QueueBinding(queue, exchange, routingKey, args);
  }

  private constructor(queue: Queue, exchange: Exchange, routingKey: string, args: FieldTable) {
    this.queue = queue;
    this.exchange = exchange;
    this.routingKey = routingKey;
    this.arguments = args;
  }

  /** Removes the binding. */
  async unbind(options: UnbindOptions = {}): Promise<void> {
    checkOptions(options, 'unbind');
    const { queue, exchange, routingKey, arguments: args } = this.bindArgs();
    await this.queue.channel.call(
      'queue.unbind',
      { queue, exchange, routingKey, arguments: args },
      { signal: options.signal },
    );
    this.queue.channel.connection.topology.removeQueueBinding(this);
  }

  /** @internal The `queue.bind` arguments, with the queue's current name. */
  bindArgs(): MethodArgs<'queue.bind'> {
    return {
      queue: this.queue.name,
      exchange: this.exchange.name,
      routingKey: this.routingKey,
      nowait: false,
      arguments: this.arguments,
    };
  }
}

function checkSettleOptions(options: ConsumeOptions<never>): void {
  checkChoice(options.settle, 'settle', ['manual', 'auto']);
  checkFailurePolicy(options.onFailure);
}

/** A policy name, a function, or a FailureHandler (an object with `handle`, and maybe `prepare`). */
function checkFailurePolicy(policy: FailurePolicy<never> | undefined): void {
  if (typeof policy === 'object' && policy !== null) {
    if (typeof policy.handle !== 'function') {
      throw new TypeError('onFailure as an object needs a handle(error, message, queue) method');
    }
    if (policy.prepare !== undefined && typeof policy.prepare !== 'function') {
      throw new TypeError('onFailure.prepare must be a function (queue, { signal }) when given');
    }
    return;
  }
  const choices = ['retry-once', 'requeue', 'dead-letter'];
  checkChoice(policy, 'onFailure', choices, true);
}
