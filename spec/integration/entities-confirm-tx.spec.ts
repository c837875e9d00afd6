/**
 * Publisher confirms, returned messages and transactions against RabbitMQ.
 * Every check is of what the broker holds afterwards (ready messages by
 * passive declare, what `get` fetches), not only of how the promise settled.
 */
import { describe, expect, inject, it, onTestFinished } from 'vitest';
import { z } from 'zod';
import {
  type Channel,
  ChannelError,
  type Connection,
  IncomingMessage,
  Message,
  MessageReturnedError,
  MessageValidationError,
  PublishUnconfirmedError,
  type Queue,
  ReceivedMessage,
  ReturnedMessage,
} from '../../lib/index.js';
import { queueCounts, uniqueName, useConnection, waitFor } from '../support/amqp-helpers.js';

const url = inject('amqpUrl');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

/** An exclusive queue with a name, reachable from every channel of the connection. */
async function exclusiveQueue(channel: Channel): Promise<Queue> {
  return channel.declareQueue(uniqueName('ctx'), { exclusive: true });
}

async function ready(queue: Queue): Promise<number | undefined> {
  return (await queueCounts(connection, queue.name))?.messageCount;
}

describe('publisher confirms', () => {
  it('resolves 1000 concurrent publishes once the broker has them all', async () => {
    const channel = await openChannel(true);
    expect(channel.confirmMode).toBe(true);
    const queue = await exclusiveQueue(channel);
    const exchange = channel.exchange('');
    const results = await Promise.allSettled(
      Array.from({ length: 1000 }, (_, i) => exchange.publish({ i }, queue.name)),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1000);
    expect(await ready(queue)).toBe(1000);
    const first = await queue.get({ noAck: true });
    expect(first?.json()).toEqual({ i: 0 });
    expect(await queue.purge()).toBe(999);
  });

  it('rejects an unroutable publish (mandatory by default) with NO_ROUTE; routable ones resolve', async () => {
    const channel = await openChannel(true);
    const exchange = await channel.declareExchange(uniqueName('confirm-ex'), 'direct', {
      autoDelete: true,
    });
    const queue = await exclusiveQueue(channel);
    await queue.bind(exchange, 'known');

    const keys = ['known', 'nowhere', 'known', 'nowhere-else', 'known'];
    const bodies = keys.map((key, i) => Buffer.from(`${i}:${key}`));
    const results = await Promise.allSettled(
      keys.map((key, i) => exchange.publish(new Message(bodies[i], { messageId: `id-${i}` }), key)),
    );
    expect(results.map((r) => r.status)).toEqual([
      'fulfilled',
      'rejected',
      'fulfilled',
      'rejected',
      'fulfilled',
    ]);
    for (const i of [1, 3]) {
      const result = results[i];
      if (result?.status !== 'rejected') throw new Error(`publish ${i} was not rejected`);
      const error = result.reason as MessageReturnedError;
      expect(error).toBeInstanceOf(MessageReturnedError);
      expect(error.code).toBe('NO_ROUTE');
      expect(error.replyCode).toBe(312);
      expect(error.returned.exchange).toBe(exchange.name);
      expect(error.returned.routingKey).toBe(keys[i]);
      expect(error.returned.body.equals(bodies[i] ?? Buffer.alloc(0))).toBe(true);
      expect(error.returned.properties.messageId).toBe(`id-${i}`);
    }
    // Not mandatory: the broker drops it, and confirms it all the same.
    await exchange.publish('dropped', 'nowhere', { mandatory: false });
    expect(await ready(queue)).toBe(3);
    const fetched = [];
    for (
      let m = await queue.get({ noAck: true });
      m !== null;
      m = await queue.get({ noAck: true })
    ) {
      fetched.push(m.text());
    }
    expect(fetched).toEqual(['0:known', '2:known', '4:known']);
  });

  it('rejects pending publishes when the broker closes the channel', async () => {
    const channel = await openChannel(true);
    const missing = uniqueName('no-such-exchange');
    const error = await channel
      .exchange(missing)
      .publish('lost')
      .then(
        () => undefined,
        (reason: unknown) => reason,
      );
    expect(error).toBeInstanceOf(PublishUnconfirmedError);
    expect((error as PublishUnconfirmedError).cause).toBeInstanceOf(ChannelError);
    expect((error as PublishUnconfirmedError).cause).toMatchObject({
      code: 'NOT_FOUND',
      replyCode: 404,
      method: 'basic.publish',
    });
    expect(channel.isOpen).toBe(false);
    expect(connection.isOpen).toBe(true);
  });
});

