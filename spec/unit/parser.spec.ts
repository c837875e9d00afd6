import fc from 'fast-check';
import { describe, expect, test, vi } from 'vitest';
import {
  type BodyFrame,
  FRAME_BODY,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  type Frame,
  FrameParser,
  PROTOCOL_HEADER,
  ProtocolError,
} from '../../lib/protocol/index.js';
import {
  canonical,
  encodeWith,
  expectProtocolError,
  frameBytes,
  hex,
  parseChunks,
  splitAt,
  thrown,
} from './helpers.js';

const PUBLISH = { exchange: 'amq.direct', routingKey: 'q', mandatory: false, immediate: false };

/** A short capture: methods on two channels, heartbeats, and a publish with a small body. */
const small = encodeWith(4096, (e) => {
  e.method(0, 'connection.tune-ok', { channelMax: 2047, frameMax: 131072, heartbeat: 60 });
  e.heartbeat();
  e.method(1, 'channel.open', { outOfBand: '' });
  e.content(1, 'basic.publish', PUBLISH, { contentType: 'text/plain' }, Buffer.from('hello'));
  e.method(2, 'basic.ack', { deliveryTag: 1, multiple: false });
  e.heartbeat();
});

const BIG_FRAME_MAX = 131072;
/** A larger capture: a body frame bigger than a typical 64 KiB socket read, and one split in two. */
const big = encodeWith(BIG_FRAME_MAX, (e) => {
  e.method(0, 'connection.tune-ok', { channelMax: 0, frameMax: BIG_FRAME_MAX, heartbeat: 30 });
  e.method(1, 'queue.declare', {
    queue: 'jobs',
    passive: false,
    durable: true,
    exclusive: false,
    autoDelete: false,
    nowait: false,
    arguments: { 'x-queue-type': 'quorum', 'x-max-length': 100_000, nested: { list: [1, 'a'] } },
  });
  e.content(1, 'basic.publish', PUBLISH, { messageId: 'big' }, patternBody(100_000));
  e.heartbeat();
  e.content(3, 'basic.publish', PUBLISH, { headers: { n: 1 } }, patternBody(140_000));
  e.method(1, 'basic.ack', { deliveryTag: 2, multiple: true });
  e.content(1, 'basic.publish', PUBLISH, {}, Buffer.alloc(0));
  e.heartbeat();
});

function patternBody(size: number): Buffer {
  const body = Buffer.alloc(size);
  for (let i = 0; i < size; i++) body[i] = (i * 7 + (i >>> 9)) & 0xff;
  return body;
}

/** Splits `bytes` into chunks whose sizes cycle through `sizes`. */
function chunkBySizes(bytes: Buffer, sizes: readonly number[]): Buffer[] {
  const chunks: Buffer[] = [];
  for (let at = 0, i = 0; at < bytes.length; i++) {
    const size = sizes[i % sizes.length] as number;
    chunks.push(Buffer.from(bytes.subarray(at, at + size)));
    at += size;
  }
  return chunks;
}

/**
 * Parses `chunks` and returns the frames in comparable form. Consecutive body frames of a
 * channel are joined: how a body is cut into frames and pieces depends on the chunking, and
 * the content assembler joins them anyway; their bytes and order are what must not change.
 */
function parsed(chunks: readonly Buffer[], frameMax: number): unknown {
  // Pieces are gathered and joined once per run: joining them one by one is quadratic, and
  // one byte at a time that took the big capture past the test timeout.
  const runs: (Frame | BodyFrame[])[] = [];
  for (const frame of parseChunks(chunks, frameMax)) {
    const last = runs.at(-1);
    if (frame.type !== FRAME_BODY) runs.push(frame);
    else if (Array.isArray(last) && last[0]?.channel === frame.channel) last.push(frame);
    else runs.push([frame]);
  }
  const frames = runs.map((run): Frame => {
    if (!Array.isArray(run)) return run;
    const [first] = run as [BodyFrame];
    return { ...first, payload: Buffer.concat(run.map((piece) => piece.payload)) };
  });
  return canonical(frames);
}

