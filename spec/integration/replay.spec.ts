/**
 * replay(): moving the messages of a dead-letter queue back, against RabbitMQ.
 *
 * Dead letters come two ways: dead-lettered by the broker (a work queue with
 * `x-dead-letter-exchange`, its messages rejected without requeue: a real
 * `x-death`), and copies carrying `x-warren-queue`, as warren's workers
 * publish them (made here by hand). Each is replayed to where it came from,
 * or to a named target; filtered, checked against a schema, limited. Every
 * test counts what the broker holds afterwards, message by message: nothing
 * is lost, whether the replay ends, is aborted, or loses its connection (a
 * TCP proxy's cut, or the broker's `close_connection`).
 * Dead-letter and work queues are classic and quorum.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import {
  AbortError,
  AmqpError,
  type Channel,
  ChannelError,
  type Connection,
  connect,
  type FieldTable,
  type IncomingMessage,
  Message,
  MessageReturnedError,
  MessageValidationError,
  PublishNackedError,
  type Queue,
  ReplayInterruptedError,
  replay,
} from '../../lib/index.js';
import {
  deleteAfterTest,
  queueCounts,
  uniqueName,
  useConnection,
  waitFor,
} from '../support/amqp-helpers.js';
import { connectionPid } from '../support/fault-helpers.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { rabbitmqctl } from '../support/test-broker.js';

const url = inject('amqpUrl');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

/** Connections and proxies a test opened, closed after it. */
const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** At most this many moves are under way at once (lib/workers/replay.ts). */
const WINDOW = 32;

type QueueType = 'classic' | 'quorum';

/** A queue of `type`, deleted after the test. */
async function declare(
  channel: Channel,
  type: QueueType,
  prefix: string,
  args: FieldTable = {},
): Promise<Queue> {
  const name = uniqueName(`replay-${prefix}`);
  deleteAfterTest(connection, 'queue', name);
  const typeArgs = type === 'quorum' ? { 'x-queue-type': 'quorum' } : {};
  return channel.declareQueue(name, { arguments: { ...typeArgs, ...args } });
}

/** Waits until the broker reports `count` ready messages in the queue `name`. */
async function readyIn(name: string, count: number): Promise<void> {
  await waitFor(
    async () => (await queueCounts(connection, name))?.messageCount === count,
    10_000,
    `${count} ready messages in ${name}`,
  );
}

/** How many messages are ready in the queue `name`. */
async function ready(name: string): Promise<number> {
  return (await queueCounts(connection, name))?.messageCount ?? -1;
}

/** Every message of the queue `name`, fetched with no-ack (the queue is empty afterwards). */
async function takeAll(channel: Channel, name: string): Promise<IncomingMessage[]> {
  const queue = channel.queue(name);
  const messages: IncomingMessage[] = [];
  for (let message = await queue.get({ noAck: true }); message !== null; ) {
    messages.push(message);
    message = await queue.get({ noAck: true });
  }
  return messages;
}

/** The message ids of `messages`. */
const ids = (messages: IncomingMessage[]): string[] =>
  messages.map((message) => message.properties.messageId as string);

/** `m-0` … `m-<count-1>`. */
const numbered = (count: number): string[] => Array.from({ length: count }, (_, i) => `m-${i}`);

/**
 * A work queue that dead-letters (through the default exchange) into a
 * dead-letter queue, both of `type`, and `count` messages dead-lettered by
 * the broker: published to the work queue, fetched and rejected without
 * requeue. Each has a JSON body `{ n }`, a messageId `m-<n>` and a header.
 */
