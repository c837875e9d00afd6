/**
 * Applying a contract against RabbitMQ: `contract.apply()` declares what the
 * contract (or the part applied) needs and hands back typed handles.
 *
 * - Every publisher publishes (with `type` and JSON's content type), every
 *   consumer receives (one kind, and several kinds by handler map), every
 *   RPC endpoint answers; a value that does not match is refused before
 *   anything is sent; an invalid message is dead-lettered.
 * - Applying twice changes nothing; a partial apply declares only what its
 *   routes need.
 * - An entity that exists with other settings: a PRECONDITION_FAILED that
 *   names it, and the connection goes on.
 * - A queue's retry settings take effect; the caller's `onFailure` wins.
 * - Connection recovery declares the applied contract again.
 * - Bad input: a TypeError before anything reaches the broker.
 *
 * Every check is of what the broker did: what arrived, what a passive
 * declare finds.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { z } from 'zod';
import {
  ChannelError,
  type Connection,
  connect,
  defineBinding,
  defineConsumer,
  defineContract,
  defineExchange,
  defineMessage,
  definePublisher,
  defineQueue,
  defineRpc,
  type IncomingMessage,
  Message,
  MessageValidationError,
  RemoteError,
  UnknownMessageTypeError,
} from '../../lib/index.js';
import {
  deleteAfterTest,
  exchangeExists,
  queueCounts,
  queueExists,
  uniqueName,
  useConnection,
  waitFor,
} from '../support/amqp-helpers.js';
import { rabbitmqctlOn } from '../support/broker.js';
import { connectionPid } from '../support/fault-helpers.js';

const url = inject('amqpUrl');
const brokerNode = inject('brokerNode');
let connection: Connection;
const openChannel = useConnection(url, (opened) => {
  connection = opened;
});

async function rabbitmqctl(...args: string[]): Promise<string> {
  if (brokerNode !== '') return rabbitmqctlOn(brokerNode, ...args);
  const node = process.env.RABBITMQ_NODENAME ?? 'rabbit@localhost';
  const { stdout } = await promisify(execFile)('rabbitmqctl', ['-n', node, ...args]);
  return stdout;
}

const OrderCreated = defineMessage(
  'order.created',
  z.object({
    id: z.number().int(),
    // A string on the wire, a Date in the handler.
    placedAt: z.iso.datetime().transform((text) => new Date(text)),
  }),
);
const OrderCancelled = defineMessage(
  'order.cancelled',
  z.object({ id: z.number().int(), reason: z.string().min(1) }),
);
const QuoteRequest = defineMessage('quote.request', z.object({ sku: z.string() }));
const QuoteReply = defineMessage('quote.reply', z.object({ price: z.number() }));

const PLACED_AT = '2024-06-01T12:00:00.000Z';

/**
 * A shop's contract, under names of its own (deleted when the test ends):
 * orders (topic) feeds a work queue (retried, dead-lettered) and an events
 * queue (several kinds); dead letters go to a fanout and its queue; a
 * quote endpoint answers requests.
 */
function shopContract(prefix = uniqueName('contract')) {
  const names = {
    orders: `${prefix}.orders`,
    dead: `${prefix}.dead`,
    work: `${prefix}.work`,
    events: `${prefix}.events`,
    deadLetters: `${prefix}.dead-letters`,
    quotes: `${prefix}.quotes`,
  };
  const orders = defineExchange(names.orders, 'topic');
  const dead = defineExchange(names.dead, 'fanout');
  const work = defineQueue(names.work, {
    deadLetter: { exchange: dead },
    retry: { delays: [50] },
  });
  const events = defineQueue(names.events, { deadLetter: { exchange: dead } });
  const deadLetters = defineQueue(names.deadLetters);
  const quotes = defineQueue(names.quotes);
  const contract = defineContract({
    exchanges: { orders, dead },
    queues: { work, events, deadLetters, quotes },
    bindings: [
      defineBinding(work, orders, 'order.created'),
      defineBinding(events, orders, 'order.*'),
      defineBinding(deadLetters, dead),
    ],
    publishers: {
      orderCreated: definePublisher(orders, 'order.created', OrderCreated),
      orderCancelled: definePublisher(orders, 'order.cancelled', OrderCancelled),
      straightToWork: definePublisher(work, OrderCreated),
    },
    consumers: {
      processOrder: defineConsumer(work, OrderCreated),
      trackOrders: defineConsumer(events, [OrderCreated, OrderCancelled]),
    },
    rpc: { quote: defineRpc(quotes, QuoteRequest, QuoteReply) },
  });
  return { contract, names };
}

