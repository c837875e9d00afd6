import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  type BasicProperties,
  type BodyFrame,
  type Command,
  ContentAssembler,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  type Frame,
  FrameEncoder,
  type HeaderFrame,
  type Method,
  type MethodArgs,
  type MethodFrame,
  type MethodName,
} from '../../lib/protocol/index.js';
import { basicProperties, expectedMethod, expectedProperties, methodOf } from './arbitraries.js';
import {
  encodeWith,
  expectProtocolError,
  expectSame,
  frameBytes,
  hex,
  parseChunks,
  thrown,
} from './helpers.js';

/** Bodies above this many bytes go out as views of the caller's bytes (frames.ts). */
const BODY_COPY_LIMIT = 16 * 1024;

const PUBLISH: MethodArgs<'basic.publish'> = {
  exchange: 'amq.topic',
  routingKey: 'a.b',
  mandatory: true,
  immediate: false,
};
const CONTENT_METHODS = ['basic.publish', 'basic.deliver', 'basic.get-ok', 'basic.return'] as const;

/** A body of `size` bytes that differs at every offset from its neighbours. */
function patternBody(size: number, seed = 7): Buffer {
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = (i * 31 + seed + (i >>> 8)) & 0xff;
  return body;
}

/** Feeds the frames to one assembler per channel and collects the commands they complete. */
function assemble(frames: readonly Frame[], maxBodySize?: number): Command[] {
  const assemblers = new Map<number, ContentAssembler>();
  const commands: Command[] = [];
  for (const frame of frames) {
    if (frame.type === FRAME_HEARTBEAT) continue;
    let assembler = assemblers.get(frame.channel);
    if (assembler === undefined) {
      assembler = new ContentAssembler(maxBodySize);
      assemblers.set(frame.channel, assembler);
    }
    const command = assembler.push(frame);
    if (command !== null) commands.push(command);
  }
  for (const assembler of assemblers.values()) expect(assembler.busy).toBe(false);
  return commands;
}

/** Encodes a publish with `frameMax` and parses it back into frames. */
function publishFrames(frameMax: number, properties: BasicProperties, body: Uint8Array) {
  const encoder = new FrameEncoder();
  encoder.frameMax = frameMax;
  encoder.content(1, 'basic.publish', PUBLISH, properties, body);
  const chunks = encoder.take();
  const bytes = Buffer.concat(chunks);
  return { chunks, bytes, frames: parseChunks([bytes], frameMax) };
}

/** The sizes of the frames in `bytes`, walking their size fields. */
function frameSizes(bytes: Buffer): number[] {
  const sizes: number[] = [];
  for (let at = 0; at < bytes.length; ) {
    const total = bytes.readUInt32BE(at + 3) + 8;
    expect(bytes[at + total - 1]).toBe(0xce);
    sizes.push(total);
    at += total;
  }
  return sizes;
}

