/**
 * Queue entities against RabbitMQ: declaring (named, server-named, durable,
 * exclusive, auto-delete, with arguments, passive), binding and unbinding by
 * routing key and by headers, purging and deleting. Every check is of what
 * the broker reports: passive declares, routing of mandatory publishes on a
 * confirm channel, and what `get` fetches.
 */
import { describe, expect, inject, it } from 'vitest';
import {
  AmqpError,
  type Channel,
  ChannelError,
  type Connection,
  connect,
  Exchange,
  Message,
  Queue,
  QueueBinding,
} from '../../lib/index.js';
import {
  channelError,
  collect,
  deleteAfterTest,
  drain,
  queueCounts,
  queueExists,
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

/** A named, non-exclusive queue for this test only (deleted when it ends). */
async function tempQueue(
  channel: Channel,
  options: Parameters<Channel['declareQueue']>[1] = {},
): Promise<Queue> {
  const name = uniqueName('q');
  deleteAfterTest(connection, 'queue', name);
  return channel.declareQueue(name, options);
}

/** An exchange for this test only (deleted when it ends). */
async function tempExchange(channel: Channel, type: string): Promise<Exchange> {
  const name = uniqueName(`ex-${type}`);
  deleteAfterTest(connection, 'exchange', name);
  return channel.declareExchange(name, type);
}

describe('declaring queues', () => {
  it('declares a named queue and reports its counts', async () => {
    const channel = await openChannel(true);
    const queue = await tempQueue(channel);
    expect(queue).toBeInstanceOf(Queue);
    expect(queue.channel).toBe(channel);
    expect(queue.declared).toEqual({ messageCount: 0, consumerCount: 0 });
    expect(await queueCounts(connection, queue.name)).toEqual({
      messageCount: 0,
      consumerCount: 0,
    });
    await channel.exchange('').publish('one', queue.name);
    await channel.exchange('').publish('two', queue.name);
    // Redeclaring reports what the queue holds now.
    const again = await channel.declareQueue(queue.name);
    expect(again.declared).toEqual({ messageCount: 2, consumerCount: 0 });
    const passive = await channel.declareQueue(queue.name, { passive: true });
    expect(passive.declared).toEqual({ messageCount: 2, consumerCount: 0 });
  });

  it('keeps what it was declared with; a handle, what its options said', async () => {
    const channel = await openChannel();
    const declared = await tempQueue(channel, {
      durable: true,
      autoDelete: true,
      arguments: { 'x-max-length': 10 },
    });
    expect(declared).toMatchObject({
      durable: true,
      exclusive: false,
      autoDelete: true,
      arguments: { 'x-max-length': 10 },
    });
    const passive = await channel.declareQueue(declared.name, { passive: true });
    expect(passive).toMatchObject({ durable: undefined, exclusive: undefined });
    const handle = channel.queue(declared.name);
    expect([handle.durable, handle.exclusive, handle.autoDelete, handle.arguments]).toEqual([
      undefined,
      undefined,
      undefined,
      undefined,
    ]);
    const described = channel.queue(declared.name, {
      durable: true,
      arguments: { 'x-queue-type': 'quorum' },
    });
    expect(described).toMatchObject({
      durable: true,
      exclusive: undefined,
      arguments: { 'x-queue-type': 'quorum' },
    });
    // Only described: nothing was sent, so the channel did not fail on the mismatch.
    expect(channel.isOpen).toBe(true);
    expect(await queueCounts(connection, declared.name)).toEqual({
      messageCount: 0,
      consumerCount: 0,
    });
  });

  it('declares a server-named queue: the broker picks an amq.gen- name', async () => {
    const channel = await openChannel();
    const first = await channel.declareQueue('', { exclusive: true });
    const second = await channel.declareQueue(undefined, { exclusive: true });
    expect(first.name).toMatch(/^amq\.gen-/);
    expect(second.name).toMatch(/^amq\.gen-/);
    expect(second.name).not.toBe(first.name);
    expect((await channel.declareQueue(first.name, { passive: true })).name).toBe(first.name);
  });

  it('declares a named queue durable by default: the broker refuses to redeclare it transient', async () => {
    const channel = await openChannel();
    const queue = await tempQueue(channel);
    expect(queue.durable).toBe(true);
    const other = await openChannel();
    const error = await channelError(other.declareQueue(queue.name, { durable: false }));
    expect(error).toMatchObject({
      code: 'PRECONDITION_FAILED',
      replyCode: 406,
      method: 'queue.declare',
    });
    expect(error.replyText).toMatch(/durable/);
    await channel.declareQueue(queue.name, { durable: true });
  });

  it('declares server-named and exclusive queues non-durable by default', async () => {
    const channel = await openChannel();
    const serverNamed = await channel.declareQueue();
    const exclusive = await channel.declareQueue(uniqueName('exclusive'), { exclusive: true });
    const both = await channel.declareQueue('', { exclusive: true });
    // What was sent (RabbitMQ refuses to redeclare an amq.gen- name, so it cannot tell).
    expect([serverNamed.durable, exclusive.durable, both.durable]).toEqual([false, false, false]);
    // An explicit option wins.
    const durableServerNamed = await channel.declareQueue('', { durable: true });
    expect(durableServerNamed.durable).toBe(true);
    for (const queue of [serverNamed, durableServerNamed]) {
      deleteAfterTest(connection, 'queue', queue.name);
    }
  });

  it('declares an exclusive queue: locked to its connection, gone with it', async () => {
    const owner = await connect(url);
    try {
      const channel = await owner.openChannel();
      const queue = await channel.declareQueue(uniqueName('exclusive'), { exclusive: true });
      const other = await openChannel();
      const error = await channelError(other.declareQueue(queue.name, { passive: true }));
      expect(error).toMatchObject({
        code: 'RESOURCE_LOCKED',
        replyCode: 405,
        method: 'queue.declare',
      });
      // Its own connection uses it freely, on any channel.
      const second = await owner.openChannel();
      expect((await second.declareQueue(queue.name, { passive: true })).declared).toBeDefined();
      await owner.close();
      await waitFor(async () => !(await queueExists(connection, queue.name)));
    } finally {
      await owner.close();
    }
  });

  it('declares an auto-delete queue: the broker deletes it when its last consumer goes', async () => {
    const channel = await openChannel();
    const queue = await tempQueue(channel, { autoDelete: true });
    const consumer = await queue.consume(() => {}, { noAck: true });
    expect((await queueCounts(connection, queue.name))?.consumerCount).toBe(1);
    await consumer.cancel();
    await waitFor(async () => !(await queueExists(connection, queue.name)));
  });

  it('declares with x-message-ttl: a message expires from the queue', async () => {
    const channel = await openChannel(true);
    const queue = await channel.declareQueue(uniqueName('ttl'), {
      exclusive: true,
      arguments: { 'x-message-ttl': 50 },
    });
    // Confirmed and routed: the message was in the queue.
    expect(await route(channel.exchange(''), queue.name, 'short-lived')).toBe('routed');
    await waitFor(async () => (await queue.get({ noAck: true })) === null, 5_000, 'expiry');
    // The broker recorded the argument: redeclaring without it is refused.
    const error = await channelError(channel.declareQueue(queue.name, { exclusive: true }));
    expect(error.replyCode).toBe(406);
    expect(error.replyText).toContain('x-message-ttl');
  });

  it('declares with x-max-length: the oldest messages are dropped', async () => {
    const channel = await openChannel(true);
    const queue = await channel.declareQueue('', {
      exclusive: true,
      arguments: { 'x-max-length': 2 },
    });
    for (const body of ['first', 'second', 'third']) {
      expect(await route(channel.exchange(''), queue.name, body)).toBe('routed');
    }
    expect((await channel.declareQueue(queue.name, { passive: true })).declared).toEqual({
      messageCount: 2,
      consumerCount: 0,
    });
    expect(await drain(queue)).toEqual(['second', 'third']);
  });

  it('fails a passive declare of a missing queue with 404, closing only the channel', async () => {
    const channel = await openChannel();
    const name = uniqueName('missing');
    const error = await channelError(channel.declareQueue(name, { passive: true }));
    expect(error).toMatchObject({ code: 'NOT_FOUND', replyCode: 404, method: 'queue.declare' });
    expect(channel.isOpen).toBe(false);
    expect(await channel.closed).toBe(error);
    expect(connection.isOpen).toBe(true);
    expect(await queueExists(connection, name)).toBe(false);
  });
});

describe('binding queues', () => {
  it('binds by routing key to a direct exchange, and unbinds', async () => {
    const channel = await openChannel(true);
    const exchange = await tempExchange(channel, 'direct');
    const queue = await channel.declareQueue('', { exclusive: true });
    const a = await queue.bind(exchange, 'a');
    const b = await queue.bind(exchange.name, 'b');
    expect(a).toBeInstanceOf(QueueBinding);
    expect(a.queue).toBe(queue);
    expect(a.exchange).toBe(exchange);
    expect(a.routingKey).toBe('a');
    expect(a.arguments).toEqual({});
    // Bound by name: the binding holds a handle for the exchange, on the queue's channel.
    expect(b.exchange).toBeInstanceOf(Exchange);
    expect(b.exchange).toMatchObject({ name: exchange.name, channel, type: undefined });

    expect([
      await route(exchange, 'a'),
      await route(exchange, 'b'),
      await route(exchange, 'c'),
    ]).toEqual(['routed', 'routed', 'NO_ROUTE']);
    await a.unbind();
    expect([await route(exchange, 'a'), await route(exchange, 'b')]).toEqual([
      'NO_ROUTE',
      'routed',
    ]);
    expect(await drain(queue)).toEqual(['a', 'b', 'b']);
  });

  it('binds with topic patterns', async () => {
    const channel = await openChannel(true);
    const exchange = await tempExchange(channel, 'topic');
    const queue = await channel.declareQueue('', { exclusive: true });
    await queue.bind(exchange, '*.orange.*');
    const lazy = await queue.bind(exchange, 'lazy.#');
    const keys = ['quick.orange.rabbit', 'lazy.brown.fox', 'lazy', 'quick.brown.fox', 'orange'];
    const outcomes = [];
    for (const key of keys) outcomes.push(await route(exchange, key));
    expect(outcomes).toEqual(['routed', 'routed', 'routed', 'NO_ROUTE', 'NO_ROUTE']);
    await lazy.unbind();
    expect(await route(exchange, 'lazy.pink.rabbit')).toBe('NO_ROUTE');
    expect(await route(exchange, 'lazy.orange.rabbit')).toBe('routed');
    expect(await drain(queue)).toEqual([
      'quick.orange.rabbit',
      'lazy.brown.fox',
      'lazy',
      'lazy.orange.rabbit',
    ]);
  });

  it('binds to a headers exchange with x-match all and any', async () => {
    const channel = await openChannel(true);
    const exchange = await tempExchange(channel, 'headers');
    const all = await channel.declareQueue('', { exclusive: true });
    const any = await channel.declareQueue('', { exclusive: true });
    const allBinding = await all.bind(exchange, '', {
      arguments: { 'x-match': 'all', format: 'pdf', type: 'report' },
    });
    await any.bind(exchange, '', {
      arguments: { 'x-match': 'any', format: 'pdf', type: 'report' },
    });
    expect(allBinding.arguments).toEqual({ 'x-match': 'all', format: 'pdf', type: 'report' });

    const publish = (body: string, headers: Record<string, string>) =>
      route(exchange, 'ignored', new Message(body, { headers }));
    expect(await publish('both', { format: 'pdf', type: 'report' })).toBe('routed');
    expect(await publish('format', { format: 'pdf', type: 'log' })).toBe('routed');
    expect(await publish('neither', { format: 'zip' })).toBe('NO_ROUTE');
    expect(await drain(all)).toEqual(['both']);
    expect(await drain(any)).toEqual(['both', 'format']);

    await allBinding.unbind(); // unbinding needs the same arguments
    expect(await publish('both again', { format: 'pdf', type: 'report' })).toBe('routed');
    expect(await drain(all)).toEqual([]);
    expect(await drain(any)).toEqual(['both again']);
  });

  it('fails to bind to a missing exchange with 404', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    const error = await channelError(queue.bind(uniqueName('no-exchange'), 'k'));
    expect(error).toMatchObject({ code: 'NOT_FOUND', replyCode: 404, method: 'queue.bind' });
    expect(connection.isOpen).toBe(true);
  });
});

