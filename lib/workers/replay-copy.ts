/**
 * What a replay reads from a dead-lettered message (where it came from) and
 * the copies it publishes: pure functions over headers, no I/O.
 */

import { Field, type FieldTable, type FieldValue } from '../fields.js';
import { Message } from '../message.js';
import type { ReceivedMessage } from '../received-message.js';

/** The queue warren dead-lettered the message from (see docs/dead-letters.md). */
export const WARREN_QUEUE = 'x-warren-queue';
/** The attempt the message is on; a replayed copy starts again without it. */
export const WARREN_ATTEMPT = 'x-warren-attempt';
/** Where it was published before warren moved it. */
const WARREN_ORIGINAL_ROUTING_KEY = 'x-warren-original-routing-key';
/** Set by a quorum queue on delivery, only from the second one on: a copy must not carry a stale one. */
const DELIVERY_COUNT = 'x-delivery-count';

/** A non-empty string, or undefined. */
function text(value: FieldValue | FieldTable | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** The most recent `x-death` entry: RabbitMQ keeps the array newest first. */
function latestDeath(headers: FieldTable): FieldTable | undefined {
  const deaths = headers['x-death'];
  if (!Array.isArray(deaths)) return undefined;
  const first: unknown = deaths[0];
  return isTable(first) ? first : undefined;
}

/** A nested field table (decoded as a plain object). */
function isTable(value: unknown): value is FieldTable {
  return (
    typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype
  );
}

/**
 * The queue a dead-lettered message came from: `x-warren-queue` when warren
 * dead-lettered it, else the queue of its most recent `x-death` entry (the
 * broker's dead-lettering that brought it here), else
 * `x-first-death-queue`; undefined when it has none of them.
 */
export function originQueue(headers: FieldTable): string | undefined {
  return (
    text(headers[WARREN_QUEUE]) ??
    text(latestDeath(headers)?.queue) ??
    text(headers['x-first-death-queue'])
  );
}

/**
 * The routing key the message was first published with: warren's
 * `x-warren-original-routing-key`, else the first routing key of its most
 * recent `x-death` entry, else the one it reached the dead-letter queue with.
 */
export function originalRoutingKey(message: ReceivedMessage): string {
  const { headers } = message;
  const fromWarren = headers[WARREN_ORIGINAL_ROUTING_KEY];
  if (typeof fromWarren === 'string') return fromWarren;
  const keys = latestDeath(headers)?.['routing-keys'];
  if (Array.isArray(keys) && typeof keys[0] === 'string') return keys[0];
  return message.routingKey;
}

/**
 * `x-death` as RabbitMQ wrote it: each entry's `count` is an int64 on the
 * wire, which decodes to a number that warren would encode in the narrowest
 * type; pinned back, so that RabbitMQ counts on when it dead-letters the
 * copy again.
 */
function pinnedDeaths(deaths: FieldValue | FieldTable | undefined): FieldValue | undefined {
  if (!Array.isArray(deaths)) return deaths as FieldValue | undefined;
  return deaths.map((entry) => {
    if (!isTable(entry) || typeof entry.count !== 'number') return entry;
    return { ...entry, count: Field.int64(entry.count) };
  });
}

/** The message's headers with `x-death` pinned and the `drop`ped ones left out. */
function copiedHeaders(message: ReceivedMessage, drop: readonly string[]): FieldTable {
  const headers: FieldTable = {};
  for (const [name, value] of Object.entries(message.headers)) {
    if (drop.includes(name)) continue;
    headers[name] = name === 'x-death' ? (pinnedDeaths(value) as FieldValue) : value;
  }
  return headers;
}

/**
 * The copy a replay sends to the target: the same body and properties, and
 * the same headers (`x-death` and every `x-warren-*` one included) except
 * `x-warren-attempt` and `x-delivery-count`, so that the message starts
 * over at its first attempt.
 */
export function replayCopy(message: ReceivedMessage): Message<Buffer> {
  return copyWithout(message, [WARREN_ATTEMPT, DELIVERY_COUNT]);
}

/**
 * The copy a replay puts back at the tail of the dead-letter queue for a
 * message it skips or cannot move: the message as it was, less a stale
 * `x-delivery-count`.
 */
export function keptCopy(message: ReceivedMessage): Message<Buffer> {
  return copyWithout(message, [DELIVERY_COUNT]);
}

/** The same body and properties; headers (if any) copied, less `drop`. */
function copyWithout(message: ReceivedMessage, drop: readonly string[]): Message<Buffer> {
  if (message.properties.headers === undefined)
    return new Message(message.body, message.properties);
  const headers = copiedHeaders(message, drop);
  return new Message(message.body, { ...message.properties, headers });
}
