/**
 * A contract: the pieces of lib/contract/model.ts gathered under names, as
 * one value a shared package can export. Defining it opens no connection.
 */
import type { Channel, SignalOptions } from '../channel.js';
import type { Connection } from '../connection.js';
import {
  type AppliedContract,
  type ApplyOptions,
  applyContract,
  type ConsumerName,
  type PublisherName,
  type RpcName,
} from './apply.js';
import { checkContract } from './check.js';
import type {
  BindingDefinition,
  ConsumerDefinition,
  ExchangeDefinition,
  MessageDefinition,
  PublisherDefinition,
  QueueDefinition,
  RpcDefinition,
} from './model.js';
import type { ContractWarning } from './warnings.js';

/** What the AsyncAPI document says of the system. */
export interface ContractInfo {
  /** The system's name. */
  title: string;
  /** The contract's version. @default '1.0.0' */
  version?: string;
  /** What the system does. */
  description?: string;
}

/** What {@link defineContract} takes: each piece under the name its handle gets. */
export interface ContractParts {
  /** What the AsyncAPI document says of the system. */
  readonly info?: ContractInfo;
  /** Every exchange the contract's bindings, routes and dead letters use. */
  readonly exchanges?: Readonly<Record<string, ExchangeDefinition>>;
  /** Every queue the contract's bindings and routes use. */
  readonly queues?: Readonly<Record<string, QueueDefinition>>;
  /** The bindings between them. */
  readonly bindings?: readonly BindingDefinition[];
  /** Kinds of message; those the routes use are included without being listed. */
  readonly messages?: Readonly<Record<string, MessageDefinition>>;
  /** Publishing routes, by the name of their handle. */
  readonly publishers?: Readonly<Record<string, PublisherDefinition>>;
  /** Consuming routes, by the name of their handle. */
  readonly consumers?: Readonly<Record<string, ConsumerDefinition>>;
  /** Request/reply endpoints, by the name of their handle. */
  readonly rpc?: Readonly<Record<string, RpcDefinition>>;
}

/**
 * A contract, made by {@link defineContract}: the parts as given, and the
 * pieces gathered, each once.
 */
export class Contract<P extends ContractParts = ContractParts> {
  /** The parts, as given to {@link defineContract}. */
  readonly parts: P;
  /** What the AsyncAPI document says of the system. */
  readonly info: Readonly<ContractInfo> | undefined;
  /** Every exchange, once. */
  readonly exchanges: readonly ExchangeDefinition[];
  /** Every queue, once. */
  readonly queues: readonly QueueDefinition[];
  /** Every binding. */
  readonly bindings: readonly BindingDefinition[];
  /** Every kind of message, listed or used by a route, once. */
  readonly messages: readonly MessageDefinition[];
  /**
   * What the checks found that may be right (another service may complete
   * the topology) but usually is a mistake, such as a publisher whose
   * routing key reaches no queue. Empty when there is nothing to say; a
   * test can assert that it stays empty.
   */
  readonly warnings: readonly ContractWarning[];

  /** @internal Use {@link defineContract}. */
  constructor(parts: P) {
    // Throws for a contract that does not hold together; pieces of one name then agree.
    this.warnings = checkContract(parts);
    this.parts = parts;
    this.info = parts.info === undefined ? undefined : Object.freeze({ ...parts.info });
    this.exchanges = Object.freeze(unique(Object.values(parts.exchanges ?? {})));
    this.queues = Object.freeze(unique(Object.values(parts.queues ?? {})));
    this.bindings = Object.freeze([...(parts.bindings ?? [])]);
    this.messages = Object.freeze(
      unique([...Object.values(parts.messages ?? {}), ...routeMessages(parts)]),
    );
    Object.freeze(this);
  }

