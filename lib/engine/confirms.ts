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
  private nextSequence = 1;
  /**
   * No publish below this sequence number is unconfirmed. Acks are settled by walking up from
   * here rather than by iterating the Map: a Map keeps its deleted entries as holes until it
   * rehashes, and iterating from its start walks past every one of them.
   */
  private lowest = 1;
  /** Keyed by sequence number (consecutive from 1). */
  private readonly unconfirmed = new Map<number, Unconfirmed>();

  constructor(private readonly rejectReturned: ReturnRejection) {}

  /** Numbers the publish just written; resolves on ack, rejects on nack or return. */
  track(mandatory: boolean, exchange: string, routingKey: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.unconfirmed.set(this.nextSequence++, {
        resolve,
        reject,
        mandatory,
        exchange,
        routingKey,
        returned: null,
      });
    });
  }

  /** Matches a `basic.return` to its publish. Returns false when none matches (not ours to track). */
  returned(message: ReturnedContent): boolean {
    for (const entry of this.unconfirmed.values()) {
      if (
        entry.mandatory &&
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
    const entries = [...this.unconfirmed.values()];
    this.unconfirmed.clear();
    this.lowest = this.nextSequence;
    for (const entry of entries) entry.reject(error);
  }

  private settle(deliveryTag: number, multiple: boolean, each: (entry: Unconfirmed) => void): void {
    const { unconfirmed } = this;
    // A tag the broker never gave (beyond the last publish) settles no more than there is.
    const last = Math.min(deliveryTag, this.nextSequence - 1);
    if (!multiple) {
      const entry = unconfirmed.get(deliveryTag);
      if (entry === undefined) return;
      unconfirmed.delete(deliveryTag);
      if (deliveryTag === this.lowest) this.raiseLowest();
      each(entry);
      return;
    }
    for (let sequence = this.lowest; sequence <= last; sequence++) {
      const entry = unconfirmed.get(sequence);
      if (entry === undefined) continue;
      unconfirmed.delete(sequence);
      each(entry);
    }
    if (last >= this.lowest) this.lowest = last + 1;
    this.raiseLowest();
  }

  /** Moves {@link ConfirmTracker.lowest} past the publishes confirmed singly out of order. */
  private raiseLowest(): void {
    while (this.lowest < this.nextSequence && !this.unconfirmed.has(this.lowest)) this.lowest++;
  }
}
