/**
 * Dead letters that explain themselves: a failed message goes, as a copy
 * with the `x-warren-*` headers of why.ts, to the destination its consumer
 * names or to its queue's dead-letter exchange, by a confirmed publish
 * before the original is acked.
 */
import type { Channel } from '../channel.js';
import type { Connection } from '../connection.js';
import type { FailureHandler } from '../consumer.js';
import type { IncomingMessage } from '../incoming-message.js';
import type { Queue } from '../queue.js';
import { MessageValidationError } from '../schema.js';
import { forward } from './forward.js';
import { reportFailure } from './report.js';
import { type DeadLetterReason, failureHeaders, WarrenHeaders } from './why.js';

/** An exchange a consumer dead-letters to itself. */
export interface DeadLetterExchange {
  /** The exchange's name; it must exist (`prepare` checks it). */
  exchange: string;
  /**
   * The routing key of the copy.
   * @default the key the message was first published with (`x-warren-original-routing-key`, else its own)
   */
  routingKey?: string;
}

/**
 * Where a dead-lettered message goes:
 * - `'queue'`: the queue's own dead-letter exchange, as its
 *   `x-dead-letter-exchange` (and `x-dead-letter-routing-key`) argument
 *   names it: a copy with the `x-warren-*` headers is published there. When
 *   the queue's handle does not know of one (it is set by a policy, which a
 *   client cannot read, or there is none), the message is rejected without
 *   requeue: the broker dead-letters it by its policy (or drops it) without
 *   warren's headers, and a process warning (`WARREN_DEAD_LETTER_UNKNOWN`,
 *   once per queue) says so. Give the handle its arguments
 *   (`channel.queue(name, { arguments })`) or name the exchange to have the
 *   headers.
 * - `{ exchange, routingKey? }`: that exchange, with the headers.
 */
export type DeadLetterDestination = 'queue' | DeadLetterExchange;

/** Options of {@link deadLetter}. */
export interface DeadLetterOptions {
  /** Where failed messages go. @default 'queue' (the queue's own dead-letter exchange) */
  to?: DeadLetterDestination;
}

/**
 * A failure policy that dead-letters every failed message at once, with
 * the headers that say why (`x-warren-reason`: `invalid` for a schema
 * mismatch, `policy` for any other failure). For delayed retries first, see
 * {@link retry}.
 *
 * ```ts
 * await queue.consume(handle, { onFailure: deadLetter({ to: { exchange: 'orders.dead' } }) });
 * ```
 * @throws TypeError|RangeError for bad options, before anything is sent
 */
export function deadLetter<T = unknown>(options: DeadLetterOptions = {}): DeadLetterPolicy<T> {
  checkKeys(options, 'deadLetter', ['to']);
  const to = options.to ?? 'queue';
  checkDestination(to, 'deadLetter: to');
  return new DeadLetterPolicy<T>(to);
}

/** The policy {@link deadLetter} makes. */
export class DeadLetterPolicy<T = unknown> implements FailureHandler<T> {
  /** Where it sends failed messages. */
  readonly destination: DeadLetterDestination;

  /** @internal Use {@link deadLetter}. */
  constructor(destination: DeadLetterDestination) {
    this.destination = destination;
  }

  /** Checks that the named dead-letter exchange exists (a 404 rejects `consume()`). */
  async prepare(queue: Queue<T>, options: { signal?: AbortSignal }): Promise<void> {
    await checkDestinationExists(queue.channel.connection, this.destination, options.signal);
  }

  /** Dead-letters `message` with the headers that say why. */
  async handle(error: unknown, message: IncomingMessage<T>, queue: Queue<T>): Promise<void> {
    const reason = error instanceof MessageValidationError ? 'invalid' : 'policy';
    await sendToDeadLetters(error, message, queue, reason, this.destination);
  }
}

/** Queues already warned of: their dead-letter exchange is unknown to warren. */
const warnedQueues = new Set<string>();
const WARNED_QUEUES_MAX = 1_000;

/**
 * Dead-letters `message`, which failed with `error` on `queue` for
 * `reason`: a confirmed copy with the `x-warren-*` headers to `destination`,
 * then the ack. When the copy cannot be published, the original is
 * rejected without requeue if the queue has a known dead-letter exchange
 * (the broker dead-letters it, without the headers), else requeued after a
 * pause; the publish's error is thrown.
 */
