/**
 * The buffers a connection reads into and encodes into start small and grow with the traffic:
 * a busy connection soon works in 256 KiB slabs, and a quiet one keeps 16 KiB ones.
 */
import { describe, expect, it } from 'vitest';
import { ReadSlab } from '../../lib/engine/read-slab.js';
import { ByteWriter } from '../../lib/protocol/writer.js';

const KiB = 1024;

describe('ReadSlab', () => {
  it('offers 16 KiB first, and doubles the next slab each time a read fills its room', () => {
    const reads = new ReadSlab();
    const sizes: number[] = [];
    for (let i = 0; i < 7; i++) {
      const room = reads.next();
      sizes.push(room.length);
      reads.taken(room); // the read filled it: more was waiting
    }
    expect(sizes.map((size) => size / KiB)).toEqual([16, 32, 64, 128, 256, 256, 256]);
  });

  it('keeps its size while reads are small, and shares one slab between them', () => {
    const reads = new ReadSlab();
    const first = reads.next();
    reads.taken(first.subarray(0, 100));
    const second = reads.next();
    expect(second.buffer).toBe(first.buffer);
    expect(second.byteOffset).toBe(first.byteOffset + 100);
    expect(second.length).toBe(16 * KiB - 100);
    reads.taken(second.subarray(0, 12 * KiB));
    // Less than a quarter of the slab is left: a new one, of the same size.
    const third = reads.next();
    expect(third.buffer).not.toBe(first.buffer);
    expect(third.length).toBe(16 * KiB);
  });

  it('ignores a chunk read into a buffer of its own (a large body)', () => {
    const reads = new ReadSlab();
    const room = reads.next();
    reads.taken(Buffer.alloc(room.length));
    expect(reads.next().length).toBe(16 * KiB);
  });
});

describe('ByteWriter', () => {
  it('starts with a 16 KiB slab and doubles it with each slab filled, up to 256 KiB', () => {
    const w = new ByteWriter();
    const sizes = [w.buf.length];
    for (let i = 0; i < 6; i++) {
      w.raw(Buffer.alloc(w.buf.length - w.pos)); // fills the slab
      w.take();
      w.octet(1, 'next'); // needs a new one
      w.take();
      sizes.push(w.buf.length);
    }
    expect(sizes.map((size) => size / KiB)).toEqual([16, 32, 64, 128, 256, 256, 256]);
  });

  it('rewinds to the start of its slab only when nothing is pending', () => {
    const w = new ByteWriter();
    w.raw(Buffer.from('abc'));
    w.rewind();
    expect(w.take().toString()).toBe('abc');
    w.rewind();
    w.raw(Buffer.from('de'));
    const again = w.take();
    expect(again.toString()).toBe('de');
    expect(again.byteOffset).toBe(w.buf.byteOffset);
  });
});
