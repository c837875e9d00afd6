/**
 * Applying a contract: declaring what it (or the part a service uses)
 * needs on a connection or a channel, through the public entity API (so
 * that connection recovery declares it all again), and handing back typed
 * handles for its routes.
 */
import { Channel, type CloseOptions, type SignalOptions } from '../channel.js';
import { Connection } from '../connection.js';
import { ChannelError } from '../errors.js';
import type { Exchange } from '../exchange.js';
import type { Queue } from '../queue.js';
import type { Schema } from '../schema.js';
import { type RetryPolicy, retry } from '../workers/retry.js';
import type { Contract, ContractParts } from './contract.js';
import { ConsumerHandle, PublisherHandle, RpcHandle } from './handles.js';
import type {
  ConsumerDefinition,
  ExchangeDefinition,
  MessageDefinition,
  PublisherDefinition,
  QueueDefinition,
  RpcDefinition,
} from './model.js';
import { type Declarations, Needs } from './needs.js';

/** The names of the entries of part `K` of a contract's parts (`never` when it has none). */
export type ContractPartNames<P extends ContractParts, K extends keyof ContractParts> = P extends {
  readonly [Key in K]: infer R;
}
  ? keyof R & string
  : never;

/** The definition under `N` in part `K` of a contract's parts. */
export type ContractPartEntry<
  P extends ContractParts,
  K extends keyof ContractParts,
  N,
> = P extends {
  readonly [Key in K]: infer R;
}
  ? N extends keyof R
    ? R[N]
    : never
  : never;

/** The names of a contract's publishers. */
export type PublisherName<P extends ContractParts> = ContractPartNames<P, 'publishers'>;
/** The names of a contract's consumers. */
export type ConsumerName<P extends ContractParts> = ContractPartNames<P, 'consumers'>;
/** The names of a contract's request/reply endpoints. */
export type RpcName<P extends ContractParts> = ContractPartNames<P, 'rpc'>;

/** The handles of the publishers named `K`, by name. */
export type PublisherHandles<
  P extends ContractParts,
  K extends PublisherName<P> = PublisherName<P>,
> = {
  readonly [N in K]: ContractPartEntry<P, 'publishers', N> extends PublisherDefinition<infer M>
    ? PublisherHandle<M>
    : never;
};

/** The handles of the consumers named `K`, by name. */
export type ConsumerHandles<
  P extends ContractParts,
  K extends ConsumerName<P> = ConsumerName<P>,
> = {
  readonly [N in K]: ContractPartEntry<P, 'consumers', N> extends ConsumerDefinition<infer M>
    ? ConsumerHandle<M>
    : never;
};

/** The handles of the request/reply endpoints named `K`, by name. */
export type RpcHandles<P extends ContractParts, K extends RpcName<P> = RpcName<P>> = {
  readonly [N in K]: ContractPartEntry<P, 'rpc', N> extends RpcDefinition<infer Req, infer Res>
    ? RpcHandle<Req, Res>
    : never;
};

/** An `Exchange` handle for each exchange the contract names, by its name in the contract. */
export type ExchangeHandles<P extends ContractParts> = {
  readonly [N in ContractPartNames<P, 'exchanges'>]: Exchange;
};

/** A `Queue` handle for each queue the contract names, by its name in the contract. */
export type QueueHandles<P extends ContractParts> = {
  readonly [N in ContractPartNames<P, 'queues'>]: Queue;
};

/**
 * Options of a partial `contract.apply()`: the routes a service uses, by
 * name. Only what they need is declared, and only their handles are made.
 * A list left out applies none of its kind.
 */
export interface ApplyOptions<
  P extends ContractParts = ContractParts,
  Pub extends PublisherName<P> = PublisherName<P>,
  Con extends ConsumerName<P> = ConsumerName<P>,
  Rpc extends RpcName<P> = RpcName<P>,
> extends SignalOptions {
  /** The publishers to apply: each needs its exchange (or, publishing to a queue, that queue). */
  publishers?: readonly Pub[];
  /** The consumers to apply: each needs its queue, and what the queue needs. */
  consumers?: readonly Con[];
  /** The request/reply endpoints to apply (to call or to serve): each needs its queue. */
  rpc?: readonly Rpc[];
  /** Aborts the declarations (what was declared stays declared). */
  signal?: AbortSignal;
}

const APPLY_KEYS = ['publishers', 'consumers', 'rpc', 'signal'];

/**
 * A contract applied on a channel, made by `contract.apply()`: typed
 * handles for the routes applied, and entity handles for the contract's
 * exchanges and queues. Every handle works on {@link AppliedContract.channel};
 * an RPC endpoint's `call` on a channel of its own.
 */