export async function sendToDeadLetters(
  error: unknown,
  message: IncomingMessage<unknown>,
  queue: Queue<unknown>,
  reason: DeadLetterReason,
  destination: DeadLetterDestination,
): Promise<void> {
  reportFailure(message, queue.name, error, { reason });
  const connection = queue.channel.connection;
  const own = ownDeadLetterExchange(queue);
  const originalKey = message.headers[WarrenHeaders.originalRoutingKey];
  const routingKey = typeof originalKey === 'string' ? originalKey : message.routingKey;
  let exchange: string;
  let key: string;
  if (destination === 'queue') {
    if (own === undefined) {
      warnUnknown(queue);
      try {
        message.reject({ requeue: false });
      } catch {
        // Its channel closed: the broker has it back.
      }
      return;
    }
    exchange = own.exchange;
    key = own.routingKey ?? routingKey;
  } else {
    exchange = destination.exchange;
    key = destination.routingKey ?? routingKey;
  }
  const headers = failureHeaders(error, message, {
    queue: queue.name,
    attempt: message.attempt,
    reason,
    now: new Date(),
  });
  await forward(message, {
    connection,
    source: queue.channel,
    exchange,
    routingKey: key,
    headers,
    otherwise: own === undefined ? 'requeue' : 'dead-letter',
  });
}

/** The queue's dead-letter exchange, as the arguments its handle knows name it. */
export function ownDeadLetterExchange(
  queue: Queue<unknown>,
): { exchange: string; routingKey: string | undefined } | undefined {
  const exchange = queue.arguments?.['x-dead-letter-exchange'];
  if (typeof exchange !== 'string') return undefined;
  const routingKey = queue.arguments?.['x-dead-letter-routing-key'];
  return { exchange, routingKey: typeof routingKey === 'string' ? routingKey : undefined };
}

/** Says once per queue that its dead-letter exchange is unknown: to the connection's logger, else as a process warning. */
function warnUnknown(queue: Queue<unknown>): void {
  const { name } = queue;
  if (warnedQueues.has(name)) return;
  if (warnedQueues.size >= WARNED_QUEUES_MAX) warnedQueues.clear();
  warnedQueues.add(name);
  const message = `warren: queue '${name}' has no x-dead-letter-exchange argument that warren knows of: its failed messages are rejected without requeue, and dead-lettered by the broker (by a policy, if one applies) without x-warren-* headers; give the queue's handle its arguments, or name the exchange (deadLetter: { exchange }), to have them`;
  const logger = queue.channel.connection.logger;
  if (logger === undefined) {
    process.emitWarning(message, { code: 'WARREN_DEAD_LETTER_UNKNOWN' });
  } else {
    logger.warn({ event: 'warren.deadLetter.unknownExchange', queue: name }, message);
  }
}

/** Checks a {@link DeadLetterDestination}, before anything is sent. */
export function checkDestination(value: unknown, what: string): void {
  if (value === 'queue') return;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const message = `${what} must be 'queue' or { exchange, routingKey? }, got ${typeof value === 'string' ? `'${value}'` : typeof value}`;
    throw typeof value === 'string' ? new RangeError(message) : new TypeError(message);
  }
  checkKeys(value, what, ['exchange', 'routingKey']);
  const { exchange, routingKey } = value as DeadLetterExchange;
  checkName(exchange, `${what}.exchange`);
  if (exchange === '') {
    throw new RangeError(
      `${what}.exchange must name an exchange; for the default exchange, publish to a queue yourself`,
    );
  }
  if (routingKey !== undefined) checkName(routingKey, `${what}.routingKey`);
}

/** Checks that a named dead-letter exchange exists, by a passive declare on a channel of its own. */
export async function checkDestinationExists(
  connection: Connection,
  destination: DeadLetterDestination,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (destination === 'queue') return;
  await withChannel(connection, signal, async (channel) => {
    await channel.declareExchange(destination.exchange, 'direct', {
      passive: true,
      ...(signal === undefined ? {} : { signal }),
    });
  });
}

/**
 * Runs `work` on a channel of its own, closed after: a refusal (404, 406)
 * closes that channel, never the consumer's.
 */
export async function withChannel(
  connection: Connection,
  signal: AbortSignal | undefined,
  work: (channel: Channel) => Promise<void>,
): Promise<void> {
  const channel = await connection.openChannel(signal === undefined ? {} : { signal });
  try {
    await work(channel);
  } finally {
    if (channel.isOpen) await channel.close().catch(() => {});
  }
}

/** An options object with only `known` keys: a TypeError names any other. */
export function checkKeys(options: unknown, what: string, known: readonly string[]): void {
  if (typeof options !== 'object' || options === null || Array.isArray(options)) {
    throw new TypeError(`the options of ${what} must be an object`);
  }
  for (const key of Object.keys(options)) {
    if (!known.includes(key)) {
      throw new TypeError(`${what} has no option '${key}' (it takes ${known.join(', ')})`);
    }
  }
}

/** A queue or exchange name, or a routing key: a string of at most 255 bytes of UTF-8. */
export function checkName(value: unknown, what: string): asserts value is string {
  if (typeof value !== 'string') throw new TypeError(`${what} must be a string`);
  if (Buffer.byteLength(value, 'utf8') > 255) {
    throw new RangeError(`${what} is longer than AMQP's 255 bytes`);
  }
}
