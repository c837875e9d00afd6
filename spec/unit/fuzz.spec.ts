import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import {
  ContentAssembler,
  FRAME_HEARTBEAT,
  FrameEncoder,
  FrameParser,
  methodInfo,
  ProtocolError,
  ProtocolReplyCode,
} from '../../lib/protocol/index.js';
import {
  anyMethod,
  basicProperties,
  methodNames,
  octet,
  scalarFieldValue,
  shortString,
  tableKey,
} from './arbitraries.js';
import { splitAt } from './helpers.js';

const FRAME_MAX = 131072;
/** A cap well under the default, so that a fuzzed body size cannot make a run slow. */
const MAX_BODY_SIZE = 1 << 20;
const RUNS = 2000;
const ACCEPTED_REPLY_CODES = new Set([501, 502, 505, 540]);

type Outcome = { readonly commands: number; readonly failed: ProtocolError | null };

/**
 * Feeds `chunks` through a parser and one assembler per channel. A
 * {@link ProtocolError} with one of the reply codes a peer can cause ends the
 * run as an outcome; anything else thrown escapes and fails the property.
 */
function run(chunks: readonly Buffer[]): Outcome {
  const parser = new FrameParser();
  parser.frameMax = FRAME_MAX;
  const assemblers = new Map<number, ContentAssembler>();
  let commands = 0;
  try {
    for (const chunk of chunks) {
      parser.push(chunk);
      for (let frame = parser.next(); frame !== null; frame = parser.next()) {
        if (frame.type === FRAME_HEARTBEAT) continue;
        let assembler = assemblers.get(frame.channel);
        if (assembler === undefined) {
          assembler = new ContentAssembler(MAX_BODY_SIZE);
          assemblers.set(frame.channel, assembler);
        }
        if (assembler.push(frame) !== null) commands++;
      }
    }
  } catch (error) {
    if (
      error instanceof ProtocolError &&
      ACCEPTED_REPLY_CODES.has(error.replyCode) &&
      error.replyCode === ProtocolReplyCode[error.code]
    ) {
      return { commands, failed: error };
    }
    throw error;
  }
  return { commands, failed: null };
}

/** Cut points for splitting a stream into chunks, as many as a socket might deliver. */
const cuts = fc.array(fc.nat(), { maxLength: 6 });

// ------------------------------------------------------------ valid streams

/** One piece of a valid stream and the number of commands it makes (0 for a heartbeat). */
type Piece = { readonly bytes: Buffer; readonly commands: number };

const encode = (frameMax: number, fn: (e: FrameEncoder) => void): Buffer => {
  const e = new FrameEncoder();
  e.frameMax = frameMax;
  fn(e);
  return Buffer.concat(e.take());
};

const channel = fc.integer({ min: 0, max: 3 });

/** Properties small enough for a 4096-byte header frame. */
const smallProperties = fc.record(
  {
    contentType: shortString,
    headers: fc.dictionary(tableKey, scalarFieldValue, { maxKeys: 3 }),
    deliveryMode: octet,
    messageId: shortString,
  },
  { requiredKeys: [] },
);

const piece: fc.Arbitrary<Piece> = fc.oneof(
  // A content-carrying method alone would leave its channel waiting for content.
  fc
    .tuple(
      anyMethod.filter((m) => !methodInfo[m.name].content),
      channel,
    )
    .map(([method, ch]) => ({
      bytes: encode(FRAME_MAX, (e) => e.method(ch, method.name, method.args)),
      commands: 1,
    })),
  fc
    .tuple(
      anyMethod.filter((m) => methodInfo[m.name].content),
      channel,
      basicProperties,
      fc.uint8Array({ maxLength: 200 }),
    )
    .map(([method, ch, properties, body]) => ({
      bytes: encode(FRAME_MAX, (e) => e.content(ch, method.name, method.args, properties, body)),
      commands: 1,
    })),
  // Content split over several body frames.
  fc
    .tuple(channel, smallProperties, fc.integer({ min: 4089, max: 12_000 }))
    .map(([ch, properties, size]) => ({
      bytes: encode(4096, (e) =>
        e.content(
          ch,
          'basic.publish',
          { exchange: 'x', routingKey: 'k', mandatory: false, immediate: false },
          properties,
          Buffer.alloc(size, size & 0xff),
        ),
      ),
      commands: 1,
    })),
  fc.constant({ bytes: encode(FRAME_MAX, (e) => e.heartbeat()), commands: 0 }),
);

