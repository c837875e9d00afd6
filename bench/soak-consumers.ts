/**
 * The soak's consumers (bench/soak.ts), one of each kind an application writes, each recording
 * every id it handles in the queue's {@link Ledger}:
 *
 * - `manual`: `queue.consume(handler)`, the handler acks each message itself;
 * - `auto`: `settle: 'auto'` with `onFailure: 'requeue'`; the handler throws, on purpose, on the
 *   first delivery of one id in {@link FAIL_EVERY}, so that the failure path (requeue, then the
 *   redelivery handled) runs under the chaos too;
 * - `iterator`: a `for await` loop over `queue.messages()`, acking each message.
 *
 * What warren is not expected to do under the chaos is reported as unexpected: a consumer
 * cancelled, a handler error that was not one of the deliberate ones, an iterator loop that ends
 * by itself, a message that is not one of ours. A stopped consumer is started again, so that one
 * failure does not turn the rest of the run into losses.
 *
 * @module
 */
import type {
  AmqpError,
  Channel,
  Connection,
  Consumer,
  IncomingMessage,
  Queue,
} from '../lib/index.js';
import type { Ledger } from './soak-ledger.js';
import { describe } from './soak-publisher.js';

/** The kinds of consumer the soak runs. */
export const CONSUMER_KINDS = ['manual', 'auto', 'iterator'] as const;
export type ConsumerKind = (typeof CONSUMER_KINDS)[number];

/** One id in this many fails once in the `auto` consumer's handler. */
export const FAIL_EVERY = 97;
const PREFETCH = 50;
const RESTART_PAUSE_MS = 1_000;

/** The error the `auto` handler throws on purpose. */
class DeliberateFailure extends Error {
  override name = 'DeliberateFailure';
}

/** What one consumer did, for the report. */
export interface ConsumerSummary {
  readonly kind: ConsumerKind;
  readonly queue: string;
  /** Deliveries handled (recorded in the ledger). */
  readonly handled: number;
  /** Deliveries whose handler failed on purpose (`auto` only). */
  readonly failedOnPurpose: number;
  /** Times the consumer had to be started again after it stopped by itself. */
  readonly restarts: number;
}

/** A running consumer of one kind on one queue. */
export class SoakConsumer {
  readonly kind: ConsumerKind;
  readonly #queue: Queue;
  readonly #ledger: Ledger;
  readonly #unexpected: (what: string) => void;
  #handled = 0;
  #failedOnPurpose = 0;
  #restarts = 0;
  #stopping = false;
  #consumer: Consumer | undefined;
  #loop: Promise<void> | undefined;
  #abort: AbortController | undefined;

  private constructor(
    kind: ConsumerKind,
    queue: Queue,
    ledger: Ledger,
    unexpected: (what: string) => void,
  ) {
    this.kind = kind;
    this.#queue = queue;
    this.#ledger = ledger;
    this.#unexpected = unexpected;
  }

  /**
   * Opens a channel on `connection`, declares `queue` with `queueArguments` (as the application
   * that owns it would, so recovery declares it again) and starts consuming.
   */
  static async start(
    kind: ConsumerKind,
    connection: Connection,
    queue: string,
    queueArguments: Record<string, string>,
    ledger: Ledger,
    unexpected: (what: string) => void,
  ): Promise<SoakConsumer> {
    const channel: Channel = await connection.openChannel();
    const declared = await channel.declareQueue(queue, { arguments: queueArguments });
    const consumer = new SoakConsumer(kind, declared, ledger, unexpected);
    await consumer.#begin();
    return consumer;
  }

  /** Stops consuming: cancels the consumer, or ends the iterator loop. */
  async stop(): Promise<void> {
    this.#stopping = true;
    this.#abort?.abort();
    await this.#loop;
    if (this.#consumer !== undefined && !this.#consumer.cancelled) {
      await this.#consumer.cancel().catch(() => {});
    }
  }

  summary(): ConsumerSummary {
    return {
      kind: this.kind,
      queue: this.#queue.name,
      handled: this.#handled,
      failedOnPurpose: this.#failedOnPurpose,
      restarts: this.#restarts,
    };
  }

  async #begin(): Promise<void> {
    if (this.kind === 'iterator') {
      this.#loop = this.#iterate();
      return;
    }
    const auto = this.kind === 'auto';
    const consumer = await this.#queue.consume(
      (message) => {
        if (auto && this.#failsOnPurpose(message)) {
          this.#failedOnPurpose++;
          throw new DeliberateFailure(`deliberate failure of ${message.text()}`);
        }
        this.#record(message);
        if (!auto) message.ack();
      },
      auto ? { settle: 'auto', onFailure: 'requeue', prefetch: PREFETCH } : { prefetch: PREFETCH },
    );
    consumer.on('error', (error) => {
      if (!(error instanceof DeliberateFailure)) {
        this.#unexpected(`${this.#name} handler error: ${describe(error)}`);
      }
    });
    consumer.on('cancel', (reason: AmqpError) => {
      if (this.#stopping) return;
      this.#unexpected(`${this.#name} cancelled: ${describe(reason)}`);
      this.#restart();
    });
    this.#consumer = consumer;
  }

  async #iterate(): Promise<void> {
    this.#abort = new AbortController();
    try {
      for await (const message of this.#queue.messages({
        prefetch: PREFETCH,
        signal: this.#abort.signal,
      })) {
        this.#record(message);
        message.ack();
      }
      if (!this.#stopping) this.#unexpected(`${this.#name} loop ended by itself`);
    } catch (error) {
      if (this.#stopping) return;
      this.#unexpected(`${this.#name} loop threw: ${describe(error)}`);
    }
    if (!this.#stopping) this.#restart();
  }

  #restart(): void {
    this.#restarts++;
    setTimeout(() => {
      if (this.#stopping) return;
      this.#begin().catch((error: unknown) => {
        this.#unexpected(`${this.#name} could not start again: ${describe(error)}`);
      });
    }, RESTART_PAUSE_MS);
  }

  /** The first delivery of one id in FAIL_EVERY; its redelivery is handled. */
  #failsOnPurpose(message: IncomingMessage): boolean {
    return !message.redelivered && idOf(message) % FAIL_EVERY === 0;
  }

  #record(message: IncomingMessage): void {
    if (this.#ledger.receive(idOf(message))) this.#handled++;
    else this.#unexpected(`${this.#name} got a message that is not ours: ${message.text()}`);
  }

  get #name(): string {
    return `${this.kind} consumer of ${this.#queue.name}`;
  }
}

/** The message's id, or NaN when it has none. */
function idOf(message: IncomingMessage): number {
  try {
    const { id } = message.json() as { id?: unknown };
    return typeof id === 'number' ? id : Number.NaN;
  } catch {
    return Number.NaN;
  }
}
