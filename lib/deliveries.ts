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
  /** Deliveries not yet settled, by tag (ascending: tags grow, and a Map keeps insertion order). */
  readonly #unsettled = new Map<number, D>();
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
      unsettled.keys().next().value === tag
    ) {
      // Acking the oldest unsettled delivery, then the next oldest, and so on, is what one
      // multiple-ack of the last of them does: the broker ends in the same state.
      unsettled.delete(tag);
      return 'run';
    }
    if (settlement.kind !== 'reject' && settlement.multiple) {
      for (const [earlier, other] of unsettled) {
        if (earlier > tag) break;
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
    this.#unsettled.clear();
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
    this.#unsettled.clear();
    for (const delivery of all) this.#unsettled.set(delivery.deliveryTag, delivery);
  }

  /** The channel closed (or its connection was lost): every tag is stale from now on. */
  clear(): void {
    this.#unsettled.clear();
  }
}