/** Deletes every queue and exchange of a shop contract when the test ends. */
function cleanUp(names: ReturnType<typeof shopContract>['names']): void {
  for (const name of [names.work, names.events, names.deadLetters, names.quotes]) {
    deleteAfterTest(connection, 'queue', name);
    deleteAfterTest(connection, 'queue', `${name}.retry.50ms`);
  }
  for (const name of [names.orders, names.dead]) deleteAfterTest(connection, 'exchange', name);
}

/** Waits until the broker reports `count` ready messages in the queue `name`. */
async function readyIn(name: string, count: number): Promise<void> {
  await waitFor(
    async () => (await queueCounts(connection, name))?.messageCount === count,
    5_000,
    `${count} ready messages in ${name}`,
  );
}

describe('contract.apply() on a connection', () => {
  it('publishes through every publisher, receives through every consumer, answers every endpoint', async () => {
    const { contract, names } = shopContract();
    cleanUp(names);
    const shop = await contract.apply(connection);
    try {
      expect(shop.channel.confirmMode).toBe(true);
      const processed: IncomingMessage<{ id: number; placedAt: Date }>[] = [];
      await shop.consumers.processOrder.consume(
        (message) => {
          processed.push(message);
        },
        { settle: 'auto' },
      );
      const created: number[] = [];
      const cancelled: string[] = [];
      await shop.consumers.trackOrders.consume(
        {
          'order.created': (message) => {
            created.push(message.data.id);
          },
          'order.cancelled': (message) => {
            cancelled.push(message.data.reason);
          },
        },
        { settle: 'auto' },
      );
      await shop.rpc.quote.serve((request) => ({ price: request.data.sku.length * 10 }));

      await shop.publishers.orderCreated.publish({ id: 1, placedAt: PLACED_AT });
      await shop.publishers.orderCancelled.publish({ id: 2, reason: 'changed my mind' });
      await shop.publishers.straightToWork.publish(
        { id: 3, placedAt: PLACED_AT },
        { properties: { messageId: 'm-3' } },
      );
      const reply = await shop.rpc.quote.call({ sku: 'lamp' }, { timeout: 5_000 });

      expect(reply).toEqual({ price: 40 });
      await waitFor(() => processed.length === 2, 5_000, 'two orders processed');
      await waitFor(
        () => created.length === 1 && cancelled.length === 1,
        5_000,
        'the events tracked',
      );
      expect(processed.map((message) => message.data.id).sort()).toEqual([1, 3]);
      expect(processed[0]?.data.placedAt).toEqual(new Date(PLACED_AT));
      for (const message of processed) {
        expect(message.properties.type).toBe('order.created');
        expect(message.properties.contentType).toBe('application/json');
      }
      expect(processed.find((message) => message.data.id === 3)?.properties.messageId).toBe('m-3');
      expect(created).toEqual([1]);
      expect(cancelled).toEqual(['changed my mind']);
      // The entity handles, by the contract's names.
      expect(shop.queues.work.name).toBe(names.work);
      expect(shop.exchanges.orders.name).toBe(names.orders);
    } finally {
      await shop.close();
    }
    // The channel apply opened is closed with it; the connection goes on.
    expect(shop.channel.isOpen).toBe(false);
    expect(connection.isOpen).toBe(true);
  });

  it('refuses a value that does not match, before anything is sent', async () => {
    const { contract, names } = shopContract();
    cleanUp(names);
    await using shop = await contract.apply(connection);

    await expect(
      shop.publishers.orderCreated.publish({ id: 1.5, placedAt: PLACED_AT }),
    ).rejects.toBeInstanceOf(MessageValidationError);
    await expect(
      shop.publishers.straightToWork.publish(
        { id: 1, placedAt: PLACED_AT },
        { properties: { type: 'order.cancelled' } },
      ),
    ).rejects.toBeInstanceOf(TypeError);
    await expect(shop.rpc.quote.call({ sku: 7 } as never)).rejects.toBeInstanceOf(
      MessageValidationError,
    );
    await shop.publishers.straightToWork.publish({ id: 2, placedAt: PLACED_AT });

    // Only the valid message reached the queue, behind where the others would be.
    await readyIn(names.work, 1);
    const message = await shop.queues.work.get({ noAck: true });
    expect(message?.json()).toEqual({ id: 2, placedAt: PLACED_AT });
  });

  it('dead-letters a message that does not match its kind, as the typed consumers do', async () => {
    const { contract, names } = shopContract();
    cleanUp(names);
    await using shop = await contract.apply(connection);
    const handled: unknown[] = [];
    const consumer = await shop.consumers.trackOrders.consume(
      {
        'order.created': (message) => {
          handled.push(message.data);
        },
        'order.cancelled': (message) => {
          handled.push(message.data);
        },
      },
      { settle: 'auto' },
    );
    const invalid: MessageValidationError[] = [];
    consumer.on('invalid', (error) => invalid.push(error));

    // Through the exchange handle, past the publishers' checks.
    const orders = shop.exchanges.orders;
    // A known kind whose body does not match it; a message without a type.
    await orders.publish(new Message({ id: 'x' }, { type: 'order.created' }), 'order.created', {
      mandatory: true,
    });
    await orders.publish({ id: 1 }, 'order.shipped', { mandatory: true });

    await readyIn(names.deadLetters, 2);
    expect(handled).toEqual([]);
    expect(invalid).toHaveLength(2);
    expect(invalid[0]?.message).toContain("a message of type 'order.created' does not match");
    expect(invalid[1]).toBeInstanceOf(UnknownMessageTypeError);
  });

  it('is idempotent: applying twice declares nothing new, and both work', async () => {
    const { contract, names } = shopContract();
    cleanUp(names);
    await using first = await contract.apply(connection);
    await first.publishers.straightToWork.publish({ id: 1, placedAt: PLACED_AT });
    await using second = await contract.apply(connection);

    // The queue kept its message: the second declare met the same queue.
    await readyIn(names.work, 1);
    await second.publishers.straightToWork.publish({ id: 2, placedAt: PLACED_AT });
    await readyIn(names.work, 2);
  });

  it('on a channel given to it: the handles use that channel, which stays open', async () => {
    const { contract, names } = shopContract();
    cleanUp(names);
    const channel = await openChannel(true);
    const shop = await contract.apply(channel);
    expect(shop.channel).toBe(channel);
    await shop.publishers.orderCreated.publish({ id: 1, placedAt: PLACED_AT });
    await readyIn(names.work, 1);
    await shop.close();
    expect(channel.isOpen).toBe(true);
  });

  it('an error reply from a failing handler reaches the caller', async () => {
    const { contract: shopWithRpc, names } = shopContract();
    cleanUp(names);
    await using shop = await shopWithRpc.apply(connection, { rpc: ['quote'] });
    const server = await shop.rpc.quote.serve(() => {
      throw new Error('no price');
    });
    server.on('error', () => {});
    await expect(shop.rpc.quote.call({ sku: 'x' }, { timeout: 5_000 })).rejects.toBeInstanceOf(
      RemoteError,
    );
  });
});

