/**
 * The pieces of a contract, as plain frozen data: exchanges, queues,
 * bindings, messages, and the routes that use them (publishers, consumers,
 * request/reply endpoints). Each piece refers to the others by object, so
 * TypeScript follows a message's schema from its definition to the handle
 * that publishes or consumes it. Nothing here opens a connection.
 */
import type { ExchangeType } from '../exchange.js';
import type { FieldTable } from '../fields.js';
import type { Schema } from '../schema.js';
import type { RetryOptions } from '../workers/retry.js';

/** Options of {@link defineExchange}: as `channel.declareExchange` takes them. */
export interface ExchangeDefinitionOptions {
  /** Survives a broker restart. @default true */
  durable?: boolean;
  /** Deleted when its last binding is removed. @default false */
  autoDelete?: boolean;
  /** Only other exchanges can publish to it. @default false */
  internal?: boolean;
  /** Extra arguments, such as `alternate-exchange`. @default {} */
  arguments?: FieldTable;
  /** What it is for, in the AsyncAPI document. */
  description?: string;
}

/** An exchange of a contract, made by {@link defineExchange}. */
export interface ExchangeDefinition {
  /** What the definition is: `'exchange'`. */
  readonly kind: 'exchange';
  /** Its name on the broker; never `''` (the default exchange needs no definition). */
  readonly name: string;
  /** Its type: `direct`, `fanout`, `topic`, `headers`, or a plugin's. */
  readonly type: ExchangeType;
  /** Whether it survives a broker restart. */
  readonly durable: boolean;
  /** Whether it is deleted when its last binding is removed. */
  readonly autoDelete: boolean;
  /** Whether only other exchanges can publish to it. */
  readonly internal: boolean;
  /** Its extra arguments (`alternate-exchange`, …). */
  readonly arguments: Readonly<FieldTable>;
  /** What it is for, in the AsyncAPI document. */
  readonly description: string | undefined;
}

/** Where a queue's dead letters go: an exchange of the contract, and the routing key to use. */
export interface DeadLetterDefinition {
  /** The dead-letter exchange: sets the queue's `x-dead-letter-exchange` argument. */
  readonly exchange: ExchangeDefinition;
  /**
   * Sets the queue's `x-dead-letter-routing-key` argument.
   * @default the key each message was published with
   */
  readonly routingKey?: string;
}

/** Options of {@link defineQueue}. */
export interface QueueDefinitionOptions {
  /** Sets `x-queue-type`. @default 'classic' (no argument) */
  type?: 'classic' | 'quorum' | 'stream';
  /** Survives a broker restart. @default true, except for an exclusive queue */
  durable?: boolean;
  /** Used by one connection only, deleted when it closes. @default false */
  exclusive?: boolean;
  /** Deleted when its last consumer is cancelled. @default false */
  autoDelete?: boolean;
  /** Extra arguments (`x-message-ttl`, `x-max-length`, …). @default {} */
  arguments?: FieldTable;
  /** Where its dead letters go; sets the dead-letter arguments. */
  deadLetter?: DeadLetterDefinition;
  /**
   * Retries for its consumers, as the workers' `retry()` takes them: a
   * consumer of the contract uses them unless it is given its own
   * `onFailure`. Without them, failed messages are dead-lettered.
   */
  retry?: RetryOptions;
  /** What it is for, in the AsyncAPI document. */
  description?: string;
}

/** A queue of a contract, made by {@link defineQueue}. */
export interface QueueDefinition {
  /** What the definition is: `'queue'`. */
  readonly kind: 'queue';
  /** Its name on the broker; never `''` (a contract names its queues). */
  readonly name: string;
  /** Whether it survives a broker restart. */
  readonly durable: boolean;
  /** Whether one connection only uses it (and it is deleted when that closes). */
  readonly exclusive: boolean;
  /** Whether it is deleted when its last consumer is cancelled. */
  readonly autoDelete: boolean;
  /** All its arguments, `x-queue-type` and the dead-letter ones included. */
  readonly arguments: Readonly<FieldTable>;
  /** Where its dead letters go, if it says. */
  readonly deadLetter: DeadLetterDefinition | undefined;
  /** The retries its consumers make (the workers' `retry()`), if any. */
  readonly retry: Readonly<RetryOptions> | undefined;
  /** What it is for, in the AsyncAPI document. */
  readonly description: string | undefined;
}

/** Options of {@link defineMessage}. */
export interface MessageDefinitionOptions {
  /** A one-line summary, in the AsyncAPI document. */
  summary?: string;
  /** What it means, in the AsyncAPI document. */
  description?: string;
}

