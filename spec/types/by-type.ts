/**
 * Routing by message type and publishing typed kinds, as a user of the
 * package writes them, checked by the compiler against dist/index.d.ts
 * (`npm run test:types`): each handler receives its own kind's type, every
 * kind of a shared map needs a handler, and `publish` takes for each kind
 * only its schema's input. Nothing here runs; each `@ts-expect-error` must
 * meet an error.
 */
import {
  byType,
  type Exchange,
  type IncomingMessage,
  Message,
  type MessageTypes,
  type MessageValidationError,
  type Queue,
  type TypedPublisher,
  type TypeRouter,
  typedPublisher,
  UnknownMessageTypeError,
} from 'warren';
import { z } from 'zod';

/** Holds a value of type `T`: `accept<T>()(value)` fails to compile unless `value` is a `T`. */
function accept<T>(): (value: T) => void {
  return () => {};
}

/** Compiles only when `A` and `B` are the same type. */
type Equal<A, B> =
  (<V>() => V extends A ? 1 : 2) extends <V>() => V extends B ? 1 : 2 ? true : false;
function same<A, B>(_proof: Equal<A, B>): void {}

declare const queue: Queue;
declare const exchange: Exchange;

// The shared module: one definition of the kinds.
const OrderCreated = z.object({
  id: z.number(),
  // A string on the wire, a Date in the handler.
  placedAt: z.string().transform((text) => new Date(text)),
});
const OrderCancelled = z.object({ id: z.number(), reason: z.string() });
const OrderMessages = {
  'order.created': OrderCreated,
  'order.cancelled': OrderCancelled,
} satisfies MessageTypes;

type Created = { id: number; placedAt: Date };
type Cancelled = { id: number; reason: string };

// A map and a handler per kind: each handler's message is typed by its own kind's schema.
async function mapAndHandlers(): Promise<void> {
  const router = byType(OrderMessages, {
    'order.created': (message) => {
      same<typeof message, IncomingMessage<Created>>(true);
      accept<Date>()(message.data.placedAt);
    },
    'order.cancelled': async (message) => {
      same<typeof message.data, Cancelled>(true);
      message.ack();
    },
  });
  accept<TypeRouter>()(router);
  accept<readonly string[]>()(router.types);
  await queue.consume(router, { settle: 'auto', concurrency: 4 });
  await queue.consume(
    byType(
      OrderMessages,
      { 'order.created': () => {}, 'order.cancelled': () => {} },
      { from: 'routingKey' },
    ),
  );
  for await (const message of queue.messages()) {
    const refused = await router.dispatch(message);
    accept<MessageValidationError | undefined>()(refused);
  }
}

// Every kind needs a handler, and only kinds of the map have one.
function missingOrExtra(): void {
  // @ts-expect-error: 'order.cancelled' has no handler
  byType(OrderMessages, { 'order.created': () => {} });
  // (Overloaded: the compiler reports which argument is wrong at the call.)
  // @ts-expect-error: 'order.shipped' is not a kind of the map
  byType(OrderMessages, {
    'order.created': () => {},
    'order.cancelled': () => {},
    'order.shipped': () => {},
  });
  // @ts-expect-error: a handler must be a function
  byType(OrderMessages, { 'order.created': () => {}, 'order.cancelled': 'cancel' });
  // @ts-expect-error: the map's values are schemas
  byType({ 'order.created': 42 }, { 'order.created': () => {} });
  const handlers = { 'order.created': () => {}, 'order.cancelled': () => {} };
  // @ts-expect-error: from is 'type' or 'routingKey'
  byType(OrderMessages, handlers, { from: 'exchange' });
}

// A handler written for another kind is refused.
function wrongHandler(): void {
  const handleCancelled = (message: IncomingMessage<Cancelled>): void => {
    accept<string>()(message.data.reason);
  };
  // @ts-expect-error: an order.created message carries no reason
  byType(OrderMessages, {
    'order.created': handleCancelled,
    'order.cancelled': handleCancelled,
  });
  byType(OrderMessages, {
    'order.created': (message) => {
      // @ts-expect-error: data is an order.created: no reason
      message.data.reason;
    },
    'order.cancelled': () => {},
  });
}

// The routes form: each kind with its schema and its handler, typed by that schema.
async function routes(): Promise<void> {
  const router = byType({
    'order.created': {
      schema: OrderCreated,
      handle: (message) => {
        same<typeof message.data, Created>(true);
      },
    },
    'order.cancelled': {
      schema: OrderCancelled,
      handle: async (message) => {
        same<typeof message.data, Cancelled>(true);
      },
    },
  });
  await queue.consume(router);
  // With the kinds given as a type, every kind needs a route.
  // @ts-expect-error: 'order.cancelled' has no route
  byType<typeof OrderMessages>({
    'order.created': { schema: OrderCreated, handle: () => {} },
  });
  byType(
    {
      'order.created': {
        schema: OrderCreated,
        handle: (message) => {
          // @ts-expect-error: data is an order.created: no reason
          message.data.reason;
        },
      },
    },
    { from: 'routingKey' },
  );
}

// The publisher: the kind picks the schema whose input the value must be.
async function publishing(): Promise<void> {
  const orders = typedPublisher(exchange, OrderMessages);
  accept<TypedPublisher<typeof OrderMessages>>()(orders);
  same<(typeof orders.types)[number], 'order.created' | 'order.cancelled'>(true);
  await orders.publish('order.created', { id: 1, placedAt: '2024-06-01T00:00:00Z' });
  await orders.publish('order.cancelled', { id: 1, reason: 'out of stock' }, 'orders.eu', {
    mandatory: true,
  });
  await orders.publish(
    'order.cancelled',
    new Message({ id: 2, reason: 'duplicate' }, { messageId: 'm-2' }),
  );
  // @ts-expect-error: an order.created takes placedAt, not reason
  await orders.publish('order.created', { id: 1, reason: 'no' });
  // @ts-expect-error: placedAt travels as a string (the schema's input), not a Date
  await orders.publish('order.created', { id: 1, placedAt: new Date() });
  // @ts-expect-error: 'order.shipped' is not a kind of the map
  await orders.publish('order.shipped', { id: 1 });
  // @ts-expect-error: a Message of another kind's value
  await orders.publish('order.created', new Message({ id: 2, reason: 'duplicate' }));
}

// Refusals are MessageValidationErrors; an unknown kind is one with its own class.
function errors(error: unknown): void {
  if (error instanceof UnknownMessageTypeError) {
    accept<MessageValidationError>()(error);
    accept<'MESSAGE_INVALID'>()(error.code);
    accept<string | undefined>()(error.type);
    accept<'type' | 'routingKey'>()(error.from);
    accept<readonly string[]>()(error.known);
  }
}

export { errors, mapAndHandlers, missingOrExtra, publishing, routes, wrongHandler };
