/**
 * Applying a contract, as a user of the package writes it, checked by the
 * compiler against dist/index.d.ts (`npm run test:types`): a publisher
 * takes exactly its message's input type, a consumer's handler receives its
 * output type, a consumer of several kinds needs a handler for each, an
 * endpoint's call and serve are typed by its request and reply, and a
 * partial apply has only the handles of the routes it names. Nothing here
 * runs; each `@ts-expect-error` must meet an error.
 */
import {
  type AppliedContract,
  type Channel,
  type Connection,
  type Consumer,
  defineBinding,
  defineConsumer,
  defineContract,
  defineExchange,
  defineMessage,
  definePublisher,
  defineQueue,
  defineRpc,
  type Exchange,
  type IncomingMessage,
  type PublisherHandle,
  type Queue,
} from 'warren';
import { z } from 'zod';

/** Holds a value of type `T`: `accept<T>()(value)` fails to compile unless `value` is a `T`. */
function accept<T>(): (value: T) => void {
  return () => {};
}

/** Compiles only when `A` and `B` are the same type. */
type Equal<A, B> =
  (<V>() => V extends A ? 1 : 2) extends <V>() => V extends B ? 1 : 2 ? true : false;
function same<A, B>(_proof: Equal<A, B>): void {}

declare const connection: Connection;
declare const channel: Channel;

// The shared module.
const orderCreated = defineMessage(
  'order.created',
  z.object({
    id: z.number(),
    // A string on the wire, a Date in the handler.
    placedAt: z.string().transform((text) => new Date(text)),
  }),
);
const orderCancelled = defineMessage(
  'order.cancelled',
  z.object({ id: z.number(), reason: z.string() }),
);
const quoteRequest = defineMessage('quote.request', z.object({ sku: z.string() }));
const quoteReply = defineMessage(
  'quote.reply',
  z.object({ cents: z.number().transform((cents) => BigInt(cents)) }),
);
const orders = defineExchange('orders', 'topic');
const work = defineQueue('orders.work', { retry: { delays: [1_000] } });
const events = defineQueue('orders.events');
const quotes = defineQueue('quotes');
const shop = defineContract({
  exchanges: { orders },
  queues: { work, events, quotes },
  bindings: [defineBinding(work, orders, 'order.created'), defineBinding(events, orders, '#')],
  publishers: {
    orderCreated: definePublisher(orders, 'order.created', orderCreated),
    orderCancelled: definePublisher(orders, 'order.cancelled', orderCancelled),
  },
  consumers: {
    processOrder: defineConsumer(work, orderCreated),
    trackOrders: defineConsumer(events, [orderCreated, orderCancelled]),
  },
  rpc: { quote: defineRpc(quotes, quoteRequest, quoteReply) },
});

type Created = { id: number; placedAt: Date };
type Cancelled = { id: number; reason: string };

// A whole contract, on a connection or a channel: a handle for every route.
async function whole(): Promise<void> {
  const applied = await shop.apply(connection);
  accept<AppliedContract<typeof shop.parts>>()(applied);
  await shop.apply(channel, { signal: AbortSignal.timeout(1_000) });
  same<keyof typeof applied.publishers, 'orderCreated' | 'orderCancelled'>(true);
  same<keyof typeof applied.consumers, 'processOrder' | 'trackOrders'>(true);
  same<keyof typeof applied.rpc, 'quote'>(true);
  accept<Exchange>()(applied.exchanges.orders);
  accept<Queue>()(applied.queues.work);
  // @ts-expect-error: the contract names no exchange 'payments'
  applied.exchanges.payments;
  // @ts-expect-error: no publisher of that name
  applied.publishers.orderShipped;
  await applied.close();
}

// A publisher takes exactly its message's input type.
async function publishing(applied: AppliedContract<typeof shop.parts>, date: Date): Promise<void> {
  const { orderCreated: created, orderCancelled: cancelled } = applied.publishers;
  accept<PublisherHandle<typeof orderCreated>>()(created);
  await created.publish({ id: 1, placedAt: '2024-06-01T00:00:00Z' });
  await created.publish(
    { id: 1, placedAt: '2024-06-01T00:00:00Z' },
    { mandatory: true, properties: { messageId: 'm-1' } },
  );
  await cancelled.publish({ id: 1, reason: 'duplicate' });
  // @ts-expect-error: placedAt travels as a string (the schema's input), not a Date
  await created.publish({ id: 1, placedAt: date });
  // @ts-expect-error: an order.created carries no reason, and needs placedAt
  await created.publish({ id: 1, reason: 'no' });
  // @ts-expect-error: an order.cancelled needs its reason
  await cancelled.publish({ id: 1 });
  // @ts-expect-error: properties are message properties
  await cancelled.publish({ id: 1, reason: 'x' }, { properties: { priority: 'high' } });
}

