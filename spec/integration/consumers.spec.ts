/**
 * Consumers against RabbitMQ, beyond the basics of entities-consume: async
 * handlers one at a time (in order) or `concurrency` at a time, `settle:
 * 'auto'`, the failure policies (`retry-once` with a dead-letter exchange,
 * `requeue`, `dead-letter`, a function), handler errors that never stop a
 * consumer nor escape the process, graceful `cancel()` / `channel.close()` /
 * `connection.close()` that wait for running handlers and requeue what was
 * received but not started, `for await` over `queue.messages()` with its
 * backpressure and its ways out, and an `AbortSignal` on every awaitable
 * operation (already aborted: nothing happens on the broker; aborted in
 * flight: the channel stays usable). Every check is of what the broker
 * reports: ready messages and consumers by passive declare
 * (`queueCounts`), unacknowledged messages by `rabbitmqctl list_queues`,
 * what is left in a queue or its dead-letter queue, what a second channel
 * or connection sees. Each test also asserts that no unhandled rejection
 * or uncaught exception happened while it ran.
 */
import { afterEach, beforeEach, describe, expect, inject, it, onTestFinished } from 'vitest';
import {
  AbortError,
  AmqpError,
  type Channel,
  type Connection,
  connect,
  type FieldTable,
  type IncomingMessage,
  type Queue,
  TimeoutError,
} from '../../lib/index.js';
import {
  collect,
  deleteAfterTest,
  exchangeExists,
  queueCounts,
  queueExists,
  route,
  uniqueName,
  useConnection,
  waitFor,
} from '../support/amqp-helpers.js';
import { rejectionOf, sleep, watch, within } from '../support/fault-helpers.js';
import { callSite, siteBelow } from '../support/stack.js';
import { rabbitmqctl } from '../support/test-broker.js';

const url = inject('amqpUrl');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

// ---------------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------------

/** What the process reported while a test ran: unhandled rejections, uncaught exceptions, warnings. */
interface ProcessEvents {
  readonly unhandled: unknown[];
  readonly uncaught: unknown[];
  readonly warnings: (Error & { code?: string })[];
}

let processEvents: ProcessEvents;
let stopListening: () => void;

beforeEach(() => {
  const events: ProcessEvents = { unhandled: [], uncaught: [], warnings: [] };
  const onRejection = (reason: unknown) => events.unhandled.push(reason);
  const onException = (error: unknown) => events.uncaught.push(error);
  const onWarning = (warning: Error) => events.warnings.push(warning);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  process.on('warning', onWarning);
  processEvents = events;
  stopListening = () => {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    process.off('warning', onWarning);
  };
});

afterEach(async () => {
  // Let a late rejection (a confirm or reply arriving after an abort) surface first.
  await sleep(20);
  stopListening();
  expect(processEvents.unhandled, 'unhandled rejections').toEqual([]);
  expect(processEvents.uncaught, 'uncaught exceptions').toEqual([]);
});

/** The codes of the warnings the process emitted during the test so far. */
async function warningCodes(): Promise<(string | undefined)[]> {
  // process.emitWarning emits on the next tick.
  await new Promise((resolve) => setImmediate(resolve));
  return processEvents.warnings.map((warning) => warning.code);
}

/**
 * An exclusive queue (named, so that every channel of the connection
 * reaches it) holding `bodies`, published and confirmed on a channel of
 * their own; and a publish function for more.
 */
async function queueWith(
  channel: Channel,
  bodies: string[],
  options: { arguments?: FieldTable } = {},
): Promise<{ queue: Queue; publish(...more: string[]): Promise<void> }> {
  const queue = await channel.declareQueue(uniqueName('consumers'), {
    exclusive: true,
    arguments: options.arguments ?? {},
  });
  const publisher = await openChannel(true);
  const publish = async (...more: string[]) => {
    await Promise.all(more.map((body) => publisher.exchange('').publish(body, queue.name)));
  };
  await publish(...bodies);
  return { queue, publish };
}

/** A work queue whose rejected messages go, through a fanout exchange, to an exclusive DLQ. */
async function queueWithDeadLetters(
  channel: Channel,
  bodies: string[],
): Promise<{ queue: Queue; dlq: Queue }> {
  const dlxName = uniqueName('consumers-dlx');
  deleteAfterTest(connection, 'exchange', dlxName);
  const dlx = await channel.declareExchange(dlxName, 'fanout');
  const dlq = await channel.declareQueue(uniqueName('consumers-dlq'), { exclusive: true });
  await dlq.bind(dlx);
  const { queue } = await queueWith(channel, bodies, {
    arguments: { 'x-dead-letter-exchange': dlxName },
  });
  return { queue, dlq };
}

/** Ready messages and consumers of `queue`, as the broker reports them (passive declare). */
async function counts(queue: Queue | string) {
  return queueCounts(connection, typeof queue === 'string' ? queue : queue.name);
}

/** Waits until the broker reports exactly `ready` ready messages in `queue`. */
async function readyIn(queue: Queue, ready: number): Promise<void> {
  let last: unknown;
  await waitFor(
    async () => {
      last = await counts(queue);
      return (last as { messageCount: number } | null)?.messageCount === ready;
    },
    5_000,
    `${ready} ready in ${queue.name} (last: ${JSON.stringify(last)})`,
  );
}

/** Waits until the broker reports no consumer on `queue`. */
async function noConsumerOn(queue: Queue): Promise<void> {
  await waitFor(
    async () => (await counts(queue))?.consumerCount === 0,
    5_000,
    `no consumer on ${queue.name}`,
  );
}

