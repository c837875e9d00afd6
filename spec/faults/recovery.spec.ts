/**
 * Recovery through a TCP proxy the test owns: the connection is cut, reset or black-holed, and
 * warren must come back by itself with its channels, exchanges, queues, bindings and consumers,
 * and lose nothing that was confirmed. What recovery leaves out (deleted, unbound, cancelled),
 * what it cannot bring back (a queue deleted or grabbed elsewhere meanwhile), and how it ends
 * (out of attempts, closed by the application, refused credentials, turned off) are checked
 * against the broker over a second connection that does not go through the proxy.
 *
 * Every test also fails when the process saw an unhandled rejection, an uncaught exception or a
 * warren warning while it ran.
 */
import { describe, expect, inject, it } from 'vitest';
import {
  type AmqpError,
  type Channel,
  ChannelError,
  type Connection,
  type ConnectionError,
  connect,
  type Exchange,
  type IncomingMessage,
  type Queue,
  type ReconnectAttempt,
  type RecoveryFailure,
} from '../../lib/index.js';
import {
  exchangeExists,
  queueCounts,
  queueExists,
  route,
  uniqueName,
  waitFor,
} from '../support/amqp-helpers.js';
import {
  Inbox,
  rejectionReason,
  sleep,
  type Watched,
  watch,
  within,
} from '../support/fault-helpers.js';
import {
  EXPIRES,
  nextEvent,
  nextRecovery,
  useFaultSuite,
  useProxiedBroker,
} from '../support/fault-suite.js';

const { later } = useFaultSuite();
const broker = useProxiedBroker(inject('amqpUrl'), later);
const { newProxy, connectThrough, throughProxy, directChannel, deleteLater } = broker;

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

/** What a connection reported, in order. */
interface Recorded {
  readonly events: string[];
  readonly reconnecting: ReconnectAttempt[];
  readonly failures: RecoveryFailure[];
  readonly closes: ConnectionError[];
}

function record(connection: Connection): Recorded {
  const recorded: Recorded = { events: [], reconnecting: [], failures: [], closes: [] };
  connection.on('disconnected', (error) => recorded.events.push(`disconnected ${error.code}`));
  connection.on('reconnecting', (attempt) => {
    recorded.reconnecting.push(attempt);
    recorded.events.push(`reconnecting ${attempt.attempt}`);
  });
  connection.on('recovered', () => recorded.events.push('recovered'));
  connection.on('recoveryFailure', (failure) => {
    recorded.failures.push(failure);
    recorded.events.push(`recoveryFailure ${failure.entity}`);
  });
  connection.on('close', (error) => {
    recorded.closes.push(error);
    recorded.events.push(`close ${error.code}`);
  });
  return recorded;
}

/** Declares a direct exchange that recovery must declare again, deleted after the test. */
async function declareExchange(channel: Channel, prefix = 'rec-x'): Promise<Exchange> {
  const name = uniqueName(prefix);
  deleteLater('exchange', name);
  return channel.declareExchange(name, 'direct');
}

/**
 * An exchange, a queue bound to it with `key`, and a consumer that acks and records each text. The
 * queue is not exclusive: the broker may drop the old connection only after warren is back (it
 * did not see the loss yet), and an exclusive queue would be locked by it until then.
 */
async function boundConsumer(
  connection: Connection,
): Promise<{ channel: Channel; exchange: Exchange; queue: Queue; inbox: Inbox }> {
  const channel = await connection.openChannel({ confirm: true });
  const exchange = await declareExchange(channel);
  const name = uniqueName('rec-q');
  deleteLater('queue', name);
  const queue = await channel.declareQueue(name, { arguments: EXPIRES });
  await queue.bind(exchange, 'key');
  const inbox = new Inbox();
  await queue.consume((message: IncomingMessage) => {
    inbox.push(message.text());
    message.ack();
  });
  return { channel, exchange, queue, inbox };
}

/** Waits for `count` texts in `inbox`, more patiently than {@link Inbox.until}. */
async function received(inbox: Inbox, count: number, ms = 10_000): Promise<string[]> {
  await waitFor(() => inbox.texts.length >= count, ms, `${count} deliveries`);
  return inbox.texts.slice(0, count);
}

// ------------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------------

