/**
 * Request/reply: a pricing server quotes orders, and a client asks it for a
 * few quotes, both through the shop contract's `quote` endpoint.
 *
 * The server serves it with `rpc.quote.serve`: each request is checked
 * against the request's schema, and what the handler returns is the reply,
 * checked against the reply's schema. The client's `rpc.quote.call` checks
 * its requests and the replies against the same schemas; it resolves with
 * the reply, or rejects with a `RemoteError` when the handler threw, a
 * `TimeoutError` when no reply came in time, a `MessageReturnedError` when
 * no server's queue exists.
 *
 * Run alone: `AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/rpc.ts`
 */
import { fileURLToPath } from 'node:url';
import { type Connection, type Consumer, connect, RemoteError } from '../lib/index.js';
import { type Quote, type QuoteRequest, shop } from './orders.js';

const PRICES = new Map([
  ['book', 12.5],
  ['lamp', 30],
]);

/**
 * Serves quotes on the `quote` endpoint's queue until the consumer is cancelled or
 * the connection closes. Several servers may serve the same queue.
 */
export async function servePricing(connection: Connection): Promise<Consumer<QuoteRequest>> {
  const { rpc } = await shop.apply(connection, { rpc: ['quote'] });
  const server = await rpc.quote.serve(
    (request) => {
      const { item, quantity } = request.data;
      const price = PRICES.get(item);
      if (price === undefined) {
        // The caller gets a RemoteError with this message and code.
        throw Object.assign(new Error(`no price for '${item}'`), { code: 'UNKNOWN_ITEM' });
      }
      return { item, quantity, total: price * quantity };
    },
    { concurrency: 4, prefetch: 8 },
  );
  server.on('error', (error) =>
    console.warn(`pricing:   answered with an error: ${String(error)}`),
  );
  server.on('invalid', (error) => console.warn(`pricing:   refused a request: ${error.message}`));
  return server;
}

/** What {@link runRpcDemo} got back. */
export interface RpcDemoResult {
  /** The quotes, in the order they were asked for. */
  quotes: Quote[];
  /** The errors of the calls the server refused. */
  refused: RemoteError[];
}

/** Starts a pricing server and a client on connections of their own, asks for quotes, closes both. */
export async function runRpcDemo(url: string): Promise<RpcDemoResult> {
  await using serverConnection = await connect(url, { connectionName: 'demo pricing server' });
  await servePricing(serverConnection);

  await using clientConnection = await connect(url, { connectionName: 'demo pricing client' });
  await using client = await shop.apply(clientConnection, { rpc: ['quote'] });
  const pricing = client.rpc.quote;

  // Calls share the client: send them all at once, each gets its own reply.
  const asked: QuoteRequest[] = [
    { item: 'book', quantity: 2 },
    { item: 'lamp', quantity: 1 },
    { item: 'book', quantity: 10 },
  ];
  const quotes = await Promise.all(
    asked.map((request) => pricing.call(request, { timeout: 5_000 })),
  );
  for (const quote of quotes) {
    console.log(`client:    ${quote.quantity} × ${quote.item} costs ${quote.total}`);
  }

  const refused: RemoteError[] = [];
  try {
    await pricing.call({ item: 'unicorn', quantity: 1 }, { timeout: 5_000 });
  } catch (error) {
    if (!(error instanceof RemoteError)) throw error;
    console.log(`client:    no quote for a unicorn: ${error.remoteMessage} (${error.remoteCode})`);
    refused.push(error);
  }
  return { quotes, refused };
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await runRpcDemo(process.env.AMQP_URL ?? 'amqp://guest:guest@localhost:5672/');
}
