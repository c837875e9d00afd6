/**
 * The AsyncAPI export: every document @asyncapi/parser accepts without an
 * error or a warning, holds every route of its contract (each publisher a
 * send on its exchange and routing key or its queue, each consumer a
 * receive, each request/reply endpoint both, with the reply), and reads
 * back from its YAML as from its JSON.
 */
import { Parser } from '@asyncapi/parser';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import type { Contract } from '../../lib/contract/contract.js';
import {
  type AsyncApiDocument,
  type AsyncApiReference,
  asyncApi,
  asyncApiJson,
  asyncApiYaml,
  defineBinding,
  defineConsumer,
  defineContract,
  defineExchange,
  defineMessage,
  definePublisher,
  defineQueue,
  defineRpc,
  type MessageDefinition,
} from '../../lib/contract/index.js';
import { empty, shop } from '../fixtures/shop-contract.js';

const parser = new Parser();

// Each parse takes a second or more (several under load): wide timeouts, which assert no speed.
vi.setConfig({ testTimeout: 60_000 });

/** Diagnostics at error (0) or warning (1) severity: a generated document must have none. */
async function expectValid(document: AsyncApiDocument | string): Promise<void> {
  const { diagnostics } = await parser.parse(document);
  const problems = diagnostics.filter(({ severity }) => severity <= 1);
  const report = problems
    .map(
      ({ severity, code, message, path }) => `${severity} ${code} at ${path.join('/')}: ${message}`,
    )
    .join('\n');
  expect(problems, `@asyncapi/parser found:\n${report}`).toEqual([]);
}

/** What a local reference points at, following the JSON Pointer (RFC 6901) in it. */
function resolve(document: unknown, reference: AsyncApiReference): unknown {
  expect(reference.$ref.startsWith('#/')).toBe(true);
  let at: unknown = document;
  for (const raw of reference.$ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    expect(at, `${reference.$ref} at ${key}`).toHaveProperty([key]);
    at = (at as Record<string, unknown>)[key];
  }
  return at;
}

interface ResolvedOperation {
  readonly id: string;
  readonly action: string;
  readonly channel: Record<string, unknown>;
  /** The `name` of each message, through the channel's messages to the component. */
  readonly messages: string[];
  readonly reply: { channel: Record<string, unknown>; messages: string[] } | undefined;
}

/** Every operation, with its references followed (and checked to land inside its channel). */
function operationsOf(document: AsyncApiDocument): ResolvedOperation[] {
  return Object.entries(document.operations).map(([id, operation]) => {
    const messagesOf = (channelRef: AsyncApiReference, refs: readonly AsyncApiReference[]) =>
      refs.map((reference) => {
        // An operation's messages are a subset of its channel's.
        expect(reference.$ref.startsWith(`${channelRef.$ref}/messages/`)).toBe(true);
        const message = resolve(document, resolve(document, reference) as AsyncApiReference);
        return (message as { name: string }).name;
      });
    return {
      id,
      action: operation.action,
      channel: resolve(document, operation.channel) as Record<string, unknown>,
      messages: messagesOf(operation.channel, operation.messages),
      reply:
        operation.reply === undefined
          ? undefined
          : {
              channel: resolve(document, operation.reply.channel) as Record<string, unknown>,
              messages: messagesOf(operation.reply.channel, operation.reply.messages),
            },
    };
  });
}

const namesOf = (messages: MessageDefinition | readonly MessageDefinition[]): string[] =>
  (Array.isArray(messages) ? messages : [messages as MessageDefinition]).map(({ name }) => name);

