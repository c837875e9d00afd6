import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { type AmqpSpec, specJsonPath } from '../../codegen/generate.js';
import {
  FRAME_METHOD,
  FrameEncoder,
  type Method,
  type MethodArgs,
  type MethodName,
  methodEncoders,
  methodInfo,
} from '../../lib/protocol/index.js';
import {
  anyMethod,
  argKinds,
  expectedMethod,
  methodArgKinds,
  methodNames,
  methodOf,
} from './arbitraries.js';
import { encodeWith, expectSame, hex, parseChunks, thrown } from './helpers.js';

const BIG_FRAME_MAX = 1 << 20;

/** Encodes `method` on `channel` and parses the bytes back into frames. */
function roundTrip(method: Method, channel = 1) {
  const bytes = encodeWith(BIG_FRAME_MAX, (e) => e.method(channel, method.name, method.args));
  return { bytes, frames: parseChunks([bytes], BIG_FRAME_MAX) };
}

/** Encodes one method with `encoder` typed loosely, for arguments the types would refuse. */
function encodeLoose(encoder: FrameEncoder, name: MethodName, args: Record<string, unknown>): void {
  encoder.method(1, name, args as unknown as MethodArgs<MethodName>);
}

/** The args of a method with every field set to a plain valid value. */
function sampleArgs(name: MethodName): Record<string, unknown> {
  return Object.fromEntries(
    Object.entries(argKinds(name)).map(([arg, kind]) => {
      switch (kind) {
        case 'bit':
          return [arg, false];
        case 'shortstr':
          return [arg, ''];
        case 'longstr':
          return [arg, Buffer.alloc(0)];
        case 'table':
          return [arg, {}];
        case 'timestamp':
          return [arg, new Date(0)];
        default:
          return [arg, 0];
      }
    }),
  );
}

describe('method coverage', () => {
  const spec = JSON.parse(readFileSync(specJsonPath, 'utf8')) as AmqpSpec;
  const camel = (name: string): string =>
    name.replace(/-([a-z0-9])/g, (_, c: string) => c.toUpperCase());

  test('the arbitraries cover every method in methodInfo, and no other', () => {
    expect(Object.keys(methodArgKinds).sort()).toStrictEqual(Object.keys(methodInfo).sort());
    expect(Object.keys(methodEncoders).sort()).toStrictEqual(Object.keys(methodInfo).sort());
    expect(methodNames).toHaveLength(66);
  });

  test('every method arbitrary yields that method with every argument set', () => {
    for (const name of methodNames) {
      const [sample] = fc.sample(methodOf(name), 1);
      expect(sample?.name).toBe(name);
      expect(Object.keys(sample?.args ?? {}).sort()).toStrictEqual(
        Object.keys(methodArgKinds[name]).sort(),
      );
    }
  });

  test('argument kinds and method ids agree with the AMQP JSON definition', () => {
    const domains = new Map(spec.domains);
    const fromJson: Record<string, Record<string, string>> = {};
    for (const cls of spec.classes) {
      for (const m of cls.methods) {
        const name = `${cls.name}.${m.name}` as MethodName;
        expect(methodInfo[name]?.id).toBe(cls.id * 0x1_0000 + m.id);
        fromJson[name] = Object.fromEntries(
          m.arguments
            .filter((a) => a.name !== 'ticket')
            .map((a) => [camel(a.name), a.type ?? domains.get(a.domain ?? '') ?? '?']),
        );
      }
    }
    expect(fromJson).toStrictEqual(methodArgKinds);
  });
});

describe('method round trip', () => {
  test('any method encodes and parses back to { name, args }', () => {
    fc.assert(
      fc.property(anyMethod, fc.integer({ min: 0, max: 0xffff }), (method, channel) => {
        const { bytes, frames } = roundTrip(method, channel);
        expect(frames).toHaveLength(1);
        const frame = frames[0];
        expect(frame?.type).toBe(FRAME_METHOD);
        expect(frame?.channel).toBe(channel);
        expect(bytes.readUInt32BE(3)).toBe(bytes.length - 8);
        expectSame(frame?.type === FRAME_METHOD ? frame.method : frame, expectedMethod(method));
      }),
      { numRuns: 500 },
    );
  });

  test.each(methodNames)('%s round trips', (name) => {
    fc.assert(
      fc.property(methodOf(name), (method) => {
        const [frame] = roundTrip(method).frames;
        expectSame(frame?.type === FRAME_METHOD ? frame.method : frame, expectedMethod(method));
      }),
      { numRuns: 25 },
    );
  });

  test('several methods in one buffer come back in order', () => {
    fc.assert(
      fc.property(fc.array(anyMethod, { minLength: 1, maxLength: 8 }), (methods) => {
        const bytes = encodeWith(BIG_FRAME_MAX, (e) => {
          for (const m of methods) e.method(3, m.name, m.args);
        });
        const frames = parseChunks([bytes], BIG_FRAME_MAX);
        expectSame(
          frames.map((f) => (f.type === FRAME_METHOD ? f.method : f)),
          methods.map(expectedMethod),
        );
      }),
      { numRuns: 100 },
    );
  });
});

