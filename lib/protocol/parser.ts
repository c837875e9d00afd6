import { ProtocolError } from './errors.js';
import {
  type BodyFrame,
  decodeFrame,
  FRAME_HEADER_SIZE,
  FRAME_OVERHEAD,
  type Frame,
} from './frames.js';
import { FRAME_BODY, FRAME_END, FRAME_MIN_SIZE } from './spec.js';

const EMPTY = Buffer.alloc(0);
/** The first byte of `AMQP`: a broker that refuses our protocol version answers with its own header. */
const PROTOCOL_HEADER_START = 0x41;

/**
 * Turns a stream of arbitrary chunks into decoded frames. Feed a chunk with
 * {@link FrameParser.push}, then call {@link FrameParser.next} until it returns
 * `null`. A frame that lies inside one chunk is decoded in place (its body is
 * a view of the chunk). A body frame split across chunks comes out as several
 * body frames, one per chunk, each a view: the content assembler copies the
 * pieces once, into the message's body, so a large message is not copied twice.
 * The last piece comes out only once the frame's end octet has been checked.
 * Any other frame split across chunks is copied once, into a buffer allocated
 * at its final size after its size field was checked against
 * {@link FrameParser.frameMax}.
 *
 * Malformed input throws a {@link ProtocolError}; the parser then stays failed
 * and throws the same error again.
 */
export class FrameParser {
  /** The largest frame accepted, header and end octet included. 4096 until tuning says otherwise. */
  frameMax = FRAME_MIN_SIZE;

  private chunk: Buffer = EMPTY;
  private offset = 0;
  /** A frame that spans chunks, allocated whole once its size is known. */
  private partial: Buffer | null = null;
  private filled = 0;
  /** The 7-byte frame header, when it spans chunks itself. */
  private readonly head = Buffer.alloc(FRAME_HEADER_SIZE);
  private headFilled = 0;
  /** A body frame split across chunks, passed on piece by piece (see {@link FrameParser.readBodyPiece}). */
  private body: { readonly channel: number; left: number; last: Buffer | null } | null = null;
  private failure: ProtocolError | null = null;

  /** Adds the next chunk. Call only after {@link FrameParser.next} has returned `null`; once failed, throws the error again. */
  push(chunk: Buffer): void {
    if (this.failure !== null) throw this.failure;
    if (this.offset < this.chunk.length) {
      throw new Error('FrameParser.push called before the previous chunk was consumed');
    }
    this.chunk = chunk;
    this.offset = 0;
  }

  /** Returns the next complete frame, or `null` when more bytes are needed. */
  next(): Frame | null {
    if (this.failure !== null) throw this.failure;
    try {
      return this.read();
    } catch (error) {
      if (error instanceof ProtocolError) this.failure = error;
      throw error;
    }
  }

  private read(): Frame | null {
    if (this.body !== null) return this.readBodyPiece();
    if (this.partial === null && this.headFilled === 0) {
      const chunk = this.chunk;
      const offset = this.offset;
      const available = chunk.length - offset;
      if (available === 0) return null;
      if (chunk[offset] === PROTOCOL_HEADER_START) {
        throw new ProtocolError(
          'FRAME_ERROR',
          'the peer answered with a protocol header: it does not speak AMQP 0-9-1',
        );
      }
      if (available < FRAME_HEADER_SIZE) {
        chunk.copy(this.head, 0, offset);
        this.headFilled = available;
        this.offset = chunk.length;
        return null;
      }
      const total = this.checkedTotal(chunk.readUInt32BE(offset + 3));
      if (available >= total) {
        this.offset = offset + total;
        return decodeFrame(chunk, offset, total);
      }
      if (chunk[offset] === FRAME_BODY) {
        this.offset = offset + FRAME_HEADER_SIZE;
        return this.startBody(chunk.readUInt16BE(offset + 1), total);
      }
      this.partial = Buffer.allocUnsafe(total);
      this.filled = chunk.copy(this.partial, 0, offset);
      this.offset = chunk.length;
      return null;
    }
    if (this.partial === null) {
      const n = this.chunk.copy(
        this.head,
        this.headFilled,
        this.offset,
        this.offset + FRAME_HEADER_SIZE - this.headFilled,
      );
      this.headFilled += n;
      this.offset += n;
      if (this.headFilled < FRAME_HEADER_SIZE) return null;
      this.headFilled = 0;
      const total = this.checkedTotal(this.head.readUInt32BE(3));
      if (this.head[0] === FRAME_BODY) return this.startBody(this.head.readUInt16BE(1), total);
      this.partial = Buffer.allocUnsafe(total);
      this.filled = this.head.copy(this.partial);
    }
    const partial = this.partial;
    const n = this.chunk.copy(
      partial,
      this.filled,
      this.offset,
      this.offset + partial.length - this.filled,
    );
    this.filled += n;
    this.offset += n;
    if (this.filled < partial.length) return null;
    this.partial = null;
    return decodeFrame(partial, 0, partial.length);
  }

  /**
   * When everything pushed so far is consumed and the parser is inside a body frame split
   * across reads: the frame's channel and how many payload bytes it still waits for (0: only
   * its end octet). A reader may then read those bytes straight into where they end up (see
   * ContentAssembler.window).
   */
  pendingBody(): { readonly channel: number; readonly left: number } | null {
    if (this.body === null || this.offset < this.chunk.length) return null;
    return this.body;
  }

  /** Begins passing on a body frame of `total` bytes whose 7-byte header has been read. */
  private startBody(channel: number, total: number): BodyFrame | null {
    const left = total - FRAME_OVERHEAD;
    this.body = { channel, left, last: left === 0 ? EMPTY : null };
    return this.readBodyPiece();
  }

  /**
   * The next piece of a split body frame: what this chunk holds of its payload. The piece that
   * completes the payload is held back until the end octet after it has arrived and been checked.
   */
  private readBodyPiece(): BodyFrame | null {
    const body = this.body as NonNullable<typeof this.body>;
    const chunk = this.chunk;
    if (body.left > 0) {
      const n = Math.min(body.left, chunk.length - this.offset);
      if (n === 0) return null;
      const piece = chunk.subarray(this.offset, this.offset + n);
      this.offset += n;
      body.left -= n;
      if (body.left > 0) return { type: FRAME_BODY, channel: body.channel, payload: piece };
      body.last = piece;
    }
    if (this.offset === chunk.length) return null;
    const end = chunk[this.offset];
    if (end !== FRAME_END) {
      throw new ProtocolError(
        'FRAME_ERROR',
        `frame end octet is 0x${(end ?? 0).toString(16)}, not 0xce`,
      );
    }
    this.offset++;
    this.body = null;
    return { type: FRAME_BODY, channel: body.channel, payload: body.last ?? EMPTY };
  }

  /** The whole frame's length for a payload `size`, refused before anything is allocated for it. */
  private checkedTotal(size: number): number {
    const total = size + FRAME_OVERHEAD;
    if (total > this.frameMax) {
      throw new ProtocolError(
        'FRAME_ERROR',
        `frame of ${total} bytes exceeds frame_max (${this.frameMax})`,
      );
    }
    return total;
  }
}
