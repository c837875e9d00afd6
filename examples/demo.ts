/**
 * `npm run demo`: finds a RabbitMQ the way the tests do (AMQP_URL, else
 * localhost:5672, else a throwaway node it starts and stops), prints the
 * shop's contract (examples/orders.ts) as an AsyncAPI summary, then:
 *
 * 1. runs the typed worker and the typed publisher side by side
 *    (examples/worker.ts, examples/publisher.ts), plus one malformed order
 *    from a publisher that skips the schema, which the worker dead-letters;
 * 2. runs request/reply: a pricing server and a client (examples/rpc.ts);
 * 3. runs a payment worker that retries later and dead-letters with reasons,
 *    and replays what an outage exhausted (examples/payments.ts).
 *
 * Run: `npm run demo`, or `AMQP_URL=amqp://guest:guest@localhost:5672/ npm run demo`
 */
import { fileURLToPath } from 'node:url';
import { asyncApi, connect } from '../lib/index.js';
import { findOrStartBroker } from '../spec/support/broker.js';
import { CREATED, DEAD_LETTER_QUEUE, ORDERS_EXCHANGE, shop } from './orders.js';
import { type PaymentsReport, runPayments } from './payments.js';
import { publishOrders } from './publisher.js';
import { type RpcDemoResult, runRpcDemo } from './rpc.js';
import { runWorker, type WorkerReport } from './worker.js';

/** What the demo did. */
export interface DemoResult {
  published: number;
  worker: WorkerReport;
  /** The malformed order, as the dead-letter queue gave it back. */
  deadLettered: unknown;
  rpc: RpcDemoResult;
  payments: PaymentsReport;
}

/**
 * The shop's contract as its AsyncAPI document tells it: a line per
 * operation (what a service sends or receives, on which channel, which
 * messages). `npx warren asyncapi` writes the whole document.
 */
export function contractSummary(): string[] {
  const document = asyncApi(shop);
  const last = (ref: string): string => ref.slice(ref.lastIndexOf('/') + 1);
  const lines = [
    `${document.info.title} ${document.info.version}, as AsyncAPI ${document.asyncapi}:`,
  ];
  for (const [name, operation] of Object.entries(document.operations)) {
    const messages = operation.messages?.map(({ $ref }) => last($ref)).join(', ');
    const reply = operation.reply?.messages?.map(({ $ref }) => last($ref)).join(', ');
    lines.push(
      `  ${operation.action.padEnd(7)} ${name.padEnd(12)} ${last(operation.channel.$ref)}: ${messages}${reply === undefined ? '' : `, replied to with ${reply}`}`,
    );
  }
  return lines;
}

/** Publishes an order that does not match the schema, as a publisher without it could. */
async function publishMalformedOrder(url: string): Promise<void> {
  await using connection = await connect(url, { connectionName: 'demo careless publisher' });
  const channel = await connection.openChannel({ confirm: true });
  // A handle without the schema: nothing checks what is sent. Publishes are mandatory, so on
  // this confirm channel an order no queue took would reject.
  await channel
    .exchange(ORDERS_EXCHANGE)
    .publish({ id: 99, item: 'lamp', quantity: 'lots' }, CREATED);
  console.log('careless:  published an order with quantity "lots"');
}

/** Takes the oldest message of the dead-letter queue, waiting up to 3 s for the broker to move it there. */
async function takeDeadLetter(url: string): Promise<unknown> {
  await using connection = await connect(url, { connectionName: 'demo dead letters' });
  const channel = await connection.openChannel();
  const deadLetters = channel.queue(DEAD_LETTER_QUEUE);
  let message = await deadLetters.get();
  for (let tries = 0; message === null && tries < 30; tries++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    message = await deadLetters.get();
  }
  if (message === null) return undefined;
  message.ack();
  const reason = message.headers['x-first-death-reason'];
  console.log(`demo: the dead-letter queue held ${message.text()} (${String(reason)})`);
  return message.data;
}

export async function runDemo(url: string, orders = 5): Promise<DemoResult> {
  for (const line of contractSummary()) console.log(`demo: ${line}`);
  // The limit counts the malformed order too: the worker stops once it has seen them all.
  const worker = runWorker(url, { limit: orders + 1 });
  const published = await publishOrders(url, orders);
  await publishMalformedOrder(url);
  const report = await worker;
  console.log(
    `demo: the worker shipped and acked ${report.handled.length} of ${published.length} orders, and dead-lettered ${report.invalid} invalid one`,
  );
  const deadLettered = await takeDeadLetter(url);

  const rpc = await runRpcDemo(url);
  console.log(
    `demo: the pricing server sent ${rpc.quotes.length} quotes and refused ${rpc.refused.length} request`,
  );

  const payments = await runPayments(url);
  console.log(
    `demo: the payment worker charged ${payments.charged.length} payments and dead-lettered ${payments.deadLetters.length}, of which ${payments.replayed} was replayed and charged`,
  );
  return { published: published.length, worker: report, deadLettered, rpc, payments };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const lease = await findOrStartBroker();
  console.log(`demo: ${lease.description}`);
  try {
    await runDemo(lease.url);
  } finally {
    await lease.release();
  }
}
