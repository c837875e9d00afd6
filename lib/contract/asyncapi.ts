/**
 * A contract as an AsyncAPI 3.0 document: a channel per exchange and
 * routing key a publisher uses and per queue a route uses, an operation per
 * route (publishers send, consumers receive, a request/reply endpoint does
 * both, with a reply), and each kind of message with the JSON Schema of its
 * body. The same contract always gives the same document, key for key.
 */
import type {
  AmqpChannelBinding,
  AmqpExchangeBinding,
  AmqpQueueBinding,
  AmqpQueueBindingRoute,
  AsyncApiChannel,
  AsyncApiDocument,
  AsyncApiInfo,
  AsyncApiMessage,
  AsyncApiOperation,
  AsyncApiReference,
  AsyncApiServer,
} from './asyncapi-document.js';
import { type Contract, isContract } from './contract.js';
import { fieldTableJson } from './field-json.js';
import { messageJsonSchema, toPointer } from './json-schema.js';
import type { ExchangeDefinition, MessageDefinition, QueueDefinition } from './model.js';
import { toYaml } from './yaml.js';

/** Options of {@link asyncApi}, {@link asyncApiJson} and {@link asyncApiYaml}. */
export interface AsyncApiOptions {
  /**
   * Brokers to list in `servers`, by name: AMQP URLs
   * (`{ production: 'amqps://broker.example.com/shop' }`). The user name,
   * password and query of each URL are never written.
   * @default {} (no `servers`)
   */
  servers?: Readonly<Record<string, string | URL>>;
  /**
   * The vhost the exchanges and queues live in, written in their bindings.
   * @default the vhost of the servers' URLs when they all name one; else none (`/`)
   */
  vhost?: string;
}

/** The AMQP bindings version the document follows. */
const BINDING_VERSION = '0.3.0';

/** Exchange types the AMQP bindings name; any other goes in `x-type`. */
const BINDING_EXCHANGE_TYPES = new Set(['direct', 'fanout', 'topic', 'headers']);

/** Where a request/reply endpoint's reply goes: the request's `reply-to` property. */
const REPLY_ADDRESS = {
  location: '$message.header#/reply-to',
  description: "The request's reply-to property (RabbitMQ's direct reply-to).",
} as const;

/**
 * The AsyncAPI 3.0 document of a contract, as a plain object.
 *
 * ```ts
 * const document = asyncApi(shop, { servers: { production: 'amqps://broker.example.com' } });
 * ```
 * @throws TypeError when `contract` is not a contract, or for a bad option
 * @throws RangeError for a server URL that is not an AMQP URL
 */
export function asyncApi(contract: Contract, options: AsyncApiOptions = {}): AsyncApiDocument {
  if (!isContract(contract)) {
    throw new TypeError('asyncApi: contract must be a contract made by defineContract');
  }
  checkOptions(options);
  const servers = serversOf(options.servers ?? {});
  const vhost = options.vhost ?? sharedVhost(Object.values(servers));
  return new DocumentBuilder(contract, vhost).build(
    infoOf(contract),
    Object.keys(servers).length === 0 ? undefined : serverEntries(servers),
  );
}

/**
 * The AsyncAPI 3.0 document of a contract as JSON text (indented by two
 * spaces, ending with a newline).
 * @throws as {@link asyncApi} does
 */
export function asyncApiJson(contract: Contract, options?: AsyncApiOptions): string {
  return `${JSON.stringify(asyncApi(contract, options), null, 2)}\n`;
}

/**
 * The AsyncAPI 3.0 document of a contract as YAML text.
 * @throws as {@link asyncApi} does
 */
export function asyncApiYaml(contract: Contract, options?: AsyncApiOptions): string {
  return toYaml(asyncApi(contract, options));
}

// ---------------------------------------------------------------------------------------------
// The document
// ---------------------------------------------------------------------------------------------

interface ChannelDraft {
  readonly id: string;
  readonly address: string | null;
  readonly description: string | undefined;
  readonly bindings: AmqpChannelBinding | undefined;
  /** Message ids, in order of first use. */
  readonly messages: Set<string>;
}

