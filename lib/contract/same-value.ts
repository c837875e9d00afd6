/**
 * One equality for the values a contract holds: field-table values
 * (arguments, header matches) and plain option objects (retry settings).
 * A contract's checks use it to tell two definitions of one name apart, and
 * the headers matcher to compare a header with a binding's value.
 */
import { Decimal, TypedField } from '../fields.js';

/**
 * Whether `a` and `b` hold the same value, as RabbitMQ compares field
 * values: numbers by value whatever their AMQP type (`1`, `1n` and
 * `Field.int16(1)` are one value), a `Date` by its whole seconds (a
 * timestamp), byte arrays byte by byte, arrays in order, tables and plain
 * objects key by key (a key holding `undefined` counts as absent, as in a
 * field table). Anything else (functions, class instances) only equals
 * itself.
 */
export function sameValue(a: unknown, b: unknown): boolean {
  if (Object.is(a, b)) return true;
  const left = unwrap(a);
  const right = unwrap(b);
  if (isNumeric(left) && isNumeric(right)) return numericEqual(left, right);
  if (left instanceof Decimal && right instanceof Decimal) {
    return left.scale === right.scale && left.value === right.value;
  }
  if (left instanceof Date && right instanceof Date) {
    return Math.floor(left.getTime() / 1000) === Math.floor(right.getTime() / 1000);
  }
  if (left instanceof Uint8Array && right instanceof Uint8Array) {
    return left.length === right.length && left.every((byte, index) => byte === right[index]);
  }
  if (Array.isArray(left) && Array.isArray(right)) {
    return (
      left.length === right.length && left.every((item, index) => sameValue(item, right[index]))
    );
  }
  if (isPlainObject(left) && isPlainObject(right)) {
    const keys = definedKeys(left);
    const otherKeys = definedKeys(right);
    return (
      keys.length === otherKeys.length &&
      keys.every((key) => Object.hasOwn(right, key) && sameValue(left[key], right[key]))
    );
  }
  return false;
}

/** A {@link TypedField} is its value: the pinned type does not change what it equals. */
function unwrap(value: unknown): unknown {
  return value instanceof TypedField ? value.value : value;
}

function isNumeric(value: unknown): value is number | bigint {
  return typeof value === 'number' || typeof value === 'bigint';
}

function numericEqual(a: number | bigint, b: number | bigint): boolean {
  if (typeof a === typeof b) return a === b;
  // A bigint and a number: equal only when the number is that exact integer.
  const number = (typeof a === 'number' ? a : b) as number;
  const big = (typeof a === 'bigint' ? a : b) as bigint;
  return Number.isInteger(number) && BigInt(number) === big;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value);
  return prototype === Object.prototype || prototype === null;
}

function definedKeys(value: Record<string, unknown>): string[] {
  return Object.keys(value).filter((key) => value[key] !== undefined);
}
