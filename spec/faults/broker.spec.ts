/**
 * Faults of the broker itself, on a throwaway RabbitMQ node this file starts and owns: an operator
 * closing the connection, the broker application restarting under a publisher and a consumer, a
 * password changed while the connection is down, a memory alarm blocking publishes, and
 * `connection.update-secret`. Then what no real broker does on demand, from a fake server on a
 * local port: malformed frames. And on every way connecting can fail, the password must not
 * show.
 *
 * Every test also checks that the process saw no unhandled rejection and no uncaught exception.
 */
import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type Connection,
  ConnectionError,
  type ConnectionEvents,
  connect,
  DisconnectedError,
  Message,
  ProtocolError,
  PublishUnconfirmedError,
  type RecoveryOptions,
} from '../../lib/index.js';
import {
  FRAME_END,
  type Frame,
  FrameEncoder,
  FrameParser,
  type MethodArgs,
  type MethodName,
} from '../../lib/protocol/index.js';
import { waitFor } from '../support/amqp-helpers.js';
import { type Broker, startBroker } from '../support/broker.js';
import {
  closedPort,
  connectionPid,
  FakeServer,
  rejectionOf,
  rejectionReason,
  sleep,
  uniqueName,
  watch,
  within,
} from '../support/fault-helpers.js';
import { useFaultSuite } from '../support/fault-suite.js';
import { TcpProxy } from '../support/tcp-proxy.js';

/** Quick reconnects, so that a test spends its time on the fault, not on backoff. */
const FAST: RecoveryOptions = { initialDelay: 50, maxDelay: 300 };

let broker: Broker;
/** `later` undoes, after each test, what it made: connections, proxies, fake servers, broker settings. */
const { later } = useFaultSuite({ failOnWarrenWarnings: false });

beforeAll(async () => {
  broker = await startBroker();
});

afterAll(async () => {
  await broker?.stop();
});

/** A connection closed after the test. */
async function own(connecting: Promise<Connection>): Promise<Connection> {
  const connection = await connecting;
  later(() => connection.close());
  return connection;
}

/** Everything a connection emits, in order, with the arguments. */
interface Recorded {
  readonly all: [string, unknown[]][];
  of<E extends keyof ConnectionEvents>(event: E): ConnectionEvents[E][0][];
}

const EVENTS: (keyof ConnectionEvents)[] = [
  'close',
  'disconnected',
  'reconnecting',
  'recovered',
  'recoveryFailure',
  'queueRenamed',
  'blocked',
  'unblocked',
];

function record(connection: Connection): Recorded {
  const all: [string, unknown[]][] = [];
  for (const event of EVENTS) {
    connection.on(event, (...args: unknown[]) => all.push([event, args]));
  }
  return {
    all,
    of: <E extends keyof ConnectionEvents>(event: E) =>
      all.filter(([name]) => name === event).map(([, args]) => args[0]) as ConnectionEvents[E][0][],
  };
}

/** Resolves with the first argument of the next `event`. */
function next<E extends keyof ConnectionEvents>(
  connection: Connection,
  event: E,
): Promise<ConnectionEvents[E][0]> {
  return new Promise((resolve) => {
    connection.once(event, ((...args: ConnectionEvents[E]) => resolve(args[0])) as never);
  });
}

/** Has the broker close the connection named `name` (or with broker pid `pid`), as an operator would. */
async function forceClose(name: string, reason: string, pid?: string): Promise<void> {
  await broker.rabbitmqctl('close_connection', pid ?? (await connectionPid(broker, name)), reason);
}

/** What `rabbitmqctl list_queues` says about `queue`: ready messages and consumers. */
async function queueInfo(queue: string): Promise<{ messages: number; consumers: number }> {
  const listing = await broker.rabbitmqctl(
    '-q',
    '--no-table-headers',
    'list_queues',
    'name',
    'messages',
    'consumers',
  );
  const row = listing
    .split('\n')
    .map((line) => line.split('\t'))
    .find(([name]) => name === queue);
  if (row === undefined) throw new Error(`no queue ${queue} in:\n${listing}`);
  return { messages: Number(row[1]), consumers: Number(row[2]) };
}

/** The node's log, where it writes what it refused and why. */
function brokerLog(): Promise<string> {
  return readFile(path.join(broker.dir, 'log', `${broker.nodeName}.log`), 'utf8');
}

function count(text: string, needle: string): number {
  return text.split(needle).length - 1;
}

/** The node's URL with another user, password or vhost. */
function urlWith(change: { username?: string; password?: string; vhost?: string }): string {
  const url = new URL(broker.url);
  if (change.username !== undefined) url.username = encodeURIComponent(change.username);
  if (change.password !== undefined) url.password = encodeURIComponent(change.password);
  if (change.vhost !== undefined) url.pathname = `/${encodeURIComponent(change.vhost)}`;
  return url.toString();
}

/** A user of the node with full permissions on `/` (the node is thrown away with its users). */
async function addUser(password: string): Promise<string> {
  const user = uniqueName('user');
  await broker.rabbitmqctl('add_user', user, password);
  await broker.rabbitmqctl('set_permissions', user, '.*', '.*', '.*');
  return user;
}

/** Sets the memory alarm threshold (`vm_memory_high_watermark`); 0.4 is the default. */
async function setWatermark(value: string): Promise<void> {
  await broker.rabbitmqctl('set_vm_memory_high_watermark', value);
}

