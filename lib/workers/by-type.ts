/**
 * One queue, several kinds of message: a consume callback that picks each
 * message's handler and schema by its `type` property (or routing key).
 */
import type { IncomingMessage } from '../incoming-message.js';
import {
  MessageValidationError,
  type Schema,
  type SchemaOutput,
  UnknownMessageTypeError,
} from '../schema.js';
import {
  checkSchema,
  isSchema,
  kindOf,
  listNames,
  type MessageTypes,
  typeTable,
} from './message-types.js';

/**
 * Handles one kind of message: `message.data` is the output of that kind's
 * schema. Settle the message, or leave that to the consumer's `settle: 'auto'`.
 */
export type TypeHandler<T> = (message: IncomingMessage<T>) => void | Promise<void>;

/** A handler for every kind of message of `M`, each receiving its own kind. */
export type TypeHandlers<M extends MessageTypes> = {
  readonly [K in keyof M]: TypeHandler<SchemaOutput<M[K]>>;
};

/** One kind of message: its schema, and the handler of the messages that match it. */
export interface TypeRoute<S extends Schema> {
  /** The zod schema a message of this kind must match. */
  readonly schema: S;
  /** Handles a message of this kind; `message.data` is the schema's output. */
  readonly handle: TypeHandler<SchemaOutput<S>>;
}

/** A route for every kind of message of `M`. */
export type TypeRoutes<M extends MessageTypes> = { readonly [K in keyof M]: TypeRoute<M[K]> };

/** Options of {@link byType}. */
export interface ByTypeOptions {
  /**
   * What names a message's kind: its `type` property, or its routing key
   * (matched exactly, as published: not a binding's pattern).
   * @default 'type'
   */
  from?: 'type' | 'routingKey';
}

/**
 * A consume callback that routes each message by its kind, made by
 * {@link byType}. Pass it to `queue.consume()`; in a `queue.messages()`
 * loop, call {@link TypeRouter.dispatch}.
 *
 * Called as a function, it runs the handler of the message's kind with the
 * message's `data` checked and typed by that kind's schema. A message of a
 * kind it does not know ({@link UnknownMessageTypeError}), or whose body
 * does not match its kind's schema, throws a `MessageValidationError`
 * before any handler runs: the consumer rejects such a message without
 * requeue (dead-lettered when the queue has a dead-letter exchange) and
 * reports it by its `invalid` event, whatever `onFailure` says.
 */
export interface TypeRouter {
  /** Runs the handler of `message`'s kind. @throws MessageValidationError for a message it refuses */
  (message: IncomingMessage): void | Promise<void>;
  /**
   * For a `queue.messages()` loop: runs the handler of `message`'s kind
   * and resolves with `undefined`; or refuses the message (rejects it
   * without requeue, unless it is settled) and resolves with the
   * `MessageValidationError` that says why. Rejects with what the handler
   * throws. Settling a message it handled stays the loop's job.
   *
   * ```ts
   * for await (const message of queue.messages()) {
   *   const refused = await router.dispatch(message);
   *   if (refused !== undefined) console.warn('dead-lettered:', refused.message);
   *   else if (!message.settled) message.ack();
   * }
   * ```
   */
  dispatch(message: IncomingMessage): Promise<MessageValidationError | undefined>;
  /** The kinds it routes, in the order they were given. */
  readonly types: readonly string[];
  /** What names a message's kind: its `type` property or its routing key. */
  readonly from: 'type' | 'routingKey';
}

/** A route as the router keeps it. */
interface Route {
  readonly schema: Schema;
  readonly handle: TypeHandler<unknown>;
}

const FROM = ['type', 'routingKey'];

/**
 * Routes the messages of one queue by kind: each kind's zod schema checks
 * the body, and its handler receives the message with `data` typed by that
 * schema. Give it the map of kinds that the publishers also use (see
 * `MessageTypes`) and a handler for each; TypeScript checks that every kind
 * has one and that each receives its own type.
 *
 * ```ts
 * await queue.consume(
 *   byType(OrderMessages, {
 *     'order.created': async (message) => ship(message.data), // data: OrderCreated
 *     'order.cancelled': async (message) => cancel(message.data.id),
 *   }),
 *   { settle: 'auto' },
 * );
 * ```
 *
 * A message whose kind is unknown, or whose body does not match its kind's
 * schema, is refused: see {@link TypeRouter}.
 * @throws TypeError for a map or handlers that are not objects, a schema
 *   that is not a zod schema, a kind without a handler function
 * @throws RangeError for a map without kinds, a handler for a kind the map
 *   does not have, an unknown `from`
 */
export function byType<M extends MessageTypes>(
  types: M,
  handlers: TypeHandlers<M>,
  options?: ByTypeOptions,
): TypeRouter;
/**
 * Routes the messages of one queue by kind, each kind given with its zod
 * schema and its handler: `byType({ 'order.created': { schema: OrderCreated,
 * handle: (message) => … }, … })`. Each handler's `message.data` is typed by
 * its own entry's schema.
 */
