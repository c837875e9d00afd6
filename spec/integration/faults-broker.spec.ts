/**
 * Faults that need a broker we manage with `rabbitmqctl`: users without permissions, connections
 * the broker closes (`close_connection`), and a memory alarm that leaves work pending. These
 * tests start their own node rather than assume they may manage the provided one.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  type AmqpError,
  ChannelError,
  type Connection,
  ConnectionError,
  connect,
} from '../../lib/index.js';
import { type Broker, startBroker } from '../support/broker.js';
import {
  ConnectionPool,
  connectionPid,
  rejectionOf,
  rejectionReason,
  sleep,
  uniqueName,
  type Watched,
  watch,
  within,
} from '../support/fault-helpers.js';

let broker: Broker;
const pool = new ConnectionPool();

beforeAll(async () => {
  broker = await startBroker();
});

afterEach(() => pool.closeAll());

afterAll(async () => {
  await broker?.stop();
});

/** The node's AMQP URL with something changed. */
function urlWith(change: (url: URL) => void): string {
  const url = new URL(broker.url);
  change(url);
  return url.toString();
}

/** Has the broker close the connection named `name`, as an operator would. */
async function forceClose(name: string, reason: string): Promise<void> {
  await broker.rabbitmqctl('close_connection', await connectionPid(broker, name), reason);
}

// Each test makes several rabbitmqctl calls, each an Erlang VM that starts: seconds apiece on a
// loaded machine.
const RABBITMQCTL_TESTS = { timeout: 180_000 };

describe('permissions', RABBITMQCTL_TESTS, () => {
  it('NOT_ALLOWED (530) for a user without permissions on the vhost', async () => {
    const vhost = uniqueName('vhost');
    const user = uniqueName('user');
    const password = 'a-password';
    await broker.rabbitmqctl('add_vhost', vhost);
    await broker.rabbitmqctl('add_user', user, password);
    const url = urlWith((url) => {
      url.username = user;
      url.password = password;
      url.pathname = `/${encodeURIComponent(vhost)}`;
    });

    // RabbitMQ 3.10 checks the vhost access at connection.open and answers 530, not 403.
    const error = await within(rejectionOf(connect(url)), 10_000, 'connect settling');

    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({
      code: 'NOT_ALLOWED',
      replyCode: 530,
      method: 'connection.open',
    });
    expect((error as ConnectionError).replyText).toContain(
      `access to vhost '${vhost}' refused for user '${user}'`,
    );

    // With permissions, the same user and vhost connect: the permissions were the reason.
    await broker.rabbitmqctl('set_permissions', '-p', vhost, user, '.*', '.*', '.*');
    const connection = await pool.connect(url);
    const channel = await connection.openChannel();
    await channel.declareQueue('', { exclusive: true });
  });
});