describe('rabbitmqctl close_connection (CONNECTION_FORCED 320)', () => {
  it('disconnects with CONNECTION_FORCED, recovers, and the consumer on a durable queue goes on', async () => {
    const name = uniqueName('forced');
    const connection = await own(connect(broker.url, { connectionName: name, recovery: FAST }));
    const events = record(connection);
    const channel = await connection.openChannel({ confirm: true });
    const queue = await channel.declareQueue(uniqueName('durable'), { durable: true });
    const received: string[] = [];
    await queue.consume((message) => {
      received.push(message.text());
      message.ack();
    });
    const channelRecovered = new Promise<void>((resolve) => channel.once('recovered', resolve));
    await channel.exchange('').publish('before', queue.name);
    await waitFor(() => received.length === 1, 5_000, 'the first delivery');
    const pidBefore = await connectionPid(broker, name);

    const recovered = next(connection, 'recovered');
    await forceClose(name, 'operator closed it', pidBefore);
    await within(recovered, 15_000, 'recovery');
    await within(channelRecovered, 5_000, "the channel's recovered event");

    const [lost] = events.of('disconnected');
    expect(events.of('disconnected')).toHaveLength(1);
    expect(lost).toBeInstanceOf(ConnectionError);
    expect(lost).toMatchObject({ code: 'CONNECTION_FORCED', replyCode: 320 });
    expect(lost?.replyText).toContain('operator closed it');
    expect(events.of('reconnecting').length).toBeGreaterThanOrEqual(1);
    expect(events.of('close')).toEqual([]);
    expect(events.of('recoveryFailure')).toEqual([]);
    expect(connection.isOpen).toBe(true);
    expect(channel.isOpen).toBe(true);
    // The broker sees a new connection under the same name, and the consumer back on the queue.
    expect(await connectionPid(broker, name)).not.toBe(pidBefore);
    expect((await queueInfo(queue.name)).consumers).toBe(1);

    await within(channel.exchange('').publish('after', queue.name), 5_000, 'the confirm');
    await waitFor(() => received.length === 2, 5_000, 'the delivery after recovery');
    expect(received).toEqual(['before', 'after']);
    expect((await queueInfo(queue.name)).messages).toBe(0);
  });
});

describe('the broker application restarts (stop_app, start_app)', () => {
  it('recovers once it is back; every confirmed message and every publish made during the outage arrives', async () => {
    const recovery: RecoveryOptions = { initialDelay: 100, maxDelay: 500, waitTimeout: 60_000 };
    const consuming = await own(connect(broker.url, { recovery }));
    const publishing = await own(connect(broker.url, { recovery }));
    const consumerEvents = record(consuming);
    const publisherEvents = record(publishing);

    const queueName = uniqueName('restart');
    const queue = await (await consuming.openChannel()).declareQueue(queueName, { durable: true });
    const received = new Set<string>();
    let deliveries = 0;
    await queue.consume((message) => {
      deliveries++;
      received.add(message.text());
      message.ack();
    });

    const exchange = (await publishing.openChannel({ confirm: true })).exchange('');
    const persistent = (id: string) => new Message(id, { deliveryMode: 2 });
    const confirmed = new Set<string>();
    const unconfirmed = new Map<string, unknown>();
    let keepPublishing = true;
    let sequence = 0;
    const publisher = (async () => {
      while (keepPublishing) {
        const id = `loop-${sequence++}`;
        try {
          await exchange.publish(persistent(id), queueName);
          confirmed.add(id);
        } catch (error) {
          unconfirmed.set(id, error);
        }
        await sleep(5);
      }
    })();
    later(async () => {
      keepPublishing = false;
      await publisher;
    });

    await waitFor(() => confirmed.size >= 20, 10_000, '20 confirms before the restart');
    const lost = Promise.all([next(consuming, 'disconnected'), next(publishing, 'disconnected')]);
    let stopped = false;
    try {
      await broker.rabbitmqctl('stop_app');
      stopped = true;
      const [consumerLoss, publisherLoss] = await within(lost, 10_000, 'both disconnecting');
      for (const loss of [consumerLoss, publisherLoss]) {
        // RabbitMQ says goodbye (320); under load it may drop a busy connection's socket first.
        expect(['CONNECTION_FORCED', 'CONNECTION_LOST']).toContain(loss.code);
        if (loss.code === 'CONNECTION_FORCED') {
          expect(loss).toMatchObject({ replyCode: 320 });
          expect(loss.replyText).toContain('shutdown');
        }
      }

      // Published while the broker is down: they wait for it (whileDisconnected 'wait').
      const outage = Array.from({ length: 10 }, (_, k) =>
        watch(exchange.publish(persistent(`outage-${k}`), queueName)),
      );
      // Attempts meanwhile are refused (the listener is down); nothing can confirm these.
      await waitFor(() => publisherEvents.of('reconnecting').length >= 2, 10_000, 'retries');
      expect(outage.filter((publish) => publish.settled)).toEqual([]);
      expect(publishing.isRecovering).toBe(true);
      expect(consuming.isRecovering).toBe(true);
      expect(publisherEvents.of('recovered')).toEqual([]);
      expect(consumerEvents.of('recovered')).toEqual([]);

      const back = Promise.all([next(consuming, 'recovered'), next(publishing, 'recovered')]);
      await broker.rabbitmqctl('start_app');
      stopped = false;
      await within(back, 30_000, 'both recovering after start_app');

      const outcomes = await within(
        Promise.all(outage.map((publish) => publish.result)),
        30_000,
        'the publishes made during the outage',
      );
      expect(outcomes.map((outcome) => outcome.status)).toEqual(outage.map(() => 'fulfilled'));
      for (let k = 0; k < outage.length; k++) confirmed.add(`outage-${k}`);

      const mark = confirmed.size;
      await waitFor(() => confirmed.size >= mark + 20, 10_000, '20 confirms after the restart');
      keepPublishing = false;
      await publisher;

      const missing = () => [...confirmed].filter((id) => !received.has(id));
      await waitFor(() => missing().length === 0, 15_000, 'every confirmed message').catch(() => {
        throw new Error(`confirmed but never delivered: ${missing().join(', ')}`);
      });
      expect(missing()).toEqual([]);
      // In flight when the broker went down: unconfirmed, never anything else.
      for (const [id, error] of unconfirmed) {
        expect(error, id).toBeInstanceOf(PublishUnconfirmedError);
      }
      expect(deliveries).toBeGreaterThanOrEqual(confirmed.size);
      for (const events of [consumerEvents, publisherEvents]) {
        expect(events.of('disconnected')).toHaveLength(1);
        expect(events.of('recovered')).toHaveLength(1);
        expect(events.of('close')).toEqual([]);
        expect(events.of('recoveryFailure')).toEqual([]);
      }
      expect(consuming.isOpen && publishing.isOpen).toBe(true);
    } finally {
      if (stopped) await broker.rabbitmqctl('start_app');
    }
  });
});