describe('a partial apply', () => {
  it('declares only what its routes need, and makes only their handles', async () => {
    const { contract, names } = shopContract();
    cleanUp(names);

    await using publisher = await contract.apply(connection, { publishers: ['orderCreated'] });
    expect(Object.keys(publisher.publishers)).toEqual(['orderCreated']);
    expect(Object.keys(publisher.consumers)).toEqual([]);
    expect(Object.keys(publisher.rpc)).toEqual([]);
    expect(await exchangeExists(connection, names.orders)).toBe(true);
    for (const name of [names.work, names.events, names.deadLetters]) {
      expect(await queueExists(connection, name)).toBe(false);
    }
    expect(await exchangeExists(connection, names.dead)).toBe(false);

    // The worker's part: its queue, the queue's binding, its dead letters and where they land.
    await using worker = await contract.apply(connection, { consumers: ['processOrder'] });
    expect(Object.keys(worker.consumers)).toEqual(['processOrder']);
    expect(await queueExists(connection, names.work)).toBe(true);
    expect(await exchangeExists(connection, names.dead)).toBe(true);
    expect(await queueExists(connection, names.deadLetters)).toBe(true);
    expect(await queueExists(connection, names.events)).toBe(false);
    expect(await queueExists(connection, names.quotes)).toBe(false);

    // The publisher's message reaches the worker's queue through the binding.
    const received: number[] = [];
    await worker.consumers.processOrder.consume(
      (message) => {
        received.push(message.data.id);
      },
      { settle: 'auto' },
    );
    await publisher.publishers.orderCreated.publish({ id: 7, placedAt: PLACED_AT });
    await waitFor(() => received.length === 1, 5_000, 'the order');
    expect(received).toEqual([7]);
  });

  it('a publisher to a queue declares that queue; an endpoint its queue', async () => {
    const { contract, names } = shopContract();
    cleanUp(names);
    await using shop = await contract.apply(connection, {
      publishers: ['straightToWork'],
      rpc: ['quote'],
    });
    expect(await queueExists(connection, names.work)).toBe(true);
    expect(await queueExists(connection, names.quotes)).toBe(true);
    expect(await queueExists(connection, names.events)).toBe(false);
    await shop.rpc.quote.serve((request) => ({ price: request.data.sku.length }));
    expect(await shop.rpc.quote.call({ sku: 'abc' }, { timeout: 5_000 })).toEqual({ price: 3 });
  });
});

