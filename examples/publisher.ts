/**
 * A typed publisher: declares the orders exchange with the {@link Order}
 * schema and publishes orders on a confirm channel. `publish` accepts only
 * orders (the compiler checks it, and the schema checks it again before
 * anything is sent), and each `await` means the broker has the message.
 *
 * Run alone: `AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/publisher.ts`
 */
import { fileURLToPath } from 'node:url';
import { connect, Message } from '../lib/index.js';
import { CREATED, declareOrders, type Order } from './orders.js';

/** Publishes `count` orders, persistent; resolves with the orders once the broker confirmed them all. */
export async function publishOrders(url: string, count: number): Promise<Order[]> {
  await using connection = await connect(url, { connectionName: 'demo publisher' });
  const channel = await connection.openChannel({ confirm: true });
  const { exchange } = await declareOrders(channel);

  const published: Order[] = [];
  for (let id = 1; id <= count; id++) {
    const order: Order = { id, item: id % 2 === 0 ? 'book' : 'lamp', quantity: id };
    // deliveryMode 2: the broker writes it to disk, in a durable queue it survives a restart.
    await exchange.publish(new Message(order, { deliveryMode: 2 }), CREATED);
    published.push(order);
    console.log(`publisher: order ${id} confirmed by the broker`);
  }
  return published;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await publishOrders(process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/', 5);
}
