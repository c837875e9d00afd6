/**
 * What a connection declared, so that recovery can declare it again in
 * order: exchanges, queues, queue bindings, exchange bindings. Entities add
 * what they declare and remove what they delete or unbind.
 */
import type { ChannelEngine } from './engine/channel.js';
import { ConnectionError } from './engine/errors.js';
import type { ExchangeBinding } from './exchange.js';
import { AmqpError } from './protocol/errors.js';
import type { MethodArgs } from './protocol/spec.js';
import type { Queue, QueueBinding } from './queue.js';

/** @internal */
export class Topology {
  /** By name: a later declaration of the same name replaces the earlier one. */
  private readonly exchanges = new Map<string, MethodArgs<'exchange.declare'>>();
  /** With their declarations; a server-named queue's says `queue: ''`. */
  private readonly queues = new Map<Queue, MethodArgs<'queue.declare'>>();
  private readonly queueBindings = new Set<QueueBinding>();
  private readonly exchangeBindings = new Set<ExchangeBinding>();

  addExchange(args: MethodArgs<'exchange.declare'>): void {
    if (!args.passive) this.exchanges.set(args.exchange, args);
  }

  /** The exchange is gone: so are its bindings, both ways. */
  removeExchange(name: string): void {
    this.exchanges.delete(name);
    for (const binding of this.queueBindings) {
      if (binding.exchange.name === name) this.queueBindings.delete(binding);
    }
    for (const binding of this.exchangeBindings) {
      if (binding.source.name === name || binding.destination.name === name) {
        this.exchangeBindings.delete(binding);
      }
    }
  }

  addQueue(queue: Queue, args: MethodArgs<'queue.declare'>): void {
    if (args.passive) return;
    // Declared again under the same name (another Queue object): one record is enough.
    for (const other of this.queues.keys()) {
      if (args.queue !== '' && other.name === args.queue) this.queues.delete(other);
    }
    this.queues.set(queue, args);
  }

  /** The queue is gone: so are its bindings (and an auto-delete exchange they were the last of). */
  removeQueue(name: string): void {
    for (const queue of this.queues.keys()) if (queue.name === name) this.queues.delete(queue);
    for (const binding of this.queueBindings) {
      if (binding.queue.name === name) {
        this.queueBindings.delete(binding);
        this.dropIfUnused(binding.exchange.name);
      }
    }
  }

  /**
   * This connection's last consumer of the queue stopped: an auto-delete
   * queue is then gone on the broker, and must not come back.
   */
  lastConsumerGone(name: string): void {
    for (const [queue, args] of this.queues) {
      if (queue.name === name && args.autoDelete) this.removeQueue(name);
    }
  }

  /** An auto-delete exchange whose last recorded binding (as source) went is gone on the broker. */
  private dropIfUnused(exchange: string): void {
    if (this.exchanges.get(exchange)?.autoDelete !== true) return;
    for (const binding of this.queueBindings) if (binding.exchange.name === exchange) return;
    for (const binding of this.exchangeBindings) if (binding.source.name === exchange) return;
    this.removeExchange(exchange);
  }

  addQueueBinding(binding: QueueBinding): void {
    this.queueBindings.add(binding);
  }

  removeQueueBinding(binding: QueueBinding): void {
    for (const other of this.queueBindings) {
      if (sameBinding(other, binding)) this.queueBindings.delete(other);
    }
    this.dropIfUnused(binding.exchange.name);
  }

  addExchangeBinding(binding: ExchangeBinding): void {
    this.exchangeBindings.add(binding);
  }

  removeExchangeBinding(binding: ExchangeBinding): void {
    for (const other of this.exchangeBindings) {
      if (sameBinding(other, binding)) this.exchangeBindings.delete(other);
    }
    this.dropIfUnused(binding.source.name);
  }

  /**
   * Declares everything again on channels from `open`: exchanges, then
   * queues, then queue bindings, then exchange bindings, each kind spread
   * over up to {@link RECOVERY_LANES} channels at once. What the broker
   * refuses closes that channel: it is reported, and the rest goes on on a
   * new channel. A server-named queue gets a new name, which `renamed` hears.
   */
  async recover(
    open: () => Promise<ChannelEngine>,
    report: (error: unknown, entity: string) => void,
    renamed: (queue: Queue, from: string, to: string) => void,
  ): Promise<void> {
    const lanes = new Lanes(open, report);
    try {
      await lanes.run(this.exchanges.values(), (args) => ({
        entity: `exchange '${args.exchange}'`,
        step: (on) => on.call('exchange.declare', args),
      }));
      await lanes.run(this.queues.entries(), ([queue, args]) => ({
        entity: `queue '${queue.name}'`,
        step: async (on) => {
          const reply = await on.call('queue.declare', args);
          const name = (reply.method.args as MethodArgs<'queue.declare-ok'>).queue;
          if (name !== queue.name) {
            const from = queue.name;
            queue.rename(name);
            renamed(queue, from, name);
          }
        },
      }));
      // Bindings name queues by their current names: read after the queues are back.
      await lanes.run(this.queueBindings.values(), (binding) => {
        const args = binding.bindArgs();
        return {
          entity: `binding of queue '${args.queue}' to exchange '${args.exchange}'`,
          step: (on) => on.call('queue.bind', args),
        };
      });
      await lanes.run(this.exchangeBindings.values(), (binding) => {
        const args = binding.bindArgs();
        return {
          entity: `binding of exchange '${args.destination}' to exchange '${args.source}'`,
          step: (on) => on.call('exchange.bind', args),
        };
      });
    } catch (error) {
      await lanes.close(true);
      throw error;
    }
    await lanes.close(false);
  }
}

