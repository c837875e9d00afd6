/**
 * Publishing (and other operations) across a lost connection, through a TCP proxy the test owns:
 * publishes awaiting their confirms when the connection is cut all settle, and what was not
 * confirmed can be republished; publishes and other operations made while the connection is down
 * wait for the recovery within their limits, or fail at once when told to; a request/reply call
 * in flight fails rather than hangs. Outcomes are checked against the broker over a second
 * connection that does not go through the proxy.
 *
 * Every test also fails when the process saw an unhandled rejection, an uncaught exception or a
 * warren warning while it ran.
 */
import { describe, expect, inject, it } from 'vitest';
import {
  AmqpError,
  type Channel,
  ChannelError,
  type Connection,
  ConnectionError,
  DisconnectedError,
  type IncomingMessage,
  PublishUnconfirmedError,
} from '../../lib/index.js';
import { drain, queueCounts, queueExists, uniqueName, waitFor } from '../support/amqp-helpers.js';
import { rejectionReason, sleep, type Watched, watch, within } from '../support/fault-helpers.js';
import { EXPIRES, nextEvent, useFaultSuite, useProxiedBroker } from '../support/fault-suite.js';
import type { TcpProxy } from '../support/tcp-proxy.js';

const { later } = useFaultSuite();
const broker = useProxiedBroker(inject('amqpUrl'), later);
const { throughProxy, directChannel, deleteLater } = broker;

// ------------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------------

/**
 * Takes the broker away: new connections are refused, and the open one is cut. Resolves once
 * warren has noticed and tried to reconnect `attempts` times, so the outage is well under way.
 */
async function outage(proxy: TcpProxy, connection: Connection, attempts = 1): Promise<void> {
  let tried = 0;
  const count = (): void => {
    tried++;
  };
  connection.on('reconnecting', count);
  const disconnected = nextEvent(connection, 'disconnected');
  proxy.refuse(true);
  proxy.cut();
  await disconnected;
  try {
    await waitFor(() => tried >= attempts, 10_000, `${attempts} reconnect attempts`);
  } finally {
    connection.off('reconnecting', count);
  }
  expect(connection.isRecovering).toBe(true);
}

/** Lets the broker be reached again, and resolves once the connection has recovered. */
async function restore(proxy: TcpProxy, connection: Connection): Promise<void> {
  const recovered = nextEvent(connection, 'recovered');
  proxy.refuse(false);
  await recovered;
}

/** A queue that is not exclusive (the direct connection can look at it), deleted after the test. */
async function ownQueue(channel: Channel, prefix: string, durable = false): Promise<string> {
  const name = uniqueName(prefix);
  deleteLater('queue', name);
  await channel.declareQueue(name, { durable, arguments: EXPIRES });
  return name;
}

/** The texts of every message in queue `name`, taken (no-ack) over the direct connection. */
async function contents(name: string): Promise<string[]> {
  const channel = await directChannel();
  return drain(channel.queue(name));
}

/** Awaits every watched promise (within `ms`) and checks each fulfilled. */
async function expectFulfilled(watched: Watched<unknown>[], ms: number, what: string) {
  const results = await within(Promise.all(watched.map((w) => w.result)), ms, what);
  expect(results.map((result) => result.status)).toEqual(watched.map(() => 'fulfilled'));
}

/** Expects `reason` to be the DisconnectedError a publish or operation gets while the connection is down. */
function expectDisconnected(reason: unknown): void {
  expect(reason).toBeInstanceOf(DisconnectedError);
  expect((reason as DisconnectedError).code).toBe('DISCONNECTED');
}

// ------------------------------------------------------------------------------------------------
// Tests
// ------------------------------------------------------------------------------------------------

