/**
 * Connection and Channel entities against RabbitMQ: connecting, tuning,
 * options from the URL, the local channel limit, closing, and
 * `Symbol.asyncDispose` on Connection, Channel and Consumer. Every check is
 * of what the broker reports, through a second (observer) connection.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  AmqpError,
  type Channel,
  ChannelError,
  type Connection,
  ConnectionError,
  type Consumer,
  connect,
  connectAndOpenChannel,
  Message,
} from '../../lib/index.js';
import { collect, queueCounts, queueExists, uniqueName, waitFor } from '../support/amqp-helpers.js';
import { RawConnection } from '../support/raw-connection.js';

const url = inject('amqpUrl');
let observer: Connection;

beforeAll(async () => {
  observer = await connect(url);
});

afterAll(async () => {
  await observer.close();
});

/** The url with the query parameters added. */
function withQuery(query: Record<string, string>): string {
  const parsed = new URL(url);
  for (const [key, value] of Object.entries(query)) parsed.searchParams.set(key, value);
  return parsed.href;
}

/** AMQP's rule for a limit both sides state: 0 is no limit, else the smaller wins. */
function negotiated(client: number, broker: number): number {
  return broker === 0 ? client : Math.min(client, broker);
}

/** What the broker offers in connection.tune, read with a bare socket. */
async function brokerTune(): Promise<{ channelMax: number; frameMax: number; heartbeat: number }> {
  const { username, password } = new URL(url);
  const raw = await RawConnection.open(url);
  try {
    await raw.expect('connection.start');
    raw.send(0, 'connection.start-ok', {
      clientProperties: {},
      mechanism: 'PLAIN',
      response: Buffer.from(`\0${decodeURIComponent(username)}\0${decodeURIComponent(password)}`),
      locale: 'en_US',
    });
    return await raw.expect('connection.tune');
  } finally {
    raw.destroy();
  }
}

describe('Connection', () => {
  it('connects, reports the broker and the negotiated tuning, and closes', async () => {
    const offered = await brokerTune();
    const connection = await connect(url);
    expect(connection.isOpen).toBe(true);
    expect(connection.serverProperties.product).toBe('RabbitMQ');
    expect(connection.serverProperties.capabilities).toMatchObject({
      publisher_confirms: true,
      consumer_cancel_notify: true,
    });
    // Defaults: frame_max 131072 and heartbeat 60 wanted (a stock RabbitMQ offers the same);
    // channel_max is the broker's.
    expect(connection.tuning).toEqual({
      channelMax: offered.channelMax,
      frameMax: negotiated(131_072, offered.frameMax),
      heartbeat: negotiated(60, offered.heartbeat),
    });
    expect(offered.channelMax).toBeGreaterThan(0);

    // An exclusive queue lives exactly as long as its connection: the broker's view of it.
    const channel = await connection.openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    expect(await queueExists(observer, queue.name)).toBe(true);

    const closeEvents: ConnectionError[] = [];
    connection.on('close', (error) => closeEvents.push(error));
    await connection.close();
    await connection.close(); // idempotent
    const reason = await connection.closed;
    expect(reason).toBeInstanceOf(ConnectionError);
    expect(reason.code).toBe('CONNECTION_CLOSED');
    expect(closeEvents).toEqual([reason]);
    expect(connection.isOpen).toBe(false);
    expect(channel.isOpen).toBe(false);
    expect((await channel.closed).code).toBe('CONNECTION_CLOSED');
    await waitFor(async () => !(await queueExists(observer, queue.name)));
    await expect(connection.openChannel()).rejects.toMatchObject({ code: 'CONNECTION_CLOSED' });
  });

  it('connectAndOpenChannel returns an open connection and a working channel', async () => {
    const { connection, channel } = await connectAndOpenChannel(url);
    try {
      expect(channel.connection).toBe(connection);
      expect(channel.isOpen).toBe(true);
      expect(channel.confirmMode).toBe(false);
      const queue = await channel.declareQueue(uniqueName('cao'), { exclusive: true });
      await channel.exchange('').publish('hello', queue.name);
      const message = await waitFor(() => queue.get({ noAck: true }));
      expect(message.text()).toBe('hello');
    } finally {
      await connection.close();
    }
  });

  it('takes heartbeat, frame_max and channel_max from the URL query', async () => {
    const connection = await connect(
      withQuery({ heartbeat: '10', frame_max: '8192', channel_max: '5' }),
    );
    try {
      expect(connection.tuning).toEqual({ channelMax: 5, frameMax: 8192, heartbeat: 10 });
      // A body twelve times frame_max goes out and comes back split into 8 KiB frames: a larger
      // frame either way would be a FRAME_ERROR that closes the connection.
      const channel = await connection.openChannel();
      const queue = await channel.declareQueue('', { exclusive: true });
      const body = Buffer.alloc(100_000, 'abcdefghij');
      await channel.exchange('').publish(body, queue.name);
      const message = await waitFor(() => queue.get({ noAck: true }));
      expect(message.body.equals(body)).toBe(true);
      expect(connection.isOpen).toBe(true);
    } finally {
      await connection.close();
    }
  });

  it('refuses a channel beyond channel_max locally and stays usable', async () => {
    const connection = await connect(withQuery({ channel_max: '2' }));
    try {
      expect(connection.tuning.channelMax).toBe(2);
      const first = await connection.openChannel();
      const second = await connection.openChannel();
      expect([first.id, second.id].sort()).toEqual([1, 2]);

      const refused = await connection.openChannel().catch((error: unknown) => error);
      expect(refused).toBeInstanceOf(AmqpError);
      expect(refused).toMatchObject({ code: 'CHANNEL_LIMIT' });

      // Had a channel.open for channel 3 gone out, the broker would have closed the connection
      // (channel_max is 2) before answering these round trips.
      const queue = await first.declareQueue('', { exclusive: true });
      expect((await second.declareQueue(queue.name, { passive: true })).declared).toEqual({
        messageCount: 0,
        consumerCount: 0,
      });
      expect(connection.isOpen).toBe(true);
      expect(first.isOpen && second.isOpen).toBe(true);

      // Closing one frees its number.
      await second.close();
      const third = await connection.openChannel();
      expect(third.id).toBe(second.id);
      await third.declareQueue(queue.name, { passive: true });
    } finally {
      await connection.close();
    }
  });

  it('updates the secret (connection.update-secret) and goes on working', async () => {
    const connection = await connect(url);
    try {
      // RabbitMQ's internal user database answers update-secret-ok without checking the secret;
      // the point is the round trip, and that the connection is unharmed by it.
      await connection.updateSecret(decodeURIComponent(new URL(url).password) || 'guest');
      expect(connection.isOpen).toBe(true);
      const channel = await connection.openChannel();
      const queue = await channel.declareQueue('', { exclusive: true });
      expect(await queueExists(observer, queue.name)).toBe(true);
    } finally {
      await connection.close();
    }
  });
});

