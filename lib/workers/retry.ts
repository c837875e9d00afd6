/**
 * Delayed retries built on RabbitMQ: a failed message moves (by a confirmed
 * copy, then the ack) to a wait queue whose `x-message-ttl` is the delay and
 * whose dead-letter route leads back to the original queue. One wait queue
 * per distinct delay, since RabbitMQ expires messages only at the head of a
 * queue: a long wait never holds up a short one. Nothing waits in the
 * worker, so a worker that restarts forgets nothing.
 */
import type { FailureHandler } from '../consumer.js';
import type { IncomingMessage } from '../incoming-message.js';
import type { Queue } from '../queue.js';
import { MessageValidationError } from '../schema.js';
import {
  checkDestination,
  checkDestinationExists,
  checkKeys,
  type DeadLetterDestination,
  ownDeadLetterExchange,
  sendToDeadLetters,
  withChannel,
} from './dead-letter.js';
import { forward } from './forward.js';
import { reportFailure } from './report.js';
import { failureHeaders } from './why.js';

/**
 * The longest `x-message-ttl` RabbitMQ 3.10 accepts: ten years of 365 days,
 * in ms (315,360,000,000); a wait queue declared with more is refused (406
 * `value_too_large`).
 */
export const MAX_DELAY_MS = 315_360_000_000;

/** How many wait queues one policy may need on one queue: the set stays bounded. */
export const MAX_WAIT_QUEUES = 64;

/** How many wait queues a jittered delay spreads over. */
const JITTER_STEPS = 4;

/** Options of {@link retry}: `delays`, or the exponential form (`initial`, `multiplier`, `max`, `attempts`). */
export interface RetryOptions {
  /**
   * The wait before each retry, in ms: `[1_000, 5_000, 30_000]` retries
   * three times, so a message is tried at most four times. Whole numbers
   * from 0 to {@link MAX_DELAY_MS}; not with the exponential options.
   */
  delays?: readonly number[];
  /** Exponential form: the first wait, in ms. @default 1000 */
  initial?: number;
  /** Exponential form: each wait is the previous one times this (at least 1). @default 2 */
  multiplier?: number;
  /** Exponential form: no wait is longer, in ms. @default 60000 */
  max?: number;
  /**
   * Exponential form: how many times a message is tried in all, the first
   * delivery included (so `attempts - 1` retries); from 1.
   * @default 5
   */
  attempts?: number;
  /**
   * Spreads retries out, so that messages that failed together do not all
   * come back together: each wait is picked at random among 4 evenly spaced
   * values from `delay × (1 − jitter)` to `delay`, each its own wait queue
   * (the broker cannot jitter a queue's TTL). From 0 to 1.
   * @default 0
   */
  jitter?: number;
  /**
   * Says whether a failure is worth retrying; `false` marks it permanent:
   * the message is dead-lettered at once (`x-warren-reason: permanent`).
   * A predicate that throws counts as `true`. A `MessageValidationError` is
   * never retried, whatever it says.
   * @default every failure is retried
   */
  retryIf?: (error: unknown, message: IncomingMessage<unknown>) => boolean;
  /**
   * Where a message goes when its retries are used up, its failure is
   * permanent, or it is invalid: see {@link DeadLetterDestination}.
   * @default 'queue' (the queue's own dead-letter exchange)
   */
  deadLetter?: DeadLetterDestination;
}

const RETRY_KEYS = [
  'delays',
  'initial',
  'multiplier',
  'max',
  'attempts',
  'jitter',
  'retryIf',
  'deadLetter',
] as const;
const EXPONENTIAL_KEYS = ['initial', 'multiplier', 'max', 'attempts'];

/**
 * A failure policy that retries a failed message later, through wait
 * queues on the broker, then dead-letters it with the headers that say why.
 * Give it as `onFailure` to `queue.consume()` or `queue.messages()`.
 *
 * ```ts
 * await queue.consume(handle, {
 *   onFailure: retry({ delays: [1_000, 5_000, 30_000], deadLetter: { exchange: 'orders.dead' } }),
 * });
 * ```
 *
 * On `consume()` it declares one wait queue per distinct delay, named
 * `<queue>.retry.<delay>ms` (durable like the queue; a quorum queue's are
 * quorum queues with at-least-once dead-lettering), and recovery declares
 * them again. See docs/retries.md for what it costs and what it cannot
 * promise.
 * @throws TypeError|RangeError for bad options, before anything is sent
 */