/**
 * How many channels recovery declares on at once. Each channel has one
 * request in flight (AMQP's synchronous methods), so one channel makes a
 * 10,000-queue topology wait for 10,000 round trips in turn; the broker
 * serves channels in parallel. Measured on loopback (2 cores): a new queue
 * 1.6 ms one at a time, 0.74 ms over 16 channels; more gained little.
 */
export const RECOVERY_LANES = 16;

/** A step of recovery: the entity it declares (for a report), and the declaration. */
interface Step {
  readonly entity: string;
  readonly step: (channel: ChannelEngine) => Promise<unknown>;
}

/**
 * The channels recovery declares on: up to {@link RECOVERY_LANES}, opened
 * as the first kind with enough entities needs them, kept for the next
 * kinds, and replaced when the broker closes one for a refusal.
 */
class Lanes {
  readonly #channels: ChannelEngine[] = [];

  constructor(
    private readonly open: () => Promise<ChannelEngine>,
    private readonly report: (error: unknown, entity: string) => void,
  ) {}

  /**
   * Declares every item, each lane taking the next one as it is free; the
   * items of one kind are independent of each other, so their order does
   * not matter. Resolves once all are done.
   */
  async run<T>(items: Iterator<T>, describe: (item: T) => Step): Promise<void> {
    const first = items.next();
    if (first.done === true) return;
    const pending: T[] = [first.value];
    const take = (): { item: T } | undefined => {
      const queued = pending.shift();
      if (queued !== undefined) return { item: queued };
      const next = items.next();
      return next.done === true ? undefined : { item: next.value };
    };
    const lanes: Promise<void>[] = [this.#lane(0, take, describe)];
    for (let lane = 1; lane < RECOVERY_LANES; lane++) {
      // One more lane only while there is work left for it.
      const next = items.next();
      if (next.done === true) break;
      pending.push(next.value);
      lanes.push(this.#lane(lane, take, describe));
    }
    await Promise.all(lanes);
  }

  async #lane<T>(
    lane: number,
    take: () => { item: T } | undefined,
    describe: (item: T) => Step,
  ): Promise<void> {
    for (;;) {
      const channel = await this.#channel(lane);
      // The broker's channel limit is reached: the other lanes take this one's share.
      if (channel === undefined) return;
      const next = take();
      if (next === undefined) return;
      const { entity, step } = describe(next.item);
      try {
        await step(channel);
      } catch (error) {
        // A refusal of this entity is skipped; a lost connection ends this recovery attempt.
        if (channel.error?.cause instanceof ConnectionError) throw error;
        this.report(error, entity);
      }
    }
  }

  /**
   * Lane `lane`'s channel: open, or a new one in place of one the broker
   * closed; undefined for a lane other than the first when the connection
   * has no channel number left.
   */
  async #channel(lane: number): Promise<ChannelEngine | undefined> {
    const current = this.#channels[lane];
    if (current?.isOpen) return current;
    let channel: ChannelEngine;
    try {
      channel = await this.open();
    } catch (error) {
      if (lane > 0 && error instanceof AmqpError && error.code === 'CHANNEL_LIMIT')
        return undefined;
      throw error;
    }
    this.#channels[lane] = channel;
    return channel;
  }

  /** Closes the lanes' channels; `quietly` after a failure, which matters more than theirs. */
  async close(quietly: boolean): Promise<void> {
    const closing = this.#channels.map((channel) =>
      channel.isOpen ? channel.close() : Promise.resolve(),
    );
    if (quietly) await Promise.allSettled(closing);
    else await Promise.all(closing);
  }
}

/** Two records of the same binding: same ends, key and arguments (the queue under its current name). */
function sameBinding(
  a: QueueBinding | ExchangeBinding,
  b: QueueBinding | ExchangeBinding,
): boolean {
  return key(a) === key(b);
}

function key(binding: QueueBinding | ExchangeBinding): string {
  // Field tables may hold bigints, which JSON.stringify refuses.
  return JSON.stringify(binding.bindArgs(), (_, value: unknown) =>
    typeof value === 'bigint' ? `${value}n` : value,
  );
}
