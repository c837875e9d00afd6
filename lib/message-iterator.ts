import type { SignalOptions } from './channel.js';
import type { Consumer, FailurePolicy } from './consumer.js';
import { type AbortHook, onAbort, throwIfAborted } from './engine/abort.js';
import type { IncomingMessage } from './incoming-message.js';
import type { AmqpError } from './protocol/errors.js';
import type { FieldTable } from './protocol/field-types.js';
import type { Queue } from './queue.js';
import type { MessageValidationError } from './schema.js';

/** Options of {@link Queue.messages}. */
export interface MessagesOptions extends SignalOptions {
  /**
   * How many unsettled messages the broker may send ahead of the loop: the
   * backpressure window (`basic.qos`, as `ConsumeOptions.prefetch`).
   * @default 100
   */
  prefetch?: number;
  /** Ends the loop: the pending `next()` rejects with an `AbortError`, and the consumer is cancelled. */
  signal?: AbortSignal;
  /** Called for each message that did not match the queue's schema (it was dead-lettered). */
  onInvalid?: (error: MessageValidationError, message: IncomingMessage<unknown>) => void;
  /**
   * What {@link IncomingMessage.fail} does with a message whose handling
   * failed: the loop calls `await message.fail(error)`, and this policy
   * settles it. A `FailureHandler` (such as the workers' `retry()`) is
   * prepared before the first message, and holds the loop's place until it
   * has settled the message. Invalid messages (schema) go to it too.
   * @default 'retry-once'
   */
  onFailure?: FailurePolicy;
  /** No other consumer may consume from the queue meanwhile. @default false */
  exclusive?: boolean;
  /** Extra arguments of `basic.consume`, such as `x-priority`. @default {} */
  arguments?: FieldTable;
}

interface Waiter<T> {
  resolve(result: IteratorResult<IncomingMessage<T>>): void;
  reject(error: unknown): void;
}

const DONE: IteratorReturnResult<undefined> = { done: true, value: undefined };

/**
 * A queue's messages as an async iterator, made by {@link Queue.messages}.
 * It runs a consumer with `concurrency: 1` whose handler hands each message
 * to the loop and waits until the loop asks for the next one, so the
 * prefetch window is the only buffer.
 */
export class MessageIterator<T = unknown> implements AsyncIterableIterator<IncomingMessage<T>> {
  readonly #queue: Queue<T>;
  readonly #options: MessagesOptions;
  #consumer: Promise<Consumer<T> | undefined> | undefined;
  /** The consumer, once it runs. */
  #started: Consumer<T> | undefined;
  #abortHook: AbortHook | undefined;
  /** The `next()` calls waiting for a message, oldest first. */
  readonly #waiters: Waiter<T>[] = [];
  /** The message the loop holds, and the handler waiting for the loop to come back. */
  #current: { message: IncomingMessage<T>; release: () => void } | undefined;
  /** Why the iteration ended, once it has: the loop left, or the consumer stopped. */
  #ending: { error: unknown } | undefined;

  /** @internal Use {@link Queue.messages}. */
  static create<T>(queue: Queue<T>, options: MessagesOptions): MessageIterator<T> {
    return new MessageIterator(queue, options);
  }

  private constructor(queue: Queue<T>, options: MessagesOptions) {
    this.#queue = queue;
    this.#options = options;
  }

  /** The iterator itself, so that `for await` takes it. */
  [Symbol.asyncIterator](): this {
    return this;
  }

  /**
   * The next message; the first call starts the consumer. Once the
   * iteration has ended (the loop left, the signal aborted, the consumer
   * stopped), a message the loop held and did not settle goes back to the
   * queue.
   */
  next(): Promise<IteratorResult<IncomingMessage<T>>> {
    const previous = this.#current;
    this.#current = undefined;
    if (this.#ending !== undefined) {
      letGo(previous);
      const { error } = this.#ending;
      return error === undefined ? Promise.resolve(DONE) : Promise.reject(error);
    }
    const result = new Promise<IteratorResult<IncomingMessage<T>>>((resolve, reject) => {
      this.#waiters.push({ resolve, reject });
    });
    this.#consumer ??= this.#start();
    previous?.release();
    return result;
  }

  /** Leaves the loop: cancels the consumer and requeues the message the loop held, if unsettled. */
  async return(): Promise<IteratorResult<IncomingMessage<T>>> {
    const held = this.#current;
    this.#current = undefined;
    // Cancel first, so that releasing the handler does not hand the loop another message.
    const cancelled = this.#stop(undefined);
    letGo(held);
    await cancelled;
    return DONE;
  }

  async #start(): Promise<Consumer<T> | undefined> {
    const { signal, onFailure } = this.#options;
    try {
      throwIfAborted(signal, 'consuming');
      const consumer = await this.#queue.subscribe(
        (message) => this.#hand(message),
        {
          prefetch: this.#options.prefetch ?? 100,
          exclusive: this.#options.exclusive ?? false,
          arguments: this.#options.arguments ?? {},
          ...(signal === undefined ? {} : { signal }),
          ...(onFailure === undefined ? {} : { onFailure: onFailure as FailurePolicy<T> }),
        },
        // The application stops it (cancel, or a channel or connection close): the loop ends.
        { stopping: () => void this.#stop(undefined) },
      );
      this.#started = consumer;
      const onInvalid = this.#options.onInvalid;
      if (onInvalid !== undefined) consumer.on('invalid', onInvalid);
      // The broker cancelled it, or the channel went down: the loop throws the reason.
      consumer.once('cancel', (reason: AmqpError) => void this.#stop(reason));
      this.#abortHook = onAbort(signal, 'consuming', (error) => void this.#stop(error));
      throwIfAborted(signal, 'consuming');
      return consumer;
    } catch (error) {
      // The pending next() rejects with it.
      void this.#stop(error);
      return undefined;
    }
  }

  /** The consumer's handler: gives the message to the loop, resolves when the loop moves on. */
  #hand(message: IncomingMessage<T>): Promise<void> {
    if (this.#ending !== undefined) {
      // Fetched ahead, after the iteration ended: nobody will take it.
      letGo({ message, release: () => {} });
      return Promise.resolve();
    }
    return new Promise<void>((release) => {
      const waiter = this.#waiters.shift();
      // A next() made before this one resolved has already asked to move past this message.
      if (waiter !== undefined && this.#waiters.length > 0) release();
      else this.#current = { message, release };
      waiter?.resolve({ done: false, value: message });
    });
  }

  /**
   * Ends the iteration with `reason` (undefined: it ends without error), once,
   * and cancels the consumer. A message the loop holds stays the loop's until
   * it moves on.
   */
  async #stop(reason: unknown): Promise<void> {
    if (this.#ending !== undefined) return;
    this.#ending = { error: reason };
    this.#abortHook?.release();
    // As an async generator would: the oldest pending next() gets the reason, the others end.
    const [first, ...rest] = this.#waiters.splice(0);
    if (reason === undefined) first?.resolve(DONE);
    else first?.reject(reason);
    for (const waiter of rest) waiter.resolve(DONE);
    const consumer = this.#started ?? (await this.#consumer?.catch(() => undefined));
    await consumer?.cancel().catch(() => {});
  }
}

/** Gives back a held message: requeued unless settled, and its handler released. */
function letGo(held: { message: IncomingMessage<unknown>; release(): void } | undefined): void {
  if (held === undefined) return;
  if (!held.message.settled) {
    try {
      held.message.reject({ requeue: true });
    } catch {
      // The channel closed: the broker has requeued it already.
    }
  }
  held.release();
}
