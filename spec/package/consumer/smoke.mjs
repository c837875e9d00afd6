/**
 * warren's smoke run, as a user's program: run from a project that installed the packed tarball
 * (spec/package/check.ts copies it there), under Node, Bun or Deno, with the broker's URL as its
 * argument. It prints each step and exits 0 when every one did what it should.
 *
 * Plain JavaScript, so that every runtime runs the same file without a compiler.
 */
import { Buffer } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import process from 'node:process';
import { connect, MessageValidationError, VERSION } from 'warren';
import { z } from 'zod';

const url = process.argv[2];
if (url === undefined) throw new Error('usage: smoke.mjs <amqp-url>');

const runtime =
  globalThis.Bun !== undefined
    ? `Bun ${globalThis.Bun.version}`
    : globalThis.Deno !== undefined
      ? `Deno ${globalThis.Deno.version.deno}`
      : `Node.js ${process.version}`;
const tag = `${runtime.split(' ')[0].toLowerCase()}-${process.pid}`;
const began = performance.now();

/** Prints one step, with the time since the start. */
function say(text) {
  const ms = Math.round(performance.now() - began);
  console.log(`  [${runtime}] ${String(ms).padStart(5)} ms  ${text}`);
}

function check(condition, text) {
  if (!condition) throw new Error(`smoke check failed: ${text}`);
}

/** Resolves once `count()` reaches `target`, or rejects after `ms`. */
async function until(count, target, ms, what) {
  const deadline = performance.now() + ms;
  while (count() < target) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

// A stuck close would otherwise hang the run; it must end by itself well before this.
const watchdog = setTimeout(() => {
  console.error(`[${runtime}] smoke run still going after 60 s`);
  process.exit(2);
}, 60_000);

const connection = await connect(url, { connectionName: `warren-smoke-${tag}` });
say(
  `warren ${VERSION}: connected to ${connection.serverProperties.product} ${connection.serverProperties.version}`,
);
const channel = await connection.openChannel({ confirm: true });

// Typed messages: a zod schema on the exchange checks what is published, one on the queue
// checks what arrives.
const Order = z.object({ id: z.number().int(), item: z.string().min(1) });
const orders = await channel.declareExchange(`smoke.orders.${tag}`, 'direct', {
  durable: false,
  autoDelete: true,
  schema: Order,
});
const queue = await channel.declareQueue('', { exclusive: true, durable: false, schema: Order });
await queue.bind(orders, 'created');
const sent = Array.from({ length: 20 }, (_, i) => ({ id: i, item: `item ${i}` }));
await Promise.all(sent.map((order) => orders.publish(order, 'created')));
say(`published ${sent.length} typed orders, each confirmed by the broker`);

let refusal;
try {
  await orders.publish({ id: 'not a number', item: '' }, 'created');
} catch (error) {
  refusal = error;
}
check(refusal instanceof MessageValidationError, 'an invalid order is refused before sending');
say(`an invalid order was refused: ${refusal.code}, ${refusal.issues.length} issues`);

const received = [];
const consumer = await queue.consume(
  (message) => {
    received.push(message.data);
  },
  { settle: 'auto' },
);
await until(() => received.length, sent.length, 10_000, 'the orders');
await consumer.cancel();
check(JSON.stringify(received) === JSON.stringify(sent), 'the orders arrive as sent, in order');
say(`consumed ${received.length} orders, checked by the queue's schema, in order`);

// Request/reply over direct reply-to.
const Sum = z.object({ a: z.number(), b: z.number() });
const Total = z.object({ total: z.number() });
const requests = await channel.declareQueue('', { exclusive: true, durable: false, schema: Sum });
const server = await requests.serve((request) => ({ total: request.data.a + request.data.b }), {
  replySchema: Total,
});
const rpc = await connection.rpcClient({ requestSchema: Sum, replySchema: Total });
const reply = await rpc.call(requests.name, { a: 2, b: 40 }, { timeout: 10_000 });
check(reply.total === 42, 'the RPC reply is 2 + 40');
say(`rpc: 2 + 40 = ${reply.total}`);
await rpc.close();
await server.cancel();

// An 8 MiB body, over many frames, back byte for byte.
const big = randomBytes(8 * 1024 * 1024);
const digest = createHash('sha256').update(big).digest('hex');
const bodies = await channel.declareQueue('', { exclusive: true, durable: false });
await channel.exchange('').publish(big, bodies.name);
let fetched = null;
for (let tries = 0; fetched === null && tries < 100; tries++) {
  fetched = await bodies.get({ noAck: true });
  if (fetched === null) await new Promise((resolve) => setTimeout(resolve, 20));
}
check(fetched !== null, 'the 8 MiB message arrives');
check(Buffer.compare(fetched.body, big) === 0, 'the 8 MiB body arrives byte for byte');
say(`8 MiB body round trip, byte-identical (sha256 ${digest.slice(0, 16)}…)`);

await connection.close();
check(!connection.isOpen, 'the connection is closed');
clearTimeout(watchdog);
say('closed');