describe('recovery after a cut', () => {
  it('brings back the exchange, queue, binding and consumer, and delivers again', async () => {
    const { proxy, connection } = await throughProxy();
    const channel = await connection.openChannel({ confirm: true });
    const exchange = await channel.declareExchange(uniqueName('rec-x'), 'direct', {
      autoDelete: true,
    });
    const queue = await channel.declareQueue(uniqueName('rec-q'), { exclusive: true });
    await queue.bind(exchange, 'key');
    const received: string[] = [];
    await queue.consume((message: IncomingMessage) => {
      received.push(message.text());
      message.ack();
    });
    await exchange.publish('before', 'key');
    await waitFor(() => received.length === 1);

    const events: string[] = [];
    connection.on('disconnected', (error) => events.push(`disconnected ${error.code}`));
    connection.on('reconnecting', ({ attempt }) => events.push(`reconnecting ${attempt}`));
    const recovered = nextRecovery(connection);
    proxy.cut();
    await recovered;

    expect(events[0]).toBe('disconnected CONNECTION_LOST');
    expect(events).toContain('reconnecting 1');
    expect(connection.isOpen).toBe(true);
    expect(channel.isOpen).toBe(true);
    // The exclusive queue died with the old connection: it is back, bound, with its consumer.
    await exchange.publish('after', 'key');
    await waitFor(() => received.length === 2);
    expect(received).toEqual(['before', 'after']);
    expect(proxy.accepted).toBe(2);
  });

  it('recovers likewise from a reset (RST)', async () => {
    const { proxy, connection } = await throughProxy();
    const recorded = record(connection);
    const { channel, exchange, queue, inbox } = await boundConsumer(connection);
    await exchange.publish('before', 'key');
    await received(inbox, 1);
    // A round trip after the ack: the broker has it before the reset.
    await channel.declareQueue(queue.name, { passive: true });

    const recovered = nextRecovery(connection);
    proxy.reset();
    await recovered;

    expect(recorded.events[0]).toBe('disconnected CONNECTION_LOST');
    expect(recorded.events).toContain('reconnecting 1');
    expect(recorded.failures).toEqual([]);
    expect(connection.isOpen).toBe(true);
    expect(channel.isOpen).toBe(true);
    await exchange.publish('after', 'key');
    expect(await received(inbox, 2)).toEqual(['before', 'after']);
    expect(proxy.accepted).toBe(2);
  });

  it('detects a black-holed peer by its missing heartbeats, and recovers', async () => {
    const { proxy, connection } = await throughProxy({ heartbeat: 1 });
    expect(connection.tuning.heartbeat).toBe(1);
    const recorded = record(connection);
    const { channel, exchange, queue, inbox } = await boundConsumer(connection);
    await exchange.publish('before', 'key');
    await received(inbox, 1);
    // A round trip after the ack: the broker has it before the black hole swallows anything.
    await channel.declareQueue(queue.name, { passive: true });

    const disconnected = nextEvent(connection, 'disconnected', 10_000);
    const recovered = nextEvent(connection, 'recovered', 20_000);
    proxy.blackhole('both');
    const [error] = await disconnected;
    expect(error.code).toBe('HEARTBEAT_TIMEOUT');
    await recovered;

    expect(connection.isOpen).toBe(true);
    expect(channel.isOpen).toBe(true);
    expect(proxy.accepted).toBe(2);
    // The new link is not black-holed: a publish is confirmed and delivered. (A delivery to the
    // old consumer, until the broker gives up on the old connection, is requeued then.)
    await exchange.publish('after', 'key');
    expect(await received(inbox, 2, 15_000)).toEqual(['before', 'after']);
    expect(recorded.events.filter((event) => event.startsWith('disconnected'))).toEqual([
      'disconnected HEARTBEAT_TIMEOUT',
    ]);
  });
});

