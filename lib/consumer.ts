import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'eventemitter3';
import type { Channel, SignalOptions } from './channel.js';
import { isTraced, Processing, processChannel, traceAsync } from './diagnostics.js';
import { waitWithin } from './engine/abort.js';
import { DELIVERY_OVERHEAD_BYTES, type DeliveryBacklog } from './engine/backlog.js';
import type { ChannelEngine } from './engine/channel.js';
import { ChannelError, TimeoutError } from './engine/errors.js';
import type { IncomingMessage } from './incoming-message.js';
import { type ConsumerFields, deliveryFields, type Log, loggedError, loggedIssues } from './log.js';
import type { Command } from './protocol/assembler.js';
import { describe } from './protocol/describe.js';
import { AmqpError } from './protocol/errors.js';
import type { FieldTable } from './protocol/field-types.js';
import type { MethodArgs } from './protocol/spec.js';
import type { Queue } from './queue.js';
import { MessageValidationError } from './schema.js';
import { type MessageTooLargeError, warnTooLarge } from './too-large.js';
import { callSafely, checkOptions, checkTimeout } from './validate.js';

/** How long a stop waits for the broker's cancel-ok before it goes on without. */
const CANCEL_REPLY_TIMEOUT_MS = 5_000;

/** Called with each message a {@link Consumer} receives. May be async. */
export type ConsumeCallback<T = unknown> = {
  // Written as a method so that its parameter is bivariant: a Consumer<Order> can be passed
  // where a Consumer (of unknown) is expected, as an IncomingMessage<Order> can.
  /** Handles one message; settles it, or leaves that to `settle` and `onFailure`. */
  handle(message: IncomingMessage<T>): void | Promise<void>;
}['handle'];

/**
 * A failure policy that settles failed messages itself, such as the
 * workers' `retry()`: it may publish a copy elsewhere (a wait queue, a
 * dead-letter exchange) before it acks the original. Given as `onFailure`
 * to {@link Queue.consume} or {@link Queue.messages}.
 *
 * The consumer keeps the message's concurrency slot until `handle`
 * settles, so `prefetch` still bounds what is in memory. When `handle`
 * throws (or rejects), or returns with the message unsettled, the consumer
 * settles it as `'retry-once'` would (a message that failed its schema:
 * rejected without requeue) and reports it with a process warning
 * (`WARREN_FAILURE_HANDLER_FAILED`): nothing hangs, and nothing loops hot.
 */
export interface FailureHandler<T = unknown> {
  /**
   * Called by `consume()` and `messages()` before `basic.consume`, to
   * declare what the policy needs (wait queues, …); a rejection fails the
   * `consume()` (or the loop's first `next()`). Declarations made through
   * the channel are declared again by connection recovery.
   */
  prepare?(queue: Queue<T>, options: SignalOptions): void | Promise<void>;
  /**
   * Settles `message`, whose handling failed with `error`: a handler threw,
   * the loop called {@link IncomingMessage.fail}, or (with a
   * `MessageValidationError`) the body did not match the queue's schema.
   * May be async: the consumer waits for it.
   */
  handle(error: unknown, message: IncomingMessage<T>, queue: Queue<T>): void | Promise<void>;
}

/**
 * What happens to a message whose handler threw (or rejected) without
 * settling it:
 * - `'retry-once'`: requeue it the first time; reject it without requeue
 *   (so the queue's dead-letter exchange gets it) when it fails again as a
 *   redelivery. A poison message cannot loop forever.
 * - `'requeue'`: always requeue it (it may come back at once, forever).
 * - `'dead-letter'`: never requeue it.
 * - a function that chooses, given the error and the message.
 * - a {@link FailureHandler}, which settles the message itself (see the
 *   workers' `retry()`).
 *
 * A `MessageValidationError` (the body did not match the queue's schema,
 * or a handler threw one, e.g. from `message.json(schema)`) is never
 * retried: the named policies and a function reject the message without
 * requeue; a `FailureHandler` receives it, to dead-letter it with the
 * reason. Either way the consumer's `invalid` event reports it, not `error`
 * (unless the handler had settled the message before it threw).
 */