describe('returns without confirms', () => {
  it('hands an unroutable message (mandatory by default) to the return handler and the return event', async () => {
    const channel = await openChannel();
    const queue = await exclusiveQueue(channel);
    const handled: ReturnedMessage[] = [];
    const emitted: ReturnedMessage[] = [];
    channel.setReturnHandler((message) => handled.push(message));
    channel.on('return', (message) => emitted.push(message));

    const key = uniqueName('unroutable');
    await channel.exchange('').publish(new Message('come back', { correlationId: 'c-1' }), key);
    await channel.exchange('').publish('stays', queue.name);
    await channel.exchange('').publish('dropped quietly', key, { mandatory: false }); // no return
    await waitFor(() => handled.length === 1 && emitted.length === 1, 5_000, 'the return');

    const returned = handled[0];
    expect(returned).toBe(emitted[0]);
    expect(returned).toMatchObject({
      replyCode: 312,
      replyText: 'NO_ROUTE',
      exchange: '',
      routingKey: key,
    });
    expect(returned?.body.toString()).toBe('come back');
    expect(returned?.properties.correlationId).toBe('c-1');
    // A round trip after the last publish: any further return would have come before it.
    expect(await ready(queue)).toBe(1);
    await channel.setQos({ prefetchCount: 0 });
    expect(handled).toHaveLength(1);

    // Without a handler, the event alone receives it.
    channel.setReturnHandler(null);
    await channel.exchange('').publish('again', key);
    await waitFor(() => emitted.length === 2, 5_000, 'the second return');
    expect(handled).toHaveLength(1);
    expect(emitted[1]?.body.toString()).toBe('again');
    expect((await queue.get({ noAck: true }))?.text()).toBe('stays');
  });

  it('warns of unhandled returns once per exchange and routing key', async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error): void => {
      if ((warning as { code?: string }).code === 'WARREN_UNHANDLED_RETURN') warnings.push(warning);
    };
    process.on('warning', onWarning);
    onTestFinished(() => {
      process.off('warning', onWarning);
    });
    const channel = await openChannel();
    const first = uniqueName('unroutable');
    const second = uniqueName('unroutable');
    for (const key of [first, first, first, second, second]) {
      await channel.exchange('').publish(key, key);
    }
    await channel.exchange('amq.direct').publish('elsewhere', first);
    // A round trip after the last publish: its return has come before the reply.
    await channel.setQos({ prefetchCount: 0 });
    // Process warnings are emitted on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    expect(
      warnings.map((warning) =>
        warning.message.match(/exchange '([^']*)', routing key '([^']*)'/)?.slice(1),
      ),
    ).toEqual([
      ['', first],
      ['', second],
      ['amq.direct', first],
    ]);
    // Another channel reports for itself.
    const other = await openChannel();
    await other.exchange('').publish(first, first);
    await other.setQos({ prefetchCount: 0 });
    await new Promise((resolve) => setImmediate(resolve));
    expect(warnings).toHaveLength(4);
  });
});

