/** Large enough for several write batches (see the engine's WRITE_BATCH_BYTES), so a slab rarely splits one. */
const MAX_SLAB_SIZE = 256 * 1024;
/** A writer's first slab: a quiet connection never needs more (see {@link ByteWriter.reserve}). */
const FIRST_SLAB_SIZE = 16 * 1024;

/**
 * An append-only byte buffer that hands out what was written with
 * {@link ByteWriter.take} without copying. Taken bytes are never written again:
 * later writes continue after them, and when the slab is full a new one is
 * started, so a taken `Buffer` stays valid while a socket still holds it.
 *
 * Integer writers check their argument (a `TypeError` for a non-integer, a
 * `RangeError` outside the type's range) and name the field with `what`.
 */
export class ByteWriter {
  /** The current slab. Only bytes from {@link ByteWriter.start} to {@link ByteWriter.pos} are pending. */
  buf: Buffer;
  /** Where the bytes not yet taken begin. */
  start = 0;
  /** Where the next byte goes. */
  pos = 0;
  /** The size of the next slab: doubles with each slab filled, up to {@link MAX_SLAB_SIZE}. */
  private slabSize: number;

  constructor(slabSize = FIRST_SLAB_SIZE) {
    this.slabSize = slabSize;
    // Not from Node's buffer pool (Node 24 pools allocations up to 32 KiB): a slab is a pool.
    this.buf = Buffer.allocUnsafeSlow(slabSize);
  }

  /** How many bytes are pending (written and not yet taken). */
  get length(): number {
    return this.pos - this.start;
  }

  /**
   * Makes room for `n` more bytes. Pending bytes move to the new slab, so keep offsets relative
   * to {@link ByteWriter.start}. A filled slab is followed by one twice its size (up to 256 KiB):
   * a busy connection soon encodes into large slabs, and a quiet one keeps a small one.
   */
  reserve(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const pending = this.pos - this.start;
    this.slabSize = Math.min(MAX_SLAB_SIZE, Math.max(this.slabSize, this.buf.length * 2));
    const next = Buffer.allocUnsafeSlow(Math.max(this.slabSize, 2 * (pending + n)));
    this.buf.copy(next, 0, this.start, this.pos);
    this.buf = next;
    this.start = 0;
    this.pos = pending;
  }

  /** Returns the pending bytes (a view, not a copy) and starts a new run after them. */
  take(): Buffer {
    const out = this.buf.subarray(this.start, this.pos);
    this.start = this.pos;
    return out;
  }

  /**
   * Starts writing at the beginning of the slab again, when nothing is pending. Only once
   * nothing taken from it is still in use (the socket has written it all): the slab is then
   * reused rather than a new one allocated, whose pages the kernel would have to map afresh.
   */
  rewind(): void {
    if (this.start === this.pos) {
      this.start = 0;
      this.pos = 0;
    }
  }

  /** Drops pending bytes from `relative` (an offset from {@link ByteWriter.start}) on. */
  truncate(relative: number): void {
    this.pos = this.start + relative;
  }

  octet(value: number, what: string): void {
    checkInteger(value, 0, 0xff, what);
    this.reserve(1);
    this.buf[this.pos++] = value;
  }

  short(value: number, what: string): void {
    checkInteger(value, 0, 0xffff, what);
    this.reserve(2);
    writeShortAt(this.buf, this.pos, value);
    this.pos += 2;
  }

  long(value: number, what: string): void {
    checkInteger(value, 0, 0xffff_ffff, what);
    this.reserve(4);
    writeLongAt(this.buf, this.pos, value);
    this.pos += 4;
  }

  /** An unsigned 64-bit integer from a safe non-negative integer. */
  longlong(value: number, what: string): void {
    checkInteger(value, 0, Number.MAX_SAFE_INTEGER, what);
    this.reserve(8);
    this.pos = this.buf.writeUInt32BE(Math.floor(value / 0x1_0000_0000), this.pos);
    this.pos = this.buf.writeUInt32BE(value >>> 0, this.pos);
  }

  int8(value: number): void {
    this.reserve(1);
    this.pos = this.buf.writeInt8(value, this.pos);
  }

  int16(value: number): void {
    this.reserve(2);
    this.pos = this.buf.writeInt16BE(value, this.pos);
  }

  int32(value: number): void {
    this.reserve(4);
    this.pos = this.buf.writeInt32BE(value, this.pos);
  }

  int64(value: bigint): void {
    this.reserve(8);
    this.pos = this.buf.writeBigInt64BE(value, this.pos);
  }

  float32(value: number): void {
    this.reserve(4);
    this.pos = this.buf.writeFloatBE(value, this.pos);
  }

  float64(value: number): void {
    this.reserve(8);
    this.pos = this.buf.writeDoubleBE(value, this.pos);
  }