describe('publishes awaiting confirms when the connection is cut', () => {
  it('all settle, and republishing the unconfirmed ones puts every message in the queue', async () => {
    const { proxy, connection } = await throughProxy();
    const channel = await connection.openChannel({ confirm: true });
    const name = await ownQueue(channel, 'pub-confirms', true);
    const exchange = channel.exchange('');
    const count = 1_000;
    const padding = 'x'.repeat(300);
    const body = (id: number): string => `${id}:${padding}`;
    // Slow the link down so that the cut comes while many confirms are outstanding.
    proxy.throttle(40_000);
    let confirmed = 0;
    const publishes = Array.from({ length: count }, (_, id) => {
      const published = exchange.publish(body(id), name);
      published.then(
        () => {
          confirmed++;
        },
        () => {},
      );
      return watch(published);
    });
    await waitFor(() => confirmed >= 100, 20_000, 'the first 100 confirms');
    const recovered = nextEvent(connection, 'recovered');
    const confirmedAtCut = confirmed;
    proxy.cut();
    proxy.throttle(null);

    // None hangs: each is confirmed, or unconfirmed because the connection went.
    const results = await within(
      Promise.all(publishes.map((publish) => publish.result)),
      15_000,
      () => `every publish settling (${publishes.filter((p) => !p.settled).length} still pending)`,
    );
    const unconfirmed: number[] = [];
    const unexpected: unknown[] = [];
    results.forEach((result, id) => {
      if (result.status === 'fulfilled') return;
      const error = result.reason as PublishUnconfirmedError;
      if (
        error instanceof PublishUnconfirmedError &&
        error.code === 'PUBLISH_UNCONFIRMED' &&
        error.cause instanceof ChannelError &&
        error.cause.code === 'CONNECTION_LOST'
      ) {
        unconfirmed.push(id);
      } else {
        unexpected.push(result.reason);
      }
    });
    expect(unexpected).toEqual([]);
    expect(unconfirmed.length).toBeGreaterThan(0);

    await recovered;
    await within(
      Promise.all(unconfirmed.map((id) => exchange.publish(body(id), name))),
      15_000,
      'republishing the unconfirmed',
    );

    const total = (await queueCounts(broker.direct, name))?.messageCount ?? 0;
    const seen = new Map<number, number>();
    const consumer = await directChannel();
    let taken = 0;
    await consumer.queue(name).consume(
      (message: IncomingMessage) => {
        const id = Number(message.text().split(':')[0]);
        seen.set(id, (seen.get(id) ?? 0) + 1);
        taken++;
      },
      { noAck: true },
    );
    await waitFor(() => taken >= total, 10_000, `${total} messages`);
    const missing = Array.from({ length: count }, (_, id) => id).filter((id) => !seen.has(id));
    const duplicates = [...seen].filter(([, times]) => times > 1).map(([id]) => id);
    console.info(
      `[publishing] ${confirmedAtCut} confirmed when cut, ${count - unconfirmed.length} confirmed in all, ` +
        `${unconfirmed.length} unconfirmed and republished; queue held ${total} messages, ` +
        `${duplicates.length} ids twice`,
    );
    expect(missing).toEqual([]);
    expect(total).toBe(count + duplicates.length);
    // Only what was republished can be there twice, and at most twice.
    expect(duplicates.every((id) => unconfirmed.includes(id))).toBe(true);
    expect(Math.max(...seen.values())).toBeLessThanOrEqual(2);
  });
});