const methodFrame = (method: Method, channel = 1): MethodFrame => ({
  type: FRAME_METHOD,
  channel,
  method,
});
const headerFrame = (bodySize: number, classId = 60): HeaderFrame => ({
  type: FRAME_HEADER,
  channel: 1,
  classId,
  bodySize,
  properties: {},
});
const bodyFrame = (payload: Buffer): BodyFrame => ({ type: FRAME_BODY, channel: 1, payload });
const deliver: Method = {
  name: 'basic.deliver',
  args: { consumerTag: 'c', deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q' },
};
const ack: Method = { name: 'basic.ack', args: { deliveryTag: 1, multiple: false } };

describe('content round trip', () => {
  test('properties, method and body come back through encoder, parser and assembler', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...CONTENT_METHODS).chain((name) => methodOf(name)),
        basicProperties,
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 0, max: 0xffff }),
        (method, properties, body, channel) => {
          const bytes = encodeWith(131072, (e) =>
            e.content(channel, method.name, method.args, properties, body),
          );
          const commands = assemble(parseChunks([bytes], 131072));
          expect(commands).toHaveLength(1);
          const [command] = commands;
          expectSame(command?.method, expectedMethod(method));
          expectSame(command?.content?.properties, expectedProperties(properties));
          expect(command?.content?.body).toStrictEqual(Buffer.from(body));
        },
      ),
      { numRuns: 300 },
    );
  });

  test('a header and body come back with the exact bytes of the content header', () => {
    const bytes = encodeWith(4096, (e) =>
      e.content(
        1,
        'basic.publish',
        { exchange: '', routingKey: '', mandatory: false, immediate: false },
        { contentType: 'a', deliveryMode: 2 },
        Buffer.from('hi'),
      ),
    );
    expect(bytes.toString('hex')).toBe(
      hex(`
        01 0001 00000009  003c 0028  0000  00  00  00  ce
        02 0001 00000011  003c  0000  0000000000000002  9000  01 61  02  ce
        03 0001 00000002  6869  ce
      `).toString('hex'),
    );
  });

  test('every property flag is the bit the spec gives it, in order from bit 15', () => {
    const all: Required<BasicProperties> = {
      contentType: 'ct',
      contentEncoding: 'ce',
      headers: { h: 1 },
      deliveryMode: 2,
      priority: 9,
      correlationId: 'ci',
      replyTo: 'rt',
      expiration: '60000',
      messageId: 'mi',
      timestamp: new Date(1_700_000_000_000),
      type: 'ty',
      userId: 'ui',
      appId: 'ai',
      clusterId: 'cl',
    };
    const keys = Object.keys(all) as (keyof BasicProperties)[];
    keys.forEach((key, i) => {
      const { bytes, frames } = publishFrames(4096, { [key]: all[key] }, Buffer.alloc(0));
      const header = bytes.subarray(bytes.readUInt32BE(3) + 8);
      // type, channel, size, class, weight, body size, then the flags.
      expect(header.readUInt16BE(7 + 12)).toBe(1 << (15 - i));
      const decoded = frames[1] as HeaderFrame;
      expect(Object.keys(decoded.properties)).toStrictEqual([key]);
    });
    const { frames } = publishFrames(4096, all, Buffer.alloc(0));
    expectSame((frames[1] as HeaderFrame).properties, all);
  });

  test('properties set to undefined are left out', () => {
    const { frames } = publishFrames(
      4096,
      { contentType: undefined, priority: 1 },
      Buffer.alloc(1),
    );
    expect((frames[1] as HeaderFrame).properties).toStrictEqual({ priority: 1 });
  });
});