describe('a returned message reads like a delivered one', () => {
  const Order = z.object({ orderId: z.number(), tenant: z.string() });
  const order = { orderId: 42, tenant: 'acme' };
  const headers = { tenant: 'acme', attempt: 1 };

  /** Checks every accessor of a message the broker returned from `exchange` with `key`. */
  function expectReadable(returned: ReturnedMessage, exchange: string, key: string): void {
    expect(returned).toBeInstanceOf(ReturnedMessage);
    expect(returned).toBeInstanceOf(ReceivedMessage);
    expect(returned).toBeInstanceOf(Message);
    expect(returned).not.toBeInstanceOf(IncomingMessage);
    expect(returned.replyCode).toBe(312);
    expect(returned.replyText).toBe('NO_ROUTE');
    expect(returned.exchange).toBe(exchange);
    expect(returned.routingKey).toBe(key);
    expect(returned.properties.contentType).toBe('application/json');
    expect(returned.headers).toEqual(headers);
    expect(returned.text()).toBe(JSON.stringify(order));
    expect(returned.json()).toEqual(order);
    const parsed: { orderId: number; tenant: string } = returned.json(Order);
    expect(parsed).toEqual(order);
    expect(returned.data).toEqual(order);
    expect(() => returned.json(z.object({ orderId: z.string() }))).toThrow(MessageValidationError);
  }

  it('through the return handler and the return event', async () => {
    const channel = await openChannel();
    const handled: ReturnedMessage[] = [];
    const emitted: ReturnedMessage[] = [];
    channel.setReturnHandler((message) => handled.push(message));
    channel.on('return', (message) => emitted.push(message));
    const key = uniqueName('unroutable');
    await channel.exchange('').publish(new Message(order, { headers }), key, { mandatory: true });
    await waitFor(() => handled.length === 1 && emitted.length === 1, 5_000, 'the return');
    expect(handled[0]).toBe(emitted[0]);
    expectReadable(handled[0] as ReturnedMessage, '', key);
  });

  it('as MessageReturnedError.returned on a confirm channel', async () => {
    const channel = await openChannel(true);
    const exchange = await channel.declareExchange(uniqueName('returns'), 'direct', {
      autoDelete: true,
    });
    const error = await exchange
      .publish(new Message(order, { headers }), 'nowhere', { mandatory: true })
      .then(
        () => undefined,
        (reason: unknown) => reason,
      );
    expect(error).toBeInstanceOf(MessageReturnedError);
    expect((error as MessageReturnedError).code).toBe('NO_ROUTE');
    expectReadable((error as MessageReturnedError).returned, exchange.name, 'nowhere');
  });
});

describe('transactions', () => {
  it('rolls back publishes, and commits them', async () => {
    const channel = await openChannel();
    const queue = await exclusiveQueue(channel);
    await channel.txSelect();
    await channel.exchange('').publish('rolled back', queue.name);
    await channel.exchange('').publish('rolled back too', queue.name);
    // The publishes reached the broker before this round trip, but wait for the commit.
    await channel.setQos({ prefetchCount: 0 });
    expect(await ready(queue)).toBe(0);
    await channel.txRollback();
    expect(await ready(queue)).toBe(0);

    await channel.exchange('').publish('committed', queue.name);
    await channel.setQos({ prefetchCount: 0 });
    expect(await ready(queue)).toBe(0);
    await channel.txCommit();
    expect(await ready(queue)).toBe(1);
    expect((await queue.get({ noAck: true }))?.text()).toBe('committed');
  });

  it('holds acks until the commit: rolled back, the message returns when the channel closes', async () => {
    const setup = await openChannel(true);
    const queue = await exclusiveQueue(setup);
    await setup.exchange('').publish('to ack', queue.name);

    const rolledBack = await connection.openChannel();
    await rolledBack.txSelect();
    const first = await rolledBack.queue(queue.name).get();
    first?.ack();
    await rolledBack.txRollback();
    await rolledBack.close(); // the ack was discarded: the message is still unacked, so requeued
    expect(await ready(queue)).toBe(1);

    const committed = await connection.openChannel();
    await committed.txSelect();
    const second = await committed.queue(queue.name).get();
    expect(second?.redelivered).toBe(true);
    second?.ack();
    await committed.txCommit();
    await committed.close();
    expect(await ready(queue)).toBe(0);
  });

  it('a rollback unsettles what the transaction settled: it can be acked again', async () => {
    const setup = await openChannel(true);
    const queue = await exclusiveQueue(setup);
    await Promise.all(['a', 'b', 'c'].map((body) => setup.exchange('').publish(body, queue.name)));

    const channel = await connection.openChannel();
    await channel.txSelect();
    const a = await channel.queue(queue.name).get();
    const b = await channel.queue(queue.name).get();
    const c = await channel.queue(queue.name).get();
    if (a === null || b === null || c === null) throw new Error('expected three messages');
    b.ack({ multiple: true }); // a and b
    c.reject({ requeue: false });
    expect([a.settled, b.settled, c.settled]).toEqual([true, true, true]);
    await channel.txRollback();
    expect([a.settled, b.settled, c.settled]).toEqual([false, false, false]);

    // Settled anew and committed: the broker takes these acks (a stale tag would close the channel).
    c.ack();
    a.ack();
    b.ack();
    await channel.txCommit();
    expect(channel.isOpen).toBe(true);
    expect(c.settled).toBe(true);
    await channel.close();
    expect(await ready(queue)).toBe(0);
  });
});
