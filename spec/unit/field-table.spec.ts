import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  ByteReader,
  ByteWriter,
  Decimal,
  Field,
  type FieldTable,
  type FieldValue,
  MAX_NESTING,
  readTable,
  TypedField,
  writeTable,
} from '../../lib/protocol/index.js';
import {
  decimal,
  expectedTable,
  expectedValue,
  fieldTable,
  fieldValue,
  scalarFieldValue,
} from './arbitraries.js';
import { expectProtocolError, expectSame, hex, thrown } from './helpers.js';

function encode(table: FieldTable, what = 'headers'): Buffer {
  const w = new ByteWriter();
  writeTable(w, table, what);
  return Buffer.from(w.take());
}

/** Decodes a whole table and checks that it used every byte. */
function decode(bytes: Buffer): FieldTable {
  const r = new ByteReader(bytes);
  const table = readTable(r);
  expect(r.pos).toBe(bytes.length);
  return table;
}

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n);
  return b;
}

/** A table of the given entries (already encoded), behind its 32-bit length. */
function tableOf(...entries: Buffer[]): Buffer {
  const body = Buffer.concat(entries);
  return Buffer.concat([u32(body.length), body]);
}

/** The value of key `k` decoded from a table whose only entry is `k` then `valueHex` (tag first). */
function decodeEntry(valueHex: string): FieldValue | undefined {
  return decode(tableOf(hex(`01 6b ${valueHex}`))).k;
}

/** The tag octet `value` is encoded with, as a character. */
function tagOf(value: FieldValue): string {
  const bytes = encode({ k: value });
  // length (4), key length (1), 'k' (1), then the tag.
  return String.fromCharCode(bytes[6] as number);
}

/** `levels` tables, each (but the innermost) holding the next under key `a`. */
function nestedTables(levels: number): FieldTable {
  let table: FieldTable = {};
  for (let i = 1; i < levels; i++) table = { a: table };
  return table;
}

/** `levels` containers alternating table, array, table...: the outermost is a table. */
function nestedMixed(levels: number): FieldTable {
  let inner: FieldValue = levels % 2 === 0 ? [] : {};
  for (let i = levels - 1; i >= 1; i--) inner = i % 2 === 1 ? { a: inner } : [inner];
  return inner as FieldTable;
}

/** The bytes of {@link nestedTables}, built by hand so that they can go past what the encoder allows. */
function nestedTableBytes(levels: number): Buffer {
  let table = u32(0);
  for (let i = 1; i < levels; i++) table = tableOf(hex('01 61 46'), table);
  return table;
}

describe('field table round trip', () => {
  test('decode(encode(table)) is the expected decoded table, for every value type and nesting', () => {
    fc.assert(
      fc.property(fieldTable, (table) => {
        expectSame(decode(encode(table)), expectedTable(table));
      }),
      { numRuns: 400 },
    );
  });

  test('every scalar value round trips alone, inside an array and inside a nested table', () => {
    fc.assert(
      fc.property(scalarFieldValue, (value) => {
        const expected = expectedValue(value);
        expectSame(decode(encode({ v: value })).v, expected);
        expectSame(decode(encode({ list: [value, value] })).list, [expected, expected]);
        expectSame(decode(encode({ t: { v: value } })).t, { v: expected });
      }),
      { numRuns: 400 },
    );
  });

  test('encoding is deterministic and the length prefix covers exactly the entries', () => {
    fc.assert(
      fc.property(fieldValue, (value) => {
        const bytes = encode({ v: value });
        expect(bytes.readUInt32BE(0)).toBe(bytes.length - 4);
        expect(encode({ v: value })).toStrictEqual(bytes);
      }),
      { numRuns: 200 },
    );
  });

  test('a decoded table re-encodes to a stable form (decode and encode reach a fixed point)', () => {
    fc.assert(
      fc.property(fieldTable, (table) => {
        const decoded = decode(encode(table));
        const twice = encode(decoded);
        // Not `decoded` itself: an unsafe integer that arrived as a float re-encodes as int64.
        expectSame(decode(twice), expectedTable(decoded));
        expect(encode(decode(twice))).toStrictEqual(twice);
      }),
      { numRuns: 200 },
    );
  });

  test('keys whose value is undefined are left out', () => {
    expect(decode(encode({ a: undefined, b: 1 }))).toStrictEqual({ b: 1 });
    expect(encode({ a: undefined })).toStrictEqual(hex('00000000'));
  });

  test('a table with a null prototype encodes like a plain one', () => {
    const table = Object.assign(Object.create(null) as FieldTable, { a: 1, b: 'x' });
    expect(encode(table)).toStrictEqual(encode({ a: 1, b: 'x' }));
  });

  test('the same object twice (not a cycle) is fine', () => {
    const shared = { x: 1 };
    expect(decode(encode({ a: shared, b: [shared, shared] }))).toStrictEqual({
      a: { x: 1 },
      b: [{ x: 1 }, { x: 1 }],
    });
  });

  test('a key of exactly 255 UTF-8 bytes is allowed', () => {
    const key = `${'é'.repeat(127)}x`;
    expect(Buffer.byteLength(key)).toBe(255);
    expect(decode(encode({ [key]: 1 }))).toStrictEqual({ [key]: 1 });
  });
});

