import type { Channel } from './channel.js';
import { Message } from './message.js';
import type { FieldTable } from './protocol/field-types.js';
import { checkShortString } from './validate.js';

/** The exchange types RabbitMQ ships, or a plugin's type by name. */
export type ExchangeType = 'direct' | 'fanout' | 'topic' | 'headers' | (string & {});

/** Options of {@link Channel.declareExchange}. */
export interface ExchangeOptions {
  /** Survives a broker restart. @default false */
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
export interface PublishOptions {
  /**
   * Ask the broker to return the message when no queue receives it. With
   * confirms, `publish` then rejects with a `MessageReturnedError`; without,
   * the channel's return handler gets it.
   * @default false
   */
  mandatory?: boolean;
}

/**
 * An exchange on a channel. Messages are published to exchanges, which
 * route them to bound queues (and exchanges) by routing key or headers.
 */
export class Exchange {
  /** The channel that declared this handle. */
  readonly channel: Channel;
  /** The exchange's name; `''` is the default exchange. */
  readonly name: string;
  /** The type it was declared with; undefined for a handle from {@link Channel.exchange}. */
  readonly type: ExchangeType | undefined;

  /** @internal */
  constructor(channel: Channel, name: string, type: ExchangeType | undefined) {
    this.channel = channel;
    this.name = name;
    this.type = type;
  }

  /**
   * Publishes a message. Pass a {@link Message}, or a body (bytes, a string,
   * or a value to send as JSON).
   *
   * Resolves, on a confirm channel, when the broker has taken responsibility
   * for the message; otherwise once the socket accepts more data.
   * @throws RangeError for a routing key over 255 bytes, before anything is sent
   * @throws PublishNackedError / MessageReturnedError on a confirm channel
   */
  async publish(
    message: Message | unknown,
    routingKey = '',
    options: PublishOptions = {},
  ): Promise<void> {
    checkShortString(routingKey, 'routing key');
    const outgoing = message instanceof Message ? message : new Message(message);
    await this.channel.engine.publish(
      {
        exchange: this.name,
        routingKey,
        mandatory: options.mandatory ?? false,
        immediate: false,
      },
      outgoing.properties,
      outgoing.body,
    );
  }

  /**
   * Binds this exchange to `source`: messages published to `source` that
   * match `routingKey` (or the header `args`) flow on to this exchange.
   */
  async bind(
    source: Exchange | string,
    routingKey = '',
    args: FieldTable = {},
    signal?: AbortSignal,
  ): Promise<ExchangeBinding> {
    const sourceName = typeof source === 'string' ? source : source.name;
    checkShortString(sourceName, 'source exchange name');
    checkShortString(routingKey, 'routing key');
    await this.channel.engine.call(
      'exchange.bind',
      { destination: this.name, source: sourceName, routingKey, nowait: false, arguments: args },
      { signal },
    );
    return new ExchangeBinding(this, sourceName, routingKey, args);
  }

  /**
   * Deletes the exchange.
   * @param options.ifUnused - only if it has no bindings (else 406 closes the channel)
   */
  async delete(options: { ifUnused?: boolean; signal?: AbortSignal } = {}): Promise<void> {
    await this.channel.engine.call(
      'exchange.delete',
      { exchange: this.name, ifUnused: options.ifUnused ?? false, nowait: false },
      { signal: options.signal },
    );
  }
}

/** A binding from a source exchange to a destination exchange, made by {@link Exchange.bind}. */
export class ExchangeBinding {
  /** The exchange messages flow to. */
  readonly destination: Exchange;
  /** The name of the exchange messages flow from. */
  readonly source: string;
  /** The routing key (pattern) of the binding. */
  readonly routingKey: string;
  /** The binding's arguments (for a headers exchange, what to match). */
  readonly arguments: FieldTable;

  /** @internal */
  constructor(destination: Exchange, source: string, routingKey: string, args: FieldTable) {
    this.destination = destination;
    this.source = source;
    this.routingKey = routingKey;
    this.arguments = args;
  }

  /** Removes the binding. */
  async unbind(signal?: AbortSignal): Promise<void> {
    await this.destination.channel.engine.call(
      'exchange.unbind',
      {
        destination: this.destination.name,
        source: this.source,
        routingKey: this.routingKey,
        nowait: false,
        arguments: this.arguments,
      },
      { signal },
    );
  }
}