async function brokerDeadLetters(channel: Channel, type: QueueType, count: number) {
  const dead = await declare(channel, type, 'dead');
  const work = await declare(channel, type, 'work', {
    'x-dead-letter-exchange': '',
    'x-dead-letter-routing-key': dead.name,
  });
  const direct = channel.exchange('');
  await Promise.all(
    numbered(count).map((id, n) =>
      direct.publish(
        new Message({ n }, { messageId: id, headers: { tenant: 'acme', n }, deliveryMode: 2 }),
        work.name,
      ),
    ),
  );
  await readyIn(work.name, count);
  for (let i = 0; i < count; i++) {
    const message = await work.get();
    message?.reject({ requeue: false });
  }
  await readyIn(dead.name, count);
  return { work, dead };
}

/** Publishes copies to `dead` as warren's workers dead-letter them: `x-warren-queue` says where from. */
async function warrenDeadLetters(
  channel: Channel,
  dead: Queue,
  origins: string[],
  extra: FieldTable = {},
): Promise<void> {
  const direct = channel.exchange('');
  await Promise.all(
    origins.map((origin, n) =>
      direct.publish(
        new Message(
          { n },
          {
            messageId: `m-${n}`,
            headers: {
              'x-warren-queue': origin,
              'x-warren-attempt': 3,
              'x-warren-reason': 'exhausted',
              'x-warren-error-message': 'the database was down',
              ...extra,
            },
          },
        ),
        dead.name,
      ),
    ),
  );
  await readyIn(dead.name, origins.length);
}

/** The entries of a message's `x-death` header. */
function deaths(message: IncomingMessage): FieldTable[] {
  return message.headers['x-death'] as FieldTable[];
}

