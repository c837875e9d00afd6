/**
 * Consumers against RabbitMQ: ordered delivery, manual and automatic acks,
 * prefetch, cancelling (ours and the broker's), exclusive consumers,
 * callbacks that throw or are async, and `basic.recover` with a consumer.
 * Every check is of what the broker reports: ready messages and consumers
 * by passive declare, and what is left in the queue.
 */
import { describe, expect, inject, it } from 'vitest';
import {
  AmqpError,
  type Channel,
  ChannelError,
  type Connection,
  type IncomingMessage,
  type Queue,
} from '../../lib/index.js';
import {
  channelError,
  collect,
  queueCounts,
  queueExists,
  uniqueName,
  useConnection,
  waitFor,
} from '../support/amqp-helpers.js';

const url = inject('amqpUrl');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

/**
 * An exclusive queue (named, so that every channel of the connection
 * reaches it) holding `bodies`, published and confirmed on a channel of
 * their own; and a publish function for more.
 */
async function queueWith(
  channel: Channel,
  ...bodies: string[]
): Promise<{ queue: Queue; publish(...more: string[]): Promise<void> }> {
  const queue = await channel.declareQueue(uniqueName('consume'), { exclusive: true });
  const publisher = await openChannel(true);
  const publish = async (...more: string[]) => {
    await Promise.all(more.map((body) => publisher.exchange('').publish(body, queue.name)));
  };
  await publish(...bodies);
  return { queue, publish };
}

async function counts(queue: Queue) {
  return queueCounts(connection, queue.name);
}

const texts = (messages: IncomingMessage[]) => messages.map((m) => m.text());
const numbered = (n: number, prefix = 'm') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

