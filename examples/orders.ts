/**
 * What the publisher and the worker agree on: the shape of an order, as a zod
 * schema, and the exchange and queues orders travel through. Both sides
 * declare the same topology, so either may start first.
 *
 * Used by `examples/publisher.ts` and `examples/worker.ts`; see `examples/demo.ts`.
 */
import { z } from 'zod';
import type { Channel } from '../lib/index.js';

/** An order, as published and as handled. */
export const Order = z.object({
  id: z.number().int().positive(),
  item: z.string().min(1),
  quantity: z.number().int().positive(),
});
export type Order = z.infer<typeof Order>;

/** The exchange orders are published to, with the routing key `created`. */
export const ORDERS_EXCHANGE = 'demo.orders';
/** The queue the worker consumes. */
export const ORDERS_QUEUE = 'demo.orders.work';
/** Where orders the worker refused end up: invalid ones, and ones that failed twice. */
export const DEAD_LETTER_QUEUE = 'demo.orders.dead-letters';
export const CREATED = 'created';

/**
 * Declares the orders exchange, the work queue bound to it with a dead-letter
 * queue, and returns both, typed by the {@link Order} schema: `publish` takes
 * only orders, and handlers receive checked orders in `message.data`.
 */
export async function declareOrders(channel: Channel) {
  // Durable, as warren declares exchanges and named queues unless told otherwise.
  const exchange = await channel.declareExchange(ORDERS_EXCHANGE, 'direct', { schema: Order });
  await channel.declareQueue(DEAD_LETTER_QUEUE);
  const queue = await channel.declareQueue(ORDERS_QUEUE, {
    schema: Order,
    arguments: {
      // A rejected message goes through the default exchange to the dead-letter queue.
      'x-dead-letter-exchange': '',
      'x-dead-letter-routing-key': DEAD_LETTER_QUEUE,
    },
  });
  await queue.bind(exchange, CREATED);
  return { exchange, queue };
}
