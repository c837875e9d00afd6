/**
 * Heartbeats for one connection: a heartbeat frame goes out when nothing else
 * was written for half the interval, and a peer that sent nothing for two
 * whole intervals is declared dead. Reads and writes only set flags (no clock
 * on the hot path); one timer ticks every half interval and looks at them.
 */
export class Heartbeat {
  /** Set on every chunk received. */
  received = true;
  /** Set on every write. */
  sent = true;
  /**
   * Set while the engine itself does not read the socket (deliveries wait for handlers): the
   * peer's heartbeats then wait in TCP, and silence says nothing about the peer.
   */
  paused = false;
  private silentTicks = 0;
  private timer: NodeJS.Timeout | undefined;

  /**
   * @param intervalSeconds - the negotiated heartbeat; 0 leaves heartbeats off
   * @param beat - writes one heartbeat frame
   * @param dead - called once when the peer has been silent too long
   */
  constructor(
    private readonly intervalSeconds: number,
    private readonly beat: () => void,
    private readonly dead: () => void,
  ) {}

  start(): void {
    if (this.intervalSeconds === 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), (this.intervalSeconds * 1000) / 2);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  private tick(): void {
    if (!this.sent) this.beat();
    this.sent = false;
    if (this.received || this.paused) {
      this.received = false;
      this.silentTicks = 0;
    } else if (++this.silentTicks >= 4) {
      this.stop();
      this.dead();
    }
  }
}