describe('purging and deleting queues', () => {
  it('purges: resolves with the count, and the queue is empty', async () => {
    const channel = await openChannel(true);
    const queue = await tempQueue(channel);
    for (let i = 0; i < 3; i++) await channel.exchange('').publish(`m${i}`, queue.name);
    expect(await queue.purge()).toBe(3);
    expect((await queueCounts(connection, queue.name))?.messageCount).toBe(0);
    expect(await queue.purge()).toBe(0);
  });

  it('deletes a queue that holds messages with ifEmpty false: resolves with the count', async () => {
    const channel = await openChannel(true);
    const queue = await tempQueue(channel);
    for (let i = 0; i < 4; i++) await channel.exchange('').publish(`m${i}`, queue.name);
    expect(await queue.delete({ ifUnused: false, ifEmpty: false })).toBe(4);
    expect(await queueExists(connection, queue.name)).toBe(false);
  });

  it('deletes by default only an unused, empty queue', async () => {
    const channel = await openChannel(true);
    const queue = await tempQueue(channel);
    await channel.exchange('').publish('keep me', queue.name);
    expect(await channelError(queue.delete())).toMatchObject({ code: 'PRECONDITION_FAILED' });

    const again = await openChannel();
    const { consumer, waitForCount } = await collect(again.queue(queue.name), { noAck: true });
    await waitForCount(1); // it took the message: the queue is empty, and in use
    expect(await channelError(again.queue(queue.name).delete())).toMatchObject({
      replyCode: 406,
      replyText: expect.stringMatching(/in use/),
    });
    expect(consumer.cancelled).toBe(true);
    expect(await queueCounts(connection, queue.name)).toEqual({
      messageCount: 0,
      consumerCount: 0,
    });
    const last = await openChannel();
    expect(await last.queue(queue.name).delete()).toBe(0);
    expect(await queueExists(connection, queue.name)).toBe(false);
  });

  it('deletes with ifEmpty only an empty queue (406 otherwise)', async () => {
    const channel = await openChannel(true);
    const queue = await tempQueue(channel);
    await channel.exchange('').publish('keep me', queue.name);
    const error = await channelError(queue.delete({ ifEmpty: true }));
    expect(error).toMatchObject({
      code: 'PRECONDITION_FAILED',
      replyCode: 406,
      method: 'queue.delete',
    });
    expect((await queueCounts(connection, queue.name))?.messageCount).toBe(1);

    const again = await openChannel();
    expect(await again.queue(queue.name).purge()).toBe(1);
    expect(await again.queue(queue.name).delete({ ifEmpty: true })).toBe(0);
    expect(await queueExists(connection, queue.name)).toBe(false);
  });

  it('deletes with ifUnused only a queue without consumers (406 otherwise)', async () => {
    const channel = await openChannel();
    const queue = await tempQueue(channel);
    const consumer = await queue.consume(() => {});
    const other = await openChannel();
    const error = await channelError(other.queue(queue.name).delete({ ifUnused: true }));
    expect(error).toMatchObject({
      code: 'PRECONDITION_FAILED',
      replyCode: 406,
      method: 'queue.delete',
    });
    expect((await queueCounts(connection, queue.name))?.consumerCount).toBe(1);
    await consumer.cancel();
    expect(await queue.delete({ ifUnused: true })).toBe(0);
    expect(await queueExists(connection, queue.name)).toBe(false);
  });
});

