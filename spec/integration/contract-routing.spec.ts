/**
 * The contract's routing model (lib/contract/routing.ts) against RabbitMQ: the
 * broker routes a set of tricky keys through topic and headers bindings, and
 * the matchers must agree with every delivery; and exchange-to-exchange
 * bindings may form a cycle, which the broker accepts and routes through
 * once, so a contract check must not refuse one.
 *
 * And the warnings of a contract agree with the broker: a publisher is
 * warned of exactly when the broker returns its mandatory message unrouted.
 *
 * Each case publishes on a confirm channel (so everything is routed before
 * the queues are read) and reads every queue empty.
 */
import { describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import { type Contract, defineContract } from '../../lib/contract/contract.js';
import {
  defineBinding,
  defineExchange,
  defineExchangeBinding,
  defineMessage,
  definePublisher,
  defineQueue,
} from '../../lib/contract/model.js';
import { headersMatch, topicMatches } from '../../lib/contract/routing.js';
import {
  type Channel,
  type Connection,
  type Exchange,
  type ExchangeType,
  Field,
  type FieldTable,
  Message,
  type Queue,
} from '../../lib/index.js';
import {
  channelError,
  deleteAfterTest,
  drain,
  route,
  uniqueName,
  useConnection,
} from '../support/amqp-helpers.js';

const url = inject('amqpUrl');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

async function tempExchange(channel: Channel, type: ExchangeType): Promise<Exchange> {
  const name = uniqueName(`ex-${type}`);
  deleteAfterTest(connection, 'exchange', name);
  return channel.declareExchange(name, type, { durable: false });
}

async function tempQueue(channel: Channel): Promise<Queue> {
  return channel.declareQueue('', { exclusive: true });
}

/** What each queue received: the numbers of the messages, published as their bodies. */
async function received(queues: readonly Queue[]): Promise<number[][]> {
  const got: number[][] = [];
  for (const queue of queues) got.push((await drain(queue)).map(Number).sort((a, b) => a - b));
  return got;
}

describe('the topic matcher against the broker', () => {
  const bindingKeys = [
    '',
    '#',
    '*',
    '#.#',
    '*.*',
    'a',
    'a.#',
    '#.b',
    'a.#.b',
    'a.#.#.b',
    '#.a.#',
    'a.*',
    '*.b',
    'a.*.b',
    'a..b',
    'a.',
    '.a',
    '*.',
    '#.*',
    '*.#',
    'a*',
  ];
  const routingKeys = [
    '',
    'a',
    'b',
    'a.b',
    'a..b',
    'a.x.b',
    'a.x.y.b',
    '.',
    '..',
    'a.',
    '.a',
    'b.a',
    'x.a.y',
    'a.b.c',
    'a.*',
    'a*',
    '#',
  ];

  it('routes each key to exactly the bindings topicMatches says match', async () => {
    const channel = await openChannel(true);
    const exchange = await tempExchange(channel, 'topic');
    const queues: Queue[] = [];
    for (const bindingKey of bindingKeys) {
      const queue = await tempQueue(channel);
      await queue.bind(exchange, bindingKey);
      queues.push(queue);
    }
    for (const [index, routingKey] of routingKeys.entries()) {
      await exchange.publish(String(index), routingKey);
    }
    const expected = bindingKeys.map((bindingKey) =>
      routingKeys.flatMap((routingKey, index) =>
        topicMatches(bindingKey, routingKey) ? [index] : [],
      ),
    );
    expect(await received(queues)).toEqual(expected);
    // The matcher is not trivially all-or-nothing on these keys.
    expect(expected.flat().length).toBeGreaterThan(routingKeys.length);
    expect(expected.some((indexes) => indexes.length === 0)).toBe(false);
  });
});

describe('the headers matcher against the broker', () => {
  const bindings: FieldTable[] = [
    { 'x-match': 'all', a: 1, b: 'x' },
    { 'x-match': 'any', a: 1, b: 'x' },
    { a: 1 },
    { 'x-match': 'all' },
    { 'x-match': 'any' },
    { 'x-match': 'all', 'x-tag': 'blue' },
    { 'x-match': 'any', 'x-tag': 'blue', a: 2 },
    { 'x-match': 'all-with-x', 'x-tag': 'blue' },
    { 'x-match': 'any-with-x', 'x-tag': 'blue', a: 2 },
    { 'x-match': 'all', a: null },
    { 'x-match': 'all', a: Field.int16(1) },
  ];
  const messages: FieldTable[] = [
    {},
    { a: 1 },
    { a: 1, b: 'x' },
    { b: 'x' },
    { a: 2 },
    { 'x-tag': 'blue' },
    { a: Field.float64(1) },
    { a: 1n },
    { a: '1' },
    { a: null },
    { a: 1, b: 'y', c: true },
  ];

  it('routes each message to exactly the bindings headersMatch says match', async () => {
    const channel = await openChannel(true);
    const exchange = await tempExchange(channel, 'headers');
    const queues: Queue[] = [];
    for (const args of bindings) {
      const queue = await tempQueue(channel);
      await queue.bind(exchange, '', { arguments: args });
      queues.push(queue);
    }
    for (const [index, headers] of messages.entries()) {
      await exchange.publish(new Message(String(index), { headers }));
    }
    const expected = bindings.map((args) =>
      messages.flatMap((headers, index) => (headersMatch(args, headers) ? [index] : [])),
    );
    expect(await received(queues)).toEqual(expected);
    expect(expected.some((indexes) => indexes.length === 0)).toBe(true);
    expect(expected.flat().length).toBeGreaterThan(messages.length);
  });
});

describe('what the contract checks refuse, the broker refuses', () => {
  it('refuses a headers binding with another x-match, but not one of another exchange type', async () => {
    const channel = await openChannel();
    const tagged = await tempExchange(channel, 'headers');
    const direct = await tempExchange(channel, 'direct');
    const queue = await tempQueue(channel);
    const badMatch = { arguments: { 'x-match': 'some' } };
    await queue.bind(direct, 'key', badMatch);
    const error = await channelError(queue.bind(tagged, '', badMatch));
    expect(error).toMatchObject({ code: 'PRECONDITION_FAILED', method: 'queue.bind' });
    expect(error.replyText).toMatch(/x-match/);
  });
});

describe('exchange-to-exchange cycles', () => {
  it('are accepted by the broker, and route each message to each queue once', async () => {
    const channel = await openChannel(true);
    const first = await tempExchange(channel, 'fanout');
    const second = await tempExchange(channel, 'fanout');
    await second.bind(first);
    await first.bind(second);
    await first.bind(first);
    const atFirst = await tempQueue(channel);
    const atSecond = await tempQueue(channel);
    await atFirst.bind(first);
    await atSecond.bind(second);
    await first.publish('1');
    await second.publish('2');
    expect(await received([atFirst, atSecond])).toEqual([
      [1, 2],
      [1, 2],
    ]);
    expect(channel.isOpen).toBe(true);
  });
});

/** Declares a contract's topology by hand (its exchanges, queues, bindings), for this test only. */
async function declare(channel: Channel, contract: Contract): Promise<Map<string, Exchange>> {
  const exchanges = new Map<string, Exchange>();
  for (const { name, type, durable, autoDelete, internal, arguments: args } of contract.exchanges) {
    deleteAfterTest(connection, 'exchange', name);
    const options = { durable, autoDelete, internal, arguments: { ...args } };
    exchanges.set(name, await channel.declareExchange(name, type, options));
  }
  for (const { name, durable, exclusive, autoDelete, arguments: args } of contract.queues) {
    deleteAfterTest(connection, 'queue', name);
    await channel.declareQueue(name, { durable, exclusive, autoDelete, arguments: { ...args } });
  }
  for (const binding of contract.bindings) {
    const options = { arguments: { ...binding.arguments } };
    if (binding.kind === 'queueBinding') {
      await channel
        .queue(binding.queue.name)
        .bind(binding.exchange.name, binding.routingKey, options);
    } else {
      await channel
        .exchange(binding.destination.name)
        .bind(binding.source.name, binding.routingKey, options);
    }
  }
  return exchanges;
}

describe('the warnings of a contract against the broker', () => {
  it('warn of a publisher exactly when the broker returns its message unrouted', async () => {
    const name = (what: string) => uniqueName(`contract-${what}`);
    const orders = defineExchange(name('orders'), 'topic', { durable: false });
    const audit = defineExchange(name('audit'), 'fanout', { durable: false });
    const fallback = defineExchange(name('fallback'), 'fanout', { durable: false });
    const front = defineExchange(name('front'), 'direct', {
      durable: false,
      arguments: { 'alternate-exchange': fallback.name },
    });
    const work = defineQueue(name('work'), { durable: false });
    const log = defineQueue(name('log'), { durable: false });
    const lost = defineQueue(name('lost'), { durable: false });
    const event = defineMessage('event', z.string());
    const publish = (exchange: typeof orders, key: string) => definePublisher(exchange, key, event);
    const contract = defineContract({
      exchanges: { orders, audit, fallback, front },
      queues: { work, log, lost },
      bindings: [
        defineBinding(work, orders, 'order.*.eu'),
        defineExchangeBinding(audit, orders, 'audit.#'),
        defineExchangeBinding(orders, audit),
        defineBinding(log, audit),
        defineBinding(work, front, 'known'),
        defineBinding(lost, fallback, '', {}),
      ],
      publishers: {
        created: publish(orders, 'order.created.eu'),
        shortKey: publish(orders, 'order.eu'),
        audited: publish(orders, 'audit'),
        auditedDeep: publish(orders, 'audit.a.b'),
        other: publish(orders, 'invoice.paid'),
        emptyWord: publish(orders, 'order..eu'),
        known: publish(front, 'known'),
        unknown: publish(front, 'unknown'),
      },
    });
    const channel = await openChannel(true);
    const exchanges = await declare(channel, contract);
    const outcomes: Record<string, string> = {};
    for (const [handle, publisher] of Object.entries(contract.parts.publishers)) {
      const exchange = exchanges.get(publisher.exchange?.name ?? '') as Exchange;
      outcomes[handle] = await route(exchange, publisher.routingKey, 'x');
    }
    const warned = contract.warnings.map(({ part }) => part.replace('publishers.', ''));
    const returned = Object.keys(outcomes).filter((handle) => outcomes[handle] === 'NO_ROUTE');
    expect(warned).toEqual(returned);
    expect(returned).toEqual(['shortKey', 'other']);
  });
});
