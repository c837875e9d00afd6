/**
 * Delayed retries through wait queues on RabbitMQ (lib/workers/retry.ts), on classic and quorum
 * queues, with waits of tens of milliseconds: the attempt count each delivery carries, a long
 * wait that does not hold up a short one, `retryIf`, retries used up, a schema failure never
 * retried, `for await` with `message.fail()`, a wait queue an operator deleted, a FailureHandler
 * that fails, a connection lost while a message waits, and the options refused before anything
 * reaches the broker. Every check is of what the broker did: what was delivered, with which
 * headers, and what is left in which queue.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import {
  type Channel,
  ChannelError,
  type Connection,
  type Consumer,
  connect,
  type FieldTable,
  type IncomingMessage,
  MAX_DELAY_MS,
  Message,
  type Queue,
  type RetryOptions,
  RetryPolicy,
  retry,
} from '../../lib/index.js';
import {
  deleteAfterTest,
  queueCounts,
  queueExists,
  uniqueName,
  useConnection,
  waitFor,
} from '../support/amqp-helpers.js';
import { connectionPid, rejectionOf } from '../support/fault-helpers.js';
import { rabbitmqctl } from '../support/test-broker.js';

const url = inject('amqpUrl');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

/** Process warnings seen while a test ran. */
let warnings: Error[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

type Kind = 'classic' | 'quorum';

/** A queue of `kind` deleted after the test, with the wait queues `policy` declares for it. */
async function declare(
  channel: Channel,
  kind: Kind,
  policy?: RetryPolicy,
  args: FieldTable = {},
  on: Connection = connection,
): Promise<Queue> {
  const name = uniqueName(`retries-${kind}`);
  const queue = await channel.declareQueue(name, {
    arguments: kind === 'quorum' ? { 'x-queue-type': 'quorum', ...args } : args,
  });
  deleteAfterTest(on, 'queue', name);
  for (const wait of policy?.waitQueues(name) ?? []) deleteAfterTest(on, 'queue', wait);
  return queue;
}

/** A fanout exchange and the queue bound to it, deleted after the test: where dead letters land. */
async function deadLetters(channel: Channel): Promise<{ exchange: string; queue: Queue }> {
  const exchange = uniqueName('retries-dlx');
  await channel.declareExchange(exchange, 'fanout');
  deleteAfterTest(connection, 'exchange', exchange);
  const queue = await channel.declareQueue(uniqueName('retries-dlq'));
  deleteAfterTest(connection, 'queue', queue.name);
  await queue.bind(exchange);
  return { exchange, queue };
}

/** Publishes `body` to `queue` through the default exchange, confirmed. */
async function send(queue: Queue, body: unknown, headers?: FieldTable): Promise<void> {
  const channel = await openChannel(true);
  await channel.exchange('').publish(new Message(body, { headers: headers ?? {} }), queue.name);
}

/** Waits for `count` messages in `queue` and takes them (acked). */
async function take(queue: Queue, count: number): Promise<IncomingMessage[]> {
  await waitFor(
    async () => ((await queueCounts(connection, queue.name))?.messageCount ?? 0) >= count,
    5_000,
    `${count} message(s) in ${queue.name}`,
  );
  const taken: IncomingMessage[] = [];
  for (let i = 0; i < count; i++) {
    const message = await queue.get();
    if (message === null) throw new Error(`${queue.name} ran dry`);
    message.ack();
    taken.push(message);
  }
  return taken;
}

/** Consumes `queue` under `policy` with a handler that fails the first attempt and acks the next. */
async function consumeFailingFirst(
  queue: Queue,
  policy: RetryPolicy,
): Promise<{ attempts: number[]; consumer: Consumer }> {
  const attempts: number[] = [];
  const consumer = await queue.consume(
    (message) => {
      attempts.push(message.attempt);
      if (message.attempt === 1) throw new Error('the first attempt fails');
      message.ack();
    },
    { onFailure: policy },
  );
  consumer.on('error', () => {});
  return { attempts, consumer };
}

describe.each(['classic', 'quorum'] as const)('retries on a %s queue', (kind) => {
  it('retries after each delay until the handler succeeds; the attempt count travels with it', async () => {
    const channel = await openChannel();
    const policy = retry({ delays: [30, 60] });
    const queue = await declare(channel, kind, policy);
    const seen: IncomingMessage[] = [];
    const consumer = await queue.consume(
      (message) => {
        seen.push(message);
        if (message.attempt < 3) throw new Error(`not yet (attempt ${message.attempt})`);
        message.ack();
      },
      { onFailure: policy },
    );
    const errors: unknown[] = [];
    consumer.on('error', (error) => errors.push(error));
    await send(queue, { order: 1 });

    await waitFor(() => seen.length === 3, 5_000, 'the third attempt');
    expect(seen.map((message) => message.attempt)).toEqual([1, 2, 3]);
    expect(seen.map((message) => message.json())).toEqual([
      { order: 1 },
      { order: 1 },
      { order: 1 },
    ]);
    const last = seen[2] as IncomingMessage;
    // Back from the 60 ms wait queue through the default exchange, with what happened on the way.
    expect(last.exchange).toBe('');
    expect(last.routingKey).toBe(queue.name);
    expect(last.headers).toMatchObject({
      'x-warren-attempt': 3,
      'x-warren-queue': queue.name,
      'x-warren-error-name': 'Error',
      'x-warren-error-message': 'not yet (attempt 2)',
      'x-warren-original-exchange': '',
      'x-warren-original-routing-key': queue.name,
    });
    expect(last.headers['x-warren-reason']).toBeUndefined();
    const deaths = last.headers['x-death'] as FieldTable[];
    expect(deaths.map((death) => [death.queue, death.reason, death.count])).toEqual([
      [`${queue.name}.retry.60ms`, 'expired', 1],
      [`${queue.name}.retry.30ms`, 'expired', 1],
    ]);
    expect(errors).toHaveLength(2);
    await consumer.cancel();
    expect(await queueCounts(connection, queue.name)).toMatchObject({ messageCount: 0 });
    for (const wait of policy.waitQueues(queue)) {
      expect(await queueCounts(connection, wait)).toMatchObject({ messageCount: 0 });
    }
    expect(warnings).toEqual([]);
  });

  it('declares one wait queue per delay, named from the queue, with its TTL and the way back', async () => {
    const channel = await openChannel();
    const policy = retry({ delays: [40, 40, 80] });
    const queue = await declare(channel, kind, policy);
    expect(policy.waitQueues(queue)).toEqual([
      `${queue.name}.retry.40ms`,
      `${queue.name}.retry.80ms`,
    ]);
    const consumer = await queue.consume((message) => message.ack(), { onFailure: policy });
    await consumer.cancel();
    // Declared with exactly these arguments: the broker accepts an equivalent declaration and
    // refuses (406) one that differs.
    const side = await openChannel();
    const expected = {
      'x-message-ttl': 40,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': queue.name,
      ...(kind === 'quorum'
        ? {
            'x-queue-type': 'quorum',
            'x-dead-letter-strategy': 'at-least-once',
            'x-overflow': 'reject-publish',
          }
        : {}),
    };
    await side.declareQueue(`${queue.name}.retry.40ms`, { arguments: expected });
    const refused = await rejectionOf(
      side.declareQueue(`${queue.name}.retry.40ms`, {
        arguments: { ...expected, 'x-message-ttl': 41 },
      }),
    );
    expect(refused).toMatchObject({ code: 'PRECONDITION_FAILED' });
  });

  it('a long wait does not hold up a short one', async () => {
    const channel = await openChannel();
    const policy = retry({ delays: [30, 800] });
    const queue = await declare(channel, kind, policy);
    const handled: string[] = [];
    const consumer = await queue.consume(
      (message) => {
        const { id, failOn } = message.json<{ id: string; failOn: number }>();
        if (message.attempt === failOn) throw new Error('once');
        handled.push(id);
        message.ack();
      },
      { onFailure: policy },
    );
    consumer.on('error', () => {});
    // 'slow' arrives as if on its second attempt: its retry waits 800 ms; 'fast' waits 30 ms.
    await send(queue, { id: 'slow', failOn: 2 }, { 'x-warren-attempt': 2 });
    await send(queue, { id: 'fast', failOn: 1 });
    await waitFor(() => handled.length === 2, 5_000, 'both retries');
    expect(handled).toEqual(['fast', 'slow']);
    await consumer.cancel();
  });

  it('retryIf false marks a failure permanent: dead-lettered at once, never retried', async () => {
    const channel = await openChannel();
    const dead = await deadLetters(channel);
    const policy = retry({
      delays: [30],
      retryIf: (error) => !(error instanceof TypeError),
      deadLetter: { exchange: dead.exchange },
    });
    const queue = await declare(channel, kind, policy);
    let calls = 0;
    const consumer = await queue.consume(
      () => {
        calls++;
        throw new TypeError('cannot ever work');
      },
      { onFailure: policy },
    );
    consumer.on('error', () => {});
    await send(queue, { order: 2 });
    const [copy] = await take(dead.queue, 1);
    expect(calls).toBe(1);
    expect(copy?.json()).toEqual({ order: 2 });
    expect(copy?.headers).toMatchObject({
      'x-warren-reason': 'permanent',
      'x-warren-attempt': 1,
      'x-warren-error-name': 'TypeError',
      'x-warren-error-message': 'cannot ever work',
    });
    await consumer.cancel();
    expect(await queueCounts(connection, queue.name)).toMatchObject({ messageCount: 0 });
  });

  it('retries used up: dead-lettered with the headers that say why, x-death intact', async () => {
    const channel = await openChannel();
    const dead = await deadLetters(channel);
    const policy = retry({
      initial: 20,
      multiplier: 2,
      attempts: 3,
      deadLetter: { exchange: dead.exchange },
    });
    expect(policy.delays).toEqual([20, 40]);
    const queue = await declare(channel, kind, policy);
    let lastDelivery: IncomingMessage | undefined;
    const consumer = await queue.consume(
      (message) => {
        lastDelivery = message;
        const error = new Error(`failure ${message.attempt}`) as Error & { code: string };
        error.code = 'E_DOWNSTREAM';
        throw error;
      },
      { onFailure: policy },
    );
    consumer.on('error', () => {});
    const started = new Date();
    await send(queue, { order: 3 }, { tenant: 'acme' });
    const [copy] = await take(dead.queue, 1);
    await consumer.cancel();
    const headers = copy?.headers ?? {};
    expect(headers).toMatchObject({
      tenant: 'acme',
      'x-warren-reason': 'exhausted',
      'x-warren-attempt': 3,
      'x-warren-error-name': 'Error',
      'x-warren-error-code': 'E_DOWNSTREAM',
      'x-warren-error-message': 'failure 3',
      'x-warren-queue': queue.name,
      'x-warren-original-exchange': '',
      'x-warren-original-routing-key': queue.name,
    });
    const first = Date.parse(headers['x-warren-first-failure'] as string);
    const last = Date.parse(headers['x-warren-last-failure'] as string);
    expect(first).toBeGreaterThanOrEqual(started.getTime() - 1_000);
    expect(last).toBeGreaterThan(first);
    // The copy carries RabbitMQ's own record as the last delivery had it, untouched.
    expect(headers['x-death']).toEqual(lastDelivery?.headers['x-death']);
    expect(headers['x-delivery-count']).toBeUndefined();
    expect(copy?.properties.contentType).toBe('application/json');
    expect(await queueCounts(connection, queue.name)).toMatchObject({ messageCount: 0 });
  });

  it('a message that fails its schema is never retried: dead-lettered as invalid, with the issues', async () => {
    const channel = await openChannel();
    const dead = await deadLetters(channel);
    const policy = retry({ delays: [30], deadLetter: { exchange: dead.exchange } });
    const name = uniqueName(`retries-${kind}-schema`);
    const queue = await channel.declareQueue(name, {
      schema: z.object({ items: z.array(z.object({ id: z.number() })) }),
      arguments: kind === 'quorum' ? { 'x-queue-type': 'quorum' } : {},
    });
    deleteAfterTest(connection, 'queue', name);
    for (const wait of policy.waitQueues(name)) deleteAfterTest(connection, 'queue', wait);
    let calls = 0;
    const consumer = await queue.consume(
      (message) => {
        calls++;
        message.ack();
      },
      { onFailure: policy },
    );
    const invalid: unknown[] = [];
    consumer.on('invalid', (error) => invalid.push(error));
    await send(queue as Queue, { items: [{ id: 'seven' }] });
    const [copy] = await take(dead.queue, 1);
    expect(calls).toBe(0);
    expect(invalid).toHaveLength(1);
    expect(copy?.headers).toMatchObject({
      'x-warren-reason': 'invalid',
      'x-warren-attempt': 1,
      'x-warren-error-name': 'MessageValidationError',
      'x-warren-error-code': 'MESSAGE_INVALID',
      'x-warren-issues': [
        { path: 'items[0].id', code: 'invalid_type', message: expect.stringContaining('number') },
      ],
    });
    expect(await queueCounts(connection, `${name}.retry.30ms`)).toMatchObject({ messageCount: 0 });
    await consumer.cancel();
  });

  it('for await: message.fail() hands the message to the policy and resolves once it is settled', async () => {
    const channel = await openChannel();
    const policy = retry({ delays: [30] });
    const queue = await declare(channel, kind, policy);
    await send(queue, { order: 4 });
    const attempts: number[] = [];
    for await (const message of queue.messages({ onFailure: policy })) {
      attempts.push(message.attempt);
      if (message.attempt === 1) {
        await message.fail(new Error('later'));
        expect(message.settled).toBe(true);
        continue;
      }
      message.ack();
      break;
    }
    expect(attempts).toEqual([1, 2]);
  });
});

describe('message.fail() in a consume() handler', () => {
  it("with settle: 'auto', a fail() the handler did not await is not acked under the policy's feet", async () => {
    const channel = await openChannel();
    const policy = retry({ delays: [30] });
    const queue = await declare(channel, 'classic', policy);
    const attempts: number[] = [];
    const consumer = await queue.consume(
      (message) => {
        attempts.push(message.attempt);
        // Not awaited: the handler returns at once, and auto-settle must leave it to the policy.
        if (message.attempt === 1) void message.fail(new Error('later'));
      },
      { onFailure: policy, settle: 'auto' },
    );
    await send(queue, 'auto');
    await waitFor(() => attempts.length === 2, 5_000, 'the retry');
    expect(attempts).toEqual([1, 2]);
    await consumer.cancel();
    expect(await queueCounts(connection, queue.name)).toMatchObject({ messageCount: 0 });
  });
});

describe('the attempt count', () => {
  it("counts a quorum queue's redeliveries (x-delivery-count); a classic queue's only by redelivered", async () => {
    const channel = await openChannel();
    const results: Record<Kind, [number, boolean, unknown][]> = { classic: [], quorum: [] };
    for (const kind of ['classic', 'quorum'] as const) {
      const queue = await declare(channel, kind);
      await send(queue, 'x');
      for (let i = 0; i < 3; i++) {
        const message = await waitFor(() => queue.get(), 5_000, 'the message');
        results[kind].push([
          message.attempt,
          message.redelivered,
          message.headers['x-delivery-count'],
        ]);
        message.reject({ requeue: true });
      }
    }
    // RabbitMQ 3.10: a quorum queue counts each return in x-delivery-count, 0 at first.
    expect(results.quorum).toEqual([
      [1, false, 0],
      [2, true, 1],
      [3, true, 2],
    ]);
    expect(results.classic).toEqual([
      [1, false, undefined],
      [1, true, undefined],
      [1, true, undefined],
    ]);
  });

  it('a retried copy carries the count in x-warren-attempt, not x-delivery-count', async () => {
    const channel = await openChannel();
    const policy = retry({ delays: [30, 30] });
    const queue = await declare(channel, 'quorum', policy);
    const seen: [number, unknown][] = [];
    const consumer = await queue.consume(
      (message) => {
        // Absent on a consumer's first delivery; basic.get shows 0.
        seen.push([message.attempt, message.headers['x-delivery-count'] ?? 0]);
        // Returned once by hand, then failed: the retry is the third attempt.
        if (seen.length === 1) return message.reject({ requeue: true });
        if (seen.length === 2) throw new Error('fails');
        message.ack();
      },
      { onFailure: policy },
    );
    consumer.on('error', () => {});
    await send(queue, 'y');
    await waitFor(() => seen.length === 3, 5_000, 'the retry');
    expect(seen).toEqual([
      [1, 0],
      [2, 1],
      [3, 0],
    ]);
    await consumer.cancel();
  });
});

describe('what can go wrong on the way', () => {
  it('a wait queue an operator deleted is declared again, once, and the retry happens', async () => {
    const channel = await openChannel();
    const policy = retry({ delays: [30] });
    const queue = await declare(channel, 'classic', policy);
    const { attempts, consumer } = await consumeFailingFirst(queue, policy);
    const wait = `${queue.name}.retry.30ms`;
    await channel.queue(wait).delete({ ifUnused: false, ifEmpty: false });
    expect(await queueExists(connection, wait)).toBe(false);
    await send(queue, 'z');
    await waitFor(() => attempts.length === 2, 5_000, 'the retry');
    expect(attempts).toEqual([1, 2]);
    expect(await queueExists(connection, wait)).toBe(true);
    await consumer.cancel();
  });

  it('a FailureHandler that throws: the default policy settles the message, and a warning says so', async () => {
    const channel = await openChannel();
    const queue = await declare(channel, 'classic');
    let calls = 0;
    const consumer = await queue.consume(
      () => {
        calls++;
        throw new Error('handler failed');
      },
      {
        onFailure: {
          handle() {
            throw new Error('policy failed too');
          },
        },
      },
    );
    consumer.on('error', () => {});
    await send(queue, 'w');
    // 'retry-once': requeued the first time, rejected the second; nothing loops.
    await waitFor(() => calls === 2, 5_000, 'the redelivery');
    await waitFor(
      async () => (await queueCounts(connection, queue.name))?.messageCount === 0,
      5_000,
      'the message rejected',
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(calls).toBe(2);
    const codes = warnings.map((warning) => (warning as Error & { code?: string }).code);
    expect(codes).toEqual(['WARREN_FAILURE_HANDLER_FAILED', 'WARREN_FAILURE_HANDLER_FAILED']);
    expect(warnings[0]?.message).toContain('policy failed too');
    expect(warnings[0]?.message).toContain('requeued');
    await consumer.cancel();
  });

  it('a connection lost while a message waits: the wait queue and the message survive, the retry comes', async () => {
    const name = uniqueName('retries-recovery');
    const own = await connect(url, { connectionName: name });
    try {
      const channel = await own.openChannel();
      const policy = retry({ delays: [1_500] });
      const queue = await declare(channel, 'quorum', policy, {}, connection);
      const { attempts, consumer } = await consumeFailingFirst(queue, policy);
      await send(queue, 'v');
      const wait = `${queue.name}.retry.1500ms`;
      await waitFor(
        async () => (await queueCounts(connection, wait))?.messageCount === 1,
        5_000,
        'the message in its wait queue',
      );
      const recovered = new Promise((resolve) => own.once('recovered', resolve));
      await rabbitmqctl('close_connection', await connectionPid(rabbitmqctl, name), 'test');
      await recovered;
      await waitFor(() => attempts.length === 2, 10_000, 'the retry after recovery');
      expect(attempts).toEqual([1, 2]);
      await consumer.cancel();
    } finally {
      await own.close();
    }
  });
});

describe('options refused before anything reaches the broker', () => {
  const cases: [string, unknown, ErrorConstructor][] = [
    ['a negative delay', { delays: [-1] }, RangeError],
    ['a non-finite delay', { delays: [Number.POSITIVE_INFINITY] }, RangeError],
    ['NaN', { delays: [Number.NaN] }, RangeError],
    ['a fraction of a ms', { delays: [1.5] }, RangeError],
    ['a delay as a string', { delays: ['100'] }, TypeError],
    ['an empty delays list', { delays: [] }, RangeError],
    ['delays not a list', { delays: 100 }, TypeError],
    ['a delay above the TTL limit', { delays: [MAX_DELAY_MS + 1] }, RangeError],
    ['zero attempts', { attempts: 0 }, RangeError],
    ['a multiplier below 1', { multiplier: 0.5 }, RangeError],
    ['max below initial', { initial: 1_000, max: 10 }, RangeError],
    ['delays and the exponential form', { delays: [10], attempts: 3 }, TypeError],
    ['an unknown key', { delays: [10], dealys: [10] }, TypeError],
    ['jitter above 1', { delays: [10], jitter: 2 }, RangeError],
    ['retryIf not a function', { delays: [10], retryIf: true }, TypeError],
    ['deadLetter an unknown name', { delays: [10], deadLetter: 'drop' }, RangeError],
    [
      'deadLetter without an exchange',
      { delays: [10], deadLetter: { routingKey: 'k' } },
      TypeError,
    ],
    [
      'deadLetter to the default exchange',
      { delays: [10], deadLetter: { exchange: '' } },
      RangeError,
    ],
    [
      'too many wait queues',
      { initial: 1, multiplier: 1.01, max: MAX_DELAY_MS, attempts: 1_000 },
      RangeError,
    ],
  ];
  it.each(cases)('%s', (_, options, type) => {
    expect(() => retry(options as RetryOptions)).toThrow(type);
  });

  it("MAX_DELAY_MS is RabbitMQ's longest x-message-ttl: one more is refused by the broker", async () => {
    const channel = await openChannel();
    const name = uniqueName('retries-ttl');
    deleteAfterTest(connection, 'queue', name);
    await channel.declareQueue(name, { arguments: { 'x-message-ttl': MAX_DELAY_MS } });
    const other = await openChannel();
    const refused = await rejectionOf(
      other.declareQueue(uniqueName('retries-ttl'), {
        arguments: { 'x-message-ttl': MAX_DELAY_MS + 1 },
      }),
    );
    expect(refused).toBeInstanceOf(ChannelError);
    expect(refused).toMatchObject({ code: 'PRECONDITION_FAILED' });
  });

  it('a server-named queue is refused by consume(), before basic.consume; the channel stays open', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    const error = await rejectionOf(
      queue.consume(() => {}, { onFailure: retry({ delays: [10] }) }),
    );
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toContain('server-named');
    expect(channel.isOpen).toBe(true);
    expect(await queueCounts(connection, queue.name)).toMatchObject({ consumerCount: 0 });
  });

  it('onFailure objects without handle are a TypeError', async () => {
    const channel = await openChannel();
    const queue = await declare(channel, 'classic');
    await expect(queue.consume(() => {}, { onFailure: {} as never })).rejects.toThrow(TypeError);
    expect(() => queue.messages({ onFailure: { handle: 1 } as never })).toThrow(TypeError);
  });

  it('jitter picks among a few fixed wait queues, never beyond the delay', () => {
    const policy = retry({ delays: [1_000, 4_000], jitter: 0.5 });
    expect(policy.waitDelays).toEqual([500, 667, 833, 1_000, 2_000, 2_667, 3_333, 4_000]);
    expect(RetryPolicy.waitQueueName('orders', 500)).toBe('orders.retry.500ms');
  });
});
