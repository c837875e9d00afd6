/**
 * Dead letters that explain themselves (lib/workers/dead-letter.ts, why.ts): the copy warren
 * publishes (confirmed, before the ack) to the exchange a consumer names or to the queue's own
 * dead-letter exchange carries the `x-warren-*` headers, bounded, with RabbitMQ's `x-death`
 * untouched; a dead-letter exchange set by a policy (which a client cannot see) gets the
 * broker's own dead letter; a copy that cannot be published leaves the original in the broker's
 * hands (requeued, or dead-lettered by the broker), never lost. Checked against the broker.
 */
import { afterEach, beforeEach, describe, expect, inject, it, onTestFinished } from 'vitest';
import { z } from 'zod';
import {
  type Channel,
  ChannelError,
  type Connection,
  deadLetter,
  type FieldTable,
  type IncomingMessage,
  Message,
  MessageValidationError,
  type Queue,
  retry,
  WarrenHeaders,
} from '../../lib/index.js';
import {
  deleteAfterTest,
  queueCounts,
  uniqueName,
  useConnection,
  waitFor,
} from '../support/amqp-helpers.js';
import { rejectionOf } from '../support/fault-helpers.js';
import { rabbitmqctl } from '../support/test-broker.js';

const url = inject('amqpUrl');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

let warnings: (Error & { code?: string })[] = [];
const onWarning = (warning: Error) => warnings.push(warning);
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

/**
 * An exchange and a queue bound to it, deleted after the test: direct with `key`, or fanout
 * without one.
 */
async function deadLetters(
  channel: Channel,
  key?: string,
): Promise<{ exchange: string; queue: Queue }> {
  const exchange = uniqueName('dl-exchange');
  await channel.declareExchange(exchange, key === undefined ? 'fanout' : 'direct');
  deleteAfterTest(connection, 'exchange', exchange);
  const queue = await channel.declareQueue(uniqueName('dl-queue'));
  deleteAfterTest(connection, 'queue', queue.name);
  await queue.bind(exchange, key ?? '');
  return { exchange, queue };
}

async function declare(channel: Channel, args: FieldTable = {}, quorum = false): Promise<Queue> {
  const name = uniqueName('dl-source');
  const queue = await channel.declareQueue(name, {
    arguments: quorum ? { 'x-queue-type': 'quorum', ...args } : args,
  });
  deleteAfterTest(connection, 'queue', name);
  return queue;
}

async function send(queue: Queue, body: unknown, properties: FieldTable = {}): Promise<void> {
  const channel = await openChannel(true);
  await channel.exchange('').publish(new Message(body, { headers: properties }), queue.name);
}

/** Waits for one message in `queue` and takes it (acked). */
async function takeOne(queue: Queue): Promise<IncomingMessage> {
  await waitFor(
    async () => ((await queueCounts(connection, queue.name))?.messageCount ?? 0) >= 1,
    5_000,
    `a message in ${queue.name}`,
  );
  const message = await queue.get();
  if (message === null) throw new Error(`${queue.name} is empty`);
  message.ack();
  return message;
}

describe.each([false, true])('dead letters (quorum: %s)', (quorum) => {
  it('to the exchange the consumer names, with the routing key it names, saying why', async () => {
    const channel = await openChannel();
    const dead = await deadLetters(channel, 'dead.key');
    const queue = await declare(channel, {}, quorum);
    const consumer = await queue.consume(
      () => {
        throw Object.assign(new RangeError('no such sku'), { code: 'E_SKU' });
      },
      { onFailure: deadLetter({ to: { exchange: dead.exchange, routingKey: 'dead.key' } }) },
    );
    consumer.on('error', () => {});
    await send(queue, { sku: 'X' }, { tenant: 'acme' });
    const copy = await takeOne(dead.queue);
    expect(copy.json()).toEqual({ sku: 'X' });
    expect(copy.routingKey).toBe('dead.key');
    expect(copy.headers).toMatchObject({
      tenant: 'acme',
      'x-warren-reason': 'policy',
      'x-warren-attempt': 1,
      'x-warren-error-name': 'RangeError',
      'x-warren-error-code': 'E_SKU',
      'x-warren-error-message': 'no such sku',
      'x-warren-queue': queue.name,
      'x-warren-original-exchange': '',
      'x-warren-original-routing-key': queue.name,
    });
    expect(copy.headers['x-warren-first-failure']).toBe(copy.headers['x-warren-last-failure']);
    await consumer.cancel();
    expect(await queueCounts(connection, queue.name)).toMatchObject({ messageCount: 0 });
  });

  it("to the queue's own dead-letter exchange (its arguments), with its routing key", async () => {
    const channel = await openChannel();
    const dead = await deadLetters(channel, 'from.argument');
    const queue = await declare(
      channel,
      { 'x-dead-letter-exchange': dead.exchange, 'x-dead-letter-routing-key': 'from.argument' },
      quorum,
    );
    const consumer = await queue.consume(
      () => {
        throw new Error('broken');
      },
      { onFailure: deadLetter() },
    );
    consumer.on('error', () => {});
    await send(queue, 'body');
    const copy = await takeOne(dead.queue);
    expect(copy.text()).toBe('body');
    expect(copy.headers).toMatchObject({
      'x-warren-reason': 'policy',
      'x-warren-error-message': 'broken',
    });
    // warren published the copy: the broker did not dead-letter it, so x-death has no entry for it.
    expect(copy.headers['x-death']).toBeUndefined();
    await consumer.cancel();
  });
});