/** Builds one document: ids are given out in the contract's order, each once. */
class DocumentBuilder {
  readonly #contract: Contract;
  readonly #vhost: string | undefined;
  readonly #messageIds = new Map<MessageDefinition, string>();
  readonly #messageNames = new Set<string>();
  /** Channels by what they stand for: `e:<exchange>\0<routing key>`, `q:<queue>`, `r:<rpc>`. */
  readonly #channels = new Map<string, ChannelDraft>();
  readonly #channelIds = new Set<string>();
  /** Operations by id (a Map: an id such as `__proto__` is an id like any other). */
  readonly #operations = new Map<string, AsyncApiOperation>();

  constructor(contract: Contract, vhost: string | undefined) {
    this.#contract = contract;
    this.#vhost = vhost;
  }

  build(info: AsyncApiInfo, servers: Record<string, AsyncApiServer> | undefined): AsyncApiDocument {
    const { parts } = this.#contract;
    for (const message of this.#contract.messages) this.#messageId(message);
    for (const [name, publisher] of Object.entries(parts.publishers ?? {})) {
      const channel =
        publisher.exchange === undefined
          ? this.#queueChannel(publisher.queue as QueueDefinition)
          : this.#exchangeChannel(publisher.exchange, publisher.routingKey);
      this.#operation(name, 'send', channel, [publisher.message], publisher.description);
    }
    for (const [name, consumer] of Object.entries(parts.consumers ?? {})) {
      const messages: readonly MessageDefinition[] = Array.isArray(consumer.messages)
        ? consumer.messages
        : [consumer.messages as MessageDefinition];
      const channel = this.#queueChannel(consumer.queue);
      this.#operation(name, 'receive', channel, messages, consumer.description);
    }
    for (const [name, endpoint] of Object.entries(parts.rpc ?? {})) {
      const requests = this.#queueChannel(endpoint.queue);
      const replies = this.#replyChannel(name);
      const { request, reply, description } = endpoint;
      this.#operation(name, 'send', requests, [request], description, { replies, reply });
      this.#operation(`${name}.serve`, 'receive', requests, [request], description, {
        replies,
        reply,
      });
    }
    return {
      asyncapi: '3.0.0',
      info,
      defaultContentType: 'application/json',
      ...(servers === undefined ? {} : { servers }),
      channels: this.#channelEntries(),
      operations: Object.fromEntries(this.#operations),
      components: { messages: this.#messageEntries() },
    };
  }

  /** The id of a kind of message: its name, made a valid key, and unique. */
  #messageId(message: MessageDefinition): string {
    let id = this.#messageIds.get(message);
    if (id === undefined) {
      id = uniqueId(message.name, this.#messageNames);
      this.#messageIds.set(message, id);
    }
    return id;
  }

  #exchangeChannel(exchange: ExchangeDefinition, routingKey: string): ChannelDraft {
    return this.#channel(`e:${exchange.name}\0${routingKey}`, () => ({
      id: routingKey === '' ? exchange.name : `${exchange.name}.${routingKey}`,
      address: routingKey,
      description: exchange.description,
      bindings: {
        is: 'routingKey',
        exchange: this.#exchangeBinding(exchange),
        bindingVersion: BINDING_VERSION,
      },
    }));
  }

  #queueChannel(queue: QueueDefinition): ChannelDraft {
    return this.#channel(`q:${queue.name}`, () => {
      const routes = this.#routesInto(queue);
      return {
        id: queue.name,
        address: queue.name,
        description: queue.description,
        bindings: {
          is: 'queue',
          queue: this.#queueBinding(queue),
          ...(routes.length === 0 ? {} : { 'x-bindings': routes }),
          bindingVersion: BINDING_VERSION,
        },
      };
    });
  }

  #replyChannel(rpcName: string): ChannelDraft {
    return this.#channel(`r:${rpcName}`, () => ({
      id: `${rpcName}.reply`,
      address: null,
      description: `The replies of ${rpcName}, sent to the address in each request's reply-to property.`,
      bindings: undefined,
    }));
  }

  #channel(
    key: string,
    make: () => Omit<ChannelDraft, 'messages' | 'id'> & { readonly id: string },
  ): ChannelDraft {
    let channel = this.#channels.get(key);
    if (channel === undefined) {
      const made = make();
      channel = { ...made, id: uniqueId(made.id, this.#channelIds), messages: new Set() };
      this.#channels.set(key, channel);
    }
    return channel;
  }

  #operation(
    name: string,
    action: 'send' | 'receive',
    channel: ChannelDraft,
    messages: readonly MessageDefinition[],
    description: string | undefined,
    reply?: { readonly replies: ChannelDraft; readonly reply: MessageDefinition },
  ): void {
    // A name two kinds of route share (a publisher and a consumer `audit`) gets the kind too.
    const taken = new Set(this.#operations.keys());
    const kind = reply !== undefined ? 'rpc' : action === 'send' ? 'publisher' : 'consumer';
    const id = uniqueId(taken.has(validId(name)) ? `${name}.${kind}` : name, taken);
    this.#operations.set(id, {
      action,
      channel: ref('channels', channel.id),
      ...(description === undefined ? {} : { description }),
      messages: messages.map((message) => this.#channelMessage(channel, message)),
      ...(reply === undefined
        ? {}
        : {
            reply: {
              address: REPLY_ADDRESS,
              channel: ref('channels', reply.replies.id),
              messages: [this.#channelMessage(reply.replies, reply.reply)],
            },
          }),
      ...(action === 'receive'
        ? { bindings: { amqp: { ack: true, bindingVersion: BINDING_VERSION } } }
        : {}),
    });
  }

  /** A reference to `message` in `channel`'s messages, which it joins. */
  #channelMessage(channel: ChannelDraft, message: MessageDefinition): AsyncApiReference {
    const id = this.#messageId(message);
    channel.messages.add(id);
    return ref('channels', channel.id, 'messages', id);
  }

  #exchangeBinding(exchange: ExchangeDefinition): AmqpExchangeBinding {
    const args = fieldTableJson(exchange.arguments);
    const known = BINDING_EXCHANGE_TYPES.has(exchange.type);
    return {
      name: exchange.name,
      ...(known
        ? { type: exchange.type as AmqpExchangeBinding['type'] & string }
        : { 'x-type': exchange.type }),
      durable: exchange.durable,
      autoDelete: exchange.autoDelete,
      ...(args === undefined ? {} : { 'x-arguments': args }),
      ...(this.#vhost === undefined ? {} : { vhost: this.#vhost }),
    };
  }

  #queueBinding(queue: QueueDefinition): AmqpQueueBinding {
    const args = fieldTableJson(queue.arguments);
    return {
      name: queue.name,
      durable: queue.durable,
      exclusive: queue.exclusive,
      autoDelete: queue.autoDelete,
      ...(args === undefined ? {} : { 'x-arguments': args }),
      ...(this.#vhost === undefined ? {} : { vhost: this.#vhost }),
    };
  }

  /** The contract's bindings of `queue`, in order. */
  #routesInto(queue: QueueDefinition): AmqpQueueBindingRoute[] {
    const routes: AmqpQueueBindingRoute[] = [];
    for (const binding of this.#contract.bindings) {
      if (binding.kind !== 'queueBinding' || binding.queue.name !== queue.name) continue;
      const args = fieldTableJson(binding.arguments);
      routes.push({
        exchange: binding.exchange.name,
        routingKey: binding.routingKey,
        ...(args === undefined ? {} : { arguments: args }),
      });
    }
    return routes;
  }

  #channelEntries(): Record<string, AsyncApiChannel> {
    const channels: [string, AsyncApiChannel][] = [];
    for (const channel of this.#channels.values()) {
      channels.push([
        channel.id,
        {
          address: channel.address,
          ...(channel.description === undefined ? {} : { description: channel.description }),
          messages: Object.fromEntries(
            [...channel.messages].map((id) => [id, ref('components', 'messages', id)]),
          ),
          ...(channel.bindings === undefined ? {} : { bindings: { amqp: channel.bindings } }),
        },
      ]);
    }
    return Object.fromEntries(channels);
  }

  #messageEntries(): Record<string, AsyncApiMessage> {
    const messages: [string, AsyncApiMessage][] = [];
    for (const [message, id] of this.#messageIds) {
      const { schema, notes } = messageJsonSchema(message.schema, {
        base: ref('components', 'messages', id, 'payload').$ref,
      });
      messages.push([
        id,
        {
          name: message.name,
          title: message.name,
          ...(message.summary === undefined ? {} : { summary: message.summary }),
          ...(message.description === undefined ? {} : { description: message.description }),
          contentType: 'application/json',
          payload: schema,
          bindings: { amqp: { messageType: message.name, bindingVersion: BINDING_VERSION } },
          ...(notes.length === 0
            ? {}
            : {
                'x-unrepresentable': notes.map(
                  ({ pointer, reason }) => `${pointer === '' ? '(the body)' : pointer}: ${reason}`,
                ),
              }),
        },
      ]);
    }
    return Object.fromEntries(messages);
  }
}