describe('integer width and type choice', () => {
  test.each<[string, FieldValue, string]>([
    ['0', 0, 'b'],
    ['127', 127, 'b'],
    ['-128', -128, 'b'],
    ['128', 128, 's'],
    ['-129', -129, 's'],
    ['32767', 32767, 's'],
    ['-32768', -32768, 's'],
    ['32768', 32768, 'I'],
    ['40000', 40000, 'I'],
    ['-32769', -32769, 'I'],
    ['2^31-1', 2 ** 31 - 1, 'I'],
    ['-2^31', -(2 ** 31), 'I'],
    ['2^31', 2 ** 31, 'l'],
    ['-2^31-1', -(2 ** 31) - 1, 'l'],
    ['2^40', 2 ** 40, 'l'],
    ['2^53', 2 ** 53, 'l'],
    ['2^63-1024', 2 ** 63 - 1024, 'l'],
    ['-2^63', -(2 ** 63), 'l'],
    ['2^63', 2 ** 63, 'd'],
    ['-2^63-4096', -(2 ** 63) - 4096, 'd'],
    ['2^70', 2 ** 70, 'd'],
    ['1.5', 1.5, 'd'],
    ['-0', -0, 'd'],
    ['1n (bigint)', 1n, 'l'],
    ['true', true, 't'],
    ['string', 'hi', 'S'],
    ['Date', new Date(0), 'T'],
    ['Buffer', Buffer.from([1]), 'x'],
    ['Uint8Array', new Uint8Array([1]), 'x'],
    ['null', null, 'V'],
    ['Decimal', new Decimal(1, 5), 'D'],
    ['array', [], 'A'],
    ['table', {}, 'F'],
    ['Field.int8', Field.int8(1), 'b'],
    ['Field.uint8', Field.uint8(1), 'B'],
    ['Field.int16', Field.int16(1), 's'],
    ['Field.uint16', Field.uint16(1), 'u'],
    ['Field.int32', Field.int32(1), 'I'],
    ['Field.uint32', Field.uint32(1), 'i'],
    ['Field.int64', Field.int64(1), 'l'],
    ['Field.float32', Field.float32(1), 'f'],
    ['Field.float64', Field.float64(1), 'd'],
  ])('%s is encoded with tag %s', (_, value, tag) => {
    expect(tagOf(value)).toBe(tag);
  });

  test('-0 keeps its sign through float64', () => {
    expect(Object.is(decode(encode({ z: -0 })).z, -0)).toBe(true);
  });

  test('an integer beyond the safe range decodes to the exact bigint', () => {
    expect(decode(encode({ n: 2 ** 60 })).n).toBe(2n ** 60n);
    expect(decode(encode({ n: 2n ** 60n })).n).toBe(2n ** 60n);
    expect(decode(encode({ n: -(2n ** 63n) })).n).toBe(-(2n ** 63n));
    expect(decode(encode({ n: 2n ** 63n - 1n })).n).toBe(2n ** 63n - 1n);
    expect(decode(encode({ n: 2n ** 53n })).n).toBe(2n ** 53n);
  });

  test('an int64 within the safe range decodes to a number', () => {
    expect(decode(encode({ n: 2n ** 53n - 1n })).n).toBe(Number.MAX_SAFE_INTEGER);
    expect(decode(encode({ n: -(2n ** 53n) + 1n })).n).toBe(Number.MIN_SAFE_INTEGER);
    expect(decode(encode({ n: 7n })).n).toBe(7);
  });

  test('float32 is rounded to single precision; beyond its range it is refused', () => {
    expect(decode(encode({ f: Field.float32(0.1) })).f).toBe(Math.fround(0.1));
    expect(() => Field.float32(1e40)).toThrow(RangeError);
  });

  test.each([Number.NaN, Infinity, -Infinity])(
    '%s is a TypeError naming the key path (RabbitMQ cannot read it)',
    (value) => {
      expect(() => encode({ a: { b: value } })).toThrow(TypeError);
      expect(() => encode({ a: { b: value } })).toThrow(/a\.b/);
    },
  );
});

