/**
 * The checks `defineContract` runs on a contract when it is defined,
 * before anything reaches a broker.
 *
 * Errors (thrown): a piece that is not a definition (`TypeError`); a piece
 * used by a binding, route or argument that the contract does not hold, two
 * definitions of one name that disagree, a publisher to an internal
 * exchange, a headers binding RabbitMQ would refuse (one `RangeError`
 * listing every problem). A contract is the caller's input: DESIGN.md's
 * rule for bad input holds, as it does for each `define…` function.
 *
 * Warnings (kept in `contract.warnings`, never printed): what may be
 * right because another service completes the topology, but usually is a
 * mistake: lib/contract/warnings.ts.
 */
import { z } from 'zod';
import type { Schema } from '../schema.js';
import type { ContractParts } from './contract.js';
import {
  type BindingDefinition,
  type Definition,
  type ExchangeDefinition,
  isDefinition,
  type MessageDefinition,
  type QueueDefinition,
} from './model.js';
import { deadLetterRoutes, headersMatchMode } from './routing.js';
import { sameValue } from './same-value.js';
import { type ContractWarning, findWarnings } from './warnings.js';

/**
 * Checks the parts of a contract, as `defineContract` does.
 * @returns the warnings, frozen
 * @throws TypeError when a part is not the kind of definition its place holds
 * @throws RangeError listing every problem that makes the contract inconsistent
 * @internal
 */
export function checkContract(parts: ContractParts): readonly ContractWarning[] {
  checkKinds(parts);
  const pieces = new Pieces();
  pieces.gather(parts);
  checkRoutes(parts, pieces);
  if (pieces.problems.length > 0) {
    const list = pieces.problems.map((problem) => `\n  - ${problem}`).join('');
    throw new RangeError(`defineContract: the contract does not hold together:${list}`);
  }
  const definitions = <T>(map: Map<string, Entry<T>>): T[] =>
    [...map.values()].map((entry) => entry.definition);
  const warnings = findWarnings(parts, definitions(pieces.exchanges), pieces.queues);
  return Object.freeze(warnings.map((warning) => Object.freeze(warning)));
}

// ---------------------------------------------------------------------------------------------
// Each part is the kind of definition its place holds
// ---------------------------------------------------------------------------------------------

const RECORDS = [
  ['exchanges', 'exchange', 'defineExchange'],
  ['queues', 'queue', 'defineQueue'],
  ['messages', 'message', 'defineMessage'],
  ['publishers', 'publisher', 'definePublisher'],
  ['consumers', 'consumer', 'defineConsumer'],
  ['rpc', 'rpc', 'defineRpc'],
] as const satisfies readonly [keyof ContractParts, Definition['kind'], string][];

function checkKinds(parts: ContractParts): void {
  for (const [place, kind, maker] of RECORDS) {
    const record: unknown = parts[place];
    if (record === undefined) continue;
    if (typeof record !== 'object' || record === null || Array.isArray(record)) {
      throw new TypeError(`defineContract: ${place} must be an object of definitions by name`);
    }
    for (const [name, value] of Object.entries(record)) {
      if (!isDefinition(value, kind)) {
        throw new TypeError(`defineContract: ${place}.${name} must be made by ${maker}`);
      }
    }
  }
  const { bindings } = parts;
  if (bindings === undefined) return;
  if (!Array.isArray(bindings)) throw new TypeError('defineContract: bindings must be an array');
  for (const [index, binding] of (bindings as readonly unknown[]).entries()) {
    if (!isDefinition(binding, 'queueBinding') && !isDefinition(binding, 'exchangeBinding')) {
      throw new TypeError(
        `defineContract: bindings[${index}] must be made by defineBinding or defineExchangeBinding`,
      );
    }
  }
}

// ---------------------------------------------------------------------------------------------
// One definition per name
// ---------------------------------------------------------------------------------------------

