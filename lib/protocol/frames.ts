import { ProtocolError } from './errors.js';
import { ByteReader } from './reader.js';
import {
  type BasicProperties,
  decodeBasicProperties,
  decodeMethod,
  encodeBasicProperties,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEARTBEAT,
  FRAME_METHOD,
  FRAME_MIN_SIZE,
  type Method,
  type MethodArgs,
  type MethodName,
  methodEncoders,
} from './spec.js';
import { ByteWriter, writeLongAt, writeShortAt } from './writer.js';

/** What a client sends first: `AMQP` 0 0 9 1. */
export const PROTOCOL_HEADER: Buffer = Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1]);

/** Type, channel and size come before a frame's payload; the end octet after it. */
export const FRAME_HEADER_SIZE = 7;
/** The bytes a frame adds around its payload. */
export const FRAME_OVERHEAD = FRAME_HEADER_SIZE + 1;

/** The class id of `basic`, the only class RabbitMQ sends content for. */
export const BASIC_CLASS_ID = 60;

/** Bodies up to this size are copied into the outgoing slab; larger ones go out as views. */
const BODY_COPY_LIMIT = 16 * 1024;

export interface MethodFrame {
  readonly type: typeof FRAME_METHOD;
  readonly channel: number;
  readonly method: Method;
}

export interface HeaderFrame {
  readonly type: typeof FRAME_HEADER;
  readonly channel: number;
  readonly classId: number;
  readonly bodySize: number;
  readonly properties: BasicProperties;
}

export interface BodyFrame {
  readonly type: typeof FRAME_BODY;
  readonly channel: number;
  /** A view of the received bytes, not a copy. */
  readonly payload: Buffer;
}

export interface HeartbeatFrame {
  readonly type: typeof FRAME_HEARTBEAT;
  readonly channel: 0;
}

/** A decoded frame, discriminated by `type`. */
export type Frame = MethodFrame | HeaderFrame | BodyFrame | HeartbeatFrame;

const HEARTBEAT: HeartbeatFrame = Object.freeze({ type: FRAME_HEARTBEAT, channel: 0 });

/**
 * Decodes the complete frame of `total` bytes at `start` in `buf`. The caller
 * has checked that `total` bytes are there and that `total` is within frame_max.
 */
export function decodeFrame(buf: Buffer, start: number, total: number): Frame {
  const end = start + total - 1;
  if (buf[end] !== FRAME_END) {
    throw new ProtocolError(
      'FRAME_ERROR',
      `frame end octet is 0x${(buf[end] ?? 0).toString(16)}, not 0xce`,
    );
  }
  const type = buf[start];
  const channel = buf.readUInt16BE(start + 1);
  const payloadStart = start + FRAME_HEADER_SIZE;
  switch (type) {
    case FRAME_METHOD:
      return { type, channel, method: decodeMethodPayload(buf, payloadStart, end) };
    case FRAME_HEADER:
      return decodeHeaderFrame(channel, new ByteReader(buf, payloadStart, end));
    case FRAME_BODY:
      return { type, channel, payload: buf.subarray(payloadStart, end) };
    case FRAME_HEARTBEAT:
      if (channel !== 0 || end !== payloadStart) {
        throw new ProtocolError('FRAME_ERROR', 'a heartbeat frame must be empty and on channel 0');
      }
      return HEARTBEAT;
    default:
      throw new ProtocolError('FRAME_ERROR', `unknown frame type ${String(type)}`);
  }
}

function decodeMethodPayload(buf: Buffer, start: number, end: number): Method {
  return decodeMethod(new ByteReader(buf, start, end));
}

function decodeHeaderFrame(channel: number, r: ByteReader): HeaderFrame {
  const classId = r.short();
  r.skip(2); // weight, always zero
  const bodySize = r.longlong();
  const properties = decodeBasicProperties(r);
  return { type: FRAME_HEADER, channel, classId, bodySize, properties };
}

/**
 * Encodes outgoing frames into as few buffers as it can: small frames share
 * one slab; a large body goes out as views of the caller's bytes between
 * frame headers, so it is never copied. A frame that cannot be encoded throws
 * before any of its bytes (or, for content, any of its method's bytes) are
 * kept.
 */
export class FrameEncoder {
  private readonly writer = new ByteWriter();
  private readonly chunks: Buffer[] = [];
  private maxFrameSize = FRAME_MIN_SIZE;

  /** The negotiated frame_max: no frame is larger, and bodies are split to fit. */
  get frameMax(): number {
    return this.maxFrameSize;
  }