describe('the captures parse to the frames that were encoded', () => {
  test('the small capture', () => {
    const frames = parseChunks([small], 4096);
    expect(frames.map((f) => [f.type, f.channel])).toStrictEqual([
      [FRAME_METHOD, 0],
      [FRAME_HEARTBEAT, 0],
      [FRAME_METHOD, 1],
      [FRAME_METHOD, 1],
      [FRAME_HEADER, 1],
      [FRAME_BODY, 1],
      [FRAME_METHOD, 2],
      [FRAME_HEARTBEAT, 0],
    ]);
    expect(frames[3]).toMatchObject({ method: { name: 'basic.publish', args: PUBLISH } });
    expect(frames[4]).toMatchObject({ bodySize: 5, properties: { contentType: 'text/plain' } });
    expect((frames[5] as BodyFrame).payload.toString()).toBe('hello');
  });

  test('the big capture', () => {
    const frames = parseChunks([big], BIG_FRAME_MAX);
    const bodies = frames.filter((f): f is BodyFrame => f.type === FRAME_BODY);
    expect(bodies.map((f) => [f.channel, f.payload.length])).toStrictEqual([
      [1, 100_000],
      [3, BIG_FRAME_MAX - 8],
      [3, 140_000 - (BIG_FRAME_MAX - 8)],
    ]);
    expect(bodies[0]?.payload.equals(patternBody(100_000))).toBe(true);
    const [, second, third] = bodies as [BodyFrame, BodyFrame, BodyFrame];
    expect(Buffer.concat([second.payload, third.payload]).equals(patternBody(140_000))).toBe(true);
    expect(frames).toHaveLength(14);
  });
});

describe('every chunking yields the same frames', () => {
  const whole = parsed([small], 4096);

  test('every single cut of the small capture', () => {
    for (let cut = 0; cut <= small.length; cut++) {
      expect(parsed(splitAt(small, [cut]), 4096)).toStrictEqual(whole);
    }
  });

  test('every pair of cuts of the small capture', () => {
    expect(small.length).toBeGreaterThan(100);
    for (let first = 1; first < small.length; first++) {
      for (let second = first + 1; second < small.length; second++) {
        const chunks = [
          small.subarray(0, first),
          small.subarray(first, second),
          small.subarray(second),
        ];
        const got = parsed(chunks, 4096);
        if (JSON.stringify(got) !== JSON.stringify(whole)) {
          expect.fail(`cuts at ${first} and ${second} changed the frames`);
        }
      }
    }
  });

  test('one byte at a time, and empty chunks in between', () => {
    const bytes = [...small].flatMap((b) => [Buffer.from([b]), Buffer.alloc(0)]);
    expect(parsed(bytes, 4096)).toStrictEqual(whole);
  });

  const bigWhole = parsed([big], BIG_FRAME_MAX);

  // About a second alone; the generous timeout is for a machine busy with other work.
  test('the big capture one byte at a time', { timeout: 30_000 }, () => {
    expect(parsed(chunkBySizes(big, [1]), BIG_FRAME_MAX)).toStrictEqual(bigWhole);
  });

  test('random chunkings of the big capture', () => {
    const chunkSize = fc.oneof(
      { arbitrary: fc.constant(1), weight: 1 },
      { arbitrary: fc.integer({ min: 1, max: 16 }), weight: 1 },
      { arbitrary: fc.integer({ min: 1, max: 70_000 }), weight: 4 },
    );
    fc.assert(
      fc.property(fc.array(chunkSize, { minLength: 1, maxLength: 12 }), (sizes) => {
        // Keep each run short: mostly large reads, with small ones mixed in.
        const scaled = sizes.every((s) => s <= 16) ? [...sizes, 65_536] : sizes;
        expect(parsed(chunkBySizes(big, scaled), BIG_FRAME_MAX)).toStrictEqual(bigWhole);
      }),
      { numRuns: 60 },
    );
  });

  test('random cut points of the big capture', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 1, max: big.length - 1 }), { maxLength: 40 }),
        (cuts) => {
          expect(parsed(splitAt(big, cuts), BIG_FRAME_MAX)).toStrictEqual(bigWhole);
        },
      ),
      { numRuns: 60 },
    );
  });
});

