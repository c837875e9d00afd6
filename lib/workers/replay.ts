/**
 * Replaying a dead-letter queue: each message goes back to the queue it came
 * from (or to a target the caller names) by a confirmed publish of its copy,
 * and only then is the original acked. Built on the public API alone.
 */
import type { Channel } from '../channel.js';
import {
  AbortError,
  AmqpError,
  type AmqpErrorCode,
  brandError,
  type ChannelError,
  PublishNackedError,
} from '../errors.js';
import { Exchange } from '../exchange.js';
import type { IncomingMessage } from '../incoming-message.js';
import { Queue } from '../queue.js';
import type { ReceivedMessage } from '../received-message.js';
import { MessageReturnedError } from '../returned-message.js';
import type { Schema } from '../schema.js';
import { keptCopy, originalRoutingKey, originQueue, replayCopy } from './replay-copy.js';

/** How many messages a replay moves at once: copies published and waiting for their confirms. */
const WINDOW = 32;

/** How many failures a result describes; `failed` counts them all. */
const MAX_FAILURES = 100;

/** An exchange and a routing key to replay to, rather than each message's own queue. */
export interface ReplayExchangeTarget {
  /** The exchange, by name or handle; its handle's schema, if any, checks each body. */
  exchange: string | Exchange<unknown>;
  /**
   * The routing key to publish with.
   * @default the key the message was first published with: `x-warren-original-routing-key`,
   *   else the first of its latest `x-death` entry's `routing-keys`, else the key it
   *   reached the dead-letter queue with
   */
  routingKey?: string;
}

/**
 * Where {@link replay} sends every message, instead of the queue each came
 * from: a queue by name or handle (through the default exchange, its name as
 * the routing key; a handle's schema, if any, checks each body), or an
 * exchange and routing key. It must be on the dead-letter queue's broker and
 * virtual host.
 */
export type ReplayTarget = string | Queue<unknown> | ReplayExchangeTarget;

/** Options of {@link replay}. */
export interface ReplayOptions {
  /**
   * Send every message here rather than back where it came from; a message
   * that does not say where it came from then moves too.
   * @default each message's own queue (`x-warren-queue`, else its latest `x-death` entry's `queue`, else `x-first-death-queue`)
   */
  to?: ReplayTarget;
  /**
   * Chooses the messages to move: one for which it returns (or resolves to)
   * something falsy is `skipped` and stays in the dead-letter queue; one
   * for which it throws is `failed` (reason `'filter'`) and stays too.
   * `origin` is the queue the message came from, if it says. Do not settle
   * the message here: the replay does.
   * @default every message moves
   */
  filter?: (message: ReceivedMessage, origin: string | undefined) => boolean | Promise<boolean>;
  /**
   * A zod schema each body must match (as JSON) to move: one that does not
   * is `failed` (reason `'invalid'`) and stays. Only checked, never
   * transformed: the copy keeps its bytes.
   * @default the schema of the `to` handle, if any; else none
   */
  schema?: Schema;
  /**
   * The most messages to move. Skipped and failed ones do not count.
   * @default no limit: every message that was in the queue when the replay began
   */
  limit?: number;
  /**
   * Stops the replay: it fetches nothing more, lets the moves under way
   * finish, and rejects with a {@link ReplayInterruptedError} whose `code`
   * is `ABORTED`.
   */
  signal?: AbortSignal;
}

/**
 * Why a message could not be moved (it stays in the dead-letter queue):
 * - `'no-origin'`: it has neither `x-warren-queue` nor `x-death`, and no `to` was given;
 * - `'invalid'`: its body is not JSON or does not match the schema (`error`: the `MessageValidationError`);
 * - `'unroutable'`: the broker returned the copy, no queue took it (its queue is gone, say;
 *   `error`: the `MessageReturnedError`);
 * - `'refused'`: the broker nacked the copy (a full queue that rejects publishes, say;
 *   `error`: the `PublishNackedError`);
 * - `'filter'`: the filter threw (`error`: what it threw).
 */