/** Every text a value may be shown as: message, String, inspect, JSON of its own properties. */
function renderings(value: unknown): Record<string, string> {
  return {
    message: value instanceof Error ? value.message : '',
    string: String(value),
    inspect: inspect(value, { depth: 10 }),
    inspectHidden: inspect(value, { depth: 10, showHidden: true }),
    json: JSON.stringify(ownProperties(value, new WeakSet(), 0)) ?? '',
  };
}

/** A plain copy of `value`'s own properties, enumerable or not, all the way down (causes too). */
function ownProperties(value: unknown, seen: WeakSet<object>, depth: number): unknown {
  if (typeof value === 'bigint' || typeof value === 'function' || typeof value === 'symbol') {
    return String(value);
  }
  if (typeof value !== 'object' || value === null) return value;
  if (seen.has(value) || depth > 10) return '[seen]';
  seen.add(value);
  if (Buffer.isBuffer(value)) return value.toString('latin1');
  const copy: Record<string, unknown> = {};
  for (const key of Object.getOwnPropertyNames(value)) {
    let property: unknown;
    try {
      property = (value as Record<string, unknown>)[key];
    } catch (error) {
      property = `[getter threw ${String(error)}]`;
    }
    copy[key] = ownProperties(property, seen, depth + 1);
  }
  return copy;
}

function expectNoSecret(secrets: readonly string[], what: string, value: unknown): void {
  for (const [how, text] of Object.entries(renderings(value))) {
    for (const secret of secrets) expect(text, `${what}, ${how}`).not.toContain(secret);
  }
}

describe('no reconnect storm on ACCESS_REFUSED', () => {
  it('a password changed while the connection is down: one refused attempt, then close ACCESS_REFUSED', async () => {
    const oldPassword = `old-${randomUUID()}`;
    const newPassword = `new-${randomUUID()}`;
    const user = await addUser(oldPassword);
    // A proxy the test owns counts the TCP connections the client makes.
    const proxy = await TcpProxy.for(broker.url);
    later(() => proxy.close());
    const name = uniqueName('refused');
    const connection = await own(
      connect(proxy.url(urlWith({ username: user, password: oldPassword })), {
        connectionName: name,
        recovery: FAST,
      }),
    );
    const events = record(connection);
    const channel = await connection.openChannel();

    // `change_password` needs the rabbit app running, so it cannot happen during a stop_app
    // outage. The connection stays up across it (the broker checks passwords at login only), and
    // the forced close that follows makes the reconnect the first login with the old password.
    await broker.rabbitmqctl('change_password', user, newPassword);
    expect(connection.isOpen).toBe(true);
    await forceClose(name, 'password rotated');
    const final = await within(connection.closed, 15_000, 'the connection closing');

    expect(final).toBeInstanceOf(ConnectionError);
    expect(final).toMatchObject({ code: 'ACCESS_REFUSED', replyCode: 403 });
    expect(events.all.map(([event]) => event)).toEqual(['disconnected', 'reconnecting', 'close']);
    expect(events.of('disconnected')[0]).toMatchObject({ code: 'CONNECTION_FORCED' });
    expect(events.of('reconnecting')).toMatchObject([{ attempt: 1 }]);
    expect(events.of('close')).toEqual([final]);
    expect(connection.isRecovering).toBe(false);
    expect(connection.isOpen).toBe(false);
    expect(await within(channel.closed, 5_000, 'the channel closing')).toMatchObject({
      code: 'ACCESS_REFUSED',
      cause: final,
    });

    // Nothing more comes: one login refused by the broker, two TCP connections in all.
    const refusal = `login refused: user '${user}'`;
    await waitFor(async () => count(await brokerLog(), refusal) >= 1, 5_000, 'the broker log');
    await sleep(1_000);
    expect(count(await brokerLog(), refusal)).toBe(1);
    expect(proxy.accepted).toBe(2);
    expect(events.all).toHaveLength(3);

    // And neither password shows anywhere the application can look.
    const secrets = [oldPassword, newPassword];
    for (const [event, args] of events.all) expectNoSecret(secrets, `${event} event`, args);
    expectNoSecret(secrets, 'the final error', final);
    expect(String(connection)).toContain(user);
    for (const rendering of [
      String(connection),
      connection.toString(),
      inspect(connection, { depth: 10 }),
      inspect(connection, { depth: 10, showHidden: true }),
      JSON.stringify(connection),
      inspect(channel, { depth: 10 }),
    ]) {
      for (const secret of secrets) expect(rendering).not.toContain(secret);
    }
  });
});

