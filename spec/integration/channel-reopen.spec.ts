/**
 * Channels that reopen after a soft error (`openChannel({ reopen })`), against RabbitMQ: the
 * operation that failed rejects with the broker's error, the channel opens again with its
 * confirm mode, QoS and consumers, and every handle on it goes on working. A channel that fails
 * too often stays closed; without the option, a channel error is final as before. Each check is
 * of what the broker holds or delivers afterwards, not only of how promises settled.
 */
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import {
  type AmqpError,
  type Channel,
  ChannelError,
  type ChannelOptions,
  type Connection,
  connect,
  type IncomingMessage,
  PublishUnconfirmedError,
} from '../../lib/index.js';
import {
  channelError,
  collect,
  deleteAfterTest,
  drain,
  queueCounts,
  uniqueName,
  waitFor,
} from '../support/amqp-helpers.js';

const url = inject('amqpUrl');
let connection: Connection;

beforeAll(async () => {
  connection = await connect(url);
});
afterAll(async () => {
  await connection.close();
});

/** What a channel reported, in order: `disconnected CODE`, `recovered`, `close CODE`. */
function record(channel: Channel): string[] {
  const events: string[] = [];
  channel.on('disconnected', (error) => events.push(`disconnected ${error.code}`));
  channel.on('recovered', () => events.push('recovered'));
  channel.on('close', (error) => events.push(`close ${error.code}`));
  return events;
}

/** A channel closed when the test ends, and what it reported. */
async function open(options: ChannelOptions = { reopen: true }): Promise<{
  channel: Channel;
  events: string[];
}> {
  const channel = await connection.openChannel(options);
  onTestFinished(() => channel.close());
  return { channel, events: record(channel) };
}

/** Resolves once the channel has reopened (emitted `recovered`). */
function reopened(channel: Channel): Promise<void> {
  return new Promise((resolve) => channel.once('recovered', resolve));
}

/** A named, non-exclusive queue (other channels may look at it), deleted after the test. */
async function namedQueue(channel: Channel, prefix: string) {
  const name = uniqueName(prefix);
  deleteAfterTest(connection, 'queue', name);
  return channel.declareQueue(name, { durable: false });
}

