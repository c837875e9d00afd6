/**
 * Wire interoperability with amqplib, an independent implementation of the same
 * protocol: what warren writes, amqplib reads as it represents each AMQP type,
 * and what amqplib writes, warren reads as docs/field-tables.md says.
 *
 * amqplib's representation (node_modules/amqplib/lib/codec.js and defs.js):
 * every integer type is a `number` (int64 through `Number()`, so beyond 2^53 it
 * rounds); float32 and float64 are numbers; a timestamp is
 * `{ '!': 'timestamp', value: seconds }`; a decimal is
 * `{ '!': 'decimal', value: { places, digits } }` with `digits` read as an
 * unsigned 32-bit integer (warren's is signed); a byte array is a `Buffer`;
 * void is `null`. The `timestamp` property is a number of seconds, and every
 * property is a key of `properties`, `undefined` when absent.
 *
 * RabbitMQ passes the content header of a message through as it received it,
 * so both readers see the other writer's bytes.
 */
import { randomFillSync } from 'node:crypto';
import amqplib from 'amqplib';
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  type Connection,
  type ConnectOptions,
  connect,
  Decimal,
  Field,
  type FieldTable,
  type IncomingMessage,
  Message,
  type MessageProperties,
  type Queue,
} from '../../lib/index.js';

const url = inject('amqpUrl');
const user = decodeURIComponent(new URL(url).username) || 'guest';

type ReceiveMode = 'get' | 'consume';
const MODES: readonly ReceiveMode[] = ['get', 'consume'];

/** A moment in whole seconds, as AMQP timestamps carry it. */
const SENT_AT = new Date(Date.UTC(2024, 1, 29, 23, 59, 58));
const SENT_AT_SECONDS = SENT_AT.getTime() / 1000;
/** A body that takes many frames at either client's frame_max. */
const MULTI_FRAME_SIZE = 300 * 1024;