/**
 * A kind of message, made by {@link defineMessage}: a JSON body checked by
 * `schema`, published with its `name` as the `type` property.
 */
export interface MessageDefinition<N extends string = string, S extends Schema = Schema> {
  /** What the definition is: `'message'`. */
  readonly kind: 'message';
  /** The `type` property it travels with; how a consumer of several kinds tells them apart. */
  readonly name: N;
  /** The zod schema of its JSON body: publishers take its input type, consumers get its output. */
  readonly schema: S;
  /** A one-line summary, in the AsyncAPI document. */
  readonly summary: string | undefined;
  /** What it means, in the AsyncAPI document. */
  readonly description: string | undefined;
}

/** Options of {@link defineBinding} and {@link defineExchangeBinding}. */
export interface BindingDefinitionOptions {
  /** Binding arguments: a headers exchange's `x-match` and the headers to match. @default {} */
  arguments?: FieldTable;
}

/** A queue bound to an exchange, made by {@link defineBinding}. */
export interface QueueBindingDefinition {
  /** What the definition is: `'queueBinding'`. */
  readonly kind: 'queueBinding';
  /** The queue that receives. */
  readonly queue: QueueDefinition;
  /** The exchange it receives from. */
  readonly exchange: ExchangeDefinition;
  /** The routing key (a pattern, for a topic exchange). */
  readonly routingKey: string;
  /** The binding's arguments (a headers exchange's `x-match` and headers). */
  readonly arguments: Readonly<FieldTable>;
}

/** An exchange bound to another, made by {@link defineExchangeBinding}. */
export interface ExchangeBindingDefinition {
  /** What the definition is: `'exchangeBinding'`. */
  readonly kind: 'exchangeBinding';
  /** The exchange that receives. */
  readonly destination: ExchangeDefinition;
  /** The exchange that forwards what matches. */
  readonly source: ExchangeDefinition;
  /** The routing key (a pattern, for a topic source). */
  readonly routingKey: string;
  /** The binding's arguments (a headers source's `x-match` and headers). */
  readonly arguments: Readonly<FieldTable>;
}

/** Either kind of binding. */
export type BindingDefinition = QueueBindingDefinition | ExchangeBindingDefinition;

/** Options of {@link definePublisher}, {@link defineConsumer} and {@link defineRpc}. */
export interface RouteDefinitionOptions {
  /** What it is for, in the AsyncAPI document. */
  description?: string;
}

/**
 * A publishing route, made by {@link definePublisher}: one kind of message
 * to an exchange with a routing key, or to a queue (through the default
 * exchange, whose `exchange` is then `undefined`).
 */
export interface PublisherDefinition<M extends MessageDefinition = MessageDefinition> {
  /** What the definition is: `'publisher'`. */
  readonly kind: 'publisher';
  /** The exchange; `undefined` for the default exchange (to {@link PublisherDefinition.queue}). */
  readonly exchange: ExchangeDefinition | undefined;
  /** The queue published to through the default exchange, if that is the route. */
  readonly queue: QueueDefinition | undefined;
  /** The routing key (the queue's name, through the default exchange). */
  readonly routingKey: string;
  /** The kind of message it publishes. */
  readonly message: M;
  /** What it is for, in the AsyncAPI document. */
  readonly description: string | undefined;
}

/**
 * A consuming route, made by {@link defineConsumer}: a queue, and the kind
 * of message it carries, or several kinds (told apart by their `type`).
 */
export interface ConsumerDefinition<
  M extends MessageDefinition | readonly MessageDefinition[] =
    | MessageDefinition
    | readonly MessageDefinition[],
> {
  /** What the definition is: `'consumer'`. */
  readonly kind: 'consumer';
  /** The queue it consumes. */
  readonly queue: QueueDefinition;
  /** The kind of message it receives, or the kinds (an array), told apart by `type`. */
  readonly messages: M;
  /** What it is for, in the AsyncAPI document. */
  readonly description: string | undefined;
}

/** A request/reply endpoint, made by {@link defineRpc}: requests to a queue, replies back. */
export interface RpcDefinition<
  Req extends MessageDefinition = MessageDefinition,
  Res extends MessageDefinition = MessageDefinition,
> {
  /** What the definition is: `'rpc'`. */
  readonly kind: 'rpc';
  /** The queue requests go to, and the server consumes. */
  readonly queue: QueueDefinition;
  /** The kind of message a request is. */
  readonly request: Req;
  /** The kind of message a reply is. */
  readonly reply: Res;
  /** What it is for, in the AsyncAPI document. */
  readonly description: string | undefined;
}

