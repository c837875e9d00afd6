/**
 * A publisher of JSON messages: declares a durable exchange and queue, binds
 * them, and publishes orders on a confirm channel, so each `await` means the
 * broker has the message.
 *
 * Run alone: `AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/publisher.ts`
 */
import { fileURLToPath } from 'node:url';
import { connect, Message } from '../lib/index.js';

export interface Order {
  id: number;
  item: string;
  quantity: number;
}

export const EXCHANGE = 'demo.orders';
export const QUEUE = 'demo.orders.created';

export async function publishOrders(url: string, count: number): Promise<void> {
  await using connection = await connect(url, { connectionName: 'demo publisher' });
  const channel = await connection.openChannel({ confirm: true });
  const exchange = await channel.declareExchange(EXCHANGE, 'direct', { durable: true });
  const queue = await channel.declareQueue(QUEUE, { durable: true });
  await queue.bind(exchange, 'created');

  for (let id = 1; id <= count; id++) {
    const order: Order = { id, item: id % 2 === 0 ? 'book' : 'lamp', quantity: id };
    await exchange.publish(new Message(order, { deliveryMode: 2 }), 'created');
    console.log(`publisher: order ${id} confirmed by the broker`);
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await publishOrders(process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/', 5);
}