describe('what recovery declares again', () => {
  it('renames a server-named queue, and its binding and consumer follow', async () => {
    const { proxy, connection } = await throughProxy();
    const channel = await connection.openChannel({ confirm: true });
    const exchange = await declareExchange(channel);
    const queue = await channel.declareQueue('', { exclusive: true });
    const oldName = queue.name;
    expect(oldName).toMatch(/^amq\.gen-/);
    await queue.bind(exchange, 'key');
    const inbox = new Inbox();
    await queue.consume((message: IncomingMessage) => {
      inbox.push(message.text());
      message.ack();
    });
    const renamed: { queue: Queue; from: string; to: string }[] = [];
    connection.on('queueRenamed', (renamedQueue, from, to) => {
      renamed.push({ queue: renamedQueue, from, to });
    });

    const recovered = nextRecovery(connection);
    proxy.cut();
    await recovered;

    expect(renamed).toHaveLength(1);
    const [event] = renamed;
    expect(event?.queue).toBe(queue);
    expect(event?.from).toBe(oldName);
    expect(event?.to).toMatch(/^amq\.gen-/);
    expect(event?.to).not.toBe(oldName);
    expect(queue.name).toBe(event?.to);
    // The binding follows the new name: a publish to the exchange reaches the consumer.
    await exchange.publish('after', 'key');
    expect(await received(inbox, 1)).toEqual(['after']);
    // The old queue died with the old connection; the new one exists (exclusive to ours).
    await waitFor(
      async () => !(await queueExists(broker.direct, oldName)),
      10_000,
      'the old queue gone',
    );
    expect(await queueExists(broker.direct, queue.name)).toBe(true);
  });

  it('brings back an exclusive named queue, which died with the old connection, and its consumer', async () => {
    const { proxy, connection } = await throughProxy();
    const recorded = record(connection);
    const channel = await connection.openChannel();
    const name = uniqueName('rec-exclusive');
    const queue = await channel.declareQueue(name, { exclusive: true });
    const inbox = new Inbox();
    await queue.consume((message: IncomingMessage) => {
      inbox.push(message.text());
      message.ack();
    });

    // The broker must have dropped the old connection (and its exclusive queue) before warren
    // comes back: otherwise the name would still be locked by that connection (405).
    const disconnected = nextEvent(connection, 'disconnected');
    proxy.refuse(true);
    proxy.cut();
    await disconnected;
    await waitFor(
      async () => !(await queueExists(broker.direct, name)),
      10_000,
      'the old queue gone',
    );
    const recovered = nextRecovery(connection);
    proxy.refuse(false);
    await recovered;

    expect(recorded.failures).toEqual([]);
    expect(queue.name).toBe(name);
    // Published by another connection: the broker's queue of that name has our consumer.
    const other = await directChannel(true);
    await other.exchange('').publish('from elsewhere', name);
    expect(await received(inbox, 1)).toEqual(['from elsewhere']);
    // Exclusive to our recovered connection: locked for the other one.
    const probe = await broker.direct.openChannel();
    const locked = await rejectionReason(watch(probe.declareQueue(name, { passive: true })));
    expect((locked as ChannelError).replyCode).toBe(405);
  });

  it('leaves out what was deleted, unbound or cancelled before the loss', async () => {
    const { proxy, connection } = await throughProxy();
    const recorded = record(connection);
    const channel = await connection.openChannel();
    const source = await declareExchange(channel, 'rec-source');
    const destination = await declareExchange(channel, 'rec-destination');
    const goneExchange = await channel.declareExchange(uniqueName('rec-gone-x'), 'direct');
    await goneExchange.delete();
    const goneQueueName = uniqueName('rec-gone-q');
    const goneQueue = await channel.declareQueue(goneQueueName, { arguments: EXPIRES });
    await goneQueue.delete();
    const keptName = uniqueName('rec-kept-q');
    deleteLater('queue', keptName);
    const kept = await channel.declareQueue(keptName, { arguments: EXPIRES });
    await kept.bind(source, 'kept');
    const unbound = await kept.bind(source, 'unbound');
    await unbound.unbind();
    await kept.bind(destination, 'e2e');
    const exchangeBinding = await destination.bind(source, 'e2e');
    await exchangeBinding.unbind();
    const consumer = await kept.consume(() => {});
    await consumer.cancel();

    const recovered = nextRecovery(connection);
    proxy.cut();
    await recovered;

    expect(recorded.failures).toEqual([]);
    expect(await queueExists(broker.direct, goneQueueName)).toBe(false);
    expect(await exchangeExists(broker.direct, goneExchange.name)).toBe(false);
    expect((await queueCounts(broker.direct, keptName))?.consumerCount).toBe(0);
    const publisher = await directChannel(true);
    expect(await route(publisher.exchange(source.name), 'unbound')).toBe('NO_ROUTE');
    expect(await route(publisher.exchange(source.name), 'e2e')).toBe('NO_ROUTE');
    // What was kept still routes.
    expect(await route(publisher.exchange(source.name), 'kept')).toBe('routed');
    expect(await route(publisher.exchange(destination.name), 'e2e')).toBe('routed');
  });

  it('leaves out an auto-delete queue and exchange that the broker deleted before the loss', async () => {
    const { proxy, connection } = await throughProxy();
    const recorded = record(connection);
    const channel = await connection.openChannel();
    // The broker deletes an auto-delete queue when its last consumer is cancelled...
    const queueName = uniqueName('rec-autodelete-q');
    deleteLater('queue', queueName);
    const queue = await channel.declareQueue(queueName, { autoDelete: true });
    const consumer = await queue.consume(() => {});
    await consumer.cancel();
    // ... and an auto-delete exchange when its last binding is removed.
    const exchangeName = uniqueName('rec-autodelete-x');
    deleteLater('exchange', exchangeName);
    const exchange = await channel.declareExchange(exchangeName, 'direct', { autoDelete: true });
    const bound = await channel.declareQueue('', { exclusive: true });
    const binding = await bound.bind(exchange, 'key');
    await binding.unbind();
    await waitFor(
      async () =>
        !(await queueExists(broker.direct, queueName)) &&
        !(await exchangeExists(broker.direct, exchangeName)),
      5_000,
      'the broker deleting them',
    );

    const recovered = nextRecovery(connection);
    proxy.cut();
    await recovered;

    expect(recorded.failures).toEqual([]);
    // Declared again, they would stay for good: nothing would consume from or bind to them.
    expect({
      queue: await queueExists(broker.direct, queueName),
      exchange: await exchangeExists(broker.direct, exchangeName),
    }).toEqual({ queue: false, exchange: false });
  });
});