describe('what the headers hold', () => {
  it('texts are bounded, issues at most 10, each issue message at most 256 characters', async () => {
    const channel = await openChannel();
    const dead = await deadLetters(channel);
    const queue = await declare(channel);
    const Schema = z.object({
      values: z.array(z.number().refine(() => false, { message: 'm'.repeat(1_000) })),
    });
    const consumer = await queue.consume(
      (message) => {
        // A MessageValidationError from the handler: invalid, like a queue's schema failure.
        message.json(Schema);
      },
      { onFailure: deadLetter({ to: { exchange: dead.exchange } }) },
    );
    const invalid: unknown[] = [];
    const errors: unknown[] = [];
    consumer.on('invalid', (error) => invalid.push(error));
    consumer.on('error', (error) => errors.push(error));
    await send(queue, { values: Array.from({ length: 15 }, (_, index) => index) });
    const copy = await takeOne(dead.queue);
    expect(invalid).toHaveLength(1);
    expect(invalid[0]).toBeInstanceOf(MessageValidationError);
    expect(errors).toEqual([]);
    const headers = copy.headers;
    expect(headers[WarrenHeaders.reason]).toBe('invalid');
    const issues = headers[WarrenHeaders.issues] as FieldTable[];
    expect(issues).toHaveLength(10);
    expect(issues[3]).toMatchObject({ path: 'values[3]', code: 'custom' });
    const issueMessage = String(issues[3]?.message);
    expect(issueMessage.length).toBe(256);
    expect(issueMessage.endsWith('…')).toBe(true);
    expect((headers[WarrenHeaders.errorMessage] as string).length).toBe(1024);
    await consumer.cancel();

    // A hostile error: a long name and code, a message of megabytes.
    const other = await declare(channel);
    const second = await other.consume(
      () => {
        const error = new Error('x'.repeat(2_000_000)) as Error & { code: string };
        error.name = 'N'.repeat(500);
        error.code = 'C'.repeat(500);
        throw error;
      },
      { onFailure: deadLetter({ to: { exchange: dead.exchange } }) },
    );
    second.on('error', () => {});
    await send(other, 'hostile');
    const bounded = await takeOne(dead.queue);
    expect((bounded.headers[WarrenHeaders.errorName] as string).length).toBe(128);
    expect((bounded.headers[WarrenHeaders.errorCode] as string).length).toBe(128);
    expect((bounded.headers[WarrenHeaders.errorMessage] as string).length).toBe(1024);
    await second.cancel();
  });

  it('a thrown non-Error: its typeof as the name, its inspection as the message', async () => {
    const channel = await openChannel();
    const dead = await deadLetters(channel);
    const queue = await declare(channel);
    const consumer = await queue.consume(
      () => {
        throw { reason: 'plain object' };
      },
      { onFailure: deadLetter({ to: { exchange: dead.exchange } }) },
    );
    consumer.on('error', () => {});
    await send(queue, 'plain');
    const copy = await takeOne(dead.queue);
    expect(copy.headers).toMatchObject({
      'x-warren-error-name': 'object',
      'x-warren-error-message': "{ reason: 'plain object' }",
    });
    expect(copy.headers[WarrenHeaders.errorCode]).toBeUndefined();
    await consumer.cancel();
  });

  it("x-death stays intact: a message the broker dead-lettered before keeps RabbitMQ's record", async () => {
    const channel = await openChannel();
    const dead = await deadLetters(channel);
    const queue = await declare(channel);
    // A holding queue whose TTL dead-letters into the source queue: the broker writes x-death.
    const holding = await channel.declareQueue(uniqueName('dl-holding'), {
      arguments: {
        'x-message-ttl': 10,
        'x-dead-letter-exchange': '',
        'x-dead-letter-routing-key': queue.name,
      },
    });
    deleteAfterTest(connection, 'queue', holding.name);
    let delivered: IncomingMessage | undefined;
    const consumer = await queue.consume(
      (message) => {
        delivered = message;
        throw new Error('fails');
      },
      { onFailure: deadLetter({ to: { exchange: dead.exchange } }) },
    );
    consumer.on('error', () => {});
    await send(holding, 'via the holding queue');
    const copy = await takeOne(dead.queue);
    const deaths = copy.headers['x-death'] as FieldTable[];
    expect(deaths).toEqual(delivered?.headers['x-death']);
    expect(deaths[0]).toMatchObject({ queue: holding.name, reason: 'expired', count: 1 });
    expect(copy.headers['x-first-death-queue']).toBe(holding.name);
    // Where it was published before warren moved it: by the broker, to the default exchange.
    expect(copy.headers['x-warren-original-routing-key']).toBe(queue.name);
    await consumer.cancel();
  });
});

