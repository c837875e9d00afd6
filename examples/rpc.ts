/**
 * Request/reply: a pricing server quotes orders, and a client asks it for a
 * few quotes.
 *
 * The server serves a queue with `queue.serve`: each request is checked
 * against the queue's schema, and what the handler returns is the reply,
 * checked against `replySchema`. The client (`connection.rpcClient`) checks
 * its requests and the replies against the same schemas; `call` resolves
 * with the reply, or rejects with a `RemoteError` when the handler threw, a
 * `TimeoutError` when no reply came in time, a `MessageReturnedError` when
 * no server's queue exists.
 *
 * Run alone: `AMQP_URL=amqp://guest:guest@localhost:5672/ npx tsx examples/rpc.ts`
 */
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { type Connection, type Consumer, connect, RemoteError } from '../lib/index.js';

/** What the client asks: a price for `quantity` of `item`. */
export const QuoteRequest = z.object({
  item: z.string().min(1),
  quantity: z.number().int().positive(),
});
export type QuoteRequest = z.infer<typeof QuoteRequest>;

/** What the server answers. */
export const Quote = z.object({
  item: z.string(),
  quantity: z.number().int(),
  total: z.number().nonnegative(),
});
export type Quote = z.infer<typeof Quote>;

/** The queue the pricing server serves. */
export const PRICING_QUEUE = 'demo.pricing';

const PRICES = new Map([
  ['book', 12.5],
  ['lamp', 30],
]);

/**
 * Serves quotes on {@link PRICING_QUEUE} until the consumer is cancelled or
 * the connection closes. Several servers may serve the same queue.
 */
export async function servePricing(connection: Connection): Promise<Consumer<QuoteRequest>> {
  const channel = await connection.openChannel();
  // autoDelete: the queue goes away when its last server stops.
  const queue = await channel.declareQueue(PRICING_QUEUE, {
    autoDelete: true,
    schema: QuoteRequest,
  });
  const server = await queue.serve(
    (request) => {
      const { item, quantity } = request.data;
      const price = PRICES.get(item);
      if (price === undefined) {
        // The caller gets a RemoteError with this message and code.
        throw Object.assign(new Error(`no price for '${item}'`), { code: 'UNKNOWN_ITEM' });
      }
      return { item, quantity, total: price * quantity };
    },
    { replySchema: Quote, concurrency: 4, prefetch: 8 },
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
  const pricing = await clientConnection.rpcClient({
    requestSchema: QuoteRequest,
    replySchema: Quote,
    timeout: 5_000,
  });

  // Calls share the client: send them all at once, each gets its own reply.
  const asked: QuoteRequest[] = [
    { item: 'book', quantity: 2 },
    { item: 'lamp', quantity: 1 },
    { item: 'book', quantity: 10 },
  ];
  const quotes = await Promise.all(asked.map((request) => pricing.call(PRICING_QUEUE, request)));
  for (const quote of quotes) {
    console.log(`client:    ${quote.quantity} × ${quote.item} costs ${quote.total}`);
  }

  const refused: RemoteError[] = [];
  try {
    await pricing.call(PRICING_QUEUE, { item: 'unicorn', quantity: 1 });
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
