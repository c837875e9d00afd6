/**
 * Counters that warren adds up itself and the SDK reads at each collection,
 * as ObservableCounters. `Counter.add` hashes its attributes (sorting and
 * serialising every key) on each call, which on the per-message paths cost
 * more than the rest of the metrics together; a tally's `add` is one lookup
 * by a short key, and its attributes are made once per key.
 */
import type {
  Attributes,
  Meter,
  MetricOptions,
  ObservableCallback,
  ObservableCounter,
} from '@opentelemetry/api';
import type { Undo } from './subscriptions.js';

/**
 * How many distinct attribute sets a tally keeps, as the SDK's own default
 * cardinality limit: past it, counts go to one overflow series rather than
 * growing the map without bound (a name per message would otherwise leak).
 */
export const MAX_SERIES = 2000;

/** The attributes of the overflow series, as the SDK marks its own. */
const OVERFLOW_KEY = '\0overflow';
const OVERFLOW_ATTRIBUTES: Attributes = Object.freeze({ 'otel.metric.overflow': true });

/** One monotonic count per distinct set of attributes. */
export class Tally {
  readonly #counts = new Map<string, { readonly attributes: Attributes; count: number }>();
  readonly #instrument: ObservableCounter;
  readonly #observe: ObservableCallback = (result) => {
    for (const { attributes, count } of this.#counts.values()) result.observe(count, attributes);
  };

  constructor(meter: Meter, name: string, options: MetricOptions) {
    this.#instrument = meter.createObservableCounter(name, options);
    this.#instrument.addCallback(this.#observe);
  }

  /**
   * Counts one under `key`, which stands for the attributes: `attributes`
   * makes them the first time the key is seen.
   */
  add(key: string, attributes: () => Attributes): void {
    const entry = this.#counts.get(key);
    if (entry !== undefined) {
      entry.count++;
      return;
    }
    // The last place is kept for the overflow series.
    const full = this.#counts.size >= MAX_SERIES - 1;
    if (!full) {
      this.#counts.set(key, { attributes: attributes(), count: 1 });
      return;
    }
    const overflow = this.#counts.get(OVERFLOW_KEY);
    if (overflow !== undefined) overflow.count++;
    else this.#counts.set(OVERFLOW_KEY, { attributes: OVERFLOW_ATTRIBUTES, count: 1 });
  }

  /** Stops reporting (the SDK no longer calls back). */
  readonly close: Undo = () => {
    this.#instrument.removeCallback(this.#observe);
  };
}