describe('a connection the broker closes (rabbitmqctl close_connection)', RABBITMQCTL_TESTS, () => {
  it('CONNECTION_FORCED (320) with the reason, and everything on it settles', async () => {
    const name = uniqueName('forced');
    // The name comes from the URL here; the next test passes it as an option.
    // Without recovery, the connection closes for good (spec/faults covers recovery).
    const connection = await pool.connect(
      urlWith((url) => {
        url.searchParams.set('connection_name', name);
      }),
      { recovery: false },
    );
    const closeEvents: ConnectionError[] = [];
    connection.on('close', (error) => closeEvents.push(error));
    const consuming = await connection.openChannel();
    const confirming = await connection.openChannel({ confirm: true });
    const queue = await consuming.declareQueue('', { exclusive: true });
    const consumer = await queue.consume((message) => message.ack());
    const cancelled = new Promise<AmqpError>((resolve) => consumer.once('cancel', resolve));

    await forceClose(name, 'maintenance window');

    const error = await within(connection.closed, 5_000, 'the connection closing');
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error).toMatchObject({ code: 'CONNECTION_FORCED', replyCode: 320 });
    expect(error.replyText).toContain('maintenance window');
    expect(error.message).toContain('maintenance window');
    expect(connection.isOpen).toBe(false);
    expect(closeEvents).toEqual([error]);

    const cancelReason = await within(cancelled, 5_000, 'the consumer cancelling');
    expect(cancelReason).toBeInstanceOf(ChannelError);
    expect(cancelReason).toMatchObject({ code: 'CONNECTION_FORCED', cause: error });
    expect(consumer.cancelled).toBe(true);
    for (const channel of [consuming, confirming]) {
      const channelError = await within(channel.closed, 5_000, 'the channel closing');
      expect(channelError).toBeInstanceOf(ChannelError);
      expect(channelError).toMatchObject({ code: 'CONNECTION_FORCED', cause: error });
      await expect(channel.declareQueue()).rejects.toBe(channelError);
      await expect(channel.close()).resolves.toBeUndefined();
    }
    await expect(confirming.exchange('').publish('late', queue.name)).rejects.toMatchObject({
      code: 'CONNECTION_FORCED',
    });
    await expect(connection.openChannel()).rejects.toBe(error);
    await expect(connection.close()).resolves.toBeUndefined();
  });

  it('pending requests, unconfirmed publishes and consumers settle with why', async () => {
    const name = uniqueName('pending');
    const connection: Connection = await pool.connect(broker.url, {
      connectionName: name,
      recovery: false,
    });
    const consuming = await connection.openChannel();
    const getting = await connection.openChannel();
    const declaring = await connection.openChannel();
    const confirming = await connection.openChannel({ confirm: true });
    const triggering = await connection.openChannel();
    const queue = await consuming.declareQueue('', { exclusive: true });
    const consumer = await queue.consume((message) => message.ack());
    const cancelled = watch(new Promise<AmqpError>((resolve) => consumer.once('cancel', resolve)));
    const blocked = watch(new Promise<string>((resolve) => connection.once('blocked', resolve)));

    // A memory alarm makes the broker stop reading from a connection once it publishes: what
    // is sent after that stays unanswered until the connection ends.
    await broker.rabbitmqctl('set_vm_memory_high_watermark', '0.0000001');
    try {
      for (let i = 0; i < 100 && !blocked.settled; i++) {
        await triggering.exchange('').publish('trigger', uniqueName('nowhere'));
        await sleep(50);
      }
      await within(blocked.result, 5_000, 'connection.blocked');
      expect(connection.blocked).toBe(true);

      const pending: Record<string, Watched<unknown>> = {
        get: watch(getting.queue(queue.name).get()),
        declare: watch(declaring.declareQueue('', { exclusive: true })),
        publish: watch(confirming.exchange('').publish('unconfirmed', queue.name)),
        openChannel: watch(connection.openChannel()),
      };
      const pid = await connectionPid(broker, name);
      for (const [what, watched] of Object.entries(pending)) {
        expect(watched.settled, `${what} settled before the close`).toBe(false);
      }
      expect(cancelled.settled).toBe(false);

      await broker.rabbitmqctl('close_connection', pid, 'node under memory pressure');

      const error = await within(connection.closed, 5_000, 'the connection closing');
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ code: 'CONNECTION_FORCED', replyCode: 320 });
      expect(error.replyText).toContain('node under memory pressure');
      for (const [what, watched] of Object.entries(pending)) {
        const reason = await within(rejectionReason(watched), 5_000, `${what} settling`);
        if (what === 'openChannel') {
          // It waited on the blocked connection, not on a channel: the connection's own error.
          expect(reason, what).toBe(error);
          continue;
        }
        expect(reason, what).toBeInstanceOf(ChannelError);
        expect(reason, what).toMatchObject({ code: 'CONNECTION_FORCED', cause: error });
      }
      const cancelReason = await within(cancelled.result, 5_000, 'the consumer cancelling');
      expect(cancelReason).toMatchObject({
        status: 'fulfilled',
        value: { code: 'CONNECTION_FORCED', cause: error },
      });
      for (const channel of [consuming, getting, declaring, confirming, triggering]) {
        expect(await within(channel.closed, 5_000, 'the channel closing')).toMatchObject({
          code: 'CONNECTION_FORCED',
        });
      }
    } finally {
      await broker.rabbitmqctl('set_vm_memory_high_watermark', '0.4');
    }

    // The node is fine once the alarm clears: a new connection publishes and gets.
    const next = await pool.connect(broker.url);
    const channel = await next.openChannel({ confirm: true });
    const fresh = await channel.declareQueue('', { exclusive: true });
    await within(channel.exchange('').publish('after', fresh.name), 5_000, 'the publish');
    expect((await fresh.get({ noAck: true }))?.text()).toBe('after');
  });
});