export type ReplayFailureReason = 'no-origin' | 'invalid' | 'unroutable' | 'refused' | 'filter';

/** One message a replay could not move. */
export interface ReplayFailure {
  /** Why. */
  readonly reason: ReplayFailureReason;
  /** What was thrown, or `undefined` for `'no-origin'`. */
  readonly error: unknown;
  /** The message's `messageId` property, if it has one. */
  readonly messageId: string | undefined;
  /** Where it was to go; `undefined` for `'no-origin'`, and for `'filter'`, decided before. */
  readonly to:
    | {
        /** The exchange it was to be published to; `''` is the default exchange (a queue). */
        readonly exchange: string;
        /** The routing key it was to be published with. */
        readonly routingKey: string;
      }
    | undefined;
}

/** What a replay did. Each message it took from the dead-letter queue counts once. */
export interface ReplayResult {
  /** Messages moved: the copy confirmed at the target, the original acked. */
  readonly moved: number;
  /** Messages the filter left in the dead-letter queue. */
  readonly skipped: number;
  /** Messages that could not move and stay in the dead-letter queue. */
  readonly failed: number;
  /** Why, for the first 100 failures. */
  readonly failures: readonly ReplayFailure[];
}

/**
 * A replay stopped before its end: aborted, or its channel or connection
 * lost (or the dead-letter queue refused to keep a message). Nothing was
 * lost: each message is either moved (counted in `result`), or back in the
 * dead-letter queue. `code` is the code of `cause`, what stopped it
 * (`ABORTED` for an abort). `instanceof` holds across copies of warren,
 * as for its other errors.
 */
export class ReplayInterruptedError extends AmqpError {
  static {
    brandError(ReplayInterruptedError, 'ReplayInterruptedError');
  }

  /** What stopped the replay. */
  declare readonly cause: AmqpError;
  /** What the replay did before it stopped. */
  readonly result: ReplayResult;
  /**
   * Messages whose copy may have reached the target while the original went
   * back to the dead-letter queue (its ack was never sent): possible
   * duplicates, which a replay run again moves a second time.
   */
  readonly uncertain: number;

  /**
   * @param queue - the dead-letter queue's name, for the message
   * @param cause - what stopped the replay; its `code` becomes this error's
   * @param result - what was done before
   * @param uncertain - how many copies may have arrived while their originals went back
   */
  constructor(queue: string, cause: AmqpError, result: ReplayResult, uncertain: number) {
    const done = `${result.moved} moved, ${result.skipped} skipped, ${result.failed} failed`;
    super(
      cause.code as AmqpErrorCode,
      `the replay of queue '${queue}' stopped (${cause.code}: ${cause.message}) after ${done}; ` +
        `${uncertain} more may have been copied and are back in the queue too`,
      { cause },
    );
    this.result = result;
    this.uncertain = uncertain;
  }
}

/** Where one message goes, and the schema it must match there. */
interface Destination {
  readonly exchange: string;
  readonly routingKey: string;
  readonly schema: Schema | undefined;
}

/** The checked options. */
interface Plan {
  /** A fixed target: an exchange (`''` for a queue) and a routing key; undefined: each message's own queue. */
  readonly to:
    | { readonly exchange: string; readonly routingKey?: string; readonly schema?: Schema }
    | undefined;
  readonly filter: ReplayOptions['filter'];
  readonly schema: Schema | undefined;
  readonly limit: number;
  readonly signal: AbortSignal | undefined;
}

