/**
 * {@link deadLetters}: what is in a dead-letter queue, and why each message
 * is there, read without losing any of them.
 */
import {
  type Channel,
  type Connection,
  type DeadLetterReason,
  type FieldTable,
  type FieldValue,
  type IncomingMessage,
  WarrenHeaders,
} from 'warren';
import { checkQueueName, connectionOf } from './arguments.js';

/** Why RabbitMQ dead-lettered a message (an `x-death` entry's `reason`). */
export type BrokerDeadLetterReason = 'rejected' | 'expired' | 'maxlen' | 'delivery_limit';

/** One entry of RabbitMQ's `x-death` header: one queue a message died in, and why. */
export interface Death {
  /** The queue it was dead-lettered from. */
  readonly queue: string;
  /** Why (another string, should a newer RabbitMQ add a reason). */
  readonly reason: BrokerDeadLetterReason | (string & {});
  /** How many times it was dead-lettered from this queue for this reason. */
  readonly count: number;
  /** The exchange it had been published to. */
  readonly exchange: string;
  /** The routing keys it had been published with (CC and BCC included). */
  readonly routingKeys: readonly string[];
  /** When it was first dead-lettered so, when the broker says. */
  readonly time: Date | undefined;
}

/** One of zod's issues with a message that failed its schema, as warren wrote it. */
export interface DeadLetterIssue {
  /** Where in the body, as code would write it: `items[0].id` (`''` for the body itself). */
  readonly path: string;
  /** zod's issue code, such as `invalid_type`. */
  readonly code: string;
  /** zod's message (cut at 256 characters). */
  readonly message: string;
}

/** The error a handler failed with, as warren wrote it into the dead letter's headers. */
export interface DeadLetterError {
  /** The error's `name`. */
  readonly name: string | undefined;
  /** Its `code`, when it had a string one. */
  readonly code: string | undefined;
  /** Its message (cut at 1024 characters). */
  readonly message: string | undefined;
  /** For a schema mismatch, zod's issues (at most 10). */
  readonly issues: readonly DeadLetterIssue[];
}

/** A message read from a dead-letter queue by {@link deadLetters}, and why it is there. */
export interface DeadLetter {
  /** The message, as it sits in the dead-letter queue: `body`, `headers`, `json()`, `text()`. */
  readonly message: IncomingMessage<unknown>;
  /**
   * Who dead-lettered it: `warren` (a failure policy of a consumer, which wrote the
   * `x-warren-*` headers), `broker` (RabbitMQ, from its `x-death` header), or `unknown` (it
   * carries neither: published there directly).
   */
  readonly by: 'warren' | 'broker' | 'unknown';
  /**
   * Why: warren's reason (`invalid`, `exhausted`, `permanent`, `policy`) when warren
   * dead-lettered it, else the reason of RabbitMQ's latest `x-death` entry (`rejected`,
   * `expired`, `maxlen`, `delivery_limit`); undefined when it has neither.
   */
  readonly reason: DeadLetterReason | Death['reason'] | undefined;
  /** The queue it failed in: `x-warren-queue`, else the latest `x-death` entry's queue. */
  readonly queue: string | undefined;
  /** The attempt it failed on (`x-warren-attempt`), when warren dead-lettered it. */
  readonly attempt: number | undefined;
  /** The handler's error, when warren dead-lettered it. */
  readonly error: DeadLetterError | undefined;
  /** RabbitMQ's `x-death` entries, newest first (empty when the broker never dead-lettered it). */
  readonly deaths: readonly Death[];
}

/** Options for {@link deadLetters}. */
export interface DeadLettersOptions {
  /**
   * Take the messages off the queue (ack them) instead of putting them back.
   * @defaultValue false
   */
  remove?: boolean;
  /**
   * At most this many messages are read; the rest stay in the queue, unread.
   * @defaultValue 1000
   */
  limit?: number;
}

