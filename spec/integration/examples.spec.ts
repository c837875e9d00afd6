/**
 * The examples run in CI: the typed publisher and worker (examples/publisher.ts,
 * examples/worker.ts), request/reply (examples/rpc.ts) and the whole demo (examples/demo.ts)
 * are imported and run against the test broker. Proves that every published order is shipped
 * once and acked, that an invalid order is dead-lettered without reaching the handler, that
 * stopping the worker loses nothing, and that the RPC example gets the quotes it asked for.
 * The demo's queues are durable and shared with `npm run demo`: each test starts from empty.
 */
import { afterEach, beforeEach, describe, expect, inject, it, onTestFinished, vi } from 'vitest';
import { contractSummary, runDemo } from '../../examples/demo.js';
import { runOrderEvents } from '../../examples/order-events.js';
import {
  CREATED,
  DEAD_LETTER_QUEUE,
  ORDERS_EXCHANGE,
  type Order,
  PRICING_QUEUE,
  shop,
} from '../../examples/orders.js';
import { PAYMENTS_DEAD, PAYMENTS_QUEUE, runPayments } from '../../examples/payments.js';
import { publishOrders } from '../../examples/publisher.js';
import { runRpcDemo } from '../../examples/rpc.js';
import { runWorker, type WorkerReport } from '../../examples/worker.js';
import { type Connection, connect, RemoteError } from '../../lib/index.js';
import { drain, queueCounts, queueExists, waitFor } from '../support/amqp-helpers.js';
import { within } from '../support/fault-helpers.js';

const url = inject('amqpUrl');

/** What the examples printed, one string per console call. */
let printed: string[] = [];
let connection: Connection;

beforeEach(async () => {
  printed = [];
  for (const method of ['log', 'warn', 'error'] as const) {
    vi.spyOn(console, method).mockImplementation((...args: unknown[]) => {
      printed.push(args.map(String).join(' '));
    });
  }
  connection = await connect(url);
  await emptyOrderQueues();
});

afterEach(async () => {
  vi.restoreAllMocks();
  await emptyOrderQueues();
  await connection.close();
});

/** Declares the worker's part of the shop contract, as the worker does, and empties its queues. */
async function emptyOrderQueues(): Promise<void> {
  await using worker = await shop.apply(connection, { consumers: ['shipOrders'] });
  await worker.queues.work.purge();
  await worker.queues.deadLetters.purge();
}

/** Publishes `body` to the orders exchange without the schema, as a careless publisher would. */
async function publishUnchecked(body: unknown): Promise<void> {
  const channel = await connection.openChannel({ confirm: true });
  await channel.exchange(ORDERS_EXCHANGE).publish(body, CREATED, { mandatory: true });
  await channel.close();
}

/** The messages of `name`, parsed, taken with no-ack. */
async function bodiesIn(name: string): Promise<unknown[]> {
  const channel = await connection.openChannel();
  const texts = await drain(channel.queue(name));
  await channel.close();
  return texts.map((text) => JSON.parse(text));
}

/**
 * Runs the worker until `limit` orders or `stop()`; a worker still running when the test ends
 * is stopped then, so that it cannot take the next test's orders.
 */
function startWorker(limit?: number): { report: Promise<WorkerReport>; stop(): void } {
  const stopper = new AbortController();
  const report = runWorker(url, {
    signal: stopper.signal,
    ...(limit === undefined ? {} : { limit }),
  });
  onTestFinished(async () => {
    stopper.abort();
    await report.catch(() => {});
  });
  return { report, stop: () => stopper.abort() };
}

const byId = (a: Order, b: Order) => a.id - b.id;

describe('the typed publisher and worker', () => {
  it('every published order is shipped once and acked', async () => {
    const worker = startWorker(20);
    const published = await publishOrders(url, 20);
    const report = await within(worker.report, 10_000, 'the worker shipping 20 orders');

    expect(published.map((order) => order.id)).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    expect([...report.handled].sort(byId)).toEqual(published);
    expect(report).toMatchObject({ invalid: 0, failed: 0 });
    // The worker closed its connection: nothing left, nobody consuming, nothing dead-lettered.
    expect(await queueCounts(connection, shop.parts.queues.work.name)).toEqual({
      messageCount: 0,
      consumerCount: 0,
    });
    expect(await queueCounts(connection, DEAD_LETTER_QUEUE)).toEqual({
      messageCount: 0,
      consumerCount: 0,
    });
    expect(printed).toContain('publisher: order 20 confirmed by the broker');
    expect(printed).toContain('worker:    order 7: 7 × lamp shipped');
  });

  it('an invalid order is dead-lettered without reaching the handler', async () => {
    const published = await publishOrders(url, 2);
    await publishUnchecked({ id: 3, item: '', quantity: 'lots' });
    // The worker starts with the invalid order already waiting for it.
    const report = await within(startWorker(3).report, 10_000, 'the worker seeing 3 orders');

    expect([...report.handled].sort(byId)).toEqual(published);
    expect(report).toMatchObject({ invalid: 1, failed: 0 });
    await waitFor(
      async () => (await queueCounts(connection, DEAD_LETTER_QUEUE))?.messageCount === 1,
      5_000,
      'the invalid order in the dead-letter queue',
    );
    expect(await bodiesIn(DEAD_LETTER_QUEUE)).toEqual([{ id: 3, item: '', quantity: 'lots' }]);
    expect(await queueCounts(connection, shop.parts.queues.work.name)).toEqual({
      messageCount: 0,
      consumerCount: 0,
    });
    expect(
      printed.some((line) => line.startsWith('worker:    dead-lettered an invalid order')),
    ).toBe(true);
  });

  it('a worker told to stop loses nothing: what it did not ship is back in the queue', async () => {
    const published = await publishOrders(url, 30);
    const worker = startWorker();
    // The worker has its prefetch window of 20 orders; stop it in the middle of them.
    await waitFor(
      async () =>
        ((await queueCounts(connection, shop.parts.queues.work.name))?.messageCount ?? 30) <= 10,
      10_000,
      'the worker taking its first orders',
    );
    worker.stop();
    const report = await within(worker.report, 10_000, 'the worker stopping');

    const left = (await bodiesIn(shop.parts.queues.work.name)) as Order[];
    expect([...report.handled, ...left].sort(byId)).toEqual(published);
    expect(report).toMatchObject({ invalid: 0, failed: 0 });
  });
});