/**
 * Moves the messages of a dead-letter queue back to the queues they came
 * from, or to `options.to`. Each move is a confirmed publish of a copy, then
 * the ack of the original: a crash in between may leave a duplicate, never
 * lose a message. Skipped and failed messages stay in the dead-letter queue
 * (moved to its tail by the same confirmed copy-then-ack).
 *
 * It takes the messages that were ready in the queue when it began, and
 * stops there: not those that arrive meanwhile, nor those it puts back.
 * It works on a confirm channel of its own, on the source's connection.
 *
 * ```ts
 * const { moved, failed, failures } = await replay(channel.queue('orders.dead'), {
 *   filter: (message) => message.headers['x-warren-reason'] !== 'invalid',
 * });
 * ```
 * @param source - the dead-letter queue (a handle: {@link Channel.queue}); its schema, if any, is ignored
 * @throws TypeError / RangeError for bad options, before anything reaches the broker
 * @throws ChannelError NOT_FOUND when the queue (or the `to` queue or exchange) does not exist; nothing moved
 * @throws ReplayInterruptedError when aborted, or the channel or connection is lost, midway
 */
export async function replay(
  source: Queue<unknown>,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const plan = checkReplay(source, options);
  const { signal } = plan;
  if (signal?.aborted === true) {
    const aborted = new AbortError('the replay was aborted before it began', signal.reason);
    throw new ReplayInterruptedError(source.name, aborted, resultOf(0, 0, 0, []), 0);
  }
  let channel: Channel;
  try {
    channel = await source.channel.connection.openChannel(
      signal === undefined ? { confirm: true } : { confirm: true, signal },
    );
  } catch (error) {
    // Aborted while the connection was recovering, say: nothing was done.
    if (!(error instanceof AbortError)) throw error;
    throw new ReplayInterruptedError(source.name, error, resultOf(0, 0, 0, []), 0);
  }
  const run = new Replay(channel, source.name, plan);
  try {
    return await run.run();
  } finally {
    run.detach();
    // Whatever it fetched and did not ack (only after an interruption) goes back to the queue.
    await channel.close().catch(() => {});
  }
}