describe.each<QueueType>(['classic', 'quorum'])('replay from a %s dead-letter queue', (type) => {
  it('moves messages the broker dead-lettered back to their queue, x-death intact', async () => {
    const channel = await openChannel(true);
    const { work, dead } = await brokerDeadLetters(channel, type, 20);

    const result = await replay(dead);

    expect(result).toEqual({ moved: 20, skipped: 0, failed: 0, failures: [] });
    expect(await ready(dead.name)).toBe(0);
    await readyIn(work.name, 20);
    const back = await work.get();
    expect(back?.properties.messageId).toBe('m-0');
    expect(back?.properties.contentType).toBe('application/json');
    expect(back?.properties.deliveryMode).toBe(2);
    expect(back?.headers.tenant).toBe('acme');
    expect(back?.json()).toEqual({ n: 0 });
    expect(deaths(back as IncomingMessage)).toMatchObject([
      { queue: work.name, reason: 'rejected', count: 1, 'routing-keys': [work.name] },
    ]);
    expect(back?.headers['x-first-death-queue']).toBe(work.name);
    // The broker counts on: a second rejection makes the same entry count 2.
    back?.reject({ requeue: false });
    await readyIn(dead.name, 1);
    const again = await dead.get();
    again?.ack();
    expect(deaths(again as IncomingMessage)).toMatchObject([
      { queue: work.name, reason: 'rejected', count: 2 },
    ]);
    const rest = await takeAll(channel, work.name);
    expect(ids(rest).sort()).toEqual(numbered(20).slice(1).sort());
  });

  it("moves warren's dead letters to x-warren-queue, their attempt count reset", async () => {
    const channel = await openChannel(true);
    const dead = await declare(channel, type, 'dead');
    const a = await declare(channel, type, 'a');
    const b = await declare(channel, type, 'b');
    const origins = numbered(10).map((_, n) => (n % 2 === 0 ? a.name : b.name));
    await warrenDeadLetters(channel, dead, origins);

    const result = await replay(dead);

    expect(result).toEqual({ moved: 10, skipped: 0, failed: 0, failures: [] });
    await readyIn(a.name, 5);
    await readyIn(b.name, 5);
    const inA = await takeAll(channel, a.name);
    expect(ids(inA).sort()).toEqual(['m-0', 'm-2', 'm-4', 'm-6', 'm-8']);
    for (const message of inA) {
      expect(message.headers['x-warren-attempt']).toBeUndefined();
      expect(message.headers['x-warren-reason']).toBe('exhausted');
      expect(message.headers['x-warren-error-message']).toBe('the database was down');
      expect(message.headers['x-warren-queue']).toBe(a.name);
    }
    expect(ids(await takeAll(channel, b.name)).sort()).toEqual(['m-1', 'm-3', 'm-5', 'm-7', 'm-9']);
    expect(await ready(dead.name)).toBe(0);
  });

  it('keeps what the filter skips, ends, and skips it again on the next run', async () => {
    const channel = await openChannel(true);
    const { work, dead } = await brokerDeadLetters(channel, type, 10);
    const seen: (string | undefined)[] = [];
    const even = (message: { data: unknown }, origin: string | undefined) => {
      seen.push(origin);
      return (message.data as { n: number }).n % 2 === 0;
    };

    expect(await replay(dead, { filter: even })).toEqual({
      moved: 5,
      skipped: 5,
      failed: 0,
      failures: [],
    });
    expect(seen).toEqual(Array(10).fill(work.name));
    await readyIn(work.name, 5);
    expect(await ready(dead.name)).toBe(5);
    // The skipped ones went to the tail and were not taken twice; a second run sees only them.
    expect(await replay(dead, { filter: even })).toEqual({
      moved: 0,
      skipped: 5,
      failed: 0,
      failures: [],
    });
    const kept = await takeAll(channel, dead.name);
    expect(ids(kept).sort()).toEqual(['m-1', 'm-3', 'm-5', 'm-7', 'm-9']);
    // Kept as they were: x-death and all.
    expect(deaths(kept[0] as IncomingMessage)).toMatchObject([{ queue: work.name, count: 1 }]);
    expect(ids(await takeAll(channel, work.name)).sort()).toEqual([
      'm-0',
      'm-2',
      'm-4',
      'm-6',
      'm-8',
    ]);
  });

  it('an abort midway loses nothing and duplicates nothing', async () => {
    const channel = await openChannel(true);
    const { work, dead } = await brokerDeadLetters(channel, type, 60);
    const controller = new AbortController();
    let calls = 0;

    const error = await replay(dead, {
      signal: controller.signal,
      filter: () => {
        calls += 1;
        if (calls === 25) controller.abort(new Error('enough'));
        return true;
      },
    }).catch((reason: unknown) => reason);

    expect(error).toBeInstanceOf(ReplayInterruptedError);
    const interrupted = error as ReplayInterruptedError;
    expect(interrupted.code).toBe('ABORTED');
    expect(interrupted.cause).toBeInstanceOf(AbortError);
    expect(interrupted.uncertain).toBe(0);
    const { moved } = interrupted.result;
    // The moves under way finished; the message the filter was deciding on went back.
    expect(moved).toBe(24);
    await readyIn(work.name, moved);
    await readyIn(dead.name, 60 - moved);
    const all = [...(await takeAll(channel, work.name)), ...(await takeAll(channel, dead.name))];
    expect(ids(all).sort()).toEqual(numbered(60).sort());
  });

  it('a connection cut midway loses nothing; duplicates are few and counted', async () => {
    const channel = await openChannel(true);
    const { work, dead } = await brokerDeadLetters(channel, type, 200);
    const proxy = await TcpProxy.for(url);
    cleanups.push(() => proxy.close());
    const cut = await connect(proxy.url(url), { recovery: { initialDelay: 50, maxDelay: 200 } });
    cleanups.push(() => cut.close());
    let calls = 0;

    const error = await replay(await handleOn(cut, dead.name), {
      filter: () => {
        calls += 1;
        if (calls === 80) proxy.cut();
        return true;
      },
    }).catch((reason: unknown) => reason);

    expect(error).toBeInstanceOf(ReplayInterruptedError);
    const interrupted = error as ReplayInterruptedError;
    expect(interrupted.cause).toBeInstanceOf(AmqpError);
    expect(interrupted.code).toBe(interrupted.cause.code);
    expect(interrupted.result.moved).toBeLessThan(200);
    // Every message is somewhere, once or (copied, then its original back) twice.
    await waitFor(async () => (await ready(dead.name)) + (await ready(work.name)) >= 200);
    const inWork = await takeAll(channel, work.name);
    const inDead = await takeAll(channel, dead.name);
    const { moved } = interrupted.result;
    // Each move counted is at the target; each message not counted is still in the queue.
    expect(inWork.length).toBeGreaterThanOrEqual(moved);
    expect(inDead.length).toBeGreaterThanOrEqual(200 - moved);
    const all = [...inWork, ...inDead];
    expect(new Set(ids(all))).toEqual(new Set(numbered(200)));
    const duplicates = all.length - 200;
    console.log(
      `replay cut (${type}, ${interrupted.code}): moved ${moved}, uncertain ${interrupted.uncertain}, duplicates ${duplicates}`,
    );
    // Only the moves under way at the cut (at most WINDOW), and those whose ack went out just
    // before it and was lost with the socket (at most a window's confirms), can be duplicated.
    expect(duplicates).toBeLessThanOrEqual(2 * WINDOW);
  });

  it('a connection the broker closes midway (close_connection) loses nothing', async () => {
    const channel = await openChannel(true);
    const { work, dead } = await brokerDeadLetters(channel, type, 100);
    const name = uniqueName('replay-closed');
    const closed = await connect(url, { connectionName: name, recovery: { initialDelay: 50 } });
    cleanups.push(() => closed.close());
    const pid = await connectionPid(rabbitmqctl, name);
    let calls = 0;

    const error = await replay(await handleOn(closed, dead.name), {
      filter: async () => {
        calls += 1;
        // The replay waits here while the broker closes its connection.
        if (calls === 40) await rabbitmqctl('close_connection', pid, 'replay test');
        return true;
      },
    }).catch((reason: unknown) => reason);

    expect(error).toBeInstanceOf(ReplayInterruptedError);
    const interrupted = error as ReplayInterruptedError;
    expect(interrupted.code).toBe('CONNECTION_FORCED');
    const { moved } = interrupted.result;
    expect(moved).toBeLessThan(40);
    await waitFor(async () => (await ready(dead.name)) + (await ready(work.name)) >= 100);
    const inWork = await takeAll(channel, work.name);
    const inDead = await takeAll(channel, dead.name);
    expect(inWork.length).toBeGreaterThanOrEqual(moved);
    expect(inDead.length).toBeGreaterThanOrEqual(100 - moved);
    const all = [...inWork, ...inDead];
    expect(new Set(ids(all))).toEqual(new Set(numbered(100)));
    expect(all.length - 100).toBeLessThanOrEqual(2 * WINDOW);
  });
});