describe('connection.blocked (a memory alarm)', () => {
  /** Publishes on `channel` until the broker blocks its connection. */
  async function provokeBlock(connection: Connection): Promise<string> {
    const blocked = watch(next(connection, 'blocked'));
    const trigger = await connection.openChannel();
    for (let i = 0; i < 100 && !blocked.settled; i++) {
      // Not mandatory: nothing is meant to receive it.
      await trigger.exchange('').publish('trigger', uniqueName('nowhere'), { mandatory: false });
      await sleep(50);
    }
    const result = await within(blocked.result, 5_000, 'connection.blocked');
    if (result.status === 'rejected') throw result.reason;
    return result.value;
  }

  it('holds publishes while blocked (they go out only after unblock) and delivers them', async () => {
    // The held publishes wait as long as rabbitmqctl takes to lift the alarm, which on a loaded
    // machine can be longer than the default waitTimeout.
    const recovery = { ...FAST, waitTimeout: 100_000 };
    const connection = await own(connect(broker.url, { recovery }));
    const events = record(connection);
    const channel = await connection.openChannel({ confirm: true });
    const queue = await channel.declareQueue(uniqueName('blocked'));

    await setWatermark('0.0000001');
    let restored = false;
    try {
      expect(await provokeBlock(connection)).toBe('low on memory');
      expect(connection.blocked).toBe(true);

      const held = Array.from({ length: 5 }, (_, k) =>
        watch(channel.exchange('').publish(`held-${k}`, queue.name)),
      );
      await sleep(300);
      expect(held.filter((publish) => publish.settled)).toEqual([]);
      expect((await queueInfo(queue.name)).messages).toBe(0);

      const unblocked = next(connection, 'unblocked');
      await setWatermark('0.4');
      restored = true;
      await within(unblocked, 10_000, 'connection.unblocked');
      expect(connection.blocked).toBe(false);
      const outcomes = await within(
        Promise.all(held.map((publish) => publish.result)),
        10_000,
        'the held publishes',
      );
      const failures = outcomes.filter((outcome) => outcome.status === 'rejected');
      expect(failures.map(({ reason }) => String(reason))).toEqual([]);
      expect((await queueInfo(queue.name)).messages).toBe(5);
      const texts: string[] = [];
      for (let k = 0; k < 5; k++) texts.push((await queue.get({ noAck: true }))?.text() ?? '');
      expect(texts).toEqual(['held-0', 'held-1', 'held-2', 'held-3', 'held-4']);
      expect(events.all.map(([event]) => event)).toEqual(['blocked', 'unblocked']);
      expect(connection.isOpen).toBe(true);
    } finally {
      if (!restored) await setWatermark('0.4');
    }
  });

  it('with a small recovery.waitTimeout, publishes made while blocked reject with DISCONNECTED and are never sent', async () => {
    const connection = await own(connect(broker.url, { recovery: { ...FAST, waitTimeout: 300 } }));
    const channel = await connection.openChannel({ confirm: true });
    const queue = await channel.declareQueue(uniqueName('blocked-timeout'));

    await setWatermark('0.0000001');
    let restored = false;
    try {
      await provokeBlock(connection);
      const held = Array.from({ length: 3 }, (_, k) =>
        watch(channel.exchange('').publish(`dropped-${k}`, queue.name)),
      );
      for (const publish of held) {
        const reason = await within(rejectionReason(publish), 5_000, 'the publish giving up');
        expect(reason).toBeInstanceOf(DisconnectedError);
        expect(reason).toMatchObject({ code: 'DISCONNECTED', cause: { code: 'BLOCKED' } });
      }
      expect(connection.blocked).toBe(true);

      const unblocked = next(connection, 'unblocked');
      await setWatermark('0.4');
      restored = true;
      await within(unblocked, 10_000, 'connection.unblocked');
      // The marker is confirmed after anything sent before it was routed: the queue holds it alone.
      await within(channel.exchange('').publish('marker', queue.name), 10_000, 'the marker');
      expect((await queueInfo(queue.name)).messages).toBe(1);
      expect((await queue.get({ noAck: true }))?.text()).toBe('marker');
      expect(connection.isOpen).toBe(true);
    } finally {
      if (!restored) await setWatermark('0.4');
    }
  });
});