/** A definition under its name, and the part where it was first seen. */
export interface Entry<T> {
  /** The definition that stands for its name (the first given). */
  readonly definition: T;
  /** Where it was first seen: `'queues.work'`, `'publishers.orderCreated'`. */
  readonly part: string;
}

/** The exchanges, queues and messages of a contract by name, and the problems found. */
class Pieces {
  readonly exchanges = new Map<string, Entry<ExchangeDefinition>>();
  readonly queues = new Map<string, Entry<QueueDefinition>>();
  readonly messages = new Map<string, Entry<MessageDefinition>>();
  readonly problems: string[] = [];

  /** Every piece, listed or used, each checked against the others of its name. */
  gather(parts: ContractParts): void {
    for (const [name, exchange] of Object.entries(parts.exchanges ?? {})) {
      this.list(this.exchanges, exchange, `exchanges.${name}`);
    }
    for (const [name, queue] of Object.entries(parts.queues ?? {})) {
      this.list(this.queues, queue, `queues.${name}`);
    }
    for (const [name, message] of Object.entries(parts.messages ?? {})) {
      this.list(this.messages, message, `messages.${name}`);
    }
    for (const [index, binding] of (parts.bindings ?? []).entries()) {
      const part = `bindings[${index}]`;
      if (binding.kind === 'queueBinding') {
        this.use(this.queues, binding.queue, part);
        this.use(this.exchanges, binding.exchange, part);
      } else {
        this.use(this.exchanges, binding.source, part);
        this.use(this.exchanges, binding.destination, part);
      }
    }
    for (const [name, publisher] of Object.entries(parts.publishers ?? {})) {
      const part = `publishers.${name}`;
      if (publisher.exchange !== undefined) this.use(this.exchanges, publisher.exchange, part);
      if (publisher.queue !== undefined) this.use(this.queues, publisher.queue, part);
      this.list(this.messages, publisher.message, part);
    }
    for (const [name, consumer] of Object.entries(parts.consumers ?? {})) {
      const part = `consumers.${name}`;
      this.use(this.queues, consumer.queue, part);
      const kinds = consumer.messages;
      for (const message of Array.isArray(kinds) ? kinds : [kinds]) {
        this.list(this.messages, message as MessageDefinition, part);
      }
    }
    for (const [name, endpoint] of Object.entries(parts.rpc ?? {})) {
      const part = `rpc.${name}`;
      this.use(this.queues, endpoint.queue, part);
      this.list(this.messages, endpoint.request, part);
      this.list(this.messages, endpoint.reply, part);
    }
    // Exchanges named by arguments: after the lists, so that each name can be looked up.
    for (const { definition, part } of this.queues.values()) {
      for (const { exchange, what } of deadLetterRoutes(definition)) {
        if (exchange !== '') this.useName(exchange, what);
      }
      // The exchange object `deadLetter` holds must agree with the contract's of its name.
      const deadLetter = definition.deadLetter?.exchange;
      const held = deadLetter && this.exchanges.get(deadLetter.name);
      if (deadLetter !== undefined && held) this.compare(held, deadLetter, `${part}.deadLetter`);
    }
    for (const [name, { definition }] of this.exchanges) {
      const alternate = definition.arguments['alternate-exchange'];
      if (typeof alternate === 'string') {
        this.useName(alternate, `exchange '${name}' has the alternate exchange`);
      }
    }
  }

  /** A piece the contract holds (listed, or a message a route brings in). */
  private list<T extends Comparable>(
    map: Map<string, Entry<T>>,
    definition: T,
    part: string,
  ): void {
    const entry = map.get(definition.name);
    if (entry === undefined) map.set(definition.name, { definition, part });
    else this.compare(entry, definition, part);
  }

  /** A piece a binding or route uses: the contract must hold one of its name, and agree. */
  private use<T extends Comparable>(map: Map<string, Entry<T>>, definition: T, part: string): void {
    const entry = map.get(definition.name);
    if (entry === undefined) {
      const place = definition.kind === 'exchange' ? 'exchanges' : 'queues';
      this.problems.push(
        `${part} uses ${definition.kind} '${definition.name}', which is not among the contract's ${place}`,
      );
    } else {
      this.compare(entry, definition, part);
    }
  }