export function byType<M extends MessageTypes>(
  routes: TypeRoutes<M>,
  options?: ByTypeOptions,
): TypeRouter;
export function byType(map: unknown, second?: unknown, third?: unknown): TypeRouter {
  // The routes form is told apart by its first entry: a route, not a schema.
  const first = typeof map === 'object' && map !== null ? Object.values(map)[0] : undefined;
  const routesForm = first !== undefined && !isSchema(first);
  const options = checkByTypeOptions(routesForm ? second : third);
  const routes = routesForm ? routesOf(map) : routesFrom(map, second);
  return makeRouter(routes, options.from ?? 'type');
}

/** The routes of the routes form. */
function routesOf(map: unknown): Map<string, Route> {
  return typeTable(map, 'byType', (route, name) => {
    if (typeof route !== 'object' || route === null) {
      throw new TypeError(
        `byType: message type '${name}' must be { schema, handle } or a zod schema, got ${kindOf(route)}`,
      );
    }
    const { schema, handle } = route as { schema?: unknown; handle?: unknown };
    if (schema === undefined) throw new TypeError(`byType: message type '${name}' has no schema`);
    return { schema: checkSchema(schema, name), handle: checkHandler(handle, name) };
  });
}

/** The routes of the map-and-handlers form. */
function routesFrom(map: unknown, handlers: unknown): Map<string, Route> {
  const schemas = typeTable(map, 'byType', checkSchema);
  if (typeof handlers !== 'object' || handlers === null || Array.isArray(handlers)) {
    throw new TypeError(
      `byType needs an object of handlers, one per message type, got ${kindOf(handlers)}`,
    );
  }
  for (const name of Object.keys(handlers)) {
    if (!schemas.has(name)) {
      throw new RangeError(
        `byType: a handler for '${name}', which is not a message type (known: ${listNames([...schemas.keys()])})`,
      );
    }
  }
  const routes = new Map<string, Route>();
  for (const [name, schema] of schemas) {
    const handle = (handlers as Record<string, unknown>)[name];
    routes.set(name, { schema, handle: checkHandler(handle, name) });
  }
  return routes;
}

function checkHandler(handle: unknown, name: string): TypeHandler<unknown> {
  if (typeof handle === 'function') return handle as TypeHandler<unknown>;
  const got = handle === undefined ? 'none' : kindOf(handle);
  throw new TypeError(`byType: message type '${name}' needs a handler function, got ${got}`);
}

function checkByTypeOptions(options: unknown): ByTypeOptions {
  if (options === undefined) return {};
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`the options of byType must be an object, got ${kindOf(options)}`);
  }
  for (const key of Object.keys(options)) {
    if (key !== 'from') throw new TypeError(`byType has no option '${key}' (it takes from)`);
  }
  const { from } = options as { from?: unknown };
  if (from !== undefined && !FROM.includes(from as string)) {
    const message = `byType's from must be 'type' or 'routingKey', got ${typeof from === 'string' ? `'${from}'` : kindOf(from)}`;
    throw typeof from === 'string' ? new RangeError(message) : new TypeError(message);
  }
  return options as ByTypeOptions;
}

function makeRouter(routes: Map<string, Route>, from: 'type' | 'routingKey'): TypeRouter {
  const types = Object.freeze([...routes.keys()]);

  /** The message's handler, with the message checked by its kind's schema. @throws MessageValidationError */
  const prepare = (message: IncomingMessage): { route: Route; typed: IncomingMessage } => {
    const type = from === 'type' ? message.properties.type : message.routingKey;
    const route = type === undefined ? undefined : routes.get(type);
    if (route === undefined) throw new UnknownMessageTypeError(type, from, types);
    try {
      return { route, typed: message.validate(route.schema) };
    } catch (error) {
      if (!(error instanceof MessageValidationError)) throw error;
      // Say which kind it failed, keeping zod's issues (or the JSON error) as they were.
      throw new MessageValidationError(
        `a message of type '${type}' does not match its schema`,
        error.issues,
        { cause: error.cause },
      );
    }
  };

  const router = (message: IncomingMessage): void | Promise<void> => {
    const { route, typed } = prepare(message);
    return route.handle(typed);
  };
  const dispatch = async (
    message: IncomingMessage,
  ): Promise<MessageValidationError | undefined> => {
    let prepared: { route: Route; typed: IncomingMessage };
    try {
      prepared = prepare(message);
    } catch (error) {
      if (!(error instanceof MessageValidationError)) throw error;
      if (!message.settled) message.reject({ requeue: false });
      return error;
    }
    await prepared.route.handle(prepared.typed);
    return undefined;
  };
  return Object.assign(router, { dispatch, types, from });
}
