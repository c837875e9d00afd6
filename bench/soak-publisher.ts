/**
 * The soak's publisher (bench/soak.ts): numbered, persistent messages to one queue on a confirm
 * channel, at a steady rate, with a window of publishes in flight. A publish whose fate is
 * unknown or refused (`PUBLISH_UNCONFIRMED`, `DISCONNECTED`, `PUBLISH_NACKED`) goes again with
 * the same id, as an application that wants every message delivered would do; anything else is
 * unexpected, reported, and goes again too so the run stays comparable.
 *
 * RabbitMQ 3.10 nacks every later publish of a channel to a quorum queue when that channel's
 * first publish found the queue's recorded leader down (see spec/faults/cluster.spec.ts); on a
 * nack the publisher therefore moves to a new channel, as an application would have to.
 *
 * @module
 */
import { type AmqpError, type Channel, type Connection, Message } from '../lib/index.js';
import type { Ledger } from './soak-ledger.js';

/** Codes after which a publish simply goes again. */
const RETRIED = new Set(['PUBLISH_UNCONFIRMED', 'DISCONNECTED', 'PUBLISH_NACKED']);
const TICK_MS = 100;
/** The least time between two channel replacements. */
const REPLACE_PAUSE_MS = 250;

export interface PublisherOptions {
  /** Messages per second (new ids and republished ones together). */
  readonly rate: number;
  /** Publishes in flight at most. */
  readonly window: number;
  /** Called with a description of anything unexpected. */
  readonly unexpected: (what: string) => void;
}

/** What a {@link Publisher} did, for the report. */
export interface PublisherSummary {
  /** Publishes made, first attempts and retries. */
  readonly published: number;
  /** Retries by the code of the failure that caused them. */
  readonly retried: Readonly<Record<string, number>>;
  /** Channels replaced after a nack. */
  readonly channelsReplaced: number;
}

/** Publishes numbered messages to one queue until stopped. */
export class Publisher {
  readonly #connection: Connection;
  readonly #queue: string;
  readonly #ledger: Ledger;
  readonly #options: PublisherOptions;
  #channel: Channel;
  #replacing: Promise<void> | undefined;
  #lastReplaced = 0;
  #timer: NodeJS.Timeout | undefined;
  #credit = 0;
  #inFlight = 0;
  #issuing = true;
  readonly #retry: number[] = [];
  #published = 0;
  readonly #retried: Record<string, number> = {};
  #channelsReplaced = 0;
  #drained: (() => void) | undefined;

  private constructor(
    connection: Connection,
    channel: Channel,
    queue: string,
    ledger: Ledger,
    options: PublisherOptions,
  ) {
    this.#connection = connection;
    this.#channel = channel;
    this.#queue = queue;
    this.#ledger = ledger;
    this.#options = options;
  }

  /** Opens a confirm channel on `connection` and starts publishing to `queue`. */
  static async start(
    connection: Connection,
    queue: string,
    ledger: Ledger,
    options: PublisherOptions,
  ): Promise<Publisher> {
    const channel = await connection.openChannel({ confirm: true });
    const publisher = new Publisher(connection, channel, queue, ledger, options);
    publisher.#timer = setInterval(() => publisher.#tick(), TICK_MS);
    return publisher;
  }

  /** Publishes in flight or waiting to go again. */
  get pending(): number {
    return this.#inFlight + this.#retry.length;
  }

  /**
   * Stops handing out new ids and resolves once every id handed out is confirmed (retries go on
   * at the same rate meanwhile). The caller bounds the wait.
   */
  drain(): Promise<void> {
    this.#issuing = false;
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#drained = resolve;
    });
  }

  /** Stops the timer (after {@link Publisher.drain}, or to give up). */
  stop(): void {
    clearInterval(this.#timer);
  }

  summary(): PublisherSummary {
    return {
      published: this.#published,
      retried: { ...this.#retried },
      channelsReplaced: this.#channelsReplaced,
    };
  }

  #tick(): void {
    const perTick = (this.#options.rate * TICK_MS) / 1000;
    // Unused credit is kept for one second at most: no burst after an outage.
    this.#credit = Math.min(this.#credit + perTick, this.#options.rate);
    this.#pump();
  }

  #pump(): void {
    while (
      this.#replacing === undefined &&
      this.#credit >= 1 &&
      this.#inFlight < this.#options.window &&
      (this.#retry.length > 0 || this.#issuing)
    ) {
      const id = this.#retry.shift() ?? this.#ledger.issue();
      this.#credit--;
      this.#publish(id);
    }
  }

  #publish(id: number): void {
    const channel = this.#channel;
    this.#inFlight++;
    this.#published++;
    channel
      .exchange('')
      .publish(new Message({ id }, { deliveryMode: 2 }), this.#queue)
      .then(
        () => {
          this.#inFlight--;
          this.#ledger.confirm(id);
          this.#settled();
        },
        (error: unknown) => {
          this.#inFlight--;
          const code = String((error as Partial<AmqpError>).code);
          this.#retried[code] = (this.#retried[code] ?? 0) + 1;
          if (!RETRIED.has(code)) {
            this.#options.unexpected(`publish to ${this.#queue} rejected: ${describe(error)}`);
          }
          this.#retry.push(id);
          if (code === 'PUBLISH_NACKED') this.#replaceChannel(channel);
          this.#settled();
        },
      );
  }

  #settled(): void {
    if (!this.#issuing && this.pending === 0) {
      this.#drained?.();
      this.#drained = undefined;
    }
    this.#pump();
  }

  #replaceChannel(stuck: Channel): void {
    if (stuck !== this.#channel || this.#replacing !== undefined) return;
    this.#replacing = (async () => {
      const pause = this.#lastReplaced + REPLACE_PAUSE_MS - Date.now();
      if (pause > 0) await new Promise((resolve) => setTimeout(resolve, pause));
      this.#channel = await this.#connection.openChannel({ confirm: true });
      this.#lastReplaced = Date.now();
      this.#channelsReplaced++;
      // Its publishes still in flight reject with PUBLISH_UNCONFIRMED and go again.
      await stuck.close().catch(() => {});
    })().then(
      () => {
        this.#replacing = undefined;
        this.#pump();
      },
      (error: unknown) => {
        this.#options.unexpected(`replacing the channel to ${this.#queue}: ${describe(error)}`);
        this.#replacing = undefined;
      },
    );
  }
}

/** A caller's value as text, whatever it is. */
export function describe(value: unknown): string {
  try {
    if (value instanceof Error) {
      const code = (value as Partial<AmqpError>).code;
      return `${value.name}${code === undefined ? '' : ` ${code}`}: ${value.message}`;
    }
    return String(value);
  } catch {
    return Object.prototype.toString.call(value);
  }
}