/** One replay's state: its counts, and the moves under way. */
class Replay {
  readonly #channel: Channel;
  readonly #source: string;
  readonly #plan: Plan;
  readonly #default: Exchange<unknown>;
  readonly #target: Exchange<unknown> | undefined;
  #moved = 0;
  #skipped = 0;
  #failed = 0;
  readonly #failures: ReplayFailure[] = [];
  /** Copies on their way to a target (not those kept in the dead-letter queue). */
  #movesUnderWay = 0;
  #uncertain = 0;
  /** Every copy on its way, each settling its original when confirmed; none rejects. */
  readonly #underWay = new Set<Promise<void>>();
  /** Why the replay stops early, once it must. */
  #interruption: unknown;
  readonly #onLost = (error: ChannelError): void => this.#interrupt(error, true);
  readonly #onAbort = (): void => {
    const reason = this.#plan.signal?.reason;
    this.#interrupt(new AbortError('the replay was aborted', reason), false);
  };

  constructor(channel: Channel, source: string, plan: Plan) {
    this.#channel = channel;
    this.#source = source;
    this.#plan = plan;
    this.#default = channel.exchange('');
    const to = plan.to?.exchange;
    this.#target = to === undefined || to === '' ? undefined : channel.exchange(to);
    plan.signal?.addEventListener('abort', this.#onAbort, { once: true });
  }

  async run(): Promise<ReplayResult> {
    const channel = this.#channel;
    // Passive declares: a missing queue or exchange rejects here, before anything moved.
    const declared = await channel.declareQueue(this.#source, { passive: true });
    const to = this.#plan.to;
    if (to?.exchange === '' && to.routingKey !== undefined) {
      await channel.declareQueue(to.routingKey, { passive: true });
    } else if (to !== undefined && to.exchange !== '') {
      await channel.declareExchange(to.exchange, 'direct', { passive: true });
    }
    channel.on('disconnected', this.#onLost);
    channel.on('close', this.#onLost);
    // Only what is there now: not what arrives meanwhile, nor the copies put back at the tail.
    let remaining = declared.declared?.messageCount ?? 0;
    const queue = channel.queue(this.#source);
    while (remaining > 0 && this.#interruption === undefined && !this.#limitReached()) {
      if (this.#mustWait()) {
        await Promise.race(this.#underWay);
        continue;
      }
      let message: IncomingMessage | null;
      try {
        message = await queue.get();
      } catch (error) {
        // A message the connection refuses (MESSAGE_TOO_LARGE) leaves the channel open: the
        // moves under way finish, as after an abort. A closed channel is lost.
        this.#interrupt(error, !this.#channel.isOpen);
        break;
      }
      if (message === null) break;
      remaining -= 1;
      // Stopped while it came: left unacked, it goes back when the channel closes.
      if (this.#interruption !== undefined) break;
      await this.#take(message);
    }
    // A move the broker refused becomes a copy kept in the queue: wait for those too.
    while (this.#underWay.size > 0) await Promise.all(this.#underWay);
    const interruption = this.#interruption;
    if (interruption === undefined) return this.#result();
    if (!(interruption instanceof AmqpError)) throw interruption;
    throw new ReplayInterruptedError(this.#source, interruption, this.#result(), this.#uncertain);
  }

  /** Stops listening to the channel and the signal. */
  detach(): void {
    this.#channel.off('disconnected', this.#onLost);
    this.#channel.off('close', this.#onLost);
    this.#plan.signal?.removeEventListener('abort', this.#onAbort);
  }

  #limitReached(): boolean {
    return this.#moved >= this.#plan.limit;
  }

  /** Whether to wait for a move to end before fetching another message. */
  #mustWait(): boolean {
    return this.#underWay.size >= WINDOW || this.#moved + this.#movesUnderWay >= this.#plan.limit;
  }

  /**
   * Stops the replay with `error` (the first reason wins). A lost channel is
   * closed at once, so that nothing waits for its recovery; an abort lets
   * the moves under way finish.
   */
  #interrupt(error: unknown, lost: boolean): void {
    if (this.#interruption === undefined) this.#interruption = error;
    if (lost) void this.#channel.close().catch(() => {});
  }

  /** Decides what becomes of `message`, and starts it on its way. */
  async #take(message: IncomingMessage): Promise<void> {
    const origin = originQueue(message.headers);
    const { filter } = this.#plan;
    if (filter !== undefined) {
      let keep: boolean;
      try {
        keep = Boolean(await filter(message, origin));
      } catch (error) {
        // Aborted while the filter ran: the message goes back with the channel.
        if (this.#interruption === undefined) this.#keep(message, 'filter', error, undefined);
        return;
      }
      if (this.#interruption !== undefined) return;
      if (!keep) {
        this.#keep(message, null, undefined, undefined);
        return;
      }
    }
    const to = this.#destination(message, origin);
    if (to === undefined) {
      this.#keep(message, 'no-origin', undefined, undefined);
      return;
    }
    const schema = this.#plan.schema ?? to.schema;
    if (schema !== undefined) {
      try {
        message.json(schema);
      } catch (error) {
        this.#keep(message, 'invalid', error, to);
        return;
      }
    }
    this.#start(this.#move(message, to));
  }

  /** Where `message` goes: the fixed target, or the queue it came from. */
  #destination(message: IncomingMessage, origin: string | undefined): Destination | undefined {
    const to = this.#plan.to;
    if (to === undefined) {
      return origin === undefined
        ? undefined
        : { exchange: '', routingKey: origin, schema: undefined };
    }
    return {
      exchange: to.exchange,
      routingKey: to.routingKey ?? originalRoutingKey(message),
      schema: to.schema,
    };
  }

  #start(move: Promise<void>): void {
    this.#underWay.add(move);
    void move.finally(() => this.#underWay.delete(move));
  }

  /** Publishes the copy to its destination; once confirmed, acks the original. */
  async #move(message: IncomingMessage, to: Destination): Promise<void> {
    const exchange = to.exchange === '' ? this.#default : (this.#target as Exchange<unknown>);
    this.#movesUnderWay += 1;
    let sent = false;
    try {
      await exchange.publish(replayCopy(message), to.routingKey, { mandatory: true });
      sent = true;
    } catch (error) {
      if (error instanceof MessageReturnedError) this.#keep(message, 'unroutable', error, to);
      else if (error instanceof PublishNackedError) this.#keep(message, 'refused', error, to);
      else this.#lose(error);
    } finally {
      this.#movesUnderWay -= 1;
    }
    if (sent && this.#ack(message)) this.#moved += 1;
  }

  /**
   * Keeps `message` in the dead-letter queue, at its tail, by the same
   * confirmed copy-then-ack: `skipped` when `reason` is null, else `failed`.
   */
  #keep(
    message: IncomingMessage,
    reason: ReplayFailureReason | null,
    error: unknown,
    to: Destination | undefined,
  ): void {
    this.#start(this.#publishKept(message, reason, error, to));
  }

  async #publishKept(
    message: IncomingMessage,
    reason: ReplayFailureReason | null,
    error: unknown,
    to: Destination | undefined,
  ): Promise<void> {
    try {
      await this.#default.publish(keptCopy(message), this.#source, {
        mandatory: true,
      });
    } catch (failure) {
      // The dead-letter queue refused it (gone, full) or the channel went: the replay stops.
      this.#lose(failure);
      return;
    }
    if (!this.#ack(message)) return;
    if (reason === null) {
      this.#skipped += 1;
      return;
    }
    this.#failed += 1;
    if (this.#failures.length < MAX_FAILURES) {
      this.#failures.push({
        reason,
        error,
        messageId: message.properties.messageId,
        to: to === undefined ? undefined : { exchange: to.exchange, routingKey: to.routingKey },
      });
    }
  }

  /** A copy whose fate is unknown, and whose original goes back: the replay stops. */
  #lose(error: unknown): void {
    this.#uncertain += 1;
    this.#interrupt(error, true);
  }

  /**
   * Acks the original of a confirmed copy; false when the channel is gone,
   * and with it the original, back in the queue (a duplicate now).
   */
  #ack(message: IncomingMessage): boolean {
    if (!this.#channel.isOpen) {
      this.#uncertain += 1;
      return false;
    }
    try {
      message.ack();
      return true;
    } catch (error) {
      // Settled by the filter, against the rules: the copy stands, and the replay stops.
      this.#lose(error);
      return false;
    }
  }

  #result(): ReplayResult {
    return resultOf(this.#moved, this.#skipped, this.#failed, [...this.#failures]);
  }
}