/**
 * Defines an exchange of a contract.
 *
 * ```ts
 * const orders = defineExchange('orders', 'topic');
 * ```
 * @throws TypeError|RangeError for a bad name, type or option
 */
export function defineExchange(
  name: string,
  type: ExchangeType,
  options: ExchangeDefinitionOptions = {},
): ExchangeDefinition {
  checkName(name, 'defineExchange: name');
  if (name === '') {
    throw new RangeError(
      'defineExchange: name is empty; the default exchange needs no definition (definePublisher(queue, message) publishes through it)',
    );
  }
  checkName(type, 'defineExchange: type');
  if (type === '') throw new RangeError('defineExchange: type is empty');
  checkKeys(options, 'defineExchange', [
    'durable',
    'autoDelete',
    'internal',
    'arguments',
    'description',
  ]);
  return Object.freeze({
    kind: 'exchange',
    name,
    type,
    durable: flag(options.durable, true, 'defineExchange: durable'),
    autoDelete: flag(options.autoDelete, false, 'defineExchange: autoDelete'),
    internal: flag(options.internal, false, 'defineExchange: internal'),
    arguments: table(options.arguments, 'defineExchange: arguments'),
    description: text(options.description, 'defineExchange: description'),
  });
}

/**
 * Defines a queue of a contract.
 *
 * ```ts
 * const work = defineQueue('orders.work', {
 *   type: 'quorum',
 *   deadLetter: { exchange: ordersDead },
 *   retry: { delays: [1_000, 10_000] },
 * });
 * ```
 * @throws TypeError|RangeError for a bad name or option
 */
export function defineQueue(name: string, options: QueueDefinitionOptions = {}): QueueDefinition {
  checkName(name, 'defineQueue: name');
  if (name === '') {
    throw new RangeError('defineQueue: name is empty; a contract names its queues');
  }
  checkKeys(options, 'defineQueue', [
    'type',
    'durable',
    'exclusive',
    'autoDelete',
    'arguments',
    'deadLetter',
    'retry',
    'description',
  ]);
  const { type, deadLetter } = options;
  if (type !== undefined && type !== 'classic' && type !== 'quorum' && type !== 'stream') {
    throw new TypeError(
      `defineQueue: type must be 'classic', 'quorum' or 'stream', not ${describe(type)}`,
    );
  }
  const exclusive = flag(options.exclusive, false, 'defineQueue: exclusive');
  const args: FieldTable = { ...table(options.arguments, 'defineQueue: arguments') };
  if (type !== undefined && type !== 'classic') args['x-queue-type'] = type;
  if (deadLetter !== undefined) {
    checkKeys(deadLetter, 'defineQueue: deadLetter', ['exchange', 'routingKey']);
    requireDefinition(deadLetter.exchange, 'exchange', 'defineQueue: deadLetter.exchange');
    args['x-dead-letter-exchange'] = deadLetter.exchange.name;
    if (deadLetter.routingKey !== undefined) {
      checkName(deadLetter.routingKey, 'defineQueue: deadLetter.routingKey');
      args['x-dead-letter-routing-key'] = deadLetter.routingKey;
    }
  }
  if (
    options.retry !== undefined &&
    (typeof options.retry !== 'object' || options.retry === null)
  ) {
    throw new TypeError('defineQueue: retry must be the options retry() takes');
  }
  return Object.freeze({
    kind: 'queue',
    name,
    durable: flag(options.durable, !exclusive, 'defineQueue: durable'),
    exclusive,
    autoDelete: flag(options.autoDelete, false, 'defineQueue: autoDelete'),
    arguments: Object.freeze(args),
    deadLetter: deadLetter === undefined ? undefined : Object.freeze({ ...deadLetter }),
    retry: options.retry === undefined ? undefined : Object.freeze({ ...options.retry }),
    description: text(options.description, 'defineQueue: description'),
  });
}

/**
 * Defines a kind of message: its name (the `type` property it travels
 * with) and the zod schema of its JSON body.
 *
 * ```ts
 * const orderCreated = defineMessage('order.created', z.object({ id: z.number() }));
 * ```
 * @throws TypeError|RangeError for a bad name, schema or option
 */
export function defineMessage<const N extends string, S extends Schema>(
  name: N,
  schema: S,
  options: MessageDefinitionOptions = {},
): MessageDefinition<N, S> {
  checkName(name, 'defineMessage: name');
  if (name === '') throw new RangeError('defineMessage: name is empty');
  if (!isSchema(schema)) throw new TypeError('defineMessage: schema must be a zod schema');
  checkKeys(options, 'defineMessage', ['summary', 'description']);
  return Object.freeze({
    kind: 'message',
    name,
    schema,
    summary: text(options.summary, 'defineMessage: summary'),
    description: text(options.description, 'defineMessage: description'),
  });
}

