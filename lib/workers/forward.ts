/**
 * Moving a delivered message without ever losing it: publish a copy on a
 * confirm channel, and ack the original only once the broker has confirmed
 * the copy. A crash or a lost connection between the two leaves both (the
 * original comes back): a duplicate, never a loss.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Channel } from '../channel.js';
import type { Connection } from '../connection.js';
import type { FieldTable } from '../fields.js';
import type { IncomingMessage } from '../incoming-message.js';
import { Message } from '../message.js';
import { MessageReturnedError } from '../returned-message.js';

/**
 * How long a message whose copy could not be published is held before it
 * is requeued: it keeps its consumer's slot meanwhile, so that a failure
 * that comes back (a missing exchange) slows the consumer down instead of
 * looping hot.
 */
export const REQUEUE_PAUSE_MS = 1_000;

/** One confirm channel per connection, shared by every forward on it; it recovers with the connection. */
const confirmChannels = new WeakMap<Connection, Promise<Channel>>();

/** The connection's shared confirm channel, opened on first use. */
export function confirmChannel(connection: Connection): Promise<Channel> {
  let channel = confirmChannels.get(connection);
  if (channel === undefined) {
    channel = connection.openChannel({ confirm: true, reopen: true });
    confirmChannels.set(connection, channel);
    const opened = channel;
    opened.then(
      (open) => {
        // Closed for good (the connection closed, or it reopened too often): the next forward
        // opens another.
        void open.closed.then(() => {
          if (confirmChannels.get(connection) === opened) confirmChannels.delete(connection);
        });
      },
      () => {
        if (confirmChannels.get(connection) === opened) confirmChannels.delete(connection);
      },
    );
  }
  return channel;
}

/** Where a copy goes, and what becomes of the original when it cannot. */
export interface Forward {
  /** The connection the original came on (its confirm channel publishes the copy). */
  readonly connection: Connection;
  /** The channel the original came on. */
  readonly source: Channel;
  readonly exchange: string;
  readonly routingKey: string;
  /** The copy's headers: the original's, merged with warren's. */
  readonly headers: FieldTable;
  /**
   * Declares the destination again, when the broker returned the copy as
   * unroutable (an operator deleted a wait queue): the copy is published
   * once more after it.
   */
  readonly redeclare?: () => Promise<void>;
  /**
   * What becomes of the original when its copy cannot be published:
   * `'dead-letter'` rejects it without requeue (its queue has a dead-letter
   * exchange, which takes it); `'requeue'` requeues it after
   * {@link REQUEUE_PAUSE_MS}.
   */
  readonly otherwise: 'dead-letter' | 'requeue';
}

/**
 * Publishes a copy of `message` (same body and properties, `headers`) and
 * acks the original once the copy is confirmed. When the copy cannot be
 * published (returned, nacked, the channel or connection lost), the
 * original is settled as `to.otherwise` says and the publish's error is
 * thrown: the consumer reports it; unless the original's channel went down
 * too, which gives the original back to its queue. An ack the broker no longer needs (the
 * consumer's channel recovered meanwhile, and the original went back to its
 * queue) sends nothing: the original comes again, a duplicate of the copy.
 */
export async function forward(message: IncomingMessage<unknown>, to: Forward): Promise<void> {
  const copy = new Message(message.body, { ...message.properties, headers: to.headers });
  try {
    try {
      await publish(copy, to);
    } catch (error) {
      if (!(error instanceof MessageReturnedError) || to.redeclare === undefined) throw error;
      await to.redeclare();
      await publish(copy, to);
    }
  } catch (error) {
    // The original's channel went down with the copy's (a lost connection): the broker has the
    // original back, and will deliver it again. Nothing to settle, nothing to report.
    if (!to.source.isOpen) {
      settle(message, () => message.reject({ requeue: true }));
      return;
    }
    await settleUnmoved(message, to.otherwise);
    throw error;
  }
  settle(message, () => message.ack());
}

async function publish(copy: Message, to: Forward): Promise<void> {
  const channel = await confirmChannel(to.connection);
  await channel.exchange(to.exchange).publish(copy, to.routingKey, { mandatory: true });
}

async function settleUnmoved(
  message: IncomingMessage<unknown>,
  otherwise: Forward['otherwise'],
): Promise<void> {
  if (otherwise === 'dead-letter') {
    settle(message, () => message.reject({ requeue: false }));
    return;
  }
  await sleep(REQUEUE_PAUSE_MS);
  settle(message, () => message.reject({ requeue: true }));
}

/** Settles unless settled already; a channel that closed meanwhile makes it moot (the broker requeued it). */
function settle(message: IncomingMessage<unknown>, how: () => void): void {
  if (message.settled) return;
  try {
    how();
  } catch {
    // The channel closed: the broker has the original back.
  }
}
