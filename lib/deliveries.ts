/**
 * The delivery bookkeeping of one channel: which deliveries the broker still
 * considers unacknowledged, what a settlement must send, and what a
 * transaction, a `basic.recover` or a closed channel does to them. Pure: it
 * sends nothing and knows no socket; the channel turns its answers into
 * frames. spec/unit/deliveries.spec.ts checks it against a model of the
 * broker for any sequence of operations.
 */

/** How a received message is settled. @internal */
export type Settlement =
  | { readonly kind: 'ack'; readonly multiple: boolean }
  | { readonly kind: 'nack'; readonly multiple: boolean; readonly requeue: boolean }
  | { readonly kind: 'reject'; readonly requeue: boolean };

/** A delivery the ledger tracks: an `IncomingMessage` that was not delivered with no-ack. @internal */
export interface Delivery {
  readonly deliveryTag: number;
  /** Settled by a `multiple` settlement of a later delivery. */
  markSettled(): void;
  /** Its settlement was undone (a transaction rolled back): it may be settled again. */
  unsettle(): void;
}

/**
 * What a settlement asks of the channel:
 * - `'stale'`: nothing; the delivery's tag belongs to a channel that closed or
 *   recovered since, and the broker has requeued it already.
 * - `'run'`: an ack of the oldest unsettled delivery, which joins the channel's
 *   run of acks (written as one multiple-ack at the end of the turn).
 * - `'send'`: the settlement's own frame, now.
 * @internal
 */
export type SettleAction = 'stale' | 'run' | 'send';

/** @internal */
export class DeliveryLedger<D extends Delivery = Delivery> {
  /*
   * The tracked deliveries in tag order (tags only grow on a channel), from #head on: #tags[i]
   * is the tag of #items[i], and #items[i] is null once that delivery is settled. Not a Map by
   * tag: a consumer acks each burst of deliveries as it arrives, so the ledger grows and empties
   * with every socket read, and V8 rehashes a Map into a new table each time it grows past its
   * capacity or shrinks below a quarter of it (a profile showed Map.delete's shrinking as the
   * ledger's whole cost). Arrays only grow, and a tag is found at its offset from the head
   * (tags are consecutive unless no-ack deliveries come between), else by binary search.
   */
  #tags: number[] = [];
  #items: (D | null)[] = [];
  #head = 0;
  /** How many deliveries wait for a settlement. */
  #count = 0;
  /** How many settled entries the arrays may hold before they are dropped (small in tests). */
  readonly #compactAfter: number;
  /** In transaction mode, the deliveries settled since the last commit or rollback; null outside it. */
  #settledInTx: D[] | null = null;

  constructor(compactAfter = 1024) {
    this.#compactAfter = compactAfter;
  }

  /** How many deliveries wait for a settlement. */
  get size(): number {
    return this.#count;
  }

  /** Whether the channel is in transaction mode. */
  get inTransaction(): boolean {
    return this.#settledInTx !== null;
  }

  /** A delivery that needs settling arrived. */
  track(delivery: D): void {
    this.#tags.push(delivery.deliveryTag);
    this.#items.push(delivery);
    this.#count++;
    // Settled entries behind an old unsettled one stay until the head passes them: keep them
    // fewer than the unsettled ones, whatever the application holds back.
    if (this.#tags.length - this.#head > 2 * this.#count + this.#compactAfter) this.#compact();
  }

  /** Whether `delivery` is tracked and unsettled (false for a stale one). */
  has(delivery: D): boolean {
    const at = this.#indexOf(delivery.deliveryTag);
    return at >= 0 && this.#items[at] === delivery;
  }

  /** Records the settlement of `delivery` and says what to send for it. */
  settle(delivery: D, settlement: Settlement): SettleAction {
    const at = this.#indexOf(delivery.deliveryTag);
    const items = this.#items;
    if (at < 0 || items[at] !== delivery) return 'stale';
    if (
      settlement.kind === 'ack' &&
      !settlement.multiple &&
      this.#settledInTx === null &&
      at === this.#oldest()
    ) {
      // Acking the oldest unsettled delivery, then the next oldest, and so on, is what one
      // multiple-ack of the last of them does: the broker ends in the same state.
      this.#drop(at);
      this.#tidy();
      return 'run';
    }
    if (settlement.kind !== 'reject' && settlement.multiple) {
      for (let i = this.#head; i <= at; i++) {
        const other = items[i];
        if (other === null || other === undefined) continue;
        other.markSettled();
        this.#drop(i);
        this.#settledInTx?.push(other);
      }
    } else {
      this.#drop(at);
      this.#settledInTx?.push(delivery);
    }
    this.#tidy();
    return 'send';
  }

  /** Where the delivery with `tag` is in the arrays, or -1. */
  #indexOf(tag: number): number {
    const tags = this.#tags;
    let low = this.#head;
    let high = tags.length - 1;
    if (low > high) return -1;
    const guess = low + (tag - (tags[low] as number));
    if (guess >= low && guess <= high && tags[guess] === tag) return guess;
    while (low <= high) {
      const mid = (low + high) >>> 1;
      const found = tags[mid] as number;
      if (found === tag) return mid;
      if (found < tag) low = mid + 1;
      else high = mid - 1;
    }
    return -1;
  }

