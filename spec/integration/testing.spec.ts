/**
 * warren/testing against RabbitMQ: the helpers a user's test suite gets.
 *
 * - startBroker starts a node that answers AMQP and rabbitmqctl, and stop() leaves no process
 *   and no folder; a stopped node cannot be restarted.
 * - useBroker takes AMQP_URL (or a given URL) and never stops a broker it did not start; it
 *   starts one when told not to reuse 127.0.0.1:5672 and nothing else is named, and stops it.
 *   For a broker on another machine, rabbitmqctl (and so freshVhost) says it cannot help.
 * - freshVhost: a queue in one vhost is not in another; delete() removes the vhost.
 * - waitUntilDrained waits for a worker: with the broker it counts unacknowledged messages
 *   too (the worker still holds one: not drained); it times out with the last counts.
 * - deadLetters says why each message was dead-lettered (by warren's failure policy, by the
 *   broker after a reject) and puts them all back, unless told to remove them.
 * - applyContract declares a contract in a vhost of its own: its publisher's message reaches its
 *   consumer's queue there, nothing of it is in the tests' own vhost, close() removes the vhost.
 * - Bad arguments are TypeErrors and RangeErrors, before anything is sent.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import {
  AmqpError,
  ChannelError,
  type Connection,
  connect,
  deadLetter,
  defineBinding,
  defineConsumer,
  defineContract,
  defineExchange,
  defineMessage,
  definePublisher,
  defineQueue,
  type IncomingMessage,
  Message,
  TimeoutError,
} from '../../lib/index.js';
import {
  applyContract,
  deadLetters,
  freshVhost,
  probeAmqp,
  RabbitmqctlError,
  startBroker,
  type TestBroker,
  TestBrokerError,
  useBroker,
  waitUntilDrained,
} from '../../lib/testing/index.js';
import { testBroker } from '../support/test-broker.js';

const url = inject('amqpUrl');

/** The tests' broker, as a user's test file gets it from its global setup (`useBroker({ url })`). */
let broker: TestBroker;
beforeAll(async () => {
  broker = await testBroker();
});

/** Runs `body` with AMQP_URL set to `value` (unset for undefined), then puts it back. */
async function withAmqpUrl<T>(value: string | undefined, body: () => Promise<T>): Promise<T> {
  const saved = process.env.AMQP_URL;
  if (value === undefined) delete process.env.AMQP_URL;
  else process.env.AMQP_URL = value;
  try {
    return await body();
  } finally {
    if (saved === undefined) delete process.env.AMQP_URL;
    else process.env.AMQP_URL = saved;
  }
}

/** The pids of running processes whose command line or environment names the node. */
function processesOf(nodeName: string): number[] {
  return execFileSync('ps', ['-e', '-ww', 'e', '-o', 'pid=,args='], { encoding: 'utf8' })
    .split('\n')
    .filter((line) => line.includes(`RABBITMQ_NODENAME=${nodeName} `))
    .map((line) => Number(line.trim().split(' ')[0]));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected a rejection');
    },
    (error: unknown) => error,
  );
}

describe('startBroker', () => {
  it('starts a node that speaks AMQP and rabbitmqctl, and stop() leaves nothing', async () => {
    const node = await startBroker();
    let stopped = false;
    try {
      expect(node.source).toBe('started');
      expect(node.url).toBe(`amqp://guest:guest@127.0.0.1:${node.amqpPort}/`);
      expect(await probeAmqp(node.amqpPort)).toBe(true);
      expect(await node.rabbitmqctl('list_vhosts', '--quiet')).toContain('/');
      expect(processesOf(node.nodeName).length).toBeGreaterThan(0);
      expect(existsSync(node.dir)).toBe(true);

      await node.stop();
      stopped = true;
      expect(processesOf(node.nodeName)).toEqual([]);
      expect(existsSync(node.dir)).toBe(false);
      expect(await probeAmqp(node.amqpPort)).toBe(false);
      await node.stop(); // idempotent
      const error = await rejection(node.restart());
      expect(error).toBeInstanceOf(TestBrokerError);
      expect(error).toBeInstanceOf(AmqpError);
      expect((error as TestBrokerError).code).toBe('BROKER_STOPPED');
    } finally {
      if (!stopped) await node.stop();
    }
  });

  it('refuses bad options before starting anything', async () => {
    await expect(startBroker({ amqpPort: 0 })).rejects.toThrow(RangeError);
    await expect(startBroker({ amqpPort: '5672' as unknown as number })).rejects.toThrow(TypeError);
    await expect(startBroker({ startTimeoutMs: -1 })).rejects.toThrow(RangeError);
    await expect(startBroker({ nodeName: 'two words' })).rejects.toThrow(RangeError);
    await expect(startBroker({ plugins: ['Bad-Name'] })).rejects.toThrow(TypeError);
  });
});