describe('connection.update-secret', () => {
  it('on the PLAIN guest user: RabbitMQ 3.10 accepts it (update-secret-ok), logs it, and the connection goes on', async () => {
    const name = uniqueName('secret');
    const connection = await own(connect(broker.url, { connectionName: name, recovery: FAST }));
    const events = record(connection);
    const reason = `rotation ${randomUUID()}`;

    await within(connection.updateSecret('guest', { reason }), 10_000, 'update-secret-ok');

    await waitFor(
      async () => (await brokerLog()).includes(`user 'guest' updated secret, reason: ${reason}`),
      5_000,
      'the broker logging the update',
    );
    expect(connection.isOpen).toBe(true);
    const channel = await connection.openChannel({ confirm: true });
    const queue = await channel.declareQueue('', { exclusive: true });
    await channel.exchange('').publish('still here', queue.name);
    expect((await queue.get({ noAck: true }))?.text()).toBe('still here');
    expect(events.all).toEqual([]);
  });

  it('a wrong secret on the internal backend: the broker does not check it, and nothing breaks', async () => {
    const connection = await own(connect(broker.url, { recovery: FAST }));
    const events = record(connection);
    const outcome = watch(
      connection.updateSecret(`wrong-${randomUUID()}`, { reason: 'wrong secret' }),
    );
    const settled = await within(outcome.result, 10_000, 'update-secret settling');
    // RabbitMQ 3.10's internal backend cannot expire credentials: it takes any secret.
    expect(settled.status).toBe('fulfilled');
    expect(connection.isOpen).toBe(true);
    const channel = await connection.openChannel();
    await channel.declareQueue('', { exclusive: true });
    expect(events.all).toEqual([]);
  });
});

describe('the password never shows on an error path of connect', () => {
  const secret = `Pw-${randomUUID()}-zQ`;
  /** A user whose password is `secret`. */
  let user: string;

  beforeAll(async () => {
    user = await addUser(secret);
  });

  async function expectRedactedRejection(
    connecting: Promise<Connection>,
    code: string,
  ): Promise<unknown> {
    const error = await within(rejectionOf(connecting), 15_000, 'connect settling');
    expect(error).toMatchObject({ code });
    expectNoSecret([secret], 'the error', error);
    return error;
  }

  it('ACCESS_REFUSED (a wrong password), with PLAIN and AMQPLAIN', async () => {
    for (const mechanism of ['PLAIN', 'AMQPLAIN'] as const) {
      const error = await expectRedactedRejection(
        connect(urlWith({ password: secret }), { mechanism, recovery: FAST }),
        'ACCESS_REFUSED',
      );
      expect(error).toBeInstanceOf(ConnectionError);
      expect(error).toMatchObject({ replyCode: 403 });
    }
  });

  it('NOT_ALLOWED (an unknown vhost, the right password)', async () => {
    const error = await expectRedactedRejection(
      connect(urlWith({ username: user, password: secret, vhost: uniqueName('no-such-vhost') })),
      'NOT_ALLOWED',
    );
    expect(error).toMatchObject({ replyCode: 530 });
  });

  it('CONNECTION_REFUSED (a closed port)', async () => {
    const port = await closedPort();
    await expectRedactedRejection(
      connect(`amqp://guest:${secret}@127.0.0.1:${port}/`),
      'CONNECTION_REFUSED',
    );
  });

  it('CONNECT_TIMEOUT (a server that accepts and says nothing)', async () => {
    const server = new FakeServer();
    const port = await server.listen();
    later(() => server.close());
    await expectRedactedRejection(
      connect(`amqp://guest:${secret}@127.0.0.1:${port}/`, { connectionTimeout: 300 }),
      'CONNECT_TIMEOUT',
    );
  });

  it('a TLS failure (amqps:// to the plain AMQP port)', async () => {
    const error = await expectRedactedRejection(
      connect(`amqps://guest:${secret}@127.0.0.1:${broker.amqpPort}/`, {
        tls: { rejectUnauthorized: false },
        connectionTimeout: 5_000,
      }),
      'CONNECTION_FAILED',
    );
    expect(error).toBeInstanceOf(ConnectionError);
  });

  it('invalid options and malformed URLs (TypeError / RangeError before connecting)', async () => {
    const url = `amqp://guest:${secret}@127.0.0.1:${broker.amqpPort}/`;
    const cases: [string, () => Promise<Connection>][] = [
      ['port out of range', () => connect(`amqp://guest:${secret}@127.0.0.1:99999/`)],
      ['port not a number', () => connect(`amqp://guest:${secret}@127.0.0.1:x/`)],
      ['bad percent-encoding', () => connect(`amqp://guest:${secret}%zz@127.0.0.1/`)],
      ['two @', () => connect(`amqp://guest:${secret}@x@127.0.0.1/`)],
      ['a space', () => connect(`amqp://guest:${secret} x@127.0.0.1/`)],
      ['a slash in the vhost', () => connect(`amqp://guest:${secret}@127.0.0.1/a/b`)],
      ['unknown query parameter', () => connect(`${url}?nope=1`)],
      ['query value out of range', () => connect(`${url}?frame_max=1`)],
      ['a fragment', () => connect(`${url}#frag`)],
      ['heartbeat option', () => connect(url, { heartbeat: -1 })],
      ['password option of the wrong type', () => connect(url, { password: 42 as never })],
      ['port option', () => connect({ password: secret, port: 0 })],
      ['tls on an amqp URL', () => connect(url, { tls: true })],
      ['recovery option', () => connect(url, { recovery: { waitTimeout: -5 } })],
      ['hosts entry', () => connect(url, { hosts: ['a:b:c'] })],
      ['credentials not a function', () => connect(url, { credentials: 'x' as never })],
      [
        'clientProperties value',
        () => connect(url, { clientProperties: { f: (() => {}) as never } }),
      ],
    ];
    for (const [what, attempt] of cases) {
      const error = await within(rejectionOf(attempt()), 5_000, what);
      expect(error, what).toSatisfy(
        (value: unknown) => value instanceof TypeError || value instanceof RangeError,
      );
      for (const [how, text] of Object.entries(renderings(error))) {
        expect(text, `${what}: ${how}`).not.toContain(secret);
      }
    }
  });

  it("an open connection's toString, inspect and JSON", async () => {
    const connection = await own(connect(urlWith({ username: user, password: secret })));
    const channel = await connection.openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    expect(String(connection)).toContain(user);
    for (const rendering of [
      String(connection),
      inspect(connection, { depth: 10, showHidden: true }),
      JSON.stringify(connection),
      inspect(channel, { depth: 10 }),
      inspect(queue, { depth: 10 }),
    ]) {
      expect(rendering).not.toContain(secret);
    }
  });

  it('recovery that gives up (RECOVERY_FAILED): no event argument and no error shows it', async () => {
    const proxy = await TcpProxy.for(broker.url);
    later(() => proxy.close());
    const connection = await own(
      connect(proxy.url(urlWith({ username: user, password: secret })), {
        recovery: { ...FAST, maxAttempts: 2 },
      }),
    );
    const events = record(connection);
    const channel = await connection.openChannel({ confirm: true });
    proxy.refuse(true);
    proxy.cut();
    const final = await within(connection.closed, 10_000, 'recovery giving up');
    expect(final).toMatchObject({ code: 'RECOVERY_FAILED' });
    expect(events.all.map(([event]) => event)).toEqual([
      'disconnected',
      'reconnecting',
      'reconnecting',
      'close',
    ]);
    const refused = await rejectionOf(channel.exchange('').publish('late', 'nowhere'));
    for (const [event, args] of events.all) expectNoSecret([secret], `${event} event`, args);
    expectNoSecret([secret], 'the final error', final);
    expectNoSecret([secret], 'the refused publish', refused);
    expect(inspect(connection, { depth: 10 })).not.toContain(secret);
  });
});