describe('body frames', () => {
  const frameMaxAndSize = fc.integer({ min: 4096, max: 70_000 }).chain((frameMax) =>
    fc.tuple(
      fc.constant(frameMax),
      fc.oneof(
        fc.integer({ min: 0, max: 3 * frameMax }),
        // Near a multiple of the payload size, where an off-by-one would show.
        fc
          .tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: -2, max: 2 }))
          .map(([k, d]) => Math.max(0, k * (frameMax - 8) + d)),
      ),
    ),
  );

  test('a body is split into frames of exactly frameMax-8 bytes, the last holding the rest', () => {
    fc.assert(
      fc.property(frameMaxAndSize, fc.nat(255), ([frameMax, size], seed) => {
        const body = patternBody(size, seed);
        const { bytes, frames } = publishFrames(frameMax, {}, body);
        const room = frameMax - 8;
        const count = Math.ceil(size / room);

        expect(frames.map((f) => f.type)).toStrictEqual([
          FRAME_METHOD,
          FRAME_HEADER,
          ...Array<number>(count).fill(FRAME_BODY),
        ]);
        expect((frames[1] as HeaderFrame).bodySize).toBe(size);
        const payloads = (frames.slice(2) as BodyFrame[]).map((f) => f.payload);
        payloads.forEach((payload, i) => {
          expect(payload.length).toBe(i < count - 1 ? room : size - (count - 1) * room);
        });
        for (const total of frameSizes(bytes)) expect(total).toBeLessThanOrEqual(frameMax);
        expect(Buffer.concat(payloads).equals(body)).toBe(true);

        const [command] = assemble(frames);
        expect(command?.content?.body.equals(body)).toBe(true);
      }),
      { numRuns: 120 },
    );
  });

  const sizeCases = [4096, 131072].flatMap((frameMax) =>
    (
      [
        ['0 bytes', 0],
        ['1 byte', 1],
        ['exactly frameMax-8', frameMax - 8],
        ['frameMax-7', frameMax - 7],
        ['two frames exactly', 2 * (frameMax - 8)],
        ['BODY_COPY_LIMIT', BODY_COPY_LIMIT],
        ['BODY_COPY_LIMIT+1', BODY_COPY_LIMIT + 1],
        ['3*frameMax', 3 * frameMax],
      ] as const
    ).map(([label, size]) => [label, size, frameMax] as const),
  );
  test.each(sizeCases)(
    'a body of %s (%d bytes) reassembles byte-identical, frameMax %d',
    (_, size, frameMax) => {
      const body = patternBody(size);
      const { chunks, frames } = publishFrames(frameMax, { messageId: 'm' }, body);
      const bodyFrames = frames.filter((f) => f.type === FRAME_BODY);
      expect(bodyFrames).toHaveLength(Math.ceil(size / (frameMax - 8)));
      // Only body frames above BODY_COPY_LIMIT are sent as views of the body.
      const zeroCopy = bodyFrames.some((f) => f.payload.length > BODY_COPY_LIMIT);
      expect(chunks.some((c) => c.buffer === body.buffer)).toBe(zeroCopy);
      const [command] = assemble(frames);
      expect(command?.content?.body.equals(body)).toBe(true);
    },
  );

  test('a body frame above BODY_COPY_LIMIT goes out as a view of the caller bytes (zero copy)', () => {
    const backing = patternBody(200_000);
    // Start inside a larger buffer so that the view's offset matters.
    const body = backing.subarray(3, 3 + 150_000);
    const { chunks, bytes, frames } = publishFrames(131072, {}, body);
    const views = chunks.filter((c) => c.buffer === backing.buffer);
    expect(views.map((v) => v.length)).toStrictEqual([131072 - 8, 150_000 - (131072 - 8)]);
    expect(views[0]?.byteOffset).toBe(backing.byteOffset + 3);
    expect(frameSizes(bytes)).toHaveLength(4);
    const [command] = assemble(frames);
    expect(command?.content?.body.equals(body)).toBe(true);
  });

  test('body frames up to BODY_COPY_LIMIT are copied into the encoder', () => {
    const body = patternBody(BODY_COPY_LIMIT);
    const { chunks } = publishFrames(131072, {}, body);
    expect(chunks.some((c) => c.buffer === body.buffer)).toBe(false);
    expect(Buffer.concat(chunks).includes(body)).toBe(true);
  });

  test('large and small bodies interleaved with other frames keep their order', () => {
    const bodies = [0, 20_000, 5, 40_000, BODY_COPY_LIMIT].map((size, i) => patternBody(size, i));
    const bytes = encodeWith(8192, (e) => {
      for (const body of bodies) {
        e.method(1, 'basic.ack', { deliveryTag: body.length, multiple: false });
        e.content(1, 'basic.publish', PUBLISH, {}, body);
        e.heartbeat();
      }
    });
    const commands = assemble(parseChunks([bytes], 8192));
    expect(commands).toHaveLength(2 * bodies.length);
    bodies.forEach((body, i) => {
      expect(commands[2 * i]?.method).toStrictEqual({
        name: 'basic.ack',
        args: { deliveryTag: body.length, multiple: false },
      });
      expect(commands[2 * i + 1]?.content?.body.equals(body)).toBe(true);
    });
  });
});

