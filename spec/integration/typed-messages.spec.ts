/**
 * zod schemas on exchanges and queues, against RabbitMQ.
 *
 * Publishing: an exchange with a schema sends a body that matches and
 * rejects one that does not with a `MessageValidationError` (code
 * `MESSAGE_INVALID`, zod's issues with their paths) before anything is
 * sent: the bound queue never holds it, even after a later message has
 * arrived behind it, and the channel stays open. Plain values and
 * `Message`s alike, with confirms and without.
 *
 * Receiving: a queue with a schema hands its consumers and `get()` the
 * schema's output (transforms applied: the input is what travels, as
 * JSON, so that the same schema reads it back, strings included). A
 * message published by another client (amqplib) that is not JSON or does
 * not match never reaches a handler: it is rejected without requeue, so it
 * lands in the queue's dead-letter queue with its body intact and an
 * `x-death` header, and the consumer reports it (`invalid` event, or a
 * `WARREN_INVALID_MESSAGE` process warning when nobody listens).
 *
 * Every check is of what the broker reports: ready messages by passive
 * declare, what is left in the queue and in the dead-letter queue.
 */
import amqplib from 'amqplib';
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import { z } from 'zod';
import {
  type Channel,
  type Connection,
  type FieldTable,
  IncomingMessage,
  Message,
  MessageValidationError,
  type Queue,
} from '../../lib/index.js';
import { queueCounts, uniqueName, useConnection, waitFor } from '../support/amqp-helpers.js';

const url = inject('amqpUrl');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

/** Another client, to publish what warren would refuse to. */
let amqp: amqplib.ChannelModel;

beforeAll(async () => {
  amqp = await amqplib.connect(url);
  // A channel error is also emitted on the connection; the test sees it through its promise.
  amqp.on('error', () => {});
});

afterAll(async () => {
  await amqp?.close();
});

/** An order: at least one line, each with a positive whole quantity. */
const Order = z.object({
  id: z.string(),
  items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })).min(1),
});
type Order = z.output<typeof Order>;

/** What travels is strings; what a handler gets is a Date and a number. */
const Event = z.object({
  at: z.string().transform((text) => new Date(text)),
  count: z.string().transform(Number),
});

/** An Event body as another client would publish it. */
const validEvent = (count: number) =>
  JSON.stringify({ at: '2024-06-01T00:00:00.000Z', count: String(count) });

const VALID_ORDER: Order = { id: 'o-1', items: [{ sku: 'apple', qty: 3 }] };
/** Well typed, but qty 0 is not positive: the issue's path is items.0.qty. */
const ZERO_QTY_ORDER: Order = { id: 'o-2', items: [{ sku: 'pear', qty: 0 }] };

/** Bodies as another client would publish them. */
const RAW = {
  valid1: JSON.stringify({ id: 'o-10', items: [{ sku: 'a', qty: 1 }] }),
  notJson: 'order o-11: 2 x b, please',
  mismatch: JSON.stringify({ id: 'o-12', items: [{ sku: 'c', qty: 'two' }] }),
  valid2: JSON.stringify({
    id: 'o-13',
    items: [
      { sku: 'd', qty: 4 },
      { sku: 'e', qty: 5 },
    ],
  }),
};

/** Publishes `bodies` to `queue` from amqplib, through the default exchange, confirmed. */
async function amqplibPublish(queue: string, ...bodies: string[]): Promise<void> {
  const channel = await amqp.createConfirmChannel();
  try {
    for (const body of bodies) {
      channel.sendToQueue(queue, Buffer.from(body, 'utf8'), { contentType: 'application/json' });
    }
    await channel.waitForConfirms();
  } finally {
    await channel.close();
  }
}

/** A queue of any type, by name: a `Queue<T>` is not a `Queue<unknown>`. */
type Named = { readonly name: string };

async function counts(queue: Named) {
  return queueCounts(connection, queue.name);
}

/** Waits until the broker reports `count` ready messages in `queue`. */
async function readyIn(queue: Named, count: number): Promise<void> {
  await waitFor(
    async () => (await counts(queue))?.messageCount === count,
    5_000,
    `${count} ready messages`,
  );
}