/**
 * Reads the messages of dead-letter queue `queueName`, oldest first, each with why it was
 * dead-lettered: from warren's `x-warren-*` headers when a consumer's failure policy moved it
 * (see `WarrenHeaders`), else from RabbitMQ's `x-death` header.
 *
 * Nothing is lost: on a channel of its own, it gets every message (`basic.get`, manual ack)
 * and holds them unacknowledged, so none is read twice, then puts them all back with one
 * `basic.nack` (`requeue`, `multiple`), which returns them to their places in the queue in
 * their order; {@link DeadLettersOptions.remove} acks them instead. A consumer on the queue
 * meanwhile would take messages away from the read: read a dead-letter queue nobody consumes.
 * Each message is marked redelivered afterwards, as any requeued message is.
 *
 * @param target - a connection, or a channel of the connection to use
 * @param queueName - the dead-letter queue
 * @throws TypeError, RangeError for bad arguments; a `ChannelError` `NOT_FOUND` when the queue
 * does not exist
 */
export async function deadLetters(
  target: Connection | Channel,
  queueName: string,
  options: DeadLettersOptions = {},
): Promise<DeadLetter[]> {
  const connection = connectionOf(target, 'deadLetters');
  checkQueueName(queueName, 'deadLetters');
  const limit = options.limit ?? 1000;
  if (typeof limit !== 'number') throw new TypeError('limit must be a number');
  if (!Number.isInteger(limit) || limit < 1) {
    throw new RangeError(`limit must be a whole number ≥ 1, not ${limit}`);
  }
  if (options.remove !== undefined && typeof options.remove !== 'boolean') {
    throw new TypeError('remove must be a boolean');
  }
  const channel = await connection.openChannel();
  try {
    const queue = await channel.declareQueue(queueName, { passive: true });
    const messages: IncomingMessage<unknown>[] = [];
    while (messages.length < limit) {
      const message = await queue.get();
      if (message === null) break;
      messages.push(message);
    }
    const last = messages.at(-1);
    if (options.remove === true) last?.ack({ multiple: true });
    else last?.nack({ requeue: true, multiple: true });
    return messages.map(describe);
  } finally {
    // Closing also puts back whatever a failure above left unacknowledged.
    await channel.close().catch(() => undefined);
  }
}

function describe(message: IncomingMessage<unknown>): DeadLetter {
  const { headers } = message;
  const deaths = deathsOf(headers['x-death']);
  const warrenReason = text(headers[WarrenHeaders.reason]) as DeadLetterReason | undefined;
  const errorName = text(headers[WarrenHeaders.errorName]);
  const by = warrenReason !== undefined ? 'warren' : deaths.length > 0 ? 'broker' : 'unknown';
  return {
    message,
    by,
    reason: warrenReason ?? deaths[0]?.reason,
    queue: text(headers[WarrenHeaders.queue]) ?? deaths[0]?.queue,
    attempt: whole(headers[WarrenHeaders.attempt]),
    error:
      warrenReason === undefined && errorName === undefined
        ? undefined
        : {
            name: errorName,
            code: text(headers[WarrenHeaders.errorCode]),
            message: text(headers[WarrenHeaders.errorMessage]),
            issues: issuesOf(headers[WarrenHeaders.issues]),
          },
    deaths,
  };
}

function text(value: FieldValue | undefined): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function whole(value: FieldValue | undefined): number | undefined {
  if (typeof value === 'bigint') return Number(value);
  return typeof value === 'number' ? value : undefined;
}

function isTable(value: unknown): value is FieldTable {
  return (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    Object.getPrototypeOf(value) === Object.prototype
  );
}

/** RabbitMQ's `x-death`, newest entry first as the broker keeps it; malformed entries skipped. */
function deathsOf(value: FieldValue | undefined): Death[] {
  if (!Array.isArray(value)) return [];
  const deaths: Death[] = [];
  for (const entry of value as readonly FieldValue[]) {
    if (!isTable(entry)) continue;
    const keys = entry['routing-keys'];
    const time = entry.time;
    deaths.push({
      queue: text(entry.queue) ?? '',
      reason: text(entry.reason) ?? '',
      count: whole(entry.count) ?? 1,
      exchange: text(entry.exchange) ?? '',
      routingKeys: Array.isArray(keys) ? keys.filter((key) => typeof key === 'string') : [],
      time: time instanceof Date ? time : undefined,
    });
  }
  return deaths;
}

function issuesOf(value: FieldValue | undefined): DeadLetterIssue[] {
  if (!Array.isArray(value)) return [];
  return (value as readonly FieldValue[]).filter(isTable).map((issue) => ({
    path: text(issue.path) ?? '',
    code: text(issue.code) ?? '',
    message: text(issue.message) ?? '',
  }));
}