describe('deliveries across a recovery', () => {
  it('drops a stale ack, and the redelivered message can be acked', async () => {
    const { proxy, connection } = await throughProxy();
    const channel = await connection.openChannel();
    const name = uniqueName('rec-stale');
    deleteLater('queue', name);
    const queue = await channel.declareQueue(name, { arguments: EXPIRES });
    const deliveries: IncomingMessage[] = [];
    const consumer = await queue.consume((message: IncomingMessage) => {
      deliveries.push(message);
    });
    const cancels: AmqpError[] = [];
    consumer.on('cancel', (reason) => cancels.push(reason));
    await channel.exchange('').publish('held', name);
    await waitFor(() => deliveries.length === 1);
    const [first] = deliveries as [IncomingMessage];
    expect(first.redelivered).toBe(false);

    const recovered = nextRecovery(connection);
    proxy.cut();
    await recovered;
    await waitFor(() => deliveries.length === 2, 10_000, 'the redelivery');
    const second = deliveries[1] as IncomingMessage;
    expect(second.text()).toBe('held');
    expect(second.redelivered).toBe(true);

    // Acked after the recovery, when a message with the same tag may be on the new channel:
    // nothing must go out (a stale tag closes the channel with 406 PRECONDITION_FAILED).
    expect(() => first.ack()).not.toThrow();
    // A round trip on the same channel: a channel.close for the ack would come before its reply.
    await channel.declareQueue(name, { passive: true });
    expect(channel.isOpen).toBe(true);
    second.ack();
    await channel.declareQueue(name, { passive: true });
    expect(channel.isOpen).toBe(true);
    expect(cancels).toEqual([]);
    // Closing the channel would requeue an unacked message: the queue stays empty.
    await channel.close();
    expect((await queueCounts(broker.direct, name))?.messageCount).toBe(0);
  });

  it('a transaction lost with the connection starts afresh: rolling back does not revive stale tags', async () => {
    const { proxy, connection } = await throughProxy();
    const channel = await connection.openChannel();
    const name = uniqueName('rec-tx');
    deleteLater('queue', name);
    const queue = await channel.declareQueue(name, { arguments: EXPIRES });
    await channel.exchange('').publish('in tx', name);
    await channel.txSelect();
    const before = await waitFor(() => queue.get(), 5_000, 'the message');
    before.ack(); // inside the transaction, never committed

    const recovered = nextRecovery(connection);
    proxy.cut();
    await recovered;
    // The lost transaction's ack went with it; a rollback has nothing of it to undo.
    await channel.txRollback();
    expect(before.settled).toBe(true);
    expect(() => before.ack()).toThrow(expect.objectContaining({ code: 'ALREADY_SETTLED' }));
    // The channel is still transactional: the redelivered message is acked on commit.
    const again = await waitFor(() => queue.get(), 5_000, 'the redelivery');
    expect(again.redelivered).toBe(true);
    again.ack();
    await channel.txCommit();
    expect(channel.isOpen).toBe(true);
    expect((await queueCounts(broker.direct, name))?.messageCount).toBe(0);
    await channel.close();
    expect((await queueCounts(broker.direct, name))?.messageCount).toBe(0);
  });

  it('survives a cut while a slow handler runs; its auto-ack is dropped and the message comes back', async () => {
    const { proxy, connection } = await throughProxy();
    const channel = await connection.openChannel();
    const name = uniqueName('rec-slow');
    deleteLater('queue', name);
    const queue = await channel.declareQueue(name, { arguments: EXPIRES });
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    const started: IncomingMessage[] = [];
    const handled: { text: string; redelivered: boolean }[] = [];
    const consumer = await queue.consume(
      async (message: IncomingMessage) => {
        started.push(message);
        if (started.length === 1) await held;
        handled.push({ text: message.text(), redelivered: message.redelivered });
      },
      { settle: 'auto' },
    );
    const errors: unknown[] = [];
    consumer.on('error', (error) => errors.push(error));
    await channel.exchange('').publish('slow', name);
    await waitFor(() => started.length === 1);

    const recovered = nextRecovery(connection);
    proxy.cut();
    await recovered;
    // The handler finishes after the recovery: its message's tag belongs to the lost channel.
    release();
    await waitFor(() => handled.length === 2, 10_000, 'the redelivered message handled');

    expect(handled).toEqual([
      { text: 'slow', redelivered: false },
      { text: 'slow', redelivered: true },
    ]);
    expect(errors).toEqual([]);
    expect(consumer.cancelled).toBe(false);
    await channel.declareQueue(name, { passive: true });
    expect(channel.isOpen).toBe(true);
    await channel.close();
    expect((await queueCounts(broker.direct, name))?.messageCount).toBe(0);
  });
});