function resultOf(
  moved: number,
  skipped: number,
  failed: number,
  failures: ReplayFailure[],
): ReplayResult {
  return { moved, skipped, failed, failures };
}

/** The options of {@link replay}, checked: a TypeError or RangeError for anything wrong. */
function checkReplay(source: unknown, options: unknown): Plan {
  if (!(source instanceof Queue)) {
    throw new TypeError(
      `replay needs the dead-letter queue as a Queue (channel.queue(name)), got ${show(source)}`,
    );
  }
  checkObject(options, 'the options of replay', ['to', 'filter', 'schema', 'limit', 'signal']);
  const { to, filter, schema, limit, signal } = options as ReplayOptions;
  if (filter !== undefined && typeof filter !== 'function') {
    throw new TypeError(`replay's filter must be a function, got ${show(filter)}`);
  }
  if (schema !== undefined && !isSchema(schema)) {
    throw new TypeError(`replay's schema must be a zod schema, got ${show(schema)}`);
  }
  if (limit !== undefined) {
    if (typeof limit !== 'number') {
      throw new TypeError(`replay's limit must be a number, got ${show(limit)}`);
    }
    if (!Number.isSafeInteger(limit) || limit < 1) {
      throw new RangeError(`replay's limit must be a whole number from 1, got ${limit}`);
    }
  }
  if (signal !== undefined && !(signal instanceof AbortSignal)) {
    throw new TypeError(`replay's signal must be an AbortSignal, got ${show(signal)}`);
  }
  return {
    to: to === undefined ? undefined : checkTarget(to),
    filter,
    schema,
    limit: limit ?? Number.POSITIVE_INFINITY,
    signal,
  };
}