/**
 * Defines a binding of a queue to an exchange (as `queue.bind(exchange,
 * routingKey)` makes one).
 * @throws TypeError for a piece that is not a definition, or a bad key
 */
export function defineBinding(
  queue: QueueDefinition,
  exchange: ExchangeDefinition,
  routingKey = '',
  options: BindingDefinitionOptions = {},
): QueueBindingDefinition {
  requireDefinition(queue, 'queue', 'defineBinding: queue');
  requireDefinition(exchange, 'exchange', 'defineBinding: exchange');
  checkName(routingKey, 'defineBinding: routingKey');
  checkKeys(options, 'defineBinding', ['arguments']);
  return Object.freeze({
    kind: 'queueBinding',
    queue,
    exchange,
    routingKey,
    arguments: table(options.arguments, 'defineBinding: arguments'),
  });
}

/**
 * Defines a binding of an exchange to another (as `destination.bind(source,
 * routingKey)` makes one): what `source` receives and matches goes on to
 * `destination`.
 * @throws TypeError for a piece that is not a definition, or a bad key
 */
export function defineExchangeBinding(
  destination: ExchangeDefinition,
  source: ExchangeDefinition,
  routingKey = '',
  options: BindingDefinitionOptions = {},
): ExchangeBindingDefinition {
  requireDefinition(destination, 'exchange', 'defineExchangeBinding: destination');
  requireDefinition(source, 'exchange', 'defineExchangeBinding: source');
  checkName(routingKey, 'defineExchangeBinding: routingKey');
  checkKeys(options, 'defineExchangeBinding', ['arguments']);
  return Object.freeze({
    kind: 'exchangeBinding',
    destination,
    source,
    routingKey,
    arguments: table(options.arguments, 'defineExchangeBinding: arguments'),
  });
}

/**
 * Defines a publishing route: `message` to `exchange` with `routingKey`,
 * or, given a queue, to that queue through the default exchange.
 *
 * ```ts
 * definePublisher(orders, 'order.created', orderCreated);
 * definePublisher(work, orderCreated); // straight to the queue
 * ```
 * @throws TypeError for a piece that is not a definition, or a bad key
 */
export function definePublisher<M extends MessageDefinition>(
  exchange: ExchangeDefinition,
  routingKey: string,
  message: M,
  options?: RouteDefinitionOptions,
): PublisherDefinition<M>;
export function definePublisher<M extends MessageDefinition>(
  queue: QueueDefinition,
  message: M,
  options?: RouteDefinitionOptions,
): PublisherDefinition<M>;
export function definePublisher<M extends MessageDefinition>(
  target: ExchangeDefinition | QueueDefinition,
  second: string | M,
  third?: M | RouteDefinitionOptions,
  fourth?: RouteDefinitionOptions,
): PublisherDefinition<M> {
  let exchange: ExchangeDefinition | undefined;
  let queue: QueueDefinition | undefined;
  let routingKey: string;
  let message: unknown;
  let options: unknown;
  if (isDefinition(target, 'exchange')) {
    exchange = target;
    checkName(second, 'definePublisher: routingKey');
    routingKey = second;
    message = third;
    options = fourth;
  } else if (isDefinition(target, 'queue')) {
    queue = target;
    routingKey = target.name;
    message = second;
    options = third;
  } else {
    throw new TypeError(
      'definePublisher: the first argument must be an exchange (defineExchange) or a queue (defineQueue)',
    );
  }
  requireDefinition(message, 'message', 'definePublisher: message');
  return Object.freeze({
    kind: 'publisher',
    exchange,
    queue,
    routingKey,
    message: message as M,
    description: routeDescription(options, 'definePublisher'),
  });
}

/**
 * Defines a consuming route: `queue` and the kind of message it carries, or
 * an array of kinds, which the consumer tells apart by their `type` property
 * (a handler per kind).
 *
 * ```ts
 * defineConsumer(work, orderCreated);
 * defineConsumer(events, [orderCreated, orderCancelled]);
 * ```
 * @throws TypeError|RangeError for a piece that is not a definition, or two kinds of one name
 */
