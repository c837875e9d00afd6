/**
 * Consumer tags against the real broker. RabbitMQ answers a duplicate tag on
 * one channel by closing the whole connection with 530 NOT_ALLOWED; warren
 * refuses it before sending (a RangeError), including a tag held by a
 * consumer still starting. And a 530 caused by a channel method is not a
 * refused login: recovery goes on.
 */
import { describe, expect, inject, it } from 'vitest';
import {
  type Channel,
  type Connection,
  type ConnectionError,
  connect,
  type IncomingMessage,
} from '../../lib/index.js';
import { uniqueName, useConnection, waitFor } from '../support/amqp-helpers.js';

const url = inject('amqpUrl');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

async function exclusiveQueue(channel: Channel): Promise<string> {
  return (await channel.declareQueue('', { exclusive: true })).name;
}

describe('a duplicate consumer tag', () => {
  it('is a RangeError naming the tag and the channel; the connection and the first consumer go on', async () => {
    const channel = await openChannel();
    const name = await exclusiveQueue(channel);
    const tag = uniqueName('tag');
    const received: string[] = [];
    await channel.queue(name).consume((message) => void received.push(message.text()), {
      consumerTag: tag,
      noAck: true,
    });
    const error = await channel
      .queue(name)
      .consume(() => {}, { consumerTag: tag })
      .catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toContain(`'${tag}'`);
    expect((error as Error).message).toContain(`channel ${channel.id}`);
    await channel.exchange('').publish('still here', name);
    await waitFor(() => received.length === 1);
    expect(received).toEqual(['still here']);
    expect(connection.isOpen).toBe(true);
    expect(channel.isOpen).toBe(true);
  });

  it('held by a consumer still starting is refused too', async () => {
    const channel = await openChannel();
    const name = await exclusiveQueue(channel);
    const tag = uniqueName('tag');
    const results = await Promise.allSettled([
      channel.queue(name).consume(() => {}, { consumerTag: tag, prefetch: 5 }),
      channel.queue(name).consume(() => {}, { consumerTag: tag }),
    ]);
    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected']);
    expect((results[1] as PromiseRejectedResult).reason).toBeInstanceOf(RangeError);
    expect(connection.isOpen).toBe(true);
  });

  it('is free again once its consumer is cancelled, and free on another channel', async () => {
    const channel = await openChannel();
    const other = await openChannel();
    const name = await exclusiveQueue(channel);
    const tag = uniqueName('tag');
    const first = await channel.queue(name).consume(() => {}, { consumerTag: tag });
    const elsewhere = await other.queue(name).consume(() => {}, { consumerTag: tag });
    expect(elsewhere.tag).toBe(tag);
    await first.cancel();
    const again = await channel.queue(name).consume(() => {}, { consumerTag: tag });
    expect(again.tag).toBe(tag);
    // A tag whose start failed is free again too.
    await again.cancel();
    const refused = await channel
      .queue(uniqueName('missing'))
      .consume(() => {}, { consumerTag: tag })
      .catch((thrown: unknown) => thrown);
    expect(refused).toMatchObject({ code: 'NOT_FOUND' });
    const retry = await openChannel();
    await expect(retry.queue(name).consume(() => {}, { consumerTag: tag })).resolves.toBeDefined();
    expect(connection.isOpen).toBe(true);
  });
});

describe('a 530 NOT_ALLOWED caused by a channel method', () => {
  it('is not a refused login: the connection recovers', async () => {
    const recovering = await connect(url, { recovery: { initialDelay: 10, maxDelay: 50 } });
    try {
      const channel = await recovering.openChannel();
      // Server-named: recovery declares it again under a new name, which queue.name follows.
      const queue = await channel.declareQueue('', { exclusive: true });
      const tag = uniqueName('tag');
      const received: IncomingMessage[] = [];
      await queue.consume((message) => void received.push(message), {
        consumerTag: tag,
        noAck: true,
      });
      const disconnected = new Promise<ConnectionError>((resolve) =>
        recovering.once('disconnected', resolve),
      );
      const recovered = new Promise<void>((resolve) =>
        recovering.once('recovered', () => resolve()),
      );
      // The duplicate goes out on the wire below warren's check, as another client's bug would.
      channel.engine
        .call('basic.consume', {
          queue: queue.name,
          consumerTag: tag,
          noLocal: false,
          noAck: true,
          exclusive: false,
          nowait: false,
          arguments: {},
        })
        .catch(() => {});
      const error = await disconnected;
      expect(error.code).toBe('NOT_ALLOWED');
      expect(error.method).toBe('basic.consume');
      await recovered;
      expect(recovering.isOpen).toBe(true);
      // The consumer came back with the channel: it receives again.
      await channel.exchange('').publish('after', queue.name);
      await waitFor(() => received.length === 1);
      expect(received[0]?.text()).toBe('after');
    } finally {
      await recovering.close();
    }
  });
});
