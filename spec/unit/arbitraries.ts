/**
 * Shared fast-check arbitraries for the codec's unit tests, and the functions
 * that say what an encoded value looks like once it is decoded again.
 */
import fc from 'fast-check';
import {
  type BasicProperties,
  Decimal,
  Field,
  type FieldTable,
  type FieldValue,
  type Method,
  type MethodArgsMap,
  type MethodName,
  methodInfo,
  TypedField,
} from '../../lib/protocol/index.js';

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);

/** Bytes of `text` as UTF-8. */
export const utf8Length = (text: string): number => Buffer.byteLength(text, 'utf8');

/** Drops whole code points from the end until `text` fits in `max` UTF-8 bytes. */
function fitUtf8(text: string, max: number): string {
  let out = text;
  while (utf8Length(out) > max) out = Array.from(out).slice(0, -1).join('');
  return out;
}

// ---------------------------------------------------------------- strings

/** Any text, non-ASCII included (whole code points, never a lone surrogate). */
export const longString: fc.Arbitrary<string> = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 20 }),
  fc.string({ maxLength: 40 }),
);

/** An AMQP short string: at most 255 bytes of UTF-8, the edge cases included. */
export const shortString: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 20 }), weight: 3 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 20 }), weight: 3 },
  {
    arbitrary: fc
      .string({ unit: 'binary', minLength: 60, maxLength: 255 })
      .map((s) => fitUtf8(s, 255)),
    weight: 1,
  },
  {
    arbitrary: fc.constantFrom('', 'x'.repeat(255), `${'é'.repeat(127)}x`, '€'.repeat(85)),
    weight: 1,
  },
);

/** Keys of a field table (short strings), with the names that trip up plain objects. */
export const tableKey: fc.Arbitrary<string> = fc.oneof(
  { arbitrary: fc.string({ maxLength: 12 }), weight: 4 },
  { arbitrary: fc.string({ unit: 'binary', maxLength: 8 }), weight: 2 },
  {
    arbitrary: fc.constantFrom('__proto__', 'constructor', 'toString', '', '0', 'x-match'),
    weight: 1,
  },
);

// ---------------------------------------------------------------- scalars

/** Integers across the int8, int16, int32 and int64 ranges of a `number`, edges included. */
export const integerNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer({ min: -0x80, max: 0x7f }),
  fc.integer({ min: -0x8000, max: 0x7fff }),
  fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }),
  fc.maxSafeInteger(),
  // Integers beyond 2^53 that a double holds exactly and int64 still does.
  fc
    .double({ min: 2 ** 53, max: 2 ** 63 - 1024, noNaN: true })
    .chain((v) => fc.constantFrom(v, -v)),
  fc.constantFrom(
    0x7f,
    0x80,
    -0x80,
    -0x81,
    0x7fff,
    0x8000,
    -0x8000,
    -0x8001,
    0x7fff_ffff,
    0x8000_0000,
    -0x8000_0000,
    -0x8000_0001,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    2 ** 53,
    -(2 ** 53),
  ),
);

/** Finite doubles, -0 included, and integers too large for int64. */
export const doubleNumber: fc.Arbitrary<number> = fc.oneof(
  fc.double({ noNaN: true, noDefaultInfinity: true }),
  fc.constantFrom(
    -0,
    1.5,
    2 ** 63,
    -(2 ** 63) - 4096,
    2 ** 70,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
  ),
);

/** A bigint anywhere in the int64 range. */
export const int64BigInt: fc.Arbitrary<bigint> = fc.oneof(
  fc.bigInt({ min: INT64_MIN, max: INT64_MAX }),
  fc.bigInt({ min: -MAX_SAFE - 2n, max: MAX_SAFE + 2n }),
  fc.constantFrom(INT64_MIN, INT64_MAX, 0n),
);

/** A `Date` an AMQP timestamp holds: whole seconds, 1970 to the end of `Date`. */
export const timestampDate: fc.Arbitrary<Date> = fc
  .oneof(fc.integer({ min: 0, max: 8.64e12 }), fc.integer({ min: 0, max: 4_102_444_800 }))
  .map((seconds) => new Date(seconds * 1000));