/** Ready and unacknowledged messages of `queue`, from `rabbitmqctl list_queues`. */
async function brokerStats(queue: Queue): Promise<{ ready: number; unacked: number }> {
  const listing = await rabbitmqctl(
    '-q',
    '--no-table-headers',
    'list_queues',
    'name',
    'messages_ready',
    'messages_unacknowledged',
  );
  const row = listing
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .find(([name]) => name === queue.name);
  if (row === undefined) throw new Error(`queue ${queue.name} not in:\n${listing}`);
  return { ready: Number(row[1]), unacked: Number(row[2]) };
}

/** A promise to open by hand: `opened` resolves once `open()` is called. */
function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return { opened, open };
}

/** A random pause of 0 to `max` ms. */
const jitter = (max = 5) => sleep(Math.floor(Math.random() * (max + 1)));

const numbered = (n: number, prefix = 'm') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);

/** Asserts `promise` rejects with warren's AbortError (code ABORTED); returns it. */
async function expectAborted(promise: Promise<unknown>): Promise<AbortError> {
  const error = await rejectionOf(promise);
  expect(error).toBeInstanceOf(AbortError);
  expect(error).toMatchObject({ code: 'ABORTED' });
  return error as AbortError;
}

/** A signal that is aborted already. */
const aborted = () => AbortSignal.abort(new Error('the caller gave up'));

// ---------------------------------------------------------------------------------------------
// Async handlers and concurrency
// ---------------------------------------------------------------------------------------------