/** Each route of `contract` is an operation of `document` on the right channel, with the right messages. */
function expectEveryRoute(contract: Contract, document: AsyncApiDocument): void {
  const operations = operationsOf(document);
  const taken = new Set<ResolvedOperation>();
  const take = (found: ResolvedOperation | undefined, what: string): ResolvedOperation => {
    expect(found, what).toBeDefined();
    taken.add(found as ResolvedOperation);
    return found as ResolvedOperation;
  };
  const queueChannel = (name: string) =>
    expect.objectContaining({
      address: name,
      bindings: {
        amqp: expect.objectContaining({ is: 'queue', queue: expect.objectContaining({ name }) }),
      },
    });
  const { publishers = {}, consumers = {}, rpc = {} } = contract.parts;
  for (const [name, publisher] of Object.entries(publishers)) {
    const channel =
      publisher.exchange === undefined
        ? queueChannel(publisher.routingKey)
        : expect.objectContaining({
            address: publisher.routingKey,
            bindings: {
              amqp: expect.objectContaining({
                is: 'routingKey',
                exchange: expect.objectContaining({ name: publisher.exchange.name }),
              }),
            },
          });
    const operation = take(
      operations.find(
        (candidate) =>
          !taken.has(candidate) &&
          candidate.action === 'send' &&
          candidate.reply === undefined &&
          candidate.messages.length === 1 &&
          candidate.messages[0] === publisher.message.name &&
          candidate.channel.address === publisher.routingKey,
      ),
      `publisher ${name}`,
    );
    expect(operation.channel, `publisher ${name}`).toEqual(channel);
  }
  for (const [name, consumer] of Object.entries(consumers)) {
    const operation = take(
      operations.find(
        (candidate) =>
          !taken.has(candidate) &&
          candidate.action === 'receive' &&
          candidate.reply === undefined &&
          candidate.channel.address === consumer.queue.name,
      ),
      `consumer ${name}`,
    );
    expect(operation.channel).toEqual(queueChannel(consumer.queue.name));
    expect(operation.messages).toEqual(namesOf(consumer.messages));
  }
  for (const [name, endpoint] of Object.entries(rpc)) {
    for (const action of ['send', 'receive']) {
      const operation = take(
        operations.find(
          (candidate) =>
            !taken.has(candidate) &&
            candidate.action === action &&
            candidate.reply !== undefined &&
            candidate.channel.address === endpoint.queue.name,
        ),
        `rpc ${name} (${action})`,
      );
      expect(operation.channel).toEqual(queueChannel(endpoint.queue.name));
      expect(operation.messages).toEqual([endpoint.request.name]);
      expect(operation.reply?.messages).toEqual([endpoint.reply.name]);
      expect(operation.reply?.channel.address).toBeNull();
    }
  }
  // Nothing else: one operation per publisher and consumer, two per endpoint.
  expect(taken.size).toBe(operations.length);
  // And each kind of message of the contract, once.
  expect(Object.values(document.components.messages).map(({ name }) => name)).toEqual(
    contract.messages.map(({ name }) => name),
  );
}

