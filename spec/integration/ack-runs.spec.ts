/**
 * Acks written as runs against RabbitMQ: warren folds the acks of the oldest unsettled messages
 * of a channel into one multiple-ack per turn. Whatever order the application settles in, the
 * broker must end up with exactly what the application settled: no ack lost at a close, and no
 * message acked that the application did not ack.
 */
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import {
  type Channel,
  type Connection,
  connect,
  type IncomingMessage,
  type Queue,
} from '../../lib/index.js';
import { drain, queueCounts, uniqueName, waitFor } from '../support/amqp-helpers.js';

const url = inject('amqpUrl');
let connection: Connection;

beforeAll(async () => {
  connection = await connect(url);
});

afterAll(async () => {
  await connection.close();
});

/** A queue (not exclusive: it outlives the channels under test) holding 'm1' … 'm<count>'. */
async function queueOf(count: number): Promise<Queue> {
  const channel = await connection.openChannel({ confirm: true });
  onTestFinished(() => channel.close());
  const queue = await channel.declareQueue(uniqueName('ack-runs'));
  onTestFinished(async () => {
    await queue.delete({ ifUnused: false, ifEmpty: false });
  });
  for (let i = 1; i <= count; i++) await channel.exchange('').publish(`m${i}`, queue.name);
  return queue;
}

/** Fetches `count` messages from `queue` on `channel`, unacknowledged, in order. */
async function fetch(channel: Channel, queue: Queue, count: number): Promise<IncomingMessage[]> {
  const handle = channel.queue(queue.name);
  const messages: IncomingMessage[] = [];
  for (let i = 0; i < count; i++) {
    const message = await handle.get();
    if (message === null) throw new Error(`only ${i} messages in ${queue.name}`);
    messages.push(message);
  }
  return messages;
}

/** What is left in the queue once the settling channel is closed (unacked ones requeue). */
async function leftAfterClosing(channel: Channel, queue: Queue): Promise<string[]> {
  await channel.close();
  return (await drain(queue)).sort();
}

describe('acks written as runs', () => {
  it('acks made just before channel.close all reach the broker', async () => {
    const queue = await queueOf(50);
    const channel = await connection.openChannel();
    const messages = await fetch(channel, queue, 50);
    for (const message of messages) message.ack();
    expect(await leftAfterClosing(channel, queue)).toEqual([]);
  });

  it('acks made just before connection.close all reach the broker', async () => {
    const queue = await queueOf(50);
    const own = await connect(url);
    const channel = await own.openChannel();
    const messages = await fetch(channel, queue, 50);
    for (const message of messages) message.ack();
    await own.close();
    await waitFor(async () => (await queueCounts(connection, queue.name))?.consumerCount === 0);
    expect(await drain(queue)).toEqual([]);
  });

  it('out of order: a later message acked first does not take an earlier one with it', async () => {
    const queue = await queueOf(3);
    const channel = await connection.openChannel();
    const [m1, m2, m3] = (await fetch(channel, queue, 3)) as [
      IncomingMessage,
      IncomingMessage,
      IncomingMessage,
    ];
    m2.ack();
    m1.ack();
    m3.nack({ requeue: true });
    expect(await leftAfterClosing(channel, queue)).toEqual(['m3']);
  });

  it('a gap stays unacked: acking the oldest, then one after an unsettled message', async () => {
    const queue = await queueOf(4);
    const channel = await connection.openChannel();
    const [m1, , m3, m4] = (await fetch(channel, queue, 4)) as IncomingMessage[];
    m1?.ack();
    m3?.ack();
    m4?.ack();
    expect(await leftAfterClosing(channel, queue)).toEqual(['m2']);
  });

  it('acks across turns and with rejects in between leave only what was not settled', async () => {
    const queue = await queueOf(30);
    const channel = await connection.openChannel();
    const messages = await fetch(channel, queue, 30);
    // Settle in an order that mixes runs, singles, rejects and pauses between turns.
    const order = [0, 1, 2, 5, 3, 4, 10, 6, 7, 8, 9, 20, 11, 12, 13, 14, 15, 16, 17, 18, 19];
    for (const [i, index] of order.entries()) {
      const message = messages[index] as IncomingMessage;
      if (index % 7 === 6) message.reject({ requeue: false });
      else message.ack();
      if (i % 4 === 3) await new Promise((resolve) => setImmediate(resolve));
    }
    const unsettled = messages.filter((_, index) => !order.includes(index)).map((m) => m.text());
    expect(await leftAfterClosing(channel, queue)).toEqual(unsettled.sort());
  });

  it('a consumer acking each of 2,000 messages leaves the queue empty, nothing unacked', async () => {
    const queue = await queueOf(0);
    const publishing = await connection.openChannel({ confirm: true });
    onTestFinished(() => publishing.close());
    const exchange = publishing.exchange('');
    await Promise.all(Array.from({ length: 2_000 }, (_, i) => exchange.publish({ i }, queue.name)));
    const channel = await connection.openChannel();
    onTestFinished(() => channel.close());
    let received = 0;
    await channel.queue(queue.name).consume(
      (message) => {
        message.ack();
        received++;
      },
      { prefetch: 100 },
    );
    await waitFor(() => received === 2_000, 20_000, 'every message');
    await waitFor(
      async () => {
        const counts = await queueCounts(connection, queue.name);
        return counts?.messageCount === 0;
      },
      5_000,
      'the queue to be empty',
    );
    // Nothing unacknowledged either: closing the channel requeues nothing.
    await channel.close();
    expect(await queueCounts(connection, queue.name)).toEqual({
      messageCount: 0,
      consumerCount: 0,
    });
  });
});
