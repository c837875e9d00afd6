import type { AmqpError } from '../protocol/errors.js';
import type { BasicProperties } from '../protocol/spec.js';
import { PublishNackedError } from './errors.js';

/** What the broker sent back (`basic.return`): a mandatory message it could not route. */
export interface ReturnedContent {
  /** Why it came back: 312 (NO_ROUTE) when no queue was bound to take it. */
  readonly replyCode: number;
  /** The broker's text, such as `NO_ROUTE`. */
  readonly replyText: string;
  /** The exchange it was published to. */
  readonly exchange: string;
  /** The routing key it was published with. */
  readonly routingKey: string;
  /** Its properties, as published. */
  readonly properties: BasicProperties;
  /** Its body, as published. */
  readonly body: Buffer;
}

/**
 * Makes the error a confirmed publish rejects with when the broker returned
 * it. The entities give it: it wraps the content in their message class,
 * which the engine does not know.
 */
export type ReturnRejection = (returned: ReturnedContent) => AmqpError;

interface Unconfirmed {
  readonly resolve: () => void;
  readonly reject: (error: AmqpError) => void;
  readonly mandatory: boolean;
  readonly exchange: string;
  readonly routingKey: string;
  returned: ReturnedContent | null;
}

/**
 * Publisher confirms of one channel. Publishes are numbered from 1 after
 * `confirm.select`; the broker acks or nacks them, singly or `multiple` up to
 * a tag. A mandatory message it cannot route comes back (`basic.return`)
 * before its ack: the return is matched to the oldest unconfirmed mandatory
 * publish with the same exchange and routing key that has not come back yet
 * (the broker handles a channel's publishes in order), and that publish
 * rejects, when its ack arrives, with the error `rejectReturned` makes.
 */
export class ConfirmTracker {
  /*
   * The publishes in sequence order: #entries[i] is publish #base + i, null once confirmed.
   * Sequence numbers are consecutive, so an ack finds its publish by subtraction. Not a Map:
   * it would be rehashed into a new table as it grows and shrinks, and walking it from the
   * start passes every entry deleted since the last rehash.
   */
  #entries: (Unconfirmed | null)[] = [];
  /** The sequence number of #entries[0]. */
  #base = 1;
  /** Entries before this index are all confirmed. */
  #head = 0;

  constructor(private readonly rejectReturned: ReturnRejection) {}

  /** Numbers the publish just written; resolves on ack, rejects on nack or return. */
  track(mandatory: boolean, exchange: string, routingKey: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#entries.push({ resolve, reject, mandatory, exchange, routingKey, returned: null });
    });
  }

  /** Matches a `basic.return` to its publish. Returns false when none matches (not ours to track). */
  returned(message: ReturnedContent): boolean {
    const entries = this.#entries;
    for (let i = this.#head; i < entries.length; i++) {
      const entry = entries[i];
      if (
        entry?.mandatory &&
        entry.returned === null &&
        entry.exchange === message.exchange &&
        entry.routingKey === message.routingKey
      ) {
        entry.returned = message;
        return true;
      }
    }
    return false;
  }

  ack(deliveryTag: number, multiple: boolean): void {
    this.settle(deliveryTag, multiple, (entry) => {
      if (entry.returned === null) entry.resolve();
      else entry.reject(this.rejectReturned(entry.returned));
    });
  }

  nack(deliveryTag: number, multiple: boolean): void {
    this.settle(deliveryTag, multiple, (entry) => entry.reject(new PublishNackedError()));
  }

  /** Rejects every unconfirmed publish: its fate is unknown. */
  fail(error: AmqpError): void {
    const entries = this.#entries.slice(this.#head);
    this.#base += this.#entries.length;
    this.#entries = [];
    this.#head = 0;
    for (const entry of entries) entry?.reject(error);
  }

  private settle(deliveryTag: number, multiple: boolean, each: (entry: Unconfirmed) => void): void {
    const entries = this.#entries;
    // A tag the broker never gave (beyond the last publish) settles no more than there is.
    const at = Math.min(deliveryTag - this.#base, entries.length - 1);
    if (at < this.#head) return;
    if (!multiple) {
      const entry = entries[at];
      if (entry == null || at !== deliveryTag - this.#base) return;
      entries[at] = null;
      this.#tidy();
      each(entry);
      return;
    }
    for (let i = this.#head; i <= at; i++) {
      const entry = entries[i];
      if (entry == null) continue;
      entries[i] = null;
      each(entry);
    }
    this.#tidy();
  }

  /** Moves the head past the confirmed front, and drops that front once it is long. */
  #tidy(): void {
    const entries = this.#entries;
    let head = this.#head;
    while (head < entries.length && entries[head] === null) head++;
    if (head >= DROP_AFTER && head * 2 >= entries.length) {
      entries.splice(0, head);
      this.#base += head;
      head = 0;
    }
    this.#head = head;
  }
}

/** How long the confirmed front of the entries may grow before it is dropped. */
const DROP_AFTER = 1024;