describe('useBroker', () => {
  it('takes AMQP_URL, and stop() leaves that broker running', async () => {
    const found = await withAmqpUrl(url, () => useBroker());
    expect(found.source).toBe('AMQP_URL');
    expect(found.url).toBe(url);
    expect(found.description).not.toContain(':guest@');
    await found.stop();
    const { port } = new URL(url);
    expect(await probeAmqp(Number(port || 5672), new URL(url).hostname)).toBe(true);
  });

  it('takes a given URL before AMQP_URL', async () => {
    const given = await withAmqpUrl('amqp://elsewhere.invalid/', () => useBroker({ url }));
    expect(given.source).toBe('given');
    expect(given.url).toBe(url);
  });

  it('starts a node when nothing is named and 5672 is not to be reused, and stops it', async () => {
    const started = await withAmqpUrl(undefined, () => useBroker({ reuseLocal: false }));
    try {
      expect(started.source).toBe('started');
      expect(started.description).toMatch(/^started RabbitMQ node /);
      const connection = await connect(started.url);
      await connection.close();
    } finally {
      await started.stop();
    }
    expect(processesOf(started.nodeName as string)).toEqual([]);
    expect(await probeAmqp(Number(new URL(started.url).port))).toBe(false);
  });

  it('says that rabbitmqctl cannot reach a broker on another machine', async () => {
    const remote = await withAmqpUrl('amqp://user:secret@rabbit.example.com:5672/', () =>
      useBroker(),
    );
    expect(remote.source).toBe('AMQP_URL');
    expect(remote.description).not.toContain('secret');
    for (const attempt of [remote.rabbitmqctl('list_vhosts'), freshVhost(remote)]) {
      const error = await rejection(attempt);
      expect(error).toBeInstanceOf(TestBrokerError);
      expect((error as TestBrokerError).code).toBe('RABBITMQCTL_UNAVAILABLE');
      expect((error as Error).message).toMatch(/rabbit\.example\.com, another machine/);
      expect((error as Error).message).not.toContain('secret');
    }
  });

  it('refuses bad options', async () => {
    await expect(useBroker({ url: 'http://localhost/' })).rejects.toThrow(RangeError);
    await expect(useBroker({ url: 42 as unknown as string })).rejects.toThrow(TypeError);
    await expect(useBroker({ reuseLocal: 'no' as unknown as boolean })).rejects.toThrow(TypeError);
    await expect(withAmqpUrl('not a url', () => useBroker())).rejects.toThrow(RangeError);
  });
});

describe('freshVhost', () => {
  it('isolates: a queue in one vhost is not in another; delete() removes the vhost', async () => {
    const one = await freshVhost(broker);
    const other = await freshVhost(broker, { prefix: 'isolation' });
    expect(one.name).not.toBe(other.name);
    expect(other.name).toMatch(/^isolation-[0-9a-f]{12}$/);
    const first = await connect(one.url);
    const second = await connect(other.url);
    try {
      const channel = await first.openChannel();
      await channel.declareQueue('jobs');
      await channel.close();
      const probe = await second.openChannel();
      const error = await rejection(probe.declareQueue('jobs', { passive: true }));
      expect(error).toBeInstanceOf(ChannelError);
      expect((error as ChannelError).code).toBe('NOT_FOUND');
    } finally {
      await first.close().catch(() => undefined);
      await second.close();
    }
    await one.delete();
    await one.delete(); // idempotent
    expect((await broker.rabbitmqctl('list_vhosts', '--quiet')).split('\n')).not.toContain(
      one.name,
    );
    const refused = await rejection(connect(one.url, { recovery: false }));
    expect(refused).toBeInstanceOf(AmqpError);
    await other.delete();
  });

  it('refuses what is not a broker, and a prefix a vhost name should not hold', async () => {
    await expect(freshVhost({} as TestBroker)).rejects.toThrow(TypeError);
    await expect(freshVhost(broker, { prefix: 'a b/c' })).rejects.toThrow(RangeError);
  });

  it('reports a failing rabbitmqctl as a RabbitmqctlError', async () => {
    const error = await rejection(broker.rabbitmqctl('delete_vhost', 'no-such-vhost-of-warren'));
    expect(error).toBeInstanceOf(RabbitmqctlError);
    expect((error as RabbitmqctlError).code).toBe('RABBITMQCTL_FAILED');
    expect((error as RabbitmqctlError).exitCode).not.toBe(0);
  });
});