describe('async handlers and concurrency', () => {
  it('concurrency 1 (the default): each message starts only after the previous handler resolved, in publish order', async () => {
    const channel = await openChannel();
    const bodies = numbered(20);
    const { queue } = await queueWith(channel, bodies);
    const events: string[] = [];
    // No prefetch limit: the broker sends all 20 at once, and the consumer alone keeps them in line.
    const consumer = await queue.consume(async (message) => {
      events.push(`start ${message.text()}`);
      await jitter();
      events.push(`end ${message.text()}`);
      message.ack();
    });
    expect(consumer.concurrency).toBe(1);
    await waitFor(() => events.length === 40, 10_000, '20 handled messages');
    expect(events).toEqual(bodies.flatMap((body) => [`start ${body}`, `end ${body}`]));

    await consumer.cancel();
    await channel.close(); // would requeue anything unacked
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('concurrency 8 with prefetch 20: exactly 8 handlers at most run at once; all 200 are handled and acked', async () => {
    const channel = await openChannel();
    const bodies = numbered(200);
    const { queue } = await queueWith(channel, bodies);
    let running = 0;
    let maxRunning = 0;
    const handled = new Set<string>();
    const consumer = await queue.consume(
      async (message) => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await jitter(8);
        running--;
        handled.add(message.text());
      },
      { prefetch: 20, concurrency: 8, settle: 'auto' },
    );
    expect(consumer.concurrency).toBe(8);
    await waitFor(() => handled.size === 200, 20_000, '200 handled messages');
    expect(maxRunning).toBe(8);
    expect([...handled].sort()).toEqual([...bodies].sort());

    await consumer.cancel();
    expect(consumer.active).toBe(0);
    await channel.close(); // would requeue anything unacked
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// settle: 'auto'
// ---------------------------------------------------------------------------------------------

describe("settle: 'auto'", () => {
  it('acks each message when its handler resolves', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, numbered(5));
    const handled: string[] = [];
    const consumer = await queue.consume(
      async (message) => {
        await jitter();
        handled.push(message.text());
      },
      { settle: 'auto', prefetch: 5 },
    );
    await waitFor(() => handled.length === 5, 5_000, '5 handled messages');
    expect(handled).toEqual(numbered(5));
    await consumer.cancel();
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
    await channel.close(); // would requeue anything unacked
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('does not settle again a message the handler settled itself (nack with requeue, ack)', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, ['nack-me', 'ack-me']);
    const deliveries: { text: string; redelivered: boolean }[] = [];
    const errors: unknown[] = [];
    const consumer = await queue.consume(
      async (message) => {
        deliveries.push({ text: message.text(), redelivered: message.redelivered });
        if (message.text() === 'nack-me' && !message.redelivered) {
          message.nack({ requeue: true });
          return;
        }
        if (message.text() === 'ack-me') {
          await jitter();
          message.ack();
        }
        // The redelivered 'nack-me' is left to auto-settle.
      },
      { settle: 'auto' },
    );
    consumer.on('error', (error) => errors.push(error));
    await waitFor(() => deliveries.length === 3, 5_000, '3 deliveries');
    expect(deliveries).toEqual(
      expect.arrayContaining([
        { text: 'nack-me', redelivered: false },
        { text: 'ack-me', redelivered: false },
        { text: 'nack-me', redelivered: true },
      ]),
    );
    // A second ack of a delivery tag would make the broker close the channel (406): a round
    // trip on the channel proves it did not.
    await queue.purge();
    expect(channel.isOpen).toBe(true);
    expect(errors).toEqual([]);
    expect(await warningCodes()).not.toContain('WARREN_SETTLE_FAILED');
    await consumer.cancel();
    await channel.close(); // would requeue anything unacked
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// Failure policies
// ---------------------------------------------------------------------------------------------

describe('failure policy (onFailure)', () => {
  it("'retry-once' (the default, in manual mode): a poison message is delivered twice, then dead-lettered", async () => {
    const channel = await openChannel();
    const { queue, dlq } = await queueWithDeadLetters(channel, ['poison']);
    const deliveries: boolean[] = [];
    const errors: unknown[] = [];
    // Manual settle (the default): the handler throws without settling.
    const consumer = await queue.consume((message) => {
      deliveries.push(message.redelivered);
      throw new Error('cannot handle this');
    });
    consumer.on('error', (error) => errors.push(error));

    await readyIn(dlq, 1);
    expect(deliveries).toEqual([false, true]);
    expect(errors).toHaveLength(2);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
    const dead = await dlq.get({ noAck: true });
    expect(dead?.text()).toBe('poison');
    const deaths = dead?.headers['x-death'] as FieldTable[] | undefined;
    expect(deaths?.[0]).toMatchObject({ queue: queue.name, reason: 'rejected', count: 1 });
    expect(deliveries).toHaveLength(2); // and no third delivery
    await consumer.cancel();
  });

  it("'requeue' redelivers a failing message again and again until the consumer stops", async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, ['poison']);
    const deliveries: boolean[] = [];
    let errors = 0;
    const consumer = await queue.consume(
      () => {
        deliveries.push(false);
        throw new Error('still failing');
      },
      { settle: 'auto', onFailure: 'requeue' },
    );
    consumer.on('error', () => errors++);
    await waitFor(() => deliveries.length >= 3, 5_000, '3 deliveries');
    await consumer.cancel();
    const seen = deliveries.length;
    expect(errors).toBe(seen);
    // Back in the queue, not lost, and the stopped consumer receives it no more.
    await readyIn(queue, 1);
    expect(await counts(queue)).toEqual({ messageCount: 1, consumerCount: 0 });
    expect(deliveries).toHaveLength(seen);
  });

  it("'dead-letter' dead-letters on the first failure", async () => {
    const channel = await openChannel();
    const { queue, dlq } = await queueWithDeadLetters(channel, ['poison', 'fine']);
    const deliveries: string[] = [];
    const consumer = await queue.consume(
      async (message) => {
        deliveries.push(message.text());
        await jitter();
        if (message.text() === 'poison') throw new Error('poison');
      },
      { settle: 'auto', onFailure: 'dead-letter' },
    );
    consumer.on('error', () => {});
    await readyIn(dlq, 1);
    await waitFor(() => deliveries.length === 2);
    expect(deliveries).toEqual(['poison', 'fine']);
    const dead = await dlq.get({ noAck: true });
    expect(dead?.text()).toBe('poison');
    expect((dead?.headers['x-death'] as FieldTable[] | undefined)?.[0]).toMatchObject({
      queue: queue.name,
      reason: 'rejected',
    });
    await consumer.cancel();
    await channel.close(); // would requeue anything unacked
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('a function policy receives the error and the message, and its choice is applied', async () => {
    const channel = await openChannel();
    const { queue, dlq } = await queueWithDeadLetters(channel, ['poison']);
    const thrown: Error[] = [];
    const calls: { error: unknown; text: string; redelivered: boolean }[] = [];
    const consumer = await queue.consume(
      () => {
        const error = new Error(`failure ${thrown.length}`);
        thrown.push(error);
        throw error;
      },
      {
        settle: 'auto',
        onFailure: (error, message) => {
          calls.push({ error, text: message.text(), redelivered: message.redelivered });
          return message.redelivered ? 'dead-letter' : 'requeue';
        },
      },
    );
    consumer.on('error', () => {});
    await readyIn(dlq, 1);
    expect(calls).toEqual([
      { error: thrown[0], text: 'poison', redelivered: false },
      { error: thrown[1], text: 'poison', redelivered: true },
    ]);
    expect(calls[0]?.error).toBe(thrown[0]);
    expect((await dlq.get({ noAck: true }))?.text()).toBe('poison');
    await consumer.cancel();
  });

  it('a manual handler that settled its message and then threw: the message is not settled again', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, ['acked-then-thrown', 'next']);
    const errors: [unknown, string][] = [];
    const handled: string[] = [];
    const consumer = await queue.consume(async (message) => {
      message.ack();
      handled.push(message.text());
      if (message.text() === 'acked-then-thrown') throw new Error('after the ack');
    });
    consumer.on('error', (error, message) => errors.push([error, message.text()]));
    await waitFor(() => handled.length === 2);
    await queue.purge(); // a round trip: a second settle of the tag would have closed the channel
    expect(channel.isOpen).toBe(true);
    expect(errors).toEqual([[new Error('after the ack'), 'acked-then-thrown']]);
    expect(await warningCodes()).not.toContain('WARREN_SETTLE_FAILED');
    await consumer.cancel();
    await channel.close();
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// Handler errors
// ---------------------------------------------------------------------------------------------

describe('handler errors', () => {
  it("sync throws and async rejections become 'error' events with the message; the consumer goes on", async () => {
    const channel = await openChannel();
    const bodies = ['ok0', 'sync-throw', 'ok1', 'async-throw', 'ok2'];
    const { queue } = await queueWith(channel, bodies);
    const syncError = new Error('sync failure');
    const asyncError = new Error('async failure');
    const handled: string[] = [];
    const errors: [unknown, string][] = [];
    const consumer = await queue.consume(
      (message): void | Promise<void> => {
        if (message.text() === 'sync-throw') throw syncError;
        if (message.text() === 'async-throw') {
          return sleep(2).then(() => {
            throw asyncError;
          });
        }
        handled.push(message.text());
      },
      { settle: 'auto', onFailure: 'dead-letter' },
    );
    consumer.on('error', (error, message) => errors.push([error, message.text()]));

    await waitFor(() => handled.length === 3 && errors.length === 2);
    expect(handled).toEqual(['ok0', 'ok1', 'ok2']);
    expect(errors).toHaveLength(2);
    expect(errors[0]?.[0]).toBe(syncError);
    expect(errors[0]?.[1]).toBe('sync-throw');
    expect(errors[1]?.[0]).toBe(asyncError);
    expect(errors[1]?.[1]).toBe('async-throw');
    expect(consumer.cancelled).toBe(false);
    expect(await warningCodes()).not.toContain('WARREN_CONSUMER_ERROR');

    // Still consuming: a message published now is handled too.
    const publisher = await openChannel(true);
    await publisher.exchange('').publish('later', queue.name);
    await waitFor(() => handled.length === 4);
    expect(handled[3]).toBe('later');
    // The process saw no unhandled rejection nor uncaught exception (asserted after each test).
    expect(processEvents.unhandled).toEqual([]);
    expect(processEvents.uncaught).toEqual([]);
    await consumer.cancel();
    await channel.close();
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it("without an 'error' listener, a process warning WARREN_CONSUMER_ERROR reports the failure", async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, ['fails', 'works']);
    const handled: string[] = [];
    const consumer = await queue.consume(
      async (message) => {
        if (message.text() === 'fails') throw new Error('nobody listens to me');
        handled.push(message.text());
      },
      { settle: 'auto', onFailure: 'dead-letter' },
    );
    await waitFor(() => handled.length === 1);
    expect(handled).toEqual(['works']);
    await waitFor(async () => (await warningCodes()).includes('WARREN_CONSUMER_ERROR'));
    const warning = processEvents.warnings.find((w) => w.code === 'WARREN_CONSUMER_ERROR');
    expect(warning?.message).toContain('nobody listens to me');
    expect(warning?.message).toContain(consumer.tag);
    expect(consumer.cancelled).toBe(false);
    await consumer.cancel();
    await channel.close();
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// Graceful cancel and close
// ---------------------------------------------------------------------------------------------

describe('graceful cancel and close', () => {
  it('consumer.cancel() resolves only after the running handlers have finished', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, numbered(3));
    const release = gate();
    const events: string[] = [];
    const consumer = await queue.consume(
      async (message) => {
        events.push(`start ${message.text()}`);
        await release.opened;
        message.ack();
        events.push(`end ${message.text()}`);
      },
      { prefetch: 3, concurrency: 3 },
    );
    await waitFor(() => events.length === 3);
    const cancelling = watch(consumer.cancel().then(() => events.push('cancel resolved')));
    await noConsumerOn(queue); // the broker has cancelled it; the handlers still run
    expect(cancelling.settled).toBe(false);
    expect(consumer.cancelled).toBe(true);
    release.open();
    expect((await cancelling.result).status).toBe('fulfilled');
    expect(events.slice(3)).toEqual(['end m0', 'end m1', 'end m2', 'cancel resolved']);
    // The acks made after cancel reached the broker: closing the channel requeues nothing.
    await channel.close();
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('messages received but not started go back to the queue; nothing is lost', async () => {
    const channel = await openChannel();
    const published = 10;
    const { queue } = await queueWith(channel, numbered(published));
    const release = gate();
    const handled: string[] = [];
    const consumer = await queue.consume(
      async (message) => {
        await release.opened;
        message.ack();
        handled.push(message.text());
      },
      { prefetch: 10, concurrency: 1 },
    );
    // All 10 are delivered (none ready); the handler holds the first.
    await readyIn(queue, 0);
    const cancelling = consumer.cancel();
    release.open();
    await cancelling;
    expect(handled).toEqual(['m0']);
    // The channel is still open: the 9 are back because the consumer gave them back.
    expect(channel.isOpen).toBe(true);
    await readyIn(queue, published - handled.length);
    expect(await brokerStats(queue)).toEqual({ ready: 9, unacked: 0 });
    expect(await counts(queue)).toEqual({ messageCount: 9, consumerCount: 0 });
    const back = await collect(queue, { noAck: true });
    expect((await back.waitForCount(9)).map((m) => m.text())).toEqual(numbered(10).slice(1));
  });

  it('cancel({ timeout }) rejects with TimeoutError when a handler runs longer; the consumer is cancelled all the same', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, ['slow']);
    const started = gate();
    let finished = false;
    const consumer = await queue.consume(async (message) => {
      started.open();
      await sleep(1_000);
      message.ack();
      finished = true;
    });
    await started.opened;
    const site = siteBelow(callSite());
    const error = await rejectionOf(consumer.cancel({ timeout: 50 }));
    expect(error).toBeInstanceOf(TimeoutError);
    expect(error).toMatchObject({ code: 'TIMEOUT' });
    // Its stack leads to the cancel, not to the timer that fired.
    expect((error as Error).stack).toContain(`${site}:`);
    expect(finished).toBe(false);
    expect(consumer.cancelled).toBe(true);
    await noConsumerOn(queue);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
    // The handler still finishes, and its ack still counts.
    await waitFor(() => finished, 5_000, 'the slow handler');
    await consumer.cancel(); // idempotent, and now idle
    await channel.close();
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('cancel({ signal }) rejects with AbortError when the signal aborts; the consumer is cancelled all the same', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, ['held']);
    const release = gate();
    const started = gate();
    const consumer = await queue.consume(async (message) => {
      started.open();
      await release.opened;
      message.ack();
    });
    await started.opened;
    const controller = new AbortController();
    const cancelling = consumer.cancel({ signal: controller.signal });
    await noConsumerOn(queue);
    controller.abort(new Error('stop waiting'));
    const error = await expectAborted(cancelling);
    expect(error.cause).toEqual(new Error('stop waiting'));
    expect(consumer.cancelled).toBe(true);
    release.open();
    await consumer.cancel();
    await channel.close();
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('connection.close() waits for running handlers, and their acks reach the broker', async () => {
    const other = await connect(url);
    onTestFinished(() => other.close());
    const name = uniqueName('consumers-close');
    deleteAfterTest(connection, 'queue', name);
    const channel = await other.openChannel();
    const queue = await channel.declareQueue(name);
    const publisher = await openChannel(true);
    await Promise.all(numbered(3).map((body) => publisher.exchange('').publish(body, name)));

    const release = gate();
    const events: string[] = [];
    await queue.consume(
      async (message) => {
        events.push(`start ${message.text()}`);
        await release.opened;
        await jitter();
        message.ack();
        events.push(`acked ${message.text()}`);
      },
      { prefetch: 3, concurrency: 3 },
    );
    await waitFor(() => events.length === 3);
    const closing = watch(other.close().then(() => events.push('closed')));
    await waitFor(async () => (await counts(name))?.consumerCount === 0);
    expect(closing.settled).toBe(false);
    expect(other.isOpen).toBe(true);
    release.open();
    expect((await closing.result).status).toBe('fulfilled');
    expect(events.slice(3).sort()).toEqual(['acked m0', 'acked m1', 'acked m2', 'closed']);
    expect(events.at(-1)).toBe('closed');
    // Checked from the other connection: unacked messages would have been requeued.
    expect(await counts(name)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('channel.close() waits for running handlers, and their acks reach the broker', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, numbered(3));
    const release = gate();
    const events: string[] = [];
    await queue.consume(
      async (message) => {
        events.push(`start ${message.text()}`);
        await release.opened;
        await jitter();
        message.ack();
        events.push(`acked ${message.text()}`);
      },
      { prefetch: 3, concurrency: 3 },
    );
    await waitFor(() => events.length === 3);
    const closing = watch(channel.close().then(() => events.push('closed')));
    await noConsumerOn(queue);
    expect(closing.settled).toBe(false);
    expect(channel.isOpen).toBe(true);
    release.open();
    expect((await closing.result).status).toBe('fulfilled');
    expect(channel.isOpen).toBe(false);
    expect(events.slice(3).sort()).toEqual(['acked m0', 'acked m1', 'acked m2', 'closed']);
    expect(events.at(-1)).toBe('closed');
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// Async iteration
// ---------------------------------------------------------------------------------------------

describe('for await over queue.messages()', () => {
  it('receives the messages in order', async () => {
    const channel = await openChannel();
    const bodies = numbered(12);
    const { queue } = await queueWith(channel, bodies);
    const received: string[] = [];
    for await (const message of queue.messages({ prefetch: 5 })) {
      received.push(message.text());
      message.ack();
      if (received.length === bodies.length) break;
    }
    expect(received).toEqual(bodies);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
    await channel.close(); // would requeue anything unacked
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('backpressure: a loop that does not advance holds exactly `prefetch` unacked; break requeues what it did not ack', async () => {
    const channel = await openChannel();
    const total = 20;
    const { queue } = await queueWith(channel, numbered(total));
    const holding = gate();
    const held = gate();
    const received: string[] = [];
    const loop = (async () => {
      for await (const message of queue.messages({ prefetch: 5 })) {
        received.push(message.text());
        if (received.length === 4) {
          // The fourth stays unsettled while the loop stands still.
          held.open();
          await holding.opened;
          break;
        }
        message.ack();
      }
    })();
    await held.opened;
    // 3 acked; the held one and 4 more delivered ahead: 5 unacked, and the broker waits.
    await waitFor(
      async () => {
        const stats = await brokerStats(queue);
        return stats.unacked === 5 && stats.ready === total - 3 - 5;
      },
      10_000,
      '5 unacked',
    );
    await sleep(50);
    expect(await brokerStats(queue)).toEqual({ ready: 12, unacked: 5 });
    expect(await counts(queue)).toEqual({ messageCount: 12, consumerCount: 1 });
    expect(received).toEqual(numbered(4));

    holding.open();
    await loop;
    // The consumer is gone; the held message and the 4 prefetched are back.
    expect(await counts(queue)).toMatchObject({ consumerCount: 0 });
    await readyIn(queue, total - 3);
    expect(await brokerStats(queue)).toEqual({ ready: 17, unacked: 0 });
    expect(channel.isOpen).toBe(true);
  });

  it('an AbortSignal aborted in the loop ends it with AbortError and requeues what was not acked', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, numbered(10));
    const controller = new AbortController();
    const received: string[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const message of queue.messages({ prefetch: 5, signal: controller.signal })) {
          received.push(message.text());
          if (received.length <= 2) message.ack();
          else controller.abort(new Error('shutting down'));
        }
      })(),
    );
    expect(error).toBeInstanceOf(AbortError);
    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(received).toEqual(numbered(3));
    await noConsumerOn(queue);
    await readyIn(queue, 8);
    expect(await brokerStats(queue)).toEqual({ ready: 8, unacked: 0 });
    expect(channel.isOpen).toBe(true);
  });

  it('an AbortSignal aborted while the body holds a message leaves that message to the body: its ack goes through', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, numbered(6));
    const controller = new AbortController();
    const received: string[] = [];
    const error = await rejectionOf(
      (async () => {
        for await (const message of queue.messages({ prefetch: 3, signal: controller.signal })) {
          received.push(message.text());
          // A shutdown signal while the body is handling m1: the body finishes and acks it.
          if (received.length === 2) controller.abort(new Error('shutting down'));
          await jitter();
          message.ack();
        }
      })(),
    );
    expect(error).toBeInstanceOf(AbortError);
    expect(error).toMatchObject({ code: 'ABORTED' });
    expect(received).toEqual(numbered(2));
    await noConsumerOn(queue);
    // m0 and m1 acked (m1 is not handed out again); m2 to m5 ready.
    await readyIn(queue, 4);
    expect(await brokerStats(queue)).toEqual({ ready: 4, unacked: 0 });
    const rest = await collect(queue, { noAck: true });
    expect((await rest.waitForCount(4)).map((m) => m.text())).toEqual(numbered(6).slice(2));
  });

  it('an AbortSignal aborted while the loop waits for a message ends it with AbortError', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, numbered(2));
    const controller = new AbortController();
    const received: string[] = [];
    const loop = watch(
      (async () => {
        for await (const message of queue.messages({ prefetch: 5, signal: controller.signal })) {
          received.push(message.text());
          message.ack();
        }
      })(),
    );
    await waitFor(() => received.length === 2);
    await sleep(20);
    expect(loop.settled).toBe(false);
    controller.abort();
    const result = await loop.result;
    expect(result.status === 'rejected' && result.reason).toBeInstanceOf(AbortError);
    expect(result.status === 'rejected' && result.reason).toMatchObject({ code: 'ABORTED' });
    await noConsumerOn(queue);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('an already-aborted signal rejects the first next() with AbortError and starts no consumer', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, numbered(3));
    const iterator = queue.messages({ prefetch: 5, signal: aborted() });
    await expectAborted(iterator.next());
    expect(await counts(queue)).toEqual({ messageCount: 3, consumerCount: 0 });
    expect(channel.isOpen).toBe(true);
  });

  it('deleting the queue (the broker cancels the consumer) makes the loop throw CONSUMER_CANCELLED', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, numbered(2));
    const received: string[] = [];
    const loop = watch(
      (async () => {
        for await (const message of queue.messages({ prefetch: 5 })) {
          received.push(message.text());
          message.ack();
        }
      })(),
    );
    await waitFor(() => received.length === 2);
    const other = await openChannel();
    await other.queue(queue.name).delete({ ifUnused: false, ifEmpty: false });
    const result = await loop.result;
    expect(result.status).toBe('rejected');
    const error = result.status === 'rejected' ? result.reason : undefined;
    expect(error).toBeInstanceOf(AmqpError);
    expect(error).toMatchObject({ code: 'CONSUMER_CANCELLED' });
    expect(await queueExists(connection, queue.name)).toBe(false);
    expect(channel.isOpen).toBe(true);
  });

  it('deleting the queue while the body holds a message: the body may still settle it; the loop then throws CONSUMER_CANCELLED', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, numbered(5));
    const other = await openChannel();
    const received: string[] = [];
    const result = await watch(
      (async () => {
        for await (const message of queue.messages({ prefetch: 3 })) {
          received.push(message.text());
          if (received.length === 1) {
            await other.queue(queue.name).delete({ ifUnused: false, ifEmpty: false });
            // A round trip on the consumer's channel: the broker's basic.cancel has arrived.
            await channel.declareQueue('', { exclusive: true });
          }
          message.ack();
        }
      })(),
    ).result;
    expect(result.status).toBe('rejected');
    const error = result.status === 'rejected' ? result.reason : undefined;
    expect(error).toBeInstanceOf(AmqpError);
    expect(error).toMatchObject({ code: 'CONSUMER_CANCELLED' });
    expect(received).toEqual(['m0']);
    expect(channel.isOpen).toBe(true);
  });

  it('channel.close() while the loop waits for a message ends the loop (no error, no hang)', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, numbered(2));
    const received: string[] = [];
    const loop = watch(
      (async () => {
        for await (const message of queue.messages({ prefetch: 5 })) {
          received.push(message.text());
          message.ack();
        }
      })(),
    );
    await waitFor(() => received.length === 2);
    await channel.close();
    const result = await within(loop.result, 3_000, 'the loop ending after channel.close()');
    // The application stopped it, as a graceful shutdown does: the loop simply ends.
    expect(result.status).toBe('fulfilled');
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('connection.close() while the loop waits for a message ends the loop (no error, no hang)', async () => {
    const other = await connect(url);
    onTestFinished(() => other.close());
    const name = uniqueName('consumers-iter-close');
    deleteAfterTest(connection, 'queue', name);
    const channel = await other.openChannel();
    const queue = await channel.declareQueue(name);
    const received: string[] = [];
    const loop = watch(
      (async () => {
        for await (const message of queue.messages({ prefetch: 5 })) {
          received.push(message.text());
          message.ack();
        }
      })(),
    );
    await waitFor(async () => (await counts(queue))?.consumerCount === 1);
    await other.close();
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
    const result = await within(loop.result, 3_000, 'the loop ending after connection.close()');
    expect(result.status).toBe('fulfilled');
    expect(received).toEqual([]);
  });

  it('an exception thrown in the loop body requeues the held message and the prefetched ones', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, numbered(6));
    const received: string[] = [];
    const failure = new Error('the loop body failed');
    const error = await rejectionOf(
      (async () => {
        for await (const message of queue.messages({ prefetch: 3 })) {
          received.push(message.text());
          if (received.length === 2) throw failure;
          message.ack();
        }
      })(),
    );
    expect(error).toBe(failure);
    expect(received).toEqual(numbered(2));
    await noConsumerOn(queue);
    await readyIn(queue, 5);
    expect(await brokerStats(queue)).toEqual({ ready: 5, unacked: 0 });
    // m1, the message the body held, is first in line again.
    const next = await queue.get();
    expect(next?.text()).toBe('m1');
    expect(next?.redelivered).toBe(true);
    next?.ack();
  });
});

// ---------------------------------------------------------------------------------------------
// AbortSignal on every awaitable operation
// ---------------------------------------------------------------------------------------------

describe('an AbortSignal on every awaitable operation', () => {
  it('declareExchange: an aborted signal declares nothing; the channel stays usable', async () => {
    const channel = await openChannel();
    const name = uniqueName('consumers-abort-x');
    deleteAfterTest(connection, 'exchange', name);
    await expectAborted(channel.declareExchange(name, 'direct', { signal: aborted() }));
    expect(await exchangeExists(connection, name)).toBe(false);
    expect(channel.isOpen).toBe(true);
    await channel.declareExchange(name, 'direct');
    expect(await exchangeExists(connection, name)).toBe(true);
  });

  it('declareQueue: an aborted signal declares nothing; the channel stays usable', async () => {
    const channel = await openChannel();
    const name = uniqueName('consumers-abort-q');
    await expectAborted(channel.declareQueue(name, { exclusive: true, signal: aborted() }));
    expect(await queueExists(connection, name)).toBe(false);
    expect(channel.isOpen).toBe(true);
    const queue = await channel.declareQueue(name, { exclusive: true });
    expect(queue.name).toBe(name);
    expect(await queueExists(connection, name)).toBe(true);
  });

  it('declareQueue aborted in flight: rejects at once; its late reply is not taken for the next call', async () => {
    const channel = await openChannel();
    const first = uniqueName('consumers-inflight-a');
    const second = uniqueName('consumers-inflight-b');
    const controller = new AbortController();
    const declaring = channel.declareQueue(first, { exclusive: true, signal: controller.signal });
    controller.abort();
    await expectAborted(declaring);
    const queue = await channel.declareQueue(second, { exclusive: true });
    expect(queue.name).toBe(second);
    expect(channel.isOpen).toBe(true);
    // The request had gone out: the broker declared the first one all the same.
    expect(await queueExists(connection, first)).toBe(true);
    expect(await queueExists(connection, second)).toBe(true);
    await channel.queue(first).delete();
  });

  it('bind: an aborted signal binds nothing; unbind: an aborted signal unbinds nothing', async () => {
    const channel = await openChannel(true);
    const exchangeName = uniqueName('consumers-abort-bind');
    deleteAfterTest(connection, 'exchange', exchangeName);
    const exchange = await channel.declareExchange(exchangeName, 'direct');
    const queue = await channel.declareQueue(uniqueName('consumers-bound'), { exclusive: true });

    await expectAborted(queue.bind(exchange, 'key', { signal: aborted() }));
    expect(channel.isOpen).toBe(true);
    expect(await route(exchange, 'key')).toBe('NO_ROUTE');

    const binding = await queue.bind(exchange, 'key');
    expect(await route(exchange, 'key')).toBe('routed');
    await expectAborted(binding.unbind({ signal: aborted() }));
    expect(channel.isOpen).toBe(true);
    expect(await route(exchange, 'key')).toBe('routed');
    await binding.unbind();
    expect(await route(exchange, 'key')).toBe('NO_ROUTE');
    expect(await queue.purge()).toBe(2);
  });

  it('get: an aborted signal fetches nothing; aborted in flight, the fetched message goes back', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, ['only']);
    await expectAborted(queue.get({ signal: aborted() }));
    expect(await counts(queue)).toEqual({ messageCount: 1, consumerCount: 0 });

    const controller = new AbortController();
    const getting = queue.get({ signal: controller.signal });
    controller.abort();
    await expectAborted(getting);
    // The get-ok came anyway; the message was rejected back to the queue, not stranded unacked.
    await readyIn(queue, 1);
    expect(await brokerStats(queue)).toEqual({ ready: 1, unacked: 0 });
    expect(channel.isOpen).toBe(true);
    const message = await queue.get();
    expect(message?.text()).toBe('only');
    message?.ack();
  });

  it('consume: an aborted signal starts no consumer; aborted in flight, the started one is cancelled and its deliveries requeued', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, numbered(3));
    const handled: string[] = [];
    const handler = (message: IncomingMessage) => {
      handled.push(message.text());
    };
    await expectAborted(queue.consume(handler, { signal: aborted() }));
    await expectAborted(queue.consume(handler, { prefetch: 1, signal: aborted() }));
    expect(await counts(queue)).toEqual({ messageCount: 3, consumerCount: 0 });

    const controller = new AbortController();
    const consuming = queue.consume(handler, { signal: controller.signal });
    controller.abort();
    await expectAborted(consuming);
    await noConsumerOn(queue);
    await readyIn(queue, 3);
    expect(await brokerStats(queue)).toEqual({ ready: 3, unacked: 0 });
    expect(handled).toEqual([]);

    expect(channel.isOpen).toBe(true);
    const { waitForCount } = await collect(queue, { noAck: true });
    expect((await waitForCount(3)).map((m) => m.text())).toEqual(numbered(3));
  });

  it('purge and delete: an aborted signal removes nothing', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, numbered(3));
    await expectAborted(queue.purge({ signal: aborted() }));
    expect(await counts(queue)).toEqual({ messageCount: 3, consumerCount: 0 });
    await expectAborted(queue.delete({ signal: aborted() }));
    expect(await queueExists(connection, queue.name)).toBe(true);
    expect(channel.isOpen).toBe(true);
    expect(await queue.purge()).toBe(3);
    expect(await queue.delete()).toBe(0);
    expect(await queueExists(connection, queue.name)).toBe(false);
  });

  it('setQos: an aborted signal leaves the prefetch unlimited', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, numbered(5));
    await expectAborted(channel.setQos({ prefetchCount: 1, signal: aborted() }));
    expect(channel.isOpen).toBe(true);
    // Had prefetch 1 applied, the broker would deliver one and wait for its ack.
    const { messages, waitForCount } = await collect(queue);
    await waitForCount(5);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
    expect(messages).toHaveLength(5);
  });

  it('publish on a confirm channel: an aborted signal sends nothing; aborted in flight, it rejects and the late confirm is harmless', async () => {
    const channel = await openChannel(true);
    const queue = await channel.declareQueue(uniqueName('consumers-publish'), { exclusive: true });
    const exchange = channel.exchange('');
    await expectAborted(exchange.publish('never', queue.name, { signal: aborted() }));
    expect(channel.isOpen).toBe(true);

    const controller = new AbortController();
    const publishing = exchange.publish('sent', queue.name, { signal: controller.signal });
    controller.abort();
    await expectAborted(publishing);
    // Confirms come in order: once this one is confirmed, the aborted one's has arrived too.
    await exchange.publish('after', queue.name);
    expect(channel.isOpen).toBe(true);
    const texts: string[] = [];
    for (
      let m = await queue.get({ noAck: true });
      m !== null;
      m = await queue.get({ noAck: true })
    ) {
      texts.push(m.text());
    }
    expect(texts).toEqual(['sent', 'after']);
  });

  it('publish without confirms: an aborted signal sends nothing', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue(uniqueName('consumers-publish'), { exclusive: true });
    await expectAborted(channel.exchange('').publish('never', queue.name, { signal: aborted() }));
    await channel.exchange('').publish('sent', queue.name);
    await readyIn(queue, 1);
    expect((await queue.get({ noAck: true }))?.text()).toBe('sent');
  });

  it('consumer.cancel: an aborted signal rejects with AbortError, and the consumer is cancelled all the same', async () => {
    const channel = await openChannel();
    const { queue, publish } = await queueWith(channel, []);
    const { consumer, messages } = await collect(queue, { noAck: true });
    await expectAborted(consumer.cancel({ signal: aborted() }));
    expect(consumer.cancelled).toBe(true);
    await noConsumerOn(queue);
    expect(channel.isOpen).toBe(true);
    await publish('after');
    await readyIn(queue, 1);
    expect(messages).toEqual([]);
  });

  it('channel.close: an aborted signal rejects with AbortError, and the channel closes all the same', async () => {
    const channel = await openChannel();
    const { queue } = await queueWith(channel, ['kept']);
    await collect(queue);
    await readyIn(queue, 0);
    await expectAborted(channel.close({ signal: aborted() }));
    const reason = await channel.closed;
    expect(reason.code).toBe('CHANNEL_CLOSED');
    expect(channel.isOpen).toBe(false);
    // Closing requeued the unacked message (the exclusive queue lives on with the connection).
    await readyIn(queue, 1);
  });

  it('connection.close: an aborted signal rejects with AbortError, and the connection closes all the same', async () => {
    const other = await connect(url);
    onTestFinished(() => other.close());
    const channel = await other.openChannel();
    const queue = await channel.declareQueue(uniqueName('consumers-conn'), { exclusive: true });
    await expectAborted(other.close({ signal: aborted() }));
    const reason = await other.closed;
    expect(reason.code).toBe('CONNECTION_CLOSED');
    expect(other.isOpen).toBe(false);
    // Its exclusive queue went with it.
    expect(await queueExists(connection, queue.name)).toBe(false);
  });

  it('rpc call: an aborted signal publishes nothing; aborted in flight, the late reply is dropped and the client goes on', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue(uniqueName('consumers-rpc'), { exclusive: true });
    const release = gate();
    const requests: unknown[] = [];
    const server = await queue.serve(async (request) => {
      const { op } = request.data as { op: string };
      requests.push(op);
      if (op === 'slow') await release.opened;
      return { echo: op };
    });
    server.on('error', () => {});
    const rpc = await connection.rpcClient({ timeout: 5_000 });
    onTestFinished(() => rpc.close());

    await expectAborted(rpc.call(queue.name, { op: 'never' }, { signal: aborted() }));
    expect(rpc.channel.isOpen).toBe(true);

    const controller = new AbortController();
    const calling = rpc.call(queue.name, { op: 'slow' }, { signal: controller.signal });
    await waitFor(() => requests.length === 1);
    controller.abort();
    await expectAborted(calling);
    expect(rpc.waiting).toBe(0);
    release.open();

    expect(await rpc.call(queue.name, { op: 'fast' })).toEqual({ echo: 'fast' });
    expect(requests).toEqual(['slow', 'fast']);
    expect(rpc.channel.isOpen).toBe(true);
    await server.cancel();
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });
});