  set frameMax(value: number) {
    if (!Number.isInteger(value) || value < FRAME_MIN_SIZE || value > 0xffff_ffff) {
      throw new RangeError(`frame_max must be an integer from ${FRAME_MIN_SIZE} to 2^32-1`);
    }
    this.maxFrameSize = value;
  }

  /**
   * Reuses the encoding slab from its start: for when everything taken so far has been written
   * and no reference to it is left. Does nothing while anything waits to be taken.
   */
  rewind(): void {
    if (this.chunks.length === 0) this.writer.rewind();
  }

  /** Whether any bytes wait to be taken. */
  get pending(): boolean {
    return this.chunks.length > 0 || this.writer.length > 0;
  }

  /** Encodes one method frame. */
  method<N extends MethodName>(channel: number, name: N, args: MethodArgs<N>): void {
    const start = this.writer.length;
    try {
      this.methodFrame(channel, name, args);
    } catch (error) {
      this.writer.truncate(start);
      throw error;
    }
  }

  /**
   * Encodes a content-carrying method (`basic.publish`), its content header
   * and its body frames, all or nothing.
   */
  content<N extends MethodName>(
    channel: number,
    name: N,
    args: MethodArgs<N>,
    properties: BasicProperties,
    body: Uint8Array,
  ): void {
    const w = this.writer;
    const start = w.length;
    try {
      this.methodFrame(channel, name, args);
      const at = this.openFrame(FRAME_HEADER, channel);
      w.short(BASIC_CLASS_ID, 'class id');
      w.short(0, 'weight');
      w.longlong(body.length, 'body size');
      encodeBasicProperties(w, properties);
      this.closeFrame(at, 'content header');
    } catch (error) {
      w.truncate(start);
      throw error;
    }
    this.bodyFrames(channel, body);
  }

  /** Encodes a heartbeat frame. */
  heartbeat(): void {
    this.closeFrame(this.openFrame(FRAME_HEARTBEAT, 0), 'heartbeat');
  }

  /** Returns everything encoded since the last call, in order, ready for one vectored write. */
  take(): Buffer[] {
    if (this.writer.length > 0) this.chunks.push(this.writer.take());
    return this.chunks.splice(0);
  }

  private methodFrame<N extends MethodName>(channel: number, name: N, args: MethodArgs<N>): void {
    const at = this.openFrame(FRAME_METHOD, channel);
    const encode = methodEncoders[name] as (w: ByteWriter, a: MethodArgs<N>) => void;
    if (encode === undefined) throw new TypeError(`unknown AMQP method ${String(name)}`);
    encode(this.writer, args);
    this.closeFrame(at, name);
  }

  private bodyFrames(channel: number, body: Uint8Array): void {
    const w = this.writer;
    const max = this.maxFrameSize - FRAME_OVERHEAD;
    for (let offset = 0; offset < body.length; offset += max) {
      // A body that fits one frame (the common case) goes as it is, without a view made of it.
      const piece =
        body.length <= max ? body : body.subarray(offset, Math.min(offset + max, body.length));
      w.reserve(FRAME_OVERHEAD);
      w.buf[w.pos] = FRAME_BODY;
      writeShortAt(w.buf, w.pos + 1, channel);
      writeLongAt(w.buf, w.pos + 3, piece.length);
      w.pos += FRAME_HEADER_SIZE;
      if (piece.length <= BODY_COPY_LIMIT) {
        w.raw(piece);
      } else {
        this.chunks.push(w.take(), Buffer.from(piece.buffer, piece.byteOffset, piece.length));
      }
      w.reserve(1);
      w.buf[w.pos++] = FRAME_END;
    }
  }

  /** Writes a frame's type and channel, leaves room for its size, and returns where it began. */
  private openFrame(type: number, channel: number): number {
    if (!Number.isInteger(channel) || channel < 0 || channel > 0xffff) {
      throw new RangeError(`channel must be an integer from 0 to 65535, got ${channel}`);
    }
    const w = this.writer;
    w.reserve(FRAME_HEADER_SIZE);
    const at = w.length;
    w.buf[w.pos] = type;
    writeShortAt(w.buf, w.pos + 1, channel);
    w.pos += FRAME_HEADER_SIZE;
    return at;
  }

  /** Fills in the size of the frame opened at `at` and ends it. */
  private closeFrame(at: number, what: string): void {
    const w = this.writer;
    const size = w.length - at - FRAME_HEADER_SIZE;
    if (size + FRAME_OVERHEAD > this.maxFrameSize) {
      throw new RangeError(
        `${what} frame would be ${size + FRAME_OVERHEAD} bytes, more than frame_max (${this.maxFrameSize})`,
      );
    }
    writeLongAt(w.buf, w.start + at + 3, size);
    w.reserve(1);
    w.buf[w.pos++] = FRAME_END;
  }
}