  /** The index of the oldest unsettled delivery; moves the head up to it. */
  #oldest(): number {
    const items = this.#items;
    let head = this.#head;
    while (head < items.length && items[head] === null) head++;
    this.#head = head;
    return head;
  }

  /** Marks entry `at` settled. */
  #drop(at: number): void {
    this.#items[at] = null;
    this.#count--;
  }

  /**
   * After a settlement: drops the settled front of the arrays once it is long (not every time
   * they empty: emptying an array gives up its storage, and it would be allocated again for the
   * next burst of deliveries).
   */
  #tidy(): void {
    if (this.#count === 0) {
      this.#head = this.#tags.length;
      if (this.#head >= this.#compactAfter) this.#reset();
      return;
    }
    const head = this.#oldest();
    if (head >= this.#compactAfter && head * 2 >= this.#tags.length) {
      this.#tags.splice(0, head);
      this.#items.splice(0, head);
      this.#head = 0;
    }
  }

  /** Keeps only the unsettled entries. */
  #compact(): void {
    const tags: number[] = [];
    const items: D[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i];
      if (item === null || item === undefined) continue;
      tags.push(this.#tags[i] as number);
      items.push(item);
    }
    this.#tags = tags;
    this.#items = items;
    this.#head = 0;
  }

  /** Forgets every entry. */
  #reset(): void {
    this.#tags.length = 0;
    this.#items.length = 0;
    this.#head = 0;
    this.#count = 0;
  }

  /** The unsettled deliveries, in tag order. */
  #unsettled(): D[] {
    const out: D[] = [];
    for (let i = this.#head; i < this.#items.length; i++) {
      const item = this.#items[i];
      if (item !== null && item !== undefined) out.push(item);
    }
    return out;
  }

  /**
   * The broker answered `basic.recover`: it forgets every delivery made
   * before, and will redeliver them under new tags.
   */
  recovered(): void {
    for (const delivery of this.#unsettled()) delivery.markSettled();
    this.#reset();
    if (this.#settledInTx !== null) this.#settledInTx = [];
  }

  /** A transaction begins: `tx.select` or `tx.commit` was answered, or the channel reopened in tx mode. */
  beginTransaction(): void {
    this.#settledInTx = [];
  }

  /** The channel left transaction mode: it reopened after the broker closed it. */
  endTransaction(): void {
    this.#settledInTx = null;
  }

  /**
   * `tx.rollback` was answered: what the transaction settled is unsettled
   * again, on the broker and here, and a new transaction begins.
   */
  rolledBack(): void {
    const undone = this.#settledInTx ?? [];
    this.#settledInTx = [];
    if (undone.length === 0) return;
    for (const delivery of undone) delivery.unsettle();
    const all = [...this.#unsettled(), ...undone].sort((a, b) => a.deliveryTag - b.deliveryTag);
    this.#reset();
    for (const delivery of all) this.track(delivery);
  }

  /** The channel closed (or its connection was lost): every tag is stale from now on. */
  clear(): void {
    this.#reset();
  }
}
