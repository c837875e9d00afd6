/**
 * The routes of two contracts compared: publishers, consumers and
 * request/reply endpoints matched by their handle name, and each kind of
 * message by its name. A route that is gone, or that now sends to or reads
 * from somewhere else, leaves a sender or a receiver without its
 * counterpart during a deploy. A route renamed but otherwise the same is no
 * change on the wire, and is not reported.
 */
import type { CompatibilityDirection, RouteChange, RouteFinding } from './compatibility.js';
import type { Contract } from './contract.js';
import type {
  ConsumerDefinition,
  MessageDefinition,
  PublisherDefinition,
  RpcDefinition,
} from './model.js';

/** Lists the routes and messages of `previous` that `next` removed or moved. */
export function compareRoutes(previous: Contract, next: Contract): RouteFinding[] {
  const before = previous.parts;
  const after = next.parts;
  return [
    ...matchRoutes(
      'publisher',
      before.publishers,
      after.publishers,
      publisherWire,
      comparePublishers,
    ),
    ...matchRoutes('consumer', before.consumers, after.consumers, consumerWire, compareConsumers),
    ...matchRoutes('rpc', before.rpc, after.rpc, rpcWire, compareRpc),
    ...removedMessages(previous, next),
  ];
}

type Kind = 'publisher' | 'consumer' | 'rpc';

/** How a route looks on the wire: two routes with one wire identity are the same route. */
type Wire<R> = (route: R) => string;

/** The findings for one route still there under its name. */
type Compare<R> = (name: string, previous: R, next: R) => RouteFinding[];

const REMOVED: Record<
  Kind,
  { change: RouteChange; direction: CompatibilityDirection | undefined; detail: string }
> = {
  publisher: {
    change: 'publisher-removed',
    direction: undefined,
    detail: 'the publisher is gone: its receivers get no more messages from it',
  },
  consumer: {
    change: 'consumer-removed',
    direction: 'new-receivers',
    detail: 'the consumer is gone: what its queue holds is no longer read',
  },
  rpc: {
    change: 'rpc-removed',
    direction: undefined,
    detail: 'the request/reply endpoint is gone: its callers get no reply',
  },
};

function matchRoutes<R>(
  kind: Kind,
  before: Readonly<Record<string, R>> | undefined,
  after: Readonly<Record<string, R>> | undefined,
  wire: Wire<R>,
  compare: Compare<R>,
): RouteFinding[] {
  const next = after ?? {};
  const nextWires = new Set(Object.values(next).map(wire));
  const findings: RouteFinding[] = [];
  for (const [name, route] of Object.entries(before ?? {})) {
    const now = Object.hasOwn(next, name) ? next[name] : undefined;
    if (now !== undefined) {
      findings.push(...compare(name, route, now));
    } else if (!nextWires.has(wire(route))) {
      const { change, direction, detail } = REMOVED[kind];
      findings.push({ route: kind, name, change, verdict: 'breaking', direction, detail });
    }
  }
  return findings;
}

function publisherTarget(publisher: PublisherDefinition): string {
  return publisher.exchange === undefined
    ? `queue '${publisher.routingKey}' (through the default exchange)`
    : `exchange '${publisher.exchange.name}' with routing key '${publisher.routingKey}'`;
}

const publisherWire: Wire<PublisherDefinition> = (publisher) =>
  `${publisherTarget(publisher)} ${publisher.message.name}`;

const comparePublishers: Compare<PublisherDefinition> = (name, previous, next) => {
  const findings: RouteFinding[] = [];
  const [from, to] = [publisherTarget(previous), publisherTarget(next)];
  if (from !== to) {
    findings.push({
      route: 'publisher',
      name,
      change: 'publisher-moved',
      verdict: 'breaking',
      direction: 'old-receivers',
      detail: `it published to ${from}, now to ${to}: receivers of the old route get no new messages`,
    });
  }
  if (previous.message.name !== next.message.name) {
    findings.push({
      route: 'publisher',
      name,
      change: 'publisher-message-changed',
      verdict: 'breaking',
      direction: 'old-receivers',
      detail: `it published '${previous.message.name}', now '${next.message.name}'`,
    });
  }
  return findings;
};

function kindsOf(consumer: ConsumerDefinition): string[] {
  const { messages } = consumer;
  const kinds: readonly MessageDefinition[] = Array.isArray(messages)
    ? (messages as readonly MessageDefinition[])
    : [messages as MessageDefinition];
  return kinds.map((kind) => kind.name).sort();
}

const consumerWire: Wire<ConsumerDefinition> = (consumer) =>
  `${consumer.queue.name} ${JSON.stringify(kindsOf(consumer))}`;

const compareConsumers: Compare<ConsumerDefinition> = (name, previous, next) => {
  const findings: RouteFinding[] = [];
  const base = { route: 'consumer', name, verdict: 'breaking' } as const;
  if (previous.queue.name !== next.queue.name) {
    findings.push({
      ...base,
      change: 'consumer-moved',
      direction: 'new-receivers',
      detail: `it read queue '${previous.queue.name}', now '${next.queue.name}': what the old queue holds is no longer read`,
    });
  }
  const before = kindsOf(previous);
  const after = kindsOf(next);
  const dropped = before.filter((kind) => !after.includes(kind));
  const added = after.filter((kind) => !before.includes(kind));
  if (dropped.length > 0) {
    findings.push({
      ...base,
      change: 'consumer-kinds-changed',
      direction: 'new-receivers',
      detail: `it no longer takes ${quoted(dropped)}: such messages still queued are rejected`,
    });
  }
  if (added.length > 0) {
    findings.push({
      ...base,
      change: 'consumer-kinds-changed',
      direction: 'old-receivers',
      detail: `it now takes ${quoted(added)}, which consumers of the previous contract reject`,
    });
  }
  return findings;
};

const rpcWire: Wire<RpcDefinition> = (endpoint) =>
  `${endpoint.queue.name} ${endpoint.request.name} ${endpoint.reply.name}`;

const compareRpc: Compare<RpcDefinition> = (name, previous, next) => {
  const findings: RouteFinding[] = [];
  const base = { route: 'rpc', name, verdict: 'breaking' } as const;
  if (previous.queue.name !== next.queue.name) {
    findings.push({
      ...base,
      change: 'rpc-moved',
      direction: undefined,
      detail: `it took requests on queue '${previous.queue.name}', now on '${next.queue.name}'`,
    });
  }
  for (const part of ['request', 'reply'] as const) {
    const [from, to] = [previous[part].name, next[part].name];
    if (from === to) continue;
    findings.push({
      ...base,
      change: 'rpc-messages-changed',
      // A new request kind breaks old servers; a new reply kind breaks old callers.
      direction: 'old-receivers',
      detail: `its ${part} was '${from}', now '${to}'`,
    });
  }
  return findings;
};

function removedMessages(previous: Contract, next: Contract): RouteFinding[] {
  const kept = new Set(next.messages.map((message) => message.name));
  const removed = new Set(
    previous.messages.map((message) => message.name).filter((name) => !kept.has(name)),
  );
  return [...removed].map((name) => ({
    route: 'message',
    name,
    change: 'message-removed',
    verdict: 'breaking',
    direction: 'new-receivers',
    detail: `the message '${name}' is gone: such messages still queued have no receiver that knows them`,
  }));
}

function quoted(names: readonly string[]): string {
  return names.map((name) => `'${name}'`).join(', ');
}