export function defineConsumer<const M extends MessageDefinition | readonly MessageDefinition[]>(
  queue: QueueDefinition,
  messages: M,
  options?: RouteDefinitionOptions,
): ConsumerDefinition<M> {
  requireDefinition(queue, 'queue', 'defineConsumer: queue');
  const kinds: readonly unknown[] = Array.isArray(messages) ? messages : [messages];
  if (kinds.length === 0) throw new RangeError('defineConsumer: the array of messages is empty');
  const names = new Set<string>();
  for (const [index, kind] of kinds.entries()) {
    requireDefinition(
      kind,
      'message',
      `defineConsumer: messages${Array.isArray(messages) ? `[${index}]` : ''}`,
    );
    if (names.has(kind.name)) {
      throw new RangeError(`defineConsumer: two messages are named '${kind.name}'`);
    }
    names.add(kind.name);
  }
  return Object.freeze({
    kind: 'consumer',
    queue,
    messages: (Array.isArray(messages) ? Object.freeze([...messages]) : messages) as M,
    description: routeDescription(options, 'defineConsumer'),
  });
}

/**
 * Defines a request/reply endpoint: requests of one kind to `queue`,
 * answered with replies of another.
 * @throws TypeError for a piece that is not a definition
 */
export function defineRpc<Req extends MessageDefinition, Res extends MessageDefinition>(
  queue: QueueDefinition,
  request: Req,
  reply: Res,
  options?: RouteDefinitionOptions,
): RpcDefinition<Req, Res> {
  requireDefinition(queue, 'queue', 'defineRpc: queue');
  requireDefinition(request, 'message', 'defineRpc: request');
  requireDefinition(reply, 'message', 'defineRpc: reply');
  return Object.freeze({
    kind: 'rpc',
    queue,
    request,
    reply,
    description: routeDescription(options, 'defineRpc'),
  });
}

/** Whether `value` is a definition of `kind` (made by one of the functions above). */
export function isDefinition<K extends Definition['kind']>(
  value: unknown,
  kind: K,
): value is Extract<Definition, Record<'kind', K>> {
  return typeof value === 'object' && value !== null && (value as { kind?: unknown }).kind === kind;
}

/** What each kind of definition {@link requireDefinition} checks is, and what makes one. */
const MADE_BY = {
  exchange: 'an exchange from defineExchange',
  queue: 'a queue from defineQueue',
  message: 'a message from defineMessage',
} as const;

/**
 * Checks that `value` is a definition of `kind`; `what` names the argument
 * in the error (`'defineBinding: queue'`).
 * @throws TypeError when it is not
 */
function requireDefinition<K extends keyof typeof MADE_BY>(
  value: unknown,
  kind: K,
  what: string,
): asserts value is Extract<Definition, Record<'kind', K>> {
  if (!isDefinition(value, kind)) throw new TypeError(`${what} must be ${MADE_BY[kind]}`);
}

/** Every piece a contract is made of. */
export type Definition =
  | ExchangeDefinition
  | QueueDefinition
  | MessageDefinition
  | BindingDefinition
  | PublisherDefinition
  | ConsumerDefinition
  | RpcDefinition;

// ---------------------------------------------------------------------------------------------
// Checks of what callers hand in
// ---------------------------------------------------------------------------------------------

function describe(value: unknown): string {
  if (typeof value === 'string') return `'${value.length > 64 ? `${value.slice(0, 64)}…` : value}'`;
  if (value === null) return 'null';
  return typeof value;
}

/** A name or key: a string of at most 255 UTF-8 bytes (an AMQP short string). */
function checkName(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string')
    throw new TypeError(`${what} must be a string, not ${describe(value)}`);
  if (Buffer.byteLength(value) > 255) {
    throw new RangeError(`${what} is longer than 255 bytes (an AMQP short string)`);
  }
}

function checkKeys(options: unknown, what: string, known: readonly string[]): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`${what}: options must be an object, not ${describe(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${what}: unknown option '${key}' (known: ${known.join(', ')})`);
    }
  }
}

function flag(value: unknown, fallback: boolean, what: string): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean')
    throw new TypeError(`${what} must be a boolean, not ${describe(value)}`);
  return value;
}

function text(value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string')
    throw new TypeError(`${what} must be a string, not ${describe(value)}`);
  return value;
}

/** A field table, copied and frozen (its values are checked when it is declared). */
function table(value: unknown, what: string): Readonly<FieldTable> {
  if (value === undefined) return Object.freeze({});
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${what} must be an object (a field table), not ${describe(value)}`);
  }
  return Object.freeze({ ...(value as FieldTable) });
}

function routeDescription(options: unknown, what: string): string | undefined {
  if (options === undefined) return undefined;
  checkKeys(options, what, ['description']);
  return text((options as RouteDefinitionOptions).description, `${what}: description`);
}

/** A zod schema, as far as a contract needs one: it parses. */
function isSchema(value: unknown): value is Schema {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { safeParse?: unknown }).safeParse === 'function'
  );
}