describe('queue.consume', () => {
  it('delivers in order with the consumer tag; acks remove the messages', async () => {
    const channel = await openChannel();
    const { queue, publish } = await queueWith(channel, ...numbered(5));
    const { consumer, waitForCount } = await collect(queue);
    expect(consumer.tag).toMatch(/^warren-/);
    expect(consumer.queue).toBe(queue);
    expect(consumer.channel).toBe(channel);
    expect(consumer.cancelled).toBe(false);

    await publish(...numbered(5, 'n'));
    const received = await waitForCount(10);
    expect(texts(received)).toEqual([...numbered(5), ...numbered(5, 'n')]);
    for (const [i, message] of received.entries()) {
      expect(message.consumerTag).toBe(consumer.tag);
      expect(message.deliveryTag).toBe(i + 1);
      expect(message.redelivered).toBe(false);
      expect(message.exchange).toBe('');
      expect(message.routingKey).toBe(queue.name);
      expect(message.messageCount).toBeUndefined();
    }
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
    for (const message of received) message.ack();
    await consumer.cancel();
    await channel.close(); // would requeue anything unacked
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('uses the consumer tag given', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, 'tagged');
    const tag = uniqueName('my-tag');
    const { consumer, waitForCount } = await collect(queue, { consumerTag: tag, noAck: true });
    expect(consumer.tag).toBe(tag);
    const [message] = await waitForCount(1);
    expect(message?.consumerTag).toBe(tag);
  });

  it('consumes with noAck: the broker settles on delivery', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, ...numbered(3));
    const { waitForCount } = await collect(queue, { noAck: true });
    const received = await waitForCount(3);
    expect(texts(received)).toEqual(numbered(3));
    expect(received.every((m) => m.noAck && m.settled)).toBe(true);
    expect(() => received[0]?.ack()).toThrow(
      expect.objectContaining({ code: 'NOT_ACKNOWLEDGEABLE' }),
    );
    await channel.close(); // nothing to requeue
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('setQos prefetchCount N: at most N unacked deliveries outstanding', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, ...numbered(10));
    await channel.setQos({ prefetchCount: 3 });
    const { messages, waitForCount } = await collect(queue);
    await waitForCount(3);
    // The broker holds back the rest: 7 ready, 3 delivered and unacked.
    expect(await counts(queue)).toEqual({ messageCount: 7, consumerCount: 1 });
    expect(messages).toHaveLength(3);

    messages[0]?.ack();
    await waitForCount(4);
    expect(await counts(queue)).toEqual({ messageCount: 6, consumerCount: 1 });
    expect(messages).toHaveLength(4);

    messages[3]?.ack({ multiple: true }); // acks 2 to 4 as well
    await waitForCount(7);
    expect(await counts(queue)).toEqual({ messageCount: 3, consumerCount: 1 });
    expect(messages).toHaveLength(7);
    expect(texts(messages)).toEqual(numbered(7));
  });

  it('setQos global limits the channel as a whole', async () => {
    const channel = await openChannel();
    const { queue: a } = await queueWith(channel, ...numbered(3, 'a'));
    const { queue: b } = await queueWith(channel, ...numbered(3, 'b'));
    await channel.setQos({ prefetchCount: 2, global: true });
    const first = await collect(a);
    const second = await collect(b);
    await waitFor(() => first.messages.length + second.messages.length === 2);
    const ready = ((await counts(a))?.messageCount ?? 0) + ((await counts(b))?.messageCount ?? 0);
    expect(ready).toBe(4);
  });

  it('cancel stops deliveries; what is published after stays in the queue', async () => {
    const channel = await openChannel();
    const { queue, publish } = await queueWith(channel, 'before');
    const { consumer, messages, waitForCount } = await collect(queue, { noAck: true });
    await waitForCount(1);
    await consumer.cancel();
    expect(consumer.cancelled).toBe(true);
    await consumer.cancel(); // idempotent
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });

    await publish('after');
    expect(await counts(queue)).toEqual({ messageCount: 1, consumerCount: 0 });
    const left = await queue.get({ noAck: true });
    expect(left?.text()).toBe('after');
    expect(texts(messages)).toEqual(['before']);
    expect(channel.isOpen).toBe(true);
  });

  it("emits 'cancel' when the broker cancels the consumer (its queue deleted)", async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel);
    const { consumer } = await collect(queue);
    const cancelled = new Promise<AmqpError>((resolve) => consumer.once('cancel', resolve));

    const other = await openChannel();
    await other.queue(queue.name).delete({ ifUnused: false, ifEmpty: false });
    const reason = await cancelled;
    expect(reason).toBeInstanceOf(AmqpError);
    expect(reason.code).toBe('CONSUMER_CANCELLED');
    expect(consumer.cancelled).toBe(true);
    await consumer.cancel(); // nothing left to cancel: resolves without a round trip
    expect(channel.isOpen).toBe(true);
    await channel.setQos({ prefetchCount: 1 }); // the channel still works
    expect(await queueExists(connection, queue.name)).toBe(false);
  });

  it("emits 'cancel' with the channel's error when the broker closes its channel", async () => {
    const channel = await connection.openChannel();
    const { queue } = await queueWith(channel);
    const { consumer } = await collect(queue);
    const cancelled = new Promise<AmqpError>((resolve) => consumer.once('cancel', resolve));
    await channelError(channel.declareQueue(uniqueName('missing'), { passive: true }));
    const reason = await cancelled;
    expect(reason).toBeInstanceOf(ChannelError);
    expect(reason.code).toBe('NOT_FOUND');
    expect(consumer.cancelled).toBe(true);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it("channel.close() cancels its consumers itself: no 'cancel' event", async () => {
    const channel = await connection.openChannel();
    const { queue } = await queueWith(channel);
    const { consumer } = await collect(queue);
    const events: AmqpError[] = [];
    consumer.on('cancel', (reason) => events.push(reason));
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
    await channel.close();
    expect(consumer.cancelled).toBe(true);
    expect(events).toEqual([]);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('an exclusive consumer locks out others with ACCESS_REFUSED', async () => {
    const channel = await openChannel();
    const { queue, publish } = await queueWith(channel);
    const { messages, waitForCount } = await collect(queue, { exclusive: true, noAck: true });

    const other = await openChannel();
    const error = await other
      .queue(queue.name)
      .consume(() => {})
      .then(
        () => undefined,
        (reason: unknown) => reason,
      );
    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({
      code: 'ACCESS_REFUSED',
      replyCode: 403,
      method: 'basic.consume',
    });
    expect(other.isOpen).toBe(false);
    expect(connection.isOpen).toBe(true);

    await publish('still mine');
    await waitForCount(1);
    expect(texts(messages)).toEqual(['still mine']);
    expect((await counts(queue))?.consumerCount).toBe(1);
  });

  it("a callback that throws: 'error' is emitted and consuming goes on", async () => {
    const channel = await openChannel();
    // Published once the listener is on: deliveries can beat consume()'s promise.
    const { queue, publish } = await queueWith(channel);
    const handled: string[] = [];
    const errors: [unknown, string][] = [];
    const consumer = await queue.consume((message) => {
      message.ack();
      if (message.text() === 'bad') throw new Error('boom');
      handled.push(message.text());
    });
    consumer.on('error', (error, message) => errors.push([error, message.text()]));
    await publish('bad', 'good');
    await waitFor(() => handled.length === 1);
    expect(handled).toEqual(['good']);
    expect(errors).toHaveLength(1);
    expect(errors[0]?.[0]).toMatchObject({ message: 'boom' });
    expect(errors[0]?.[1]).toBe('bad');
    expect(consumer.cancelled).toBe(false);
    expect(channel.isOpen).toBe(true);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
  });

  it("an async callback: awaited work settles; a rejection emits 'error'", async () => {
    const channel = await openChannel();
    const { queue, publish } = await queueWith(channel);
    const handled: string[] = [];
    const errors: string[] = [];
    const consumer = await queue.consume(async (message) => {
      await new Promise((resolve) => setTimeout(resolve, 5));
      if (message.text() === 'reject') {
        message.nack({ requeue: false });
        throw new Error('async boom');
      }
      handled.push(message.text());
      message.ack();
    });
    consumer.on('error', (error) => errors.push((error as Error).message));
    await publish('one', 'reject', 'two');
    await waitFor(() => handled.length === 2 && errors.length === 1);
    expect(handled).toEqual(['one', 'two']);
    expect(errors).toEqual(['async boom']);
    await consumer.cancel();
    await channel.close(); // would requeue anything unacked
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });
});

describe('channel.recover with a consumer', () => {
  it('redelivers the unacked messages to the consumer, marked redelivered', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, 'x', 'y');
    const { messages, waitForCount } = await collect(queue);
    const first = await waitForCount(2);
    expect(first.map((m) => m.redelivered)).toEqual([false, false]);

    await channel.recover({ requeue: true });
    const all = await waitForCount(4);
    const again = all.slice(2);
    expect(texts(again).sort()).toEqual(['x', 'y']);
    expect(again.map((m) => m.redelivered)).toEqual([true, true]);
    // The first deliveries are stale: settling them throws and sends nothing.
    expect(() => first[0]?.ack()).toThrow(expect.objectContaining({ code: 'ALREADY_SETTLED' }));
    for (const message of again) message.ack();
    await channel.setQos({ prefetchCount: 0 });
    expect(channel.isOpen).toBe(true);
    expect(messages).toHaveLength(4);
    await channel.close(); // would requeue anything unacked
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });
});
