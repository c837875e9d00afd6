/**
 * A message over the consuming connection's `maxBodySize`, against the real
 * broker: it is refused on its channel (rejected without requeue, so the
 * queue's dead-letter exchange gets it), and the connection stays up for the
 * messages behind it. Before, it was a connection-level FRAME_ERROR: recovery
 * reconnected, the broker redelivered it, and the connection looped forever.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  type Connection,
  connect,
  type IncomingMessage,
  Message,
  MessageTooLargeError,
} from '../../lib/index.js';
import { deleteAfterTest, uniqueName, waitFor } from '../support/amqp-helpers.js';

const url = inject('amqpUrl');

const LIMIT = 10_000;
const MiB = 1024 * 1024;

const open: Connection[] = [];

afterEach(async () => {
  for (const connection of open.splice(0)) await connection.close();
});

async function openConnection(maxBodySize?: number): Promise<Connection> {
  const connection = await connect(url, maxBodySize === undefined ? {} : { maxBodySize });
  open.push(connection);
  return connection;
}

/** A queue whose rejected messages go to a dead-letter queue; both deleted after the test. */
async function queueWithDeadLetters(
  admin: Connection,
): Promise<{ queue: string; deadLetters: string }> {
  const channel = await admin.openChannel();
  const queue = uniqueName('too-large');
  const deadLetters = `${queue}-dead`;
  const dlx = `${queue}-dlx`;
  await channel.declareExchange(dlx, 'fanout', { durable: false, autoDelete: true });
  await channel.declareQueue(deadLetters, { durable: false });
  await channel.queue(deadLetters).bind(channel.exchange(dlx));
  await channel.declareQueue(queue, {
    durable: false,
    arguments: { 'x-dead-letter-exchange': dlx },
  });
  deleteAfterTest(admin, 'queue', queue);
  deleteAfterTest(admin, 'queue', deadLetters);
  await channel.close();
  return { queue, deadLetters };
}

/** Publishes `before`, a body of `size` bytes, and `after`, confirmed, in that order. */
async function publishAround(admin: Connection, queue: string, size: number): Promise<void> {
  const channel = await admin.openChannel({ confirm: true });
  const exchange = channel.exchange('');
  await exchange.publish(new Message('before'), queue);
  await exchange.publish(new Message(Buffer.alloc(size, 1), { messageId: 'big' }), queue);
  await exchange.publish(new Message('after'), queue);
  await channel.close();
}

// One byte over (one frame), many frames at the broker's 128 KiB frame_max, and a large one.
const SIZES = [LIMIT + 1, 5 * 131_072 + 3, 8 * MiB];

describe('a delivery over maxBodySize', () => {
  it.each(SIZES)(
    'of %i bytes is dead-lettered; the messages around it arrive on the same connection',
    async (size) => {
      const admin = await openConnection();
      const { queue, deadLetters } = await queueWithDeadLetters(admin);
      const consuming = await openConnection(LIMIT);
      const disconnects: unknown[] = [];
      consuming.on('disconnected', (error) => disconnects.push(error));
      await publishAround(admin, queue, size);

      const channel = await consuming.openChannel();
      const received: string[] = [];
      const refused: MessageTooLargeError[] = [];
      const consumer = await channel.queue(queue).consume(
        (message) => {
          received.push(message.text());
          message.ack();
        },
        { prefetch: 10 },
      );
      consumer.on('refused', (error) => refused.push(error));
      await waitFor(() => received.length === 2, 10_000, 'the two small messages');
      expect(received).toEqual(['before', 'after']);
      expect(refused).toHaveLength(1);
      expect(refused[0]).toMatchObject({
        method: 'basic.deliver',
        routingKey: queue,
        bodySize: size,
        maxBodySize: LIMIT,
        properties: { messageId: 'big' },
        rejected: true,
      });

      // The broker dead-lettered it whole; a connection without the limit reads it.
      const checker = await admin.openChannel();
      const dead = await waitFor(
        () => checker.queue(deadLetters).get(),
        5_000,
        'the dead-lettered message',
      );
      expect(dead.properties.messageId).toBe('big');
      expect(dead.body.length).toBe(size);
      dead.ack();
      expect(await checker.queue(queue).get()).toBeNull();

      expect(disconnects).toEqual([]);
      expect(consuming.isOpen).toBe(true);
      expect(channel.isOpen).toBe(true);
    },
  );
});

describe('queue.get() of a message over maxBodySize', () => {
  it('rejects with MessageTooLargeError; the message is dead-lettered and the next is read', async () => {
    const admin = await openConnection();
    const { queue, deadLetters } = await queueWithDeadLetters(admin);
    const consuming = await openConnection(LIMIT);
    await publishAround(admin, queue, 3 * 131_072);
    const channel = await consuming.openChannel();
    const first = (await channel.queue(queue).get()) as IncomingMessage;
    expect(first.text()).toBe('before');
    first.ack();
    const error = await channel
      .queue(queue)
      .get()
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect(error).toMatchObject({ method: 'basic.get-ok', rejected: true, bodySize: 3 * 131_072 });
    const last = (await channel.queue(queue).get()) as IncomingMessage;
    expect(last.text()).toBe('after');
    last.ack();
    const checker = await admin.openChannel();
    const dead = await waitFor(() => checker.queue(deadLetters).get({ noAck: true }), 5_000);
    expect(dead.properties.messageId).toBe('big');
    expect(consuming.isOpen).toBe(true);
  });
});