describe('deleting quorum queues and streams', () => {
  const QUORUM = { 'x-queue-type': 'quorum' };

  it('RabbitMQ closes the connection for if-unused or if-empty on a quorum queue', async () => {
    const owner = await connect(url, { recovery: false });
    try {
      const channel = await owner.openChannel();
      const queue = await tempQueue(channel, { arguments: QUORUM });
      // A handle that does not say it is a quorum queue: warren sends the flags as they are.
      const error = await channelError(channel.queue(queue.name).delete());
      expect(error).toMatchObject({ code: 'NOT_IMPLEMENTED' });
      expect(await owner.closed).toMatchObject({ code: 'NOT_IMPLEMENTED', replyCode: 540 });
      expect(await queueExists(connection, queue.name)).toBe(true);
    } finally {
      await owner.close();
    }
  });

  it('checks the counts itself for a queue declared quorum; the channel stays open', async () => {
    const channel = await openChannel(true);
    const queue = await tempQueue(channel, { arguments: QUORUM });
    expect(queue.arguments).toEqual(QUORUM);
    await channel.exchange('').publish('keep me', queue.name);
    const notEmpty = await queue.delete().then(
      () => undefined,
      (reason: unknown) => reason,
    );
    expect(notEmpty).toBeInstanceOf(AmqpError);
    expect(notEmpty).not.toBeInstanceOf(ChannelError);
    expect(notEmpty).toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect((notEmpty as Error).message).toMatch(/holds 1 message/);
    expect(channel.isOpen).toBe(true);
    expect(connection.isOpen).toBe(true);
    expect(await queueCounts(connection, queue.name)).toEqual({
      messageCount: 1,
      consumerCount: 0,
    });

    const { consumer, waitForCount } = await collect(queue, { noAck: true });
    await waitForCount(1);
    await expect(queue.delete()).rejects.toThrow(/has 1 consumer/);
    // A handle told the queue type is checked the same way.
    const handle = channel.queue(queue.name, { arguments: QUORUM });
    await expect(handle.delete({ ifEmpty: false })).rejects.toMatchObject({
      code: 'PRECONDITION_FAILED',
    });
    expect(channel.isOpen).toBe(true);
    await consumer.cancel();
    expect(await handle.delete()).toBe(0);
    expect(await queueExists(connection, queue.name)).toBe(false);
    // A missing quorum queue is deleted as the broker deletes any missing queue: with 0.
    expect(await handle.delete()).toBe(0);
    expect(channel.isOpen).toBe(true);
  });

  it('deletes a quorum queue regardless with both flags false, sending neither', async () => {
    const owner = await connect(url, { recovery: false });
    try {
      const channel = await owner.openChannel({ confirm: true });
      const queue = await tempQueue(channel, { arguments: QUORUM });
      await channel.exchange('').publish('gone with it', queue.name);
      expect(await channel.queue(queue.name).delete({ ifUnused: false, ifEmpty: false })).toBe(1);
      expect(owner.isOpen).toBe(true);
      expect(await queueExists(connection, queue.name)).toBe(false);
    } finally {
      await owner.close();
    }
  });

  it('a stream reports no ready messages, so ifEmpty does not keep it', async () => {
    const channel = await openChannel(true);
    const stream = await tempQueue(channel, { arguments: { 'x-queue-type': 'stream' } });
    await channel.exchange('').publish('in the stream', stream.name);
    expect((await queueCounts(connection, stream.name))?.messageCount).toBe(0);
    expect(await stream.delete()).toBe(0);
    expect(await queueExists(connection, stream.name)).toBe(false);
  });
});