describe('what recovery cannot bring back', () => {
  it('reports a queue deleted elsewhere during the outage and cancels its consumer; the others go on', async () => {
    const { proxy, connection } = await throughProxy();
    const recorded = record(connection);
    // Declared elsewhere: recovery does not declare them, it only consumes from them again.
    const setup = await directChannel();
    const [before, deleted, after] = ['rec-before', 'rec-deleted', 'rec-after'].map(uniqueName) as [
      string,
      string,
      string,
    ];
    for (const name of [before, deleted, after]) {
      deleteLater('queue', name);
      await setup.declareQueue(name, { arguments: EXPIRES });
    }
    const channel = await connection.openChannel();
    const inboxes = new Map<string, Inbox>();
    const cancels = new Map<string, AmqpError[]>();
    const consumers = [];
    // The deleted queue's consumer between two others, so that one resumes before it and one after.
    for (const name of [before, deleted, after]) {
      const inbox = new Inbox();
      inboxes.set(name, inbox);
      cancels.set(name, []);
      const consumer = await channel.queue(name).consume((message: IncomingMessage) => {
        inbox.push(message.text());
        message.ack();
      });
      consumer.on('cancel', (reason) => cancels.get(name)?.push(reason));
      consumers.push(consumer);
    }

    const disconnected = nextEvent(connection, 'disconnected');
    proxy.refuse(true);
    proxy.cut();
    await disconnected;
    await setup.queue(deleted).delete({ ifUnused: false, ifEmpty: false });
    const recovered = nextRecovery(connection);
    proxy.refuse(false);
    await recovered;

    expect(recorded.failures).toHaveLength(1);
    const [failure] = recorded.failures as [RecoveryFailure];
    expect(failure.entity).toContain(`'${deleted}'`);
    expect(failure.error).toBeInstanceOf(ChannelError);
    expect((failure.error as ChannelError).replyCode).toBe(404);
    expect(cancels.get(deleted)).toHaveLength(1);
    expect(consumers[1]?.cancelled).toBe(true);
    // The channel and the other consumers work after the recovery.
    expect(cancels.get(before)).toEqual([]);
    expect(cancels.get(after)).toEqual([]);
    expect(channel.isOpen).toBe(true);
    const publisher = await directChannel(true);
    await publisher.exchange('').publish('to before', before);
    await publisher.exchange('').publish('to after', after);
    expect(await received(inboxes.get(after) as Inbox, 1)).toEqual(['to after']);
    expect(await received(inboxes.get(before) as Inbox, 1)).toEqual(['to before']);
  });

  it('resumes the consumers of a channel each with its own prefetch', async () => {
    const { proxy, connection } = await throughProxy();
    const channel = await connection.openChannel();
    const limits = [1, 3, 3, 2];
    const held: IncomingMessage[][] = limits.map(() => []);
    const names: string[] = [];
    for (const [index, prefetch] of limits.entries()) {
      const name = uniqueName('rec-prefetch');
      deleteLater('queue', name);
      names.push(name);
      const queue = await channel.declareQueue(name, { arguments: EXPIRES });
      // Held unacked: the broker sends each consumer only as many as its prefetch allows.
      await queue.consume((message: IncomingMessage) => void held[index]?.push(message), {
        prefetch,
      });
    }

    const recovered = nextRecovery(connection);
    proxy.cut();
    await recovered;
    const publisher = await directChannel(true);
    for (const name of names) {
      for (let i = 0; i < 5; i++) await publisher.exchange('').publish(`m${i}`, name);
    }
    await waitFor(
      () => held.every((messages, index) => messages.length === limits[index]),
      5_000,
      'each consumer holding its prefetch',
    );
    await sleep(200);
    expect(held.map((messages) => messages.length)).toEqual(limits);
  });

  it('spreads a large topology over several channels; two refusals skip only their queues', async () => {
    const { proxy, connection } = await throughProxy();
    const recorded = record(connection);
    const channel = await connection.openChannel();
    const exchange = await declareExchange(channel);
    const count = 60;
    const names = Array.from({ length: count }, () => uniqueName('rec-many'));
    const inboxes = names.map(() => new Inbox());
    for (const [index, name] of names.entries()) {
      deleteLater('queue', name);
      const queue = await channel.declareQueue(name, { arguments: EXPIRES });
      await queue.bind(exchange, `key-${index}`);
      await queue.consume((message: IncomingMessage) => {
        inboxes[index]?.push(message.text());
        message.ack();
      });
    }
    // Declared again elsewhere during the outage with other arguments: recovery's declare of
    // these two is refused, on whichever channels take them.
    const refused = [names[7], names[41]] as string[];

    const disconnected = nextEvent(connection, 'disconnected');
    proxy.refuse(true);
    proxy.cut();
    await disconnected;
    const setup = await directChannel();
    for (const name of refused) {
      await waitFor(
        async () => {
          try {
            await setup.queue(name).delete({ ifUnused: false, ifEmpty: false });
            return true;
          } catch {
            return false;
          }
        },
        10_000,
        `${name} deleted once the broker let go of the old consumer`,
      );
      await setup.declareQueue(name, { arguments: { ...EXPIRES, 'x-max-length': 1_000 } });
    }
    const recovered = nextRecovery(connection);
    proxy.refuse(false);
    await recovered;

    expect(recorded.failures.map((failure) => failure.entity).sort()).toEqual(
      refused.map((name) => `queue '${name}'`).sort(),
    );
    for (const failure of recorded.failures) {
      expect((failure.error as ChannelError).replyCode).toBe(406);
    }
    // Every queue, the refused ones too (they exist, with other arguments), is bound and consumed.
    const publisher = await directChannel(true);
    for (let index = 0; index < count; index++) {
      await publisher.exchange(exchange.name).publish(`to ${index}`, `key-${index}`);
    }
    for (const [index, inbox] of inboxes.entries()) {
      expect(await received(inbox, 1)).toEqual([`to ${index}`]);
    }
    expect(channel.isOpen).toBe(true);
  });

  it('reports an exclusive queue another connection took during the outage, and goes on', async () => {
    const { proxy, connection } = await throughProxy();
    const recorded = record(connection);
    const channel = await connection.openChannel({ confirm: true });
    const exchange = await declareExchange(channel);
    const lockedName = uniqueName('rec-locked');
    await channel.declareQueue(lockedName, { exclusive: true });
    const other = await channel.declareQueue(uniqueName('rec-other'), { exclusive: true });
    await other.bind(exchange, 'other');
    const inbox = new Inbox();
    await other.consume((message: IncomingMessage) => {
      inbox.push(message.text());
      message.ack();
    });

    const disconnected = nextEvent(connection, 'disconnected');
    proxy.refuse(true);
    proxy.cut();
    await disconnected;
    // Another connection takes the name as soon as the broker has dropped our old connection.
    const grabber = await connect(broker.url, { recovery: false });
    later(() => grabber.close());
    await waitFor(
      async () => {
        const attempt = await grabber.openChannel();
        try {
          await attempt.declareQueue(lockedName, { exclusive: true });
          return true;
        } catch (error) {
          if ((error as ChannelError).replyCode === 405) return false;
          throw error;
        }
      },
      10_000,
      'the exclusive queue free to take',
    );
    const recovered = nextRecovery(connection);
    proxy.refuse(false);
    await recovered;

    const lockedFailures = recorded.failures.filter(
      (failure) => failure.entity === `queue '${lockedName}'`,
    );
    expect(lockedFailures).toHaveLength(1);
    const error = lockedFailures[0]?.error as ChannelError;
    expect(error).toBeInstanceOf(ChannelError);
    expect(error.code).toBe('RESOURCE_LOCKED');
    expect(error.replyCode).toBe(405);
    // Nothing else failed, and the rest works.
    expect(recorded.failures).toEqual(lockedFailures);
    expect(connection.isOpen).toBe(true);
    expect(channel.isOpen).toBe(true);
    await exchange.publish('still here', 'other');
    expect(await received(inbox, 1)).toEqual(['still here']);
  });
});

