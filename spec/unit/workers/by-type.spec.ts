/**
 * byType and typedPublisher (lib/workers/by-type.ts, typed-publisher.ts)
 * against a scripted broker: bad input is a TypeError or RangeError and
 * sends nothing; a router picks each delivery's handler by its `type` (or
 * routing key), and a message of an unknown kind or an invalid body is
 * rejected without requeue and reported as `invalid`, whatever `onFailure`
 * says; a typed publisher sends the JSON of the value with its `type`.
 * The same behaviour against RabbitMQ: spec/integration/by-type.spec.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  byType,
  type Exchange,
  type IncomingMessage,
  Message,
  type MessageTypes,
  MessageValidationError,
  type Queue,
  typedPublisher,
  UnknownMessageTypeError,
} from '../../../lib/index.js';
import {
  consume,
  declareQueue,
  expectNothingMore,
  expectSettled,
  openChannel,
  type Scripted,
  scriptedConnection,
  teardown,
} from '../entities/harness.js';

afterEach(teardown);

const Created = z.object({ id: z.number() });
const Cancelled = z.object({ id: z.number(), reason: z.string() });
const Kinds = { created: Created, cancelled: Cancelled } satisfies MessageTypes;

/** Calls `make` with arguments the types forbid, as a JavaScript caller could. */
function untyped<A extends unknown[], R>(make: (...args: A) => R): (...args: unknown[]) => R {
  return make as unknown as (...args: unknown[]) => R;
}

describe('byType refuses bad input when it is made', () => {
  const make = untyped(byType);
  const noop = (): void => {};
  const cases: [string, () => unknown, ErrorConstructor, RegExp][] = [
    ['no map', () => make(undefined, {}), TypeError, /must be an object of message types/],
    ['a map that is an array', () => make([Created], {}), TypeError, /got an array/],
    ['an empty map', () => make({}, {}), RangeError, /no message types/],
    ['no handlers', () => make(Kinds), TypeError, /needs an object of handlers/],
    [
      'a kind without a handler',
      () => make(Kinds, { created: noop }),
      TypeError,
      /'cancelled' needs a handler function, got none/,
    ],
    [
      'a handler that is not a function',
      () => make(Kinds, { created: noop, cancelled: 'cancel' }),
      TypeError,
      /'cancelled' needs a handler function, got string/,
    ],
    [
      'a handler for a kind the map does not have',
      () => make(Kinds, { created: noop, cancelled: noop, shipped: noop }),
      RangeError,
      /'shipped', which is not a message type/,
    ],
    [
      'a value in the map that is not a schema',
      () => make({ created: Created, cancelled: 42 }, { created: noop, cancelled: noop }),
      TypeError,
      /'cancelled' must be a zod schema, got number/,
    ],
    [
      'a route without a schema',
      () => make({ created: { handle: noop } }),
      TypeError,
      /'created' has no schema/,
    ],
    [
      'a route without a handler',
      () => make({ created: { schema: Created } }),
      TypeError,
      /'created' needs a handler function/,
    ],
    [
      'a route whose schema is not one',
      () => make({ created: { schema: 'Created', handle: noop } }),
      TypeError,
      /must be a zod schema, got string/,
    ],
    [
      'a kind over 255 bytes',
      () => make({ ['k'.repeat(256)]: { schema: Created, handle: noop } }),
      RangeError,
      /over 255 bytes/,
    ],
    [
      'an unknown from',
      () => make(Kinds, { created: noop, cancelled: noop }, { from: 'exchange' }),
      RangeError,
      /'type' or 'routingKey', got 'exchange'/,
    ],
    [
      'an unknown option',
      () => make(Kinds, { created: noop, cancelled: noop }, { settle: 'auto' }),
      TypeError,
      /no option 'settle'/,
    ],
  ];
  it.each(cases)('%s', (_, attempt, kind, message) => {
    expect(attempt).toThrow(kind);
    expect(attempt).toThrow(message);
  });

  it('copies the map: a kind added later is not routed', () => {
    const kinds: Record<string, z.ZodType> = { created: Created };
    const router = byType(kinds, { created: noop });
    kinds.cancelled = Cancelled;
    expect(router.types).toEqual(['created']);
    expect(router.from).toBe('type');
  });
});

