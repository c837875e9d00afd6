/**
 * The warnings of a contract: what may be right, because another service
 * may complete the topology, but usually is a mistake. They are kept in
 * `contract.warnings`, never printed: a shared contract module would print
 * them in every service that imports it; a test asserts on them instead.
 */
import type { Entry } from './check.js';
import type { ContractParts } from './contract.js';
import type { ExchangeDefinition, QueueDefinition } from './model.js';
import { deadLetterRoutes, reach, routingTopology } from './routing.js';

/**
 * What a {@link ContractWarning} found:
 *
 * - `PUBLISHER_UNROUTED`: a publisher's routing key reaches no queue of the
 *   contract, through the exchange's bindings, exchange-to-exchange bindings
 *   and alternate exchanges. RabbitMQ drops such a message (or returns it,
 *   published `mandatory`) unless another service binds a queue. Not raised
 *   when routing cannot be told: a headers exchange with header matches (a
 *   publisher's headers are not known), an exchange type of a plugin.
 * - `DEAD_LETTER_UNROUTED`: a queue's dead-letter exchange (its
 *   `x-dead-letter-exchange`, or the exchange its `retry` options send
 *   messages out of retries to) reaches no queue of the contract: with the
 *   fixed dead-letter routing key, or, without one, with any key. What is
 *   dead-lettered there is dropped.
 * - `QUEUE_UNREACHED`: a consumer's queue that nothing in the contract
 *   routes to (no binding, no publisher or request/reply endpoint to it,
 *   no dead letters sent to it): only another service can fill it.
 */
export type ContractWarningCode = 'PUBLISHER_UNROUTED' | 'DEAD_LETTER_UNROUTED' | 'QUEUE_UNREACHED';

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
  const warnings: ContractWarning[] = [];
  const topology = routingTopology(
    exchanges,
    [...queues.values()].map((entry) => entry.definition),
    parts.bindings ?? [],
  );

  for (const [name, publisher] of Object.entries(parts.publishers ?? {})) {
    const { exchange, routingKey } = publisher;
    // A publisher to a queue goes through the default exchange, to that queue: it is held.
    if (exchange === undefined) continue;
    const found = reach(topology, exchange.name, routingKey);
    if (found.queues.size > 0 || found.uncertain) continue;
    warnings.push({
      code: 'PUBLISHER_UNROUTED',
      part: `publishers.${name}`,
      message: `publishers.${name}: routing key '${routingKey}' on ${exchange.type} exchange '${exchange.name}' reaches no queue of the contract; RabbitMQ drops its messages unless another service binds a queue`,
    });
  }

  // Queues something routes to: bound, published to, or sent dead letters by key.
  const routedTo = new Set<string>();
  for (const binding of parts.bindings ?? []) {
    if (binding.kind === 'queueBinding') routedTo.add(binding.queue.name);
  }
  for (const publisher of Object.values(parts.publishers ?? {})) {
    if (publisher.queue !== undefined) routedTo.add(publisher.queue.name);
  }
  for (const endpoint of Object.values(parts.rpc ?? {})) routedTo.add(endpoint.queue.name);

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

  const warned = new Set<string>();
  for (const [name, consumer] of Object.entries(parts.consumers ?? {})) {
    const queue = consumer.queue.name;
    if (routedTo.has(queue) || warned.has(queue)) continue;
    warned.add(queue);
    warnings.push({
      code: 'QUEUE_UNREACHED',
      part: `consumers.${name}`,
      message: `consumers.${name}: nothing in the contract routes to queue '${queue}' (no binding, publisher, request/reply endpoint or dead-letter key); only another service can fill it`,
    });
  }
  return warnings;
}