export function retry<T = unknown>(options: RetryOptions): RetryPolicy<T> {
  checkKeys(options, 'retry', RETRY_KEYS);
  const exponential = EXPONENTIAL_KEYS.filter((key) => key in options);
  let delays: number[];
  if (options.delays !== undefined) {
    if (exponential.length > 0) {
      throw new TypeError(
        `retry takes delays or the exponential form, not both (got delays and ${exponential.join(', ')})`,
      );
    }
    delays = checkDelays(options.delays);
  } else {
    delays = exponentialDelays(options);
  }
  const jitter = options.jitter ?? 0;
  checkFraction(jitter, 'retry: jitter');
  if (options.retryIf !== undefined && typeof options.retryIf !== 'function') {
    throw new TypeError('retry: retryIf must be a function (error, message) => boolean');
  }
  const destination = options.deadLetter ?? 'queue';
  checkDestination(destination, 'retry: deadLetter');
  const policy = new RetryPolicy<T>(delays, jitter, options.retryIf, destination);
  if (policy.waitDelays.length > MAX_WAIT_QUEUES) {
    throw new RangeError(
      `retry would need ${policy.waitDelays.length} wait queues per queue; at most ${MAX_WAIT_QUEUES}: use fewer distinct delays or less jitter`,
    );
  }
  return policy;
}

/** The policy {@link retry} makes. */
export class RetryPolicy<T = unknown> implements FailureHandler<T> {
  /** The wait before each retry, in ms: retry `n` (from 1) waits `delays[n - 1]` (before jitter). */
  readonly delays: readonly number[];
  /** How much the waits are spread, from 0 to 1. */
  readonly jitter: number;
  /** Where messages go when they are not retried. */
  readonly destination: DeadLetterDestination;
  /** Every distinct wait, jitter included, in ms, shortest first: one wait queue each. */
  readonly waitDelays: readonly number[];
  readonly #retryIf: RetryOptions['retryIf'];
  /** The waits each retry picks from (one value without jitter). */
  readonly #choices: readonly (readonly number[])[];

  /** @internal Use {@link retry}. */
  constructor(
    delays: readonly number[],
    jitter: number,
    retryIf: RetryOptions['retryIf'],
    destination: DeadLetterDestination,
  ) {
    this.delays = Object.freeze([...delays]);
    this.jitter = jitter;
    this.#retryIf = retryIf;
    this.destination = destination;
    this.#choices = delays.map((delay) => jittered(delay, jitter));
    this.waitDelays = Object.freeze([...new Set(this.#choices.flat())].sort((a, b) => a - b));
  }

  /** How many times a message is tried in all: the first delivery and each retry. */
  get attempts(): number {
    return this.delays.length + 1;
  }

  /** The name of the wait queue of `queue` for a wait of `delay` ms: `<queue>.retry.<delay>ms`. */
  static waitQueueName(queue: string, delay: number): string {
    return `${queue}.retry.${delay}ms`;
  }

  /** The names of the wait queues this policy declares for `queue`, shortest wait first. */
  waitQueues(queue: Queue<unknown> | string): string[] {
    const name = typeof queue === 'string' ? queue : queue.name;
    return this.waitDelays.map((delay) => RetryPolicy.waitQueueName(name, delay));
  }

  /**
   * Declares the wait queues (on a channel of its own, so that a refusal
   * closes only that), and checks that a named dead-letter exchange exists.
   * @throws RangeError for a queue it cannot serve (server-named, a stream, a name too long)
   */
  async prepare(queue: Queue<T>, options: { signal?: AbortSignal }): Promise<void> {
    checkQueue(queue, this.waitQueues(queue));
    const connection = queue.channel.connection;
    await this.#declare(queue, this.waitDelays, options.signal);
    await checkDestinationExists(connection, this.destination, options.signal);
  }

  /**
   * Retries `message` later (a confirmed copy to the wait queue, with
   * `x-warren-attempt` one higher, then the ack), or dead-letters it when
   * it is invalid, its failure permanent, or its retries used up.
   */
  async handle(error: unknown, message: IncomingMessage<T>, queue: Queue<T>): Promise<void> {
    const attempt = message.attempt;
    const reason =
      error instanceof MessageValidationError
        ? 'invalid'
        : !this.#worthRetrying(error, message)
          ? 'permanent'
          : attempt > this.delays.length
            ? 'exhausted'
            : undefined;
    if (reason !== undefined) {
      await sendToDeadLetters(error, message, queue as Queue<unknown>, reason, this.destination);
      return;
    }
    const choices = this.#choices[attempt - 1] as readonly number[];
    const delay = choices[Math.floor(Math.random() * choices.length)] as number;
    reportFailure(message as IncomingMessage<unknown>, queue.name, error, { delay });
    const headers = failureHeaders(error, message, {
      queue: queue.name,
      attempt: attempt + 1,
      now: new Date(),
    });
    await forward(message, {
      connection: queue.channel.connection,
      source: queue.channel,
      exchange: '',
      routingKey: RetryPolicy.waitQueueName(queue.name, delay),
      headers,
      // An operator deleted the wait queue: declare it again, once.
      redeclare: () => this.#declare(queue, [delay], undefined),
      otherwise:
        ownDeadLetterExchange(queue as Queue<unknown>) === undefined ? 'requeue' : 'dead-letter',
    });
  }

  #worthRetrying(error: unknown, message: IncomingMessage<T>): boolean {
    const retryIf = this.#retryIf;
    if (retryIf === undefined) return true;
    try {
      return retryIf(error, message as IncomingMessage<unknown>) !== false;
    } catch {
      return true;
    }
  }

  async #declare(
    queue: Queue<T>,
    delays: readonly number[],
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const quorum = queue.arguments?.['x-queue-type'] === 'quorum';
    const exclusive = queue.exclusive === true;
    const durable = quorum || (queue.durable ?? !exclusive);
    await withChannel(queue.channel.connection, signal, async (channel) => {
      for (const delay of delays) {
        await channel.declareQueue(RetryPolicy.waitQueueName(queue.name, delay), {
          durable,
          exclusive,
          arguments: {
            'x-message-ttl': delay,
            'x-dead-letter-exchange': '',
            'x-dead-letter-routing-key': queue.name,
            ...(quorum
              ? {
                  'x-queue-type': 'quorum',
                  // Keeps an expired message until the original queue has confirmed it: the way
                  // back is at-least-once (RabbitMQ 3.10+; it needs reject-publish).
                  'x-dead-letter-strategy': 'at-least-once',
                  'x-overflow': 'reject-publish',
                }
              : {}),
          },
          ...(signal === undefined ? {} : { signal }),
        });
      }
    });
  }
}

/** The waits a retry of `delay` picks from: `JITTER_STEPS` evenly spaced from `delay × (1 − jitter)`. */
function jittered(delay: number, jitter: number): number[] {
  if (jitter === 0 || delay === 0) return [delay];
  const values = new Set<number>();
  for (let step = 0; step < JITTER_STEPS; step++) {
    values.add(Math.round(delay * (1 - (jitter * step) / (JITTER_STEPS - 1))));
  }
  return [...values];
}

function checkDelays(delays: unknown): number[] {
  if (!Array.isArray(delays)) throw new TypeError('retry: delays must be an array of milliseconds');
  if (delays.length === 0) {
    throw new RangeError('retry: delays is empty; give at least one wait, in ms');
  }
  for (const [index, delay] of delays.entries()) checkDelay(delay, `retry: delays[${index}]`);
  return [...(delays as number[])];
}

/** A wait: a whole number of ms from 0 to RabbitMQ's TTL limit. */
function checkDelay(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number of milliseconds`);
  if (!Number.isInteger(value) || value < 0 || value > MAX_DELAY_MS) {
    throw new RangeError(
      `${what} must be a whole number of milliseconds from 0 to ${MAX_DELAY_MS} (RabbitMQ's longest x-message-ttl), got ${value}`,
    );
  }
}

