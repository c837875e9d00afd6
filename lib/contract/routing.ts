/**
 * Where RabbitMQ would route a message, worked out from a contract's
 * definitions without a broker: the topic and headers matchers, each
 * binding's verdict, and the walk through exchange-to-exchange bindings and
 * alternate exchanges. The contract's checks ask it whether a publisher or a
 * dead-letter exchange reaches any queue.
 *
 * What is unknown when a contract is defined (a publisher's headers, the
 * original routing key of a dead-lettered message, a plugin's exchange type)
 * makes the answer "cannot tell", never a guess.
 */
import type { FieldTable } from '../fields.js';
import type { BindingDefinition, ExchangeDefinition, QueueDefinition } from './model.js';
import { sameValue } from './same-value.js';

/**
 * The words of a topic routing key or binding key, as RabbitMQ splits them:
 * at each `.`, keeping empty words (`'a..b'` is `a`, `''`, `b`), except that
 * the empty key has no words at all.
 */
export function topicWords(key: string): string[] {
  return key === '' ? [] : key.split('.');
}

/**
 * Whether a topic exchange routes a message published with `routingKey`
 * through a binding with `bindingKey`: word by word, where a `*` word of the
 * binding key matches exactly one word (an empty one too) and a `#` word
 * matches zero or more. Other words, `'a*'` among them, match only
 * themselves.
 */
export function topicMatches(bindingKey: string, routingKey: string): boolean {
  const pattern = topicWords(bindingKey);
  const words = topicWords(routingKey);
  // matches[j]: whether the pattern's words from i on match the key's words from j on,
  // for the current i, filled from the last pattern word back to the first.
  let matches: boolean[] = words.map(() => false);
  matches.push(true);
  for (let i = pattern.length - 1; i >= 0; i--) {
    const word = pattern[i];
    const next: boolean[] = new Array<boolean>(words.length + 1).fill(false);
    for (let j = words.length; j >= 0; j--) {
      if (word === '#') {
        // Zero words here, or one word and `#` again.
        next[j] = (matches[j] ?? false) || (j < words.length && (next[j + 1] ?? false));
      } else if (j < words.length && (word === '*' || word === words[j])) {
        next[j] = matches[j + 1] ?? false;
      }
    }
    matches = next;
  }
  return matches[0] ?? false;
}

/** How a headers binding matches, from its `x-match` argument. */
export type HeadersMatchMode = 'all' | 'any' | 'all-with-x' | 'any-with-x';

/**
 * The `x-match` of a headers binding's arguments. RabbitMQ refuses a
 * binding with any other value, but matches as `all` when there is none.
 * @returns `undefined` when the value is one RabbitMQ refuses
 */
export function headersMatchMode(
  bindingArguments: Readonly<FieldTable>,
): HeadersMatchMode | undefined {
  const mode = bindingArguments['x-match'];
  if (mode === undefined) return 'all';
  if (mode === 'all' || mode === 'any' || mode === 'all-with-x' || mode === 'any-with-x') {
    return mode;
  }
  return undefined;
}

/**
 * The header matches of a headers binding: its arguments but `x-match`,
 * and but every other `x-` argument unless the mode is `all-with-x` or
 * `any-with-x` (RabbitMQ 3.10 and later ignore them in matching).
 */
export function headersToMatch(bindingArguments: Readonly<FieldTable>): [string, unknown][] {
  const mode = headersMatchMode(bindingArguments);
  const withX = mode === 'all-with-x' || mode === 'any-with-x';
  return Object.entries(bindingArguments).filter(
    ([key, value]) => value !== undefined && key !== 'x-match' && (withX || !key.startsWith('x-')),
  );
}

/**
 * Whether a headers exchange routes a message with `headers` through a
 * binding with `bindingArguments`. `all` needs every header to match, `any`
 * one of them; a binding value of `null` (AMQP void) matches any value of a
 * header that is present; other values compare as RabbitMQ compares them
 * (numbers by value, whatever their AMQP type). With nothing to match, `all`
 * matches every message and `any` none.
 */
export function headersMatch(
  bindingArguments: Readonly<FieldTable>,
  headers: Readonly<FieldTable> | undefined,
): boolean {
  const mode = headersMatchMode(bindingArguments) ?? 'all';
  const every = mode === 'all' || mode === 'all-with-x';
  const matches = headersToMatch(bindingArguments).map(([key, expected]) => {
    const actual = headers?.[key];
    if (actual === undefined) return false;
    return expected === null || sameValue(expected, actual);
  });
  return every ? matches.every(Boolean) : matches.some(Boolean);
}

/** A binding's verdict on a message: it matches, it does not, or that cannot be told. */
export type Verdict = 'yes' | 'no' | 'unknown';

/**
 * Whether `binding`, of a `source` exchange, matches a message published
 * with `routingKey` (`undefined` when the key is not known) and headers the
 * contract cannot know.
 */
export function bindingVerdict(
  source: ExchangeDefinition,
  binding: BindingDefinition,
  routingKey: string | undefined,
): Verdict {
  switch (source.type) {
    case 'fanout':
      return 'yes';
    case 'direct':
      if (routingKey === undefined) return 'unknown';
      return binding.routingKey === routingKey ? 'yes' : 'no';
    case 'topic':
      if (routingKey === undefined) return 'unknown';
      return topicMatches(binding.routingKey, routingKey) ? 'yes' : 'no';
    case 'headers': {
      // With nothing to match, the answer holds whatever the headers are.
      if (headersToMatch(binding.arguments).length > 0) return 'unknown';
      const mode = headersMatchMode(binding.arguments) ?? 'all';
      return mode === 'all' || mode === 'all-with-x' ? 'yes' : 'no';
    }
    default:
      // A plugin's type (x-consistent-hash, x-delayed-message, …) routes by its own rules.
      return 'unknown';
  }
}

