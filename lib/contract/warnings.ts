/**
 * The warnings of a contract: what may be right, because another service
 * may complete the topology, but usually is a mistake. They are kept in
 * `contract.warnings`, never printed: a shared contract module would print
 * them in every service that imports it; a test asserts on them instead.
 */
import type { Entry } from './check.js';
import type { ContractParts } from './contract.js';
import type { ExchangeDefinition, MessageDefinition, QueueDefinition } from './model.js';
import { deadLetterRoutes, type RoutingTopology, reach, routingTopology } from './routing.js';

/**
 * What a {@link ContractWarning} found:
 *
 * - `PUBLISHER_UNROUTED`: a publisher's routing key reaches no queue of the
 *   contract, through the exchange's bindings, exchange-to-exchange bindings
 *   and alternate exchanges. RabbitMQ drops such a message (or returns it,
 *   published `mandatory`) unless another service binds a queue. Not raised
 *   when routing cannot be told: a headers exchange with header matches (a
 *   publisher's headers are not known), an exchange type of a plugin.
 * - `MESSAGE_UNHANDLED`: a publisher's messages certainly reach a queue
 *   whose consumer in the contract does not take their kind (their `type`):
 *   it would refuse them, and they would be dead-lettered.
 * - `DEAD_LETTER_UNROUTED`: a queue's dead-letter exchange (its
 *   `x-dead-letter-exchange`, or the exchange its `retry` options send
 *   messages out of retries to) reaches no queue of the contract: with the
 *   fixed dead-letter routing key, or, without one, with any key. What is
 *   dead-lettered there is dropped.
 * - `QUEUE_UNREACHED`: a consumer's queue that nothing in the contract
 *   routes to (no binding, no publisher or request/reply endpoint to it,
 *   no dead letters sent to it): only another service can fill it.
 */
export type ContractWarningCode =
  | 'PUBLISHER_UNROUTED'
  | 'MESSAGE_UNHANDLED'
  | 'DEAD_LETTER_UNROUTED'
  | 'QUEUE_UNREACHED';

/** A finding of the checks that is not an error: see {@link ContractWarningCode}. */
export interface ContractWarning {
  /** What was found. */
  readonly code: ContractWarningCode;
  /** Where, in the parts given to `defineContract`: `'publishers.orderCreated'`, `'queues.work'`. */
  readonly part: string;
  /** What was found, in a sentence that names the pieces. */
  readonly message: string;
}

/**
 * The warnings of a contract that holds together: its `parts`, and its
 * exchanges and queues, each once (queues by name, with where each was given).
 */
export function findWarnings(
  parts: ContractParts,
  exchanges: readonly ExchangeDefinition[],
  queues: ReadonlyMap<string, Entry<QueueDefinition>>,
): ContractWarning[] {
  const topology = routingTopology(
    exchanges,
    [...queues.values()].map((entry) => entry.definition),
    parts.bindings ?? [],
  );
  const warnings: ContractWarning[] = [];
  const routedTo = new Set<string>();
  warnings.push(...publisherWarnings(parts, topology, routedTo));
  warnings.push(...deadLetterWarnings(queues, topology, routedTo));
  warnings.push(...unreachedQueueWarnings(parts, routedTo));
  return warnings;
}

/**
 * `PUBLISHER_UNROUTED` and `MESSAGE_UNHANDLED`, publisher by publisher;
 * adds the queues each reaches to `routedTo`.
 */
function publisherWarnings(
  parts: ContractParts,
  topology: RoutingTopology,
  routedTo: Set<string>,
): ContractWarning[] {
  const warnings: ContractWarning[] = [];
  const consumers = Object.entries(parts.consumers ?? {});
  for (const [name, publisher] of Object.entries(parts.publishers ?? {})) {
    const part = `publishers.${name}`;
    const { exchange, queue, routingKey, message } = publisher;
    // A publisher to a queue goes through the default exchange, to that queue.
    const found =
      exchange === undefined
        ? { queues: new Set([queue?.name ?? routingKey]), uncertain: false }
        : reach(topology, exchange.name, routingKey);
    for (const reached of found.queues) routedTo.add(reached);
    if (exchange !== undefined && found.queues.size === 0 && !found.uncertain) {
      warnings.push({
        code: 'PUBLISHER_UNROUTED',
        part,
        message: `${part}: routing key '${routingKey}' on ${exchange.type} exchange '${exchange.name}' reaches no queue of the contract; RabbitMQ drops its messages unless another service binds a queue`,
      });
    }
    for (const [consumerName, consumer] of consumers) {
      if (!found.queues.has(consumer.queue.name)) continue;
      const kinds = messageNames(consumer.messages);
      if (kinds.includes(message.name)) continue;
      warnings.push({
        code: 'MESSAGE_UNHANDLED',
        part,
        message: `${part}: its '${message.name}' messages reach queue '${consumer.queue.name}', whose consumer consumers.${consumerName} takes only ${kinds.map((kind) => `'${kind}'`).join(', ')}`,
      });
    }
  }
  return warnings;
}

/** `DEAD_LETTER_UNROUTED`; adds the queues dead letters reach to `routedTo`. */
function deadLetterWarnings(
  queues: ReadonlyMap<string, Entry<QueueDefinition>>,
  topology: RoutingTopology,
  routedTo: Set<string>,
): ContractWarning[] {
  const warnings: ContractWarning[] = [];
  for (const { definition, part } of queues.values()) {
    for (const { exchange, routingKey, what } of deadLetterRoutes(definition)) {
      const found = reach(topology, exchange, routingKey);
      for (const queue of found.queues) routedTo.add(queue);
      if (found.queues.size > 0 || found.uncertain) continue;
      const target = exchange === '' ? 'the default exchange' : `'${exchange}'`;
      const withKey =
        routingKey === undefined ? 'with any routing key' : `with routing key '${routingKey}'`;
      warnings.push({
        code: 'DEAD_LETTER_UNROUTED',
        part,
        message: `${part}: ${what} ${target}, which reaches no queue of the contract ${withKey}; its dead letters are dropped`,
      });
    }
  }
  return warnings;
}

/**
 * `QUEUE_UNREACHED`, once per queue: a consumer's queue that is not in
 * `routedTo`, has no binding, and is no request/reply endpoint's.
 */
function unreachedQueueWarnings(parts: ContractParts, routedTo: Set<string>): ContractWarning[] {
  const fed = new Set(routedTo);
  for (const binding of parts.bindings ?? []) {
    if (binding.kind === 'queueBinding') fed.add(binding.queue.name);
  }
  for (const endpoint of Object.values(parts.rpc ?? {})) fed.add(endpoint.queue.name);
  const warnings: ContractWarning[] = [];
  for (const [name, consumer] of Object.entries(parts.consumers ?? {})) {
    const queue = consumer.queue.name;
    if (fed.has(queue)) continue;
    fed.add(queue);
    warnings.push({
      code: 'QUEUE_UNREACHED',
      part: `consumers.${name}`,
      message: `consumers.${name}: nothing in the contract routes to queue '${queue}' (no binding, publisher, request/reply endpoint or dead-letter key); only another service can fill it`,
    });
  }
  return warnings;
}

/** The names of the kinds of message a consumer takes. */
function messageNames(messages: MessageDefinition | readonly MessageDefinition[]): string[] {
  return (Array.isArray(messages) ? messages : [messages]).map(
    (message: MessageDefinition) => message.name,
  );
}