describe('applyContract', () => {
  const created = defineMessage('order.created', z.object({ id: z.number() }));
  const orders = defineExchange('orders', 'direct');
  const work = defineQueue('orders.work');
  const shop = defineContract({
    exchanges: { orders },
    queues: { work },
    bindings: [defineBinding(work, orders, 'created')],
    publishers: { orderCreated: definePublisher(orders, 'created', created) },
    consumers: { shipOrders: defineConsumer(work, created) },
  });

  it('declares the contract in a vhost of its own, and close() removes it', async () => {
    const applied = await applyContract(broker, shop, { prefix: 'contract' });
    expect(applied.vhost.name).toMatch(/^contract-[0-9a-f]{12}$/);
    const { publishers, consumers } = applied.applied;
    await publishers.orderCreated.publish({ id: 7 });
    const got = new Promise<number>((resolve) => {
      void consumers.shipOrders.consume((message) => resolve(message.data.id), {
        settle: 'auto',
      });
    });
    expect(await got).toBe(7);
    // Nothing of it in the tests' own vhost.
    const outside = await connect(url);
    try {
      const channel = await outside.openChannel();
      const error = await rejection(channel.declareQueue('orders.work', { passive: true }));
      expect((error as ChannelError).code).toBe('NOT_FOUND');
    } finally {
      await outside.close();
    }
    await applied.close();
    await applied.close(); // idempotent
    expect(applied.connection.isOpen).toBe(false);
    expect((await broker.rabbitmqctl('list_vhosts', '--quiet')).split('\n')).not.toContain(
      applied.vhost.name,
    );
  });

  it('refuses what is not a contract, before making a vhost', async () => {
    await expect(applyContract(broker, {} as typeof shop)).rejects.toThrow(TypeError);
  });
});