describe('publishes while the connection is down', () => {
  it('wait, and go through in order after the recovery', async () => {
    const { proxy, connection } = await throughProxy();
    const channel = await connection.openChannel({ confirm: true });
    const name = await ownQueue(channel, 'pub-wait');
    await outage(proxy, connection, 2);

    const publishes = Array.from({ length: 10 }, (_, i) =>
      watch(channel.exchange('').publish(`waited ${i}`, name)),
    );
    await sleep(300);
    expect(publishes.filter((publish) => publish.settled)).toEqual([]);
    expect(await queueCounts(broker.direct, name)).toEqual({ messageCount: 0, consumerCount: 0 });

    await restore(proxy, connection);
    await expectFulfilled(publishes, 10_000, 'the waiting publishes');
    expect(await contents(name)).toEqual(Array.from({ length: 10 }, (_, i) => `waited ${i}`));
  });

  it("with whileDisconnected: 'fail', reject at once with DISCONNECTED", async () => {
    const { proxy, connection } = await throughProxy({ recovery: { whileDisconnected: 'fail' } });
    const channel = await connection.openChannel({ confirm: true });
    const name = await ownQueue(channel, 'pub-fail');
    await outage(proxy, connection);

    const refused = watch(channel.exchange('').publish('refused', name));
    const reason = await within(rejectionReason(refused), 1_000, 'the publish failing');
    expectDisconnected(reason);
    expect((reason as DisconnectedError).cause).toBeInstanceOf(ConnectionError);
    expect(connection.isRecovering).toBe(true);

    await restore(proxy, connection);
    await channel.exchange('').publish('after', name);
    expect(await contents(name)).toEqual(['after']);
  });

  it('with waitTimeout: 200, reject with DISCONNECTED once the timeout has passed', async () => {
    const { proxy, connection } = await throughProxy({ recovery: { waitTimeout: 200 } });
    const channel = await connection.openChannel({ confirm: true });
    const name = await ownQueue(channel, 'pub-timeout');
    await outage(proxy, connection);

    const publish = watch(channel.exchange('').publish('too late', name));
    const declare = watch(channel.declareQueue(uniqueName('pub-never'), { exclusive: true }));
    await new Promise((resolve) => setImmediate(resolve));
    expect(publish.settled).toBe(false);
    expectDisconnected(await within(rejectionReason(publish), 5_000, 'the publish timing out'));
    expectDisconnected(await within(rejectionReason(declare), 5_000, 'the declare timing out'));
    expect(connection.isRecovering).toBe(true);

    await restore(proxy, connection);
    expect(await contents(name)).toEqual([]);
    await channel.exchange('').publish('after', name);
    expect(await contents(name)).toEqual(['after']);
  });

  it('with maxWaitingPublishes: 5, reject the 6th at once; the first 5 go through later', async () => {
    const { proxy, connection } = await throughProxy({ recovery: { maxWaitingPublishes: 5 } });
    const channel = await connection.openChannel({ confirm: true });
    const name = await ownQueue(channel, 'pub-count');
    await outage(proxy, connection);

    const publishes = Array.from({ length: 6 }, (_, i) =>
      watch(channel.exchange('').publish(`message ${i}`, name)),
    );
    const sixth = publishes.pop() as Watched<void>;
    expectDisconnected(await within(rejectionReason(sixth), 1_000, 'the 6th publish failing'));
    expect(publishes.filter((publish) => publish.settled)).toEqual([]);

    await restore(proxy, connection);
    await expectFulfilled(publishes, 10_000, 'the 5 waiting publishes');
    expect(await contents(name)).toEqual(Array.from({ length: 5 }, (_, i) => `message ${i}`));
  });

  it('with maxWaitingBytes, reject the publish that would go over at once; the others go through later', async () => {
    const { proxy, connection } = await throughProxy({ recovery: { maxWaitingBytes: 1_000 } });
    const channel = await connection.openChannel({ confirm: true });
    const name = await ownQueue(channel, 'pub-bytes');
    await outage(proxy, connection);

    const exchange = channel.exchange('');
    const big = (label: string): Buffer => Buffer.from(label.padEnd(300, '.'));
    const waiting = [1, 2, 3].map((i) => watch(exchange.publish(big(`big ${i}`), name)));
    // 900 bytes wait: 300 more would make 1 200.
    const over = watch(exchange.publish(big('over'), name));
    expectDisconnected(await within(rejectionReason(over), 1_000, 'the publish over the limit'));
    // 100 more make exactly 1 000, which fits.
    waiting.push(watch(exchange.publish(Buffer.from('small'.padEnd(100, '.')), name)));
    await sleep(100);
    expect(waiting.filter((publish) => publish.settled)).toEqual([]);

    await restore(proxy, connection);
    await expectFulfilled(waiting, 10_000, 'the waiting publishes');
    const texts = await contents(name);
    expect(texts.map((text) => text.replace(/\.+$/, ''))).toEqual([
      'big 1',
      'big 2',
      'big 3',
      'small',
    ]);
  });
});

