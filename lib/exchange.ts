import type { Channel, SignalOptions } from './channel.js';
import { isTraced, Publishing, publishChannel, traceAsync } from './diagnostics.js';
import { throwIfAborted, waitWithin } from './engine/abort.js';
import { Message, type MessageProperties } from './message.js';
import type { FieldTable } from './protocol/field-types.js';
import type { MethodArgs } from './protocol/spec.js';
import { type Schema, validate } from './schema.js';
import { checkOptions, checkShortString } from './validate.js';

/** The properties of a message published as bare bytes. */
const NO_PROPERTIES: MessageProperties = Object.freeze({});

/** The exchange types RabbitMQ ships, or a plugin's type by name. */
export type ExchangeType = 'direct' | 'fanout' | 'topic' | 'headers' | (string & {});

/** The schema option of {@link Channel.declareExchange} and {@link Channel.exchange}. */
export interface ExchangeSchemaOption<S extends Schema | undefined = undefined> {
  /**
   * A zod schema every message published here must match: `publish` then
   * accepts only the schema's input type, and rejects with a
   * `MessageValidationError` before sending anything that does not match.
   */
  schema?: S;
}

/**
 * Options of {@link Channel.exchange}: the schema, and what you know of the
 * exchange. The rest only describe it: they are kept on the handle
 * ({@link Exchange.type}, {@link Exchange.durable}, …) and never sent.
 */
export interface ExchangeHandleOptions<S extends Schema | undefined = undefined>
  extends ExchangeSchemaOption<S> {
  /** The exchange's type, as you know it; never sent. @default undefined */
  type?: ExchangeType;
  /** Whether it is durable, as you know it; never sent. @default undefined */
  durable?: boolean;
  /** Whether it is auto-delete, as you know it; never sent. @default undefined */
  autoDelete?: boolean;
  /** Whether it is internal, as you know it; never sent. @default undefined */
  internal?: boolean;
  /** Its arguments, as you know them; never sent. @default undefined */
  arguments?: FieldTable;
}

/** Options of {@link Channel.declareExchange}. */
export interface ExchangeOptions<S extends Schema | undefined = undefined>
  extends ExchangeSchemaOption<S>,
    SignalOptions {
  /** Survives a broker restart. @default true */
  durable?: boolean;
  /** Deleted when its last binding is removed. @default false */
  autoDelete?: boolean;
  /** Only other exchanges can publish to it. @default false */
  internal?: boolean;
  /** Only check that it exists (404 closes the channel when it does not). @default false */
  passive?: boolean;
  /** Extra arguments, such as `alternate-exchange`. @default {} */
  arguments?: FieldTable;
  /** Aborts the declaration. */
  signal?: AbortSignal;
}

/** Options of {@link Exchange.publish}. */
export interface PublishOptions extends SignalOptions {
  /**
   * Ask the broker to return the message when no queue receives it, rather
   * than drop it. With confirms, `publish` then rejects with a
   * `MessageReturnedError`; without, the channel's return handler (or
   * `return` event) gets it, and with neither a process warning
   * (`WARREN_UNHANDLED_RETURN`) says so, once per exchange and routing key.
   * `false` lets the broker drop it silently.
   * @default true
   */
  mandatory?: boolean;
  /**
   * Aborts the publish: before it is sent, nothing is sent; after, the wait
   * for the confirm (or for the socket) ends with an `AbortError`, and the
   * message's fate is unknown.
   */
  signal?: AbortSignal;
}

/** Options of {@link Queue.bind} and {@link Exchange.bind}. */
export interface BindOptions extends SignalOptions {
  /**
   * The binding's arguments: for a headers exchange, the headers to match
   * and `x-match` (`all` or `any`).
   * @default {}
   */
  arguments?: FieldTable;
}

/** Options of {@link QueueBinding.unbind} and {@link ExchangeBinding.unbind}. */
export type UnbindOptions = SignalOptions;

/** Options of {@link Exchange.delete}. */
export interface ExchangeDeleteOptions extends SignalOptions {
  /**
   * Only if no queue or exchange is bound to it: else the broker refuses
   * (406 PRECONDITION_FAILED closes the channel). `false` deletes it and
   * its bindings.
   * @default true
   */
  ifUnused?: boolean;
}

/** @internal The options {@link Queue.bind} and {@link Exchange.bind} take: a misplaced field table is refused. */
export const BIND_OPTIONS: readonly string[] = ['arguments', 'signal'];

