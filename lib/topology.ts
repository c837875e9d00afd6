/**
 * What a connection declared, so that recovery can declare it again in
 * order: exchanges, queues, queue bindings, exchange bindings. Entities add
 * what they declare and remove what they delete or unbind.
 */
import type { ChannelEngine } from './engine/channel.js';
import { ConnectionError } from './engine/errors.js';
import type { ExchangeBinding } from './exchange.js';
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
   * Declares everything again on channels from `open`. What the broker
   * refuses closes that channel: it is reported, and the rest goes on on a
   * new channel. A server-named queue gets a new name, which `renamed` hears.
   */
  async recover(
    open: () => Promise<ChannelEngine>,
    report: (error: unknown, entity: string) => void,
    renamed: (queue: Queue, from: string, to: string) => void,
  ): Promise<void> {
    const current: { channel?: ChannelEngine } = {};
    const attempt = async (
      entity: string,
      step: (channel: ChannelEngine) => Promise<void>,
    ): Promise<void> => {
      const channel = current.channel?.isOpen ? current.channel : await open();
      current.channel = channel;
      try {
        await step(channel);
      } catch (error) {
        // A refusal of this entity is skipped; a lost connection ends this recovery attempt.
        if (channel.error?.cause instanceof ConnectionError) throw error;
        report(error, entity);
      }
    };
    for (const args of this.exchanges.values()) {
      await attempt(`exchange '${args.exchange}'`, (on) =>
        on.call('exchange.declare', args).then(() => {}),
      );
    }
    for (const [queue, args] of this.queues) {
      await attempt(`queue '${queue.name}'`, async (on) => {
        const reply = await on.call('queue.declare', args);
        const name = (reply.method.args as MethodArgs<'queue.declare-ok'>).queue;
        if (name !== queue.name) {
          const from = queue.name;
          queue.rename(name);
          renamed(queue, from, name);
        }
      });
    }
    for (const binding of this.queueBindings) {
      const args = binding.bindArgs();
      await attempt(`binding of queue '${args.queue}' to exchange '${args.exchange}'`, (on) =>
        on.call('queue.bind', args).then(() => {}),
      );
    }
    for (const binding of this.exchangeBindings) {
      const args = binding.bindArgs();
      await attempt(
        `binding of exchange '${args.destination}' to exchange '${args.source}'`,
        (on) => on.call('exchange.bind', args).then(() => {}),
      );
    }
    if (current.channel?.isOpen) await current.channel.close();
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