describe('waiting for a worker, and reading its dead letters', () => {
  let vhost: Awaited<ReturnType<typeof freshVhost>>;
  let connection: Connection;
  beforeAll(async () => {
    vhost = await freshVhost(broker);
    connection = await connect(vhost.url);
  });
  afterAll(async () => {
    await connection?.close();
    await vhost?.delete();
  });

  it('waitUntilDrained waits until the worker has acked its last message', async () => {
    const channel = await connection.openChannel({ confirm: true });
    const queue = await channel.declareQueue('drained.jobs');
    let release = (): void => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    const handled: number[] = [];
    await queue.consume(
      async (message: IncomingMessage) => {
        const n = message.json() as number;
        if (n === 4) await gate; // the worker is busy with the last one
        handled.push(n);
      },
      { settle: 'auto', prefetch: 10 },
    );
    for (let n = 0; n < 5; n++) await channel.exchange('').publish(new Message(n), queue.name);

    // AMQP alone sees no ready message once all are delivered...
    const seen = await waitUntilDrained(channel, queue.name);
    expect(seen.ready).toBe(0);
    expect(seen.unacked).toBeUndefined();
    // ...the broker's count sees the one the worker holds.
    const busy = await rejection(
      waitUntilDrained(connection, queue.name, { broker: vhost, timeoutMs: 1_500 }),
    );
    expect(busy).toBeInstanceOf(TimeoutError);
    expect((busy as Error).message).toMatch(/0 ready, 1 unacknowledged, 1 consumer\b/);

    release();
    const done = await waitUntilDrained(connection, queue.name, { broker: vhost });
    expect(done).toEqual({ ready: 0, unacked: 0, consumers: 1 });
    expect(handled.sort()).toEqual([0, 1, 2, 3, 4]);
    await channel.close();
  });

  it('waitUntilDrained times out, saying what is left, when nobody consumes', async () => {
    const channel = await connection.openChannel({ confirm: true });
    const queue = await channel.declareQueue('drained.idle');
    for (let n = 0; n < 3; n++) await channel.exchange('').publish(new Message(n), queue.name);
    const error = await rejection(waitUntilDrained(connection, queue.name, { timeoutMs: 300 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect((error as TimeoutError).code).toBe('TIMEOUT');
    expect((error as Error).message).toBe(
      "queue 'drained.idle' was not drained within 300 ms: last seen 3 ready, 0 consumers",
    );
    const missing = await rejection(waitUntilDrained(connection, 'drained.none'));
    expect((missing as ChannelError).code).toBe('NOT_FOUND');
    await channel.close();
  });

  it('deadLetters says why warren and the broker dead-lettered, and loses nothing', async () => {
    const channel = await connection.openChannel({ confirm: true });
    const dlx = await channel.declareExchange('jobs.dead', 'fanout');
    const dlq = await channel.declareQueue('jobs.dead');
    await dlq.bind(dlx);
    const jobs = await channel.declareQueue('jobs', {
      arguments: { 'x-dead-letter-exchange': 'jobs.dead' },
    });
    const worker = await jobs.consume(
      async (message: IncomingMessage) => {
        const job = message.json() as { id: number; action: string };
        if (job.action === 'fail') throw new RangeError(`job ${job.id} cannot be done`);
        if (job.action === 'reject') message.reject({ requeue: false });
      },
      { settle: 'auto', onFailure: deadLetter() },
    );
    const failures: unknown[] = [];
    worker.on('error', (error) => failures.push(error));
    const publish = (id: number, action: string) =>
      channel.exchange('').publish(new Message({ id, action }), 'jobs');
    await publish(1, 'fail');
    await publish(2, 'reject');
    await publish(3, 'do');
    await waitUntilDrained(connection, 'jobs', { broker: vhost });
    await waitUntilDrainedTo(2, 'jobs.dead');

    expect(failures).toEqual([new RangeError('job 1 cannot be done')]);
    const letters = await deadLetters(connection, 'jobs.dead');
    const byId = new Map(
      letters.map((letter) => [(letter.message.json() as { id: number }).id, letter]),
    );
    expect([...byId.keys()].sort()).toEqual([1, 2]);
    const failed = byId.get(1);
    expect(failed?.by).toBe('warren');
    expect(failed?.reason).toBe('policy');
    expect(failed?.queue).toBe('jobs');
    expect(failed?.attempt).toBe(1);
    expect(failed?.error).toEqual({
      name: 'RangeError',
      code: undefined,
      message: 'job 1 cannot be done',
      issues: [],
    });
    const rejected = byId.get(2);
    expect(rejected?.by).toBe('broker');
    expect(rejected?.reason).toBe('rejected');
    expect(rejected?.queue).toBe('jobs');
    expect(rejected?.error).toBeUndefined();
    expect(rejected?.deaths).toEqual([
      expect.objectContaining({
        queue: 'jobs',
        reason: 'rejected',
        count: 1,
        routingKeys: ['jobs'],
      }),
    ]);

    // Read again: the same two, in the same order; then taken off the queue.
    const again = await deadLetters(channel, 'jobs.dead');
    expect(again.map((letter) => letter.message.text())).toEqual(
      letters.map((letter) => letter.message.text()),
    );
    expect((await deadLetters(connection, 'jobs.dead', { limit: 1 })).length).toBe(1);
    expect((await deadLetters(connection, 'jobs.dead', { remove: true })).length).toBe(2);
    expect(await deadLetters(connection, 'jobs.dead')).toEqual([]);
    await channel.close();

    /** Waits until `queueName` holds `count` ready messages. */
    async function waitUntilDrainedTo(count: number, queueName: string): Promise<void> {
      for (let tries = 0; tries < 200; tries++) {
        const probe = await connection.openChannel();
        const held = (await probe.declareQueue(queueName, { passive: true })).declared;
        await probe.close();
        if (held?.messageCount === count) return;
        await new Promise((resolve) => setTimeout(resolve, 25));
      }
      throw new Error(`${queueName} never held ${count} messages`);
    }
  });

  it('refuses bad arguments before anything is sent', async () => {
    await expect(waitUntilDrained({} as Connection, 'jobs')).rejects.toThrow(TypeError);
    await expect(waitUntilDrained(connection, '')).rejects.toThrow(RangeError);
    await expect(waitUntilDrained(connection, 'jobs', { timeoutMs: 0 })).rejects.toThrow(
      RangeError,
    );
    await expect(
      waitUntilDrained(connection, 'jobs', { intervalMs: '5' as unknown as number }),
    ).rejects.toThrow(TypeError);
    await expect(deadLetters(connection, 42 as unknown as string)).rejects.toThrow(TypeError);
    await expect(deadLetters(connection, 'jobs.dead', { limit: 0 })).rejects.toThrow(RangeError);
  });
});