  /** A timestamp: whole seconds since the epoch as an unsigned 64-bit integer. */
  timestamp(value: Date, what: string): void {
    const ms = value instanceof Date ? value.getTime() : Number.NaN;
    if (!Number.isFinite(ms)) throw new TypeError(`${what} must be a valid Date`);
    if (ms < 0)
      throw new RangeError(`${what} must not be before 1970 (AMQP timestamps are unsigned)`);
    this.longlong(Math.floor(ms / 1000), what);
  }

  /** A short string: one length octet, then at most 255 bytes of UTF-8. Never truncates. */
  shortstr(value: string, what: string): void {
    if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
    // UTF-8 needs at most 3 bytes per UTF-16 unit; encode straight into place.
    this.reserve(1 + 3 * value.length);
    if (this.asciiShortstr(value)) return;
    checkWellFormed(value, what);
    const length = this.buf.write(value, this.pos + 1, 'utf8');
    if (length > 0xff) {
      throw new RangeError(
        `${what} is ${length} bytes of UTF-8; an AMQP short string holds at most 255`,
      );
    }
    this.buf[this.pos] = length;
    this.pos += 1 + length;
  }

  /**
   * Writes a short ASCII string byte by byte and returns true, or returns false (having written
   * nothing that counts) at the first non-ASCII character. Names and keys are short and ASCII
   * nearly always, and for them this loop is cheaper than a call into the UTF-8 encoder.
   */
  private asciiShortstr(value: string): boolean {
    const n = value.length;
    if (n > ASCII_LOOP_LIMIT) return false;
    const { buf } = this;
    const at = this.pos + 1;
    for (let i = 0; i < n; i++) {
      const code = value.charCodeAt(i);
      if (code > 0x7f) return false;
      buf[at + i] = code;
    }
    buf[this.pos] = n;
    this.pos = at + n;
    return true;
  }

  /** A long string: a 32-bit length, then the bytes (a string is written as UTF-8). */
  longstr(value: string | Uint8Array, what: string): void {
    if (typeof value === 'string') {
      checkWellFormed(value, what);
      const length = Buffer.byteLength(value, 'utf8');
      this.reserve(4 + length);
      this.pos = this.buf.writeUInt32BE(length, this.pos);
      this.pos += this.buf.write(value, this.pos, 'utf8');
    } else if (value instanceof Uint8Array) {
      this.bytes(value);
    } else {
      throw new TypeError(`${what} must be a string, Buffer or Uint8Array`);
    }
  }

  /** A 32-bit length, then the bytes as they are. */
  bytes(value: Uint8Array): void {
    this.reserve(4 + value.length);
    this.pos = this.buf.writeUInt32BE(value.length, this.pos);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }

  /** Writes raw bytes with no length prefix. */
  raw(value: Uint8Array): void {
    this.reserve(value.length);
    this.buf.set(value, this.pos);
    this.pos += value.length;
  }
}

/** Strings up to this length are tried as ASCII first (see `asciiShortstr`). */
const ASCII_LOOP_LIMIT = 64;

/** Writes an unsigned 16-bit big-endian integer at `at`; the caller has checked its range. */
export function writeShortAt(buf: Buffer, at: number, value: number): void {
  buf[at] = value >>> 8;
  buf[at + 1] = value & 0xff;
}

/** Writes an unsigned 32-bit big-endian integer at `at`; the caller has checked its range. */
export function writeLongAt(buf: Buffer, at: number, value: number): void {
  buf[at] = value >>> 24;
  buf[at + 1] = (value >>> 16) & 0xff;
  buf[at + 2] = (value >>> 8) & 0xff;
  buf[at + 3] = value & 0xff;
}

/**
 * Refuses a string with a lone UTF-16 surrogate, which UTF-8 cannot encode:
 * written as is, it would become U+FFFD, and the broker would hold another
 * name than the caller's. A one-byte string (ASCII, Latin-1) is answered at once.
 */
export function checkWellFormed(value: string, what: string): void {
  if (value.isWellFormed()) return;
  throw new RangeError(
    `${what} has a lone UTF-16 surrogate at index ${loneSurrogateAt(value)}, which UTF-8 cannot encode`,
  );
}

/** The index of the first lone surrogate in `value` (which has one). */
function loneSurrogateAt(value: string): number {
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code >= 0xd800 && code <= 0xdbff) {
      const next = value.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
      else return i;
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      return i;
    }
  }
  return -1;
}

function checkInteger(value: number, min: number, max: number, what: string): void {
  if (!Number.isInteger(value)) {
    throw new TypeError(`${what} must be an integer, got ${String(value)}`);
  }
  if (value < min || value > max) {
    throw new RangeError(`${what} must be from ${min} to ${max}, got ${value}`);
  }
}