/** A valid stream: pieces that do not interleave content on a channel. */
const validStream = fc.array(piece, { minLength: 1, maxLength: 5 }).map((pieces) => ({
  bytes: Buffer.concat(pieces.map((p) => p.bytes)),
  commands: pieces.reduce((n, p) => n + p.commands, 0),
}));

/** Where each frame of a valid stream starts. */
function frameStarts(bytes: Buffer): number[] {
  const starts: number[] = [];
  for (let at = 0; at < bytes.length; at += bytes.readUInt32BE(at + 3) + 8) starts.push(at);
  return starts;
}

// ------------------------------------------------------------ mutations

type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly xor: number }
  | { readonly kind: 'insert'; readonly at: number; readonly bytes: Uint8Array }
  | { readonly kind: 'delete'; readonly at: number; readonly count: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | {
      readonly kind: 'size';
      readonly frame: number;
      readonly size: number | null;
      readonly delta: number;
    }
  | { readonly kind: 'type'; readonly frame: number; readonly type: number };

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    at: fc.nat(),
    xor: fc.integer({ min: 1, max: 255 }),
  }),
  fc.record({
    kind: fc.constant('insert' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('delete' as const),
    at: fc.nat(),
    count: fc.integer({ min: 1, max: 16 }),
  }),
  fc.record({ kind: fc.constant('truncate' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('size' as const),
    frame: fc.nat(),
    size: fc.option(
      fc.oneof(
        fc.integer({ min: 0, max: FRAME_MAX + 16 }),
        fc.constantFrom(0, FRAME_MAX - 8, FRAME_MAX - 7, 0x7fff_ffff, 0xffff_ffff),
      ),
    ),
    delta: fc.integer({ min: -4, max: 4 }),
  }),
  fc.record({
    kind: fc.constant('type' as const),
    frame: fc.nat(),
    type: fc.constantFrom(0, 1, 2, 3, 4, 8, 0x41, 0xce, 0xff),
  }),
);

/** Applies `mutations` to a copy of `stream`; frame-level ones first, while the frames are where they were. */
function mutate(stream: Buffer, mutations: readonly Mutation[]): Buffer {
  let bytes = Buffer.from(stream);
  const starts = frameStarts(stream);
  for (const m of mutations) {
    const start = starts[('frame' in m ? m.frame : 0) % starts.length] as number;
    if (m.kind === 'size') {
      const size = m.size ?? Math.max(0, bytes.readUInt32BE(start + 3) + m.delta);
      bytes.writeUInt32BE(Math.min(size, 0xffff_ffff), start + 3);
    } else if (m.kind === 'type') {
      bytes[start] = m.type;
    }
  }
  for (const m of mutations) {
    const at = 'at' in m ? m.at % (bytes.length + 1) : 0;
    switch (m.kind) {
      case 'flip':
        if (at < bytes.length) bytes[at] = (bytes[at] as number) ^ m.xor;
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), m.bytes, bytes.subarray(at)]);
        break;
      case 'delete':
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + m.count)]);
        break;
      case 'truncate':
        bytes = bytes.subarray(0, at);
        break;
      default:
        break;
    }
  }
  return bytes;
}

// ------------------------------------------------------------ random frames

const frameHead = (type: number, ch: number, size: number): Buffer => {
  const head = Buffer.alloc(7);
  head[0] = type;
  head.writeUInt16BE(ch, 1);
  head.writeUInt32BE(size, 3);
  return head;
};