describe('a dead-letter exchange warren cannot see, or cannot reach', () => {
  it('set by a policy: the broker dead-letters the message (x-death: rejected), and a warning says the headers are missing', async () => {
    const channel = await openChannel();
    const dead = await deadLetters(channel);
    const queue = await declare(channel);
    const policy = uniqueName('dl-policy');
    await rabbitmqctl(
      'set_policy',
      policy,
      `^${queue.name}$`,
      JSON.stringify({ 'dead-letter-exchange': dead.exchange }),
      '--apply-to',
      'queues',
    );
    onTestFinished(async () => {
      await rabbitmqctl('clear_policy', policy);
    });
    const consumer = await queue.consume(
      () => {
        throw new Error('fails');
      },
      { onFailure: deadLetter() },
    );
    consumer.on('error', () => {});
    await send(queue, 'by policy');
    const copy = await takeOne(dead.queue);
    expect(copy.text()).toBe('by policy');
    expect((copy.headers['x-death'] as FieldTable[])[0]).toMatchObject({
      queue: queue.name,
      reason: 'rejected',
    });
    expect(copy.headers[WarrenHeaders.reason]).toBeUndefined();
    expect(warnings.map((warning) => warning.code)).toContain('WARREN_DEAD_LETTER_UNKNOWN');
    await consumer.cancel();
  });

  it('a named exchange that does not exist: consume() rejects with 404, before basic.consume', async () => {
    const channel = await openChannel();
    const queue = await declare(channel);
    const error = await rejectionOf(
      queue.consume(() => {}, {
        onFailure: retry({ delays: [10], deadLetter: { exchange: uniqueName('missing') } }),
      }),
    );
    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({ code: 'NOT_FOUND' });
    expect(channel.isOpen).toBe(true);
    expect(await queueCounts(connection, queue.name)).toMatchObject({ consumerCount: 0 });
    for (const wait of ['10ms'])
      deleteAfterTest(connection, 'queue', `${queue.name}.retry.${wait}`);
  });

  it('a copy that cannot be published: the original is requeued after a pause, never lost; once the exchange is back it moves', async () => {
    const channel = await openChannel();
    const dead = await deadLetters(channel);
    const queue = await declare(channel);
    let calls = 0;
    const consumer = await queue.consume(
      () => {
        calls++;
        throw new Error('fails');
      },
      { onFailure: deadLetter({ to: { exchange: dead.exchange } }) },
    );
    consumer.on('error', () => {});
    await channel.exchange(dead.exchange).delete({ ifUnused: false });
    await send(queue, 'kept');
    await waitFor(
      () => warnings.some((warning) => warning.code === 'WARREN_FAILURE_HANDLER_FAILED'),
      5_000,
      'the warning',
    );
    expect(warnings.find((w) => w.code === 'WARREN_FAILURE_HANDLER_FAILED')?.message).toContain(
      'NOT_FOUND',
    );
    // Put the exchange and its binding back: the next attempt moves the message there.
    await channel.declareExchange(dead.exchange, 'fanout');
    await dead.queue.bind(dead.exchange);
    const copy = await takeOne(dead.queue);
    expect(copy.text()).toBe('kept');
    expect(calls).toBeGreaterThanOrEqual(2);
    await consumer.cancel();
    expect(await queueCounts(connection, queue.name)).toMatchObject({ messageCount: 0 });
  });

  it("with the named policies, a handler's MessageValidationError is never retried", async () => {
    const channel = await openChannel();
    const dead = await deadLetters(channel);
    const queue = await declare(channel, { 'x-dead-letter-exchange': dead.exchange });
    let calls = 0;
    const consumer = await queue.consume(
      (message) => {
        calls++;
        message.json(z.object({ id: z.number() }));
      },
      { onFailure: 'retry-once' },
    );
    const invalid: unknown[] = [];
    consumer.on('invalid', (error) => invalid.push(error));
    await send(queue, { id: 'one' });
    const copy = await takeOne(dead.queue);
    expect(calls).toBe(1);
    expect(invalid).toHaveLength(1);
    expect((copy.headers['x-death'] as FieldTable[])[0]).toMatchObject({ reason: 'rejected' });
    await consumer.cancel();
  });

  it('deadLetter() refuses bad options before anything is sent', () => {
    expect(() => deadLetter({ to: 'elsewhere' as never })).toThrow(RangeError);
    expect(() => deadLetter({ to: { exchange: 42 } as never })).toThrow(TypeError);
    expect(() => deadLetter({ to: { exchange: 'x', key: 'k' } as never })).toThrow(TypeError);
    expect(() => deadLetter({ target: 'queue' } as never)).toThrow(TypeError);
  });
});