describe('zero copy', () => {
  /** Where the first body frame of `bytes` begins. */
  function firstBodyFrame(bytes: Buffer): number {
    for (let at = 0; at < bytes.length; at += bytes.readUInt32BE(at + 3) + 8) {
      if (bytes[at] === FRAME_BODY) return at;
    }
    throw new Error('no body frame');
  }

  /** A chunk in memory of its own (never Node's shared pool), holding a copy of `bytes`. */
  const ownChunk = (bytes: Uint8Array): Buffer => {
    const chunk = Buffer.alloc(bytes.length);
    chunk.set(bytes);
    return chunk;
  };

  test('a body frame inside one chunk is a view of that chunk', () => {
    const chunk = ownChunk(big);
    const parser = new FrameParser();
    parser.frameMax = BIG_FRAME_MAX;
    parser.push(chunk);
    const bodies: BodyFrame[] = [];
    for (let f = parser.next(); f !== null; f = parser.next()) {
      if (f.type === FRAME_BODY) bodies.push(f);
    }
    expect(bodies).toHaveLength(3);
    for (const body of bodies) expect(body.payload.buffer).toBe(chunk.buffer);
    const first = bodies[0] as BodyFrame;
    const at = firstBodyFrame(big) + 7;
    expect(first.payload.byteOffset).toBe(chunk.byteOffset + at);
    chunk[at] = (chunk[at] as number) ^ 0xff;
    expect(first.payload[0]).toBe(chunk[at]);
  });

  test('a body frame split across chunks comes out in pieces, each a view of its chunk', () => {
    const at = firstBodyFrame(big);
    const end = at + 7 + 100_000;
    for (const cuts of [
      [at + 3],
      [at + 7],
      [at + 5000],
      [at + 5000, at + 60_000],
      [end],
      [end + 1],
    ]) {
      const chunks = splitAt(big, cuts).map(ownChunk);
      const frames = parseChunks(chunks, BIG_FRAME_MAX);
      const pieces: BodyFrame[] = [];
      for (const frame of frames) {
        if (frame.type !== FRAME_BODY || frame.channel !== 1) continue;
        pieces.push(frame);
        if (Buffer.concat(pieces.map((piece) => piece.payload)).length >= 100_000) break;
      }
      const joined = Buffer.concat(pieces.map((piece) => piece.payload));
      expect(joined.equals(patternBody(100_000))).toBe(true);
      // Not a byte copied: every piece is a view of one of the chunks.
      for (const piece of pieces) {
        expect(chunks.some((chunk) => chunk.buffer === piece.payload.buffer)).toBe(true);
      }
    }
  });

  test('any other frame split across chunks is a copy, made whole', () => {
    const method = encodeWith(4096, (e) =>
      e.method(1, 'basic.ack', { deliveryTag: 7, multiple: true }),
    );
    const head = ownChunk(method.subarray(0, 10));
    const tail = ownChunk(method.subarray(10));
    const [frame] = parseChunks([head, tail], 4096);
    expect(frame).toMatchObject({ method: { args: { deliveryTag: 7, multiple: true } } });
  });

  test('pendingBody() says what a split body frame still waits for, once a read is used up', () => {
    const frame = frameBytes(FRAME_BODY, 2, Buffer.from('abcdef'));
    const parser = new FrameParser();
    expect(parser.pendingBody()).toBeNull();
    parser.push(frame.subarray(0, 9));
    expect(parser.pendingBody()).toBeNull(); // the read is not used up yet
    expect(parser.next()).toMatchObject({ payload: Buffer.from('ab') });
    expect(parser.next()).toBeNull();
    expect(parser.pendingBody()).toMatchObject({ channel: 2, left: 4 });
    parser.push(frame.subarray(9, 13));
    expect(parser.next()).toBeNull();
    expect(parser.pendingBody()).toMatchObject({ channel: 2, left: 0 }); // only the end octet
    parser.push(frame.subarray(13));
    expect(parser.next()).toMatchObject({ payload: Buffer.from('cdef') });
    expect(parser.pendingBody()).toBeNull();
  });

  test('the last piece of a split body frame waits for its end octet', () => {
    const frame = frameBytes(FRAME_BODY, 2, Buffer.from('abcdef'));
    const parser = new FrameParser();
    parser.push(frame.subarray(0, 10));
    expect(parser.next()).toMatchObject({ channel: 2, payload: Buffer.from('abc') });
    expect(parser.next()).toBeNull();
    parser.push(frame.subarray(10, 13));
    expect(parser.next()).toBeNull();
    parser.push(frame.subarray(13));
    expect(parser.next()).toMatchObject({ channel: 2, payload: Buffer.from('def') });
    expect(parser.next()).toBeNull();

    const bad = Buffer.from(frame);
    bad[bad.length - 1] = 0;
    const failing = new FrameParser();
    failing.push(bad.subarray(0, 12));
    expect(failing.next()).toMatchObject({ payload: Buffer.from('abcde') });
    expect(failing.next()).toBeNull();
    failing.push(bad.subarray(12));
    expectProtocolError(() => failing.next(), 'FRAME_ERROR');
  });
});