/** The rejection of `promise`, which must be a MessageValidationError. */
async function validationError(promise: Promise<unknown>): Promise<MessageValidationError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(MessageValidationError);
  return error as MessageValidationError;
}

/** What `fn` throws, which must be a MessageValidationError. */
function thrownValidationError(fn: () => unknown): MessageValidationError {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(MessageValidationError);
    return error as MessageValidationError;
  }
  return expect.fail('expected a MessageValidationError, but nothing was thrown');
}

const paths = (error: MessageValidationError) => error.issues.map((issue) => issue.path);

/** The not-JSON form of the error: no issues, the SyntaxError as its cause. */
function expectNotJson(error: MessageValidationError): void {
  expect(error.code).toBe('MESSAGE_INVALID');
  expect(error.issues).toEqual([]);
  expect(error.cause).toBeInstanceOf(SyntaxError);
  expect(error.message).toContain('not JSON');
}

/** The mismatch of RAW.mismatch: qty is a string. */
function expectQtyMismatch(error: MessageValidationError): void {
  expect(error.code).toBe('MESSAGE_INVALID');
  expect(paths(error)).toEqual([['items', 0, 'qty']]);
  expect(error.issues[0]?.code).toBe('invalid_type');
  expect(error.message).toContain('items.0.qty');
}

/**
 * A queue with `schema` whose rejected messages go to a dead-letter queue
 * (a fanout exchange and an exclusive queue bound to it). Both queues are
 * exclusive and named, so that every channel of the connection and amqplib
 * reach them.
 */
async function deadLettering<S extends z.ZodType>(channel: Channel, schema: S) {
  const { dlx, dlq } = await deadLetterQueue(channel);
  const queue = await channel.declareQueue(uniqueName('typed'), {
    exclusive: true,
    schema,
    arguments: { 'x-dead-letter-exchange': dlx },
  });
  return { queue, dlq };
}

/** A fanout dead-letter exchange and an exclusive queue bound to it. */
async function deadLetterQueue(channel: Channel): Promise<{ dlx: string; dlq: Queue }> {
  const dlx = await channel.declareExchange(uniqueName('typed-dlx'), 'fanout', {
    autoDelete: true,
  });
  const dlq = await channel.declareQueue(uniqueName('typed-dlq'), { exclusive: true });
  await dlq.bind(dlx);
  return { dlx: dlx.name, dlq };
}

/**
 * Takes every message of the dead-letter queue (waiting until `count` are
 * there) and checks each was dead-lettered from `from` as rejected.
 */
async function deadLetters(dlq: Queue, from: Named, count: number): Promise<string[]> {
  await readyIn(dlq, count);
  const texts: string[] = [];
  for (let message = await dlq.get({ noAck: true }); message !== null; ) {
    const deaths = message.headers['x-death'] as FieldTable[] | undefined;
    expect(Array.isArray(deaths), 'x-death header').toBe(true);
    expect(deaths?.[0]).toMatchObject({ queue: from.name, reason: 'rejected' });
    texts.push(message.text());
    message = await dlq.get({ noAck: true });
  }
  return texts;
}

// ---------------------------------------------------------------------------------------------
// Publishing
// ---------------------------------------------------------------------------------------------

