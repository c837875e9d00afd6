/**
 * The soak's memory samples (bench/soak.ts): `process.memoryUsage()` at a fixed interval, no
 * forced GC (the soak measures what an application would see). The summary compares the
 * average of the first window with that of the last one: flat is the promise. The window is a
 * minute, or a third of the run when the run is shorter than three minutes.
 *
 * @module
 */

/** One sample. */
export interface MemorySample {
  /** ms since the soak started. */
  readonly atMs: number;
  readonly rss: number;
  readonly heapUsed: number;
}

/** Averages over a window of samples, in bytes. */
export interface MemoryWindow {
  readonly rss: number;
  readonly heapUsed: number;
}

/** What the samples say, in bytes. */
export interface MemorySummary {
  readonly samples: number;
  readonly intervalMs: number;
  readonly windowMs: number;
  readonly peakRss: number;
  readonly peakHeapUsed: number;
  readonly first: MemoryWindow;
  readonly last: MemoryWindow;
}

const MINUTE_MS = 60_000;

/** Samples memory until stopped. */
export class MemorySampler {
  readonly samples: MemorySample[] = [];
  readonly #intervalMs: number;
  readonly #clock: () => number;
  readonly #timer: NodeJS.Timeout;

  constructor(intervalMs: number, clock: () => number) {
    this.#intervalMs = intervalMs;
    this.#clock = clock;
    this.#sample();
    this.#timer = setInterval(() => this.#sample(), intervalMs);
  }

  stop(): void {
    clearInterval(this.#timer);
    this.#sample();
  }

  /** Peaks, and first- and last-window averages over the samples up to `untilMs`. */
  summary(untilMs = Number.POSITIVE_INFINITY): MemorySummary {
    const samples = this.samples.filter((sample) => sample.atMs <= untilMs);
    const endMs = samples.at(-1)?.atMs ?? 0;
    const windowMs = Math.min(MINUTE_MS, endMs / 3);
    return {
      samples: samples.length,
      intervalMs: this.#intervalMs,
      windowMs: Math.round(windowMs),
      peakRss: Math.max(...samples.map((sample) => sample.rss)),
      peakHeapUsed: Math.max(...samples.map((sample) => sample.heapUsed)),
      first: average(samples.filter((sample) => sample.atMs <= windowMs)),
      last: average(samples.filter((sample) => sample.atMs >= endMs - windowMs)),
    };
  }

  #sample(): void {
    const { rss, heapUsed } = process.memoryUsage();
    this.samples.push({ atMs: this.#clock(), rss, heapUsed });
  }
}

function average(samples: readonly MemorySample[]): MemoryWindow {
  const n = Math.max(samples.length, 1);
  return {
    rss: Math.round(samples.reduce((sum, sample) => sum + sample.rss, 0) / n),
    heapUsed: Math.round(samples.reduce((sum, sample) => sum + sample.heapUsed, 0) / n),
  };
}
