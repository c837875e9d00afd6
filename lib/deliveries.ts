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
  /** Deliveries not yet settled, by tag. */
  readonly #unsettled = new Map<number, D>();
  /**
   * The tracked tags in ascending order from {@link DeliveryLedger.#head}, settled ones among
   * them until the head passes them. The oldest unsettled tag is read here rather than from the
   * Map's first key: a Map keeps its deleted entries as holes until it rehashes, and finding its
   * first key walks past every one of them (hundreds with a prefetch of 1,000).
   */
  #order: number[] = [];
  #head = 0;
  /** How many settled tags the order may hold before it drops them (small in tests). */
  readonly #compactAfter: number;

  constructor(compactAfter = 1024) {
    this.#compactAfter = compactAfter;
  }
  /** In transaction mode, the deliveries settled since the last commit or rollback; null outside it. */
  #settledInTx: D[] | null = null;

  /** How many deliveries wait for a settlement. */
  get size(): number {
    return this.#unsettled.size;
  }

  /** Whether the channel is in transaction mode. */
  get inTransaction(): boolean {
    return this.#settledInTx !== null;
  }

  /** A delivery that needs settling arrived. */
  track(delivery: D): void {
    this.#unsettled.set(delivery.deliveryTag, delivery);
    const order = this.#order;
    order.push(delivery.deliveryTag);
    // Settled tags behind an old unsettled one stay in the order until the head passes them:
    // keep them fewer than the unsettled ones, whatever the application holds back.
    if (order.length - this.#head > 2 * this.#unsettled.size + this.#compactAfter) {
      this.#order = order.slice(this.#head).filter((tag) => this.#unsettled.has(tag));
      this.#head = 0;
    }
  }

  /** The oldest unsettled tag, or undefined; drops the settled tags before it from the order. */
  #oldest(): number | undefined {
    const order = this.#order;
    const unsettled = this.#unsettled;
    let head = this.#head;
    while (head < order.length && !unsettled.has(order[head] as number)) head++;
    if (head === order.length) {
      order.length = 0;
      head = 0;
    } else if (head >= this.#compactAfter && head * 2 >= order.length) {
      order.splice(0, head);
      head = 0;
    }
    this.#head = head;
    return order[head];
  }

  /** Whether `delivery` is tracked and unsettled (false for a stale one). */
  has(delivery: D): boolean {
    return this.#unsettled.get(delivery.deliveryTag) === delivery;
  }

  /** Records the settlement of `delivery` and says what to send for it. */
  settle(delivery: D, settlement: Settlement): SettleAction {
    const tag = delivery.deliveryTag;
    const unsettled = this.#unsettled;
    if (unsettled.get(tag) !== delivery) return 'stale';
    if (
      settlement.kind === 'ack' &&
      !settlement.multiple &&
      this.#settledInTx === null &&
      this.#oldest() === tag
    ) {
      // Acking the oldest unsettled delivery, then the next oldest, and so on, is what one
      // multiple-ack of the last of them does: the broker ends in the same state.
      unsettled.delete(tag);
      return 'run';
    }
    if (settlement.kind !== 'reject' && settlement.multiple) {
      const order = this.#order;
      for (let i = this.#head; i < order.length && (order[i] as number) <= tag; i++) {
        const earlier = order[i] as number;
        const other = unsettled.get(earlier);
        if (other === undefined) continue;
        other.markSettled();
        unsettled.delete(earlier);
        this.#settledInTx?.push(other);
      }
    } else {
      unsettled.delete(tag);
      this.#settledInTx?.push(delivery);
    }
    return 'send';
  }

  /**
   * The broker answered `basic.recover`: it forgets every delivery made
   * before, and will redeliver them under new tags.
   */
  recovered(): void {
    for (const delivery of this.#unsettled.values()) delivery.markSettled();
    this.#forgetAll();
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
    const all = [...this.#unsettled.values(), ...undone].sort(
      (a, b) => a.deliveryTag - b.deliveryTag,
    );
    this.#forgetAll();
    for (const delivery of all) this.track(delivery);
  }

  /** The channel closed (or its connection was lost): every tag is stale from now on. */
  clear(): void {
    this.#forgetAll();
  }

  #forgetAll(): void {
    this.#unsettled.clear();
    this.#order = [];
    this.#head = 0;
  }
}
