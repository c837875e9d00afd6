/**
 * The typed handles an applied contract gives its routes: a publisher's
 * `publish`, a consumer's `consume`, an endpoint's `call` and `serve`. Each
 * is a thin layer over the handles the client already has (an exchange
 * handle, a queue handle with a schema, `byType`, an RPC client), set up
 * once, so that a message costs what it costs through those.
 */
import type { Channel } from '../channel.js';
import type { ConsumeCallback, ConsumeOptions, Consumer } from '../consumer.js';
import type { Exchange, PublishOptions } from '../exchange.js';
import { Message, type MessageProperties } from '../message.js';
import type { Queue } from '../queue.js';
import type { RpcCallOptions, RpcClient } from '../rpc-client.js';
import type { RpcHandler, ServeOptions } from '../rpc-server.js';
import {
  MessageValidationError,
  type Schema,
  type SchemaInput,
  type SchemaOutput,
} from '../schema.js';
import { byType, type TypeHandlers } from '../workers/by-type.js';
import type { RetryPolicy } from '../workers/retry.js';
import type {
  ConsumerDefinition,
  MessageDefinition,
  PublisherDefinition,
  RpcDefinition,
} from './model.js';

const JSON_TYPE = 'application/json';

/** Options of {@link PublisherHandle.publish}. */
export interface ContractPublishOptions extends PublishOptions {
  /**
   * Properties of the message (`messageId`, `headers`, `priority`, …).
   * `type` is the message's name and `contentType` JSON: a `type` naming
   * another message is a TypeError.
   * @default {}
   */
  properties?: MessageProperties;
}

/**
 * Publishes one route's kind of message, made by applying a contract
 * (`applied.publishers.orderCreated`).
 */
export class PublisherHandle<M extends MessageDefinition = MessageDefinition> {
  /** The route's name in the contract. */
  readonly name: string;
  /** The route, as the contract defines it. */
  readonly definition: PublisherDefinition<M>;
  /** The exchange it publishes to: the default exchange (`''`) for a route to a queue. */
  readonly exchange: Exchange;
  /** The routing key every message goes with: the route's (a queue's name, to a queue). */
  readonly routingKey: string;
  /** `type` and `contentType`, one object for every message published without properties. */
  readonly #properties: MessageProperties;
  readonly #schema: Schema;
  readonly #invalid: string;

  /** @internal Made by `contract.apply()`. */
  constructor(name: string, definition: PublisherDefinition<M>, channel: Channel) {
    this.name = name;
    this.definition = definition;
    const { exchange } = definition;
    // A handle of its own: an exchange handle reuses its publish arguments while the key repeats.
    this.exchange =
      exchange === undefined
        ? channel.exchange('')
        : channel.exchange(exchange.name, {
            type: exchange.type,
            durable: exchange.durable,
            autoDelete: exchange.autoDelete,
            internal: exchange.internal,
            arguments: { ...exchange.arguments },
          });
    this.routingKey = definition.routingKey;
    this.#schema = definition.message.schema;
    this.#properties = Object.freeze({ contentType: JSON_TYPE, type: definition.message.name });
    this.#invalid = `the message '${definition.message.name}' of publisher '${name}' does not match its schema`;
  }

  /**
   * Publishes `value`: checked against the message's schema, sent as JSON
   * with `type` set to the message's name, to the route's exchange (or
   * queue) and routing key. On the channel `apply` opened (confirm mode),
   * it resolves when the broker has taken the message, and rejects when it
   * nacks it or (mandatory, by default) no queue takes it.
   * @throws MessageValidationError when `value` does not match the schema, before anything is sent
   * @throws TypeError for a `type` property naming another message, or a value with no JSON form
   * @throws PublishNackedError / MessageReturnedError on a confirm channel
   */
  publish(value: SchemaInput<M['schema']>, options?: ContractPublishOptions): Promise<void> {
    try {
      const checked = this.#schema.safeParse(value);
      if (!checked.success) {
        throw new MessageValidationError(this.#invalid, checked.error.issues, {
          cause: checked.error,
        });
      }
      const given = options?.properties;
      const properties = given === undefined ? this.#properties : this.#withType(given);
      // The input is what travels: the consumer's schema parses it and applies any transform.
      return this.exchange.publish(jsonMessage(value, properties), this.routingKey, options);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** The caller's properties, with the message's `type` and (unless set) JSON's content type. */
  #withType(given: MessageProperties): MessageProperties {
    const type = this.definition.message.name;
    if (given.type !== undefined && given.type !== type) {
      throw new TypeError(
        `publisher '${this.name}' publishes '${type}' messages, not '${given.type}': leave type out of the properties`,
      );
    }
    const properties: MessageProperties = { contentType: JSON_TYPE, ...given };
    properties.contentType ??= JSON_TYPE;
    properties.type = type;
    return properties;
  }
}