describe('exact bytes', () => {
  test('a small table encodes to the bytes the AMQP 0-9-1 errata (RabbitMQ) prescribe', () => {
    const table: FieldTable = {
      a: 1,
      bb: 'hi',
      c: true,
      d: null,
      e: [1, Field.uint16(513)],
      f: Field.int64(-2),
      g: new Decimal(2, -1250),
      h: new Date(1_000_000_000_000),
      i: { x: 2.5 },
      k: Buffer.from([0xde, 0xad]),
    };
    const expected = hex(`
      0000005a
      01 61    62 01
      02 6262  53 00000002 6869
      01 63    74 01
      01 64    56
      01 65    41 00000005  62 01  75 0201
      01 66    6c fffffffffffffffe
      01 67    44 02 fffffb1e
      01 68    54 000000003b9aca00
      01 69    46 0000000b  01 78 64 4004000000000000
      01 6b    78 00000002 dead
    `);
    expect(encode(table).toString('hex')).toBe(expected.toString('hex'));
    expect(decode(expected)).toStrictEqual({
      a: 1,
      bb: 'hi',
      c: true,
      d: null,
      e: [1, 513],
      f: -2,
      g: new Decimal(2, -1250),
      h: new Date(1_000_000_000_000),
      i: { x: 2.5 },
      k: Buffer.from([0xde, 0xad]),
    });
  });

  test('keys and strings are UTF-8', () => {
    expect(encode({ é: 'ü' }).toString('hex')).toBe(
      hex('0000000a 02 c3a9 53 00000002 c3bc').toString('hex'),
    );
  });
});

