/**
 * Several kinds of message on one queue, against RabbitMQ: `typedPublisher`
 * and `byType` sharing one map of kinds.
 *
 * - Kinds published by a typed publisher through one exchange reach one
 *   queue (classic and quorum) and each its own handler, with `data` typed
 *   and transformed by its own schema, `concurrency` handlers at a time,
 *   acked by `settle: 'auto'`.
 * - A message of an unknown type, one without a type, and one whose body
 *   fails its kind's schema never reach a handler: rejected without
 *   requeue (though `onFailure` says `'requeue'`), they land in the test's
 *   dead-letter queue with their bodies and an `x-death`, and the consumer
 *   reports each by `invalid`.
 * - The typed publisher sets `type` and `contentType`, and refuses a value
 *   that does not match its kind before anything is sent: the queue never
 *   holds it, even once a later message has arrived behind it.
 * - With `from: 'routingKey'`, the routing key (the publisher's default)
 *   picks the kind.
 * - In a `messages()` loop, `dispatch` runs the handlers and dead-letters
 *   what it refuses.
 *
 * Every check is of what the broker reports: ready messages by passive
 * declare, what is left in the queue and in the dead-letter queue.
 */
import { describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import {
  byType,
  type Channel,
  type Connection,
  type Exchange,
  type FieldTable,
  Message,
  type MessageTypes,
  MessageValidationError,
  type Queue,
  typedPublisher,
  UnknownMessageTypeError,
} from '../../lib/index.js';
import {
  deleteAfterTest,
  queueCounts,
  uniqueName,
  useConnection,
  waitFor,
} from '../support/amqp-helpers.js';

const url = inject('amqpUrl');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

// The shared module: one definition of the kinds, for both sides.
const OrderCreated = z.object({
  id: z.number().int(),
  // A string on the wire, a Date in the handler.
  placedAt: z.iso.datetime().transform((text) => new Date(text)),
});
const OrderCancelled = z.object({ id: z.number().int(), reason: z.string().min(1) });
const OrderMessages = {
  'order.created': OrderCreated,
  'order.cancelled': OrderCancelled,
} satisfies MessageTypes;

const PLACED_AT = '2024-06-01T12:00:00.000Z';

/** Waits until the broker reports `count` ready messages in `queue`. */
async function readyIn(queue: { readonly name: string }, count: number): Promise<void> {
  await waitFor(
    async () => (await queueCounts(connection, queue.name))?.messageCount === count,
    5_000,
    `${count} ready messages in ${queue.name}`,
  );
}

/**
 * An exchange, and a queue of `type` bound to it by `bindingKey`, whose
 * rejected messages go to a dead-letter queue (through the default
 * exchange). All deleted when the test ends.
 */
async function topology(
  channel: Channel,
  type: 'classic' | 'quorum',
  bindingKey = 'order.*',
): Promise<{ exchange: Exchange; queue: Queue; dlq: Queue }> {
  const exchange = await channel.declareExchange(uniqueName('by-type'), 'topic', {
    durable: false,
    autoDelete: true,
  });
  deleteAfterTest(connection, 'exchange', exchange.name);
  const dlq = await channel.declareQueue(uniqueName('by-type-dlq'));
  deleteAfterTest(connection, 'queue', dlq.name);
  const queue = await channel.declareQueue(uniqueName('by-type'), {
    arguments: {
      'x-queue-type': type,
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': dlq.name,
    },
  });
  deleteAfterTest(connection, 'queue', queue.name);
  await queue.bind(exchange, bindingKey);
  return { exchange, queue, dlq };
}

/** Takes every message of `dlq` (once `count` are there), checking each was rejected from `from`. */
async function deadLetters(
  dlq: Queue,
  from: Queue,
  count: number,
): Promise<{ type: string | undefined; body: string }[]> {
  await readyIn(dlq, count);
  const letters: { type: string | undefined; body: string }[] = [];
  for (let message = await dlq.get({ noAck: true }); message !== null; ) {
    const deaths = message.headers['x-death'] as FieldTable[] | undefined;
    expect(deaths?.[0]).toMatchObject({ queue: from.name, reason: 'rejected' });
    letters.push({ type: message.properties.type, body: message.text() });
    message = await dlq.get({ noAck: true });
  }
  return letters;
}

describe.each(['classic', 'quorum'] as const)('several kinds on one %s queue', (queueType) => {
  it("each kind reaches its own handler, typed by its schema, 4 at a time, acked by settle: 'auto'", async () => {
    const channel = await openChannel(true);
    const { exchange, queue } = await topology(channel, queueType);
    const orders = typedPublisher(exchange, OrderMessages);
    for (let id = 1; id <= 20; id++) {
      if (id % 2 === 1) await orders.publish('order.created', { id, placedAt: PLACED_AT });
      else await orders.publish('order.cancelled', { id, reason: `reason ${id}` });
    }
    await readyIn(queue, 20);

    const created: { id: number; placedAt: Date }[] = [];
    const cancelled: { id: number; reason: string }[] = [];
    // The first four handlers wait for each other: with fewer than 4 at a time, they never would.
    let running = 0;
    let fourRan = false;
    let open = (): void => {};
    const gate = new Promise<void>((resolve) => {
      open = resolve;
    });
    const enter = async (): Promise<void> => {
      running++;
      if (running === 4) {
        fourRan = true;
        open();
      }
      await gate;
      running--;
    };
    const consumer = await queue.consume(
      byType(OrderMessages, {
        'order.created': async (message) => {
          await enter();
          created.push(message.data);
        },
        'order.cancelled': async (message) => {
          await enter();
          cancelled.push(message.data);
        },
      }),
      { settle: 'auto', concurrency: 4, prefetch: 8 },
    );
    const reports: unknown[] = [];
    consumer.on('invalid', (error) => reports.push(error));
    consumer.on('error', (error) => reports.push(error));

    await waitFor(() => created.length + cancelled.length === 20, 10_000, '20 orders handled');
    expect(fourRan).toBe(true);
    expect(created.map((order) => order.id).sort((a, b) => a - b)).toEqual([
      1, 3, 5, 7, 9, 11, 13, 15, 17, 19,
    ]);
    for (const order of created) expect(order.placedAt).toEqual(new Date(PLACED_AT));
    expect(cancelled.find((order) => order.id === 8)).toEqual({ id: 8, reason: 'reason 8' });
    expect(reports).toEqual([]);
    await consumer.cancel();
    // All acked: nothing ready, nothing unacked came back.
    expect(await queueCounts(connection, queue.name)).toEqual({
      messageCount: 0,
      consumerCount: 0,
    });
  });

  it('an unknown type, no type, and an invalid body are dead-lettered, never retried', async () => {
    const channel = await openChannel(true);
    const { exchange, queue, dlq } = await topology(channel, queueType);
    // What a careless (or newer) publisher might send, through a plain handle.
    const raw = channel.exchange(exchange.name);
    await raw.publish({ id: 1 }, 'order.shipped', {});
    await raw.publish(new Message({ id: 1 }, { type: 'order.shipped' }), 'order.shipped');
    await raw.publish(
      new Message({ id: 2, reason: '' }, { type: 'order.cancelled' }),
      'order.cancelled',
    );
    await typedPublisher(exchange, OrderMessages).publish('order.created', {
      id: 3,
      placedAt: PLACED_AT,
    });

    const handled: number[] = [];
    const consumer = await queue.consume(
      byType(OrderMessages, {
        'order.created': (message) => void handled.push(message.data.id),
        'order.cancelled': (message) => void handled.push(message.data.id),
      }),
      { settle: 'auto', onFailure: 'requeue' },
    );
    const invalid: MessageValidationError[] = [];
    const errors: unknown[] = [];
    consumer.on('invalid', (error) => invalid.push(error));
    consumer.on('error', (error) => errors.push(error));

    const letters = await deadLetters(dlq, queue, 3);
    await waitFor(() => handled.length === 1, 5_000, 'the valid order handled');
    expect(handled).toEqual([3]);
    expect(letters).toEqual([
      { type: undefined, body: '{"id":1}' },
      { type: 'order.shipped', body: '{"id":1}' },
      { type: 'order.cancelled', body: '{"id":2,"reason":""}' },
    ]);
    expect(errors).toEqual([]);
    expect(invalid.map((error) => error.constructor.name)).toEqual([
      'UnknownMessageTypeError',
      'UnknownMessageTypeError',
      'MessageValidationError',
    ]);
    expect(invalid[0]).toMatchObject({ type: undefined, from: 'type' });
    expect(invalid[1]).toMatchObject({ type: 'order.shipped' });
    expect(invalid[2]?.issues.map((issue) => issue.path)).toEqual([['reason']]);
    await consumer.cancel();
    expect((await queueCounts(connection, queue.name))?.messageCount).toBe(0);
  });
});

describe('the typed publisher', () => {
  it('sets type and contentType, and sends nothing for a value that does not match', async () => {
    const channel = await openChannel(true);
    const { exchange, queue } = await topology(channel, 'classic');
    const orders = typedPublisher(exchange, OrderMessages);

    const refused = await orders.publish('order.cancelled', { id: 1, reason: '' }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(refused).toBeInstanceOf(MessageValidationError);
    expect((refused as MessageValidationError).issues.map((issue) => issue.path)).toEqual([
      ['reason'],
    ]);
    // Untyped JavaScript gets the same check.
    const sloppy = orders.publish as (type: string, value: unknown) => Promise<void>;
    await expect(sloppy('order.created', { id: 'two' })).rejects.toBeInstanceOf(
      MessageValidationError,
    );
    await expect(sloppy('order.shipped', { id: 2 })).rejects.toBeInstanceOf(RangeError);
    // The channel is still open; what comes next is the only message the queue gets.
    await orders.publish('order.created', { id: 3, placedAt: PLACED_AT });
    await readyIn(queue, 1);

    const message = await queue.get({ noAck: true });
    expect(message?.properties).toMatchObject({
      type: 'order.created',
      contentType: 'application/json',
    });
    expect(message?.routingKey).toBe('order.created');
    expect(message?.json()).toEqual({ id: 3, placedAt: PLACED_AT });
    expect(await queue.get()).toBeNull();
  });
});

describe('routing by routing key', () => {
  it("picks each message's kind by its routing key, and dead-letters one it does not know", async () => {
    const channel = await openChannel(true);
    const { exchange, queue, dlq } = await topology(channel, 'classic', 'order.#');
    const orders = typedPublisher(exchange, OrderMessages);
    // The routing key is the kind unless told: the consumer reads that.
    await orders.publish('order.created', { id: 1, placedAt: PLACED_AT });
    await orders.publish('order.cancelled', { id: 2, reason: 'late' });
    // Routed to the queue by its binding, but no kind has this routing key.
    await orders.publish('order.cancelled', { id: 3, reason: 'late' }, 'order.cancelled.eu');

    const handled: string[] = [];
    const consumer = await queue.consume(
      byType(
        OrderMessages,
        {
          'order.created': (message) => void handled.push(`created ${message.data.id}`),
          'order.cancelled': (message) => void handled.push(`cancelled ${message.data.id}`),
        },
        { from: 'routingKey' },
      ),
      { settle: 'auto' },
    );
    const invalid: MessageValidationError[] = [];
    consumer.on('invalid', (error) => invalid.push(error));

    const letters = await deadLetters(dlq, queue, 1);
    await waitFor(() => handled.length === 2, 5_000, 'two orders handled');
    expect(handled).toEqual(['created 1', 'cancelled 2']);
    expect(letters).toEqual([{ type: 'order.cancelled', body: '{"id":3,"reason":"late"}' }]);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toBeInstanceOf(UnknownMessageTypeError);
    expect(invalid[0]).toMatchObject({ type: 'order.cancelled.eu', from: 'routingKey' });
    await consumer.cancel();
  });
});

describe('in a messages() loop', () => {
  it('dispatch runs the handlers and dead-letters what it refuses', async () => {
    const channel = await openChannel(true);
    const { exchange, queue, dlq } = await topology(channel, 'classic');
    const orders = typedPublisher(exchange, OrderMessages);
    await orders.publish('order.created', { id: 1, placedAt: PLACED_AT });
    await channel.exchange(exchange.name).publish({ id: 2 }, 'order.created');
    await orders.publish('order.cancelled', { id: 3, reason: 'late' });

    const seen: number[] = [];
    const router = byType({
      'order.created': {
        schema: OrderCreated,
        handle: (message) => void seen.push(message.data.id),
      },
      'order.cancelled': {
        schema: OrderCancelled,
        handle: (message) => void seen.push(message.data.id),
      },
    });
    const refused: unknown[] = [];
    let count = 0;
    for await (const message of queue.messages({ prefetch: 2 })) {
      const error = await router.dispatch(message);
      if (error !== undefined) refused.push(error);
      else message.ack();
      if (++count === 3) break;
    }
    expect(seen).toEqual([1, 3]);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toBeInstanceOf(UnknownMessageTypeError);
    expect(await deadLetters(dlq, queue, 1)).toEqual([{ type: undefined, body: '{"id":2}' }]);
    await readyIn(queue, 0);
  });
});
