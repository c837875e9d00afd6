/**
 * Several kinds of message on one queue: order events (created, cancelled)
 * defined once as a map of zod schemas, published with `typedPublisher`
 * (the kind picks the schema and travels as the `type` property) and
 * handled with `byType` (the `type` picks the handler, whose `message.data`
 * is typed by that kind's schema).
 *
 * A message of a kind the worker does not know (here `order.shipped`, as
 * a newer publisher might send) never reaches a handler: it is
 * dead-lettered and reported by the consumer's `invalid` event.
 *
 * Run alone: `AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/order-events.ts`
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { byType, connect, Message, type MessageTypes, typedPublisher } from '../lib/index.js';

/** The kinds of order event, by the name each travels under: what both sides import. */
export const OrderEvents = {
  'order.created': z.object({
    id: z.number().int().positive(),
    item: z.string().min(1),
    // An ISO string on the wire, a Date in the handler.
    placedAt: z.iso.datetime().transform((text) => new Date(text)),
  }),
  'order.cancelled': z.object({ id: z.number().int().positive(), reason: z.string().min(1) }),
} satisfies MessageTypes;

/** What a run did. */
export interface OrderEventsReport {
  /** The events handled, as `kind id`, in the order their handlers ran. */
  handled: string[];
  /** The types of the events dead-lettered as invalid. */
  deadLettered: (string | undefined)[];
}

/** Publishes a few order events and handles them from one queue; resolves once all are settled. */
export async function runOrderEvents(url: string): Promise<OrderEventsReport> {
  await using connection = await connect(url, { connectionName: 'order events' });
  const channel = await connection.openChannel({ confirm: true });
  // This run's own topology: gone when the connection closes.
  const exchange = await channel.declareExchange('demo.order-events', 'topic', {
    durable: false,
    autoDelete: true,
  });
  const deadLetters = await channel.declareQueue('', { exclusive: true });
  const queue = await channel.declareQueue('', {
    exclusive: true,
    arguments: { 'x-dead-letter-exchange': '', 'x-dead-letter-routing-key': deadLetters.name },
  });
  await queue.bind(exchange, 'order.*');

  const report: OrderEventsReport = { handled: [], deadLettered: [] };
  let settled = 0;
  let allSettled = (): void => {};
  const done = new Promise<void>((resolve) => {
    allSettled = resolve;
  });
  const oneMore = (): void => {
    if (++settled === 4) allSettled();
  };

  const consumer = await queue.consume(
    byType(OrderEvents, {
      'order.created': (message) => {
        const { id, item, placedAt } = message.data; // placedAt: a Date
        console.log(`worker:    order ${id} (${item}) created on ${placedAt.toDateString()}`);
        report.handled.push(`created ${id}`);
        oneMore();
      },
      'order.cancelled': (message) => {
        console.log(`worker:    order ${message.data.id} cancelled: ${message.data.reason}`);
        report.handled.push(`cancelled ${message.data.id}`);
        oneMore();
      },
    }),
    { settle: 'auto' },
  );
  consumer.on('invalid', (error, message) => {
    console.warn(`worker:    dead-lettered: ${error.message}`);
    report.deadLettered.push(message.properties.type);
    oneMore();
  });

  const events = typedPublisher(exchange, OrderEvents);
  const placedAt = new Date('2024-06-01T12:00:00Z').toISOString();
  await events.publish('order.created', { id: 1, item: 'lamp', placedAt });
  await events.publish('order.created', { id: 2, item: 'book', placedAt });
  await events.publish('order.cancelled', { id: 1, reason: 'changed my mind' });
  // A kind this worker does not know yet, through a plain handle.
  await channel
    .exchange(exchange.name)
    .publish(new Message({ id: 2 }, { type: 'order.shipped' }), 'order.shipped');
  console.log('publisher: 4 order events confirmed by the broker');

  await done;
  await consumer.cancel();
  return report;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runOrderEvents(process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/');
}
