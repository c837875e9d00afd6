/**
 * A typed publisher: applies its part of the shop's contract (the
 * `orderCreated` route, which declares the orders exchange) and publishes
 * orders. `publish` accepts only orders (the compiler checks it, and the
 * schema checks it again before anything is sent), and each `await` means
 * the broker has the message: the channel `apply` opens confirms every
 * publish.
 *
 * Run alone: `AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/publisher.ts`
 */
import { fileURLToPath } from 'node:url';
import { connect } from '../lib/index.js';
import { type Order, shop } from './orders.js';

/** Publishes `count` orders, persistent; resolves with the orders once the broker confirmed them all. */
export async function publishOrders(url: string, count: number): Promise<Order[]> {
  await using connection = await connect(url, { connectionName: 'demo publisher' });
  const { publishers } = await shop.apply(connection, { publishers: ['orderCreated'] });

  const published: Order[] = [];
  for (let id = 1; id <= count; id++) {
    const order: Order = { id, item: id % 2 === 0 ? 'book' : 'lamp', quantity: id };
    // deliveryMode 2: the broker writes it to disk, in a durable queue it survives a restart.
    await publishers.orderCreated.publish(order, { properties: { deliveryMode: 2 } });
    published.push(order);
    console.log(`publisher: order ${id} confirmed by the broker`);
  }
  return published;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await publishOrders(process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/', 5);
}
