/**
 * A typed worker: applies its part of the shop's contract (the
 * `shipOrders` route, which declares the work queue, its binding and its
 * dead letters) and consumes it. The order's schema checks every message
 * before the handler sees it, so `message.data` is an `Order`. warren acks each order when its handler resolves
 * (`settle: 'auto'`), runs up to four handlers at once and lets the broker
 * send at most twenty unacknowledged orders.
 *
 * What goes wrong goes to the dead-letter queue, never back in a loop: an
 * invalid order is rejected without reaching the handler (the `invalid`
 * event), and an order whose handler throws is retried once, then
 * dead-lettered (the `error` event, each time).
 *
 * Ctrl-C (SIGINT) or SIGTERM stops it gracefully: no new deliveries, running
 * handlers finish and ack, orders received but not started go back to the
 * queue, then the connection closes.
 *
 * Run alone: `AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/worker.ts`
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { connect } from '../lib/index.js';
import { type Order, shop } from './orders.js';

export interface WorkerOptions {
  /** Stop after this many orders (handled or dead-lettered as invalid). @default no limit */
  limit?: number;
  /** Stop when it aborts, as on SIGINT. */
  signal?: AbortSignal;
}

/** What a run of the worker did. */
export interface WorkerReport {
  /** The orders handled and acked, in the order their handlers finished. */
  handled: Order[];
  /** How many invalid orders were dead-lettered. */
  invalid: number;
  /** How many times a handler threw. */
  failed: number;
}

/** Ships an order. Stands in for the real work: a database write, an HTTP call. */
async function ship(order: Order): Promise<void> {
  await sleep(5 * order.quantity);
}

/** Consumes orders until `limit`, `signal`, SIGINT or SIGTERM; resolves once closed. */
export async function runWorker(url: string, options: WorkerOptions = {}): Promise<WorkerReport> {
  const limit = options.limit ?? Number.POSITIVE_INFINITY;
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const stopped = options.signal ? AbortSignal.any([stop.signal, options.signal]) : stop.signal;

  const connection = await connect(url, { connectionName: 'demo worker' });
  try {
    const { consumers } = await shop.apply(connection, { consumers: ['shipOrders'] });
    const report: WorkerReport = { handled: [], invalid: 0, failed: 0 };
    const countOne = (): void => {
      if (report.handled.length + report.invalid >= limit) stop.abort();
    };

    const consumer = await consumers.shipOrders.consume(
      async (message) => {
        const order = message.data; // an Order, checked by the contract's schema
        await ship(order);
        console.log(`worker:    order ${order.id}: ${order.quantity} × ${order.item} shipped`);
        report.handled.push(order);
        countOne();
      },
      { settle: 'auto', concurrency: 4, prefetch: 20, onFailure: 'retry-once' },
    );
    consumer.on('invalid', (error) => {
      report.invalid++;
      console.warn(`worker:    dead-lettered an invalid order: ${error.message}`);
      countOne();
    });
    consumer.on('error', (error, message) => {
      report.failed++;
      const next = message.redelivered ? 'dead-lettered' : 'will retry once';
      console.error(`worker:    order ${message.data.id} failed (${next}):`, error);
    });

    await new Promise((resolve) => {
      if (stopped.aborted) resolve(undefined);
      stopped.addEventListener('abort', resolve, { once: true });
    });
    return report;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Graceful: running handlers get up to ten seconds to finish.
    await connection.close({ timeout: 10_000 });
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const report = await runWorker(process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/');
  console.log(`worker: stopped after shipping ${report.handled.length} orders`);
}