export class AppliedContract<
  P extends ContractParts = ContractParts,
  Pub extends PublisherName<P> = PublisherName<P>,
  Con extends ConsumerName<P> = ConsumerName<P>,
  Rpc extends RpcName<P> = RpcName<P>,
> {
  /** The contract applied. */
  readonly contract: Contract<P>;
  /**
   * The channel the handles publish and consume on: the one given to
   * `apply`, or, given a connection, one it opened with publisher confirms
   * and `reopen: true`, which {@link AppliedContract.close} closes.
   */
  readonly channel: Channel;
  /** A handle for each publisher applied, by its name in the contract. */
  readonly publishers: PublisherHandles<P, Pub>;
  /** A handle for each consumer applied, by its name in the contract. */
  readonly consumers: ConsumerHandles<P, Con>;
  /** A handle for each request/reply endpoint applied, by its name in the contract. */
  readonly rpc: RpcHandles<P, Rpc>;
  /**
   * An `Exchange` for each exchange the contract names (in `exchanges`), by
   * that name: the declared one, or, for one a partial apply did not
   * declare, a handle that declares nothing (as `channel.exchange(name)`).
   */
  readonly exchanges: ExchangeHandles<P>;
  /** A `Queue` for each queue the contract names (in `queues`), as {@link AppliedContract.exchanges}. */
  readonly queues: QueueHandles<P>;
  readonly #ownsChannel: boolean;

  /** @internal Made by `contract.apply()`. */
  constructor(
    contract: Contract<P>,
    channel: Channel,
    ownsChannel: boolean,
    handles: Pick<
      AppliedContract<P, Pub, Con, Rpc>,
      'publishers' | 'consumers' | 'rpc' | 'exchanges' | 'queues'
    >,
  ) {
    this.contract = contract;
    this.channel = channel;
    this.#ownsChannel = ownsChannel;
    this.publishers = handles.publishers;
    this.consumers = handles.consumers;
    this.rpc = handles.rpc;
    this.exchanges = handles.exchanges;
    this.queues = handles.queues;
  }

  /**
   * Closes what `apply` opened: the RPC clients the endpoints' calls
   * opened, and the channel when `apply` was given a connection (its
   * consumers stop first, as `channel.close()` says). A channel given to
   * `apply` stays open. What was declared stays declared.
   */
  async close(options: CloseOptions = {}): Promise<void> {
    const endpoints = Object.values(this.rpc) as RpcHandle[];
    await Promise.all(endpoints.map((endpoint) => endpoint.close()));
    if (this.#ownsChannel) await this.channel.close(options);
  }

  /** Closes what `apply` opened, for `await using applied = …`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** The routes chosen, by kind; `undefined` for a full apply. */
interface Chosen {
  readonly publishers: readonly string[];
  readonly consumers: readonly string[];
  readonly rpc: readonly string[];
}

/**
 * @internal `contract.apply(target, options)`: declares, in dependency
 * order, what the contract (or the routes `options` names) needs, then
 * makes the handles.
 * @throws TypeError for a target that is neither a Connection nor a
 *   Channel, bad options, a route name the contract does not have, or
 *   retry settings `retry()` refuses; before anything is sent
 * @throws ChannelError naming the contract entity the broker refused
 */
export async function applyContract(
  contract: Contract,
  target: Connection | Channel,
  options: unknown,
): Promise<AppliedContract> {
  if (!(target instanceof Connection) && !(target instanceof Channel)) {
    throw new TypeError(
      `contract.apply needs a Connection or a Channel, got ${target === null ? 'null' : typeof target}`,
    );
  }
  const chosen = chooseRoutes(contract.parts, options);
  const { parts } = contract;
  const publishers = pick(parts.publishers, chosen?.publishers);
  const consumers = pick(parts.consumers, chosen?.consumers);
  const endpoints = pick(parts.rpc, chosen?.rpc);
  const declarations = chosen === undefined ? Needs.all(contract) : needed(contract, chosen);
  // Checked before anything is sent: retry() refuses bad settings with a TypeError or RangeError.
  const policies = new Map<QueueDefinition, RetryPolicy>();
  for (const [, consumer] of consumers) {
    const settings = consumer.queue.retry;
    if (settings !== undefined && !policies.has(consumer.queue)) {
      policies.set(consumer.queue, retry(settings));
    }
  }

  const signal = (options as ApplyOptions | undefined)?.signal;
  const owned = target instanceof Connection;
  const channel = owned
    ? await target.openChannel({ confirm: true, reopen: true, ...(signal && { signal }) })
    : target;
  let declared: Declared;
  try {
    declared = await declare(channel, declarations, signal);
  } catch (error) {
    if (owned) await channel.close().catch(() => {});
    throw error;
  }

  const queueHandle = (queue: QueueDefinition, schema?: Schema): Queue => {
    const found = declared.queues.get(queue);
    if (found !== undefined && schema === undefined) return found;
    return channel.queue(queue.name, { ...queueSettings(queue), ...(schema && { schema }) });
  };
  const handles = {
    publishers: fromEntries(
      publishers.map(([name, definition]) => new PublisherHandle(name, definition, channel)),
    ),
    consumers: fromEntries(
      consumers.map(([name, definition]) => {
        const { messages } = definition;
        const single = Array.isArray(messages) ? undefined : (messages as MessageDefinition);
        const queue = queueHandle(definition.queue, single?.schema);
        return new ConsumerHandle(name, definition, queue, policies.get(definition.queue));
      }),
    ),
    rpc: fromEntries(
      endpoints.map(([name, definition]) => {
        const { request, reply } = definition;
        const queue = queueHandle(definition.queue, request.schema);
        const open = () =>
          channel.connection.rpcClient({
            requestSchema: request.schema,
            replySchema: reply.schema,
          });
        return new RpcHandle(name, definition, queue, open);
      }),
    ),
    exchanges: byName(
      Object.entries(parts.exchanges ?? {}).map(([name, exchange]) => [
        name,
        declared.exchanges.get(exchange) ??
          channel.exchange(exchange.name, { type: exchange.type, ...exchangeSettings(exchange) }),
      ]),
    ),
    queues: byName(
      Object.entries(parts.queues ?? {}).map(([name, queue]) => [name, queueHandle(queue)]),
    ),
  };
  // Made by name at run time: their types come from the contract's parts (and the routes chosen).
  return new AppliedContract(contract, channel, owned, handles as never);
}

/** The routes `options` chooses, checked; `undefined` when it chooses none (a full apply). */
function chooseRoutes(parts: ContractParts, options: unknown): Chosen | undefined {
  if (options === undefined) return undefined;
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(
      `the options of contract.apply must be an object, got ${options === null ? 'null' : Array.isArray(options) ? 'an array' : typeof options}`,
    );
  }
  for (const key of Object.keys(options)) {
    if (!APPLY_KEYS.includes(key)) {
      throw new TypeError(
        `contract.apply has no option '${key}' (it takes ${APPLY_KEYS.join(', ')})`,
      );
    }
  }
  const given = options as ApplyOptions;
  if (given.signal !== undefined && !(given.signal instanceof AbortSignal)) {
    throw new TypeError('contract.apply: signal must be an AbortSignal');
  }
  if (given.publishers === undefined && given.consumers === undefined && given.rpc === undefined) {
    return undefined;
  }
  return {
    publishers: routeNames(given.publishers, parts.publishers, 'publisher', 'publishers'),
    consumers: routeNames(given.consumers, parts.consumers, 'consumer', 'consumers'),
    rpc: routeNames(given.rpc, parts.rpc, 'rpc endpoint', 'rpc'),
  };
}

/** The names in a route list, each checked to name a route of the contract. */
function routeNames(
  names: unknown,
  routes: Readonly<Record<string, unknown>> | undefined,
  what: string,
  option: string,
): readonly string[] {
  if (names === undefined) return [];
  if (!Array.isArray(names)) {
    throw new TypeError(`contract.apply: ${option} must be an array of route names`);
  }
  const known = Object.keys(routes ?? {});
  for (const name of names) {
    if (typeof name !== 'string' || !Object.hasOwn(routes ?? {}, name)) {
      const shown = typeof name === 'string' ? `'${name}'` : typeof name;
      const list = known.length === 0 ? 'none' : known.map((route) => `'${route}'`).join(', ');
      throw new TypeError(`contract.apply: the contract has no ${what} ${shown} (it has ${list})`);
    }
  }
  return [...new Set(names as string[])];
}

/** The entries of a part of the contract: those named in `names`, or all of them. */
function pick<D>(
  part: Readonly<Record<string, D>> | undefined,
  names: readonly string[] | undefined,
): [string, D][] {
  const entries = Object.entries(part ?? {});
  return names === undefined ? entries : entries.filter(([name]) => names.includes(name));
}

/** What the chosen routes need. */
function needed(contract: Contract, chosen: Chosen): Declarations {
  const needs = new Needs(contract);
  const { parts } = contract;
  for (const [, publisher] of pick(parts.publishers, chosen.publishers)) {
    if (publisher.exchange !== undefined) needs.exchange(publisher.exchange);
    else needs.queue(publisher.queue as QueueDefinition);
  }
  for (const [, consumer] of pick(parts.consumers, chosen.consumers)) needs.queue(consumer.queue);
  for (const [, endpoint] of pick(parts.rpc, chosen.rpc)) needs.queue(endpoint.queue);
  return needs.declarations();
}

/** The handles of what was declared, by definition. */
interface Declared {
  readonly exchanges: Map<ExchangeDefinition, Exchange>;
  readonly queues: Map<QueueDefinition, Queue>;
}

/**
 * Declares `declarations` on `channel`, in order: exchanges, exchange
 * bindings, queues, queue bindings. Each through the entity API, which
 * records it for connection recovery.
 * @throws ChannelError naming the contract entity the broker refused
 */
async function declare(
  channel: Channel,
  declarations: Declarations,
  signal: AbortSignal | undefined,
): Promise<Declared> {
  const withSignal = signal === undefined ? {} : { signal };
  const exchanges = new Map<ExchangeDefinition, Exchange>();
  const queues = new Map<QueueDefinition, Queue>();
  for (const exchange of declarations.exchanges) {
    const declaredExchange = await refusal(`exchange '${exchange.name}'`, () =>
      channel.declareExchange(exchange.name, exchange.type, {
        ...exchangeSettings(exchange),
        ...withSignal,
      }),
    );
    exchanges.set(exchange, declaredExchange);
  }
  const exchangeOf = (definition: ExchangeDefinition) => exchanges.get(definition) as Exchange;
  for (const binding of declarations.exchangeBindings) {
    const { destination, source, routingKey } = binding;
    await refusal(
      `binding of exchange '${destination.name}' to exchange '${source.name}' (routing key '${routingKey}')`,
      () =>
        exchangeOf(destination).bind(exchangeOf(source), routingKey, {
          arguments: { ...binding.arguments },
          ...withSignal,
        }),
    );
  }
  for (const queue of declarations.queues) {
    const declaredQueue = await refusal(`queue '${queue.name}'`, () =>
      channel.declareQueue(queue.name, { ...queueSettings(queue), ...withSignal }),
    );
    queues.set(queue, declaredQueue);
  }
  for (const binding of declarations.queueBindings) {
    const { queue, exchange, routingKey } = binding;
    await refusal(
      `binding of queue '${queue.name}' to exchange '${exchange.name}' (routing key '${routingKey}')`,
      () =>
        (queues.get(queue) as Queue).bind(exchangeOf(exchange), routingKey, {
          arguments: { ...binding.arguments },
          ...withSignal,
        }),
    );
  }
  return { exchanges, queues };
}

/**
 * Runs the declaration of a contract entity; a refusal from the broker
 * becomes a ChannelError of the same code that names the entity.
 */
async function refusal<T>(entity: string, declaration: () => Promise<T>): Promise<T> {
  try {
    return await declaration();
  } catch (error) {
    if (!(error instanceof ChannelError) || error.replyCode === undefined) throw error;
    const { replyCode, replyText = '', classId = 0, methodId = 0 } = error;
    // 406 PRECONDITION_FAILED: it exists with other settings (arguments, durability, type).
    const what =
      replyCode === 406
        ? `contract ${entity} differs from the one on the broker`
        : `contract ${entity} was refused by the broker`;
    throw new ChannelError(
      error.code,
      `${what}: ${replyCode} ${replyText}`,
      { replyCode, replyText, classId, methodId },
      { cause: error },
    );
  }
}

/** What `declareExchange` takes of an exchange's definition, but its type. */
function exchangeSettings(exchange: ExchangeDefinition) {
  return {
    durable: exchange.durable,
    autoDelete: exchange.autoDelete,
    internal: exchange.internal,
    arguments: { ...exchange.arguments },
  };
}

/** What `declareQueue` takes of a queue's definition (its arguments: dead letters, type, …). */
function queueSettings(queue: QueueDefinition) {
  return {
    durable: queue.durable,
    exclusive: queue.exclusive,
    autoDelete: queue.autoDelete,
    arguments: { ...queue.arguments },
  };
}

/** An object of route handles by route name, frozen. */
function fromEntries<H extends { readonly name: string }>(handles: H[]): Record<string, H> {
  return byName(handles.map((handle) => [handle.name, handle]));
}

/** An object of handles by name, frozen. */
function byName<H>(entries: [string, H][]): Record<string, H> {
  return Object.freeze(Object.fromEntries(entries));
}
