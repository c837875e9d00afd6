/** The most a slab holds: many small reads share one allocation. */
const MAX_SLAB_BYTES = 256 * 1024;
/** A connection's first slab: most connections never read more than this between pauses. */
const FIRST_SLAB_BYTES = 16 * 1024;

/**
 * The buffers ordinary socket reads go into: consecutive stretches of one slab, so that a read
 * of a few hundred bytes does not keep a buffer of its own alive (received bodies are views of
 * what was read, and a message the application holds pins the memory it was read into).
 *
 * Slabs start small and double, up to {@link MAX_SLAB_BYTES}, each time a read fills all the
 * room it was given (more was waiting): a busy connection soon reads in large stretches, and a
 * hundred quiet ones do not hold 256 KiB each.
 */
export class ReadSlab {
  private size = FIRST_SLAB_BYTES;
  private slab: Buffer | null = null;
  private used = 0;
  /** How much room the last {@link ReadSlab.next} gave. */
  private offered = 0;

  /** Where the next read goes: at least a quarter of a slab. */
  next(): Buffer {
    if (this.slab === null || this.slab.length - this.used < this.size / 4) {
      // Not from Node's buffer pool (Node 24 pools allocations up to 32 KiB): a slab is a pool.
      this.slab = Buffer.allocUnsafeSlow(this.size);
      this.used = 0;
    }
    this.offered = this.slab.length - this.used;
    return this.slab.subarray(this.used);
  }

  /** `chunk` was read into what {@link ReadSlab.next} gave: its bytes are taken. */
  taken(chunk: Buffer): void {
    // A read into the room given starts where it starts; anything else was read elsewhere.
    const slab = this.slab;
    if (slab === null || chunk.buffer !== slab.buffer) return;
    if (chunk.byteOffset !== slab.byteOffset + this.used) return;
    this.used += chunk.length;
    if (chunk.length === this.offered && this.size < MAX_SLAB_BYTES) this.size *= 2;
  }
}