/** A consumer on a scripted queue, handled by `router`, with what it reports. */
async function routed(
  handlers: { created?: (message: IncomingMessage<{ id: number }>) => void } = {},
  from: 'type' | 'routingKey' = 'type',
) {
  const s = await scriptedConnection();
  const channel = await openChannel(s, 1);
  const queue: Queue = await declareQueue(s, channel, 'q');
  const handled: [string, unknown][] = [];
  const router = byType(
    Kinds,
    {
      created: (message) => {
        handled.push(['created', message.data]);
        handlers.created?.(message);
      },
      cancelled: (message) => {
        handled.push(['cancelled', message.data]);
      },
    },
    { from },
  );
  const consumer = await consume(s, queue, router, { settle: 'auto', onFailure: 'requeue' });
  const invalid: MessageValidationError[] = [];
  const errors: unknown[] = [];
  consumer.on('invalid', (error) => invalid.push(error));
  consumer.on('error', (error) => errors.push(error));
  /** Delivers `body` with the `type` property (or routing key) `kind`. */
  const send = (tag: number, kind: string | undefined, body: unknown): void => {
    s.peer.encoder.content(
      1,
      'basic.deliver',
      {
        consumerTag: consumer.tag,
        deliveryTag: tag,
        redelivered: false,
        exchange: 'x',
        routingKey: from === 'routingKey' ? (kind ?? '') : 'k',
      },
      from === 'type' && kind !== undefined ? { type: kind } : {},
      Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    );
  };
  return { s, handled, invalid, errors, send };
}

describe('a byType router in a consumer', () => {
  it("hands each kind to its handler, typed by its schema, and acks it (settle: 'auto')", async () => {
    const { s, handled, invalid, send } = await routed();
    send(1, 'created', { id: 1 });
    send(2, 'cancelled', { id: 2, reason: 'duplicate' });
    s.peer.flush();
    expect(await expectSettled(s.peer, 1, [1, 2])).toEqual(
      new Map([
        [1, 'ack'],
        [2, 'ack'],
      ]),
    );
    expect(handled).toEqual([
      ['created', { id: 1 }],
      ['cancelled', { id: 2, reason: 'duplicate' }],
    ]);
    expect(invalid).toEqual([]);
  });

  it('refuses an unknown kind, no type, an invalid body and a body that is not JSON', async () => {
    const { s, handled, invalid, errors, send } = await routed();
    send(1, 'shipped', { id: 1 });
    send(2, undefined, { id: 2 });
    send(3, 'cancelled', { id: 3 });
    send(4, 'created', 'not json');
    send(5, 'created', { id: 5 });
    s.peer.flush();
    expect(await expectSettled(s.peer, 1, [1, 2, 3, 4, 5])).toEqual(
      new Map([
        [1, 'drop'],
        [2, 'drop'],
        [3, 'drop'],
        [4, 'drop'],
        [5, 'ack'],
      ]),
    );
    await expectNothingMore(s);
    expect(handled).toEqual([['created', { id: 5 }]]);
    expect(errors).toEqual([]);
    const [shipped, untypedMessage, mismatch, notJson] = invalid;
    expect(shipped).toBeInstanceOf(UnknownMessageTypeError);
    expect(shipped).toMatchObject({
      code: 'MESSAGE_INVALID',
      name: 'UnknownMessageTypeError',
      type: 'shipped',
      from: 'type',
      known: ['created', 'cancelled'],
      message: "unknown message type 'shipped' (known: 'created' and 'cancelled')",
    });
    expect(untypedMessage).toMatchObject({
      type: undefined,
      message: "a message without a type property (known: 'created' and 'cancelled')",
    });
    expect(mismatch).not.toBeInstanceOf(UnknownMessageTypeError);
    expect(mismatch?.message).toBe(
      "a message of type 'cancelled' does not match its schema: reason: Invalid input: expected string, received undefined",
    );
    expect(mismatch?.issues.map((issue) => issue.path)).toEqual([['reason']]);
    expect(notJson?.issues).toEqual([]);
    expect(notJson?.cause).toBeInstanceOf(SyntaxError);
  });

  it('by routing key: picks the kind from it, and refuses one it does not know', async () => {
    const { s, handled, invalid, send } = await routed({}, 'routingKey');
    send(1, 'cancelled', { id: 1, reason: 'r' });
    send(2, 'orders', { id: 2 });
    s.peer.flush();
    expect(await expectSettled(s.peer, 1, [1, 2])).toEqual(
      new Map([
        [1, 'ack'],
        [2, 'drop'],
      ]),
    );
    expect(handled).toEqual([['cancelled', { id: 1, reason: 'r' }]]);
    expect(invalid[0]).toMatchObject({
      type: 'orders',
      from: 'routingKey',
      message: "routing key 'orders' names no message type (known: 'created' and 'cancelled')",
    });
  });

  it("a handler's own failure goes to onFailure and the 'error' event", async () => {
    const failure = new Error('the database is down');
    const { s, invalid, errors, send } = await routed({
      created: () => {
        throw failure;
      },
    });
    send(1, 'created', { id: 1 });
    s.peer.flush();
    expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({ deliveryTag: 1, requeue: true });
    expect(errors).toEqual([failure]);
    expect(invalid).toEqual([]);
  });
});

