/**
 * What applying a contract (or a part of it) declares, and in which order:
 * the pieces the chosen routes need, gathered by following the references
 * between definitions, then sorted so that each is declared after what it
 * refers to.
 */
import type {
  ExchangeBindingDefinition,
  ExchangeDefinition,
  QueueBindingDefinition,
  QueueDefinition,
} from './model.js';

/** The pieces of a contract that apply declares, each once, in the order it declares them. */
export interface Declarations {
  readonly exchanges: readonly ExchangeDefinition[];
  /** After the exchanges, since both ends must exist. */
  readonly exchangeBindings: readonly ExchangeBindingDefinition[];
  /** After the exchanges: a queue's dead-letter exchange need not exist, but is there already. */
  readonly queues: readonly QueueDefinition[];
  readonly queueBindings: readonly QueueBindingDefinition[];
}

/** The pieces of a contract the gathering follows references through. */
export interface ContractPieces {
  readonly exchanges: readonly ExchangeDefinition[];
  readonly queues: readonly QueueDefinition[];
  readonly bindings: readonly (QueueBindingDefinition | ExchangeBindingDefinition)[];
}

/**
 * Gathers what the routes of a (partial) apply need, following references:
 *
 * - {@link Needs.exchange}: the exchange alone (what publishing to it needs);
 * - {@link Needs.queue}: the queue; its bindings and their exchanges, with
 *   the exchanges that feed those (exchange-to-exchange bindings, upstream);
 *   its dead-letter exchange and everything bound to it, downstream (so
 *   that its dead letters land somewhere), each such queue with its needs.
 *
 * Bindings are taken from the contract's list; a piece reached by
 * reference is included even when the contract does not list it.
 */
export class Needs {
  readonly #pieces: ContractPieces;
  readonly #exchanges = new Set<ExchangeDefinition>();
  readonly #queues = new Set<QueueDefinition>();
  readonly #queueBindings = new Set<QueueBindingDefinition>();
  readonly #exchangeBindings = new Set<ExchangeBindingDefinition>();
  /** Exchanges whose upstream (resp. downstream) was followed already: references may loop. */
  readonly #upstreamDone = new Set<ExchangeDefinition>();
  readonly #downstreamDone = new Set<ExchangeDefinition>();

  constructor(pieces: ContractPieces) {
    this.#pieces = pieces;
  }

  /** Everything the contract has, and what that refers to: a full apply. */
  static all(pieces: ContractPieces): Declarations {
    const needs = new Needs(pieces);
    for (const exchange of pieces.exchanges) needs.exchange(exchange);
    for (const queue of pieces.queues) needs.queue(queue);
    for (const binding of pieces.bindings) needs.binding(binding);
    return needs.declarations();
  }

  /** An exchange published to. */
  exchange(exchange: ExchangeDefinition): void {
    this.#exchanges.add(exchange);
  }

  /** A queue consumed, served or published to, and what it needs. */
  queue(queue: QueueDefinition): void {
    if (this.#queues.has(queue)) return;
    this.#queues.add(queue);
    for (const binding of this.#pieces.bindings) {
      if (binding.kind === 'queueBinding' && binding.queue === queue) this.binding(binding);
    }
    if (queue.deadLetter !== undefined) this.#downstream(queue.deadLetter.exchange);
  }

  /** A binding, its ends, and (for a queue binding) what feeds its exchange. */
  binding(binding: QueueBindingDefinition | ExchangeBindingDefinition): void {
    if (binding.kind === 'queueBinding') {
      if (this.#queueBindings.has(binding)) return;
      this.#queueBindings.add(binding);
      this.queue(binding.queue);
      this.#upstream(binding.exchange);
    } else {
      if (this.#exchangeBindings.has(binding)) return;
      this.#exchangeBindings.add(binding);
      this.#upstream(binding.source);
      this.#upstream(binding.destination);
    }
  }

  /** What was gathered, in declaration order. */
  declarations(): Declarations {
    return {
      exchanges: [...this.#exchanges],
      exchangeBindings: [...this.#exchangeBindings],
      queues: [...this.#queues],
      queueBindings: [...this.#queueBindings],
    };
  }

  /** An exchange a queue receives from, and the exchanges bound to forward into it. */
  #upstream(exchange: ExchangeDefinition): void {
    this.#exchanges.add(exchange);
    if (this.#upstreamDone.has(exchange)) return;
    this.#upstreamDone.add(exchange);
    for (const binding of this.#pieces.bindings) {
      if (binding.kind === 'exchangeBinding' && binding.destination === exchange) {
        this.binding(binding);
      }
    }
  }

  /** An exchange whose messages must land somewhere (a dead-letter exchange), and all it feeds. */
  #downstream(exchange: ExchangeDefinition): void {
    this.#exchanges.add(exchange);
    if (this.#downstreamDone.has(exchange)) return;
    this.#downstreamDone.add(exchange);
    for (const binding of this.#pieces.bindings) {
      if (binding.kind === 'queueBinding' && binding.exchange === exchange) {
        this.binding(binding);
      } else if (binding.kind === 'exchangeBinding' && binding.source === exchange) {
        this.binding(binding);
        this.#downstream(binding.destination);
      }
    }
  }
}