/** The `to` option as an exchange (`''` for a queue), a routing key and the schema of its handle. */
function checkTarget(to: unknown): NonNullable<Plan['to']> {
  if (typeof to === 'string') {
    checkName(to, "replay's to (a queue name)", false);
    return { exchange: '', routingKey: to };
  }
  if (to instanceof Queue) return withSchema({ exchange: '', routingKey: to.name }, to.schema);
  checkObject(to, "replay's to", ['exchange', 'routingKey']);
  const { exchange, routingKey } = to as ReplayExchangeTarget;
  if (routingKey !== undefined) checkName(routingKey, "replay's to.routingKey", true);
  if (exchange instanceof Exchange) {
    return withSchema(withKey({ exchange: exchange.name }, routingKey), exchange.schema);
  }
  if (typeof exchange !== 'string') {
    throw new TypeError(
      `replay's to must be a queue name, a Queue, or { exchange, routingKey? }; to.exchange is ${show(exchange)}`,
    );
  }
  checkName(exchange, "replay's to.exchange", true);
  // The default exchange routes by queue name: without a routing key it would guess one.
  if (exchange === '' && routingKey === undefined) {
    throw new RangeError(
      "replay's to: the default exchange ('') needs a routingKey, the queue's name (or give to: 'queue')",
    );
  }
  return withKey({ exchange }, routingKey);
}

function withKey(
  target: { exchange: string },
  routingKey: string | undefined,
): { exchange: string; routingKey?: string } {
  return routingKey === undefined ? target : { ...target, routingKey };
}

function withSchema<T extends object>(
  target: T,
  schema: Schema | undefined,
): T & { schema?: Schema } {
  return schema === undefined ? target : { ...target, schema };
}

/** A name AMQP can carry: a string of at most 255 bytes of UTF-8, well formed (and not empty unless allowed). */
function checkName(value: unknown, what: string, emptyAllowed: boolean): void {
  if (typeof value !== 'string')
    throw new TypeError(`${what} must be a string, got ${show(value)}`);
  if (!value.isWellFormed()) throw new RangeError(`${what} has a lone UTF-16 surrogate`);
  if (Buffer.byteLength(value, 'utf8') > 255) {
    throw new RangeError(
      `${what} is ${Buffer.byteLength(value, 'utf8')} bytes of UTF-8; AMQP allows 255`,
    );
  }
  if (!emptyAllowed && value === '') throw new RangeError(`${what} must not be empty`);
}

/** An options object: a plain object with only `known` keys (a misplaced signal is refused). */
function checkObject(value: unknown, what: string, known: readonly string[]): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new TypeError(`${what} must be an object, got ${show(value)}`);
  }
  if (value instanceof AbortSignal) {
    throw new TypeError(`${what} must be an object; pass the signal inside it: { signal }`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`${what} has no option '${key}' (it takes ${known.join(', ')})`);
    }
  }
}

/** Whether `value` looks like a zod schema: it can `safeParse`. */
function isSchema(value: unknown): value is Schema {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as { safeParse?: unknown }).safeParse === 'function'
  );
}

/** A short description of a caller's value for an error message. */
function show(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return `the string ${JSON.stringify(value.slice(0, 40))}`;
  if (typeof value === 'object') return `an object (${value.constructor?.name ?? 'no prototype'})`;
  if (typeof value === 'number' || typeof value === 'boolean') return `${typeof value} ${value}`;
  return typeof value;
}