describe('asyncApi', () => {
  it('makes a document @asyncapi/parser accepts, holding every route of the contract', async () => {
    const document = asyncApi(shop);
    await expectValid(document);
    expectEveryRoute(shop, document);
    expect(document.asyncapi).toBe('3.0.0');
    expect(document.info).toEqual({
      title: 'Shop',
      version: '2.1.0',
      description: 'Orders, prices and their audit.',
    });
    expect(document.servers).toBeUndefined();
  });

  it('writes the exchange and queue options, arguments and bindings in the AMQP bindings', () => {
    const { channels } = asyncApi(shop);
    expect(channels['orders.order.created']?.bindings?.amqp).toEqual({
      is: 'routingKey',
      exchange: { name: 'orders', type: 'topic', durable: true, autoDelete: false },
      bindingVersion: '0.3.0',
    });
    // A plugin's type is not one the bindings name: it goes in x-type.
    expect(channels['orders.later.order.due']?.bindings?.amqp).toMatchObject({
      exchange: {
        name: 'orders.later',
        'x-type': 'x-delayed-message',
        'x-arguments': { 'x-delayed-type': 'topic' },
      },
    });
    expect(channels.audit?.bindings?.amqp).toMatchObject({
      exchange: { type: 'headers', autoDelete: true },
    });
    expect(channels['orders.work']).toMatchObject({
      address: 'orders.work',
      description: 'Orders to fulfil.\nOne worker per warehouse.',
      bindings: {
        amqp: {
          is: 'queue',
          queue: {
            name: 'orders.work',
            durable: true,
            exclusive: false,
            autoDelete: false,
            'x-arguments': {
              'x-delivery-limit': 5,
              'x-message-ttl': 60_000,
              'x-queue-type': 'quorum',
              'x-dead-letter-exchange': 'orders.dead',
            },
          },
          'x-bindings': [{ exchange: 'orders', routingKey: 'order.created' }],
        },
      },
    });
    expect(channels['audit.eu']?.bindings?.amqp).toMatchObject({
      'x-bindings': [
        { exchange: 'audit', routingKey: '', arguments: { 'x-match': 'all', region: 'eu' } },
      ],
    });
  });

  it('describes each kind of message: its type property, JSON, and its body schema', () => {
    const { messages } = asyncApi(shop).components;
    expect(messages['order.created']).toMatchObject({
      name: 'order.created',
      title: 'order.created',
      summary: 'An order was placed.',
      description: 'Sent once per order, when it is paid.',
      contentType: 'application/json',
      bindings: { amqp: { messageType: 'order.created', bindingVersion: '0.3.0' } },
      // What travels is what the publisher sends: the transform's input, the default optional.
      payload: {
        type: 'object',
        properties: { note: { type: 'string' } },
        required: ['id', 'note', 'category'],
      },
    });
    // A name AsyncAPI does not take as a key is made one; the message keeps its name.
    expect(messages.audit__entry__1?.name).toBe('audit: entry #1');
    expect(messages['order.due']?.['x-unrepresentable']).toEqual([
      '/properties/at: Date cannot be represented in JSON Schema',
      '/properties/cents: BigInt cannot be represented in JSON Schema',
    ]);
    expect(messages['order.created']?.['x-unrepresentable']).toBeUndefined();
  });

  it('points a recursive schema at itself inside the document', async () => {
    const document = asyncApi(shop);
    const payload = document.components.messages['order.created']?.payload as unknown as {
      properties: { category: AsyncApiReference };
    };
    const category = resolve(document, payload.properties.category) as {
      properties: { children: { items: AsyncApiReference } };
    };
    expect(resolve(document, category.properties.children.items)).toBe(category);
    const node = z.object({
      name: z.string(),
      get next() {
        return node.optional();
      },
    });
    const list = defineMessage('list', node);
    const root = asyncApi(defineContract({ messages: { list } })).components.messages.list;
    expect(root?.payload.properties).toMatchObject({
      next: { allOf: [{ $ref: '#/components/messages/list/payload' }] },
    });
    await expectValid(asyncApi(defineContract({ messages: { list } })));
  });

  it('gives two routes of one name two operations, kept apart by their kind', () => {
    const { operations } = asyncApi(shop);
    expect(operations.audit?.action).toBe('send');
    expect(operations['audit.consumer']?.action).toBe('receive');
    expect(operations.price?.action).toBe('send');
    expect(operations['price.serve']?.action).toBe('receive');
  });

  it('keeps names that are special to JavaScript objects, such as __proto__', async () => {
    const queue = defineQueue('__proto__');
    const message = defineMessage('__proto__', z.object({ ['__proto__']: z.string() }));
    const contract = defineContract({
      queues: { queue },
      consumers: { ['__proto__']: defineConsumer(queue, message) },
    });
    const document = asyncApi(contract);
    expect(Object.keys(document.channels)).toEqual(['__proto__']);
    expect(Object.keys(document.operations)).toEqual(['__proto__']);
    expect(Object.keys(document.components.messages)).toEqual(['__proto__']);
    const { payload } = Object.values(document.components.messages)[0] ?? {};
    expect(Object.keys(payload?.properties ?? {})).toEqual(['__proto__']);
    expectEveryRoute(contract, document);
    expect(parseYaml(asyncApiYaml(contract))).toEqual(JSON.parse(asyncApiJson(contract)));
  });

  it('gives the same document for the same contract, key for key', () => {
    expect(asyncApiJson(shop)).toBe(asyncApiJson(shop));
    expect(asyncApiYaml(shop)).toBe(asyncApiYaml(shop));
  });

  it('writes YAML that reads back as its JSON, and that @asyncapi/parser accepts', async () => {
    const options = { servers: { production: 'amqps://broker.example.com/shop' } };
    const yaml = asyncApiYaml(shop, options);
    expect(parseYaml(yaml)).toEqual(JSON.parse(asyncApiJson(shop, options)));
    await expectValid(yaml);
  });

  it('lists servers without their credentials, and their vhost in the bindings', async () => {
    const document = asyncApi(shop, {
      servers: {
        production: 'amqps://app:s3cret@broker.example.com:5671/shop%2Feu?heartbeat=30',
        local: new URL('amqp://localhost/shop%2Feu'),
      },
    });
    expect(document.servers).toEqual({
      production: {
        host: 'broker.example.com:5671',
        protocol: 'amqps',
        protocolVersion: '0.9.1',
        pathname: '/shop%2Feu',
      },
      local: {
        host: 'localhost',
        protocol: 'amqp',
        protocolVersion: '0.9.1',
        pathname: '/shop%2Feu',
      },
    });
    const text = JSON.stringify(document);
    expect(text).not.toContain('s3cret');
    expect(text).not.toContain('app:');
    expect(text).not.toContain('heartbeat');
    expect(document.channels.prices?.bindings?.amqp).toMatchObject({ queue: { vhost: 'shop/eu' } });
    await expectValid(document);
    // Servers on different vhosts: the bindings name none, unless told.
    const apart = asyncApi(shop, { servers: { a: 'amqp://a/x', b: 'amqp://b' } });
    expect(apart.channels.prices?.bindings?.amqp).toMatchObject({ queue: { name: 'prices' } });
    expect(JSON.stringify(apart.channels)).not.toContain('vhost');
    const told = asyncApi(shop, { servers: { a: 'amqp://a/x' }, vhost: 'y' });
    expect(told.channels.prices?.bindings?.amqp).toMatchObject({ queue: { vhost: 'y' } });
  });

  it('makes a valid document of an empty contract', async () => {
    const document = asyncApi(empty);
    expect(document).toMatchObject({
      info: { title: 'Nothing', version: '1.0.0' },
      channels: {},
      operations: {},
      components: { messages: {} },
    });
    await expectValid(document);
    expect(asyncApi(defineContract({})).info).toEqual({ title: 'AMQP contract', version: '1.0.0' });
  });

  it('refuses what is not a contract, an unknown option and a URL that is not AMQP', () => {
    expect(() => asyncApi({} as Contract)).toThrow(TypeError);
    expect(() => asyncApi(shop, { server: 'amqp://x' } as never)).toThrow(
      /unknown option 'server'/,
    );
    expect(() => asyncApi(shop, { vhost: 1 } as never)).toThrow(TypeError);
    expect(() => asyncApi(shop, { servers: { a: 5 } } as never)).toThrow(TypeError);
    expect(() => asyncApi(shop, { servers: { a: 'http://x' } })).toThrow(RangeError);
    expect(() => asyncApi(shop, { servers: { a: 'not a url' } })).toThrow(RangeError);
    expect(() => asyncApi(shop, { servers: { a: 'amqp://x/a/b' } })).toThrow(/one path segment/);
    // A URL that does not parse is not echoed: it may hold a password.
    expect(() => asyncApi(shop, { servers: { a: 'amqp://u:s3cret@[x' } })).toThrow(
      expect.objectContaining({ message: expect.not.stringContaining('s3cret') }),
    );
  });

  // The parser takes about a second a document, more on a loaded machine.
  it('makes a valid document holding every route for contracts with arbitrary names', {
    timeout: 120_000,
  }, async () => {
    // Names with what a key or a reference must escape: `/`, `~`, `#`, spaces, `{…}`, non-ASCII.
    const name = fc.string({
      minLength: 1,
      maxLength: 12,
      unit: fc.constantFrom('a', 'b', '.', '/', '~', '#', ' ', '{', '}', 'é', '*', '-'),
    });
    const contracts = fc
      .record({
        exchange: name,
        queue: name,
        other: name,
        key: fc.oneof(name, fc.constant('')),
        messages: fc.uniqueArray(name, { minLength: 2, maxLength: 3 }),
        routes: fc.uniqueArray(name, { minLength: 4, maxLength: 4 }),
        type: fc.constantFrom('direct', 'topic', 'fanout', 'headers', 'x-consistent-hash'),
      })
      .filter(({ queue, other }) => queue !== other)
      .map(({ exchange, queue, other, key, messages, routes, type }) => {
        const defined = messages.map((text) => defineMessage(text, z.object({ text: z.string() })));
        const [first, second] = defined as unknown as [MessageDefinition, MessageDefinition];
        const ex = defineExchange(exchange, type);
        const q = defineQueue(queue);
        const o = defineQueue(other);
        const [p, c, r, d] = routes as [string, string, string, string];
        return defineContract({
          exchanges: { ex },
          queues: { q, o },
          bindings: [defineBinding(q, ex, key)],
          publishers: { [p]: definePublisher(ex, key, first), [d]: definePublisher(q, second) },
          consumers: { [c]: defineConsumer(q, defined) },
          rpc: { [r]: defineRpc(o, first, second) },
        });
      });
    const samples = fc.sample(contracts, { numRuns: 5, seed: 13 });
    for (const contract of samples) {
      const document = asyncApi(contract);
      expectEveryRoute(contract, document);
      await expectValid(document);
      expect(parseYaml(asyncApiYaml(contract))).toEqual(JSON.parse(asyncApiJson(contract)));
    }
  });
});