/** Byte arrays as `Buffer`, bare `Uint8Array`, and views that start inside a larger buffer. */
export const bytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 40 }).map((a) => Buffer.from(a)),
  fc.uint8Array({ maxLength: 40 }),
  fc.uint8Array({ minLength: 1, maxLength: 40 }).map((a) => a.subarray(1)),
);

/** A `Buffer`, as the generated method types want for long strings. */
export const buffer: fc.Arbitrary<Buffer> = fc
  .uint8Array({ maxLength: 40 })
  .map((a) => Buffer.from(a));

export const decimal: fc.Arbitrary<Decimal> = fc
  .tuple(fc.integer({ min: 0, max: 0xff }), fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }))
  .map(([scale, value]) => new Decimal(scale, value));

/** A value pinned to each type {@link Field} offers. */
export const typedField: fc.Arbitrary<TypedField> = fc.oneof(
  fc.integer({ min: -0x80, max: 0x7f }).map(Field.int8),
  fc.integer({ min: 0, max: 0xff }).map(Field.uint8),
  fc.integer({ min: -0x8000, max: 0x7fff }).map(Field.int16),
  fc.integer({ min: 0, max: 0xffff }).map(Field.uint16),
  fc.integer({ min: -0x8000_0000, max: 0x7fff_ffff }).map(Field.int32),
  fc.integer({ min: 0, max: 0xffff_ffff }).map(Field.uint32),
  int64BigInt.map((v) => Field.int64(v)),
  fc.maxSafeInteger().map((v) => Field.int64(v)),
  fc.float({ noNaN: true, noDefaultInfinity: true }).map(Field.float32),
  doubleNumber.map(Field.float64),
);

/** Every kind of value that is not a table or an array. */
export const scalarFieldValue: fc.Arbitrary<FieldValue> = fc.oneof(
  fc.boolean(),
  integerNumber,
  doubleNumber,
  int64BigInt,
  longString,
  timestampDate,
  bytes,
  fc.constant(null),
  decimal,
  typedField,
);

// ---------------------------------------------------------------- nesting

const nestedFields = fc.letrec<{ value: FieldValue; array: FieldValue[]; table: FieldTable }>(
  (tie) => ({
    value: fc.oneof(
      { maxDepth: 3, depthIdentifier: 'field' },
      { arbitrary: scalarFieldValue, weight: 6 },
      { arbitrary: tie('array'), weight: 1 },
      { arbitrary: tie('table'), weight: 1 },
    ),
    array: fc.array(tie('value'), { maxLength: 4, depthIdentifier: 'field' }),
    // Some values are undefined: the encoder leaves those keys out.
    table: fc.dictionary(tableKey, fc.option(tie('value'), { nil: undefined, freq: 8 }), {
      maxKeys: 5,
      depthIdentifier: 'field',
    }),
  }),
);

/** Any field value: scalars, and arrays and tables nested a few levels deep. */
export const fieldValue: fc.Arbitrary<FieldValue> = nestedFields.value;
/** A field array. */
export const fieldArray: fc.Arbitrary<FieldValue[]> = nestedFields.array;
/** A field table, possibly with a null prototype, possibly with keys whose value is undefined. */
export const fieldTable: fc.Arbitrary<FieldTable> = nestedFields.table;

// ---------------------------------------------------------------- properties

export const octet: fc.Arbitrary<number> = fc.integer({ min: 0, max: 0xff });

/** Message properties: each of the 14 present or absent. */
export const basicProperties: fc.Arbitrary<BasicProperties> = fc.record(
  {
    contentType: shortString,
    contentEncoding: shortString,
    headers: fieldTable,
    deliveryMode: octet,
    priority: octet,
    correlationId: shortString,
    replyTo: shortString,
    expiration: shortString,
    messageId: shortString,
    timestamp: timestampDate,
    type: shortString,
    userId: shortString,
    appId: shortString,
    clusterId: shortString,
  },
  { requiredKeys: [] },
);