describe('a conflict with what is on the broker', () => {
  it('rejects with PRECONDITION_FAILED naming the entity; the connection goes on', async () => {
    const { contract, names } = shopContract();
    cleanUp(names);
    const channel = await openChannel();
    // The queue exists with an argument the contract does not give it.
    await channel.declareQueue(names.work, { arguments: { 'x-message-ttl': 60_000 } });

    const error = await contract.apply(connection).then(
      () => undefined,
      (reason: unknown) => reason,
    );

    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({ code: 'PRECONDITION_FAILED', replyCode: 406 });
    expect((error as ChannelError).message).toContain(
      `contract queue '${names.work}' differs from the one on the broker: 406 PRECONDITION_FAILED - inequivalent arg 'x-message-ttl'`,
    );
    expect((error as ChannelError).cause).toMatchObject({ code: 'PRECONDITION_FAILED' });
    expect(connection.isOpen).toBe(true);
    // The same connection declares and applies again once the conflict is gone.
    await channel.queue(names.work).delete();
    await using shop = await contract.apply(connection);
    await shop.publishers.straightToWork.publish({ id: 1, placedAt: PLACED_AT });
    await readyIn(names.work, 1);
  });
});

describe('a conflict on a channel given to apply', () => {
  it('names the exchange; the refusal closed that channel, the connection goes on', async () => {
    const { contract, names } = shopContract();
    cleanUp(names);
    const setup = await openChannel();
    // The exchange exists with another type.
    await setup.declareExchange(names.orders, 'direct');
    const channel = await openChannel(true);

    const error = await contract.apply(channel).then(
      () => undefined,
      (reason: unknown) => reason,
    );

    expect(error).toBeInstanceOf(ChannelError);
    expect(error).toMatchObject({ code: 'PRECONDITION_FAILED', replyCode: 406 });
    expect((error as ChannelError).message).toContain(
      `contract exchange '${names.orders}' differs from the one on the broker: 406 PRECONDITION_FAILED`,
    );
    await channel.closed;
    expect(connection.isOpen).toBe(true);
    expect(await queueExists(connection, names.work)).toBe(false);
  });
});