  /** An exchange an argument names. */
  private useName(name: string, what: string): void {
    if (!this.exchanges.has(name)) {
      this.problems.push(`${what} '${name}', which is not among the contract's exchanges`);
    }
  }

  private compare<T extends Comparable>(entry: Entry<T>, definition: T, part: string): void {
    if (entry.definition === definition) return;
    const differences = differencesOf(entry.definition, definition);
    if (differences.length === 0) return;
    this.problems.push(
      `${definition.kind} '${definition.name}' has two definitions that disagree on ${differences.join(', ')} (at ${entry.part} and ${part}): define it once and share it`,
    );
  }
}

type Comparable = ExchangeDefinition | QueueDefinition | MessageDefinition;

/** What the broker sees of each kind; a `description` or `summary` only documents. */
const COMPARED = {
  exchange: ['type', 'durable', 'autoDelete', 'internal', 'arguments'],
  queue: ['durable', 'exclusive', 'autoDelete', 'arguments', 'retry'],
} as const;

/** The properties on which two definitions of one name differ. */
function differencesOf<T extends Comparable>(a: T, b: T): string[] {
  if (a.kind === 'message') {
    const same = sameSchema(a.schema, (b as MessageDefinition).schema);
    if (same === undefined) return ['schema (one has no JSON Schema, so agreeing cannot be told)'];
    return same ? [] : ['schema'];
  }
  const keys: readonly string[] = COMPARED[a.kind];
  const left = a as unknown as Record<string, unknown>;
  const right = b as unknown as Record<string, unknown>;
  return keys.filter((key) => !sameValue(left[key], right[key]));
}

/**
 * Whether two zod schemas accept and give the same values, judged by their
 * JSON Schemas (input and output); `undefined` when one has no JSON Schema
 * (a transform, a refinement's function), so the answer cannot be told.
 */
function sameSchema(a: Schema, b: Schema): boolean | undefined {
  if (a === b) return true;
  try {
    return (['input', 'output'] as const).every(
      (io) => canonical(z.toJSONSchema(a, { io })) === canonical(z.toJSONSchema(b, { io })),
    );
  } catch {
    return undefined;
  }
}

/** JSON text with every object's keys sorted, so that key order does not matter. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, item: unknown) =>
    typeof item === 'object' && item !== null && !Array.isArray(item)
      ? Object.fromEntries(Object.entries(item).sort(([x], [y]) => (x < y ? -1 : x > y ? 1 : 0)))
      : item,
  );
}

// ---------------------------------------------------------------------------------------------
// What the broker would refuse
// ---------------------------------------------------------------------------------------------

function checkRoutes(parts: ContractParts, pieces: Pieces): void {
  for (const [name, publisher] of Object.entries(parts.publishers ?? {})) {
    const exchange = publisher.exchange && pieces.exchanges.get(publisher.exchange.name);
    if (exchange?.definition.internal === true) {
      pieces.problems.push(
        `publishers.${name} publishes to exchange '${exchange.definition.name}', which is internal: RabbitMQ refuses publishes to it (ACCESS_REFUSED)`,
      );
    }
  }
  for (const [index, binding] of (parts.bindings ?? []).entries()) {
    const source = pieces.exchanges.get(sourceOf(binding).name)?.definition;
    if (source?.type !== 'headers' || headersMatchMode(binding.arguments) !== undefined) continue;
    pieces.problems.push(
      `bindings[${index}] has x-match ${JSON.stringify(binding.arguments['x-match'])}: RabbitMQ takes only 'all', 'any', 'all-with-x' or 'any-with-x'`,
    );
  }
}

function sourceOf(binding: BindingDefinition): ExchangeDefinition {
  return binding.kind === 'queueBinding' ? binding.exchange : binding.source;
}
