/**
 * Errors and faults against a real broker: soft errors close only their channel, connecting
 * fails with a clear error, closing settles everything pending, and heartbeats keep an idle
 * connection alive. Everything here runs against the broker the integration setup provides;
 * what needs `rabbitmqctl` is in faults-broker.spec.ts.
 */
import { randomUUID } from 'node:crypto';
import { inspect } from 'node:util';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  AbortError,
  type AmqpError,
  type Channel,
  ChannelError,
  ConnectionError,
  connect,
  PublishUnconfirmedError,
} from '../../lib/index.js';
import {
  ConnectionPool,
  closedPort,
  FakeServer,
  Inbox,
  rejectionOf,
  rejectionReason,
  sleep,
  uniqueName,
  watch,
  within,
} from '../support/fault-helpers.js';

const brokerUrl = inject('amqpUrl');
const pool = new ConnectionPool();
/** For queues that are not exclusive: gone a minute after their last use, should a test fail. */
const EXPIRES = { 'x-expires': 60_000 };

afterEach(() => pool.closeAll());

/** The broker URL with something changed. */
function urlWith(change: (url: URL) => void): string {
  const url = new URL(brokerUrl);
  change(url);
  return url.toString();
}

/** Checks that `channel` still declares, publishes and gets: the connection survived. */
async function expectWorking(channel: Channel): Promise<void> {
  expect(channel.isOpen).toBe(true);
  const queue = await channel.declareQueue('', { exclusive: true });
  await channel.exchange('').publish('still working', queue.name);
  const message = await queue.get({ noAck: true });
  expect(message?.text()).toBe('still working');
}