/** A reference to a part of the document by its path (each key escaped). */
function ref(...path: string[]): AsyncApiReference {
  return { $ref: `#${toPointer(path)}` };
}

/** `wanted` as a key AsyncAPI accepts everywhere: letters, digits, `.`, `-`, `_`; anything else becomes `_`. */
function validId(wanted: string): string {
  return wanted.replace(/[^A-Za-z0-9._-]/g, '_') || '_';
}

/**
 * `wanted` as a valid key (see {@link validId}) not yet in `taken` (a
 * suffix `_2`, `_3`… makes it so); added to `taken`.
 */
function uniqueId(wanted: string, taken: Set<string>): string {
  const base = validId(wanted);
  let id = base;
  for (let suffix = 2; taken.has(id); suffix++) id = `${base}_${suffix}`;
  taken.add(id);
  return id;
}

// ---------------------------------------------------------------------------------------------
// Info and servers
// ---------------------------------------------------------------------------------------------

function infoOf(contract: Contract): AsyncApiInfo {
  const info = contract.info;
  return {
    title: info?.title ?? 'AMQP contract',
    version: info?.version ?? '1.0.0',
    ...(info?.description === undefined ? {} : { description: info.description }),
  };
}

interface ParsedServer {
  readonly server: AsyncApiServer;
  readonly vhost: string;
}

