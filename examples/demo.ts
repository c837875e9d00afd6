/**
 * `npm run demo`: finds a RabbitMQ the way the tests do (AMQP_URL, else
 * localhost:5672, else a throwaway node it starts and stops), then runs the
 * worker and the publisher side by side.
 */
import { findOrStartBroker } from '../spec/support/broker.js';
import { publishOrders } from './publisher.js';
import { runWorker } from './worker.js';

const ORDERS = 5;
const lease = await findOrStartBroker();
console.log(`demo: ${lease.description}`);
try {
  const worker = runWorker(lease.url, ORDERS);
  await publishOrders(lease.url, ORDERS);
  const handled = await worker;
  console.log(`demo: the worker handled and acked ${handled} of ${ORDERS} orders`);
} finally {
  await lease.release();
}