// ---------------------------------------------------------------- methods

/** The wire type of a method argument, as the AMQP definition names it. */
export type ArgKind =
  | 'bit'
  | 'octet'
  | 'short'
  | 'long'
  | 'longlong'
  | 'shortstr'
  | 'longstr'
  | 'table'
  | 'timestamp';

/** The kinds that can carry a TypeScript type: checked against the generated argument types. */
type KindOf<T> = T extends boolean
  ? 'bit'
  : T extends number
    ? 'octet' | 'short' | 'long' | 'longlong'
    : T extends string
      ? 'shortstr'
      : T extends Buffer
        ? 'longstr'
        : T extends Date
          ? 'timestamp'
          : T extends FieldTable
            ? 'table'
            : never;

type ArgKinds<N extends MethodName> = {
  readonly [K in keyof MethodArgsMap[N]]-?: KindOf<MethodArgsMap[N][K]>;
};

/**
 * The wire type of every argument of every method. Its type is derived from
 * the generated `MethodArgsMap`, so a method left out, an argument missing or
 * extra, or a kind that does not fit the argument's TypeScript type fails to
 * compile; methods.spec.ts checks the integer widths against the AMQP JSON.
 */
export const methodArgKinds: { readonly [N in MethodName]: ArgKinds<N> } = {
  'connection.start': {
    versionMajor: 'octet',
    versionMinor: 'octet',
    serverProperties: 'table',
    mechanisms: 'longstr',
    locales: 'longstr',
  },
  'connection.start-ok': {
    clientProperties: 'table',
    mechanism: 'shortstr',
    response: 'longstr',
    locale: 'shortstr',
  },
  'connection.secure': { challenge: 'longstr' },
  'connection.secure-ok': { response: 'longstr' },
  'connection.tune': { channelMax: 'short', frameMax: 'long', heartbeat: 'short' },
  'connection.tune-ok': { channelMax: 'short', frameMax: 'long', heartbeat: 'short' },
  'connection.open': { virtualHost: 'shortstr', capabilities: 'shortstr', insist: 'bit' },
  'connection.open-ok': { knownHosts: 'shortstr' },
  'connection.close': {
    replyCode: 'short',
    replyText: 'shortstr',
    classId: 'short',
    methodId: 'short',
  },
  'connection.close-ok': {},
  'connection.blocked': { reason: 'shortstr' },
  'connection.unblocked': {},
  'connection.update-secret': { newSecret: 'longstr', reason: 'shortstr' },
  'connection.update-secret-ok': {},
  'channel.open': { outOfBand: 'shortstr' },
  'channel.open-ok': { channelId: 'longstr' },
  'channel.flow': { active: 'bit' },
  'channel.flow-ok': { active: 'bit' },
  'channel.close': {
    replyCode: 'short',
    replyText: 'shortstr',
    classId: 'short',
    methodId: 'short',
  },
  'channel.close-ok': {},
  'access.request': {
    realm: 'shortstr',
    exclusive: 'bit',
    passive: 'bit',
    active: 'bit',
    write: 'bit',
    read: 'bit',
  },
  'access.request-ok': {},
  'exchange.declare': {
    exchange: 'shortstr',
    type: 'shortstr',
    passive: 'bit',
    durable: 'bit',
    autoDelete: 'bit',
    internal: 'bit',
    nowait: 'bit',
    arguments: 'table',
  },
  'exchange.declare-ok': {},
  'exchange.delete': { exchange: 'shortstr', ifUnused: 'bit', nowait: 'bit' },
  'exchange.delete-ok': {},
  'exchange.bind': {
    destination: 'shortstr',
    source: 'shortstr',
    routingKey: 'shortstr',
    nowait: 'bit',
    arguments: 'table',
  },
  'exchange.bind-ok': {},
  'exchange.unbind': {
    destination: 'shortstr',
    source: 'shortstr',
    routingKey: 'shortstr',
    nowait: 'bit',
    arguments: 'table',
  },
  'exchange.unbind-ok': {},
  'queue.declare': {
    queue: 'shortstr',
    passive: 'bit',
    durable: 'bit',
    exclusive: 'bit',
    autoDelete: 'bit',
    nowait: 'bit',
    arguments: 'table',
  },
  'queue.declare-ok': { queue: 'shortstr', messageCount: 'long', consumerCount: 'long' },
  'queue.bind': {
    queue: 'shortstr',
    exchange: 'shortstr',
    routingKey: 'shortstr',
    nowait: 'bit',
    arguments: 'table',
  },
  'queue.bind-ok': {},
  'queue.purge': { queue: 'shortstr', nowait: 'bit' },
  'queue.purge-ok': { messageCount: 'long' },
  'queue.delete': { queue: 'shortstr', ifUnused: 'bit', ifEmpty: 'bit', nowait: 'bit' },
  'queue.delete-ok': { messageCount: 'long' },
  'queue.unbind': {
    queue: 'shortstr',
    exchange: 'shortstr',
    routingKey: 'shortstr',
    arguments: 'table',
  },
  'queue.unbind-ok': {},
  'basic.qos': { prefetchSize: 'long', prefetchCount: 'short', global: 'bit' },
  'basic.qos-ok': {},
  'basic.consume': {
    queue: 'shortstr',
    consumerTag: 'shortstr',
    noLocal: 'bit',
    noAck: 'bit',
    exclusive: 'bit',
    nowait: 'bit',
    arguments: 'table',
  },
  'basic.consume-ok': { consumerTag: 'shortstr' },
  'basic.cancel': { consumerTag: 'shortstr', nowait: 'bit' },
  'basic.cancel-ok': { consumerTag: 'shortstr' },
  'basic.publish': {
    exchange: 'shortstr',
    routingKey: 'shortstr',
    mandatory: 'bit',
    immediate: 'bit',
  },
  'basic.return': {
    replyCode: 'short',
    replyText: 'shortstr',
    exchange: 'shortstr',
    routingKey: 'shortstr',
  },
  'basic.deliver': {
    consumerTag: 'shortstr',
    deliveryTag: 'longlong',
    redelivered: 'bit',
    exchange: 'shortstr',
    routingKey: 'shortstr',
  },
  'basic.get': { queue: 'shortstr', noAck: 'bit' },
  'basic.get-ok': {
    deliveryTag: 'longlong',
    redelivered: 'bit',
    exchange: 'shortstr',
    routingKey: 'shortstr',
    messageCount: 'long',
  },
  'basic.get-empty': { clusterId: 'shortstr' },
  'basic.ack': { deliveryTag: 'longlong', multiple: 'bit' },
  'basic.reject': { deliveryTag: 'longlong', requeue: 'bit' },
  'basic.recover-async': { requeue: 'bit' },
  'basic.recover': { requeue: 'bit' },
  'basic.recover-ok': {},
  'basic.nack': { deliveryTag: 'longlong', multiple: 'bit', requeue: 'bit' },
  'tx.select': {},
  'tx.select-ok': {},
  'tx.commit': {},
  'tx.commit-ok': {},
  'tx.rollback': {},
  'tx.rollback-ok': {},
  'confirm.select': { nowait: 'bit' },
  'confirm.select-ok': {},
};