/**
 * Where a message can go: the queues it certainly reaches, and whether it
 * may reach others (or any at all) that cannot be told at definition time.
 */
export interface Reach {
  /** The queues the message certainly reaches, by name. */
  readonly queues: ReadonlySet<string>;
  /** Whether some step could not be told, so more queues may be reached. */
  readonly uncertain: boolean;
}

/** The pieces of a contract that routing follows. */
export interface RoutingTopology {
  /** Every exchange, by name. */
  readonly exchanges: ReadonlyMap<string, ExchangeDefinition>;
  /** Every queue, by name. */
  readonly queues: ReadonlyMap<string, QueueDefinition>;
  /** Every binding, by the name of the exchange it takes messages from. */
  readonly bindingsFrom: ReadonlyMap<string, readonly BindingDefinition[]>;
}

/** A {@link RoutingTopology} of the given pieces, which must name each other consistently. */
export function routingTopology(
  exchanges: Iterable<ExchangeDefinition>,
  queues: Iterable<QueueDefinition>,
  bindings: Iterable<BindingDefinition>,
): RoutingTopology {
  const bindingsFrom = new Map<string, BindingDefinition[]>();
  for (const binding of bindings) {
    const source = binding.kind === 'queueBinding' ? binding.exchange : binding.source;
    const list = bindingsFrom.get(source.name) ?? [];
    list.push(binding);
    bindingsFrom.set(source.name, list);
  }
  return {
    exchanges: new Map([...exchanges].map((exchange) => [exchange.name, exchange])),
    queues: new Map([...queues].map((queue) => [queue.name, queue])),
    bindingsFrom,
  };
}

/**
 * Where a message published to the exchange named `exchange` (`''` for the
 * default exchange) with `routingKey` (`undefined` when unknown) goes, as
 * RabbitMQ routes it: each exchange's matching bindings, on through
 * exchange-to-exchange bindings (each exchange once, so cycles end), and an
 * exchange's `alternate-exchange` when none of its bindings matches.
 */
export function reach(
  topology: RoutingTopology,
  exchange: string,
  routingKey: string | undefined,
): Reach {
  const queues = new Set<string>();
  let uncertain = false;
  // Exchanges visited, and those visited on a certain path (one visited only on an uncertain
  // path first may be reached for certain later).
  const seen = new Set<string>();
  const seenCertain = new Set<string>();
  const visit = (name: string, certain: boolean): void => {
    if ((certain ? seenCertain : seen).has(name)) return;
    seen.add(name);
    if (certain) seenCertain.add(name);
    if (name === '') {
      // The default exchange: the queue named by the key, if it is one of the contract's.
      if (routingKey === undefined) uncertain = true;
      else if (topology.queues.has(routingKey)) add(routingKey, certain);
      return;
    }
    const definition = topology.exchanges.get(name);
    if (definition === undefined) {
      uncertain = true;
      return;
    }
    let matched = false;
    let maybe = false;
    for (const binding of topology.bindingsFrom.get(name) ?? []) {
      const verdict = bindingVerdict(definition, binding, routingKey);
      if (verdict === 'no') continue;
      if (verdict === 'yes') matched = true;
      else maybe = true;
      const onward = certain && verdict === 'yes';
      if (binding.kind === 'queueBinding') add(binding.queue.name, onward);
      else visit(binding.destination.name, onward);
    }
    const alternate = definition.arguments['alternate-exchange'];
    if (!matched && typeof alternate === 'string') visit(alternate, certain && !maybe);
  };
  const add = (queue: string, certain: boolean): void => {
    if (certain) queues.add(queue);
    else uncertain = true;
  };
  visit(exchange, true);
  return { queues, uncertain };
}

/** Where a queue's dead letters go: an exchange by name, and the key they go with if fixed. */
export interface DeadLetterRoute {
  /** The exchange's name; `''` for the default exchange. */
  readonly exchange: string;
  /** The fixed routing key; `undefined` for the key each message had. */
  readonly routingKey: string | undefined;
  /** Which setting sends them, for messages: `queue 'work' dead-letters to`. */
  readonly what: string;
}

/**
 * The dead-letter routes of a queue: its `x-dead-letter-exchange` argument
 * (with `x-dead-letter-routing-key`), which the broker uses, and the
 * exchange its `retry` options name for messages whose retries run out,
 * which warren's workers publish to.
 */
export function deadLetterRoutes(queue: QueueDefinition): DeadLetterRoute[] {
  const routes: DeadLetterRoute[] = [];
  const exchange = queue.arguments['x-dead-letter-exchange'];
  if (typeof exchange === 'string') {
    const key = queue.arguments['x-dead-letter-routing-key'];
    routes.push({
      exchange,
      routingKey: typeof key === 'string' ? key : undefined,
      what: `queue '${queue.name}' dead-letters to`,
    });
  }
  const retryTo = queue.retry?.deadLetter;
  if (typeof retryTo === 'object' && retryTo !== null && typeof retryTo.exchange === 'string') {
    routes.push({
      exchange: retryTo.exchange,
      routingKey: retryTo.routingKey,
      what: `queue '${queue.name}' sends messages out of retries to`,
    });
  }
  return routes;
}