/** A message of `value` as JSON; a string or bytes too, which a Message would send as they are. */
function jsonMessage(value: unknown, properties: MessageProperties): Message {
  if (typeof value === 'string' || value instanceof Uint8Array) {
    return new Message(Buffer.from(JSON.stringify(value), 'utf8'), properties);
  }
  return new Message(value, properties);
}

/** The kinds of a consumer of several messages, by name: the map `byType` routes by. */
export type MessageKinds<M extends readonly MessageDefinition[]> = {
  readonly [D in M[number] as D['name']]: D['schema'];
};

/**
 * What a consumer's handler receives in `message.data`: the message's
 * output type; `unknown` for a consumer of several kinds, whose handlers
 * each receive their own.
 */
export type ConsumedData<M extends MessageDefinition | readonly MessageDefinition[]> = [M] extends [
  MessageDefinition,
]
  ? SchemaOutput<M['schema']>
  : unknown;

/**
 * What {@link ConsumerHandle.consume} takes: for one kind of message, a
 * consume callback receiving its output type; for several, a handler for
 * each kind, by message name (all of them: one missing is a type error).
 */
export type ContractHandler<M extends MessageDefinition | readonly MessageDefinition[]> = [
  M,
] extends [readonly MessageDefinition[]]
  ? TypeHandlers<MessageKinds<M>>
  : ConsumeCallback<ConsumedData<M>>;

/**
 * Options of {@link ConsumerHandle.consume}: those of `queue.consume()`.
 * Without `onFailure`, the queue's `retry` settings apply (the workers'
 * `retry()`), else failed messages are retried once then dead-lettered.
 */
export type ContractConsumeOptions<M extends MessageDefinition | readonly MessageDefinition[]> =
  ConsumeOptions<ConsumedData<M>>;

/**
 * Consumes one route's queue, made by applying a contract
 * (`applied.consumers.processOrder`).
 */
export class ConsumerHandle<
  M extends MessageDefinition | readonly MessageDefinition[] =
    | MessageDefinition
    | readonly MessageDefinition[],
> {
  /** The route's name in the contract. */
  readonly name: string;
  /** The route, as the contract defines it. */
  readonly definition: ConsumerDefinition<M>;
  /**
   * The queue it consumes: for one kind of message, a handle with the
   * message's schema (messages are checked, `data` typed); for several,
   * without (each kind's schema checks its messages).
   */
  readonly queue: Queue<ConsumedData<M>>;
  /** The workers' `retry()` of the queue's `retry` settings, if it has them. */
  readonly retry: RetryPolicy<ConsumedData<M>> | undefined;

  /** @internal Made by `contract.apply()`. */
  constructor(
    name: string,
    definition: ConsumerDefinition<M>,
    queue: Queue<ConsumedData<M>>,
    retry: RetryPolicy<ConsumedData<M>> | undefined,
  ) {
    this.name = name;
    this.definition = definition;
    this.queue = queue;
    this.retry = retry;
  }

  /**
   * Starts a consumer of the route's queue. For one kind of message,
   * `handler` receives `IncomingMessage<output type>`; a message whose body
   * does not match is rejected without requeue (dead-lettered) and reported
   * by the consumer's `invalid` event. For several kinds, give a handler
   * for each, by message name: each message goes to the handler its `type`
   * names, checked by that kind's schema; a message of another type (or of
   * none) is refused as an invalid one (see `byType`).
   *
   * `options` are `queue.consume()`'s; without `onFailure`, the queue's
   * `retry` settings apply.
   * @throws TypeError for a handler that is not a function (one kind) or
   *   not an object of functions, one per kind (several)
   */
  async consume(
    handler: ContractHandler<M>,
    options: ContractConsumeOptions<M> = {},
  ): Promise<Consumer<ConsumedData<M>>> {
    const { messages } = this.definition;
    const callback = Array.isArray(messages)
      ? (byType(
          kindsOf(messages),
          handler as TypeHandlers<Record<string, Schema>>,
        ) as ConsumeCallback<ConsumedData<M>>)
      : (handler as ConsumeCallback<ConsumedData<M>>);
    const { retry } = this;
    const withPolicy =
      retry === undefined || options.onFailure !== undefined
        ? options
        : { ...options, onFailure: retry };
    return this.queue.consume(callback, withPolicy);
  }
}

/** The map of kinds `byType` takes, from a consumer's messages. */
function kindsOf(messages: readonly MessageDefinition[]): Record<string, Schema> {
  const kinds: Record<string, Schema> = {};
  for (const message of messages) kinds[message.name] = message.schema;
  return kinds;
}

/** Options of {@link RpcHandle.call}: those of `RpcClient.call`, but the route sets the exchange. */
export type ContractCallOptions = Omit<RpcCallOptions, 'exchange'>;

/** Options of {@link RpcHandle.serve}: those of `queue.serve()`, but the route sets the reply schema. */
export type ContractServeOptions = Omit<ServeOptions, 'replySchema'>;