describe('exact bytes', () => {
  test('basic.publish: reserved ticket is zero, bits are packed low bit first', () => {
    const bytes = encodeWith(4096, (e) => {
      e.method(1, 'basic.publish', {
        exchange: 'ex',
        routingKey: 'rk',
        mandatory: true,
        immediate: false,
      });
      e.method(2, 'basic.publish', {
        exchange: '',
        routingKey: 'é',
        mandatory: false,
        immediate: true,
      });
    });
    expect(bytes.toString('hex')).toBe(
      hex(`
        01 0001 0000000d  003c 0028  0000  02 6578  02 726b  01  ce
        01 0002 0000000b  003c 0028  0000  00       02 c3a9  02  ce
      `).toString('hex'),
    );
  });

  test('connection.tune-ok', () => {
    const bytes = encodeWith(4096, (e) =>
      e.method(0, 'connection.tune-ok', { channelMax: 2047, frameMax: 131072, heartbeat: 60 }),
    );
    expect(bytes.toString('hex')).toBe(
      hex('01 0000 0000000c  000a 001f  07ff  00020000  003c  ce').toString('hex'),
    );
  });

  test('queue.declare: five bits share one octet, then the table', () => {
    const bytes = encodeWith(4096, (e) =>
      e.method(5, 'queue.declare', {
        queue: 'q',
        passive: false,
        durable: true,
        exclusive: false,
        autoDelete: true,
        nowait: true,
        arguments: { 'x-max-length': 10 },
      }),
    );
    expect(bytes.toString('hex')).toBe(
      hex(`
        01 0005 0000001c  0032 000a  0000  01 71  1a
        0000000f  0c ${Buffer.from('x-max-length').toString('hex')} 62 0a
        ce
      `).toString('hex'),
    );
  });

  test('basic.ack: a 64-bit delivery tag', () => {
    const bytes = encodeWith(4096, (e) =>
      e.method(1, 'basic.ack', { deliveryTag: 2 ** 40 + 5, multiple: true }),
    );
    expect(bytes.toString('hex')).toBe(
      hex('01 0001 0000000d  003c 0050  0000010000000005  01  ce').toString('hex'),
    );
  });
});

