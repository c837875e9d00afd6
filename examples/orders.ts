/**
 * The shop's contract: what the publisher, the worker and the pricing
 * service agree on, written down once. It holds the kinds of message (zod
 * schemas with names), the exchanges, queues and bindings they travel
 * through, and the named routes each service uses. Defining it opens no
 * connection; each service applies the part it needs
 * (`shop.apply(connection, { publishers: ['orderCreated'] })`), which
 * declares that part and hands back typed handles.
 *
 * `npx warren asyncapi <built module>` writes it as an AsyncAPI document;
 * the demo prints a summary of it (examples/demo.ts).
 */
import { z } from 'zod';
import {
  defineBinding,
  defineConsumer,
  defineContract,
  defineExchange,
  defineMessage,
  definePublisher,
  defineQueue,
  defineRpc,
} from '../lib/index.js';

/** An order, as published and as handled. */
export const Order = z.object({
  id: z.number().int().positive(),
  item: z.string().min(1),
  quantity: z.number().int().positive(),
});
export type Order = z.infer<typeof Order>;

/** What the pricing client asks: a price for `quantity` of `item`. */
export const QuoteRequest = z.object({
  item: z.string().min(1),
  quantity: z.number().int().positive(),
});
export type QuoteRequest = z.infer<typeof QuoteRequest>;

/** What the pricing server answers. */
export const Quote = z.object({
  item: z.string(),
  quantity: z.number().int(),
  total: z.number().nonnegative(),
});
export type Quote = z.infer<typeof Quote>;

/** The exchange orders are published to, with the routing key {@link CREATED}. */
export const ORDERS_EXCHANGE = 'demo.shop.orders';
/** The queue the worker consumes. */
export const ORDERS_QUEUE = 'demo.shop.orders.work';
/** Where the orders the worker refused end up: invalid ones, and ones that failed twice. */
export const DEAD_LETTER_QUEUE = 'demo.shop.orders.dead-letters';
/** The queue the pricing server serves. */
export const PRICING_QUEUE = 'demo.shop.pricing';
export const CREATED = 'created';

const orderCreated = defineMessage('order.created', Order, {
  summary: 'A customer placed an order.',
});
const quoteRequest = defineMessage('quote.request', QuoteRequest);
const quote = defineMessage('quote', Quote);

const orders = defineExchange(ORDERS_EXCHANGE, 'direct', {
  description: 'Orders, as customers place them.',
});
const ordersDead = defineExchange(`${ORDERS_EXCHANGE}.dead`, 'fanout');
const work = defineQueue(ORDERS_QUEUE, {
  // A rejected order goes through this exchange to the dead-letter queue.
  deadLetter: { exchange: ordersDead },
  description: 'Orders waiting to be shipped.',
});
const deadLetters = defineQueue(DEAD_LETTER_QUEUE);
// autoDelete: the queue goes away when its last pricing server stops.
const pricing = defineQueue(PRICING_QUEUE, { autoDelete: true });

/** The shop: orders to ship, and prices on request. */
export const shop = defineContract({
  info: {
    title: 'warren demo shop',
    version: '1.0.0',
    description: 'Orders are shipped by a worker; prices are quoted on request.',
  },
  exchanges: { orders, ordersDead },
  queues: { work, deadLetters, pricing },
  bindings: [defineBinding(work, orders, CREATED), defineBinding(deadLetters, ordersDead)],
  publishers: { orderCreated: definePublisher(orders, CREATED, orderCreated) },
  consumers: { shipOrders: defineConsumer(work, orderCreated) },
  rpc: { quote: defineRpc(pricing, quoteRequest, quote) },
});
