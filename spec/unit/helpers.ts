/** Small helpers the codec's unit tests share. */
import { expect } from 'vitest';
import {
  Decimal,
  type Frame,
  FrameEncoder,
  FrameParser,
  ProtocolError,
  type ProtocolErrorCode,
  ProtocolReplyCode,
  TypedField,
} from '../../lib/protocol/index.js';

/** Bytes from hex text; whitespace is ignored, so the text can be grouped by field. */
export function hex(text: string): Buffer {
  const digits = text.replace(/\s+/g, '');
  if (!/^(?:[0-9a-f]{2})*$/i.test(digits)) throw new Error(`bad hex: ${text}`);
  return Buffer.from(digits, 'hex');
}

/** A frame built by hand: type, channel, 32-bit size, payload, end octet. */
export function frameBytes(type: number, channel: number, payload: Uint8Array): Buffer {
  const head = Buffer.alloc(7);
  head[0] = type;
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([0xce])]);
}

/** Runs `encode` on a fresh encoder with `frameMax` and returns everything it produced, joined. */
export function encodeWith(frameMax: number, encode: (encoder: FrameEncoder) => void): Buffer {
  const encoder = new FrameEncoder();
  encoder.frameMax = frameMax;
  encode(encoder);
  return Buffer.concat(encoder.take());
}

/** Feeds `chunks` to a fresh parser in order and returns every frame it yields. */
export function parseChunks(chunks: readonly Buffer[], frameMax: number): Frame[] {
  const parser = new FrameParser();
  parser.frameMax = frameMax;
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    parser.push(chunk);
    for (let frame = parser.next(); frame !== null; frame = parser.next()) frames.push(frame);
  }
  return frames;
}

/** Splits `bytes` at the given offsets (sorted, deduplicated, clamped), as copies. */
export function splitAt(bytes: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.filter((c) => c > 0 && c < bytes.length))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const point of [...points, bytes.length]) {
    chunks.push(Buffer.from(bytes.subarray(from, point)));
    from = point;
  }
  return chunks;
}

/** Calls `fn` and returns what it threw; fails the test if it returned. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  expect.fail('expected a throw, but the call returned');
}

/** Expects `fn` to throw a {@link ProtocolError} with `code` and the matching reply code. */
export function expectProtocolError(fn: () => unknown, code: ProtocolErrorCode): ProtocolError {
  const error = thrown(fn);
  expect(error).toBeInstanceOf(ProtocolError);
  const protocolError = error as ProtocolError;
  expect(protocolError.code).toBe(code);
  expect(protocolError.replyCode).toBe(ProtocolReplyCode[code]);
  return protocolError;
}

/**
 * A form of a decoded value that `toStrictEqual` compares faithfully: every
 * object becomes a tagged record, and a table becomes a sorted list of
 * entries. (Compared directly, a table with an own key named `constructor`
 * trips vitest's type check, which reads `.constructor`.)
 */
export function canonical(value: unknown): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (Buffer.isBuffer(value)) return { Buffer: value.toString('hex') };
  if (value instanceof Uint8Array) {
    return {
      Uint8Array: Buffer.from(value.buffer, value.byteOffset, value.length).toString('hex'),
    };
  }
  if (value instanceof Date) return { Date: value.getTime() };
  if (value instanceof Decimal) return { Decimal: [value.scale, value.value] };
  if (value instanceof TypedField) return { TypedField: [value.type, value.value] };
  if (Array.isArray(value)) return { Array: value.map(canonical) };
  const proto: unknown = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) {
    return { Instance: (value as object).constructor?.name ?? 'unknown' };
  }
  const record = value as Record<string, unknown>;
  return {
    Table: Object.keys(record)
      .sort()
      .map((key) => [key, canonical(record[key])]),
  };
}

/** Expects `actual` to be `expected`, compared in {@link canonical} form. */
export function expectSame(actual: unknown, expected: unknown): void {
  expect(canonical(actual)).toStrictEqual(canonical(expected));
}