describe.each([
  { mode: 'on a confirm channel', confirm: true },
  { mode: 'without confirms', confirm: false },
])('publish on an exchange with a schema, $mode', ({ confirm }) => {
  /** An exchange with the Order schema and an exclusive queue bound to it with 'orders'. */
  async function typedRoute() {
    const channel = await openChannel(confirm);
    const exchange = await channel.declareExchange(uniqueName('typed-x'), 'direct', {
      schema: Order,
      autoDelete: true,
    });
    const queue = await channel.declareQueue(uniqueName('typed-q'), { exclusive: true });
    await queue.bind(exchange, 'orders');
    return { channel, exchange, queue };
  }

  /** After a publish: confirmed already, or wait until the broker has it. */
  async function published(queue: Queue, count: number): Promise<void> {
    if (!confirm) await readyIn(queue, count);
    expect(await counts(queue)).toEqual({ messageCount: count, consumerCount: 0 });
  }

  it('delivers a body that matches, as JSON', async () => {
    const { exchange, queue } = await typedRoute();
    expect(exchange.schema).toBe(Order);

    await exchange.publish(VALID_ORDER, 'orders');
    await published(queue, 1);

    const received = await queue.get({ noAck: true });
    expect(received?.properties.contentType).toBe('application/json');
    expect(received?.json()).toEqual(VALID_ORDER);
    expect(await queue.get()).toBeNull();
  });

  it('rejects a body that does not match before sending anything; the channel stays open', async () => {
    const { channel, exchange, queue } = await typedRoute();

    const error = await validationError(exchange.publish(ZERO_QTY_ORDER, 'orders'));
    expect(error.code).toBe('MESSAGE_INVALID');
    expect(paths(error)).toEqual([['items', 0, 'qty']]);
    expect(error.issues[0]?.code).toBe('too_small');
    expect(error.message).toContain(exchange.name);
    expect(error.message).toContain('items.0.qty');

    // Several problems at once: each with its own path.
    const several = await validationError(
      exchange.publish(
        {
          id: 'o-3',
          items: [
            { sku: 'x', qty: 1 },
            { sku: 'y', qty: 2.5 },
            { sku: 'z', qty: -1 },
          ],
        },
        'orders',
      ),
    );
    expect(paths(several)).toEqual([
      ['items', 1, 'qty'],
      ['items', 2, 'qty'],
    ]);
    const empty = await validationError(exchange.publish({ id: 'o-4', items: [] }, 'orders'));
    expect(paths(empty)).toEqual([['items']]);

    // The channel is still open and publishes; what arrives first is the later, valid message.
    expect(channel.isOpen).toBe(true);
    await exchange.publish(VALID_ORDER, 'orders');
    await published(queue, 1);
    const first = await queue.get({ noAck: true });
    expect(first?.json()).toEqual(VALID_ORDER);
    expect(await queue.get()).toBeNull();
    expect(channel.isOpen).toBe(true);
  });

  it('checks the value a Message was made from, and sends its properties as they were', async () => {
    const { channel, exchange, queue } = await typedRoute();
    const properties = {
      headers: { tenant: 'acme', attempt: 1 },
      messageId: 'order-7',
      correlationId: 'c-7',
      type: 'order.placed',
      appId: 'shop',
      priority: 3,
      deliveryMode: 2,
    } as const;

    const error = await validationError(
      exchange.publish(new Message(ZERO_QTY_ORDER, properties), 'orders'),
    );
    expect(paths(error)).toEqual([['items', 0, 'qty']]);
    expect(channel.isOpen).toBe(true);

    const message = new Message(VALID_ORDER, properties);
    expect(message.data).toBe(VALID_ORDER);
    await exchange.publish(message, 'orders');
    await exchange.publish(
      new Message(
        { id: 'o-8', items: [{ sku: 'fig', qty: 8 }] },
        { contentType: 'application/vnd.order+json' },
      ),
      'orders',
    );
    await published(queue, 2);

    const first = await queue.get({ noAck: true });
    expect(first?.json()).toEqual(VALID_ORDER);
    expect(first?.properties).toMatchObject({ ...properties, contentType: 'application/json' });
    const second = await queue.get({ noAck: true });
    expect(second?.json()).toEqual({ id: 'o-8', items: [{ sku: 'fig', qty: 8 }] });
    expect(second?.properties.contentType).toBe('application/vnd.order+json');
    expect(await queue.get()).toBeNull();
  });
});

// ---------------------------------------------------------------------------------------------
// Transforms
// ---------------------------------------------------------------------------------------------

