/**
 * The soak's book of message ids (bench/soak.ts): for one queue, which ids the broker confirmed
 * and how often each arrived at a consumer. Ids are small whole numbers handed out in order, so
 * the book is two typed arrays that grow by doubling: a 30-minute soak numbers about a million
 * messages per queue, a few MiB here, not a million-entry Map.
 *
 * @module
 */

/** What a {@link Ledger} says once the run is over. */
export interface LedgerSummary {
  /** Ids handed out to the publisher. */
  readonly ids: number;
  /** Ids the broker confirmed (each counted once, however often it was published). */
  readonly confirmed: number;
  /** Confirmed or not, ids that reached a handler at least once. */
  readonly received: number;
  /** Confirmed ids that never reached a handler: 0 is the promise. */
  readonly lost: number;
  /** The first lost ids, for a report. */
  readonly lostIds: readonly number[];
  /** Deliveries handled beyond the first of each id (at least once allows them). */
  readonly duplicates: number;
  /** Every delivery handled. */
  readonly deliveries: number;
}

const LOST_IDS_SHOWN = 20;

/** Ids confirmed and received for one queue. */
export class Ledger {
  #confirmed = new Uint8Array(1024);
  /** Deliveries per id, saturating at 65,535. */
  #seen = new Uint16Array(1024);
  #ids = 0;
  #confirmedCount = 0;
  #receivedCount = 0;
  #deliveries = 0;

  /** The next id to publish. */
  issue(): number {
    const id = this.#ids++;
    this.#grow(id);
    return id;
  }

  /** How many ids were handed out. */
  get ids(): number {
    return this.#ids;
  }

  /** How many ids the broker confirmed. */
  get confirmedCount(): number {
    return this.#confirmedCount;
  }

  /** How many ids were received at least once. */
  get receivedCount(): number {
    return this.#receivedCount;
  }

  /** How many confirmed ids have not arrived yet. */
  get outstanding(): number {
    let count = 0;
    for (let id = 0; id < this.#ids; id++) {
      if (this.#confirmed[id] === 1 && this.#seen[id] === 0) count++;
    }
    return count;
  }

  /** The broker confirmed `id`. */
  confirm(id: number): void {
    if (this.#confirmed[id] === 1) return;
    this.#confirmed[id] = 1;
    this.#confirmedCount++;
  }

  /** A handler got `id`; false when it is not an id this ledger handed out. */
  receive(id: number): boolean {
    if (!Number.isInteger(id) || id < 0 || id >= this.#ids) return false;
    this.#deliveries++;
    const seen = this.#seen[id] ?? 0;
    if (seen === 0) this.#receivedCount++;
    if (seen < 0xffff) this.#seen[id] = seen + 1;
    return true;
  }

  summary(): LedgerSummary {
    const lostIds: number[] = [];
    let lost = 0;
    for (let id = 0; id < this.#ids; id++) {
      if (this.#confirmed[id] === 1 && this.#seen[id] === 0) {
        lost++;
        if (lostIds.length < LOST_IDS_SHOWN) lostIds.push(id);
      }
    }
    return {
      ids: this.#ids,
      confirmed: this.#confirmedCount,
      received: this.#receivedCount,
      lost,
      lostIds,
      duplicates: this.#deliveries - this.#receivedCount,
      deliveries: this.#deliveries,
    };
  }

  #grow(id: number): void {
    if (id < this.#confirmed.length) return;
    const size = this.#confirmed.length * 2;
    const confirmed = new Uint8Array(size);
    confirmed.set(this.#confirmed);
    this.#confirmed = confirmed;
    const seen = new Uint16Array(size);
    seen.set(this.#seen);
    this.#seen = seen;
  }
}
