import { ProtocolError } from './errors.js';

/** Seconds since the epoch beyond which a `Date` cannot hold a timestamp. */
const MAX_DATE_SECONDS = 8.64e12;

/**
 * Reads AMQP primitives from `buf` between `pos` and `end`. Every read checks
 * the bytes that remain first, so a length that lies is a `SYNTAX_ERROR`,
 * never a read past the frame.
 */
export class ByteReader {
  buf: Buffer;
  pos: number;
  end: number;

  constructor(buf: Buffer, pos = 0, end = buf.length) {
    this.buf = buf;
    this.pos = pos;
    this.end = end;
  }

  /** How many bytes remain. */
  get remaining(): number {
    return this.end - this.pos;
  }

  /** Throws a `SYNTAX_ERROR` unless `n` more bytes remain. */
  need(n: number): void {
    if (this.end - this.pos < n) {
      throw new ProtocolError(
        'SYNTAX_ERROR',
        `truncated field: needed ${n} bytes, ${this.end - this.pos} remain`,
      );
    }
  }

  skip(n: number): void {
    this.need(n);
    this.pos += n;
  }

  octet(): number {
    this.need(1);
    return this.buf[this.pos++] as number;
  }

  short(): number {
    this.need(2);
    const value = this.buf.readUInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  long(): number {
    this.need(4);
    const value = this.buf.readUInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  /** An unsigned 64-bit integer that AMQP uses as a count or tag; beyond 2^53 it is a `SYNTAX_ERROR`. */
  longlong(): number {
    this.need(8);
    const high = this.buf.readUInt32BE(this.pos);
    const low = this.buf.readUInt32BE(this.pos + 4);
    this.pos += 8;
    if (high > 0x1f_ffff) {
      throw new ProtocolError('SYNTAX_ERROR', 'a 64-bit count or tag exceeds 2^53');
    }
    return high * 0x1_0000_0000 + low;
  }

  int8(): number {
    this.need(1);
    return this.buf.readInt8(this.pos++);
  }

  int16(): number {
    this.need(2);
    const value = this.buf.readInt16BE(this.pos);
    this.pos += 2;
    return value;
  }

  int32(): number {
    this.need(4);
    const value = this.buf.readInt32BE(this.pos);
    this.pos += 4;
    return value;
  }

  /** A signed 64-bit integer: a `number` when it is safe, else a `bigint`. */
  int64(): number | bigint {
    this.need(8);
    const value = this.buf.readBigInt64BE(this.pos);
    this.pos += 8;
    return value >= -0x1f_ffff_ffff_ffffn && value <= 0x1f_ffff_ffff_ffffn ? Number(value) : value;
  }

  float32(): number {
    this.need(4);
    const value = this.buf.readFloatBE(this.pos);
    this.pos += 4;
    return value;
  }

  float64(): number {
    this.need(8);
    const value = this.buf.readDoubleBE(this.pos);
    this.pos += 8;
    return value;
  }

  timestamp(): Date {
    this.need(8);
    const seconds = this.buf.readBigUInt64BE(this.pos);
    this.pos += 8;
    if (seconds > MAX_DATE_SECONDS) {
      throw new ProtocolError('SYNTAX_ERROR', `timestamp ${seconds} is beyond what a Date holds`);
    }
    return new Date(Number(seconds) * 1000);
  }

  shortstr(): string {
    const length = this.octet();
    this.need(length);
    const value = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  /** A long string as a view of its bytes (no copy). */
  longstr(): Buffer {
    const length = this.long();
    this.need(length);
    const value = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return value;
  }

  /** A long string decoded as UTF-8. */
  longstrText(): string {
    const length = this.long();
    this.need(length);
    const value = this.buf.toString('utf8', this.pos, this.pos + length);
    this.pos += length;
    return value;
  }
}
