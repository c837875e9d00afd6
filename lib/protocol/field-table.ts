import { ProtocolError } from './errors.js';
import { Decimal, type FieldTable, type FieldValue, TypedField } from './field-types.js';
import type { ByteReader } from './reader.js';
import type { ByteWriter } from './writer.js';

/** Tables and arrays nest at most this deep, both ways: deeper input is refused, not recursed into. */
export const MAX_NESTING = 32;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const TWO_POW_63 = 2 ** 63;

// Field value tags as RabbitMQ speaks them (the 0-9-1 errata shared with Qpid).
const T = {
  boolean: 0x74, // t
  int8: 0x62, // b
  uint8: 0x42, // B
  int16: 0x73, // s
  uint16: 0x75, // u
  int32: 0x49, // I
  uint32: 0x69, // i
  int64: 0x6c, // l
  float32: 0x66, // f
  float64: 0x64, // d
  decimal: 0x44, // D
  longString: 0x53, // S
  timestamp: 0x54, // T
  table: 0x46, // F
  array: 0x41, // A
  void: 0x56, // V
  bytes: 0x78, // x
} as const;

/**
 * Writes a field table: a 32-bit byte length, then key/value pairs. `what`
 * names the table in error messages, and keys extend it into a path such as
 * `headers.retry[2].at`.
 */
export function writeTable(w: ByteWriter, table: FieldTable, what: string): void {
  if (!isPlainObject(table)) throw new TypeError(`${what} must be a plain object`);
  writeTableAt(w, table, what, []);
}

function writeTableAt(w: ByteWriter, table: FieldTable, path: string, seen: object[]): void {
  enter(table, path, seen);
  w.reserve(4);
  const lengthAt = w.length;
  w.pos += 4;
  for (const key of Object.keys(table)) {
    const value = table[key];
    if (value === undefined) continue;
    const keyPath = `${path}.${key}`;
    w.shortstr(key, `key ${keyPath}`);
    writeValue(w, value, keyPath, seen);
  }
  patchLength(w, lengthAt);
  seen.pop();
}

function writeArrayAt(
  w: ByteWriter,
  array: readonly FieldValue[],
  path: string,
  seen: object[],
): void {
  enter(array, path, seen);
  w.reserve(4);
  const lengthAt = w.length;
  w.pos += 4;
  for (let i = 0; i < array.length; i++) {
    const value = array[i];
    const itemPath = `${path}[${i}]`;
    if (value === undefined) throw new TypeError(`${itemPath} is undefined; use null for void`);
    writeValue(w, value, itemPath, seen);
  }
  patchLength(w, lengthAt);
  seen.pop();
}

function enter(container: object, path: string, seen: object[]): void {
  if (seen.includes(container)) throw new TypeError(`${path} refers to itself (a cycle)`);
  if (seen.length >= MAX_NESTING) {
    throw new RangeError(`${path} nests deeper than ${MAX_NESTING} tables or arrays`);
  }
  seen.push(container);
}

/** Fills in the 32-bit length reserved at `lengthAt` (relative to `w.start`). */
function patchLength(w: ByteWriter, lengthAt: number): void {
  const at = w.start + lengthAt;
  w.buf.writeUInt32BE(w.pos - at - 4, at);
}

function writeValue(w: ByteWriter, value: FieldValue, path: string, seen: object[]): void {
  switch (typeof value) {
    case 'string':
      w.octet(T.longString, path);
      w.longstr(value, path);
      return;
    case 'number':
      writeNumber(w, value, path);
      return;
    case 'boolean':
      w.octet(T.boolean, path);
      w.octet(value ? 1 : 0, path);
      return;
    case 'bigint':
      if (value < INT64_MIN || value > INT64_MAX) {
        throw new RangeError(`${path} is a bigint outside the int64 range`);
      }
      w.octet(T.int64, path);
      w.int64(value);
      return;
    case 'object':
      writeObject(w, value, path, seen);
      return;
    default:
      throw new TypeError(`${path} is a ${typeof value}, which no AMQP field type can hold`);
  }
}