/**
 * An exchange on a channel. Messages are published to exchanges, which
 * route them to bound queues (and exchanges) by routing key or headers.
 * `T` is what {@link Exchange.publish} accepts: the input type of the
 * exchange's schema, or `unknown` without one.
 */
export class Exchange<T = unknown> {
  /** The channel that declared this handle. */
  readonly channel: Channel;
  /** The exchange's name; `''` is the default exchange. */
  readonly name: string;
  /**
   * The type it was declared with. On a handle from {@link Channel.exchange}
   * (or a passive declare), what its options said, else undefined; so for
   * the fields below.
   */
  readonly type: ExchangeType | undefined;
  /** Whether it was declared durable. */
  readonly durable: boolean | undefined;
  /** Whether it was declared auto-delete. */
  readonly autoDelete: boolean | undefined;
  /** Whether it was declared internal. */
  readonly internal: boolean | undefined;
  /** The arguments it was declared with. */
  readonly arguments: FieldTable | undefined;
  /** The schema published messages must match, if any. */
  readonly schema: Schema | undefined;
  #lastArgs: MethodArgs<'basic.publish'> | undefined;

  /** @internal Use {@link Channel.declareExchange} or {@link Channel.exchange}. */
  static create<T>(
    channel: Channel,
    name: string,
    declaration: ExchangeHandleOptions<Schema | undefined>,
  ): Exchange<T> {
    return new Exchange<T>(channel, name, declaration);
  }

  private constructor(
    channel: Channel,
    name: string,
    declaration: ExchangeHandleOptions<Schema | undefined>,
  ) {
    this.channel = channel;
    this.name = name;
    this.type = declaration.type;
    this.durable = declaration.durable;
    this.autoDelete = declaration.autoDelete;
    this.internal = declaration.internal;
    this.arguments = declaration.arguments;
    this.schema = declaration.schema;
  }

  /**
   * Publishes a message. Pass a {@link Message}, or a body (bytes, a string,
   * or a value to send as JSON). With a schema, the value is checked first.
   *
   * Resolves, on a confirm channel, when the broker has taken responsibility
   * for the message; otherwise once the socket accepts more data.
   * @throws RangeError for a routing key over 255 bytes, before anything is sent
   * @throws MessageValidationError when the value does not match the schema, before anything is sent
   * @throws PublishNackedError / MessageReturnedError on a confirm channel
   * @throws AbortError when `options.signal` aborts
   */
  publish(message: T | Message<T>, routingKey = '', options?: PublishOptions): Promise<void> {
    // Not an async function: on the hot path (a live channel, no signal) the engine's promise is
    // returned as it is, one promise per publish, and none at all without confirms.
    try {
      checkShortString(routingKey, 'routing key');
      checkOptions(options, 'publish');
      const signal = options?.signal;
      throwIfAborted(signal, 'publish');
      let body: Buffer;
      let properties: MessageProperties;
      if (this.schema === undefined && Buffer.isBuffer(message)) {
        // Bytes as they are, with no properties: nothing to make a Message of.
        body = message;
        properties = NO_PROPERTIES;
      } else {
        ({ body, properties } = this.#outgoing(message));
      }
      const args = this.#publishArgs(routingKey, options?.mandatory ?? true);
      if (isTraced(publishChannel)) return this.#publishTraced(args, properties, body, signal);
      return this.#send(args, properties, body, signal);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Sends at once on a live channel, else once it is (recovered, unblocked), within the limits. */
  #send(
    args: MethodArgs<'basic.publish'>,
    properties: MessageProperties,
    body: Buffer,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { channel } = this;
    if (channel.isLive && signal === undefined) {
      return channel.engine.publish(args, properties, body);
    }
    return this.#publishWhenLive(args, properties, body, signal);
  }

  /**
   * A publish someone traces (`warren:publish`): the message goes out with
   * the headers as the `start` subscribers left them, a copy of its own.
   */
  #publishTraced(
    args: MethodArgs<'basic.publish'>,
    properties: MessageProperties,
    body: Buffer,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const diagnostic = new Publishing(this.channel, args, properties, body.length);
    const { headers } = diagnostic;
    // Runs after `start`: the subscribers have added what they add.
    const send = () => {
      const sent =
        properties.headers === undefined && Object.keys(headers).length === 0
          ? properties
          : { ...properties, headers };
      return this.#send(args, sent, body, signal);
    };
    return traceAsync(publishChannel, diagnostic, send);
  }

  /** The `basic.publish` arguments, the same object again while the routing key and flag repeat. */
  #publishArgs(routingKey: string, mandatory: boolean): MethodArgs<'basic.publish'> {
    const last = this.#lastArgs;
    if (last !== undefined && last.routingKey === routingKey && last.mandatory === mandatory) {
      return last;
    }
    const args = Object.freeze({ exchange: this.name, routingKey, mandatory, immediate: false });
    this.#lastArgs = args;
    return args;
  }

