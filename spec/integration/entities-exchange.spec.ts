/**
 * Exchange entities against RabbitMQ: declaring every type with its options,
 * passive declares, deleting, exchange-to-exchange bindings, the default
 * exchange, and routing keys at the 255-byte limit. What routes where is
 * checked by publishing mandatory on a confirm channel (an unroutable
 * message rejects with NO_ROUTE) and fetching from the queues.
 */
import { describe, expect, inject, it } from 'vitest';
import {
  type Channel,
  type Connection,
  Exchange,
  ExchangeBinding,
  type ExchangeType,
  Message,
} from '../../lib/index.js';
import {
  channelError,
  deleteAfterTest,
  drain,
  exchangeExists,
  route,
  uniqueName,
  useConnection,
  waitFor,
} from '../support/amqp-helpers.js';

const url = inject('amqpUrl');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

/** An exchange declared for this test only (deleted when it ends). */
async function tempExchange(
  channel: Channel,
  type: ExchangeType,
  options: Parameters<Channel['declareExchange']>[2] = {},
): Promise<Exchange> {
  const name = uniqueName(`ex-${type}`);
  deleteAfterTest(connection, 'exchange', name);
  return channel.declareExchange(name, type, options);
}

describe('declaring exchanges', () => {
  it('declares each type, and the broker routes by that type', async () => {
    const channel = await openChannel(true);
    const routed: Record<string, string[]> = {};
    const received: Record<string, string[]> = {};
    for (const type of ['direct', 'fanout', 'topic', 'headers'] as const) {
      const exchange = await tempExchange(channel, type);
      expect(exchange).toBeInstanceOf(Exchange);
      expect(exchange.type).toBe(type);
      expect(exchange.channel).toBe(channel);
      const queue = await channel.declareQueue('', { exclusive: true });
      await queue.bind(exchange, 'a.*', { arguments: { 'x-match': 'all', kind: 'a' } });
      // The same three publishes to each: only the exchange type decides which are routed.
      routed[type] = [
        await route(exchange, 'a.*', 'exact'),
        await route(exchange, 'a.b', 'pattern'),
        await route(exchange, 'other', new Message('headers', { headers: { kind: 'a' } })),
      ];
      received[type] = await drain(queue);
    }
    expect(routed).toEqual({
      direct: ['routed', 'NO_ROUTE', 'NO_ROUTE'],
      fanout: ['routed', 'routed', 'routed'],
      topic: ['routed', 'routed', 'NO_ROUTE'],
      headers: ['NO_ROUTE', 'NO_ROUTE', 'routed'],
    });
    expect(received).toEqual({
      direct: ['exact'],
      fanout: ['exact', 'pattern', 'headers'],
      topic: ['exact', 'pattern'],
      headers: ['headers'],
    });
  });

  it('keeps what it was declared with; a handle, what its options said', async () => {
    const channel = await openChannel();
    const declared = await tempExchange(channel, 'topic', {
      durable: true,
      internal: true,
      arguments: { 'alternate-exchange': 'elsewhere' },
    });
    expect(declared).toMatchObject({
      type: 'topic',
      durable: true,
      autoDelete: false,
      internal: true,
      arguments: { 'alternate-exchange': 'elsewhere' },
    });
    const passive = await channel.declareExchange(declared.name, 'topic', { passive: true });
    expect(passive).toMatchObject({ type: 'topic', durable: undefined, internal: undefined });
    const handle = channel.exchange(declared.name);
    expect([handle.type, handle.durable, handle.autoDelete, handle.internal]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    expect(handle.arguments).toBeUndefined();
    const described = channel.exchange(declared.name, { type: 'topic', durable: true });
    expect(described).toMatchObject({ type: 'topic', durable: true, internal: undefined });
  });

  it('declares a durable exchange by default: the broker refuses to redeclare it transient', async () => {
    const channel = await openChannel();
    const exchange = await tempExchange(channel, 'direct');
    expect(exchange.durable).toBe(true);
    const other = await openChannel();
    const error = await channelError(
      other.declareExchange(exchange.name, 'direct', { durable: false }),
    );
    expect(error).toMatchObject({
      code: 'PRECONDITION_FAILED',
      replyCode: 406,
      method: 'exchange.declare',
    });
    expect(error.replyText).toMatch(/durable/);
    // The same settings are fine.
    await channel.declareExchange(exchange.name, 'direct', { durable: true });
    await channel.declareExchange(exchange.name, 'direct');
    expect(channel.isOpen).toBe(true);
  });

  it('declares an auto-delete exchange: the broker deletes it with its last binding', async () => {
    const channel = await openChannel();
    const exchange = await tempExchange(channel, 'fanout', { autoDelete: true });
    const queue = await channel.declareQueue('', { exclusive: true });
    const binding = await queue.bind(exchange);
    expect(await exchangeExists(connection, exchange.name)).toBe(true);
    await binding.unbind();
    await waitFor(async () => !(await exchangeExists(connection, exchange.name)));
  });

  it('declares an internal exchange: reachable through a binding, not by publishing', async () => {
    const channel = await openChannel(true);
    const internal = await tempExchange(channel, 'fanout', { internal: true });
    const front = await tempExchange(channel, 'direct');
    const queue = await channel.declareQueue('', { exclusive: true });
    await queue.bind(internal);
    await internal.bind(front, 'in');
    expect(await route(front, 'in', 'through the front')).toBe('routed');
    const message = await queue.get({ noAck: true });
    expect(message?.text()).toBe('through the front');
    expect(message?.exchange).toBe(front.name);

    const direct = await openChannel();
    await direct.exchange(internal.name).publish('straight in');
    const error = await direct.closed;
    expect(error).toMatchObject({
      code: 'ACCESS_REFUSED',
      replyCode: 403,
      method: 'basic.publish',
    });
    expect(connection.isOpen).toBe(true);
    expect(await queue.get()).toBeNull();
  });

  it('declares with arguments: unroutable messages fall back to the alternate exchange', async () => {
    const channel = await openChannel(true);
    const alternate = await tempExchange(channel, 'fanout');
    const main = await tempExchange(channel, 'direct', {
      arguments: { 'alternate-exchange': alternate.name },
    });
    const mainQueue = await channel.declareQueue('', { exclusive: true });
    const fallbackQueue = await channel.declareQueue('', { exclusive: true });
    await mainQueue.bind(main, 'known');
    await fallbackQueue.bind(alternate);

    expect(await route(main, 'known', 'to main')).toBe('routed');
    expect(await route(main, 'unknown', 'to the alternate')).toBe('routed');
    expect(await drain(mainQueue)).toEqual(['to main']);
    const fallback = await fallbackQueue.get({ noAck: true });
    expect(fallback?.text()).toBe('to the alternate');
    expect(fallback?.exchange).toBe(main.name);
    expect(fallback?.routingKey).toBe('unknown');
  });

  it('passively declares an existing exchange, and fails with 404 on a missing one', async () => {
    const channel = await openChannel();
    const exchange = await tempExchange(channel, 'topic');
    const passive = await channel.declareExchange(exchange.name, 'topic', { passive: true });
    expect(passive.name).toBe(exchange.name);
    await channel.declareExchange('amq.direct', 'direct', { passive: true });

    const missing = uniqueName('ex-missing');
    const error = await channelError(channel.declareExchange(missing, 'direct', { passive: true }));
    expect(error).toMatchObject({ code: 'NOT_FOUND', replyCode: 404, method: 'exchange.declare' });
    expect(error.replyText).toContain(missing);
    expect(channel.isOpen).toBe(false);
    expect(await channel.closed).toBe(error);
    expect(connection.isOpen).toBe(true);
    // The broker did not create it, and the connection still works.
    expect(await exchangeExists(connection, missing)).toBe(false);
  });
});

describe('deleting exchanges', () => {
  it('deletes an exchange: a passive declare then fails with 404', async () => {
    const channel = await openChannel();
    const exchange = await tempExchange(channel, 'direct');
    await exchange.delete();
    const error = await channelError(
      channel.declareExchange(exchange.name, 'direct', { passive: true }),
    );
    expect(error).toMatchObject({ code: 'NOT_FOUND', replyCode: 404, method: 'exchange.declare' });
    expect(channel.isOpen).toBe(false);
    expect(connection.isOpen).toBe(true);
  });

  it('deletes with ifUnused only an exchange without bindings', async () => {
    const channel = await openChannel();
    const exchange = await tempExchange(channel, 'direct');
    const queue = await channel.declareQueue('', { exclusive: true });
    const binding = await queue.bind(exchange, 'k');

    const error = await channelError(exchange.delete({ ifUnused: true }));
    expect(error).toMatchObject({
      code: 'PRECONDITION_FAILED',
      replyCode: 406,
      method: 'exchange.delete',
    });
    expect(await exchangeExists(connection, exchange.name)).toBe(true);

    // Once the binding is gone (unbound on a fresh channel: the first one is closed), it goes.
    const again = await openChannel();
    const rebound = await again.queue(queue.name).bind(exchange.name, 'k');
    expect(rebound.routingKey).toBe(binding.routingKey);
    await rebound.unbind();
    await again.exchange(exchange.name).delete({ ifUnused: true });
    expect(await exchangeExists(connection, exchange.name)).toBe(false);
  });
});

describe('exchange-to-exchange bindings', () => {
  it('routes from the source to queues bound to the destination until unbound', async () => {
    const channel = await openChannel(true);
    const source = await tempExchange(channel, 'direct');
    const destination = await tempExchange(channel, 'fanout');
    const queue = await channel.declareQueue('', { exclusive: true });
    await queue.bind(destination);

    const binding = await destination.bind(source, 'forward');
    expect(binding).toBeInstanceOf(ExchangeBinding);
    expect(binding.destination).toBe(destination);
    expect(binding.source).toBe(source);
    expect(binding.routingKey).toBe('forward');
    expect(binding.arguments).toEqual({});

    expect(await route(source, 'forward', 'one')).toBe('routed');
    expect(await route(source, 'elsewhere', 'two')).toBe('NO_ROUTE');
    const message = await queue.get({ noAck: true });
    expect(message?.text()).toBe('one');
    expect(message?.exchange).toBe(source.name);
    expect(message?.routingKey).toBe('forward');
    expect(await queue.get()).toBeNull();

    await binding.unbind();
    expect(await route(source, 'forward', 'three')).toBe('NO_ROUTE');
    expect(await queue.get()).toBeNull();
    // The destination itself still routes.
    expect(await route(destination, 'any', 'four')).toBe('routed');
    expect(await drain(queue)).toEqual(['four']);
  });

  it('binds by source name, with arguments for a headers source', async () => {
    const channel = await openChannel(true);
    const source = await tempExchange(channel, 'headers');
    const destination = await tempExchange(channel, 'fanout');
    const queue = await channel.declareQueue('', { exclusive: true });
    await queue.bind(destination);
    const binding = await destination.bind(source.name, '', {
      arguments: { 'x-match': 'any', a: 1, b: 2 },
    });
    expect(binding.arguments).toEqual({ 'x-match': 'any', a: 1, b: 2 });
    // Bound by name: the source is a handle for it, on the destination's channel.
    expect(binding.source).toBeInstanceOf(Exchange);
    expect(binding.source).toMatchObject({ name: source.name, channel, type: undefined });

    expect(await route(source, '', new Message('b', { headers: { b: 2 } }))).toBe('routed');
    expect(await route(source, '', new Message('c', { headers: { c: 3 } }))).toBe('NO_ROUTE');
    await binding.unbind(); // matched by its arguments too
    expect(await route(source, '', new Message('a', { headers: { a: 1 } }))).toBe('NO_ROUTE');
    expect(await drain(queue)).toEqual(['b']);
  });
});

describe('the default exchange', () => {
  it("channel.exchange('') publishes straight to the queue of that name", async () => {
    const channel = await openChannel(true);
    const queue = await channel.declareQueue(uniqueName('default'), { exclusive: true });
    const exchange = channel.exchange('');
    expect(exchange.name).toBe('');
    expect(exchange.type).toBeUndefined();
    expect(await route(exchange, queue.name, 'direct to you')).toBe('routed');
    expect(await route(exchange, uniqueName('no-such-queue'), 'lost')).toBe('NO_ROUTE');
    const message = await queue.get({ noAck: true });
    expect(message?.text()).toBe('direct to you');
    expect(message?.exchange).toBe('');
    expect(message?.routingKey).toBe(queue.name);
  });
});

describe('routing keys', () => {
  it('takes one of 255 bytes; refuses 256 bytes of UTF-8 before sending anything', async () => {
    const channel = await openChannel(true);
    // The longest queue name, which the default exchange routes by: 255 bytes.
    const name = uniqueName('long').padEnd(255, 'x');
    const queue = await channel.declareQueue(name, { exclusive: true });
    expect(await route(channel.exchange(''), name, 'at the limit')).toBe('routed');

    const tooLong = 'é'.repeat(128); // 128 characters, 256 bytes
    const exchange = await tempExchange(channel, 'direct');
    await expect(exchange.publish('over', tooLong)).rejects.toThrow(RangeError);
    await expect(queue.bind(exchange, tooLong)).rejects.toThrow(RangeError);
    await expect(exchange.bind('amq.direct', tooLong)).rejects.toThrow(RangeError);

    // Nothing reached the broker: the channel is open, and the queue holds only the first.
    expect(await route(exchange, 'after', 'after')).toBe('NO_ROUTE');
    expect(channel.isOpen).toBe(true);
    expect(await drain(queue)).toEqual(['at the limit']);
  });
});