describe('errors', () => {
  /** Pushes each chunk and drains the parser, returning the parser (for checks after a throw). */
  function feed(parser: FrameParser, ...chunks: Buffer[]): Frame[] {
    const frames: Frame[] = [];
    for (const chunk of chunks) {
      parser.push(chunk);
      for (let f = parser.next(); f !== null; f = parser.next()) frames.push(f);
    }
    return frames;
  }

  const heartbeat = hex('08 0000 00000000 ce');

  test('a bad end octet is FRAME_ERROR (501), whole or in pieces', () => {
    const bad = Buffer.from(heartbeat);
    bad[7] = 0x00;
    expectProtocolError(() => parseChunks([bad], 4096), 'FRAME_ERROR');
    const method = encodeWith(4096, (e) => e.method(1, 'channel.open', { outOfBand: '' }));
    method[method.length - 1] = 0xcf;
    expectProtocolError(() => parseChunks(splitAt(method, [2, 9]), 4096), 'FRAME_ERROR');
  });

  test('a size above frameMax is FRAME_ERROR from the 7 header bytes alone, without allocating', () => {
    const parser = new FrameParser();
    const split = new FrameParser();
    const control = new FrameParser();
    const whole = hex('03 0001 00001000');
    const [first, second] = [hex('03 00'), hex('01 ffffffff')];
    const allocUnsafe = vi.spyOn(Buffer, 'allocUnsafe');
    const alloc = vi.spyOn(Buffer, 'alloc');
    try {
      parser.push(whole);
      expectProtocolError(() => parser.next(), 'FRAME_ERROR');

      expect(feed(split, first)).toStrictEqual([]);
      split.push(second);
      const error = expectProtocolError(() => split.next(), 'FRAME_ERROR');
      expect(error.message).toMatch(/exceeds frame_max \(4096\)/);

      expect(allocUnsafe).not.toHaveBeenCalled();
      expect(alloc).not.toHaveBeenCalled();

      // The spies do see the parser allocate a (method) frame that is within frameMax.
      control.push(hex('01 0001 00000ff8'));
      expect(control.next()).toBeNull();
      expect(allocUnsafe).toHaveBeenCalledWith(4096);
    } finally {
      allocUnsafe.mockRestore();
      alloc.mockRestore();
    }
  });

  test('a frame of exactly frameMax is accepted', () => {
    const parser = new FrameParser();
    expect(feed(parser, hex('03 0001 00000ff8'))).toStrictEqual([]);
    const frames = feed(parser, Buffer.alloc(4088, 1), hex('ce'));
    expect(frames).toHaveLength(1);
    expect((frames[0] as BodyFrame).payload).toHaveLength(4088);
  });

  test('frameMax can be raised', () => {
    const parser = new FrameParser();
    parser.frameMax = 8192;
    const frames = feed(parser, frameBytes(3, 1, Buffer.alloc(8184)));
    expect(frames).toHaveLength(1);
  });

  test.each([0, 4, 7, 9, 0xff])('an unknown frame type %d is FRAME_ERROR', (type) => {
    expectProtocolError(
      () => parseChunks([frameBytes(type, 0, Buffer.alloc(0))], 4096),
      'FRAME_ERROR',
    );
  });

  test('a heartbeat on channel 1, or with a payload, is FRAME_ERROR', () => {
    expectProtocolError(
      () => parseChunks([frameBytes(8, 1, Buffer.alloc(0))], 4096),
      'FRAME_ERROR',
    );
    expectProtocolError(
      () => parseChunks([frameBytes(8, 0, Buffer.alloc(1))], 4096),
      'FRAME_ERROR',
    );
  });

  test('a protocol header in reply is FRAME_ERROR, even one byte at a time or after frames', () => {
    const reply = Buffer.from('AMQP\x00\x00\x09\x01', 'latin1');
    expect(reply).toStrictEqual(PROTOCOL_HEADER);
    expectProtocolError(() => parseChunks([reply], 4096), 'FRAME_ERROR');
    // Recognised from its first byte, before a size field could be read from it.
    const split = expectProtocolError(
      () =>
        parseChunks(
          [...reply].map((b) => Buffer.from([b])),
          4096,
        ),
      'FRAME_ERROR',
    );
    expect(split.message).toMatch(/protocol header/);
    const parser = new FrameParser();
    parser.push(Buffer.concat([heartbeat, Buffer.from('AMQP\x00\x00\x08\x00', 'latin1')]));
    expect(parser.next()).toMatchObject({ type: FRAME_HEARTBEAT });
    const error = expectProtocolError(() => parser.next(), 'FRAME_ERROR');
    expect(error.message).toMatch(/protocol header/);
  });

  test('after an error the parser keeps throwing the same error', () => {
    const parser = new FrameParser();
    const bad = Buffer.concat([frameBytes(8, 1, Buffer.alloc(0)), heartbeat, heartbeat]);
    parser.push(bad);
    const error = thrown(() => parser.next());
    expect(error).toBeInstanceOf(ProtocolError);
    for (let i = 0; i < 3; i++) expect(thrown(() => parser.next())).toBe(error);
    // Even when fed more, including with bytes of the failed chunk left over.
    expect(thrown(() => parser.push(heartbeat))).toBe(error);
    expect(thrown(() => parser.next())).toBe(error);
  });

  test('an unknown method is NOT_IMPLEMENTED (540)', () => {
    expectProtocolError(
      () => parseChunks([frameBytes(1, 1, hex('000a 0063'))], 4096),
      'NOT_IMPLEMENTED',
    );
    const error = expectProtocolError(
      () => parseChunks([frameBytes(1, 1, hex('00ff 000a 0000'))], 4096),
      'NOT_IMPLEMENTED',
    );
    expect(error.message).toMatch(/255\.10/);
  });

  test.each([
    ['a method id cut short', '003c'],
    ['a short string past the end', '003c 0028 0000 05 6162'],
    ['a missing argument', '000a 001e 07ff 00020000'],
    ['a missing bits octet', '003c 0050 0000000000000001'],
    ['a table past the end', '0032 000a 0000 01 71 00 00000010 00'],
    ['a delivery tag beyond 2^53', '003c 0050 0020000000000000 00'],
  ])('%s is SYNTAX_ERROR (502)', (_, payload) => {
    expectProtocolError(() => parseChunks([frameBytes(1, 1, hex(payload))], 4096), 'SYNTAX_ERROR');
  });

  test('pushing before the last chunk was drained is a usage error, not a protocol error', () => {
    const parser = new FrameParser();
    parser.push(Buffer.concat([heartbeat, heartbeat]));
    expect(parser.next()).not.toBeNull();
    const error = thrown(() => parser.push(heartbeat));
    expect(error).toBeInstanceOf(Error);
    expect(error).not.toBeInstanceOf(ProtocolError);
  });

  test('with nothing pushed, next() is null', () => {
    expect(new FrameParser().next()).toBeNull();
  });
});