  /** The message to send: validated against the schema (and then sent as JSON), or made from the body. */
  #outgoing(message: T | Message<T>): Message<T> {
    if (this.schema === undefined) {
      return message instanceof Message ? message : new Message(message);
    }
    // The input is what travels, as JSON: the consumer's schema parses it and applies any transform.
    const value = message instanceof Message ? message.data : message;
    validate(
      this.schema,
      value,
      `the message for exchange '${this.name}' does not match its schema`,
    );
    return Message.asJson(message);
  }

  /** A publish that may wait: for recovery (or the broker to unblock us), or with a signal. */
  async #publishWhenLive(
    args: MethodArgs<'basic.publish'>,
    properties: MessageProperties,
    body: Buffer,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const { channel } = this;
    // While the connection recovers (or the broker blocks it), wait within the recovery's limits.
    const engine = channel.isLive ? channel.engine : await channel.live(body.length, true, signal);
    const sent = engine.publish(args, properties, body, signal);
    await (signal === undefined ? sent : waitWithin(sent, { signal }, 'publish'));
  }

  /**
   * Binds this exchange to `source`: messages published to `source` that
   * match `routingKey` (or, from a headers exchange, `options.arguments`)
   * flow on to this exchange.
   * @throws TypeError for an option it does not know, such as a field table passed as the options
   */
  async bind(
    source: Exchange | string,
    routingKey = '',
    options: BindOptions = {},
  ): Promise<ExchangeBinding> {
    if (typeof source === 'string') checkShortString(source, 'source exchange name');
    checkShortString(routingKey, 'routing key');
    checkOptions(options, 'exchange.bind', BIND_OPTIONS);
    const from = typeof source === 'string' ? this.channel.exchange(source) : source;
    const args = options.arguments ?? {};
    const binding = ExchangeBinding.create(from, this as Exchange, routingKey, args);
    await this.channel.call('exchange.bind', binding.bindArgs(), { signal: options.signal });
    this.channel.connection.topology.addExchangeBinding(binding);
    return binding;
  }

  /**
   * Deletes the exchange, by default only if no queue or exchange is bound
   * to it (`ifUnused`; else 406 PRECONDITION_FAILED closes the channel).
   */
  async delete(options: ExchangeDeleteOptions = {}): Promise<void> {
    checkOptions(options, 'exchange.delete');
    await this.channel.call(
      'exchange.delete',
      { exchange: this.name, ifUnused: options.ifUnused ?? true, nowait: false },
      { signal: options.signal },
    );
    this.channel.connection.topology.removeExchange(this.name);
  }
}

/** A binding from a source exchange to a destination exchange, made by {@link Exchange.bind}. */
export class ExchangeBinding {
  /**
   * The exchange messages flow from: the one passed to {@link Exchange.bind},
   * or a handle ({@link Channel.exchange}) when it was given by name.
   */
  readonly source: Exchange;
  /** The exchange messages flow to. */
  readonly destination: Exchange;
  /** The routing key (pattern) of the binding. */
  readonly routingKey: string;
  /** The binding's arguments (for a headers exchange, what to match). */
  readonly arguments: FieldTable;

  /** @internal Use {@link Exchange.bind}. */
  static create(
    source: Exchange,
    destination: Exchange,
    routingKey: string,
    args: FieldTable,
  ): ExchangeBinding {
    return new ExchangeBinding(source, destination, routingKey, args);
  }

  private constructor(
    source: Exchange,
    destination: Exchange,
    routingKey: string,
    args: FieldTable,
  ) {
    this.source = source;
    this.destination = destination;
    this.routingKey = routingKey;
    this.arguments = args;
  }

  /** Removes the binding. */
  async unbind(options: UnbindOptions = {}): Promise<void> {
    checkOptions(options, 'unbind');
    const { channel } = this.destination;
    await channel.call('exchange.unbind', this.bindArgs(), { signal: options.signal });
    channel.connection.topology.removeExchangeBinding(this);
  }

  /** @internal The `exchange.bind` (and `exchange.unbind`) arguments. */
  bindArgs(): MethodArgs<'exchange.bind'> {
    return {
      destination: this.destination.name,
      source: this.source.name,
      routingKey: this.routingKey,
      nowait: false,
      arguments: this.arguments,
    };
  }
}
