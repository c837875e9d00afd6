/**
 * What one delivery weighs beyond its body, in the count of {@link DeliveryBacklog}: the message
 * object, its properties and delivery fields. A rough figure (a 1 KiB delivery held about 1.6 KiB
 * of heap in bench/memory.ts), so that many small messages count too, not only their bodies.
 */
export const DELIVERY_OVERHEAD_BYTES = 512;

/**
 * The deliveries of one connection that wait for a handler, by weight (body bytes plus
 * {@link DELIVERY_OVERHEAD_BYTES} each). Over `limit`, the connection stops reading its socket:
 * the broker's writes back up in TCP, and nothing more arrives to wait. At half the limit, or
 * less, it reads again. Holding and releasing are an addition and a comparison each: they run
 * once per delivery.
 */
export class DeliveryBacklog {
  /** The weight of the deliveries waiting now. */
  bytes = 0;
  /** Whether the weight went over the limit and has not yet come down to the low-water mark. */
  private over = false;
  private readonly lowWater: number;

  /**
   * @param limit - the most bytes that may wait before reading stops
   * @param pause - stops reading the socket
   * @param resume - reads the socket again
   */
  constructor(
    readonly limit: number,
    private readonly pause: () => void,
    private readonly resume: () => void,
  ) {
    this.lowWater = Math.floor(limit / 2);
  }

  /** A delivery of `bytes` waits for a handler. */
  hold(bytes: number): void {
    this.bytes += bytes;
    if (this.bytes > this.limit && !this.over) {
      this.over = true;
      this.pause();
    }
  }

  /** Deliveries of `bytes` in all no longer wait: handed to a handler, or dropped. */
  release(bytes: number): void {
    this.bytes -= bytes;
    if (this.over && this.bytes <= this.lowWater) {
      this.over = false;
      this.resume();
    }
  }
}
