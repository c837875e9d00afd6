/**
 * What zod schemas do to warren's types, checked by the compiler: an
 * exchange with a schema is `Exchange<input>` and `publish` takes only the
 * input (a value or a `Message` of it); a queue with a schema is
 * `Queue<output>`, and its handlers, `get()`, `messages()` and
 * `message.json(schema)` give the output; without a schema both are
 * `unknown`. With a transforming schema the two sides differ. The RPC
 * client is `RpcClient<request input, reply output>`, and `serve`'s handler
 * must return the reply schema's input.
 *
 * Nothing here runs against a broker: every check sits in a function that
 * is handed to {@link compileOnly} and never called. `tsc --noEmit -p .`
 * (which includes spec/) is what checks them; each `@ts-expect-error` line
 * must be an error, or tsc fails.
 */
import { describe, expectTypeOf, it } from 'vitest';
import { z } from 'zod';
import type {
  Channel,
  Connection,
  Consumer,
  Exchange,
  IncomingMessage,
  MessageIterator,
  Queue,
  RpcClient,
  Schema,
  SchemaInput,
  SchemaOutput,
  ValidationIssue,
} from '../../lib/index.js';
import { Message, type MessageValidationError } from '../../lib/index.js';

/** Type-checks `check` without ever running it (it would need a broker). */
function compileOnly(_check: (channel: Channel, connection: Connection) => Promise<void>): void {}

const Order = z.object({
  id: z.string(),
  items: z.array(z.object({ sku: z.string(), qty: z.number().int().positive() })),
});
type Order = z.output<typeof Order>;

/** Strings in, a Date and a number out. */
const Event = z.object({
  at: z.string().transform((text) => new Date(text)),
  count: z.string().transform(Number),
});
type EventIn = z.input<typeof Event>;
type EventOut = z.output<typeof Event>;

const Quote = z.object({ sku: z.string(), price: z.number() });
const QuoteRequest = z.object({ sku: z.string(), quantity: z.string().transform(Number) });

