/**
 * The values a field table (message headers, queue and exchange arguments,
 * broker properties) can hold, and the wrappers that pin an exact AMQP type.
 *
 * Plain JavaScript values map to AMQP types like this when encoded:
 *
 * | JavaScript                         | AMQP field type                            |
 * | ---------------------------------- | ------------------------------------------ |
 * | `boolean`                          | boolean (`t`)                              |
 * | integer `number`                   | the narrowest signed integer that holds it: int8 `b`, int16 `s`, int32 `I`, int64 `l` |
 * | any other finite `number` (also `-0` and integers beyond ±2^63) | float64 (`d`) |
 * | `bigint`                           | int64 (`l`)                                |
 * | `string`                           | long string (`S`, UTF-8)                   |
 * | `Date`                             | timestamp (`T`, whole seconds)             |
 * | `Buffer` / `Uint8Array`            | byte array (`x`)                           |
 * | `null`                             | void (`V`)                                 |
 * | array                              | array (`A`)                                |
 * | plain object                       | nested table (`F`)                         |
 * | {@link Decimal}                    | decimal (`D`)                              |
 * | {@link TypedField} (see {@link Field}) | the type it names                      |
 *
 * A table key whose value is `undefined` is left out, as `JSON.stringify` does.
 * Anything else (functions, symbols, class instances, cycles, and `NaN` or
 * ±`Infinity`, which RabbitMQ cannot read) is refused with a `TypeError` that
 * names the key path.
 *
 * Decoding is lossless: every integer type decodes to a `number`, except an
 * int64 outside the safe integer range, which decodes to a `bigint`;
 * float32 and float64 decode to `number`, a decimal to {@link Decimal}, a
 * timestamp to `Date`, a byte array to `Buffer`, void to `null`.
 *
 * @packageDocumentation
 */

/** The AMQP types a {@link TypedField} can pin. */
export type FieldType =
  | 'int8'
  | 'uint8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float32'
  | 'float64';

const integerRanges = {
  int8: [-0x80, 0x7f],
  uint8: [0, 0xff],
  int16: [-0x8000, 0x7fff],
  uint16: [0, 0xffff],
  int32: [-0x8000_0000, 0x7fff_ffff],
  uint32: [0, 0xffff_ffff],
} as const;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

/**
 * A value with an exact AMQP type, for when the broker or another client
 * needs, say, an int16 rather than the narrowest integer warren would pick.
 * Make one with {@link Field}; the value is checked when it is made.
 */
export class TypedField {
  /** The AMQP type to encode {@link TypedField.value} as. */
  readonly type: FieldType;
  /** The value; a `bigint` only for `int64`. */
  readonly value: number | bigint;

  /** @internal Use {@link Field} to make one. */
  constructor(type: FieldType, value: number | bigint) {
    this.type = type;
    this.value = value;
  }
}

/** RabbitMQ cannot parse NaN or ±Infinity in a table (it closes the connection), so they are refused. */
function finite(type: FieldType, value: number): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`Field.${type} needs a finite number, got ${String(value)}`);
  }
  return value;
}

function integer(type: keyof typeof integerRanges, value: number): TypedField {
  if (typeof value !== 'number' || !Number.isInteger(value)) {
    throw new TypeError(`Field.${type} needs an integer, got ${String(value)}`);
  }
  const [min, max] = integerRanges[type];
  if (value < min || value > max) {
    throw new RangeError(`Field.${type} holds ${min} to ${max}, got ${value}`);
  }
  return new TypedField(type, value);
}

/**
 * Wrappers that pin an exact AMQP field type:
 * `headers: { 'x-priority': Field.int16(5), ratio: Field.float32(0.5) }`.
 * Each checks its value at once: a non-integer is a `TypeError`, an integer
 * outside the type's range a `RangeError`.
 */