describe('a soft error closes only its channel', () => {
  interface Redeclaration {
    what: string;
    /** The first declaration, on the channel that survives. */
    declare(channel: Channel, name: string): Promise<unknown>;
    /** The conflicting one, on the channel that dies. */
    redeclare(channel: Channel, name: string): Promise<unknown>;
    method: string;
    text: string;
    cleanUp(channel: Channel, name: string): Promise<unknown>;
  }
  const redeclarations: Redeclaration[] = [
    {
      what: 'a queue with other durability',
      // Not exclusive: RabbitMQ makes every exclusive queue transient and ignores `durable`.
      // The queue expires by itself should the test stop before deleting it.
      declare: (channel, name) => channel.declareQueue(name, { arguments: EXPIRES }), // durable
      redeclare: (channel, name) =>
        channel.declareQueue(name, { durable: false, arguments: EXPIRES }),
      method: 'queue.declare',
      text: "inequivalent arg 'durable'",
      cleanUp: (channel, name) => channel.queue(name).delete(),
    },
    {
      what: 'a queue with other arguments',
      declare: (channel, name) =>
        channel.declareQueue(name, { exclusive: true, arguments: { 'x-message-ttl': 60_000 } }),
      redeclare: (channel, name) =>
        channel.declareQueue(name, { exclusive: true, arguments: { 'x-message-ttl': 1_000 } }),
      method: 'queue.declare',
      text: "inequivalent arg 'x-message-ttl'",
      cleanUp: (channel, name) => channel.queue(name).delete(),
    },
    {
      what: 'an exchange with another type',
      declare: (channel, name) => channel.declareExchange(name, 'direct'),
      redeclare: (channel, name) => channel.declareExchange(name, 'fanout'),
      method: 'exchange.declare',
      text: "inequivalent arg 'type'",
      cleanUp: (channel, name) => channel.exchange(name).delete(),
    },
  ];

  it.each(redeclarations)('406 PRECONDITION_FAILED when redeclaring $what', async (row) => {
    const connection = await pool.connect(brokerUrl);
    const survivor = await connection.openChannel();
    const failing = await connection.openChannel();
    const name = uniqueName('406');
    await row.declare(survivor, name);

    const error = await rejectionOf(row.redeclare(failing, name));

    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({
      code: 'PRECONDITION_FAILED',
      replyCode: 406,
      method: row.method,
    });
    expect((error as ChannelError).replyText).toContain(row.text);
    expect((error as ChannelError).message).toContain('406');
    // The channel is closed with that very error, and every later call rejects with it.
    expect(await failing.closed).toBe(error);
    expect(failing.isOpen).toBe(false);
    await expect(failing.declareQueue('', { exclusive: true })).rejects.toBe(error);
    await expect(failing.queue(name).get()).rejects.toBe(error);
    await expect(failing.exchange('').publish('nowhere', name)).rejects.toBe(error);
    await expect(failing.close()).resolves.toBeUndefined();
    // The connection and the other channel carry on, and new channels open.
    expect(connection.isOpen).toBe(true);
    await expect(row.declare(survivor, name)).resolves.toBeDefined();
    await expectWorking(survivor);
    await expectWorking(await connection.openChannel());
    await row.cleanUp(survivor, name);
  });

  it('404 NOT_FOUND: a publish to a missing exchange rejects on a confirm channel as unconfirmed, with the 404 as cause', async () => {
    const connection = await pool.connect(brokerUrl);
    const other = await connection.openChannel();
    const channel = await connection.openChannel({ confirm: true });
    const missing = uniqueName('missing');

    const unconfirmed = await rejectionOf(channel.exchange(missing).publish('lost'));

    // Unconfirmed when the channel closed: the error says so, and carries the broker's reason.
    expect(unconfirmed).toBeInstanceOf(PublishUnconfirmedError);
    expect(unconfirmed).toMatchObject({ code: 'PUBLISH_UNCONFIRMED' });
    const error = (unconfirmed as PublishUnconfirmedError).cause;
    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', replyCode: 404, method: 'basic.publish' });
    expect((error as ChannelError).replyText).toContain(`no exchange '${missing}'`);
    expect(await channel.closed).toBe(error);
    await expect(channel.exchange('').publish('x', 'y')).rejects.toBe(error);
    expect(connection.isOpen).toBe(true);
    await expectWorking(other);
  });

  it('404 NOT_FOUND without confirms: the publish resolves, the next operation rejects', async () => {
    const connection = await pool.connect(brokerUrl);
    const other = await connection.openChannel();
    const channel = await connection.openChannel();
    const missing = uniqueName('missing');

    // Nothing is confirmed: the publish resolves as soon as the socket takes it.
    await channel.exchange(missing).publish('lost');
    // Sent before the broker's channel.close arrives, this still rejects with it.
    const error = await within(
      rejectionOf(channel.declareQueue('', { exclusive: true })),
      5_000,
      'the next operation settling',
    );

    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', replyCode: 404, method: 'basic.publish' });
    expect((error as ChannelError).replyText).toContain(`no exchange '${missing}'`);
    expect(await channel.closed).toBe(error);
    await expect(channel.queue('whatever').get()).rejects.toBe(error);
    await expect(channel.exchange(missing).publish('again')).rejects.toBe(error);
    expect(connection.isOpen).toBe(true);
    await expectWorking(other);
  });

  it('404 NOT_FOUND while the application closes the channel: both closes cross, the connection survives', async () => {
    const connection = await pool.connect(brokerUrl);
    const closes: ConnectionError[] = [];
    connection.on('close', (error) => closes.push(error));
    const channel = await connection.openChannel();
    const missing = uniqueName('missing');

    // channel.close goes out right behind the publish, before the broker's channel.close (404)
    // comes back: the broker answers both, and its close-ok comes last.
    const publishing = channel.exchange(missing).publish('lost');
    const closing = channel.close();
    await publishing;
    await within(closing, 5_000, 'channel.close()');

    const error = await channel.closed;
    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', replyCode: 404, method: 'basic.publish' });
    await expect(channel.declareQueue('', { exclusive: true })).rejects.toBe(error);
    // The broker's close-ok for our close arrives after this: it must not be a protocol error.
    const others = await Promise.all([connection.openChannel(), connection.openChannel()]);
    for (const other of others) await expectWorking(other);
    expect(closes).toEqual([]);
    expect(connection.isOpen).toBe(true);
  });

  it('404 NOT_FOUND: binding a queue to a missing exchange', async () => {
    const connection = await pool.connect(brokerUrl);
    const channel = await connection.openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    const missing = uniqueName('missing');

    const error = await rejectionOf(queue.bind(missing, 'key'));

    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({ code: 'NOT_FOUND', replyCode: 404, method: 'queue.bind' });
    expect((error as ChannelError).replyText).toContain(`no exchange '${missing}'`);
    expect(await channel.closed).toBe(error);
    expect(connection.isOpen).toBe(true);
    await expectWorking(await connection.openChannel());
  });

  it("405 RESOURCE_LOCKED: another connection's exclusive queue cannot be declared or consumed", async () => {
    const owner = await pool.connect(brokerUrl);
    const intruder = await pool.connect(brokerUrl);
    const ownerChannel = await owner.openChannel();
    const name = uniqueName('exclusive');
    const queue = await ownerChannel.declareQueue(name, { exclusive: true });

    const declaring = await intruder.openChannel();
    const declareError = await rejectionOf(declaring.declareQueue(name));
    expect(declareError).toBeInstanceOf(ChannelError);
    expect(declareError).toMatchObject({
      code: 'RESOURCE_LOCKED',
      replyCode: 405,
      method: 'queue.declare',
    });
    expect((declareError as ChannelError).replyText).toContain(`locked queue '${name}'`);
    expect(await declaring.closed).toBe(declareError);

    const consuming = await intruder.openChannel();
    const consumeError = await rejectionOf(consuming.queue(name).consume(() => {}));
    expect(consumeError).toBeInstanceOf(ChannelError);
    expect(consumeError).toMatchObject({
      code: 'RESOURCE_LOCKED',
      replyCode: 405,
      method: 'basic.consume',
    });
    expect(await consuming.closed).toBe(consumeError);

    // Both connections carry on; the owner still has its queue.
    expect(intruder.isOpen).toBe(true);
    await expectWorking(await intruder.openChannel());
    await ownerChannel.exchange('').publish('mine', name);
    expect((await queue.get({ noAck: true }))?.text()).toBe('mine');
  });

  it("leaves another channel's consumer running", async () => {
    const connection = await pool.connect(brokerUrl);
    const consuming = await connection.openChannel();
    const publishing = await connection.openChannel({ confirm: true });
    const failing = await connection.openChannel();
    const queue = await consuming.declareQueue('', { exclusive: true });
    const inbox = new Inbox();
    const consumer = await queue.consume((message) => {
      inbox.push(message.text());
      message.ack();
    });
    const cancels: AmqpError[] = [];
    consumer.on('cancel', (reason) => cancels.push(reason));

    await publishing.exchange('').publish('before', queue.name);
    await inbox.until(1);
    await failing.exchange(uniqueName('missing')).publish('lost');
    const error = await within(failing.closed, 5_000, 'the failing channel closing');
    expect(error).toMatchObject({ code: 'NOT_FOUND', replyCode: 404 });
    await publishing.exchange('').publish('after', queue.name);
    await inbox.until(2);

    expect(inbox.texts).toEqual(['before', 'after']);
    expect(consumer.cancelled).toBe(false);
    expect(cancels).toEqual([]);
    expect(consuming.isOpen).toBe(true);
    expect(publishing.isOpen).toBe(true);
    await consumer.cancel();
  });
});