describe('the RPC example', () => {
  it('gets a quote for each request and a RemoteError for the unknown item', async () => {
    const result = await within(runRpcDemo(url), 20_000, 'the RPC example');

    expect(result.quotes).toEqual([
      { item: 'book', quantity: 2, total: 25 },
      { item: 'lamp', quantity: 1, total: 30 },
      { item: 'book', quantity: 10, total: 125 },
    ]);
    expect(result.refused).toHaveLength(1);
    expect(result.refused[0]).toBeInstanceOf(RemoteError);
    expect(result.refused[0]).toMatchObject({
      code: 'REMOTE_ERROR',
      remoteCode: 'UNKNOWN_ITEM',
      remoteMessage: "no price for 'unicorn'",
    });
    // Both connections closed, so the auto-deleted queue is gone.
    await waitFor(
      async () => !(await queueExists(connection, PRICING_QUEUE)),
      5_000,
      'the pricing queue deleted',
    );
    expect(printed).toContain('client:    10 × book costs 125');
  });
});

describe('the order events example', () => {
  it('routes each kind to its handler and dead-letters the kind it does not know', async () => {
    const report = await within(runOrderEvents(url), 10_000, 'the order events example');

    expect(report.handled.sort()).toEqual(['cancelled 1', 'created 1', 'created 2']);
    expect(report.deadLettered).toEqual(['order.shipped']);
    expect(printed).toContain('worker:    order 1 cancelled: changed my mind');
  });
});

describe('the payments example', () => {
  it('retries later, dead-letters saying why, and replays what the outage exhausted', async () => {
    const report = await within(runPayments(url), 15_000, 'the payments example');

    // 1 at once; 2 on its third attempt; 4 once replayed, starting again at attempt 1.
    expect(report.charged).toEqual(['1@1', '2@3', '4@1']);
    expect(report.failed.sort()).toEqual(['2@1', '2@2', '3@1', '4@1', '4@2', '4@3']);
    expect(report.deadLetters).toEqual(
      expect.arrayContaining([
        { id: 3, reason: 'permanent', attempt: 1, error: 'CardDeclinedError' },
        { id: 4, reason: 'exhausted', attempt: 3, error: 'GatewayUnavailableError' },
        { id: 5, reason: 'invalid', attempt: 1, error: 'MessageValidationError' },
      ]),
    );
    expect(report.deadLetters).toHaveLength(3);
    expect(report.replayed).toBe(1);
    expect(printed).toContain('operator:  replayed 1, left 2 in demo.payments.dead');
    // Exclusive: the queues, wait queues included, went with the example's connection.
    for (const name of [PAYMENTS_QUEUE, PAYMENTS_DEAD, `${PAYMENTS_QUEUE}.retry.100ms`]) {
      await waitFor(async () => !(await queueExists(connection, name)), 5_000, `${name} deleted`);
    }
  });
});

describe('the shop contract', () => {
  it('holds together without a warning, and the demo summarizes every route', () => {
    expect(shop.warnings).toEqual([]);
    expect(contractSummary()).toEqual([
      'warren demo shop 1.0.0, as AsyncAPI 3.0.0:',
      '  send    orderCreated demo.shop.orders.created: order.created',
      '  receive shipOrders   demo.shop.orders.work: order.created',
      '  send    quote        demo.shop.pricing: quote.request, replied to with quote',
      '  receive quote.serve  demo.shop.pricing: quote.request, replied to with quote',
    ]);
  });
});

describe('the demo', () => {
  it('runs the worker, the publisher and RPC, and prints what it did', async () => {
    const result = await within(runDemo(url, 5), 30_000, 'the demo');

    expect(result.published).toBe(5);
    expect(result.worker.handled.map((order) => order.id).sort()).toEqual([1, 2, 3, 4, 5]);
    expect(result.worker).toMatchObject({ invalid: 1, failed: 0 });
    expect(result.deadLettered).toEqual({ id: 99, item: 'lamp', quantity: 'lots' });
    expect(result.rpc.quotes).toHaveLength(3);
    expect(result.rpc.refused).toHaveLength(1);
    expect(printed).toContain(
      'demo: the worker shipped and acked 5 of 5 orders, and dead-lettered 1 invalid one',
    );
    expect(printed).toContain('demo: the pricing server sent 3 quotes and refused 1 request');
    expect(printed).toContain(
      'demo:   send    orderCreated demo.shop.orders.created: order.created',
    );
    expect(result.payments.charged).toHaveLength(3);
    expect(result.payments.replayed).toBe(1);
    expect(await queueCounts(connection, DEAD_LETTER_QUEUE)).toEqual({
      messageCount: 0,
      consumerCount: 0,
    });
  });
});