describe("a queue's retry settings", () => {
  it('retry a failed message after the delay; the caller’s onFailure wins', async () => {
    const { contract, names } = shopContract();
    cleanUp(names);
    await using shop = await contract.apply(connection, { consumers: ['processOrder'] });
    const attempts: number[] = [];
    const consumer = await shop.consumers.processOrder.consume(async (message) => {
      attempts.push(message.attempt);
      if (message.attempt === 1) throw new Error('the first attempt fails');
      message.ack();
    });
    consumer.on('error', () => {});
    const channel = await openChannel(true);
    await channel
      .exchange('')
      .publish({ id: 1, placedAt: PLACED_AT }, names.work, { mandatory: true });

    await waitFor(() => attempts.length === 2, 5_000, 'the retry');
    expect(attempts).toEqual([1, 2]);
    expect(await queueExists(connection, `${names.work}.retry.50ms`)).toBe(true);
    await consumer.cancel();

    // With its own policy, the caller's: dead-lettered at once.
    const own = await shop.consumers.processOrder.consume(
      () => {
        throw new Error('fails');
      },
      { onFailure: 'dead-letter' },
    );
    own.on('error', () => {});
    await channel
      .exchange('')
      .publish({ id: 2, placedAt: PLACED_AT }, names.work, { mandatory: true });
    await readyIn(names.deadLetters, 1);
    await own.cancel();
  });
});

describe('recovery', { timeout: 60_000 }, () => {
  it('declares the applied contract again after the broker closes the connection', async () => {
    const { contract, names } = shopContract();
    cleanUp(names);
    const connectionName = uniqueName('contract-recovery');
    const own = await connect(url, { connectionName });
    try {
      await using shop = await contract.apply(own, {
        publishers: ['orderCreated'],
        consumers: ['processOrder'],
      });
      // Gone from the broker while the connection lives: only recovery can bring it back.
      const side = await openChannel();
      await side.queue(names.work).delete({ ifUnused: false, ifEmpty: false });
      expect(await queueExists(connection, names.work)).toBe(false);

      const recovered = new Promise((resolve) => own.once('recovered', resolve));
      await rabbitmqctl(
        'close_connection',
        await connectionPid(rabbitmqctl, connectionName),
        'test',
      );
      await recovered;

      expect(await queueExists(connection, names.work)).toBe(true);
      const received: number[] = [];
      await shop.consumers.processOrder.consume(
        (message) => {
          received.push(message.data.id);
        },
        { settle: 'auto' },
      );
      // Through the exchange and the binding, both declared again.
      await shop.publishers.orderCreated.publish({ id: 9, placedAt: PLACED_AT });
      await waitFor(() => received.length === 1, 10_000, 'the order after recovery');
      expect(received).toEqual([9]);
    } finally {
      await own.close();
    }
  });
});

describe('bad input, refused before anything reaches the broker', () => {
  const { contract } = shopContract('never-declared');

  it('a target that is neither a Connection nor a Channel', async () => {
    for (const target of [undefined, null, {}, 'amqp://localhost', { openChannel() {} }]) {
      await expect(contract.apply(target as never)).rejects.toBeInstanceOf(TypeError);
    }
  });

  it('a route name the contract does not have, or options it does not take', async () => {
    await expect(contract.apply(connection, { publishers: ['nope' as never] })).rejects.toThrow(
      /no publisher 'nope' \(it has 'orderCreated', 'orderCancelled', 'straightToWork'\)/,
    );
    await expect(
      contract.apply(connection, { consumers: ['orderCreated' as never] }),
    ).rejects.toBeInstanceOf(TypeError);
    await expect(contract.apply(connection, { rpc: 'quote' as never })).rejects.toBeInstanceOf(
      TypeError,
    );
    await expect(
      contract.apply(connection, { publisher: ['orderCreated'] } as never),
    ).rejects.toThrow(/no option 'publisher'/);
    expect(await exchangeExists(connection, 'never-declared.orders')).toBe(false);
  });

  it('retry settings retry() refuses', async () => {
    const work = defineQueue(uniqueName('bad-retry'), { retry: { delays: [-1] } });
    const bad = defineContract({
      queues: { work },
      consumers: { process: defineConsumer(work, OrderCreated) },
    });
    await expect(bad.apply(connection)).rejects.toBeInstanceOf(RangeError);
    expect(await queueExists(connection, work.name)).toBe(false);
  });
});