describe('connecting fails with a clear error', () => {
  it('ACCESS_REFUSED (403) for a wrong password, which it never shows', async () => {
    const password = `wrong-${randomUUID()}`;
    const url = urlWith((url) => {
      url.password = password;
    });

    const error = await within(rejectionOf(connect(url)), 10_000, 'connect settling');

    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: 'ACCESS_REFUSED', replyCode: 403 });
    expect((error as ConnectionError).replyText).toContain('ACCESS_REFUSED');
    for (const text of [
      (error as Error).message,
      String(error),
      inspect(error),
      inspect(error, { showHidden: true, depth: null }),
    ]) {
      expect(text).not.toContain(password);
    }
  });

  it('NOT_ALLOWED (530) for a vhost that does not exist', async () => {
    const vhost = uniqueName('vhost');
    const url = urlWith((url) => {
      url.pathname = `/${encodeURIComponent(vhost)}`;
    });

    const error = await within(rejectionOf(connect(url)), 10_000, 'connect settling');

    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({
      code: 'NOT_ALLOWED',
      replyCode: 530,
      method: 'connection.open',
    });
    expect((error as ConnectionError).replyText).toContain(vhost);
  });

  it('CONNECTION_REFUSED when nothing listens on the port', async () => {
    const port = await closedPort();

    const error = await within(
      rejectionOf(connect(`amqp://guest:guest@127.0.0.1:${port}/`)),
      5_000,
      'connect settling',
    );

    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: 'CONNECTION_REFUSED' });
    expect((error as ConnectionError).replyCode).toBeUndefined();
    expect((error as ConnectionError).message).toContain(`127.0.0.1:${port}`);
    expect(((error as ConnectionError).cause as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('CONNECT_TIMEOUT when the server accepts and never answers, and lets go of the socket', async () => {
    const server = new FakeServer();
    const port = await server.listen();
    try {
      const error = await within(
        rejectionOf(connect(`amqp://guest:guest@127.0.0.1:${port}/`, { connectionTimeout: 300 })),
        5_000,
        'connect giving up',
      );

      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ code: 'CONNECT_TIMEOUT' });
      expect((error as ConnectionError).message).toContain('300 ms');
      // The socket was open and the handshake had begun: the timeout covers the handshake.
      const accepted = await server.firstConnection();
      expect(accepted.received().toString('latin1')).toBe('AMQP\x00\x00\x09\x01');
      await within(accepted.closed, 3_000, 'the client closing its socket');
      expect(server.accepted).toHaveLength(1);
    } finally {
      await server.close();
    }
  });

  it('CONNECTION_LOST when the server hangs up during the handshake', async () => {
    const server = new FakeServer((socket) => socket.once('data', () => socket.end()));
    const port = await server.listen();
    try {
      const error = await within(
        rejectionOf(connect(`amqp://guest:guest@127.0.0.1:${port}/`)),
        5_000,
        'connect settling',
      );

      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ code: 'CONNECTION_LOST' });
      expect((error as ConnectionError).message).toContain('during the handshake');
    } finally {
      await server.close();
    }
  });

  it('FRAME_ERROR when the server answers with its own protocol header', async () => {
    // What a broker does when it speaks another AMQP version; here AMQP 1.0's header.
    const server = new FakeServer((socket) =>
      socket.once('data', () => socket.write(Buffer.from('AMQP\x00\x01\x00\x00', 'latin1'))),
    );
    const port = await server.listen();
    try {
      const error = await within(
        rejectionOf(connect(`amqp://guest:guest@127.0.0.1:${port}/`)),
        5_000,
        'connect settling',
      );

      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ code: 'FRAME_ERROR' });
      expect((error as ConnectionError).message).toContain('protocol header');
      const accepted = await server.firstConnection();
      await within(accepted.closed, 3_000, 'the client closing its socket');
    } finally {
      await server.close();
    }
  });

  it('ABORTED when the signal aborts mid-handshake, and lets go of the socket', async () => {
    const server = new FakeServer();
    const port = await server.listen();
    try {
      const controller = new AbortController();
      const connecting = watch(
        connect(`amqp://guest:guest@127.0.0.1:${port}/`, {
          connectionTimeout: 20_000,
          signal: controller.signal,
        }),
      );
      const accepted = await within(server.firstConnection(), 5_000, 'the client connecting');
      await within(accepted.firstChunk, 5_000, 'the protocol header arriving');
      expect(connecting.settled).toBe(false);
      const reason = new Error('the user gave up');
      controller.abort(reason);

      const error = await within(rejectionReason(connecting), 5_000, 'connect settling');

      expect(error).toBeInstanceOf(AbortError);
      expect(error).toMatchObject({ code: 'ABORTED' });
      expect((error as AbortError).cause).toBe(reason);
      await within(accepted.closed, 3_000, 'the client closing its socket');
    } finally {
      await server.close();
    }
  });
});