export const Field = {
  /** A signed 8-bit integer (`b`). */
  int8: (value: number): TypedField => integer('int8', value),
  /** An unsigned 8-bit integer (`B`). */
  uint8: (value: number): TypedField => integer('uint8', value),
  /** A signed 16-bit integer (`s`). */
  int16: (value: number): TypedField => integer('int16', value),
  /** An unsigned 16-bit integer (`u`). */
  uint16: (value: number): TypedField => integer('uint16', value),
  /** A signed 32-bit integer (`I`). */
  int32: (value: number): TypedField => integer('int32', value),
  /** An unsigned 32-bit integer (`i`). */
  uint32: (value: number): TypedField => integer('uint32', value),
  /** A signed 64-bit integer (`l`), from a safe integer `number` or a `bigint`. */
  int64(value: number | bigint): TypedField {
    if (typeof value === 'number') {
      if (!Number.isSafeInteger(value)) {
        throw new TypeError(`Field.int64 needs a safe integer or a bigint, got ${value}`);
      }
      return new TypedField('int64', BigInt(value));
    }
    if (typeof value !== 'bigint') {
      throw new TypeError(`Field.int64 needs a safe integer or a bigint, got ${String(value)}`);
    }
    if (value < INT64_MIN || value > INT64_MAX) {
      throw new RangeError(`Field.int64 holds -2^63 to 2^63-1, got ${value}`);
    }
    return new TypedField('int64', value);
  },
  /** A 32-bit float (`f`); the value is rounded to float32 precision on the wire. */
  float32(value: number): TypedField {
    const rounded = Math.fround(finite('float32', value));
    if (!Number.isFinite(rounded)) {
      throw new RangeError(`Field.float32 holds magnitudes up to about 3.4e38, got ${value}`);
    }
    return new TypedField('float32', value);
  },
  /** A 64-bit float (`d`), even for a number that is an integer. */
  float64: (value: number): TypedField => new TypedField('float64', finite('float64', value)),
} as const;

/**
 * An AMQP decimal: `value / 10 ** scale`, with `scale` an octet and `value` a
 * signed 32-bit integer. JavaScript has no such type, so decoding yields one.
 */
export class Decimal {
  /** How many decimal digits lie right of the point (0 to 255). */
  readonly scale: number;
  /** The unscaled value, a signed 32-bit integer. */
  readonly value: number;

  /**
   * @param scale - digits right of the decimal point, 0 to 255
   * @param value - the unscaled signed 32-bit integer
   * @throws TypeError when either is not an integer
   * @throws RangeError when either is out of range
   */
  constructor(scale: number, value: number) {
    if (!Number.isInteger(scale)) {
      throw new TypeError(`Decimal scale must be an integer, got ${String(scale)}`);
    }
    if (!Number.isInteger(value)) {
      throw new TypeError(`Decimal value must be an integer, got ${String(value)}`);
    }
    if (scale < 0 || scale > 0xff) {
      throw new RangeError(`Decimal scale must be an integer from 0 to 255, got ${scale}`);
    }
    if (value < -0x8000_0000 || value > 0x7fff_ffff) {
      throw new RangeError(`Decimal value must be a signed 32-bit integer, got ${value}`);
    }
    this.scale = scale;
    this.value = value;
  }

  /** The nearest `number`; may round when `scale` is large. */
  toNumber(): number {
    return this.value / 10 ** this.scale;
  }

  /** The exact decimal text, such as `"-12.50"` for scale 2, value -1250. */
  toString(): string {
    if (this.scale === 0) return String(this.value);
    const digits = String(Math.abs(this.value)).padStart(this.scale + 1, '0');
    const sign = this.value < 0 ? '-' : '';
    return `${sign}${digits.slice(0, -this.scale)}.${digits.slice(-this.scale)}`;
  }
}

/** A value in a field table or array. See the module notes for the mapping. */
export type FieldValue =
  | boolean
  | number
  | bigint
  | string
  | Date
  | Uint8Array
  | null
  | Decimal
  | TypedField
  | readonly FieldValue[]
  | FieldTable;

/**
 * An AMQP field table: message headers, declare and bind arguments, and the
 * broker's properties. Keys are short strings (at most 255 UTF-8 bytes).
 */
export interface FieldTable {
  [key: string]: FieldValue | undefined;
}