describe('how recovery ends', () => {
  it('gives up after maxAttempts: close RECOVERY_FAILED, closed resolves, waiting operations reject', async () => {
    const { proxy, connection } = await throughProxy({
      recovery: { maxAttempts: 3, initialDelay: 20, maxDelay: 100 },
    });
    const recorded = record(connection);
    const channel = await connection.openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });

    const disconnected = nextEvent(connection, 'disconnected');
    const closed = nextEvent(connection, 'close');
    proxy.refuse(true);
    proxy.cut();
    await disconnected;
    const waiting: Watched<unknown>[] = [
      watch(channel.exchange('').publish('never', queue.name)),
      watch(channel.declareQueue(uniqueName('rec-never'), { exclusive: true })),
      watch(queue.get()),
      watch(connection.openChannel()),
    ];
    const [error] = await closed;

    expect(error.code).toBe('RECOVERY_FAILED');
    expect(recorded.reconnecting.map((attempt) => attempt.attempt)).toEqual([1, 2, 3]);
    expect(recorded.events.filter((event) => event === 'recovered')).toEqual([]);
    expect(await within(connection.closed, 1_000, 'connection.closed resolving')).toBe(error);
    for (const operation of waiting) {
      const reason = await within(rejectionReason(operation), 1_000, 'a waiting operation');
      expect((reason as AmqpError).code).toBe('RECOVERY_FAILED');
    }
    expect(connection.isOpen).toBe(false);
    expect(connection.isRecovering).toBe(false);
    expect(channel.isOpen).toBe(false);
    expect(proxy.accepted).toBe(4);
  });

  it('closes promptly when the application closes it during recovery, and reconnects no more', async () => {
    const { proxy, connection } = await throughProxy({
      recovery: { initialDelay: 50, maxDelay: 200 },
    });
    const recorded = record(connection);
    const channel = await connection.openChannel();
    const firstAttempt = nextEvent(connection, 'reconnecting');
    proxy.refuse(true);
    proxy.cut();
    await firstAttempt;
    expect(connection.isRecovering).toBe(true);
    const waiting = watch(channel.exchange('').publish('never', uniqueName('rec-nowhere')));

    await within(connection.close(), 2_000, 'connection.close() during recovery');
    const reason = await within(rejectionReason(waiting), 1_000, 'the waiting publish failing');
    expect((reason as AmqpError).code).toBe('CONNECTION_CLOSED');
    expect(recorded.closes.map((error) => error.code)).toEqual(['CONNECTION_CLOSED']);
    expect(connection.isRecovering).toBe(false);
    expect(channel.isOpen).toBe(false);
    // A connect already under way when the close came may still reach the proxy: let it.
    await sleep(200);
    const attempts = recorded.reconnecting.length;
    const accepted = proxy.accepted;
    proxy.refuse(false);
    await sleep(1_000);
    expect(recorded.reconnecting).toHaveLength(attempts);
    expect(proxy.accepted).toBe(accepted);
    expect(proxy.open).toBe(0);
    expect(recorded.events.filter((event) => event === 'recovered')).toEqual([]);
  });

  it('does not recover with recovery: false: a cut closes the connection', async () => {
    const { proxy, connection } = await throughProxy({ recovery: false });
    const recorded = record(connection);
    const channel = await connection.openChannel();
    const closed = nextEvent(connection, 'close');
    proxy.cut();
    const [error] = await closed;

    expect(error.code).toBe('CONNECTION_LOST');
    expect(await within(connection.closed, 1_000, 'connection.closed resolving')).toBe(error);
    expect(connection.isOpen).toBe(false);
    expect(connection.isRecovering).toBe(false);
    expect(channel.isOpen).toBe(false);
    await sleep(300);
    expect(recorded.events).toEqual(['close CONNECTION_LOST']);
    expect(proxy.accepted).toBe(1);
  });

  it('stops at once with ACCESS_REFUSED when the credentials hook turns wrong; it is called before every attempt', async () => {
    const proxy = await newProxy();
    let password = 'guest';
    /** How many connections the proxy had accepted each time the hook was called. */
    const calls: number[] = [];
    const connection = await connectThrough(proxy, {
      recovery: { initialDelay: 50, maxDelay: 200 },
      credentials: () => {
        calls.push(proxy.accepted);
        return { password };
      },
    });
    const recorded = record(connection);
    expect(calls).toEqual([0]);

    for (let cut = 1; cut <= 2; cut++) {
      const recovered = nextRecovery(connection);
      proxy.cut();
      await recovered;
    }
    expect(calls).toEqual([0, 1, 2]);
    expect(proxy.accepted).toBe(3);

    password = 'not-the-password';
    const attemptsBefore = recorded.reconnecting.length;
    const closed = nextEvent(connection, 'close');
    proxy.cut();
    const [error] = await closed;
    expect(error.code).toBe('ACCESS_REFUSED');
    expect(await within(connection.closed, 1_000, 'connection.closed resolving')).toBe(error);
    // No storm of attempts: the refusal is final.
    await sleep(500);
    const attempts = recorded.reconnecting.length - attemptsBefore;
    expect(attempts).toBeGreaterThanOrEqual(1);
    expect(attempts).toBeLessThanOrEqual(2);
    expect(calls).toHaveLength(3 + attempts);
    expect(proxy.accepted).toBe(3 + attempts);
    expect(connection.isRecovering).toBe(false);
  });
});