describe('closing settles everything pending', () => {
  it('connection.close() with a get in flight, and a consumer it cancels first', async () => {
    const connection = await pool.connect(brokerUrl);
    const consuming = await connection.openChannel();
    const getting = await connection.openChannel();
    const queue = await consuming.declareQueue('', { exclusive: true });
    const consumer = await queue.consume(() => {});
    const cancelEvents: AmqpError[] = [];
    consumer.on('cancel', (reason) => cancelEvents.push(reason));

    const closing = connection.close();
    // Issued after close(): the graceful close is still cancelling consumers, so it goes out.
    const get = watch(getting.queue(queue.name).get());
    await within(closing, 5_000, 'connection.close()');

    const connectionError = await connection.closed;
    expect(connectionError).toBeInstanceOf(ConnectionError);
    expect(connectionError).toMatchObject({ code: 'CONNECTION_CLOSED' });
    // It settled one way or the other: answered (empty queue) before the close, or rejected.
    const settled = await within(get.result, 5_000, 'the get settling');
    if (settled.status === 'rejected') {
      expect(settled.reason).toMatchObject({ code: 'CONNECTION_CLOSED' });
    } else {
      expect(settled.value).toBeNull();
    }
    // Cancelled by the close itself: no 'cancel' event, as for consumer.cancel().
    expect(consumer.cancelled).toBe(true);
    expect(cancelEvents).toEqual([]);
    expect(await consuming.closed).toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(await getting.closed).toMatchObject({ code: 'CONNECTION_CLOSED' });
  });

  it('channel.close() while the connection is closing resolves', async () => {
    const connection = await pool.connect(brokerUrl);
    const channel = await connection.openChannel();

    const closingConnection = connection.close();
    await within(channel.close(), 5_000, 'channel.close()');
    await within(closingConnection, 5_000, 'connection.close()');

    expect(await channel.closed).toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(channel.isOpen).toBe(false);
  });

  it('operations after channel.close() reject with CHANNEL_CLOSED', async () => {
    const connection = await pool.connect(brokerUrl);
    const channel = await connection.openChannel({ confirm: true });
    const queue = await channel.declareQueue('', { exclusive: true });
    const consumer = await queue.consume(() => {});

    await channel.close();

    const closed = await channel.closed;
    expect(closed).toBeInstanceOf(ChannelError);
    expect(closed).toMatchObject({ code: 'CHANNEL_CLOSED' });
    expect(closed.replyCode).toBeUndefined();
    const operations: Promise<unknown>[] = [
      channel.declareQueue('', { exclusive: true }),
      channel.declareExchange(uniqueName('exchange'), 'direct'),
      queue.get(),
      queue.purge(),
      queue.bind('amq.direct'),
      queue.consume(() => {}),
      channel.exchange('').publish('late', queue.name),
      channel.setQos({ prefetchCount: 1 }),
    ];
    for (const operation of operations) {
      await expect(within(operation, 5_000, 'the operation settling')).rejects.toBe(closed);
    }
    expect(consumer.cancelled).toBe(true);
    await expect(consumer.cancel()).resolves.toBeUndefined();
    await expect(channel.close()).resolves.toBeUndefined();
    // The connection is untouched.
    expect(connection.isOpen).toBe(true);
    await expectWorking(await connection.openChannel());
  });

  it('operations after connection.close() reject with CONNECTION_CLOSED', async () => {
    const connection = await pool.connect(brokerUrl);
    const channel = await connection.openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });

    await connection.close();

    const closed = await connection.closed;
    expect(closed).toBeInstanceOf(ConnectionError);
    expect(closed).toMatchObject({ code: 'CONNECTION_CLOSED' });
    expect(connection.isOpen).toBe(false);
    const openError = await within(rejectionOf(connection.openChannel()), 5_000, 'openChannel');
    expect(openError).toBeInstanceOf(ConnectionError);
    expect(openError).toMatchObject({ code: 'CONNECTION_CLOSED' });
    const channelError = await channel.closed;
    expect(channelError).toBeInstanceOf(ChannelError);
    expect(channelError).toMatchObject({ code: 'CONNECTION_CLOSED', cause: closed });
    const operations: Promise<unknown>[] = [
      channel.declareQueue('', { exclusive: true }),
      queue.get(),
      channel.exchange('').publish('late', queue.name),
    ];
    for (const operation of operations) {
      await expect(within(operation, 5_000, 'the operation settling')).rejects.toBe(channelError);
    }
    await expect(connection.updateSecret('new-secret')).rejects.toMatchObject({
      code: 'CONNECTION_CLOSED',
    });
    await expect(channel.close()).resolves.toBeUndefined();
    await expect(connection.close()).resolves.toBeUndefined();
  });
});

describe('heartbeats', () => {
  it('an idle connection with heartbeat=1 stays open: warren sends its heartbeats', async () => {
    const connection = await pool.connect(
      urlWith((url) => {
        url.searchParams.set('heartbeat', '1');
      }),
    );
    const closes: ConnectionError[] = [];
    connection.on('close', (error) => closes.push(error));
    expect(connection.tuning.heartbeat).toBe(1);

    // RabbitMQ drops a client it has not heard from for two intervals: wait well past that.
    await sleep(3_500);

    expect(closes).toEqual([]);
    expect(connection.isOpen).toBe(true);
    await expectWorking(await connection.openChannel());
  });
});