function checkFraction(value: unknown, what: string): asserts value is number {
  if (typeof value !== 'number') throw new TypeError(`${what} must be a number from 0 to 1`);
  if (!(value >= 0 && value <= 1)) {
    throw new RangeError(`${what} must be a number from 0 to 1, got ${value}`);
  }
}

function exponentialDelays(options: RetryOptions): number[] {
  const initial = options.initial ?? 1_000;
  const multiplier = options.multiplier ?? 2;
  const max = options.max ?? Math.max(60_000, initial);
  const attempts = options.attempts ?? 5;
  checkDelay(initial, 'retry: initial');
  checkDelay(max, 'retry: max');
  if (max < initial) throw new RangeError(`retry: max (${max}) is below initial (${initial})`);
  if (typeof multiplier !== 'number') throw new TypeError('retry: multiplier must be a number');
  if (!(Number.isFinite(multiplier) && multiplier >= 1)) {
    throw new RangeError(`retry: multiplier must be a finite number from 1, got ${multiplier}`);
  }
  if (typeof attempts !== 'number') throw new TypeError('retry: attempts must be a number');
  if (!Number.isInteger(attempts) || attempts < 1 || attempts > 1_000) {
    throw new RangeError(
      `retry: attempts must be a whole number from 1 to 1000 (the first delivery included), got ${attempts}`,
    );
  }
  const delays: number[] = [];
  let delay = initial;
  for (let retry = 1; retry < attempts; retry++) {
    delays.push(Math.min(max, Math.round(delay)));
    delay *= multiplier;
  }
  return delays;
}

/** A queue the policy can serve, and wait queue names the broker accepts. */
function checkQueue(queue: Queue<unknown>, waitQueues: readonly string[]): void {
  if (queue.name === '' || queue.name.startsWith('amq.')) {
    throw new RangeError(
      `retry cannot serve queue '${queue.name}': a server-named queue gets a new name when the connection recovers, which would strand the messages waiting to come back to it (and RabbitMQ reserves names starting with 'amq.', so its wait queues could not be declared); declare the queue with a name`,
    );
  }
  if (queue.arguments?.['x-queue-type'] === 'stream') {
    throw new RangeError(
      `retry cannot serve stream '${queue.name}': a stream keeps its messages, so nothing is taken from it to wait`,
    );
  }
  for (const name of waitQueues) {
    if (Buffer.byteLength(name, 'utf8') > 255) {
      throw new RangeError(
        `retry cannot serve queue '${queue.name}': its wait queue name '${name}' is longer than AMQP's 255 bytes`,
      );
    }
  }
}