describe('content encoding errors leave nothing behind', () => {
  function expectRefused(
    type: typeof RangeError | typeof TypeError,
    properties: BasicProperties,
    body: Uint8Array = Buffer.from('body'),
  ): Error {
    const encoder = new FrameEncoder();
    const error = thrown(() => encoder.content(1, 'basic.publish', PUBLISH, properties, body));
    expect(error).toBeInstanceOf(type);
    expect(encoder.pending).toBe(false);
    expect(encoder.take()).toStrictEqual([]);

    // Frames encoded before the failed publish are kept, and nothing of it.
    encoder.method(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    const before = Buffer.concat(encoder.take());
    encoder.method(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    expect(() => encoder.content(1, 'basic.publish', PUBLISH, properties, body)).toThrow(type);
    expect(Buffer.concat(encoder.take())).toStrictEqual(before);

    // And the encoder goes on working.
    encoder.content(1, 'basic.publish', PUBLISH, { priority: 1 }, Buffer.from('ok'));
    const [command] = assemble(parseChunks([Buffer.concat(encoder.take())], 4096));
    expect(command?.content?.body.toString()).toBe('ok');
    return error as Error;
  }

  test('a header with a function is a TypeError, and not even the method frame is kept', () => {
    const error = expectRefused(TypeError, {
      headers: { f: () => 0 } as unknown as BasicProperties['headers'],
    });
    expect(error.message).toMatch(/headers\.f/);
  });

  test('other invalid properties', () => {
    expectRefused(RangeError, { deliveryMode: 256 });
    expectRefused(RangeError, { priority: -1 });
    expectRefused(TypeError, { priority: 1.5 });
    expectRefused(RangeError, { contentType: 'x'.repeat(256) });
    expectRefused(TypeError, { timestamp: new Date(Number.NaN) });
    expectRefused(RangeError, { timestamp: new Date(-1000) });
    expectRefused(TypeError, { appId: 42 as unknown as string });
  });

  test('a content header larger than frameMax is a RangeError', () => {
    const error = expectRefused(RangeError, { headers: { big: 'x'.repeat(5000) } });
    expect(error.message).toMatch(/content header frame/);
  });
});

describe('ContentAssembler', () => {
  test('a method without content is a command at once', () => {
    const assembler = new ContentAssembler();
    expect(assembler.push(methodFrame(ack))).toStrictEqual({ method: ack });
    expect(assembler.busy).toBe(false);
  });

  test.each(CONTENT_METHODS)('%s waits for its header and body', (name: MethodName) => {
    const [method] = fc.sample(methodOf(name), 1) as [Method];
    const assembler = new ContentAssembler();
    expect(assembler.push(methodFrame(method))).toBeNull();
    expect(assembler.busy).toBe(true);
    expect(assembler.push(headerFrame(3))).toBeNull();
    expect(assembler.push(bodyFrame(Buffer.from('ab')))).toBeNull();
    const command = assembler.push(bodyFrame(Buffer.from('c')));
    expect(command?.method).toBe(method);
    expect(command?.content?.body.toString()).toBe('abc');
    expect(assembler.busy).toBe(false);
  });

  test('window() is where the next body bytes go, and bytes read there are not copied', () => {
    const assembler = new ContentAssembler();
    expect(assembler.window(10)).toBeNull();
    assembler.push(methodFrame(deliver));
    assembler.push(headerFrame(10));
    expect(assembler.bodyLeft).toBe(10);
    assembler.push(bodyFrame(Buffer.from('abc')));
    const window = assembler.window(4) as Buffer;
    expect(window).toHaveLength(4);
    window.write('defg');
    expect(assembler.push(bodyFrame(window))).toBeNull();
    expect(assembler.bodyLeft).toBe(3);
    // At most what is left, however much is asked for.
    const last = assembler.window(100) as Buffer;
    expect(last).toHaveLength(3);
    last.write('hij');
    const body = assembler.push(bodyFrame(last))?.content?.body as Buffer;
    expect(body.toString()).toBe('abcdefghij');
    expect(body.buffer).toBe(window.buffer);
    expect(assembler.bodyLeft).toBe(0);
    expect(assembler.window(1)).toBeNull();
  });

  test('a zero-size body completes at the header', () => {
    const assembler = new ContentAssembler();
    assembler.push(methodFrame(deliver));
    const command = assembler.push(headerFrame(0));
    expect(command?.content?.body).toStrictEqual(Buffer.alloc(0));
    expect(assembler.busy).toBe(false);
  });

  test('a body in one frame is that frame payload, not a copy', () => {
    const assembler = new ContentAssembler();
    assembler.push(methodFrame(deliver));
    assembler.push(headerFrame(4));
    const payload = Buffer.from('abcd');
    expect(assembler.push(bodyFrame(payload))?.content?.body).toBe(payload);
  });

  test('an empty body frame along the way changes nothing', () => {
    const assembler = new ContentAssembler();
    assembler.push(methodFrame(deliver));
    assembler.push(headerFrame(2));
    expect(assembler.push(bodyFrame(Buffer.alloc(0)))).toBeNull();
    expect(assembler.push(bodyFrame(Buffer.from('x')))).toBeNull();
    expect(assembler.push(bodyFrame(Buffer.from('y')))?.content?.body.toString()).toBe('xy');
  });

  test('it is reusable: command after command', () => {
    const assembler = new ContentAssembler();
    for (let i = 0; i < 3; i++) {
      assembler.push(methodFrame(deliver));
      assembler.push(headerFrame(2));
      assembler.push(bodyFrame(Buffer.from([i])));
      expect(assembler.push(bodyFrame(Buffer.from([i + 1])))?.content?.body).toStrictEqual(
        Buffer.from([i, i + 1]),
      );
      expect(assembler.push(methodFrame(ack))).toStrictEqual({ method: ack });
    }
  });

  test('a header without a method is UNEXPECTED_FRAME (505)', () => {
    expectProtocolError(() => new ContentAssembler().push(headerFrame(1)), 'UNEXPECTED_FRAME');
    const afterAck = new ContentAssembler();
    afterAck.push(methodFrame(ack));
    expectProtocolError(() => afterAck.push(headerFrame(1)), 'UNEXPECTED_FRAME');
  });

  test('a body without a header is UNEXPECTED_FRAME', () => {
    expectProtocolError(
      () => new ContentAssembler().push(bodyFrame(Buffer.from('x'))),
      'UNEXPECTED_FRAME',
    );
    const assembler = new ContentAssembler();
    assembler.push(methodFrame(deliver));
    expectProtocolError(() => assembler.push(bodyFrame(Buffer.from('x'))), 'UNEXPECTED_FRAME');
  });

  test('a method while content is pending is UNEXPECTED_FRAME', () => {
    const beforeHeader = new ContentAssembler();
    beforeHeader.push(methodFrame(deliver));
    expectProtocolError(() => beforeHeader.push(methodFrame(ack)), 'UNEXPECTED_FRAME');

    const beforeBody = new ContentAssembler();
    beforeBody.push(methodFrame(deliver));
    beforeBody.push(headerFrame(5));
    beforeBody.push(bodyFrame(Buffer.from('ab')));
    expectProtocolError(() => beforeBody.push(methodFrame(deliver)), 'UNEXPECTED_FRAME');
  });

  test('a second header is UNEXPECTED_FRAME', () => {
    const assembler = new ContentAssembler();
    assembler.push(methodFrame(deliver));
    assembler.push(headerFrame(5));
    expectProtocolError(() => assembler.push(headerFrame(5)), 'UNEXPECTED_FRAME');
  });

  test('body frames carrying more than the header announced are FRAME_ERROR (501)', () => {
    const split = new ContentAssembler();
    split.push(methodFrame(deliver));
    split.push(headerFrame(10));
    expect(split.push(bodyFrame(Buffer.alloc(6)))).toBeNull();
    expectProtocolError(() => split.push(bodyFrame(Buffer.alloc(6))), 'FRAME_ERROR');

    const single = new ContentAssembler();
    single.push(methodFrame(deliver));
    single.push(headerFrame(10));
    expectProtocolError(() => single.push(bodyFrame(Buffer.alloc(11))), 'FRAME_ERROR');
  });

  test('a body over maxBodySize comes out at its header as oversized, and is skipped; the cap itself is fine', () => {
    const capped = new ContentAssembler(100);
    capped.push(methodFrame(deliver));
    const refused = capped.push(headerFrame(250));
    expect(refused?.method).toBe(deliver);
    expect(refused?.content).toBeUndefined();
    expect(refused?.oversized).toStrictEqual({ properties: {}, bodySize: 250, maxBodySize: 100 });
    // Its body frames are taken, held nowhere, and nothing is offered to read them into.
    expect(capped.bodyLeft).toBe(0);
    expect(capped.window(1000)).toBeNull();
    expect(capped.push(bodyFrame(Buffer.alloc(100)))).toBeNull();
    expect(capped.busy).toBe(true);
    expect(capped.push(bodyFrame(Buffer.alloc(150)))).toBeNull();
    expect(capped.busy).toBe(false);
    // The next message is assembled as usual.
    capped.push(methodFrame(deliver));
    capped.push(headerFrame(2));
    expect(capped.push(bodyFrame(Buffer.from('ok')))?.content?.body.toString()).toBe('ok');

    const atCap = new ContentAssembler(100);
    atCap.push(methodFrame(deliver));
    expect(atCap.push(headerFrame(100))).toBeNull();
    expect(atCap.push(bodyFrame(Buffer.alloc(100)))?.content?.body).toHaveLength(100);
  });

  test('a skipped body is held to its announced size and order like any other', () => {
    const longer = new ContentAssembler(10);
    longer.push(methodFrame(deliver));
    longer.push(headerFrame(20));
    longer.push(bodyFrame(Buffer.alloc(15)));
    expectProtocolError(() => longer.push(bodyFrame(Buffer.alloc(6))), 'FRAME_ERROR');

    const interrupted = new ContentAssembler(10);
    interrupted.push(methodFrame(deliver));
    interrupted.push(headerFrame(20));
    interrupted.push(bodyFrame(Buffer.alloc(5)));
    expectProtocolError(() => interrupted.push(methodFrame(ack)), 'UNEXPECTED_FRAME');
  });

  test('the default cap is 128 MiB', () => {
    const assembler = new ContentAssembler();
    assembler.push(methodFrame(deliver));
    expect(assembler.push(headerFrame(128 * 1024 * 1024))).toBeNull();
    const over = new ContentAssembler();
    over.push(methodFrame(deliver));
    expect(over.push(headerFrame(128 * 1024 * 1024 + 1))?.oversized?.maxBodySize).toBe(
      128 * 1024 * 1024,
    );
  });

  test('a header of a class other than basic (60) is UNEXPECTED_FRAME', () => {
    const assembler = new ContentAssembler();
    assembler.push(methodFrame(deliver));
    expectProtocolError(() => assembler.push(headerFrame(1, 50)), 'UNEXPECTED_FRAME');
  });
});

describe('content header decoding', () => {
  /** A content header frame on channel 1: class 60, weight 0, body size 0, then `rest`. */
  const header = (rest: string): Buffer =>
    frameBytes(2, 1, hex(`003c 0000 0000000000000000 ${rest}`));

  test('a property flag basic does not have is a SYNTAX_ERROR', () => {
    expectProtocolError(() => parseChunks([header('0002')], 4096), 'SYNTAX_ERROR');
  });

  test('a continuation flags word must flag nothing', () => {
    const [plain] = parseChunks([header('0001 0000')], 4096) as [HeaderFrame];
    expect(plain.properties).toStrictEqual({});
    const [twice] = parseChunks([header('0001 0001 0000')], 4096) as [HeaderFrame];
    expect(twice.properties).toStrictEqual({});
    expectProtocolError(() => parseChunks([header('0001 8000')], 4096), 'SYNTAX_ERROR');
  });

  test('properties follow all the flags words', () => {
    const [frame] = parseChunks([header('8001 0000 02 6869')], 4096) as [HeaderFrame];
    expect(frame.properties).toStrictEqual({ contentType: 'hi' });
  });

  test('a header whose properties run past the frame is a SYNTAX_ERROR', () => {
    expectProtocolError(() => parseChunks([header('8000 05 6869')], 4096), 'SYNTAX_ERROR');
    expectProtocolError(() => parseChunks([header('00')], 4096), 'SYNTAX_ERROR');
  });

  test('a body size beyond 2^53 is a SYNTAX_ERROR', () => {
    const frame = frameBytes(2, 1, hex('003c 0000 0020000000000000 0000'));
    expectProtocolError(() => parseChunks([frame], 4096), 'SYNTAX_ERROR');
  });
});