export type FailurePolicy<T = unknown> =
  | 'retry-once'
  | 'requeue'
  | 'dead-letter'
  | {
      // A method, for the same bivariance as ConsumeCallback.
      /** Says what becomes of `message`, whose handler failed with `error`. */
      choose(error: unknown, message: IncomingMessage<T>): 'requeue' | 'dead-letter';
    }['choose']
  | FailureHandler<T>;

/** @internal Whether `policy` is a {@link FailureHandler} (rather than a name or a function). */
export function isFailureHandler<T>(
  policy: FailurePolicy<T> | undefined,
): policy is FailureHandler<T> {
  return typeof policy === 'object' && policy !== null;
}

/** Options of {@link Queue.consume}. */
export interface ConsumeOptions<T = unknown> extends SignalOptions {
  /**
   * The broker considers each message settled as soon as it is sent: faster,
   * but a message in flight is lost if the consumer dies.
   * @default false
   */
  noAck?: boolean;
  /** No other consumer may consume from the queue meanwhile. @default false */
  exclusive?: boolean;
  /** Do not receive messages published on this connection (RabbitMQ ignores it). @default false */
  noLocal?: boolean;
  /**
   * The consumer's tag, unique on the channel: one in use by another consumer
   * of the channel (running or still starting) is a RangeError, before
   * anything is sent.
   * @default a random `warren-…` tag
   */
  consumerTag?: string;
  /** Extra arguments, such as `x-priority`. @default {} */
  arguments?: FieldTable;
  /** Aborts starting the consumer. */
  signal?: AbortSignal;
  /**
   * How many unsettled messages the broker may send this consumer
   * (`basic.qos` with `global: false`, sent just before `basic.consume`; it
   * also applies to later consumers on the channel). Unset: the channel's
   * current setting. Keep it at least `concurrency`. Not with `noAck: true`
   * (a `TypeError`): RabbitMQ ignores prefetch for such consumers; the
   * connection's `maxBufferedDeliveryBytes` bounds what waits for them.
   */
  prefetch?: number;
  /**
   * How many handlers run at once. With 1, messages are handled one after
   * another, in order; an async handler's next message waits for it.
   * @default 1
   */
  concurrency?: number;
  /**
   * `'manual'`: the handler settles each message itself (`ack`, `nack`,
   * `reject`). `'auto'`: warren acks the message when the handler returns or
   * resolves, unless the handler settled it.
   * @default 'manual'
   */
  settle?: 'manual' | 'auto';
  /**
   * What to do with a message whose handler threw and left it unsettled (in
   * either `settle` mode). Not for a `MessageValidationError`: such a message
   * is invalid, not failed, and is rejected without requeue (the `invalid` event).
   * @default 'retry-once'
   */
  onFailure?: FailurePolicy<T>;
}

/** Options of {@link Consumer.cancel}. */
export interface CancelOptions extends SignalOptions {
  /**
   * How long to wait for running handlers; after it, `cancel` rejects with a
   * `TimeoutError` (the consumer is cancelled all the same). Unset: as long
   * as they take.
   * @default undefined (no limit)
   */
  timeout?: number | undefined;
  /** Stops waiting (with an `AbortError`); the consumer is cancelled all the same. */
  signal?: AbortSignal;
}

/** Events of a {@link Consumer}. */
export interface ConsumerEvents<T = unknown> {
  /**
   * The consumer stopped without {@link Consumer.cancel}: the broker
   * cancelled it (`code` `CONSUMER_CANCELLED`, e.g. its queue was deleted) or
   * its channel closed (a `ChannelError`).
   */
  cancel: [reason: AmqpError];
  /** The handler threw or rejected for `message`. The consumer goes on. */
  error: [error: unknown, message: IncomingMessage<T>];
  /**
   * A message did not match the queue's schema (or was not JSON), or its
   * handler threw a `MessageValidationError`. It is never retried: it was
   * rejected without requeue (dead-lettered when the queue has a
   * dead-letter exchange), or handed to a {@link FailureHandler}.
   */
  invalid: [error: MessageValidationError, message: IncomingMessage<unknown>];
  /**
   * A message larger than the connection's `maxBodySize` came: its body was
   * skipped, never buffered, and it never reached the handler. It was
   * rejected without requeue (dead-lettered when the queue has a
   * dead-letter exchange), or dropped with `noAck`. The consumer goes on.
   * Without a listener, a process warning (`WARREN_MESSAGE_TOO_LARGE`)
   * reports it.
   */
  refused: [error: MessageTooLargeError];
}

