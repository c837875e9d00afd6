/**
 * Field tables (declare and bind arguments) as JSON, for the AsyncAPI
 * document: AMQP has types JSON lacks (bigints, timestamps, byte arrays,
 * decimals), written here as the nearest JSON value.
 */
import { Decimal, type FieldTable, type FieldValue, TypedField } from '../fields.js';
import type { JsonObject, JsonValue } from './json-value.js';

/**
 * A field table as JSON, or `undefined` when it is empty. A bigint becomes
 * a number when it is a safe integer (a string otherwise), a Date its ISO
 * string, bytes a base64 string, a decimal its number, a typed field its
 * value; `undefined` values are left out, as the codec leaves them out.
 */
export function fieldTableJson(table: Readonly<FieldTable>): JsonObject | undefined {
  const entries = Object.entries(table).filter(([, value]) => value !== undefined);
  if (entries.length === 0) return undefined;
  return Object.fromEntries(
    entries.map(([key, value]) => [key, fieldJson(value as FieldValue)]),
  ) as JsonObject;
}

function fieldJson(value: FieldValue): JsonValue {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : String(value);
  if (typeof value === 'bigint') return bigintJson(value);
  if (value instanceof Date) return Number.isNaN(value.getTime()) ? null : value.toISOString();
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value instanceof Decimal) return value.value / 10 ** value.scale;
  if (value instanceof TypedField) {
    return typeof value.value === 'bigint' ? bigintJson(value.value) : value.value;
  }
  if (Array.isArray(value)) return value.map((item) => fieldJson(item as FieldValue));
  return fieldTableJson(value as FieldTable) ?? {};
}

function bigintJson(value: bigint): number | string {
  const number = Number(value);
  return Number.isSafeInteger(number) ? number : value.toString();
}