/** A handle on `connection` for the queue `name`. */
async function handleOn(on: Connection, name: string): Promise<Queue> {
  const channel = await on.openChannel();
  cleanups.push(async () => {
    if (channel.isOpen) await channel.close();
  });
  return channel.queue(name);
}

describe('replay targets and checks', () => {
  it('fails a message that says nowhere, and keeps it; with `to` it moves', async () => {
    const channel = await openChannel(true);
    const dead = await declare(channel, 'classic', 'dead');
    const target = await declare(channel, 'classic', 'target');
    await warrenDeadLetters(channel, dead, [target.name]);
    await channel.exchange('').publish(new Message('who knows', { messageId: 'lost' }), dead.name);
    await readyIn(dead.name, 2);

    const result = await replay(dead);

    expect(result).toMatchObject({ moved: 1, skipped: 0, failed: 1 });
    expect(result.failures).toEqual([
      { reason: 'no-origin', error: undefined, messageId: 'lost', to: undefined },
    ]);
    expect(await ready(dead.name)).toBe(1);
    expect(await replay(dead, { to: target.name })).toMatchObject({ moved: 1, failed: 0 });
    expect(ids(await takeAll(channel, target.name)).sort()).toEqual(['lost', 'm-0']);
  });

  it('fails a message whose queue is gone as unroutable, and keeps it', async () => {
    const channel = await openChannel(true);
    const dead = await declare(channel, 'classic', 'dead');
    const gone = uniqueName('replay-gone');
    await warrenDeadLetters(channel, dead, [gone]);

    const result = await replay(dead);

    expect(result).toMatchObject({ moved: 0, failed: 1 });
    const [failure] = result.failures;
    expect(failure?.reason).toBe('unroutable');
    expect(failure?.error).toBeInstanceOf(MessageReturnedError);
    expect(failure?.to).toEqual({ exchange: '', routingKey: gone });
    const [kept] = await takeAll(channel, dead.name);
    // Kept as it was, attempt count included.
    expect(kept?.headers).toMatchObject({ 'x-warren-queue': gone, 'x-warren-attempt': 3 });
  });

  it('fails a copy the broker nacks as refused, and keeps the message', async () => {
    const channel = await openChannel(true);
    const dead = await declare(channel, 'classic', 'dead');
    // Holds one message, and nacks publishes beyond it.
    const full = await declare(channel, 'classic', 'full', {
      'x-max-length': 1,
      'x-overflow': 'reject-publish',
    });
    await warrenDeadLetters(channel, dead, [full.name, full.name, full.name]);

    const result = await replay(dead);

    expect(result).toMatchObject({ moved: 1, failed: 2 });
    expect(result.failures.map((failure) => failure.reason)).toEqual(['refused', 'refused']);
    expect(result.failures[0]?.error).toBeInstanceOf(PublishNackedError);
    expect(ids(await takeAll(channel, full.name))).toEqual(['m-0']);
    expect(ids(await takeAll(channel, dead.name))).toEqual(['m-1', 'm-2']);
  });

  it('fails and keeps a message the filter throws on', async () => {
    const channel = await openChannel(true);
    const dead = await declare(channel, 'classic', 'dead');
    const target = await declare(channel, 'classic', 'target');
    await warrenDeadLetters(channel, dead, [target.name, target.name]);
    const broken = new Error('the filter broke');

    const result = await replay(dead, {
      filter: (message) => {
        if (message.properties.messageId === 'm-0') throw broken;
        return true;
      },
    });

    expect(result).toMatchObject({ moved: 1, failed: 1 });
    expect(result.failures).toEqual([
      { reason: 'filter', error: broken, messageId: 'm-0', to: undefined },
    ]);
    expect(ids(await takeAll(channel, dead.name))).toEqual(['m-0']);
  });

  it('checks each body against the schema: what fails it stays, what moves keeps its bytes', async () => {
    const channel = await openChannel(true);
    const dead = await declare(channel, 'classic', 'dead');
    const orders = await declare(channel, 'classic', 'orders');
    const Order = z.object({ id: z.string(), qty: z.number().int().positive() });
    const direct = channel.exchange('');
    const bodies = [
      '{"id":"a","qty":1}',
      '{"id":"b","qty":0}',
      'not json',
      '{ "id": "c", "qty": 2 }',
    ];
    for (const [n, body] of bodies.entries()) {
      await direct.publish(
        new Message(Buffer.from(body), {
          messageId: `m-${n}`,
          headers: { 'x-warren-queue': orders.name },
        }),
        dead.name,
      );
    }

    const result = await replay(dead, { schema: Order });

    expect(result).toMatchObject({ moved: 2, failed: 2 });
    expect(result.failures.map((failure) => [failure.messageId, failure.reason])).toEqual([
      ['m-1', 'invalid'],
      ['m-2', 'invalid'],
    ]);
    expect(result.failures[0]?.error).toBeInstanceOf(MessageValidationError);
    const moved = await takeAll(channel, orders.name);
    expect(moved.map((message) => message.text())).toEqual([bodies[0], bodies[3]]);
    expect(ids(await takeAll(channel, dead.name))).toEqual(['m-1', 'm-2']);
  });

  it("checks against the schema of the `to` queue's handle", async () => {
    const channel = await openChannel(true);
    const dead = await declare(channel, 'classic', 'dead');
    const target = await declare(channel, 'classic', 'target');
    await warrenDeadLetters(channel, dead, [target.name, target.name]);
    const schema = z.object({ n: z.literal(1) });

    const result = await replay(dead, { to: channel.queue(target.name, { schema }) });

    expect(result).toMatchObject({ moved: 1, failed: 1 });
    expect(ids(await takeAll(channel, target.name))).toEqual(['m-1']);
  });

  it('moves at most `limit` messages', async () => {
    const channel = await openChannel(true);
    const { work, dead } = await brokerDeadLetters(channel, 'classic', 10);

    expect(await replay(dead, { limit: 3 })).toEqual({
      moved: 3,
      skipped: 0,
      failed: 0,
      failures: [],
    });
    await readyIn(work.name, 3);
    expect(await ready(dead.name)).toBe(7);
    expect(ids(await takeAll(channel, work.name))).toEqual(['m-0', 'm-1', 'm-2']);
  });

  it('moves to an exchange, with a routing key or with the original one', async () => {
    const channel = await openChannel(true);
    const { work, dead } = await brokerDeadLetters(channel, 'classic', 4);
    const exchangeName = uniqueName('replay-exchange');
    deleteAfterTest(connection, 'exchange', exchangeName);
    const exchange = await channel.declareExchange(exchangeName, 'direct', { autoDelete: false });
    const byKey = await declare(channel, 'classic', 'by-key');
    const byOriginal = await declare(channel, 'classic', 'by-original');
    await byKey.bind(exchange, 'replayed');
    // Broker dead letters were published to the default exchange with the work queue's name.
    await byOriginal.bind(exchange, work.name);

    expect(
      await replay(dead, { to: { exchange, routingKey: 'replayed' }, limit: 2 }),
    ).toMatchObject({ moved: 2 });
    expect(await replay(dead, { to: { exchange: exchangeName } })).toMatchObject({ moved: 2 });
    expect(ids(await takeAll(channel, byKey.name))).toEqual(['m-0', 'm-1']);
    expect(ids(await takeAll(channel, byOriginal.name))).toEqual(['m-2', 'm-3']);
  });

  it('stops after the messages there when it began: not new ones, nor its own copies', async () => {
    const channel = await openChannel(true);
    const dead = await declare(channel, 'classic', 'dead');
    const target = await declare(channel, 'classic', 'target');
    await warrenDeadLetters(channel, dead, [target.name, target.name, target.name]);
    const direct = channel.exchange('');
    let published = false;

    const result = await replay(dead, {
      filter: async () => {
        if (!published) {
          published = true;
          await direct.publish(
            new Message('late', { messageId: 'late', headers: { 'x-warren-queue': target.name } }),
            dead.name,
          );
        }
        return true;
      },
    });

    expect(result).toMatchObject({ moved: 3 });
    expect(ids(await takeAll(channel, dead.name))).toEqual(['late']);
    // Into itself: each message moves once, and the replay ends.
    await warrenDeadLetters(channel, dead, [target.name, target.name]);
    expect(await replay(dead, { to: dead })).toMatchObject({ moved: 2 });
    expect(ids(await takeAll(channel, dead.name))).toEqual(['m-0', 'm-1']);
  });

  it('refuses bad input with a TypeError or RangeError before anything reaches the broker', async () => {
    const channel = await openChannel(true);
    const dead = await declare(channel, 'classic', 'dead');
    await warrenDeadLetters(channel, dead, ['somewhere']);
    const cases: [unknown, unknown, ErrorConstructor][] = [
      ['orders.dead', {}, TypeError],
      [dead, null, TypeError],
      [dead, new AbortController().signal, TypeError],
      [dead, { limt: 3 }, TypeError],
      [dead, { limit: '3' }, TypeError],
      [dead, { limit: 0 }, RangeError],
      [dead, { limit: 1.5 }, RangeError],
      [dead, { limit: Number.NaN }, RangeError],
      [dead, { filter: true }, TypeError],
      [dead, { schema: { parse: () => true } }, TypeError],
      [dead, { signal: 'stop' }, TypeError],
      [dead, { to: 42 }, TypeError],
      [dead, { to: '' }, RangeError],
      [dead, { to: 'q'.repeat(256) }, RangeError],
      [dead, { to: '\ud800' }, RangeError],
      [dead, { to: { exchange: '' } }, RangeError],
      [dead, { to: { exchange: 'x', routingKey: 7 } }, TypeError],
      [dead, { to: { exchange: 'x', key: 'k' } }, TypeError],
    ];
    for (const [source, options, kind] of cases) {
      const error = await replay(source as Queue, options as never).catch((reason) => reason);
      expect(error, JSON.stringify(options)).toBeInstanceOf(kind);
    }
    expect(await ready(dead.name)).toBe(1);
    expect(channel.isOpen).toBe(true);
  });

  it('rejects with NOT_FOUND for a missing queue or target, moving nothing', async () => {
    const channel = await openChannel(true);
    const dead = await declare(channel, 'classic', 'dead');
    await warrenDeadLetters(channel, dead, ['somewhere']);

    const missing = await replay(channel.queue(uniqueName('replay-missing'))).catch((e) => e);
    expect(missing).toBeInstanceOf(ChannelError);
    expect((missing as ChannelError).code).toBe('NOT_FOUND');
    const noQueue = await replay(dead, { to: uniqueName('replay-missing') }).catch((e) => e);
    expect((noQueue as ChannelError).code).toBe('NOT_FOUND');
    const noExchange = await replay(dead, {
      to: { exchange: uniqueName('replay-missing'), routingKey: 'k' },
    }).catch((e) => e);
    expect((noExchange as ChannelError).code).toBe('NOT_FOUND');
    expect(await ready(dead.name)).toBe(1);
    // The caller's channel is untouched: the replay works on one of its own.
    expect(channel.isOpen).toBe(true);
  });

  it("stops at a message over the connection's maxBodySize, which that connection refuses", async () => {
    const channel = await openChannel(true);
    const dead = await declare(channel, 'classic', 'dead');
    const target = await declare(channel, 'classic', 'target');
    await warrenDeadLetters(channel, dead, [target.name]);
    await channel
      .exchange('')
      .publish(
        new Message('x'.repeat(2_000), { headers: { 'x-warren-queue': target.name } }),
        dead.name,
      );
    await readyIn(dead.name, 2);
    const small = await connect(url, { maxBodySize: 1_000 });
    cleanups.push(() => small.close());

    const error = await replay(await handleOn(small, dead.name)).catch((e) => e);

    expect(error).toBeInstanceOf(ReplayInterruptedError);
    expect((error as ReplayInterruptedError).code).toBe('MESSAGE_TOO_LARGE');
    // The first move may still be under way when the refusal stops the replay: it finishes.
    expect((error as ReplayInterruptedError).result.moved).toBe(1);
    // Refused without requeue: with no dead-letter exchange of its own, the queue dropped it.
    expect(ids(await takeAll(channel, target.name))).toEqual(['m-0']);
    expect(await ready(dead.name)).toBe(0);
  });

  it('an already aborted signal rejects before anything moves', async () => {
    const channel = await openChannel(true);
    const dead = await declare(channel, 'classic', 'dead');
    await warrenDeadLetters(channel, dead, ['somewhere']);
    const error = await replay(dead, { signal: AbortSignal.abort() }).catch((e) => e);
    expect(error).toBeInstanceOf(ReplayInterruptedError);
    expect((error as ReplayInterruptedError).code).toBe('ABORTED');
    expect((error as ReplayInterruptedError).result.moved).toBe(0);
    expect(await ready(dead.name)).toBe(1);
  });
});