describe('a channel opened with reopen', () => {
  it('rejects a confirmed publish to a missing exchange, then the same handle publishes once the exchange exists', async () => {
    const { channel, events } = await open({ confirm: true, reopen: true });
    const name = uniqueName('reopen-ex');
    deleteAfterTest(connection, 'exchange', name);
    const exchange = channel.exchange(name);

    const failed = await exchange.publish('lost', 'key').then(
      () => undefined,
      (reason: unknown) => reason,
    );
    // Unconfirmed when the broker closed the channel, with the broker's 404 as the cause.
    expect(failed).toBeInstanceOf(PublishUnconfirmedError);
    const cause = (failed as PublishUnconfirmedError).cause as ChannelError;
    expect(cause).toBeInstanceOf(ChannelError);
    expect(cause).toMatchObject({ code: 'NOT_FOUND', replyCode: 404, method: 'basic.publish' });
    expect(channel.isRecovering).toBe(true);
    expect(channel.isOpen).toBe(false);

    // Made on another channel: the reopened one knows nothing of it.
    const other = await connection.openChannel();
    const declared = await other.declareExchange(name, 'direct', { durable: false });
    const queue = await namedQueue(other, 'reopen-q');
    await queue.bind(declared, 'key');
    await other.close();

    // Waits for the reopen, goes out in confirm mode, and is confirmed (resolves, not just sent).
    await expect(exchange.publish('arrives', 'key')).resolves.toBeUndefined();
    expect(channel.isOpen).toBe(true);
    expect(channel.confirmMode).toBe(true);
    expect(await drain(channel.queue(queue.name))).toEqual(['arrives']);
    expect(events).toEqual(['disconnected NOT_FOUND', 'recovered']);
  });

  it('rejects a passive declare of a missing queue with NOT_FOUND, then goes on on the same channel', async () => {
    const { channel, events } = await open();
    const error = await channelError(
      channel.declareQueue(uniqueName('missing'), { passive: true }),
    );
    expect(error).toMatchObject({ code: 'NOT_FOUND', replyCode: 404, method: 'queue.declare' });
    expect(channel.isRecovering).toBe(true);

    // Issued while the channel reopens: it waits, then goes ahead.
    const queue = await namedQueue(channel, 'after-404');
    await channel.exchange('').publish('hello', queue.name);
    const message = await waitFor(() => queue.get({ noAck: true }), 5_000, 'the message');
    expect(message.text()).toBe('hello');
    expect(events).toEqual(['disconnected NOT_FOUND', 'recovered']);
    expect(channel.isOpen).toBe(true);
  });

  it('rejects a redeclare with other arguments with PRECONDITION_FAILED, then goes on', async () => {
    const { channel, events } = await open();
    const queue = await namedQueue(channel, 'redeclare');
    const error = await channelError(
      channel.declareQueue(queue.name, { durable: false, arguments: { 'x-max-length': 10 } }),
    );
    expect(error).toMatchObject({ code: 'PRECONDITION_FAILED', replyCode: 406 });

    // The same Queue handle works on the reopened channel.
    await channel.exchange('').publish('after', queue.name);
    await waitFor(async () => (await queueCounts(connection, queue.name))?.messageCount === 1);
    expect((await queue.get({ noAck: true }))?.text()).toBe('after');
    expect(events).toEqual(['disconnected PRECONDITION_FAILED', 'recovered']);
  });

  it('keeps its consumer receiving, with its prefetch applied again', async () => {
    const { channel } = await open();
    const queue = await namedQueue(channel, 'reopen-consume');
    const collector = await collect(queue, { prefetch: 2 });
    const publisher = await connection.openChannel({ confirm: true });
    onTestFinished(() => publisher.close());
    for (let i = 0; i < 5; i++) await publisher.exchange('').publish(`m${i}`, queue.name);

    // Two unacknowledged at a time: three wait in the queue.
    await collector.waitForCount(2);
    await waitFor(async () => (await queueCounts(connection, queue.name))?.messageCount === 3);

    const back = reopened(channel);
    await channelError(channel.declareQueue(uniqueName('missing'), { passive: true }));
    await back;
    expect(collector.consumer.cancelled).toBe(false);

    // The two unacked went back to the queue and come again, and still only two at a time.
    const redelivered = await collector.waitForCount(4);
    expect(redelivered.slice(2).map((m) => [m.text(), m.redelivered])).toEqual([
      ['m0', true],
      ['m1', true],
    ]);
    expect((await queueCounts(connection, queue.name))?.messageCount).toBe(3);
    expect(collector.messages).toHaveLength(4);

    // The old deliveries are stale; acking the new ones opens the window for the rest.
    for (const message of collector.messages.slice(2)) message.ack();
    const next = await collector.waitForCount(6);
    for (const message of next.slice(4)) message.ack();
    const all = await collector.waitForCount(7);
    expect(all.slice(4).map((m) => m.text())).toEqual(['m2', 'm3', 'm4']);
    all[6]?.ack();
    await waitFor(async () => (await queueCounts(connection, queue.name))?.messageCount === 0);
  });

  it('keeps a messages() loop going across the reopen', async () => {
    const { channel } = await open();
    const queue = await namedQueue(channel, 'reopen-iterate');
    const iterator = queue.messages({ prefetch: 10 });
    const texts: string[] = [];
    const looping = (async () => {
      for await (const message of iterator) {
        texts.push(message.text());
        message.ack();
        if (texts.length === 2) break;
      }
    })();
    await channel.exchange('').publish('first', queue.name);
    await waitFor(() => texts.length === 1);
    const back = reopened(channel);
    await channelError(channel.declareQueue(uniqueName('missing'), { passive: true }));
    await back;
    await channel.exchange('').publish('second', queue.name);
    await looping;
    expect(texts).toEqual(['first', 'second']);
  });

  it('applies its channel-wide QoS again', async () => {
    const { channel } = await open();
    await channel.setQos({ prefetchCount: 1, global: true });
    const queue = await namedQueue(channel, 'reopen-global');
    const collector = await collect(queue);
    const back = reopened(channel);
    await channelError(channel.declareExchange(uniqueName('missing'), 'direct', { passive: true }));
    await back;
    for (let i = 0; i < 3; i++) await channel.exchange('').publish(`g${i}`, queue.name);
    await collector.waitForCount(1);
    await waitFor(async () => (await queueCounts(connection, queue.name))?.messageCount === 2);
    expect(collector.messages).toHaveLength(1);
    collector.messages[0]?.ack();
    await collector.waitForCount(2);
  });

  it('makes operations issued while it reopens wait, and then go on in order', async () => {
    const { channel } = await open();
    const queue = await namedQueue(channel, 'reopen-wait');
    const failing = channel.declareQueue(uniqueName('missing'), { passive: true });
    const error = await channelError(failing);
    expect(error.code).toBe('NOT_FOUND');
    expect(channel.isRecovering).toBe(true);
    const exchange = channel.exchange('');
    const sent = [0, 1, 2, 3, 4].map((i) => exchange.publish(`w${i}`, queue.name));
    await Promise.all(sent);
    await waitFor(async () => (await queueCounts(connection, queue.name))?.messageCount === 5);
    expect(await drain(queue)).toEqual(['w0', 'w1', 'w2', 'w3', 'w4']);
  });

  it('comes back out of transaction mode: a publish after the reopen is not held for a commit', async () => {
    const { channel } = await open();
    const queue = await namedQueue(channel, 'reopen-tx');
    await channel.txSelect();
    await channel.exchange('').publish('in the lost transaction', queue.name);
    const back = reopened(channel);
    await channelError(channel.declareQueue(uniqueName('missing'), { passive: true }));
    await back;
    await channel.exchange('').publish('after', queue.name);
    // Delivered without a commit: the channel is not transactional any more.
    await waitFor(async () => (await queueCounts(connection, queue.name))?.messageCount === 1);
    expect(await drain(queue)).toEqual(['after']);
    // A commit now is the broker's error (not transactional), and the channel reopens again.
    const commit = await channelError(channel.txCommit());
    expect(commit).toMatchObject({ code: 'PRECONDITION_FAILED', method: 'tx.commit' });
  });

  it('closes for good with RECOVERY_FAILED when the broker closes it more than maxReopens times within interval', async () => {
    const { channel, events } = await open({ reopen: { maxReopens: 3, interval: 60_000 } });
    const queue = await namedQueue(channel, 'reopen-limit');
    const collector = await collect(queue);
    const cancelled = new Promise<AmqpError>((resolve) =>
      collector.consumer.once('cancel', resolve),
    );
    for (let i = 0; i < 3; i++) {
      const back = reopened(channel);
      await channelError(channel.declareQueue(uniqueName('missing'), { passive: true }));
      await back;
    }
    const last = await channelError(channel.declareQueue(uniqueName('missing'), { passive: true }));
    expect(last.code).toBe('NOT_FOUND');
    const closed = await channel.closed;
    expect(closed).toBeInstanceOf(ChannelError);
    expect(closed).toMatchObject({ code: 'RECOVERY_FAILED', replyCode: 404 });
    expect(closed.message).toContain('4 times within 60000 ms');
    expect(closed.cause).toBe(last);
    expect(channel.isOpen).toBe(false);
    expect(channel.isRecovering).toBe(false);
    expect(await cancelled).toBe(closed);
    expect(collector.consumer.cancelled).toBe(true);
    await expect(channel.exchange('').publish('x', queue.name)).rejects.toBe(closed);
    expect(events).toEqual([
      ...Array.from({ length: 3 }, () => ['disconnected NOT_FOUND', 'recovered']).flat(),
      'close RECOVERY_FAILED',
    ]);
    expect(connection.isOpen).toBe(true);
  });

  it('counts only the closes within interval', async () => {
    const { channel, events } = await open({ reopen: { maxReopens: 1, interval: 50 } });
    for (let i = 0; i < 3; i++) {
      const back = reopened(channel);
      await channelError(channel.declareQueue(uniqueName('missing'), { passive: true }));
      await back;
      await new Promise((resolve) => setTimeout(resolve, 60));
    }
    expect(channel.isOpen).toBe(true);
    expect(events).toHaveLength(6);
  });

  it('leaves a consumer the broker cancelled (its queue deleted) cancelled, and the channel open', async () => {
    const { channel, events } = await open();
    const queue = await namedQueue(channel, 'reopen-cancel');
    const collector = await collect(queue);
    const cancelled = new Promise<AmqpError>((resolve) =>
      collector.consumer.once('cancel', resolve),
    );
    const other = await connection.openChannel();
    await other.queue(queue.name).delete({ ifUnused: false, ifEmpty: false });
    await other.close();
    expect((await cancelled).code).toBe('CONSUMER_CANCELLED');
    expect(collector.consumer.cancelled).toBe(true);
    // A later channel error reopens the channel without the cancelled consumer.
    const back = reopened(channel);
    await channelError(channel.declareQueue(uniqueName('missing'), { passive: true }));
    await back;
    const again = await namedQueue(channel, 'reopen-cancel-again');
    await channel.exchange('').publish('x', again.name);
    await waitFor(async () => (await queueCounts(connection, again.name))?.messageCount === 1);
    expect(collector.messages).toHaveLength(0);
    expect(events).toEqual(['disconnected NOT_FOUND', 'recovered']);
  });

  it('keeps an RPC client working after a request to a missing exchange', async () => {
    const { channel } = await open();
    const queue = await namedQueue(channel, 'reopen-rpc');
    await queue.serve((request: IncomingMessage) => ({ echo: request.json() }));
    const client = await connection.rpcClient({ reopen: true, timeout: 5_000 });
    onTestFinished(() => client.close());
    const missing = await channelError(
      client.call(queue.name, 'lost', { exchange: uniqueName('missing') }),
    );
    expect(missing.code).toBe('NOT_FOUND');
    await expect(client.call(queue.name, 'hi')).resolves.toEqual({ echo: 'hi' });
  });

  it('keeps an RPC server answering after an error on its channel', async () => {
    const { channel } = await open();
    const queue = await namedQueue(channel, 'reopen-serve');
    await queue.serve((request: IncomingMessage) => ({ echo: request.json() }));
    const back = reopened(channel);
    await channelError(channel.declareQueue(uniqueName('missing'), { passive: true }));
    await back;
    const client = await connection.rpcClient({ timeout: 5_000 });
    onTestFinished(() => client.close());
    await expect(client.call(queue.name, 'again')).resolves.toEqual({ echo: 'again' });
  });

  it('refuses a reopen option it does not understand before opening', async () => {
    await expect(connection.openChannel({ reopen: { maxReopens: 0 } })).rejects.toThrow(RangeError);
    await expect(connection.openChannel({ reopen: 'yes' as unknown as boolean })).rejects.toThrow(
      TypeError,
    );
    await expect(
      connection.openChannel({ reopen: { tries: 3 } as unknown as { maxReopens: number } }),
    ).rejects.toThrow(TypeError);
  });
});

describe('a channel opened without reopen', () => {
  it('stays closed after a channel error, as before', async () => {
    const { channel, events } = await open({});
    const queue = await namedQueue(channel, 'no-reopen');
    const collector = await collect(queue);
    const error = await channelError(
      channel.declareQueue(uniqueName('missing'), { passive: true }),
    );
    expect(await channel.closed).toBe(error);
    expect(channel.isRecovering).toBe(false);
    expect(collector.consumer.cancelled).toBe(true);
    await expect(channel.exchange('').publish('x', queue.name)).rejects.toBe(error);
    expect(events).toEqual(['close NOT_FOUND']);
  });
});