/** @internal What `serve()` and `messages()` add to a consumer. */
export interface ConsumerHooks {
  /** Called for an invalid message instead of the `invalid` event's default warning. */
  invalid?(error: MessageValidationError, message: IncomingMessage<unknown>): void;
  /** The application is stopping the consumer: `cancel()`, or its channel or connection closing. */
  stopping?(): void;
  /** The consumer serves RPC requests (`serve()`), as its process diagnostics say. */
  serving?: boolean;
  /** Its handling belongs to another trace (an RPC client's replies, in `warren:rpc`): no `warren:process`. */
  untraced?: boolean;
}

/** Told when a handled message is settled: `failed` when its handler failed with `error`. */
type Processed = (error: unknown, failed: boolean) => void;

/**
 * A subscription to a queue, made by {@link Queue.consume}. It hands each
 * message to its handler, at most `concurrency` at a time, and never lets
 * the handler's errors escape: they become `error` events.
 */
export class Consumer<T = unknown> extends EventEmitter<ConsumerEvents<T>> {
  /** The queue consumed from. */
  readonly queue: Queue<T>;
  /** The consumer tag, unique on its channel. */
  readonly tag: string;
  /** The function each message is handed to. */
  readonly callback: ConsumeCallback<T>;
  /** How many handlers may run at once. */
  readonly concurrency: number;
  readonly #noAck: boolean;
  readonly #options: ConsumeOptions<T>;
  /** The per-consumer QoS in force when it started: recovery sets it again before resuming it. */
  readonly #qos: MethodArgs<'basic.qos'> | undefined;
  readonly #autoSettle: boolean;
  readonly #onFailure: FailurePolicy<T>;
  readonly #hooks: ConsumerHooks;
  /**
   * Messages a FailureHandler is settling: neither `settle: 'auto'` nor a second failure may
   * touch them meanwhile (a handler that called `message.fail()` without awaiting it).
   */
  readonly #withPolicy = new WeakSet<IncomingMessage<T>>();
  #state: 'starting' | 'running' | 'stopping' | 'cancelled' = 'starting';
  /**
   * Whether the caller of `consume()` has had its turn to add listeners: until then, deliveries
   * wait and reports (`invalid`, `cancel`, `error`) are held back.
   */
  #handedOver = false;
  /** Messages received and waiting for a free handler. */
  readonly #waiting: IncomingMessage<T>[] = [];
  /** What `#waiting` weighs in its connection's backlog (bodies plus the overhead of each). */
  #waitingBytes = 0;
  /**
   * The backlog of the connection the consumer runs on, where `#waiting` is counted: over its
   * limit, the connection stops reading. Null until `begin()`.
   */
  #backlog: DeliveryBacklog | null = null;
  #running = 0;
  #pumping = false;
  /** Reports held back until the caller of `consume()` has had its turn (see `#handedOver`). */
  readonly #deferred: (() => void)[] = [];
  #idleWaiters: (() => void)[] = [];
  /** The `basic.cancel` under way, once {@link Consumer.cancel} was called. */
  #cancelling: Promise<void> | undefined;

  /** @internal Use {@link Queue.consume}. */
  static create<T>(
    queue: Queue<T>,
    callback: ConsumeCallback<T>,
    options: ConsumeOptions<T>,
    hooks: ConsumerHooks,
  ): Consumer<T> {
    return new Consumer(queue, callback, options, hooks);
  }

  private constructor(
    queue: Queue<T>,
    callback: ConsumeCallback<T>,
    options: ConsumeOptions<T>,
    hooks: ConsumerHooks,
  ) {
    super();
    this.queue = queue;
    this.callback = callback;
    this.tag = options.consumerTag ?? `warren-${randomUUID()}`;
    this.concurrency = options.concurrency ?? 1;
    this.#noAck = options.noAck ?? false;
    this.#options = options;
    this.#qos = queue.channel.consumerQos;
    this.#autoSettle = options.settle === 'auto';
    this.#onFailure = options.onFailure ?? 'retry-once';
    this.#hooks = hooks;
  }