function writeNumber(w: ByteWriter, value: number, path: string): void {
  if (!Number.isFinite(value)) {
    // RabbitMQ fails to parse NaN and ±Infinity in a table and closes the whole connection.
    throw new TypeError(`${path} is ${value}; RabbitMQ cannot read a non-finite number`);
  }
  if (
    Number.isInteger(value) &&
    !Object.is(value, -0) &&
    value >= -TWO_POW_63 &&
    value < TWO_POW_63
  ) {
    if (value >= -0x80 && value <= 0x7f) {
      w.octet(T.int8, '');
      w.int8(value);
    } else if (value >= -0x8000 && value <= 0x7fff) {
      w.octet(T.int16, '');
      w.int16(value);
    } else if (value >= -0x8000_0000 && value <= 0x7fff_ffff) {
      w.octet(T.int32, '');
      w.int32(value);
    } else {
      w.octet(T.int64, '');
      w.int64(BigInt(value));
    }
    return;
  }
  w.octet(T.float64, '');
  w.float64(value);
}

function writeObject(w: ByteWriter, value: object | null, path: string, seen: object[]): void {
  if (value === null) {
    w.octet(T.void, path);
  } else if (value instanceof Uint8Array) {
    w.octet(T.bytes, path);
    w.bytes(value);
  } else if (value instanceof Date) {
    w.octet(T.timestamp, path);
    w.timestamp(value, path);
  } else if (value instanceof Decimal) {
    w.octet(T.decimal, path);
    w.octet(value.scale, path);
    w.int32(value.value);
  } else if (value instanceof TypedField) {
    writeTyped(w, value);
  } else if (Array.isArray(value)) {
    w.octet(T.array, path);
    writeArrayAt(w, value, path, seen);
  } else if (isPlainObject(value)) {
    w.octet(T.table, path);
    writeTableAt(w, value as FieldTable, path, seen);
  } else {
    const kind = value.constructor?.name ?? 'object';
    throw new TypeError(`${path} is a ${kind}, which no AMQP field type can hold`);
  }
}

function writeTyped(w: ByteWriter, field: TypedField): void {
  const value = field.value;
  w.octet(T[field.type], '');
  switch (field.type) {
    case 'int8':
      w.int8(value as number);
      break;
    case 'uint8':
      w.octet(value as number, '');
      break;
    case 'int16':
      w.int16(value as number);
      break;
    case 'uint16':
      w.short(value as number, '');
      break;
    case 'int32':
      w.int32(value as number);
      break;
    case 'uint32':
      w.long(value as number, '');
      break;
    case 'int64':
      w.int64(value as bigint);
      break;
    case 'float32':
      w.float32(value as number);
      break;
    case 'float64':
      w.float64(value as number);
      break;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

/** Reads a field table; `depth` counts the tables and arrays around it. */
export function readTable(r: ByteReader, depth = 0): FieldTable {
  const length = r.long();
  r.need(length);
  const end = r.pos + length;
  const table: FieldTable = {};
  const outer = r.end;
  r.end = end;
  while (r.pos < end) {
    const key = r.shortstr();
    const value = readValue(r, depth);
    // Assigning "__proto__" would replace the prototype rather than add a key.
    if (key === '__proto__') {
      Object.defineProperty(table, key, {
        value,
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      table[key] = value;
    }
  }
  r.end = outer;
  return table;
}

function readArray(r: ByteReader, depth: number): FieldValue[] {
  const length = r.long();
  r.need(length);
  const end = r.pos + length;
  const array: FieldValue[] = [];
  const outer = r.end;
  r.end = end;
  while (r.pos < end) array.push(readValue(r, depth));
  r.end = outer;
  return array;
}

function readValue(r: ByteReader, depth: number): FieldValue {
  const tag = r.octet();
  switch (tag) {
    case T.longString:
      return r.longstrText();
    case T.boolean:
      return r.octet() !== 0;
    case T.int8:
      return r.int8();
    case T.uint8:
      return r.octet();
    case T.int16:
      return r.int16();
    case T.uint16:
      return r.short();
    case T.int32:
      return r.int32();
    case T.uint32:
      return r.long();
    case T.int64:
      return r.int64();
    case T.float32:
      return r.float32();
    case T.float64:
      return r.float64();
    case T.decimal: {
      const scale = r.octet();
      return new Decimal(scale, r.int32());
    }
    case T.timestamp:
      return r.timestamp();
    case T.void:
      return null;
    case T.bytes:
      return Buffer.from(r.longstr());
    case T.table:
      return readTable(r, nested(depth));
    case T.array:
      return readArray(r, nested(depth));
    default:
      throw new ProtocolError('SYNTAX_ERROR', `unknown field value type 0x${tag.toString(16)}`);
  }
}

function nested(depth: number): number {
  if (depth + 1 >= MAX_NESTING) {
    throw new ProtocolError('SYNTAX_ERROR', `field tables nest deeper than ${MAX_NESTING} levels`);
  }
  return depth + 1;
}