/** Every method name, in the order of `methodInfo`. */
export const methodNames = Object.keys(methodInfo) as MethodName[];

const kindArbitraries: { readonly [K in ArgKind]: fc.Arbitrary<unknown> } = {
  bit: fc.boolean(),
  octet,
  short: fc.integer({ min: 0, max: 0xffff }),
  long: fc.integer({ min: 0, max: 0xffff_ffff }),
  longlong: fc.maxSafeNat(),
  shortstr: shortString,
  longstr: buffer,
  table: fieldTable,
  timestamp: timestampDate,
};

/** The kinds of one method's arguments, keyed by argument name. */
export function argKinds(name: MethodName): Readonly<Record<string, ArgKind>> {
  return methodArgKinds[name] as Readonly<Record<string, ArgKind>>;
}

/** Arguments of the method `name`, every argument drawn from its wire type. */
export function methodArgs<N extends MethodName>(name: N): fc.Arbitrary<MethodArgsMap[N]> {
  const shape = Object.fromEntries(
    Object.entries(argKinds(name)).map(([arg, kind]) => [arg, kindArbitraries[kind]]),
  );
  return fc.record(shape) as unknown as fc.Arbitrary<MethodArgsMap[N]>;
}

/** A method named `name` with arbitrary arguments. */
export function methodOf(name: MethodName): fc.Arbitrary<Method> {
  return methodArgs(name).map((args) => ({ name, args }) as Method);
}