describe('schema types', () => {
  it('the zod helpers: SchemaInput / SchemaOutput, unknown without a schema', () => {
    expectTypeOf<SchemaInput<typeof Event>>().toEqualTypeOf<{ at: string; count: string }>();
    expectTypeOf<SchemaOutput<typeof Event>>().toEqualTypeOf<{ at: Date; count: number }>();
    expectTypeOf<SchemaInput<undefined>>().toBeUnknown();
    expectTypeOf<SchemaOutput<undefined>>().toBeUnknown();
    expectTypeOf<EventIn>().not.toEqualTypeOf<EventOut>();
    expectTypeOf(Order).toExtend<Schema>();
    expectTypeOf<MessageValidationError['issues']>().toEqualTypeOf<readonly ValidationIssue[]>();
    expectTypeOf<ValidationIssue['path']>().toEqualTypeOf<PropertyKey[]>();
    expectTypeOf<MessageValidationError['code']>().toBeString();
  });

  it('declareExchange with a schema: Exchange<input>; publish takes the input or a Message of it', () => {
    compileOnly(async (channel) => {
      const exchange = await channel.declareExchange('orders', 'direct', { schema: Order });
      expectTypeOf(exchange).toEqualTypeOf<Exchange<z.input<typeof Order>>>();
      expectTypeOf(exchange.publish)
        .parameter(0)
        .toEqualTypeOf<z.input<typeof Order> | Message<z.input<typeof Order>>>();
      expectTypeOf(exchange.publish).returns.toEqualTypeOf<Promise<void>>();

      await exchange.publish({ id: 'o-1', items: [{ sku: 'a', qty: 1 }] }, 'key');
      await exchange.publish(
        new Message({ id: 'o-1', items: [] }, { headers: { tenant: 'acme' } }),
        'key',
        { mandatory: true },
      );
      const typed = new Message<Order>({ id: 'o-2', items: [] });
      await exchange.publish(typed);

      // @ts-expect-error qty is a number
      await exchange.publish({ id: 'o-1', items: [{ sku: 'a', qty: '1' }] });
      // @ts-expect-error id is required
      await exchange.publish({ items: [] });
      // @ts-expect-error not an order at all
      await exchange.publish('an order, please');
      // @ts-expect-error a Message of something else
      await exchange.publish(new Message({ orderId: 1 }));
      // @ts-expect-error a Message of a string is not a Message of an order
      await exchange.publish(new Message('o-1'));
    });
  });

  it('declareQueue with a schema: Queue<output>; consume hands over IncomingMessage<output>', () => {
    compileOnly(async (channel) => {
      const queue = await channel.declareQueue('orders', { schema: Order, exclusive: true });
      expectTypeOf(queue).toEqualTypeOf<Queue<Order>>();

      const consumer = await queue.consume(
        (message) => {
          expectTypeOf(message).toEqualTypeOf<IncomingMessage<Order>>();
          expectTypeOf(message.data).toEqualTypeOf<Order>();
          expectTypeOf(message.data.items[0]?.qty).toEqualTypeOf<number | undefined>();
        },
        {
          settle: 'auto',
          onFailure: (_error, message) => {
            expectTypeOf(message.data).toEqualTypeOf<Order>();
            return 'dead-letter';
          },
        },
      );
      expectTypeOf(consumer).toEqualTypeOf<Consumer<Order>>();
      consumer.on('invalid', (error, message) => {
        expectTypeOf(error).toEqualTypeOf<MessageValidationError>();
        // It did not match: nothing is known of its data.
        expectTypeOf(message).toEqualTypeOf<IncomingMessage<unknown>>();
      });
      consumer.on('error', (_error, message) => {
        expectTypeOf(message).toEqualTypeOf<IncomingMessage<Order>>();
      });

      await queue.consume((message) => {
        // @ts-expect-error there is no such field on an order
        message.data.total;
      });
    });
  });

  it('a transforming schema: the exchange takes the input, the queue gives the output', () => {
    compileOnly(async (channel) => {
      const exchange = await channel.declareExchange('events', 'fanout', { schema: Event });
      const queue = await channel.declareQueue('events', { schema: Event });
      expectTypeOf(exchange).toEqualTypeOf<Exchange<EventIn>>();
      expectTypeOf(queue).toEqualTypeOf<Queue<EventOut>>();
      expectTypeOf(exchange).not.toEqualTypeOf<Exchange<EventOut>>();
      expectTypeOf(queue).not.toEqualTypeOf<Queue<EventIn>>();

      await exchange.publish({ at: '2024-02-29T12:00:00Z', count: '42' });
      await exchange.publish(new Message({ at: '2024-02-29T12:00:00Z', count: '42' }));
      // @ts-expect-error the output types (a Date, a number) are not what travels
      await exchange.publish({ at: new Date(), count: 42 });

      await queue.consume((message) => {
        expectTypeOf(message.data.at).toEqualTypeOf<Date>();
        expectTypeOf(message.data.count).toEqualTypeOf<number>();
        // @ts-expect-error the handler gets a Date, not the string that travelled
        message.data.at.toUpperCase();
      });
    });
  });

  it('without a schema: Exchange<unknown> and Queue<unknown>', () => {
    compileOnly(async (channel) => {
      const exchange = await channel.declareExchange('plain', 'topic');
      const queue = await channel.declareQueue('plain');
      const unnamed = await channel.declareQueue();
      expectTypeOf(exchange).toEqualTypeOf<Exchange<unknown>>();
      expectTypeOf(exchange).toEqualTypeOf<Exchange>();
      expectTypeOf(queue).toEqualTypeOf<Queue<unknown>>();
      expectTypeOf(unnamed).toEqualTypeOf<Queue>();

      // Anything goes.
      await exchange.publish('text');
      await exchange.publish(Buffer.from([1, 2, 3]));
      await exchange.publish({ any: ['thing'] });
      await exchange.publish(new Message(new Uint8Array(2)));

      await queue.consume((message) => {
        expectTypeOf(message).toEqualTypeOf<IncomingMessage<unknown>>();
        expectTypeOf(message.data).toBeUnknown();
      });
    });
  });

  it('channel.exchange(name, { schema }) and channel.queue(name, { schema }) handles', () => {
    compileOnly(async (channel) => {
      expectTypeOf(channel.exchange('events', { schema: Event })).toEqualTypeOf<
        Exchange<EventIn>
      >();
      expectTypeOf(channel.queue('events', { schema: Event })).toEqualTypeOf<Queue<EventOut>>();
      expectTypeOf(channel.exchange('')).toEqualTypeOf<Exchange<unknown>>();
      expectTypeOf(channel.queue('plain')).toEqualTypeOf<Queue<unknown>>();
      expectTypeOf(channel.exchange('events', {})).toEqualTypeOf<Exchange<unknown>>();

      const handle = channel.exchange('orders', { schema: Order });
      await handle.publish({ id: 'o-1', items: [] });
      // @ts-expect-error items is required
      await handle.publish({ id: 'o-1' });
    });
  });

  it('queue.get() is IncomingMessage<output> | null', () => {
    compileOnly(async (channel) => {
      const queue = await channel.declareQueue('events', { schema: Event });
      const message = await queue.get({ noAck: true });
      expectTypeOf(message).toEqualTypeOf<IncomingMessage<EventOut> | null>();
      if (message !== null) expectTypeOf(message.data.at).toEqualTypeOf<Date>();
      expectTypeOf(await channel.queue('plain').get()).toEqualTypeOf<IncomingMessage | null>();
    });
  });

  it('queue.messages() yields IncomingMessage<output>', () => {
    compileOnly(async (channel) => {
      const queue = channel.queue('events', { schema: Event });
      const messages = queue.messages({
        prefetch: 10,
        onInvalid: (error, message) => {
          expectTypeOf(error).toEqualTypeOf<MessageValidationError>();
          expectTypeOf(message).toEqualTypeOf<IncomingMessage<unknown>>();
        },
      });
      expectTypeOf(messages).toEqualTypeOf<MessageIterator<EventOut>>();
      expectTypeOf(messages).toExtend<AsyncIterable<IncomingMessage<EventOut>>>();
      for await (const message of messages) {
        expectTypeOf(message).toEqualTypeOf<IncomingMessage<EventOut>>();
        expectTypeOf(message.data.count).toEqualTypeOf<number>();
      }
    });
  });

  it('message.json(schema) is the output type; json() is unknown, or what it is told', () => {
    compileOnly(async (channel) => {
      const message = await channel.queue('plain').get();
      if (message === null) return;
      expectTypeOf(message.json(Event)).toEqualTypeOf<EventOut>();
      expectTypeOf(message.json(Order)).toEqualTypeOf<Order>();
      expectTypeOf(message.json()).toBeUnknown();
      expectTypeOf(message.json<{ id: string }>()).toEqualTypeOf<{ id: string }>();
      expectTypeOf(message.text()).toBeString();

      const outgoing = new Message({ at: 'now', count: '1' });
      expectTypeOf(outgoing.data).toEqualTypeOf<{ at: string; count: string }>();
      expectTypeOf(outgoing.json(Event)).toEqualTypeOf<EventOut>();
    });
  });

  it('connection.rpcClient: RpcClient<request input, reply output>, and call is typed by it', () => {
    compileOnly(async (_channel, connection) => {
      const rpc = await connection.rpcClient({
        requestSchema: QuoteRequest,
        replySchema: Quote,
        timeout: 5_000,
      });
      expectTypeOf(rpc).toEqualTypeOf<
        RpcClient<z.input<typeof QuoteRequest>, z.output<typeof Quote>>
      >();
      expectTypeOf(rpc.call)
        .parameter(1)
        .toEqualTypeOf<
          { sku: string; quantity: string } | Message<{ sku: string; quantity: string }>
        >();
      expectTypeOf(rpc.call).returns.toEqualTypeOf<Promise<{ sku: string; price: number }>>();

      const quote = await rpc.call('pricing', { sku: 'A-1', quantity: '3' }, { timeout: 1_000 });
      expectTypeOf(quote).toEqualTypeOf<{ sku: string; price: number }>();
      await rpc.call('pricing', new Message({ sku: 'A-1', quantity: '3' }, { priority: 1 }));
      // @ts-expect-error quantity travels as a string (the schema's input)
      await rpc.call('pricing', { sku: 'A-1', quantity: 3 });
      // @ts-expect-error sku is required
      await rpc.call('pricing', { quantity: '3' });

      const onlyReplies = await connection.rpcClient({ replySchema: Quote });
      expectTypeOf(onlyReplies).toEqualTypeOf<RpcClient<unknown, z.output<typeof Quote>>>();
      await onlyReplies.call('pricing', 'anything');

      const untyped = await connection.rpcClient();
      expectTypeOf(untyped).toEqualTypeOf<RpcClient<unknown, unknown>>();
      expectTypeOf(await untyped.call('pricing', 1)).toBeUnknown();
    });
  });

  it("queue.serve: the handler gets the queue's output and must return the replySchema's input", () => {
    compileOnly(async (channel) => {
      const queue = await channel.declareQueue('pricing', { schema: QuoteRequest });
      const consumer = await queue.serve(
        (request) => {
          expectTypeOf(request).toEqualTypeOf<IncomingMessage<z.output<typeof QuoteRequest>>>();
          expectTypeOf(request.data.quantity).toEqualTypeOf<number>();
          return { sku: request.data.sku, price: 9.5 * request.data.quantity };
        },
        { replySchema: Quote, prefetch: 4 },
      );
      expectTypeOf(consumer).toEqualTypeOf<Consumer<z.output<typeof QuoteRequest>>>();

      // An async handler resolves with the reply.
      await queue.serve(async (request) => ({ sku: request.data.sku, price: 1 }), {
        replySchema: Quote,
      });

      await queue.serve(
        // @ts-expect-error price must be a number
        (request) => ({ sku: request.data.sku, price: 'free' }),
        { replySchema: Quote },
      );
      await queue.serve(
        // @ts-expect-error the reply lacks sku
        async () => ({ price: 1 }),
        { replySchema: Quote },
      );

      // Without a replySchema, any reply.
      await channel.queue('echo').serve((request) => request.data);
      await queue.serve(() => 'anything');
    });
  });

  it('typed handles fit where untyped ones are expected (helpers that take a Queue or Consumer)', () => {
    compileOnly(async (channel) => {
      const queue = await channel.declareQueue('orders', { schema: Order });
      const untypedQueue: Queue = queue;
      const consumer = await queue.consume((message) => message.ack());
      const untypedConsumer: Consumer = consumer;
      const untypedIterator: MessageIterator = queue.messages();
      const withPolicy = await queue.consume(() => {}, {
        onFailure: (_error, message) => (message.data.items.length > 0 ? 'requeue' : 'dead-letter'),
      });
      const untypedWithPolicy: Consumer = withPolicy;
      void [untypedQueue, untypedConsumer, untypedIterator, untypedWithPolicy];
    });
  });
});