/**
 * Both sides of one request/reply endpoint, made by applying a contract
 * (`applied.rpc.quote`): {@link RpcHandle.call} sends a request and
 * resolves with the reply; {@link RpcHandle.serve} answers requests.
 */
export class RpcHandle<
  Req extends MessageDefinition = MessageDefinition,
  Res extends MessageDefinition = MessageDefinition,
> {
  /** The endpoint's name in the contract. */
  readonly name: string;
  /** The endpoint, as the contract defines it. */
  readonly definition: RpcDefinition<Req, Res>;
  /** The queue requests go to, with the request's schema: what {@link RpcHandle.serve} consumes. */
  readonly queue: Queue<SchemaOutput<Req['schema']>>;
  readonly #open: () => Promise<RpcClient<SchemaInput<Req['schema']>, SchemaOutput<Res['schema']>>>;
  #client: RpcClient<SchemaInput<Req['schema']>, SchemaOutput<Res['schema']>> | undefined;
  #opening: Promise<RpcClient<SchemaInput<Req['schema']>, SchemaOutput<Res['schema']>>> | undefined;
  /** What every call without options sends: the request's `type`. */
  readonly #callOptions: RpcCallOptions;

  /**
   * @internal Made by `contract.apply()`; `open` opens the RPC client (on a
   * channel of its own) at the first call.
   */
  constructor(
    name: string,
    definition: RpcDefinition<Req, Res>,
    queue: Queue<SchemaOutput<Req['schema']>>,
    open: () => Promise<RpcClient<SchemaInput<Req['schema']>, SchemaOutput<Res['schema']>>>,
  ) {
    this.name = name;
    this.definition = definition;
    this.queue = queue;
    this.#open = open;
    this.#callOptions = Object.freeze({
      properties: Object.freeze({ type: definition.request.name }),
    });
  }

  /**
   * Sends `request` (checked against the request's schema, with `type` set
   * to its name) to the endpoint's queue and resolves with the reply,
   * checked against the reply's schema. The first call opens the RPC client
   * (a channel of its own, with its reply consumer).
   * @throws MessageValidationError when the request or the reply does not match its schema
   * @throws RemoteError when the serving handler failed
   * @throws TimeoutError when no reply came in time (30 s unless `options.timeout`)
   * @throws MessageReturnedError (`NO_ROUTE`) when the queue does not exist
   */
  call(
    request: SchemaInput<Req['schema']>,
    options?: ContractCallOptions,
  ): Promise<SchemaOutput<Res['schema']>> {
    try {
      const callOptions = options === undefined ? this.#callOptions : this.#withType(options);
      const client = this.#client;
      if (client !== undefined) return client.call(this.queue.name, request, callOptions);
      return this.#opened().then((opened) => opened.call(this.queue.name, request, callOptions));
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /**
   * Serves the endpoint: `handler` receives each request (`data` of the
   * request's output type) and returns the reply (the reply's input type),
   * checked against the reply's schema before it is sent. See `queue.serve()`.
   * @returns the consumer; cancel it to stop serving
   */
  serve(
    handler: RpcHandler<SchemaOutput<Req['schema']>, SchemaInput<Res['schema']>>,
    options: ContractServeOptions = {},
  ): Promise<Consumer<SchemaOutput<Req['schema']>>> {
    if ('replySchema' in options) {
      return Promise.reject(
        new TypeError(`rpc '${this.name}' serve: the contract gives the reply schema`),
      );
    }
    return this.queue.serve(handler, { ...options, replySchema: this.definition.reply.schema });
  }

  /** @internal Closes the RPC client, if a call opened it. */
  async close(): Promise<void> {
    const opening = this.#opening;
    this.#opening = undefined;
    this.#client = undefined;
    if (opening !== undefined) await (await opening.catch(() => undefined))?.close();
  }

  /** The RPC client, opened once. */
  #opened(): Promise<RpcClient<SchemaInput<Req['schema']>, SchemaOutput<Res['schema']>>> {
    if (this.#opening === undefined) {
      const opening = this.#open();
      this.#opening = opening;
      opening.then(
        (client) => {
          if (this.#opening === opening) this.#client = client;
        },
        () => {
          // A failed open is tried again at the next call.
          if (this.#opening === opening) this.#opening = undefined;
        },
      );
    }
    return this.#opening;
  }

  /** The caller's options, with the request's `type` among its properties. */
  #withType(options: ContractCallOptions): RpcCallOptions {
    if (typeof options !== 'object' || options === null) return options;
    if ('exchange' in options) {
      throw new TypeError(`rpc '${this.name}' call: the contract routes requests to its queue`);
    }
    const type = this.definition.request.name;
    const given = options.properties;
    if (given?.type !== undefined && given.type !== type) {
      throw new TypeError(
        `rpc '${this.name}' sends '${type}' requests, not '${given.type}': leave type out of the properties`,
      );
    }
    return { ...options, properties: { ...given, type } };
  }
}