const cleanups: (() => Promise<unknown>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

async function openWarren(options: ConnectOptions = {}): Promise<Connection> {
  const connection = await connect(url, options);
  cleanups.push(() => connection.close());
  return connection;
}

/** An amqplib connection; `frameMax` (bytes) sets the frame_max it asks for. */
async function openAmqplib(frameMax?: number): Promise<amqplib.ChannelModel> {
  const target = new URL(url);
  if (frameMax !== undefined) target.searchParams.set('frameMax', String(frameMax));
  const connection = await amqplib.connect(target.toString());
  // A channel error is also emitted on the connection; the test sees it through its promise.
  connection.on('error', () => {});
  cleanups.push(() => connection.close());
  return connection;
}

function randomBody(size: number): Buffer {
  return randomFillSync(Buffer.allocUnsafe(size));
}

/** Compares bodies without printing megabytes when they differ. */
function expectSameBytes(actual: Buffer, expected: Buffer): void {
  expect(Buffer.isBuffer(actual)).toBe(true);
  expect(actual.length, 'body length').toBe(expected.length);
  if (!actual.equals(expected)) {
    const at = actual.findIndex((byte, i) => byte !== expected[i]);
    expect.fail(`the bodies differ first at byte ${at} of ${expected.length}`);
  }
}

async function amqplibReceive(
  channel: amqplib.Channel,
  queue: string,
  mode: ReceiveMode,
): Promise<amqplib.Message> {
  if (mode === 'get') {
    const message = await channel.get(queue, { noAck: true });
    if (message === false) throw new Error(`amqplib found queue ${queue} empty`);
    return message;
  }
  return new Promise((resolve, reject) => {
    channel
      .consume(
        queue,
        (message) => {
          if (message === null) reject(new Error('the broker cancelled the amqplib consumer'));
          else resolve(message);
        },
        { noAck: true },
      )
      .catch(reject);
  });
}

async function warrenReceive(queue: Queue, mode: ReceiveMode): Promise<IncomingMessage> {
  if (mode === 'get') {
    const message = await queue.get({ noAck: true });
    if (message === null) throw new Error(`warren found queue ${queue.name} empty`);
    return message;
  }
  return new Promise((resolve, reject) => {
    queue.consume((message) => resolve(message), { noAck: true }).catch(reject);
  });
}

// ---------------------------------------------------------------------------------------------
// warren → amqplib
// ---------------------------------------------------------------------------------------------

/** One header of every kind warren encodes (docs/field-tables.md). */
function warrenHeaders(): FieldTable {
  return {
    ascii: 'plain text',
    unicode: 'Grüße, 世界! 🐇',
    emptyString: '',
    'ключ-ü': 'a key that is not ASCII',
    yes: true,
    no: false,
    int8: 127,
    int8Min: -128,
    int16: 128,
    int16Min: -32768,
    int32: 32768,
    int32Min: -2147483648,
    int64: 2147483648,
    int64SafeMax: Number.MAX_SAFE_INTEGER,
    int64SafeMin: Number.MIN_SAFE_INTEGER,
    bigint: 42n,
    bigintMax: 2n ** 63n - 1n,
    bigintMin: -(2n ** 63n),
    double: Math.PI,
    negativeZero: -0,
    // No NaN or ±Infinity: warren encodes them as float64, but RabbitMQ cannot
    // parse a non-finite float and closes the connection (541 INTERNAL_ERROR).
    beyondInt64: 2 ** 64,
    pinnedInt8: Field.int8(-1),
    pinnedUint8: Field.uint8(255),
    pinnedInt16: Field.int16(5),
    pinnedUint16: Field.uint16(65535),
    pinnedInt32: Field.int32(-7),
    pinnedUint32: Field.uint32(4294967295),
    pinnedInt64: Field.int64(3),
    pinnedInt64Big: Field.int64(-(2n ** 62n) - 1n),
    pinnedFloat32: Field.float32(0.1),
    pinnedFloat64: Field.float64(1),
    decimal: new Decimal(2, 1999),
    decimalMax: new Decimal(255, 2147483647),
    decimalNegative: new Decimal(3, -1250),
    timestamp: SENT_AT,
    timestampWithMillis: new Date(SENT_AT.getTime() + 999),
    epoch: new Date(0),
    bytes: Buffer.from([0x00, 0x01, 0x7f, 0x80, 0xff]),
    uint8Array: new Uint8Array([1, 2, 3]),
    emptyBytes: Buffer.alloc(0),
    nothing: null,
    leftOut: undefined,
    array: [
      1,
      'two',
      true,
      null,
      2.5,
      70000n,
      Field.uint16(9),
      new Decimal(1, 5),
      SENT_AT,
      Buffer.from('x'),
      [[], ['deep']],
      { inArray: Field.float32(1.5) },
    ],
    emptyArray: [],
    table: {
      level1: { level2: { level3: 'bottom', list: [Field.uint8(1)] } },
      when: SENT_AT,
      price: new Decimal(2, 995),
    },
    emptyTable: {},
  };
}

/** {@link warrenHeaders} as amqplib decodes them. */
function warrenHeadersAsAmqplibReadsThem(): Record<string, unknown> {
  const timestamp = { '!': 'timestamp', value: SENT_AT_SECONDS };
  return {
    ascii: 'plain text',
    unicode: 'Grüße, 世界! 🐇',
    emptyString: '',
    'ключ-ü': 'a key that is not ASCII',
    yes: true,
    no: false,
    int8: 127,
    int8Min: -128,
    int16: 128,
    int16Min: -32768,
    int32: 32768,
    int32Min: -2147483648,
    int64: 2147483648,
    int64SafeMax: Number.MAX_SAFE_INTEGER,
    int64SafeMin: Number.MIN_SAFE_INTEGER,
    bigint: 42,
    // amqplib reads every int64 through Number(): beyond 2^53 it rounds.
    bigintMax: Number(2n ** 63n - 1n),
    bigintMin: Number(-(2n ** 63n)),
    double: Math.PI,
    negativeZero: -0,
    beyondInt64: 2 ** 64,
    pinnedInt8: -1,
    pinnedUint8: 255,
    pinnedInt16: 5,
    pinnedUint16: 65535,
    pinnedInt32: -7,
    pinnedUint32: 4294967295,
    pinnedInt64: 3,
    pinnedInt64Big: Number(-(2n ** 62n) - 1n),
    pinnedFloat32: Math.fround(0.1),
    pinnedFloat64: 1,
    decimal: { '!': 'decimal', value: { places: 2, digits: 1999 } },
    decimalMax: { '!': 'decimal', value: { places: 255, digits: 2147483647 } },
    // The one disagreement, over bytes both sides agree on: warren writes a
    // decimal's value as a signed 32-bit integer (spec 4.2.5.5, and RabbitMQ's Java
    // and .NET clients); amqplib reads it unsigned (the grammar in 4.2.1,
    // `decimal-value = scale long-uint`, and RabbitMQ's own parser).
    decimalNegative: { '!': 'decimal', value: { places: 3, digits: 2 ** 32 - 1250 } },
    timestamp,
    timestampWithMillis: timestamp,
    epoch: { '!': 'timestamp', value: 0 },
    bytes: Buffer.from([0x00, 0x01, 0x7f, 0x80, 0xff]),
    uint8Array: Buffer.from([1, 2, 3]),
    emptyBytes: Buffer.alloc(0),
    nothing: null,
    array: [
      1,
      'two',
      true,
      null,
      2.5,
      70000,
      9,
      { '!': 'decimal', value: { places: 1, digits: 5 } },
      timestamp,
      Buffer.from('x'),
      [[], ['deep']],
      { inArray: 1.5 },
    ],
    emptyArray: [],
    table: {
      level1: { level2: { level3: 'bottom', list: [1] } },
      when: timestamp,
      price: { '!': 'decimal', value: { places: 2, digits: 995 } },
    },
    emptyTable: {},
  };
}

/** Every basic property, set by warren. */
function warrenProperties(headers: FieldTable): MessageProperties {
  return {
    contentType: 'application/x-warren-test',
    contentEncoding: 'identity',
    headers,
    deliveryMode: 2,
    priority: 7,
    correlationId: 'correlation-ü-1',
    replyTo: 'replies.for.warren',
    expiration: '3600000',
    messageId: 'message-√-42',
    timestamp: SENT_AT,
    type: 'interop.warren-to-amqplib',
    userId: user,
    appId: 'warren-spec',
    clusterId: 'cluster-Ω',
  };
}

/** Declares a queue on an amqplib connection and publishes `message` to it from warren, confirmed. */
async function warrenToAmqplib(
  message: Message,
  amqpFrameMax?: number,
): Promise<{ channel: amqplib.Channel; queue: string }> {
  const amqp = await openAmqplib(amqpFrameMax);
  const channel = await amqp.createChannel();
  const { queue } = await channel.assertQueue('', { exclusive: true });
  const warren = await openWarren();
  const publisher = await warren.openChannel({ confirm: true });
  await publisher.exchange('').publish(message, queue);
  return { channel, queue };
}

describe.each(MODES)('warren publishes, amqplib receives by %s', (mode) => {
  it('reads every basic property and every header type as amqplib represents it', async () => {
    const body = Buffer.from('warren → amqplib ✓', 'utf8');
    const { channel, queue } = await warrenToAmqplib(
      new Message(body, warrenProperties(warrenHeaders())),
    );

    const received = await amqplibReceive(channel, queue, mode);

    expect(received.fields).toMatchObject({ exchange: '', routingKey: queue, redelivered: false });
    expectSameBytes(received.content, body);
    const { headers, ...properties } = received.properties;
    expect(properties).toStrictEqual({
      contentType: 'application/x-warren-test',
      contentEncoding: 'identity',
      deliveryMode: 2,
      priority: 7,
      correlationId: 'correlation-ü-1',
      replyTo: 'replies.for.warren',
      expiration: '3600000',
      messageId: 'message-√-42',
      timestamp: SENT_AT_SECONDS,
      type: 'interop.warren-to-amqplib',
      userId: user,
      appId: 'warren-spec',
      clusterId: 'cluster-Ω',
    });
    expect(headers).toStrictEqual(warrenHeadersAsAmqplibReadsThem());
    expect(Object.keys(headers ?? {})).not.toContain('leftOut');
  });

  it('delivers a 300 KiB body byte for byte, re-framed for amqplib', async () => {
    const body = randomBody(MULTI_FRAME_SIZE);
    // amqplib asks for the smallest frame_max, so the broker splits the body into ~75 frames.
    const { channel, queue } = await warrenToAmqplib(
      new Message(body, { messageId: 'multi-frame' }),
      4096,
    );

    const received = await amqplibReceive(channel, queue, mode);

    expect(received.properties.messageId).toBe('multi-frame');
    expectSameBytes(received.content, body);
  });

  it('delivers an empty body as an empty body', async () => {
    const { channel, queue } = await warrenToAmqplib(
      new Message(Buffer.alloc(0), { messageId: 'empty', headers: { empty: true } }),
    );

    const received = await amqplibReceive(channel, queue, mode);

    expect(received.properties.messageId).toBe('empty');
    expect(received.properties.headers).toStrictEqual({ empty: true });
    expectSameBytes(received.content, Buffer.alloc(0));
  });
});

// ---------------------------------------------------------------------------------------------
// amqplib → warren
// ---------------------------------------------------------------------------------------------

/**
 * One header of every kind amqplib encodes: its guesses for plain values, and
 * every type it names in the `{ '!': type, value }` form, under each alias.
 */
function amqplibHeaders(): Record<string, unknown> {
  return {
    ascii: 'plain text',
    unicode: 'Grüße, 世界! 🐇',
    emptyString: '',
    'ключ-ü': 'a key that is not ASCII',
    yes: true,
    no: false,
    guessedByte: -128,
    guessedShort: 32767,
    guessedInt: -2147483648,
    guessedLong: 2147483648,
    guessedLongNegative: -(2 ** 40),
    guessedLongUnsafe: 2 ** 60,
    guessedDouble: 0.5,
    // amqplib sees no fraction in -0 and writes it as int8 0.
    guessedNegativeZero: -0,
    guessedDoubleBeyondInt64: 2 ** 64,
    int8: { '!': 'int8', value: -5 },
    byte: { '!': 'byte', value: 100 },
    uint8: { '!': 'uint8', value: 200 },
    unsignedbyte: { '!': 'unsignedbyte', value: 255 },
    int16: { '!': 'int16', value: -300 },
    short: { '!': 'short', value: 1 },
    uint16: { '!': 'uint16', value: 60000 },
    unsignedshort: { '!': 'unsignedshort', value: 65535 },
    int32: { '!': 'int32', value: -70000 },
    int: { '!': 'int', value: 2 },
    uint32: { '!': 'uint32', value: 4000000000 },
    unsignedint: { '!': 'unsignedint', value: 4294967295 },
    int64: { '!': 'int64', value: 12 },
    long: { '!': 'long', value: 2n ** 63n - 1n },
    longMin: { '!': 'long', value: -(2n ** 63n) },
    float: { '!': 'float', value: 0.1 },
    double: { '!': 'double', value: 1 },
    float64: { '!': 'float64', value: -2.25 },
    timestamp: { '!': 'timestamp', value: SENT_AT_SECONDS },
    decimal: { '!': 'decimal', value: { places: 2, digits: 1999 } },
    // amqplib writes digits unsigned; warren reads them signed (see decimalNegative above).
    decimalHigh: { '!': 'decimal', value: { places: 0, digits: 4294967295 } },
    bytes: Buffer.from([0x00, 0x01, 0x7f, 0x80, 0xff]),
    emptyBytes: Buffer.alloc(0),
    nothing: null,
    leftOut: undefined,
    array: [
      1,
      'two',
      false,
      null,
      Buffer.from('y'),
      [{ '!': 'timestamp', value: SENT_AT_SECONDS }, []],
      { nested: { '!': 'float', value: 1.5 } },
    ],
    emptyArray: [],
    table: { level1: { level2: { level3: 'bottom' } }, count: { '!': 'uint32', value: 7 } },
    emptyTable: {},
    // A computed key makes an own property named __proto__, which amqplib writes.
    ['__proto__']: 'an ordinary key',
  };
}

/** {@link amqplibHeaders} as warren decodes them (docs/field-tables.md, "From AMQP to JavaScript"). */
function amqplibHeadersAsWarrenReadsThem(): FieldTable {
  const headers: FieldTable = {
    ascii: 'plain text',
    unicode: 'Grüße, 世界! 🐇',
    emptyString: '',
    'ключ-ü': 'a key that is not ASCII',
    yes: true,
    no: false,
    guessedByte: -128,
    guessedShort: 32767,
    guessedInt: -2147483648,
    guessedLong: 2147483648,
    guessedLongNegative: -(2 ** 40),
    guessedLongUnsafe: 2n ** 60n,
    guessedDouble: 0.5,
    guessedNegativeZero: 0,
    guessedDoubleBeyondInt64: 2 ** 64,
    int8: -5,
    byte: 100,
    uint8: 200,
    unsignedbyte: 255,
    int16: -300,
    short: 1,
    uint16: 60000,
    unsignedshort: 65535,
    int32: -70000,
    int: 2,
    uint32: 4000000000,
    unsignedint: 4294967295,
    int64: 12,
    long: 2n ** 63n - 1n,
    longMin: -(2n ** 63n),
    float: Math.fround(0.1),
    double: 1,
    float64: -2.25,
    timestamp: SENT_AT,
    decimal: new Decimal(2, 1999),
    decimalHigh: new Decimal(0, -1),
    bytes: Buffer.from([0x00, 0x01, 0x7f, 0x80, 0xff]),
    emptyBytes: Buffer.alloc(0),
    nothing: null,
    array: [1, 'two', false, null, Buffer.from('y'), [SENT_AT, []], { nested: 1.5 }],
    emptyArray: [],
    table: { level1: { level2: { level3: 'bottom' } }, count: 7 },
    emptyTable: {},
  };
  Object.defineProperty(headers, '__proto__', {
    value: 'an ordinary key',
    enumerable: true,
    writable: true,
    configurable: true,
  });
  return headers;
}

/** Every basic property amqplib's `publish` sets (it always leaves cluster-id out). */
function amqplibPublishOptions(headers: Record<string, unknown>): amqplib.Options.Publish {
  return {
    contentType: 'application/x-amqplib-test',
    contentEncoding: 'gzip',
    headers,
    deliveryMode: 2,
    priority: 3,
    correlationId: 'correlation-ü-2',
    replyTo: 'replies.for.amqplib',
    expiration: 3600000,
    messageId: 'message-√-43',
    timestamp: SENT_AT_SECONDS,
    type: 'interop.amqplib-to-warren',
    userId: user,
    appId: 'amqplib-spec',
  };
}

/** Declares a queue on a warren connection and publishes to it from amqplib, confirmed. */
async function amqplibToWarren(
  content: Buffer,
  options: amqplib.Options.Publish,
  warrenOptions: ConnectOptions = {},
): Promise<Queue> {
  const warren = await openWarren(warrenOptions);
  const channel = await warren.openChannel();
  const queue = await channel.declareQueue('', { exclusive: true });
  const amqp = await openAmqplib();
  const publisher = await amqp.createConfirmChannel();
  publisher.publish('', queue.name, content, options);
  await publisher.waitForConfirms();
  return queue;
}

describe.each(MODES)('amqplib publishes, warren receives by %s', (mode) => {
  it("decodes every basic property and every header type to warren's mapping", async () => {
    const body = Buffer.from('amqplib → warren ✓', 'utf8');
    const queue = await amqplibToWarren(body, amqplibPublishOptions(amqplibHeaders()));

    const received = await warrenReceive(queue, mode);

    expect(received.exchange).toBe('');
    expect(received.routingKey).toBe(queue.name);
    expectSameBytes(received.body, body);
    const { headers, ...properties } = received.properties;
    expect(properties).toStrictEqual({
      contentType: 'application/x-amqplib-test',
      contentEncoding: 'gzip',
      deliveryMode: 2,
      priority: 3,
      correlationId: 'correlation-ü-2',
      replyTo: 'replies.for.amqplib',
      expiration: '3600000',
      messageId: 'message-√-43',
      timestamp: SENT_AT,
      type: 'interop.amqplib-to-warren',
      userId: user,
      appId: 'amqplib-spec',
    });
    expect(headers).toStrictEqual(amqplibHeadersAsWarrenReadsThem());
    expect(Object.getPrototypeOf(headers)).toBe(Object.prototype);
    expect(Object.keys(headers ?? {})).toContain('__proto__');
    expect(Object.keys(headers ?? {})).not.toContain('leftOut');
  });

  it('reassembles a 300 KiB body byte for byte from small frames', async () => {
    const body = randomBody(MULTI_FRAME_SIZE);
    // warren asks for the smallest frame_max, so the broker splits the body into ~75 frames.
    const queue = await amqplibToWarren(body, { messageId: 'multi-frame' }, { frameMax: 4096 });

    const received = await warrenReceive(queue, mode);

    expect(received.properties.messageId).toBe('multi-frame');
    expectSameBytes(received.body, body);
  });

  it('delivers an empty body as an empty body', async () => {
    const queue = await amqplibToWarren(Buffer.alloc(0), {
      messageId: 'empty',
      headers: { empty: true },
    });

    const received = await warrenReceive(queue, mode);

    expect(received.properties.messageId).toBe('empty');
    expect(received.properties.headers).toStrictEqual({ empty: true });
    expectSameBytes(received.body, Buffer.alloc(0));
  });
});

describe('amqplib below its publish API', () => {
  /** The method amqplib's `publish` calls; it takes every property, cluster-id too. */
  interface SendMessage {
    sendMessage(fields: object, properties: object, content: Buffer): boolean;
  }

  it('sets cluster-id, which warren decodes with the rest', async () => {
    const warren = await openWarren();
    const channel = await warren.openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    const received = warrenReceive(queue, 'consume');
    const amqp = await openAmqplib();
    const publisher = (await amqp.createChannel()) as unknown as SendMessage;

    publisher.sendMessage(
      { exchange: '', routingKey: queue.name, mandatory: false, immediate: false, ticket: 0 },
      {
        ...amqplibPublishOptions({ pinned: { '!': 'int16', value: 5 } }),
        // `publish` turns a number into the short string; below it, that is ours to do.
        expiration: '3600000',
        clusterId: 'cluster-Ω',
      },
      Buffer.from('low level'),
    );

    const message = await received;
    expect(message.text()).toBe('low level');
    expect(message.properties).toStrictEqual({
      contentType: 'application/x-amqplib-test',
      contentEncoding: 'gzip',
      headers: { pinned: 5 },
      deliveryMode: 2,
      priority: 3,
      correlationId: 'correlation-ü-2',
      replyTo: 'replies.for.amqplib',
      expiration: '3600000',
      messageId: 'message-√-43',
      timestamp: SENT_AT,
      type: 'interop.amqplib-to-warren',
      userId: user,
      appId: 'amqplib-spec',
      clusterId: 'cluster-Ω',
    });
  });
});