describe('other operations while the connection is down', () => {
  it('wait, and complete after the recovery', async () => {
    const { proxy, connection } = await throughProxy();
    const channel = await connection.openChannel();
    const name = await ownQueue(channel, 'ops-get');
    await outage(proxy, connection, 2);
    // Put there by someone else during the outage.
    const publisher = await directChannel(true);
    await publisher.exchange('').publish('fetched later', name);

    const declaredName = uniqueName('ops-declared');
    deleteLater('queue', declaredName);
    const declare = watch(channel.declareQueue(declaredName, { arguments: EXPIRES }));
    const get = watch(channel.queue(name).get());
    const opened = watch(connection.openChannel());
    await sleep(300);
    expect([declare.settled, get.settled, opened.settled]).toEqual([false, false, false]);

    await restore(proxy, connection);
    const [declared, fetched, newChannel] = await within(
      Promise.all([declare.result, get.result, opened.result]),
      10_000,
      'the waiting operations',
    );
    expect(declared.status).toBe('fulfilled');
    expect(await queueExists(broker.direct, declaredName)).toBe(true);
    expect(fetched.status).toBe('fulfilled');
    const message = fetched.status === 'fulfilled' ? fetched.value : null;
    expect(message?.text()).toBe('fetched later');
    message?.ack();
    expect(newChannel.status).toBe('fulfilled');
    if (newChannel.status === 'fulfilled') expect(newChannel.value.isOpen).toBe(true);
    // The ack went through on the recovered channel: nothing is left once it closes.
    await channel.close();
    expect((await queueCounts(broker.direct, name))?.messageCount).toBe(0);
  });
});

describe('request/reply across a cut', () => {
  it('a call in flight rejects rather than hangs; a call after the recovery works', async () => {
    // The server is on the direct connection: only the caller loses its connection.
    const serverChannel = await directChannel();
    const serviceName = uniqueName('rpc-service');
    const service = await serverChannel.declareQueue(serviceName, { exclusive: true });
    let releaseSlow: () => void = () => {};
    const slow = new Promise<void>((resolve) => {
      releaseSlow = resolve;
    });
    const requests: string[] = [];
    const server = await service.serve(async (request) => {
      const text = request.json<string>();
      requests.push(text);
      if (text === 'slow') await slow;
      return `echo ${text}`;
    });
    later(async () => {
      releaseSlow();
      await server.cancel();
      await serverChannel.queue(serviceName).delete({ ifUnused: false, ifEmpty: false });
    });

    const { proxy, connection } = await throughProxy();
    const rpc = await connection.rpcClient({ timeout: 30_000 });
    expect(await rpc.call(serviceName, 'before')).toBe('echo before');
    const inFlight = watch(rpc.call(serviceName, 'slow'));
    await waitFor(() => requests.includes('slow'), 5_000, 'the request reaching the server');

    const recovered = nextEvent(connection, 'recovered');
    proxy.cut();
    const reason = await within(rejectionReason(inFlight), 5_000, 'the call in flight failing');
    expect(reason).toBeInstanceOf(AmqpError);
    console.info(`[publishing] the call in flight failed with ${(reason as AmqpError).code}`);
    expect(rpc.waiting).toBe(0);
    // Its reply goes to a reply address that died with the old channel.
    releaseSlow();
    await recovered;

    expect(await within(rpc.call(serviceName, 'after'), 10_000, 'a call after recovery')).toBe(
      'echo after',
    );
    expect(rpc.channel.isOpen).toBe(true);
  });
});