describe('decoding each tag', () => {
  test.each<[string, string, FieldValue]>([
    ['t (nonzero is true)', '74 02', true],
    ['t (zero is false)', '74 00', false],
    ['b', '62 ff', -1],
    ['B', '42 ff', 255],
    ['s', '73 8000', -32768],
    ['u', '75 ffff', 65535],
    ['I', '49 80000000', -(2 ** 31)],
    ['i', '69 ffffffff', 0xffff_ffff],
    ['l (safe)', '6c 001fffffffffffff', Number.MAX_SAFE_INTEGER],
    ['l (negative safe)', '6c ffe0000000000001', Number.MIN_SAFE_INTEGER],
    ['l (beyond safe)', '6c 0020000000000000', 2n ** 53n],
    ['l (int64 min)', '6c 8000000000000000', -(2n ** 63n)],
    ['f', '66 3fc00000', 1.5],
    ['f (negative zero)', '66 80000000', -0],
    ['d', '64 c004000000000000', -2.5],
    ['D', '44 02 fffffb1e', new Decimal(2, -1250)],
    ['D (scale 255)', '44 ff 7fffffff', new Decimal(255, 0x7fff_ffff)],
    ['S', '53 00000003 e282ac', '€'],
    ['S (empty)', '53 00000000', ''],
    ['T', '54 000000003b9aca00', new Date(1_000_000_000_000)],
    ['x', '78 00000003 010203', Buffer.from([1, 2, 3])],
    ['x (empty)', '78 00000000', Buffer.alloc(0)],
    ['V', '56', null],
    ['A', '41 00000003 62 01 56', [1, null]],
    ['F', '46 00000004 01 6a 62 05', { j: 5 }],
  ])('%s', (_, bytes, expected) => {
    expect(decodeEntry(bytes)).toStrictEqual(expected);
  });

  test('a byte array is copied out of the frame, not a view of it', () => {
    const bytes = tableOf(hex('01 6b 78 00000002 0102'));
    const value = decode(bytes).k as Buffer;
    bytes[bytes.length - 1] = 0xff;
    expect(value).toStrictEqual(Buffer.from([1, 2]));
  });

  test('"__proto__" from the wire becomes an own key and leaves the prototype alone', () => {
    const bytes = tableOf(hex('09'), Buffer.from('__proto__'), hex('46 00000004 01 78 62 01'));
    const table = decode(bytes);
    expect(Object.getPrototypeOf(table)).toBe(Object.prototype);
    expect(Object.hasOwn(table, '__proto__')).toBe(true);
    expect(Object.keys(table)).toStrictEqual(['__proto__']);
    expect(Object.getOwnPropertyDescriptor(table, '__proto__')?.value).toStrictEqual({ x: 1 });
    expect((table as Record<string, unknown>).x).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  test('an own "__proto__" key encodes and comes back as an own key', () => {
    const table = JSON.parse('{"__proto__": {"x": 1}, "y": 2}') as FieldTable;
    const decoded = decode(encode(table));
    expect(Object.keys(decoded)).toStrictEqual(['__proto__', 'y']);
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toStrictEqual({ x: 1 });
  });
});

describe('decoding errors', () => {
  test.each([
    ['Z', '5a 00'],
    ['NUL', '00'],
    ['0xff', 'ff'],
  ])('unknown tag %s is a SYNTAX_ERROR (502)', (_, bytes) => {
    const error = expectProtocolError(() => decodeEntry(bytes), 'SYNTAX_ERROR');
    expect(error.message).toMatch(/unknown field value type/);
  });

  test.each([
    ['table length past the end', '00000064 01 6b 62 01'],
    ['long string length past the end', '00000009 01 6b 53 00000010 6869'],
    ['byte array length past the end', '00000009 01 6b 78 00000010 01 02'],
    ['array length past the end', '00000008 01 6b 41 00000010 62'],
    ['key length past the end', '00000003 09 6b 6b'],
    ['value cut short', '00000004 01 6b 49 00'],
    ['value missing after the key', '00000002 01 6b'],
    [
      'nested table longer than its enclosing table',
      `0000000b 01 6b 46 00000020 01 6a 62 01 ${'56'.repeat(40)}`,
    ],
    ['array element that runs past the array', '0000000a 01 6b 41 00000002 49 0000 0000'],
    ['timestamp beyond what a Date holds', '0000000b 01 6b 54 00ffffffffffffff'],
  ])('%s is a SYNTAX_ERROR', (_, bytes) => {
    expectProtocolError(() => decode(hex(bytes)), 'SYNTAX_ERROR');
  });

  test('a truncated table, at every length short of whole, is a SYNTAX_ERROR', () => {
    fc.assert(
      fc.property(fieldTable, fc.nat(), (table, cut) => {
        const bytes = encode(table);
        const short = bytes.subarray(0, cut % bytes.length);
        expectProtocolError(() => readTable(new ByteReader(short)), 'SYNTAX_ERROR');
      }),
      { numRuns: 200 },
    );
  });
});

describe('encoding errors', () => {
  test.each<[string, FieldTable, RegExp]>([
    ['a function', { f: () => 1 } as unknown as FieldTable, /headers\.f .*function/],
    ['a symbol', { s: Symbol('s') } as unknown as FieldTable, /headers\.s .*symbol/],
    ['a Map', { a: { b: [1, new Map()] } } as unknown as FieldTable, /headers\.a\.b\[1\] .*Map/],
    ['a class instance', { o: new (class Widget {})() } as unknown as FieldTable, /Widget/],
    ['a Set in an array', { list: [new Set()] } as unknown as FieldTable, /headers\.list\[0\]/],
    [
      'a typed array that is not bytes',
      { w: new Uint16Array(2) } as unknown as FieldTable,
      /Uint16Array/,
    ],
    [
      'undefined in an array',
      { a: { b: [1, undefined] } } as unknown as FieldTable,
      /headers\.a\.b\[1\]/,
    ],
    ['an invalid Date', { d: new Date(Number.NaN) }, /headers\.d/],
  ])('%s is a TypeError naming the key path', (_, table, message) => {
    const error = thrown(() => encode(table));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(message);
  });

  test('a cycle is a TypeError naming where it closes', () => {
    const table: Record<string, unknown> = {};
    table.self = { inner: table };
    const error = thrown(() => encode(table as FieldTable));
    expect(error).toBeInstanceOf(TypeError);
    expect((error as Error).message).toMatch(/headers\.self\.inner .*cycle/);

    const array: unknown[] = [1];
    array.push(array);
    const arrayError = thrown(() => encode({ list: array as FieldValue[] }));
    expect(arrayError).toBeInstanceOf(TypeError);
    expect((arrayError as Error).message).toMatch(/headers\.list\[1\] .*cycle/);
  });

  test('the table itself must be a plain object', () => {
    expect(() => encode(new Map() as unknown as FieldTable)).toThrow(TypeError);
    expect(() => encode([] as unknown as FieldTable)).toThrow(TypeError);
    expect(() => encode(null as unknown as FieldTable)).toThrow(TypeError);
  });

  test('a key over 255 UTF-8 bytes is a RangeError', () => {
    const key = 'é'.repeat(128);
    const error = thrown(() => encode({ a: { [key]: 1 } }));
    expect(error).toBeInstanceOf(RangeError);
    expect((error as Error).message).toMatch(/headers\.a\./);
  });

  test('a bigint outside int64 is a RangeError', () => {
    expect(() => encode({ n: 2n ** 63n })).toThrow(RangeError);
    expect(() => encode({ n: -(2n ** 63n) - 1n })).toThrow(RangeError);
  });

  test('a Date before 1970 is a RangeError (AMQP timestamps are unsigned)', () => {
    expect(() => encode({ d: new Date(-1000) })).toThrow(RangeError);
  });
});

describe('nesting limit', () => {
  test(`${MAX_NESTING} levels encode and decode; one more is refused both ways`, () => {
    expect(MAX_NESTING).toBe(32);
    const deepest = encode(nestedTables(MAX_NESTING));
    expect(deepest).toStrictEqual(nestedTableBytes(MAX_NESTING));
    expect(decode(deepest)).toStrictEqual(nestedTables(MAX_NESTING));

    expect(() => encode(nestedTables(MAX_NESTING + 1))).toThrow(RangeError);
    expectProtocolError(() => decode(nestedTableBytes(MAX_NESTING + 1)), 'SYNTAX_ERROR');
  });

  test('arrays count towards the limit like tables', () => {
    const deepest = nestedMixed(MAX_NESTING);
    expect(decode(encode(deepest))).toStrictEqual(deepest);
    expect(() => encode(nestedMixed(MAX_NESTING + 1))).toThrow(RangeError);

    // The same, built by hand, one level deeper than allowed: arrays of arrays.
    let inner = hex('41 00000000');
    for (let i = 0; i < MAX_NESTING - 1; i++)
      inner = Buffer.concat([hex('41'), u32(inner.length), inner]);
    expectProtocolError(() => decode(tableOf(hex('01 6b'), inner)), 'SYNTAX_ERROR');
  });

  test('a deep nesting error names the path', () => {
    const error = thrown(() => encode(nestedTables(MAX_NESTING + 1)));
    expect((error as Error).message).toMatch(/^headers(\.a){32} /);
  });
});

describe('Field wrappers', () => {
  const ranges = [
    ['int8', -0x80, 0x7f],
    ['uint8', 0, 0xff],
    ['int16', -0x8000, 0x7fff],
    ['uint16', 0, 0xffff],
    ['int32', -0x8000_0000, 0x7fff_ffff],
    ['uint32', 0, 0xffff_ffff],
  ] as const;

  test.each(ranges)('Field.%s accepts %d to %d and nothing outside', (type, min, max) => {
    const make = Field[type];
    expect(make(min)).toStrictEqual(new TypedField(type, min));
    expect(make(max)).toStrictEqual(new TypedField(type, max));
    expect(() => make(min - 1)).toThrow(RangeError);
    expect(() => make(max + 1)).toThrow(RangeError);
    expect(() => make(1.5)).toThrow(TypeError);
    expect(() => make(Number.NaN)).toThrow(TypeError);
    expect(() => make(Infinity)).toThrow(TypeError);
    expect(() => make('1' as unknown as number)).toThrow(TypeError);
    expect(() => make(1n as unknown as number)).toThrow(TypeError);
  });

  test.each(ranges)('Field.%s round trips every value in its range', (type, min, max) => {
    fc.assert(
      fc.property(fc.integer({ min, max }), (value) => {
        const bytes = encode({ v: Field[type](value) });
        expect(decode(bytes).v).toBe(value);
      }),
      { numRuns: 100 },
    );
  });

  test('Field.int64 takes a safe integer or a bigint within int64', () => {
    expect(Field.int64(5)).toStrictEqual(new TypedField('int64', 5n));
    expect(Field.int64(-(2n ** 63n)).value).toBe(-(2n ** 63n));
    expect(Field.int64(2n ** 63n - 1n).value).toBe(2n ** 63n - 1n);
    expect(() => Field.int64(2n ** 63n)).toThrow(RangeError);
    expect(() => Field.int64(-(2n ** 63n) - 1n)).toThrow(RangeError);
    expect(() => Field.int64(2 ** 53)).toThrow(TypeError);
    expect(() => Field.int64(1.5)).toThrow(TypeError);
    expect(() => Field.int64('1' as unknown as number)).toThrow(TypeError);
  });

  test('Field.float32 and Field.float64 take any finite number and nothing else', () => {
    expect(() => Field.float32(Number.NaN)).toThrow(TypeError);
    expect(() => Field.float64(Infinity)).toThrow(TypeError);
    expect(Field.float64(-0).value).toBe(-0);
    expect(() => Field.float32('1' as unknown as number)).toThrow(TypeError);
    expect(() => Field.float64(1n as unknown as number)).toThrow(TypeError);
  });
});

describe('Decimal', () => {
  test('scale 0 to 255 and a signed 32-bit value are accepted', () => {
    expect(new Decimal(0, -0x8000_0000).value).toBe(-0x8000_0000);
    expect(new Decimal(255, 0x7fff_ffff).scale).toBe(255);
  });

  test('out of range is a RangeError at construction', () => {
    expect(() => new Decimal(-1, 0)).toThrow(RangeError);
    expect(() => new Decimal(256, 0)).toThrow(RangeError);
    expect(() => new Decimal(0, 0x8000_0000)).toThrow(RangeError);
    expect(() => new Decimal(0, -0x8000_0001)).toThrow(RangeError);
  });

  test('a non-integer is a TypeError at construction', () => {
    expect(() => new Decimal(1.5, 0)).toThrow(TypeError);
    expect(() => new Decimal(0, 0.5)).toThrow(TypeError);
    expect(() => new Decimal(Number.NaN, 0)).toThrow(TypeError);
    expect(() => new Decimal(0, Infinity)).toThrow(TypeError);
    expect(() => new Decimal('1' as unknown as number, 0)).toThrow(TypeError);
  });

  test.each<[number, number, string]>([
    [2, -1250, '-12.50'],
    [0, 42, '42'],
    [0, -42, '-42'],
    [3, 5, '0.005'],
    [3, -5, '-0.005'],
    [2, 100, '1.00'],
    [1, 0, '0.0'],
    [1, -2147483648, '-214748364.8'],
    [12, 2147483647, '0.002147483647'],
  ])('Decimal(%d, %d).toString() is %s', (scale, value, text) => {
    expect(new Decimal(scale, value).toString()).toBe(text);
  });

  test('toString is exact: its digits are the value and the scale is the digits after the point', () => {
    fc.assert(
      fc.property(decimal, (d) => {
        const text = d.toString();
        expect(text).toMatch(d.scale === 0 ? /^-?\d+$/ : /^-?\d+\.\d+$/);
        expect(BigInt(text.replace('.', ''))).toBe(BigInt(d.value));
        expect(text.split('.')[1]?.length ?? 0).toBe(d.scale);
        if (d.scale <= 22) {
          // Both are the exact value rounded once, so they are at most an ulp apart.
          const n = d.toNumber();
          expect(Math.abs(Number(text) - n)).toBeLessThanOrEqual(Math.abs(n) * 2 ** -52);
        }
      }),
      { numRuns: 300 },
    );
  });

  test('toNumber divides by 10^scale', () => {
    expect(new Decimal(2, -1250).toNumber()).toBe(-12.5);
    expect(new Decimal(0, 7).toNumber()).toBe(7);
  });
});