describe('dispatch, for a messages() loop', () => {
  it('runs the handler, or rejects the message without requeue and resolves with why', async () => {
    const s = await scriptedConnection();
    const channel = await openChannel(s, 1);
    const queue: Queue = await declareQueue(s, channel, 'q');
    const seen: unknown[] = [];
    const router = byType({
      created: { schema: Created, handle: (message) => void seen.push(message.data.id) },
    });
    const messages: IncomingMessage[] = [];
    const consumer = await consume(s, queue, (message) => void messages.push(message));
    for (const [tag, type] of [
      [1, 'created'],
      [2, 'cancelled'],
    ] as const) {
      s.peer.encoder.content(
        1,
        'basic.deliver',
        {
          consumerTag: consumer.tag,
          deliveryTag: tag,
          redelivered: false,
          exchange: '',
          routingKey: 'q',
        },
        { type },
        Buffer.from(JSON.stringify({ id: tag })),
      );
    }
    s.peer.flush();
    await expect.poll(() => messages.length).toBe(2);
    expect(await router.dispatch(messages[0] as IncomingMessage)).toBeUndefined();
    expect(seen).toEqual([1]);
    expect(messages[0]?.settled).toBe(false);
    const refused = await router.dispatch(messages[1] as IncomingMessage);
    expect(refused).toBeInstanceOf(UnknownMessageTypeError);
    expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({
      deliveryTag: 2,
      requeue: false,
    });
  });
});

describe('typedPublisher', () => {
  async function exchangeOn(): Promise<{ s: Scripted; exchange: Exchange }> {
    const s = await scriptedConnection();
    const channel = await openChannel(s, 1);
    return { s, exchange: channel.exchange('orders') };
  }

  it('sends the JSON of the value with its type, routed by the kind unless told', async () => {
    const { s, exchange } = await exchangeOn();
    const orders = typedPublisher(exchange, Kinds);
    expect(orders.types).toEqual(['created', 'cancelled']);
    await orders.publish('created', { id: 1 });
    const first = await s.peer.expectContent('basic.publish', 1);
    expect(first.args).toMatchObject({
      exchange: 'orders',
      routingKey: 'created',
      mandatory: true,
    });
    expect(first.properties).toEqual({ contentType: 'application/json', type: 'created' });
    expect(JSON.parse(first.body.toString())).toEqual({ id: 1 });

    await orders.publish(
      'cancelled',
      new Message({ id: 2, reason: 'r' }, { messageId: 'm-2', headers: { tenant: 'acme' } }),
      'orders.eu',
      { mandatory: false },
    );
    const second = await s.peer.expectContent('basic.publish', 1);
    expect(second.args).toMatchObject({ routingKey: 'orders.eu', mandatory: false });
    expect(second.properties).toEqual({
      contentType: 'application/json',
      messageId: 'm-2',
      headers: { tenant: 'acme' },
      type: 'cancelled',
    });
  });

  it('refuses bad input and invalid values, sending nothing', async () => {
    const { s, exchange } = await exchangeOn();
    const make = untyped(typedPublisher);
    expect(() => make(exchange, {})).toThrow(RangeError);
    expect(() => make(exchange, { created: {} })).toThrow(/must be a zod schema, got object/);
    expect(() => make('orders', Kinds)).toThrow(/needs an Exchange, got string/);
    const withSchema = exchange.channel.exchange('orders', { schema: Created });
    expect(() => make(withSchema, Kinds)).toThrow(/without a schema/);

    const orders = typedPublisher(exchange, Kinds);
    const publish = untyped(orders.publish);
    await expect(publish('shipped', { id: 1 })).rejects.toThrow(RangeError);
    await expect(publish(7, { id: 1 })).rejects.toThrow(TypeError);
    const invalid = publish('cancelled', { id: 1 });
    await expect(invalid).rejects.toBeInstanceOf(MessageValidationError);
    await expect(invalid).rejects.toThrow(
      "the message of type 'cancelled' does not match its schema: reason:",
    );
    await expect(publish('created', new Message({ id: 1 }, { type: 'other' }))).rejects.toThrow(
      /has type 'other'/,
    );
    await expect(orders.publish('created', { id: 1 }, 'x'.repeat(256))).rejects.toThrow(RangeError);
    await expectNothingMore(s);
  });

  it('sends a string value as JSON, as a schema exchange does', async () => {
    const { s, exchange } = await exchangeOn();
    const notes = typedPublisher(exchange, { note: z.string() });
    await notes.publish('note', 'lamp');
    const sent = await s.peer.expectContent('basic.publish', 1);
    expect(sent.body.toString()).toBe('"lamp"');
  });
});