function serversOf(urls: Readonly<Record<string, string | URL>>): Record<string, ParsedServer> {
  return Object.fromEntries(Object.entries(urls).map(([name, url]) => [name, serverOf(name, url)]));
}

function serverEntries(servers: Record<string, ParsedServer>): Record<string, AsyncApiServer> {
  const taken = new Set<string>();
  return Object.fromEntries(
    Object.entries(servers).map(([name, { server }]) => [uniqueId(name, taken), server]),
  );
}

/** A server entry from an AMQP URL: host, protocol and vhost, never the credentials. */
function serverOf(name: string, value: string | URL): ParsedServer {
  const what = `asyncApi: servers.${name}`;
  if (typeof value !== 'string' && !(value instanceof URL)) {
    throw new TypeError(`${what} must be an AMQP URL (a string or a URL)`);
  }
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    // The URL may hold a password: never echo it.
    throw new RangeError(`${what} is not a URL`);
  }
  const protocol = url.protocol.slice(0, -1);
  if (protocol !== 'amqp' && protocol !== 'amqps') {
    throw new RangeError(`${what} must be an amqp:// or amqps:// URL, not ${protocol}://`);
  }
  if (url.host === '') throw new RangeError(`${what} has no host`);
  // As warren reads a URL: no path or `/` is the default vhost `/`; else one encoded segment.
  const segment = url.pathname.slice(1);
  if (segment.includes('/')) {
    throw new RangeError(`${what}: the vhost is one path segment (write a "/" in it as %2F)`);
  }
  const vhost = segment === '' ? '/' : decodeURIComponent(segment);
  return {
    server: {
      host: url.host,
      protocol,
      protocolVersion: '0.9.1',
      ...(segment === '' ? {} : { pathname: `/${segment}` }),
    },
    vhost,
  };
}

/** The vhost every server names, if they agree (and there is one). */
function sharedVhost(servers: readonly ParsedServer[]): string | undefined {
  const vhosts = new Set(servers.map(({ vhost }) => vhost));
  return vhosts.size === 1 ? [...vhosts][0] : undefined;
}

function checkOptions(options: AsyncApiOptions): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError('asyncApi: options must be an object');
  }
  for (const key of Object.keys(options)) {
    if (key !== 'servers' && key !== 'vhost') {
      throw new TypeError(`asyncApi: unknown option '${key}' (known: servers, vhost)`);
    }
  }
  const { servers, vhost } = options;
  if (servers !== undefined && (typeof servers !== 'object' || servers === null)) {
    throw new TypeError('asyncApi: servers must be an object of AMQP URLs by name');
  }
  if (vhost !== undefined && typeof vhost !== 'string') {
    throw new TypeError('asyncApi: vhost must be a string');
  }
}