  /**
   * Applies the whole contract on `target`: declares its exchanges, the
   * bindings between exchanges, its queues (with their dead-letter and
   * other arguments), then the queue bindings, each unless it exists with
   * the same settings; then returns the typed handles of every route.
   * Idempotent. Declared through the entity API, so connection recovery
   * declares it all again.
   *
   * Given a connection, it opens a channel for the handles, with publisher
   * confirms (a publish resolves once the broker has the message) and
   * `reopen: true`; given a channel, the handles use it as it is (open it
   * with `{ confirm: true }` for confirms).
   *
   * ```ts
   * const shop = await contract.apply(connection);
   * await shop.publishers.orderCreated.publish({ id: 42 });
   * ```
   * @throws TypeError for a target that is neither a Connection nor a Channel, before anything is sent
   * @throws ChannelError (code `PRECONDITION_FAILED` when an entity exists
   *   with other settings) whose message names the contract entity; it closed
   *   the channel, and the connection stays usable
   */
  apply(target: Connection | Channel, options?: SignalOptions): Promise<AppliedContract<P>>;
  /**
   * Applies the routes a service uses (`{ publishers: ['orderCreated'] }`):
   * declares only what they need, and returns only their handles. See
   * {@link ApplyOptions} for what each route needs.
   * @throws TypeError for a route name the contract does not have, before anything is sent
   */
  apply<
    const Pub extends PublisherName<P> = never,
    const Con extends ConsumerName<P> = never,
    const Rpc extends RpcName<P> = never,
  >(
    target: Connection | Channel,
    options: ApplyOptions<P, Pub, Con, Rpc>,
  ): Promise<AppliedContract<P, Pub, Con, Rpc>>;
  apply(target: Connection | Channel, options?: unknown): Promise<AppliedContract<P>> {
    return applyContract(this as Contract, target, options) as Promise<never>;
  }
}

/**
 * Defines a contract: the exchanges, queues, bindings and kinds of message
 * of a system, and the named routes that use them.
 *
 * The contract is checked at once (docs/contracts.md, "Checks"): every
 * exchange and queue a binding, route or dead-letter setting uses must be
 * among `exchanges` and `queues`, two definitions of one name must agree,
 * and no publisher may publish to an internal exchange, no headers binding
 * have an `x-match` RabbitMQ refuses. What may be right but usually is a
 * mistake lands in {@link Contract.warnings}.
 *
 * ```ts
 * export const shop = defineContract({
 *   exchanges: { orders },
 *   queues: { work },
 *   bindings: [defineBinding(work, orders, 'order.created')],
 *   publishers: { orderCreated: definePublisher(orders, 'order.created', orderCreated) },
 *   consumers: { processOrder: defineConsumer(work, orderCreated) },
 * });
 * ```
 * @throws TypeError when `parts`, or a piece in it, is not what its place holds
 * @throws RangeError listing every problem that makes the contract inconsistent
 */
export function defineContract<const P extends ContractParts>(parts: P): Contract<P> {
  if (typeof parts !== 'object' || parts === null || Array.isArray(parts)) {
    throw new TypeError('defineContract takes an object of parts');
  }
  return new Contract(parts);
}

/** The messages each route uses, in order. */
function routeMessages(parts: ContractParts): MessageDefinition[] {
  const found: MessageDefinition[] = [];
  for (const publisher of Object.values(parts.publishers ?? {})) found.push(publisher.message);
  for (const consumer of Object.values(parts.consumers ?? {})) {
    const { messages } = consumer;
    if (Array.isArray(messages)) found.push(...(messages as readonly MessageDefinition[]));
    else found.push(messages as MessageDefinition);
  }
  for (const endpoint of Object.values(parts.rpc ?? {}))
    found.push(endpoint.request, endpoint.reply);
  return found;
}

/** Each piece once (the first of its name: the checks made sure others agree), in order. */
function unique<T extends { readonly name: string }>(items: readonly T[]): T[] {
  const byName = new Map<string, T>();
  for (const item of items) if (!byName.has(item.name)) byName.set(item.name, item);
  return [...byName.values()];
}