// A consumer of one kind: the handler receives its output type.
async function consumingOne(applied: AppliedContract<typeof shop.parts>): Promise<void> {
  const consumer = await applied.consumers.processOrder.consume(
    (message) => {
      same<typeof message, IncomingMessage<Created>>(true);
      accept<Date>()(message.data.placedAt);
    },
    { settle: 'auto', prefetch: 10, concurrency: 2, onFailure: 'dead-letter' },
  );
  accept<Consumer<Created>>()(consumer);
  await applied.consumers.processOrder.consume((message) => {
    // @ts-expect-error: an order.created has no reason
    message.data.reason;
  });
  await applied.consumers.processOrder.consume(
    // @ts-expect-error: a handler for another kind
    (message: IncomingMessage<Cancelled>) => {
      accept<string>()(message.data.reason);
    },
  );
}

// A consumer of several kinds: a handler for each, each receiving its own type.
async function consumingSeveral(applied: AppliedContract<typeof shop.parts>): Promise<void> {
  const { trackOrders } = applied.consumers;
  await trackOrders.consume(
    {
      'order.created': (message) => {
        same<typeof message.data, Created>(true);
      },
      'order.cancelled': async (message) => {
        same<typeof message.data, Cancelled>(true);
      },
    },
    { settle: 'auto' },
  );
  // @ts-expect-error: 'order.cancelled' has no handler
  await trackOrders.consume({ 'order.created': () => {} });
  await trackOrders.consume({
    'order.created': () => {},
    'order.cancelled': () => {},
    // @ts-expect-error: 'order.shipped' is not a kind of the consumer
    'order.shipped': () => {},
  });
  // @ts-expect-error: several kinds need a handler map, not one callback
  await trackOrders.consume((message) => message.ack());
}

// An endpoint: call sends the request's input and resolves with the reply's output.
async function rpc(applied: AppliedContract<typeof shop.parts>): Promise<void> {
  const reply = await applied.rpc.quote.call({ sku: 'A-1' }, { timeout: 5_000 });
  same<typeof reply, { cents: bigint }>(true);
  // @ts-expect-error: a sku is a string
  await applied.rpc.quote.call({ sku: 1 });
  // @ts-expect-error: the route chooses the exchange
  await applied.rpc.quote.call({ sku: 'A-1' }, { exchange: 'other' });
  await applied.rpc.quote.serve((request) => {
    same<typeof request.data, { sku: string }>(true);
    // The reply's input: a number of cents.
    return { cents: 100 };
  });
  // @ts-expect-error: the reply's input is a number, not a bigint
  await applied.rpc.quote.serve(() => ({ cents: 100n }));
}

// A partial apply: only the handles of the routes it names.
async function partial(): Promise<void> {
  const publisher = await shop.apply(connection, { publishers: ['orderCreated'] });
  same<keyof typeof publisher.publishers, 'orderCreated'>(true);
  same<keyof typeof publisher.consumers, never>(true);
  same<keyof typeof publisher.rpc, never>(true);
  await publisher.publishers.orderCreated.publish({ id: 1, placedAt: '2024-06-01T00:00:00Z' });
  // @ts-expect-error: orderCancelled was not applied
  publisher.publishers.orderCancelled;
  // @ts-expect-error: no consumer was applied
  publisher.consumers.processOrder;

  const worker = await shop.apply(channel, { consumers: ['trackOrders'], rpc: ['quote'] });
  same<keyof typeof worker.consumers, 'trackOrders'>(true);
  same<keyof typeof worker.publishers, never>(true);
  accept<Queue>()(worker.queues.events);

  // @ts-expect-error: the contract has no publisher 'orderShipped'
  await shop.apply(connection, { publishers: ['orderShipped'] });
  // @ts-expect-error: processOrder is a consumer, not a publisher
  await shop.apply(connection, { publishers: ['processOrder'] });
  // @ts-expect-error: the route lists are arrays of names
  await shop.apply(connection, { rpc: 'quote' });
  // @ts-expect-error: a connection or a channel
  await shop.apply('amqp://localhost');
}

export { consumingOne, consumingSeveral, partial, publishing, rpc, whole };
