import { ProtocolError } from './errors.js';
import { decodeFrame, FRAME_HEADER_SIZE, FRAME_OVERHEAD, type Frame } from './frames.js';
import { FRAME_MIN_SIZE } from './spec.js';

const EMPTY = Buffer.alloc(0);
/** The first byte of `AMQP`: a broker that refuses our protocol version answers with its own header. */
const PROTOCOL_HEADER_START = 0x41;

/**
 * Turns a stream of arbitrary chunks into decoded frames. Feed a chunk with
 * {@link FrameParser.push}, then call {@link FrameParser.next} until it returns
 * `null`. A frame that lies inside one chunk is decoded in place (its body is
 * a view of the chunk); a frame split across chunks is copied once, into a
 * buffer allocated at its final size after its size field was checked against
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