/** Any method of the protocol with arbitrary arguments. */
export const anyMethod: fc.Arbitrary<Method> = fc.oneof(...methodNames.map(methodOf));

// ---------------------------------------------------------------- decoded forms

const safeOrBig = (value: bigint): number | bigint =>
  value >= -MAX_SAFE && value <= MAX_SAFE ? Number(value) : value;

/** `-0` becomes `0`: integer types have no negative zero. */
const noNegativeZero = (value: number): number => (value === 0 ? 0 : value);

/**
 * What `value` decodes to after encoding, per the mapping in field-types.ts:
 * integers stay numbers unless they leave the safe range (then `bigint`),
 * float32 is rounded, byte arrays come back as `Buffer`, dates lose their
 * milliseconds, tables drop keys whose value is `undefined`.
 */
export function expectedValue(value: FieldValue): FieldValue {
  switch (typeof value) {
    case 'number':
      if (
        Number.isInteger(value) &&
        !Object.is(value, -0) &&
        value >= -(2 ** 63) &&
        value < 2 ** 63
      ) {
        return Number.isSafeInteger(value) ? value : BigInt(value);
      }
      return value;
    case 'bigint':
      return safeOrBig(value);
    case 'boolean':
    case 'string':
      return value;
    default:
      break;
  }
  if (value === null) return null;
  if (value instanceof Uint8Array) return Buffer.from(value);
  if (value instanceof Date) return new Date(Math.floor(value.getTime() / 1000) * 1000);
  if (value instanceof Decimal) return new Decimal(value.scale, noNegativeZero(value.value));
  if (value instanceof TypedField) {
    switch (value.type) {
      case 'int64':
        return safeOrBig(value.value as bigint);
      case 'float32':
        return Math.fround(value.value as number);
      case 'float64':
        return value.value;
      default:
        return noNegativeZero(value.value as number);
    }
  }
  if (Array.isArray(value)) return value.map(expectedValue);
  return expectedTable(value as FieldTable);
}

/** What `table` decodes to after encoding (an ordinary object; `__proto__` stays an own key). */
export function expectedTable(table: FieldTable): FieldTable {
  return Object.fromEntries(
    Object.keys(table).flatMap((key) => {
      const value = table[key];
      return value === undefined ? [] : [[key, expectedValue(value)]];
    }),
  );
}

/** What message properties decode to: headers as {@link expectedTable}, the rest as they are. */
export function expectedProperties(properties: BasicProperties): BasicProperties {
  const out: BasicProperties = { ...properties };
  if (properties.headers !== undefined) out.headers = expectedTable(properties.headers);
  if (properties.timestamp !== undefined) {
    out.timestamp = expectedValue(properties.timestamp) as Date;
  }
  return out;
}

/** What a method decodes to: its tables as {@link expectedTable}, the rest as they are. */
export function expectedMethod(method: Method): Method {
  const kinds = argKinds(method.name);
  const args = method.args as Readonly<Record<string, unknown>>;
  const out = Object.fromEntries(
    Object.keys(kinds).map((arg) => {
      const value = args[arg];
      return [arg, kinds[arg] === 'table' ? expectedTable(value as FieldTable) : value];
    }),
  );
  return { name: method.name, args: out } as Method;
}
