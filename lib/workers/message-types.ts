/**
 * The kinds of message one queue (or one exchange) carries, each with its
 * zod schema: the one definition that {@link byType} routes by and
 * {@link typedPublisher} publishes by.
 */
import type { Schema } from '../schema.js';

/**
 * Several kinds of message, by name: each name (what a message carries in
 * its `type` property, or its routing key) maps to the zod schema of that
 * kind's body. Define it once, in a module both the publishers and the
 * workers import:
 *
 * ```ts
 * export const OrderMessages = {
 *   'order.created': OrderCreated,
 *   'order.cancelled': OrderCancelled,
 * } satisfies MessageTypes;
 * ```
 */
export type MessageTypes = Readonly<Record<string, Schema>>;

/** The most bytes of UTF-8 a `type` property or a routing key holds (an AMQP short string). */
const SHORT_STRING_BYTES = 255;

/** How many names an error message lists before it says how many more there are. */
const NAMES_SHOWN = 10;

/**
 * @internal Checks a map of message types (the object, its names, each
 * value by `check`) and returns its entries as a `Map`: later changes to
 * the object do not reach it, and no name can come from its prototype.
 * @throws TypeError for a map that is not an object, or a value `check` refuses
 * @throws RangeError for an empty map, or a name over 255 bytes
 */
export function typeTable<V>(
  map: unknown,
  what: string,
  check: (value: unknown, name: string) => V,
): Map<string, V> {
  if (typeof map !== 'object' || map === null || Array.isArray(map)) {
    throw new TypeError(`${what} must be an object of message types, got ${kindOf(map)}`);
  }
  const names = Object.keys(map);
  if (names.length === 0) {
    throw new RangeError(`${what} has no message types: give it at least one`);
  }
  const table = new Map<string, V>();
  for (const name of names) {
    if (Buffer.byteLength(name, 'utf8') > SHORT_STRING_BYTES) {
      throw new RangeError(
        `the message type '${name.slice(0, 40)}…' is over ${SHORT_STRING_BYTES} bytes of UTF-8: ` +
          'no type property or routing key can carry it',
      );
    }
    table.set(name, check((map as Record<string, unknown>)[name], name));
  }
  return table;
}

/** Whether `value` looks like a zod schema: it has a `safeParse` method. */
export function isSchema(value: unknown): value is Schema {
  return (
    (typeof value === 'object' || typeof value === 'function') &&
    value !== null &&
    typeof (value as { safeParse?: unknown }).safeParse === 'function'
  );
}

/** `value` if it is a zod schema. @throws TypeError when it is not */
export function checkSchema(value: unknown, name: string): Schema {
  if (isSchema(value)) return value;
  throw new TypeError(
    `the schema of message type '${name}' must be a zod schema, got ${kindOf(value)}`,
  );
}

/** What `value` is, for an error message: `null`, `an array`, or its `typeof`. */
export function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return typeof value;
}

/** `'a', 'b' and 'c'`, or the first ten and how many more. */
export function listNames(names: readonly string[]): string {
  const shown = names.slice(0, NAMES_SHOWN).map((name) => `'${name}'`);
  if (names.length > NAMES_SHOWN)
    return `${shown.join(', ')} and ${names.length - NAMES_SHOWN} more`;
  if (shown.length === 1) return shown[0] as string;
  return `${shown.slice(0, -1).join(', ')} and ${shown.at(-1)}`;
}