/** A frame with a believable start (a real method id, or a basic content header) and random bytes after. */
const randomFrame: fc.Arbitrary<Buffer> = fc
  .tuple(
    fc.oneof(
      fc
        .tuple(fc.constantFrom(...methodNames), fc.uint8Array({ maxLength: 64 }))
        .map(([name, rest]) => {
          const id = Buffer.alloc(4);
          id.writeUInt32BE(methodInfo[name].id);
          return { type: 1, payload: Buffer.concat([id, rest]) };
        }),
      fc
        .tuple(
          fc.integer({ min: 0, max: 40 }),
          // Mostly flags basic has, sometimes any.
          fc.oneof(
            { arbitrary: fc.integer({ min: 0, max: 0x3fff }).map((f) => f << 2), weight: 4 },
            { arbitrary: fc.integer({ min: 0, max: 0xffff }), weight: 1 },
          ),
          fc.uint8Array({ maxLength: 48 }),
        )
        .map(([bodySize, flags, rest]) => {
          const head = Buffer.alloc(14);
          head.writeUInt16BE(60, 0);
          head.writeUInt32BE(bodySize, 8);
          head.writeUInt16BE(flags, 12);
          return { type: 2, payload: Buffer.concat([head, rest]) };
        }),
      fc
        .uint8Array({ maxLength: 24 })
        .map((payload) => ({ type: 3, payload: Buffer.from(payload) })),
      fc.constant({ type: 8, payload: Buffer.alloc(0), channel: 0 }),
      fc
        .tuple(fc.nat(255), fc.uint8Array({ maxLength: 16 }))
        .map(([type, payload]) => ({ type, payload: Buffer.from(payload) })),
    ),
    channel,
    fc.oneof({ arbitrary: fc.constant(0xce), weight: 9 }, { arbitrary: fc.nat(255), weight: 1 }),
  )
  .map(([frame, ch, end]) => {
    const { type, payload } = frame;
    // Heartbeats mostly on channel 0, where they belong.
    const onChannel = 'channel' in frame && ch !== 3 ? frame.channel : ch;
    return Buffer.concat([frameHead(type, onChannel, payload.length), payload, Buffer.from([end])]);
  });

// ------------------------------------------------------------ properties

describe('fuzzing the parser and assembler', () => {
  test('valid streams parse whole, in any chunking, into the commands they were made of', () => {
    fc.assert(
      fc.property(validStream, cuts, (stream, at) => {
        const outcome = run(splitAt(stream.bytes, at));
        expect(outcome.failed).toBeNull();
        expect(outcome.commands).toBe(stream.commands);
      }),
      { numRuns: 300 },
    );
  });

  test('random bytes only ever fail with a ProtocolError', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), cuts, (bytes, at) => {
        run(splitAt(Buffer.from(bytes), at));
      }),
      { numRuns: RUNS },
    );
  });

  test('random frames with believable headers only ever fail with a ProtocolError', () => {
    fc.assert(
      fc.property(fc.array(randomFrame, { minLength: 1, maxLength: 12 }), cuts, (frames, at) => {
        run(splitAt(Buffer.concat(frames), at));
      }),
      { numRuns: RUNS },
    );
  });

  test('mutated valid streams only ever fail with a ProtocolError', () => {
    fc.assert(
      fc.property(
        validStream,
        fc.array(mutation, { minLength: 1, maxLength: 4 }),
        cuts,
        (stream, mutations, at) => {
          run(splitAt(mutate(stream.bytes, mutations), at));
        },
      ),
      { numRuns: RUNS },
    );
  });

  test('a ProtocolError ends a run as an outcome, with the frames before it counted', () => {
    const ack = encode(FRAME_MAX, (e) =>
      e.method(1, 'basic.ack', { deliveryTag: 1, multiple: false }),
    );
    // A body frame on a channel with no content pending.
    const body = Buffer.concat([frameHead(3, 1, 1), Buffer.from([0, 0xce])]);
    const outcome = run([Buffer.concat([ack, body, ack])]);
    expect(outcome.commands).toBe(1);
    expect(outcome.failed?.replyCode).toBe(505);
  });
});