describe('more hosts', () => {
  it('recovers through the second host when the first refuses', async () => {
    const proxyA = await newProxy();
    const proxyB = await newProxy();
    const connection = await connectThrough(proxyA, { hosts: [`127.0.0.1:${proxyB.port}`] });
    const recorded = record(connection);
    const { exchange, inbox } = await boundConsumer(connection);
    expect(proxyB.accepted).toBe(0);

    const recovered = nextRecovery(connection);
    proxyA.refuse(true);
    proxyA.cut();
    await recovered;

    expect(proxyB.accepted).toBe(1);
    expect(proxyB.open).toBe(1);
    expect(proxyA.open).toBe(0);
    expect(recorded.reconnecting.map((attempt) => attempt.host)).toContain(
      `127.0.0.1:${proxyB.port}`,
    );
    await exchange.publish('through B', 'key');
    expect(await received(inbox, 1)).toEqual(['through B']);
  });

  it('connects through the second host when the first refuses the first connect', async () => {
    const proxyA = await newProxy();
    const proxyB = await newProxy();
    proxyA.refuse(true);
    const connection = await connectThrough(proxyA, { hosts: [`127.0.0.1:${proxyB.port}`] });

    expect(connection.isOpen).toBe(true);
    expect(proxyA.accepted).toBe(1);
    expect(proxyB.accepted).toBe(1);
    expect(proxyB.open).toBe(1);
    const channel = await connection.openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    await channel.exchange('').publish('through B', queue.name);
    const message = await waitFor(() => queue.get({ noAck: true }));
    expect(message.text()).toBe('through B');
  });
});
