/** How much a slab holds: many small reads share one allocation. */
const SLAB_BYTES = 256 * 1024;
/** The least room a read is given; a slab with less left is replaced. */
const MIN_READ_BYTES = 64 * 1024;

/**
 * The buffers ordinary socket reads go into: consecutive stretches of one slab, so that a read
 * of a few hundred bytes does not keep a buffer of its own alive (received bodies are views of
 * what was read, and a message the application holds pins the memory it was read into).
 */
export class ReadSlab {
  private slab = Buffer.allocUnsafe(SLAB_BYTES);
  private used = 0;

  /** Where the next read goes. */
  next(): Buffer {
    if (this.slab.length - this.used < MIN_READ_BYTES) {
      this.slab = Buffer.allocUnsafe(SLAB_BYTES);
      this.used = 0;
    }
    return this.slab.subarray(this.used);
  }

  /** `chunk` was read into what {@link ReadSlab.next} gave: its bytes are taken. */
  taken(chunk: Buffer): void {
    if (chunk.buffer === this.slab.buffer) this.used += chunk.length;
  }
}
