import type { AmqpError } from '../protocol/errors.js';
import { MessageReturnedError, PublishNackedError, type ReturnedMessage } from './errors.js';

interface Unconfirmed {
  readonly resolve: () => void;
  readonly reject: (error: AmqpError) => void;
  readonly mandatory: boolean;
  readonly exchange: string;
  readonly routingKey: string;
  returned: ReturnedMessage | null;
}

/**
 * Publisher confirms of one channel. Publishes are numbered from 1 after
 * `confirm.select`; the broker acks or nacks them, singly or `multiple` up to
 * a tag. A mandatory message it cannot route comes back (`basic.return`)
 * before its ack: the return is matched to the oldest unconfirmed mandatory
 * publish with the same exchange and routing key that has not come back yet
 * (the broker handles a channel's publishes in order), and that publish
 * rejects with {@link MessageReturnedError} when its ack arrives.
 */
export class ConfirmTracker {
  private nextSequence = 1;
  /** Keyed by sequence number; a Map iterates in insertion order, which is ascending. */
  private readonly unconfirmed = new Map<number, Unconfirmed>();

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
  returned(message: ReturnedMessage): boolean {
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
      else entry.reject(new MessageReturnedError(entry.returned));
    });
  }

  nack(deliveryTag: number, multiple: boolean): void {
    this.settle(deliveryTag, multiple, (entry) => entry.reject(new PublishNackedError()));
  }

  /** Rejects every unconfirmed publish: its fate is unknown. */
  fail(error: AmqpError): void {
    const entries = [...this.unconfirmed.values()];
    this.unconfirmed.clear();
    for (const entry of entries) entry.reject(error);
  }

  private settle(deliveryTag: number, multiple: boolean, each: (entry: Unconfirmed) => void): void {
    if (!multiple) {
      const entry = this.unconfirmed.get(deliveryTag);
      if (entry === undefined) return;
      this.unconfirmed.delete(deliveryTag);
      each(entry);
      return;
    }
    for (const [sequence, entry] of this.unconfirmed) {
      if (sequence > deliveryTag) break;
      this.unconfirmed.delete(sequence);
      each(entry);
    }
  }
}