describe('Symbol.asyncDispose', () => {
  it('closes a Connection at the end of its block', async () => {
    let disposed: Connection | undefined;
    let queueName = '';
    {
      await using connection = await connect(url);
      disposed = connection;
      const channel = await connection.openChannel();
      queueName = (await channel.declareQueue('', { exclusive: true })).name;
      expect(await queueExists(observer, queueName)).toBe(true);
    }
    expect(disposed.isOpen).toBe(false);
    expect((await disposed.closed).code).toBe('CONNECTION_CLOSED');
    // The broker dropped the exclusive queue with the connection.
    await waitFor(async () => !(await queueExists(observer, queueName)));
  });

  it('closes a Channel at the end of its block; its unacked message goes back', async () => {
    const setup = await observer.openChannel();
    const queue = await setup.declareQueue(uniqueName('dispose-channel'), { autoDelete: false });
    try {
      await setup.exchange('').publish('kept', queue.name);
      await waitFor(async () => (await queueCounts(observer, queue.name))?.messageCount === 1);

      let disposed: Channel | undefined;
      {
        await using channel = await observer.openChannel();
        disposed = channel;
        const message = await channel.queue(queue.name).get();
        expect(message?.text()).toBe('kept');
        expect(await queueCounts(observer, queue.name)).toEqual({
          messageCount: 0,
          consumerCount: 0,
        });
      }
      expect(disposed.isOpen).toBe(false);
      const reason = await disposed.closed;
      expect(reason).toBeInstanceOf(ChannelError);
      expect(reason.code).toBe('CHANNEL_CLOSED');
      // Closing the channel handed the unacked message back to the queue.
      await waitFor(async () => (await queueCounts(observer, queue.name))?.messageCount === 1);
    } finally {
      await queue.delete({ ifUnused: false, ifEmpty: false });
      await setup.close();
    }
  });

  it('cancels a Consumer at the end of its block; the channel stays open', async () => {
    const channel = await observer.openChannel();
    const queue = await channel.declareQueue(uniqueName('dispose-consumer'));
    try {
      let disposed: Consumer | undefined;
      {
        await using consumer = (await collect(queue, { noAck: true })).consumer;
        disposed = consumer;
        expect((await queueCounts(observer, queue.name))?.consumerCount).toBe(1);
      }
      expect(disposed.cancelled).toBe(true);
      expect(channel.isOpen).toBe(true);
      expect((await queueCounts(observer, queue.name))?.consumerCount).toBe(0);
      // Nothing consumes any more: a message published now stays in the queue.
      await channel.exchange('').publish(new Message('after'), queue.name);
      const message = await waitFor(() => queue.get({ noAck: true }));
      expect(message.text()).toBe('after');
    } finally {
      await queue.delete({ ifUnused: false, ifEmpty: false });
      await channel.close();
    }
  });
});