describe('encoding errors leave nothing behind', () => {
  /** Runs `encode`, expects it to throw `type`, and checks that the encoder holds only `before`. */
  function expectRefused(
    type: typeof RangeError | typeof TypeError,
    encode: (e: FrameEncoder) => void,
    message?: RegExp,
  ): void {
    for (const withEarlierFrame of [false, true]) {
      const encoder = new FrameEncoder();
      if (withEarlierFrame) encoder.method(0, 'connection.close-ok', {});
      const error = thrown(() => encode(encoder));
      expect(error).toBeInstanceOf(type);
      if (message !== undefined) expect((error as Error).message).toMatch(message);
      const out = Buffer.concat(encoder.take());
      const expected = withEarlierFrame ? hex('01 0000 00000004  000a 0033  ce') : Buffer.alloc(0);
      expect(out.toString('hex')).toBe(expected.toString('hex'));
      expect(encoder.pending).toBe(false);
      // The encoder is still usable and the next frame starts clean.
      encoder.heartbeat();
      expect(Buffer.concat(encoder.take()).toString('hex')).toBe(
        hex('08 0000 00000000 ce').toString('hex'),
      );
    }
  }

  test('a short string over 255 UTF-8 bytes is a RangeError', () => {
    expectRefused(
      RangeError,
      (e) =>
        e.method(1, 'basic.publish', {
          exchange: 'amq.direct',
          routingKey: 'é'.repeat(128),
          mandatory: false,
          immediate: false,
        }),
      /routingKey.*256 bytes/,
    );
  });

  test('a short string of exactly 255 UTF-8 bytes is fine', () => {
    const routingKey = `${'é'.repeat(127)}x`;
    const method: Method = {
      name: 'basic.publish',
      args: { exchange: '', routingKey, mandatory: false, immediate: false },
    };
    expectSame(roundTrip(method).frames[0], { type: FRAME_METHOD, channel: 1, method });
  });

  test('an integer argument out of range is a RangeError', () => {
    expectRefused(
      RangeError,
      (e) => e.method(1, 'basic.qos', { prefetchSize: 0, prefetchCount: 70000, global: false }),
      /prefetchCount/,
    );
    expectRefused(RangeError, (e) =>
      e.method(1, 'basic.qos', { prefetchSize: -1, prefetchCount: 0, global: false }),
    );
    expectRefused(RangeError, (e) =>
      e.method(1, 'basic.ack', { deliveryTag: 2 ** 53, multiple: false }),
    );
    expectRefused(RangeError, (e) =>
      e.method(0, 'connection.tune-ok', { channelMax: 0, frameMax: 2 ** 32, heartbeat: 0 }),
    );
  });

  test('NaN or a fraction in an integer argument is a TypeError', () => {
    expectRefused(
      TypeError,
      (e) =>
        e.method(1, 'basic.qos', { prefetchSize: 0, prefetchCount: Number.NaN, global: false }),
      /prefetchCount/,
    );
    expectRefused(TypeError, (e) =>
      e.method(1, 'basic.ack', { deliveryTag: 1.5, multiple: false }),
    );
  });

  test('a wrong argument type is a TypeError', () => {
    expectRefused(TypeError, (e) =>
      encodeLoose(e, 'queue.declare', { ...sampleArgs('queue.declare'), queue: 5 }),
    );
    expectRefused(TypeError, (e) => encodeLoose(e, 'connection.secure', { challenge: 42 }));
    expectRefused(TypeError, (e) =>
      encodeLoose(e, 'queue.bind', { ...sampleArgs('queue.bind'), arguments: [] }),
    );
  });

  test('a bad table argument is a TypeError naming its path', () => {
    expectRefused(
      TypeError,
      (e) =>
        encodeLoose(e, 'queue.declare', {
          ...sampleArgs('queue.declare'),
          arguments: { 'x-args': [1, () => 0] },
        }),
      /queue\.declare arguments\.x-args\[1\]/,
    );
  });

  test('a channel outside 0 to 65535 is a RangeError', () => {
    expectRefused(RangeError, (e) => e.method(65536, 'channel.open', { outOfBand: '' }));
    expectRefused(RangeError, (e) => e.method(-1, 'channel.open', { outOfBand: '' }));
  });

  test('an unknown method name is a TypeError', () => {
    expectRefused(TypeError, (e) => encodeLoose(e, 'basic.teleport' as MethodName, {}));
  });

  test('a method frame larger than frameMax is a RangeError; exactly frameMax is fine', () => {
    // connection.start-ok with empty strings and table: 22 bytes of frame around the response.
    const startOk = (length: number) => ({
      clientProperties: {},
      mechanism: '',
      response: Buffer.alloc(length, 0x61),
      locale: '',
    });
    const fits = encodeWith(4096, (e) => e.method(0, 'connection.start-ok', startOk(4096 - 22)));
    expect(fits).toHaveLength(4096);
    expectRefused(
      RangeError,
      (e) => e.method(0, 'connection.start-ok', startOk(4096 - 21)),
      /4097 bytes, more than frame_max \(4096\)/,
    );
    expectRefused(RangeError, (e) =>
      encodeLoose(e, 'queue.declare', {
        ...sampleArgs('queue.declare'),
        arguments: { big: 'x'.repeat(5000) },
      }),
    );
  });

  test('frameMax itself must be an integer from 4096 to 2^32-1', () => {
    const encoder = new FrameEncoder();
    expect(encoder.frameMax).toBe(4096);
    expect(() => {
      encoder.frameMax = 4095;
    }).toThrow(RangeError);
    expect(() => {
      encoder.frameMax = 2 ** 32;
    }).toThrow(RangeError);
    expect(() => {
      encoder.frameMax = 5000.5;
    }).toThrow(RangeError);
    encoder.frameMax = 2 ** 32 - 1;
    expect(encoder.frameMax).toBe(2 ** 32 - 1);
  });
});