describe('a schema with transforms', () => {
  it('publish takes the input type and sends it; get and consume hand over the output', async () => {
    const channel = await openChannel(true);
    const exchange = await channel.declareExchange(uniqueName('event-x'), 'fanout', {
      schema: Event,
      autoDelete: true,
    });
    const queue = await channel.declareQueue(uniqueName('event-q'), {
      exclusive: true,
      schema: Event,
    });
    await queue.bind(exchange);

    await exchange.publish({ at: '2024-02-29T12:00:00.000Z', count: '42' });
    await exchange.publish(new Message({ at: '2025-01-01T00:00:00.000Z', count: '7' }));
    expect(await counts(queue)).toEqual({ messageCount: 2, consumerCount: 0 });

    const fetched = await queue.get();
    if (fetched === null) return expect.fail('the queue is empty');
    // The input travels: the bytes are what publish was given.
    expect(JSON.parse(fetched.text())).toEqual({ at: '2024-02-29T12:00:00.000Z', count: '42' });
    expect(fetched.data.at).toBeInstanceOf(Date);
    expect(fetched.data.at.toISOString()).toBe('2024-02-29T12:00:00.000Z');
    expect(fetched.data.count).toBe(42);
    fetched.ack();

    const consumed = await new Promise<IncomingMessage<z.output<typeof Event>>>((resolve) => {
      void queue.consume((message) => {
        message.ack();
        resolve(message);
      });
    });
    expect(consumed.data.at).toBeInstanceOf(Date);
    expect(consumed.data.at.getTime()).toBe(Date.UTC(2025, 0, 1));
    expect(consumed.data.count).toBe(7);
    await waitFor(async () => (await counts(queue))?.messageCount === 0, 5_000, 'the ack');
  });

  it('a string schema (z.string().transform(Number)) round-trips: the queue reads back what the exchange took', async () => {
    const Amount = z.string().transform(Number);
    const channel = await openChannel(true);
    const exchange = await channel.declareExchange(uniqueName('amount-x'), 'fanout', {
      schema: Amount,
      autoDelete: true,
    });
    const { queue, dlq } = await deadLettering(channel, Amount);
    await queue.bind(exchange);

    await exchange.publish('42');
    await exchange.publish(new Message('-7.5'));
    expect(await counts(queue)).toEqual({ messageCount: 2, consumerCount: 0 });

    // What a queue with a schema reads is JSON, so a typed string must travel as JSON too.
    const first = await queue.get({ noAck: true });
    expect(first?.data).toBe(42);
    const second = await queue.get({ noAck: true });
    expect(second?.data).toBe(-7.5);
    expect(await counts(dlq)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('the exchange checks the input: an output-typed value does not pass', async () => {
    const channel = await openChannel(true);
    const exchange = await channel.declareExchange(uniqueName('event-x'), 'fanout', {
      schema: Event,
      autoDelete: true,
    });
    const queue = await channel.declareQueue(uniqueName('event-q'), { exclusive: true });
    await queue.bind(exchange);

    const error = await validationError(
      // @ts-expect-error a Date and a number are the output types, not the input
      exchange.publish({ at: new Date(), count: 1 }),
    );
    expect(paths(error)).toEqual([['at'], ['count']]);
    expect(channel.isOpen).toBe(true);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// Validation on delivery
// ---------------------------------------------------------------------------------------------

describe('a consumer on a queue with a schema', () => {
  it('never hands over a message that is not JSON or does not match: it is dead-lettered and reported', async () => {
    const channel = await openChannel();
    const { queue, dlq } = await deadLettering(channel, Order);

    const handled: Order[] = [];
    const invalid: [MessageValidationError, IncomingMessage<unknown>][] = [];
    const consumer = await queue.consume((message) => {
      handled.push(message.data);
      message.ack();
    });
    consumer.on('invalid', (error, message) => {
      invalid.push([error, message]);
    });

    await amqplibPublish(queue.name, RAW.valid1, RAW.notJson, RAW.mismatch, RAW.valid2);
    await waitFor(() => handled.length === 2 && invalid.length === 2, 5_000, 'every delivery');

    expect(handled).toEqual([JSON.parse(RAW.valid1), JSON.parse(RAW.valid2)]);
    expect(handled[1]?.items[1]?.qty).toBe(5);

    const [notJson, mismatch] = invalid;
    if (notJson === undefined || mismatch === undefined) return expect.fail('two invalid events');
    expectNotJson(notJson[0]);
    expectQtyMismatch(mismatch[0]);
    for (const [[, message], raw] of [
      [notJson, RAW.notJson],
      [mismatch, RAW.mismatch],
    ] as const) {
      expect(message).toBeInstanceOf(IncomingMessage);
      expect(message.text()).toBe(raw);
      expect(message.consumerTag).toBe(consumer.tag);
      expect(message.routingKey).toBe(queue.name);
      expect(message.settled).toBe(true);
    }
    expect(notJson[0].message).toContain(queue.name);

    expect(await deadLetters(dlq, queue, 2)).toEqual([RAW.notJson, RAW.mismatch]);
    await waitFor(async () => (await counts(queue))?.messageCount === 0, 5_000, 'the acks');
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 1 });
    expect(channel.isOpen).toBe(true);
  });

  it('reports invalid messages that wait in the queue before it starts, to a listener added once consume() resolves', async () => {
    const channel = await openChannel();
    const { queue, dlq } = await deadLettering(channel, Order);
    await amqplibPublish(queue.name, RAW.valid1, RAW.notJson, RAW.mismatch, RAW.valid2);
    expect(await counts(queue)).toEqual({ messageCount: 4, consumerCount: 0 });

    const handled: Order[] = [];
    const invalid: string[] = [];
    const consumer = await queue.consume(
      (message) => {
        handled.push(message.data);
      },
      { settle: 'auto' },
    );
    // Added in the same turn as the handler can first run: no delivery may be missed.
    consumer.on('invalid', (_error, message) => {
      invalid.push(message.text());
    });

    await waitFor(() => handled.length === 2, 5_000, 'the valid messages');
    expect(handled.map((order) => order.id)).toEqual(['o-10', 'o-13']);
    expect(await deadLetters(dlq, queue, 2)).toEqual([RAW.notJson, RAW.mismatch]);
    expect(invalid).toEqual([RAW.notJson, RAW.mismatch]);
  });

  it("emits a WARREN_INVALID_MESSAGE process warning when it has no 'invalid' listener", async () => {
    const channel = await openChannel();
    const { queue, dlq } = await deadLettering(channel, Order);
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => {
      warnings.push(warning);
    };
    process.on('warning', onWarning);
    onTestFinished(() => {
      process.off('warning', onWarning);
    });

    const handled: string[] = [];
    const consumer = await queue.consume(
      (message) => {
        handled.push(message.data.id);
      },
      { settle: 'auto' },
    );
    await amqplibPublish(queue.name, RAW.mismatch, RAW.valid1);

    await waitFor(() => handled.length === 1, 5_000, 'the valid message');
    expect(handled).toEqual(['o-10']);
    const ours = await waitFor(
      () => {
        const found = warnings.filter((warning) => warning.message.includes(consumer.tag));
        return found.length > 0 ? found : undefined;
      },
      5_000,
      'the warning',
    );
    expect(ours).toHaveLength(1);
    expect((ours[0] as NodeJS.ErrnoException).code).toBe('WARREN_INVALID_MESSAGE');
    expect(ours[0]?.message).toContain('items.0.qty');
    expect(await deadLetters(dlq, queue, 1)).toEqual([RAW.mismatch]);
  });

  it('with noAck: reports an invalid message (which the broker has settled already), never hands it over', async () => {
    const channel = await openChannel();
    const { queue, dlq } = await deadLettering(channel, Order);
    const handled: string[] = [];
    const invalid: [MessageValidationError, IncomingMessage<unknown>][] = [];
    const consumer = await queue.consume(
      (message) => {
        handled.push(message.data.id);
      },
      { noAck: true },
    );
    consumer.on('invalid', (error, message) => {
      invalid.push([error, message]);
    });

    await amqplibPublish(queue.name, RAW.valid1, RAW.mismatch, RAW.notJson, RAW.valid2);
    await waitFor(() => handled.length === 2 && invalid.length === 2, 5_000, 'every delivery');

    expect(handled).toEqual(['o-10', 'o-13']);
    expectQtyMismatch(invalid[0]?.[0] as MessageValidationError);
    expectNotJson(invalid[1]?.[0] as MessageValidationError);
    expect(invalid.map(([, message]) => [message.noAck, message.settled, message.text()])).toEqual([
      [true, true, RAW.mismatch],
      [true, true, RAW.notJson],
    ]);
    // Nothing to reject: the channel is fine, and nothing was (or could be) dead-lettered.
    expect(channel.isOpen).toBe(true);
    await consumer.cancel();
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
    expect(await counts(dlq)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('queue.messages() yields only valid messages, typed; onInvalid gets the others, which are dead-lettered', async () => {
    const channel = await openChannel();
    const { queue, dlq } = await deadLettering(channel, Event);
    await amqplibPublish(queue.name, validEvent(1));

    const invalid: MessageValidationError[] = [];
    const seen: [Date, number][] = [];
    for await (const message of queue.messages({ onInvalid: (error) => invalid.push(error) })) {
      seen.push([message.data.at, message.data.count]);
      message.ack();
      if (seen.length === 1) {
        await amqplibPublish(queue.name, RAW.notJson, JSON.stringify({ at: 5 }), validEvent(2));
      }
      if (seen.length === 2) break;
    }
    expect(seen.map(([at, count]) => [at instanceof Date, count])).toEqual([
      [true, 1],
      [true, 2],
    ]);
    expect(invalid).toHaveLength(2);
    expectNotJson(invalid[0] as MessageValidationError);
    expect(paths(invalid[1] as MessageValidationError)).toEqual([['at'], ['count']]);
    expect(await deadLetters(dlq, queue, 2)).toEqual([RAW.notJson, JSON.stringify({ at: 5 })]);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('queue.messages() reports to onInvalid the invalid messages that wait in the queue before the loop starts', async () => {
    const channel = await openChannel();
    const { queue, dlq } = await deadLettering(channel, Event);
    await amqplibPublish(queue.name, RAW.notJson, validEvent(1), RAW.mismatch, validEvent(2));

    const invalid: string[] = [];
    const seen: number[] = [];
    const messages = queue.messages({
      onInvalid: (_error, message) => {
        invalid.push(message.text());
      },
    });
    for await (const message of messages) {
      seen.push(message.data.count);
      message.ack();
      if (seen.length === 2) break;
    }
    expect(seen).toEqual([1, 2]);
    expect(await deadLetters(dlq, queue, 2)).toEqual([RAW.notJson, RAW.mismatch]);
    expect(invalid).toEqual([RAW.notJson, RAW.mismatch]);
  });
});

// ---------------------------------------------------------------------------------------------
// get()
// ---------------------------------------------------------------------------------------------

describe('queue.get() on a queue with a schema', () => {
  it('returns the transformed value of a valid message', async () => {
    const channel = await openChannel();
    const { queue } = await deadLettering(channel, Event);
    await amqplibPublish(
      queue.name,
      JSON.stringify({ at: '2030-12-31T23:59:59.000Z', count: '-3' }),
    );

    const message = await queue.get();
    expect(message?.data.at).toBeInstanceOf(Date);
    expect(message?.data.at.getTime()).toBe(Date.UTC(2030, 11, 31, 23, 59, 59));
    expect(message?.data.count).toBe(-3);
    expect(message?.messageCount).toBe(0);
    message?.ack();
  });

  it('throws for an invalid message, which is dead-lettered, not requeued', async () => {
    const channel = await openChannel();
    const { queue, dlq } = await deadLettering(channel, Order);
    await amqplibPublish(queue.name, RAW.mismatch, RAW.notJson, RAW.valid1);

    expectQtyMismatch(await validationError(queue.get()));
    expectNotJson(await validationError(queue.get()));
    // Requeued, either would be first again.
    const valid = await queue.get();
    expect(valid?.data).toEqual(JSON.parse(RAW.valid1));
    valid?.ack();
    expect(await queue.get()).toBeNull();

    expect(channel.isOpen).toBe(true);
    expect(await deadLetters(dlq, queue, 2)).toEqual([RAW.mismatch, RAW.notJson]);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
  });

  it('with noAck, throws for an invalid message, which the broker has already dropped', async () => {
    const channel = await openChannel();
    const { queue, dlq } = await deadLettering(channel, Order);
    await amqplibPublish(queue.name, RAW.notJson, RAW.valid2);

    expectNotJson(await validationError(queue.get({ noAck: true })));
    const valid = await queue.get({ noAck: true });
    expect(valid?.data.items.map((item) => item.qty)).toEqual([4, 5]);
    expect(channel.isOpen).toBe(true);
    expect(await counts(queue)).toEqual({ messageCount: 0, consumerCount: 0 });
    expect(await counts(dlq)).toEqual({ messageCount: 0, consumerCount: 0 });
  });
});

// ---------------------------------------------------------------------------------------------
// Handles
// ---------------------------------------------------------------------------------------------

describe('handles with a schema: channel.exchange(name, { schema }) and channel.queue(name, { schema })', () => {
  it('validate as declared ones do', async () => {
    const setup = await openChannel();
    const declared = await setup.declareExchange(uniqueName('plain-x'), 'direct', {
      autoDelete: true,
    });
    const { dlx, dlq } = await deadLetterQueue(setup);
    const plainDeclared = await setup.declareQueue(uniqueName('plain-q'), {
      exclusive: true,
      arguments: { 'x-dead-letter-exchange': dlx },
    });
    await plainDeclared.bind(declared, 'orders');

    const channel = await openChannel(true);
    const exchange = channel.exchange(declared.name, { schema: Order });
    const queue = channel.queue(plainDeclared.name, { schema: Order });
    expect([exchange.schema, exchange.type]).toEqual([Order, undefined]);
    expect([queue.schema, queue.declared]).toEqual([Order, undefined]);

    expect(paths(await validationError(exchange.publish(ZERO_QTY_ORDER, 'orders')))).toEqual([
      ['items', 0, 'qty'],
    ]);
    expect(channel.isOpen).toBe(true);
    await exchange.publish(VALID_ORDER, 'orders');
    // A handle without a schema sends anything.
    await channel.exchange(declared.name).publish(RAW.mismatch, 'orders');
    expect(await counts(queue)).toEqual({ messageCount: 2, consumerCount: 0 });

    const valid = await queue.get();
    expect(valid?.data).toEqual(VALID_ORDER);
    valid?.ack();
    expectQtyMismatch(await validationError(queue.get()));
    expect(await deadLetters(dlq, plainDeclared, 1)).toEqual([RAW.mismatch]);

    const handled: Order[] = [];
    const invalid: string[] = [];
    const consumer = await queue.consume(
      (message) => {
        handled.push(message.data);
      },
      { settle: 'auto' },
    );
    consumer.on('invalid', (_error, message) => {
      invalid.push(message.text());
    });
    await amqplibPublish(queue.name, RAW.notJson, RAW.valid2);
    await waitFor(() => handled.length === 1 && invalid.length === 1, 5_000, 'both deliveries');
    expect(handled).toEqual([JSON.parse(RAW.valid2)]);
    expect(invalid).toEqual([RAW.notJson]);
    expect(await deadLetters(dlq, plainDeclared, 1)).toEqual([RAW.notJson]);
  });
});

// ---------------------------------------------------------------------------------------------
// message.json(schema)
// ---------------------------------------------------------------------------------------------

describe('message.json(schema) on a queue without a schema', () => {
  it('checks and transforms; SyntaxError without a schema for a body that is not JSON', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue(uniqueName('plain'), { exclusive: true });
    const event = { at: '2024-02-29T00:00:00.000Z', count: '12' };
    await amqplibPublish(
      queue.name,
      JSON.stringify(event),
      JSON.stringify({ ...event, count: 12 }),
      RAW.notJson,
    );

    const valid = await queue.get({ noAck: true });
    if (valid === null) return expect.fail('the queue is empty');
    const parsed = valid.json(Event);
    expect(parsed.at).toBeInstanceOf(Date);
    expect(parsed.at.toISOString()).toBe(event.at);
    expect(parsed.count).toBe(12);
    // Without a schema, data and json() are the plain JSON.
    expect(valid.data).toEqual(event);
    expect(valid.json()).toEqual(event);

    const mismatch = await queue.get({ noAck: true });
    if (mismatch === null) return expect.fail('the queue is empty');
    const error = thrownValidationError(() => mismatch.json(Event));
    expect(error.code).toBe('MESSAGE_INVALID');
    expect(paths(error)).toEqual([['count']]);
    expect(mismatch.json()).toEqual({ ...event, count: 12 });

    const notJson = await queue.get({ noAck: true });
    if (notJson === null) return expect.fail('the queue is empty');
    expectNotJson(thrownValidationError(() => notJson.json(Event)));
    expect(() => notJson.json()).toThrow(SyntaxError);
    expect(() => notJson.data).toThrow(SyntaxError);
    expect(notJson.text()).toBe(RAW.notJson);
  });
});