// ---------------------------------------------------------------------------------------------
// Malformed frames from a fake broker
// ---------------------------------------------------------------------------------------------

/** One connection the fake broker accepted. */
class FakeLink {
  /** Every frame the client sent, after the protocol header. */
  readonly received: Frame[] = [];
  /** Channels the client opened. */
  readonly channels: number[] = [];
  /** The client's connection.close, if it sent one. */
  clientClose: MethodArgs<'connection.close'> | undefined;
  private readonly parser = new FrameParser();
  private readonly encoder = new FrameEncoder();
  private header = Buffer.alloc(0);

  constructor(
    readonly index: number,
    readonly socket: net.Socket,
    private readonly trailers: Trailers,
  ) {
    this.parser.frameMax = 0xffff_ffff;
    this.encoder.frameMax = 131_072;
    socket.on('error', () => {});
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  /** Sends one method frame, with `trailer` (raw bytes) in the same write. */
  send<N extends MethodName>(channel: number, name: N, args: MethodArgs<N>, trailer?: Buffer) {
    this.encoder.method(channel, name, args);
    const bytes = [...this.encoder.take(), ...(trailer === undefined ? [] : [trailer])];
    if (!this.socket.destroyed) this.socket.write(Buffer.concat(bytes));
  }

  sendRaw(bytes: Buffer): void {
    if (!this.socket.destroyed) this.socket.write(bytes);
  }

  private onData(chunk: Buffer): void {
    let rest = chunk;
    if (this.header.length < 8) {
      const take = 8 - this.header.length;
      this.header = Buffer.concat([this.header, rest.subarray(0, take)]);
      rest = rest.subarray(take);
      if (this.header.length === 8) {
        this.send(0, 'connection.start', {
          versionMajor: 0,
          versionMinor: 9,
          serverProperties: { product: 'fake-broker' },
          mechanisms: Buffer.from('PLAIN AMQPLAIN'),
          locales: Buffer.from('en_US'),
        });
      }
      if (rest.length === 0) return;
    }
    try {
      this.parser.push(Buffer.from(rest));
      for (let frame = this.parser.next(); frame !== null; frame = this.parser.next()) {
        this.received.push(frame);
        if (frame.type === 1) this.onMethod(frame.channel, frame.method);
      }
    } catch {
      this.socket.destroy();
    }
  }

  private onMethod(channel: number, method: Extract<Frame, { type: 1 }>['method']): void {
    switch (method.name) {
      case 'connection.start-ok':
        this.send(0, 'connection.tune', { channelMax: 2047, frameMax: 131_072, heartbeat: 0 });
        return;
      case 'connection.open':
        this.send(0, 'connection.open-ok', { knownHosts: '' }, this.trailers.openOk?.(this.index));
        return;
      case 'connection.close':
        this.clientClose = method.args;
        this.send(0, 'connection.close-ok', {});
        this.socket.end();
        return;
      case 'connection.close-ok':
        this.socket.end();
        return;
      case 'channel.open':
        this.channels.push(channel);
        this.send(
          channel,
          'channel.open-ok',
          { channelId: Buffer.alloc(0) },
          this.trailers.channelOpenOk?.(this.index, channel),
        );
        return;
      case 'channel.close':
        this.send(channel, 'channel.close-ok', {});
        return;
      default:
        return;
    }
  }
}

/** Raw bytes the fake broker sends in the same write as a reply: the same TCP chunk, in practice. */
interface Trailers {
  openOk?: (index: number) => Buffer | undefined;
  channelOpenOk?: (index: number, channel: number) => Buffer | undefined;
}

/** A fake broker on a local port: it shakes hands, opens channels, and sends what a test says. */
class FakeBroker {
  readonly links: FakeLink[] = [];
  private readonly server = net.createServer((socket) => {
    this.links.push(new FakeLink(this.links.length, socket, this.trailers));
  });

  constructor(private readonly trailers: Trailers = {}) {}

