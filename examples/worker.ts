/**
 * A worker: consumes the orders queue with a prefetch window, handles each
 * message, and acks it. Stops after `limit` messages (or, run alone, on Ctrl-C).
 *
 * Run alone: `AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/worker.ts`
 */
import { fileURLToPath } from 'node:url';
import { connect } from '../lib/index.js';
import { type Order, QUEUE } from './publisher.js';

export async function runWorker(url: string, limit = Number.POSITIVE_INFINITY): Promise<number> {
  await using connection = await connect(url, { connectionName: 'demo worker' });
  const channel = await connection.openChannel();
  await channel.setQos({ prefetchCount: 10 });
  const queue = await channel.declareQueue(QUEUE, { durable: true });

  let handled = 0;
  let resolve = (): void => {};
  const done = new Promise<void>((settle) => {
    resolve = settle;
  });
  const consumer = await queue.consume((message) => {
    const order = message.json<Order>();
    console.log(`worker:    order ${order.id}: ${order.quantity} × ${order.item}`);
    message.ack();
    if (++handled >= limit) resolve();
  });
  consumer.on('error', (error) => console.error('worker: a message failed:', error));
  process.once('SIGINT', () => resolve());
  await done;
  await consumer.cancel();
  return handled;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runWorker(process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/');
}