  /** Where it logs: its connection's log. */
  get #log(): Log {
    return this.queue.channel.connection.log;
  }

  /** What its log lines say it is. */
  get #names(): ConsumerFields {
    return { channel: this.channel.id, queue: this.queue.name, consumerTag: this.tag };
  }

  /** Whether the consumer has stopped, by {@link Consumer.cancel}, the broker, or its channel closing. */
  get cancelled(): boolean {
    return this.#state === 'stopping' || this.#state === 'cancelled';
  }

  /** The channel the consumer runs on. */
  get channel(): Channel {
    return this.queue.channel;
  }

  /** How many handlers are running now. */
  get active(): number {
    return this.#running;
  }

  /**
   * Stops the consumer gracefully: no new deliveries (`basic.cancel`);
   * messages received but not yet handed to the handler go back to the
   * queue; resolves when the running handlers have finished. Idempotent.
   * @throws TimeoutError when handlers still run after `options.timeout` (the consumer is cancelled all the same)
   * @throws AbortError when `options.signal` aborts the wait (likewise)
   */
  cancel(options: CancelOptions = {}): Promise<void> {
    try {
      checkOptions(options, 'cancel');
      checkTimeout(options.timeout, 'timeout');
    } catch (error) {
      return Promise.reject(error);
    }
    return waitWithin(this.#stop(), options, `cancelling consumer ${this.tag}`);
  }

  /** @internal Sends `basic.consume` on `engine`: to start, and again after a recovery. */
  async begin(engine: ChannelEngine, signal?: AbortSignal): Promise<void> {
    await engine.consume(this.#consumeArgs(engine), this, signal);
  }

  /** @internal Starts the consumer again on the recovered channel's `engine`, with its QoS. */
  async resume(engine: ChannelEngine): Promise<void> {
    if (this.#qos !== undefined) await engine.call('basic.qos', this.#qos);
    await this.begin(engine);
  }

  /**
   * @internal Starts the consumer again on `engine` without waiting for the
   * broker's answer (`nowait`): the caller sends its {@link Consumer.qos}
   * first, and learns from its next request's reply that the broker took it.
   */
  resumeAtOnce(engine: ChannelEngine): void {
    engine.consumeAtOnce(this.#consumeArgs(engine), this);
  }

  /** @internal The per-consumer QoS it was started with, which recovery sends before it. */
  get qos(): MethodArgs<'basic.qos'> | undefined {
    return this.#qos;
  }

  /** The `basic.consume` arguments; moves the waiting bytes' count to `engine`'s backlog. */
  #consumeArgs(engine: ChannelEngine): MethodArgs<'basic.consume'> {
    const options = this.#options;
    // Before basic.consume: deliveries may come with consume-ok. After a recovery, the noAck
    // messages still waiting move to the new connection's count.
    const backlog = engine.backlog;
    if (backlog !== this.#backlog) {
      this.#backlog?.release(this.#waitingBytes);
      backlog.hold(this.#waitingBytes);
      this.#backlog = backlog;
    }
    return {
      queue: this.queue.name,
      consumerTag: this.tag,
      noLocal: options.noLocal ?? false,
      noAck: this.#noAck,
      exclusive: options.exclusive ?? false,
      nowait: false,
      arguments: options.arguments ?? {},
    };
  }

  /** Cancels the consumer, for `await using consumer = …`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.cancel();
  }

  async #stop(): Promise<void> {
    if (this.#state === 'starting' || this.#state === 'running') {
      this.#state = 'stopping';
      this.channel.forget(this as Consumer);
      this.#log.write('warren.consumer.cancelled', this.#names);
      this.#requeueWaiting();
      // A channel that closes meanwhile cancels the consumer all the same; a broker that does not
      // answer (a blocked connection reads nothing) must not hold the stop forever: deliveries
      // that still come are requeued.
      this.#cancelling = this.channel.isOpen
        ? waitWithin(
            this.channel.engine.cancel(this.tag),
            { timeout: CANCEL_REPLY_TIMEOUT_MS },
            'basic.cancel',
          ).catch((error: unknown) => {
            if (this.channel.isOpen && !(error instanceof TimeoutError)) throw error;
          })
        : Promise.resolve();
      const stopping = this.#hooks.stopping;
      if (stopping !== undefined) callSafely('the stopping hook', stopping, this.#log);
    }
    await this.#cancelling;
    if (this.#state === 'stopping') this.#state = 'cancelled';
    await this.whenIdle();
  }

  /** @internal Resolves when no handler runs and none waits (at once when so). */
  whenIdle(): Promise<void> {
    if (this.#isIdle) return Promise.resolve();
    return new Promise<void>((resolve) => this.#idleWaiters.push(resolve));
  }

  get #isIdle(): boolean {
    return this.#running === 0 && this.#waiting.length === 0;
  }

  /**
   * @internal The broker started the consumer: its channel tracks it (for
   * recovery and close) unless it has already ended. Deliveries that arrive
   * with consume-ok, and reports about them, wait until the caller of
   * `consume()` has had its turn to add listeners; then they flow.
   */
  start(): void {
    if (this.#state === 'starting') {
      this.channel.track(this as Consumer);
      this.#log.write('warren.consumer.started', this.#names);
    }
    setImmediate(() => {
      if (this.#state === 'starting') this.#state = 'running';
      this.#handedOver = true;
      for (const report of this.#deferred.splice(0)) report();
      this.#pump();
    });
  }

  /** @internal */
  deliver(command: Command): void {
    const args = command.method.args as MethodArgs<'basic.deliver'>;
    const info = {
      deliveryTag: args.deliveryTag,
      redelivered: args.redelivered,
      exchange: args.exchange,
      routingKey: args.routingKey,
      consumerTag: args.consumerTag,
      noAck: this.#noAck,
    };
    if (command.oversized !== undefined) {
      const error = this.channel.refuse(command, info, 'basic.deliver');
      this.#whenHandedOver(() => this.#refused(error));
      return;
    }
    const message = this.channel.incoming<T>(command, info, this.queue);
    if ((this.#state === 'stopping' || this.#state === 'cancelled') && !this.#noAck) {
      // Cancelled, and the broker's cancel-ok has not arrived yet (or never came, and the stop
      // went on without it): give it back unseen.
      message.reject({ requeue: true });
      return;
    }
    message.route(this);
    this.#waiting.push(message);
    const bytes = message.body.length + DELIVERY_OVERHEAD_BYTES;
    this.#waitingBytes += bytes;
    (this.#backlog as DeliveryBacklog).hold(bytes);
    this.#pump();
  }

  /** @internal The broker cancelled the consumer (`error` undefined) or its channel closed. */
  ended(error: AmqpError | undefined): void {
    if (this.#state === 'cancelled') return;
    if (
      error instanceof ChannelError &&
      (this.channel.isRecovering || this.channel.survives(error))
    ) {
      // The connection recovers, and the consumer with it. What waits was requeued by the broker;
      // noAck messages were not (the broker counts them delivered), so they still run.
      if (!this.#noAck) this.#dropWaiting();
      this.#pump();
      return;
    }
    this.end(error);
  }

  /**
   * @internal The consumer stops for good: the broker cancelled it
   * (`reason` undefined), its channel closed, or recovery could not start it again.
   */
  end(reason: AmqpError | undefined): void {
    if (this.#state === 'cancelled') return;
    const wasActive = this.#state !== 'stopping';
    this.#state = 'cancelled';
    this.channel.forget(this as Consumer);
    // On a closed channel the broker has requeued them: their tags are stale.
    if (reason !== undefined) this.#dropWaiting();
    this.#pump();
    if (!wasActive) return;
    const error =
      reason ??
      new AmqpError(
        'CONSUMER_CANCELLED',
        `the broker cancelled consumer ${this.tag} (was its queue deleted?)`,
      );
    // A cancel that came with consume-ok is heard by listeners added once consume() resolved.
    this.#log.write('warren.consumer.stopped', { ...this.#names, err: loggedError(error) });
    this.#whenHandedOver(() =>
      callSafely('a cancel listener', () => this.emit('cancel', error), this.#log),
    );
  }

  /** Runs `report` once the caller of `consume()` has had its turn to add listeners. */
  #whenHandedOver(report: () => void): void {
    if (this.#handedOver) report();
    else this.#deferred.push(report);
  }

  #invalid(error: MessageValidationError, message: IncomingMessage<T>): void {
    const hook = this.#hooks.invalid;
    const fields = () => ({
      ...deliveryFields(this.queue.name, this.tag, message),
      issues: loggedIssues(error.issues),
      issueCount: error.issues.length,
      err: loggedError(error),
    });
    const unheard = hook === undefined && this.listenerCount('invalid') === 0;
    this.#log.write('warren.consumer.invalid', fields, unheard);
    if (hook !== undefined) callSafely('the invalid hook', () => hook(error, message), this.#log);
    callSafely('an invalid listener', () => this.emit('invalid', error, message), this.#log);
  }

  #refused(error: MessageTooLargeError): void {
    if (this.listenerCount('refused') === 0) warnTooLarge(error, `consumer ${this.tag}`, this.#log);
    callSafely('a refused listener', () => this.emit('refused', error), this.#log);
  }

  /** Hands waiting messages to the handler while fewer than `concurrency` run. */
  #pump(): void {
    // A synchronous handler finishes inside run(), which pumps again: the loop below goes on
    // instead, so that a long backlog does not grow the stack.
    if (!this.#handedOver || this.#pumping) return;
    this.#pumping = true;
    try {
      while (this.#running < this.concurrency && this.#waiting.length > 0) {
        const message = this.#waiting.shift() as IncomingMessage<T>;
        const bytes = message.body.length + DELIVERY_OVERHEAD_BYTES;
        this.#waitingBytes -= bytes;
        (this.#backlog as DeliveryBacklog).release(bytes);
        this.#run(message);
      }
    } finally {
      this.#pumping = false;
    }
    if (this.#isIdle) for (const resolve of this.#idleWaiters.splice(0)) resolve();
  }

  #run(message: IncomingMessage<T>): void {
    this.#running++;
    if (isTraced(processChannel) && this.#hooks.untraced !== true) this.#runTraced(message);
    else this.#handle(message, undefined);
  }

  /**
   * Runs the handler traced on `warren:process`: inside the stores bound to
   * its `start` (each message its own context), until the message is settled.
   */
  #runTraced(message: IncomingMessage<T>): void {
    const diagnostic = new Processing(
      message as IncomingMessage<unknown>,
      this.queue.name,
      this.#hooks.serving === true,
      this.channel,
    );
    const processed = () =>
      new Promise<void>((resolve, reject) => {
        this.#handle(message, (error, failed) => (failed ? reject(error) : resolve()));
      });
    // The failure was reported (`error`, `invalid`) and the message settled: nothing to add.
    traceAsync(processChannel, diagnostic, processed).catch(() => {});
  }

  #handle(message: IncomingMessage<T>, processed: Processed | undefined): void {
    let result: void | Promise<void>;
    try {
      // Checked here rather than on delivery, so that an invalid message a FailureHandler
      // dead-letters holds a slot like any other failure.
      this.queue.parse(message);
      result = this.callback(message);
    } catch (error) {
      this.#finished(message, error, true, processed);
      return;
    }
    if (result instanceof Promise) {
      result.then(
        () => this.#finished(message, undefined, false, processed),
        (error: unknown) => this.#finished(message, error, true, processed),
      );
    } else {
      this.#finished(message, undefined, false, processed);
    }
  }

  #finished(
    message: IncomingMessage<T>,
    error: unknown,
    failed: boolean,
    processed: Processed | undefined,
  ): void {
    if (failed) {
      const settling = this.#failed(error, message, true);
      if (settling !== undefined) {
        // The slot stays taken until the FailureHandler has settled the message.
        void settling.then(() => {
          processed?.(error, true);
          this.#running--;
          this.#pump();
        });
        return;
      }
    } else if (this.#autoSettle && !message.settled && !this.#withPolicy.has(message)) {
      this.#settleSafely(message, () => message.ack());
    }
    processed?.(error, failed);
    this.#running--;
    this.#pump();
  }

  /**
   * @internal {@link IncomingMessage.fail}: the application hands `message`
   * to the failure policy. Resolves once it is settled.
   */
  fail(message: IncomingMessage<T>, error: unknown): Promise<void> {
    return this.#failed(error, message, false) ?? Promise.resolve();
  }

  /**
   * Settles a failed message by the policy, and reports the failure (`report`: as an `error`
   * event; a `MessageValidationError` for an unsettled message always as `invalid`). Returns
   * the FailureHandler's work, when one took the message.
   */
  #failed(error: unknown, message: IncomingMessage<T>, report: boolean): Promise<void> | undefined {
    // Refused for its content, unless the handler had settled it already (serve() answers a
    // request whose reply failed its schema, then throws): that is the handler's failure.
    const invalid = error instanceof MessageValidationError && (message.noAck || !message.settled);
    let settling: Promise<void> | undefined;
    if (!message.settled && !this.#withPolicy.has(message)) {
      const policy = this.#onFailure;
      if (isFailureHandler(policy)) {
        settling = this.#handOver(policy, error, message, invalid);
      } else {
        const requeue = !invalid && this.#requeueAfter(error, message);
        this.#settleSafely(message, () => message.reject({ requeue }));
      }
    }
    if (invalid) this.#invalid(error as MessageValidationError, message);
    else if (report) this.#reportError(error, message);
    return settling;
  }

  /** Runs a FailureHandler; settles by the default policy, and warns, when it fails to. */
  async #handOver(
    policy: FailureHandler<T>,
    error: unknown,
    message: IncomingMessage<T>,
    invalid: boolean,
  ): Promise<void> {
    let problem: string;
    this.#withPolicy.add(message);
    try {
      await policy.handle(error, message, this.queue);
      if (message.settled) return;
      problem = 'left the message unsettled';
    } catch (thrown) {
      problem = `threw: ${describe(thrown)}`;
    } finally {
      this.#withPolicy.delete(message);
    }
    let fallback = '';
    if (!message.settled) {
      const requeue = !invalid && !message.redelivered;
      this.#settleSafely(message, () => message.reject({ requeue }));
      fallback = `; message ${message.deliveryTag} was ${requeue ? 'requeued' : 'rejected without requeue'} instead`;
    }
    this.#log.write('warren.consumer.failureHandlerFailed', {
      queue: this.queue.name,
      consumerTag: this.tag,
      deliveryTag: message.deliveryTag,
      problem: `${problem}${fallback}`,
    });
  }

  #reportError(error: unknown, message: IncomingMessage<T>): void {
    const unheard = this.listenerCount('error') === 0;
    const fields = () => ({
      ...deliveryFields(this.queue.name, this.tag, message),
      err: loggedError(error, true),
    });
    this.#log.write('warren.consumer.failed', fields, unheard);
    if (unheard) return;
    callSafely('an error listener', () => this.emit('error', error, message), this.#log);
  }

  #requeueAfter(error: unknown, message: IncomingMessage<T>): boolean {
    const policy = this.#onFailure as Exclude<FailurePolicy<T>, FailureHandler<T>>;
    switch (policy) {
      case 'retry-once':
        return !message.redelivered;
      case 'requeue':
        return true;
      case 'dead-letter':
        return false;
      default: {
        // A policy that throws falls back to the default, so a poison message cannot loop.
        let requeue = !message.redelivered;
        callSafely(
          'the onFailure policy',
          () => {
            requeue = policy(error, message) === 'requeue';
          },
          this.#log,
        );
        return requeue;
      }
    }
  }

  /** Settles on the handler's behalf; a channel closing meanwhile makes it moot (the broker requeues). */
  #settleSafely(message: IncomingMessage<T>, settle: () => void): void {
    try {
      settle();
    } catch (error) {
      if (!this.channel.isOpen) return;
      this.#log.write('warren.consumer.settleFailed', {
        queue: this.queue.name,
        consumerTag: this.tag,
        deliveryTag: message.deliveryTag,
        err: loggedError(error, true),
      });
    }
  }

  /** Messages not yet handed to the handler go back to the queue (noAck ones still run). */
  #requeueWaiting(): void {
    if (this.#noAck) return;
    for (const message of this.#dropWaiting()) {
      if (!message.settled) this.#settleSafely(message, () => message.reject({ requeue: true }));
    }
  }

  /** Empties `#waiting`, and takes its weight off the connection's backlog. */
  #dropWaiting(): IncomingMessage<T>[] {
    this.#backlog?.release(this.#waitingBytes);
    this.#waitingBytes = 0;
    return this.#waiting.splice(0);
  }
}