  static async start(trailers: Trailers = {}): Promise<FakeBroker> {
    const fake = new FakeBroker(trailers);
    await new Promise<void>((resolve) => fake.server.listen(0, '127.0.0.1', resolve));
    later(() => fake.close());
    return fake;
  }

  get url(): string {
    return `amqp://guest:guest@127.0.0.1:${(this.server.address() as net.AddressInfo).port}/`;
  }

  /** Resolves with connection `index` once it has opened a channel. */
  async linkWithChannel(index: number): Promise<FakeLink> {
    return waitFor(
      () => (this.links[index]?.channels.length ? this.links[index] : undefined),
      5_000,
      `fake connection ${index} opening a channel`,
    );
  }

  async close(): Promise<void> {
    for (const link of this.links) link.socket.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

function frame(type: number, channel: number, payload: Buffer, end = FRAME_END): Buffer {
  const head = Buffer.alloc(7);
  head[0] = type;
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([end])]);
}

function methodFrame<N extends MethodName>(channel: number, name: N, args: MethodArgs<N>): Buffer {
  const encoder = new FrameEncoder();
  encoder.frameMax = 131_072;
  encoder.method(channel, name, args);
  return Buffer.concat(encoder.take());
}

/** A content header of class basic announcing `bodySize`, with `properties` (flags included) as given. */
function contentHeader(channel: number, bodySize: number, properties: Buffer): Buffer {
  const head = Buffer.alloc(12);
  head.writeUInt16BE(60, 0);
  head.writeUInt16BE(0, 2);
  head.writeBigUInt64BE(BigInt(bodySize), 4);
  return frame(2, channel, Buffer.concat([head, properties]));
}

/** A field table holding a table holding a table … `depth` levels below the outer one. */
function nestedTable(depth: number): Buffer {
  let inner = Buffer.alloc(4); // the innermost, empty table
  for (let i = 0; i < depth; i++) {
    const entry = Buffer.concat([Buffer.from([1]), Buffer.from('n'), Buffer.from('F'), inner]);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(entry.length);
    inner = Buffer.concat([length, entry]);
  }
  return inner;
}

function deliver(channel: number): Buffer {
  return methodFrame(channel, 'basic.deliver', {
    consumerTag: 'ctag',
    deliveryTag: 1,
    redelivered: false,
    exchange: '',
    routingKey: 'k',
  });
}

interface Malformed {
  readonly what: string;
  readonly code: 'FRAME_ERROR' | 'SYNTAX_ERROR' | 'UNEXPECTED_FRAME';
  readonly replyCode: number;
  readonly bytes: (channel: number) => Buffer;
}

const MALFORMED: Malformed[] = [
  {
    what: 'a bad frame-end octet',
    code: 'FRAME_ERROR',
    replyCode: 501,
    bytes: (channel) => {
      const bytes = methodFrame(channel, 'channel.flow', { active: true });
      bytes[bytes.length - 1] = 0xab;
      return bytes;
    },
  },
  {
    what: 'a frame larger than frame_max',
    code: 'FRAME_ERROR',
    replyCode: 501,
    bytes: (channel) => frame(3, channel, Buffer.alloc(131_072)),
  },
  {
    // The codec reads at most 32 levels (MAX_NESTING): 41 here.
    what: 'a field table nested deeper than the limit',
    code: 'SYNTAX_ERROR',
    replyCode: 502,
    bytes: (channel) =>
      Buffer.concat([
        deliver(channel),
        contentHeader(channel, 0, Buffer.concat([Buffer.from([0x20, 0x00]), nestedTable(40)])),
      ]),
  },
  {
    what: 'body frames overrunning the declared body size',
    code: 'FRAME_ERROR',
    replyCode: 501,
    bytes: (channel) =>
      Buffer.concat([
        deliver(channel),
        contentHeader(channel, 4, Buffer.from([0, 0])),
        frame(3, channel, Buffer.alloc(16, 0x61)),
      ]),
  },
];

describe('malformed frames from a fake broker', () => {
  describe.each(MALFORMED)('$what → $code ($replyCode)', ({ code, replyCode, bytes }) => {
    it('with recovery off: the close event carries it, and the client tells the server', async () => {
      const fake = await FakeBroker.start();
      const connection = await own(connect(fake.url, { recovery: false, heartbeat: 0 }));
      const events = record(connection);
      const channel = await connection.openChannel();
      const link = await fake.linkWithChannel(0);

      link.sendRaw(bytes(channel.id));
      const error = await within(connection.closed, 5_000, 'the connection closing');

      expect(error).toBeInstanceOf(ConnectionError);
      expect(error.code).toBe(code);
      expect(error.cause).toBeInstanceOf(ProtocolError);
      expect(error.cause).toMatchObject({ code, replyCode });
      expect(events.all).toEqual([['close', [error]]]);
      expect(await within(channel.closed, 5_000, 'the channel closing')).toMatchObject({
        code,
        cause: error,
      });
      // The client closed with the matching reply code, and did not come back.
      await waitFor(() => link.clientClose, 5_000, "the client's connection.close");
      expect(link.clientClose).toMatchObject({ replyCode });
      await sleep(200);
      expect(fake.links).toHaveLength(1);
      expect(connection.isOpen).toBe(false);
    });

    it('with recovery on: a disconnected event carries it, and it reconnects', async () => {
      const fake = await FakeBroker.start();
      const connection = await own(connect(fake.url, { recovery: FAST, heartbeat: 0 }));
      const events = record(connection);
      const channel = await connection.openChannel();
      const link = await fake.linkWithChannel(0);
      const recovered = next(connection, 'recovered');

      link.sendRaw(bytes(channel.id));
      await within(recovered, 10_000, 'recovery');

      const [lost] = events.of('disconnected');
      expect(lost).toBeInstanceOf(ConnectionError);
      expect(lost?.code).toBe(code);
      expect(lost?.cause).toMatchObject({ code, replyCode });
      expect(events.all.map(([event]) => event)).toEqual([
        'disconnected',
        'reconnecting',
        'recovered',
      ]);
      await waitFor(() => link.clientClose, 5_000, "the client's connection.close");
      expect(link.clientClose).toMatchObject({ replyCode });
      // The second connection got the channel back.
      const second = await fake.linkWithChannel(1);
      expect(second.channels).toEqual([channel.id]);
      expect(channel.isOpen).toBe(true);
      expect(connection.isOpen).toBe(true);
    });
  });

  // A broker that fails every connection after the handshake is reconnected to for ever, at about
  // `initialDelay` each time: each recovery succeeds, so the backoff never grows.
  it('a server that keeps sending garbage after each recovery: warren keeps recovering, the backoff starting over each time', async () => {
    const fake = await FakeBroker.start();
    const connection = await own(connect(fake.url, { recovery: FAST, heartbeat: 0 }));
    const events = record(connection);
    const channel = await connection.openChannel();
    const [badEnd] = MALFORMED;
    for (let index = 0; index < 3; index++) {
      const link = await fake.linkWithChannel(index);
      const recovered = next(connection, 'recovered');
      link.sendRaw(badEnd?.bytes(channel.id) ?? Buffer.alloc(0));
      await within(recovered, 10_000, `recovery ${index + 1}`);
    }
    expect(events.of('disconnected').map((error) => error.code)).toEqual([
      'FRAME_ERROR',
      'FRAME_ERROR',
      'FRAME_ERROR',
    ]);
    // Each loss is a new recovery: attempt 1 every time.
    expect(events.of('reconnecting').map((attempt) => attempt.attempt)).toEqual([1, 1, 1]);
    expect(events.of('close')).toEqual([]);
    expect(channel.isOpen).toBe(true);
  });

  // The frames below arrive in the same TCP chunk as a reply the client awaits: the engine fails
  // synchronously while the await's continuation is still queued, and must not carry on as if
  // the reply had opened something.
  it('garbage in the same chunk as the channel.open-ok of a recovery: the next attempt reopens the channel', async () => {
    const [badEnd] = MALFORMED;
    const fake = await FakeBroker.start({
      channelOpenOk: (index, channel) => (index === 1 ? badEnd?.bytes(channel) : undefined),
    });
    const connection = await own(connect(fake.url, { recovery: FAST, heartbeat: 0 }));
    const events = record(connection);
    const channel = await connection.openChannel();
    const link = await fake.linkWithChannel(0);
    const recovered = next(connection, 'recovered');

    link.sendRaw(badEnd?.bytes(channel.id) ?? Buffer.alloc(0));
    await within(recovered, 10_000, 'recovery');

    expect(events.of('disconnected').map((error) => error.code)).toEqual(['FRAME_ERROR']);
    expect(events.of('reconnecting').map((attempt) => attempt.attempt)).toEqual([1, 2]);
    expect(fake.links).toHaveLength(3);
    // The third connection, the one that stayed up, must have been asked for the channel.
    expect(fake.links[2]?.channels).toEqual([channel.id]);
    expect(channel.isOpen).toBe(true);
    await within(channel.close(), 5_000, 'closing the channel');
  });

  it('garbage in the same chunk as connection.open-ok: connect does not hand out a dead connection', async () => {
    const [badEnd] = MALFORMED;
    const fake = await FakeBroker.start({
      openOk: (index) => (index === 0 ? badEnd?.bytes(0) : undefined),
    });
    const outcome = watch(connect(fake.url, { recovery: false, heartbeat: 0 }));
    const settled = await within(outcome.result, 5_000, 'connect settling');
    if (settled.status === 'fulfilled') {
      const connection = settled.value;
      later(() => connection.close());
      // Acceptable only if the connection then reports what happened.
      const error = await within(connection.closed, 5_000, 'the connection closing');
      expect(error.code, 'the close reason of the connection connect() handed out').toBe(
        'FRAME_ERROR',
      );
    } else {
      expect(settled.reason).toBeInstanceOf(ConnectionError);
      expect(settled.reason).toMatchObject({ code: 'FRAME_ERROR' });
    }
  });

  it('garbage in the same chunk as channel.open-ok: openChannel does not hand out a channel that never closes', async () => {
    const [badEnd] = MALFORMED;
    const fake = await FakeBroker.start({
      channelOpenOk: (index, channel) => (index === 0 ? badEnd?.bytes(channel) : undefined),
    });
    const connection = await own(connect(fake.url, { recovery: false, heartbeat: 0 }));
    const closed = await within(
      (async () => {
        const opening = watch(connection.openChannel());
        const settled = await within(opening.result, 5_000, 'openChannel settling');
        if (settled.status === 'rejected') return settled.reason;
        return within(settled.value.closed, 5_000, "the channel's closed promise");
      })(),
      10_000,
      'the channel settling',
    );
    expect(closed).toMatchObject({ code: 'FRAME_ERROR' });
    expect(await within(connection.closed, 5_000, 'the connection closing')).toMatchObject({
      code: 'FRAME_ERROR',
    });
  });
});
