import { EventEmitter } from 'eventemitter3';
import type { Connection } from './connection.js';
import type { Consumer } from './consumer.js';
import { DeliveryLedger, type Settlement } from './deliveries.js';
import {
  Delivery,
  isTraced,
  Operation,
  operationChannel,
  Return,
  receiveChannel,
  returnChannel,
  Settling,
  settleChannel,
  traceAsync,
} from './diagnostics.js';
import { waitWithin } from './engine/abort.js';
import type { ChannelEngine } from './engine/channel.js';
import type { ReturnedContent } from './engine/confirms.js';
import { ChannelError, ConnectionError } from './engine/errors.js';
import type { CallOptions } from './engine/rpc.js';
import {
  Exchange,
  type ExchangeHandleOptions,
  type ExchangeOptions,
  type ExchangeType,
} from './exchange.js';
import { type DeliveryInfo, IncomingMessage } from './incoming-message.js';
import type { Command, OversizedContent } from './protocol/assembler.js';
import { describeMessage } from './protocol/describe.js';
import { AmqpError } from './protocol/errors.js';
import type { MethodArgs, MethodName } from './protocol/spec.js';
import { Queue, type QueueHandleOptions, type QueueOptions } from './queue.js';
import { ReadyGate, type ResolvedRecovery } from './recovery.js';
import { ReopenBound, type ReopenOptions } from './reopen.js';
import { MessageReturnedError, ReturnedMessage } from './returned-message.js';
import type { Schema, SchemaInput, SchemaOutput } from './schema.js';
import { MessageTooLargeError, type TooLargeMethod, warnTooLarge } from './too-large.js';
import {
  callSafely,
  checkCount,
  checkOptions,
  checkShortString,
  checkTimeout,
} from './validate.js';

const EMPTY_BODY = Buffer.alloc(0);

/** How many (exchange, routing key) pairs a channel remembers having warned of; then it starts over. */
const WARNED_RETURNS_MAX = 1_000;

/** The option every operation that can be aborted takes; the other option types extend it. */
export interface SignalOptions {
  /**
   * Aborts the operation: it rejects with an `AbortError`. What was sent
   * before the signal aborted may still take effect on the broker.
   */
  signal?: AbortSignal;
}

/** Options of {@link Connection.openChannel}. */
export interface ChannelOptions extends SignalOptions {
  /**
   * Publisher confirms: `publish` resolves when the broker has taken
   * responsibility for the message, and rejects when it nacks or returns it.
   * @default false
   */
  confirm?: boolean;
  /**
   * Reopen the channel when the broker closes it for a failed operation (a
   * soft error: `NOT_FOUND`, `PRECONDITION_FAILED`, `RESOURCE_LOCKED`,
   * `ACCESS_REFUSED`, …), as connection recovery does: the operation that
   * failed rejects with the broker's error (an unconfirmed publish with
   * `PUBLISH_UNCONFIRMED`, the error as its cause), `disconnected` is
   * emitted, then the channel opens again with its confirm mode, its QoS and
   * its consumers, out of transaction mode, and emits `recovered`; every
   * handle on it keeps working, and operations issued meanwhile wait.
   * `true` allows 10 reopens within 10 s; an object sets those bounds, past
   * which the channel closes with `RECOVERY_FAILED`. Off, the channel stays
   * closed, and a new one must be opened.
   * @default false
   */
  reopen?: boolean | ReopenOptions;
}

/** Options of {@link Channel.setQos}. */
export interface QosOptions extends SignalOptions {
  /** How many unacknowledged messages the broker sends before waiting for acks; 0 is no limit. @default 0 */
  prefetchCount?: number;
  /** The same limit in bytes of bodies; RabbitMQ does not implement it, so leave it 0. @default 0 */
  prefetchSize?: number;
  /**
   * RabbitMQ's meaning: `false` limits each new consumer on the channel,
   * `true` limits the channel as a whole.
   * @default false
   */
  global?: boolean;
}

/** Options of {@link Channel.txSelect}, {@link Channel.txCommit} and {@link Channel.txRollback}. */
export type TxOptions = SignalOptions;

/** Options of {@link Channel.recover}. */
export interface RecoverOptions extends SignalOptions {
  /**
   * Requeue the unacknowledged messages. `false` is a RangeError: RabbitMQ
   * does not implement it.
   * @default true
   */
  requeue?: boolean;
}

/** Options of {@link Channel.close}, {@link Connection.close} and {@link RpcClient.close}. */
export interface CloseOptions extends SignalOptions {
  /**
   * How long to wait for running consumer handlers before closing anyway
   * (their unsettled messages then return to their queues). Unset: as long
   * as they take — so do not `await` a close from inside a handler.
   * @default undefined (no limit)
   */
  timeout?: number;
  /** Stops waiting (with an `AbortError`); the close goes on. */
  signal?: AbortSignal;
}

/** Events of a {@link Channel}. */
export interface ChannelEvents {
  /** The channel closed; `error.code` says why (`CHANNEL_CLOSED` when the application closed it). */
  close: [error: ChannelError];
  /**
   * The connection was lost and is recovering, or (with the `reopen` option)
   * the broker closed the channel for a failed operation: the channel will
   * reopen with its QoS, confirm mode and consumers. `error.cause` is the
   * connection's error after a loss; after a channel error, `error` is the
   * broker's (`NOT_FOUND`, …). Publishes not yet confirmed were rejected
   * (`PUBLISH_UNCONFIRMED`); unsettled deliveries are back in their queues
   * (settling them now does nothing).
   */
  disconnected: [error: ChannelError];
  /** The channel is open again after a recovery or a reopen, on a new channel number perhaps. */
  recovered: [];
  /**
   * The broker returned an unroutable `mandatory` message (publishes are
   * mandatory by default) and no publisher confirm claimed it.
   */
  return: [message: ReturnedMessage];
  /**
   * The broker returned a message larger than the connection's
   * `maxBodySize`: its body was skipped and it was dropped (no return handler
   * sees it). Without a listener, a process warning
   * (`WARREN_MESSAGE_TOO_LARGE`) reports it. Deliveries over the limit are
   * reported by their consumer's `refused` event.
   */
  refused: [error: MessageTooLargeError];
  /** The broker paused (`false`) or resumed (`true`) publishing on this channel. */
  flow: [active: boolean];
}

/**
 * An AMQP channel: where exchanges and queues are declared, messages
 * published and consumed. Channels are cheap; a failed operation (a 404, a
 * 406) closes only its channel, so give independent work its own.
 */
export class Channel extends EventEmitter<ChannelEvents> {
  /** The connection this channel belongs to. */
  readonly connection: Connection;
  /** Resolves with the reason once the channel has closed; never rejects. */
  readonly closed: Promise<ChannelError>;
  #current: ChannelEngine;
  #state: 'open' | 'recovering' | 'closed' = 'open';
  #closeError: ChannelError | undefined;
  #resolveClosed: (error: ChannelError) => void = () => {};
  /** What recovery sets up again: confirm mode, and the last QoS of each scope. */
  readonly #settings: { confirm: boolean; qos: Map<boolean, MethodArgs<'basic.qos'>> } = {
    confirm: false,
    qos: new Map(),
  };
  #returnHandler: ((message: ReturnedMessage) => void) | null = null;
  /** Which deliveries wait for a settlement, and what settling one sends. */
  readonly #deliveries = new DeliveryLedger<IncomingMessage<unknown>>();
  /** Consumers running on this channel, to stop before it closes. */
  readonly #consumers = new Set<Consumer>();
  /** How the channel reopens after a soft error; null when it does not. */
  readonly #reopen: ReopenBound | null;
  /** Where operations wait while the channel reopens after a soft error (the connection's gate covers its own recovery). */
  readonly #gate: ReadyGate;
  /** The tags of its consumers, starting ones included: RabbitMQ answers a duplicate with 530, fatal to the connection. */
  readonly #consumerTags = new Set<string>();
  #closing: Promise<void> | undefined;
  #closingByApplication = false;
  /** The exchanges and routing keys whose unhandled returns were reported (bounded). */
  readonly #warnedReturns = new Set<string>();

  /** @internal Use {@link Connection.openChannel}. */
  static create(
    connection: Connection,
    engine: ChannelEngine,
    reopen: ReopenBound | null,
    limits: ResolvedRecovery,
  ): Channel {
    return new Channel(connection, engine, reopen, limits);
  }

  /** @internal Checks the `reopen` option of {@link Connection.openChannel}. */
  static resolveReopen(reopen: unknown): ReopenBound | null {
    return ReopenBound.resolve(reopen as ChannelOptions['reopen']);
  }

  private constructor(
    connection: Connection,
    engine: ChannelEngine,
    reopen: ReopenBound | null,
    limits: ResolvedRecovery,
  ) {
    super();
    this.connection = connection;
    this.#current = engine;
    this.#reopen = reopen;
    this.#gate = new ReadyGate(limits, 'the channel is reopening after an error');
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#attach(engine);
    connection.log.write('warren.channel.opened', { channel: engine.id });
  }

  /** @internal The channel's engine now (a new one after each recovery). */
  get engine(): ChannelEngine {
    return this.#current;
  }

  /** The channel number (it may change when the channel recovers). */
  get id(): number {
    return this.#current.id;
  }

  /** Whether publishes are confirmed by the broker. */
  get confirmMode(): boolean {
    return this.#settings.confirm;
  }

  /** Whether the channel is open (not closed, and not recovering or reopening). */
  get isOpen(): boolean {
    return this.#state === 'open' && this.#current.isOpen;
  }

  /** Whether the channel is waiting for its connection to recover, or reopening after an error. */
  get isRecovering(): boolean {
    return this.#state === 'recovering';
  }

  /**
   * @internal The engine to send on, once the channel is usable: at once
   * when it is, else after the connection recovers (or unblocks, for a
   * publish), within the recovery's limits.
   * @throws DisconnectedError when the wait is refused or times out; the close error when closed
   */
  async live(
    bytes: number,
    isPublish: boolean,
    signal: AbortSignal | undefined,
  ): Promise<ChannelEngine> {
    try {
      if (this.#closeError === undefined) await this.connection.whenReady(bytes, isPublish, signal);
      // Reopening after a soft error: the channel's own gate (open at once otherwise).
      if (this.#closeError === undefined) await this.#gate.wait(bytes, isPublish, signal);
    } catch (error) {
      throw this.#closeError ?? error;
    }
    // Closed meanwhile (or before): the channel's own reason, not the connection's.
    if (this.#closeError !== undefined) throw this.#closeError;
    return this.#current;
  }

  /** @internal Whether an operation may use {@link Channel.engine} without waiting. */
  get isLive(): boolean {
    return this.#state === 'open' && this.connection.isReady;
  }

  /** @internal Sends a synchronous request once the channel is usable. */
  async call<N extends MethodName>(
    name: N,
    args: MethodArgs<N>,
    options: CallOptions = {},
  ): Promise<Command> {
    if (!isTraced(operationChannel)) return this.#call(name, args, options);
    const diagnostic = new Operation(this, name, args as Readonly<Record<string, unknown>>);
    return traceAsync(operationChannel, diagnostic, () => this.#call(name, args, options), onReply);
  }

  async #call<N extends MethodName>(
    name: N,
    args: MethodArgs<N>,
    options: CallOptions,
  ): Promise<Command> {
    const engine = this.isLive ? this.#current : await this.live(0, false, options.signal);
    return engine.call(name, args, options);
  }

  /** @internal Turns on publisher confirms (right after opening). */
  async selectConfirms(signal?: AbortSignal): Promise<void> {
    await this.#current.selectConfirms(this.#rejectReturned, signal);
    this.#settings.confirm = true;
  }

  /** What a confirmed publish the broker returned rejects with (and `warren:return` hears of). */
  readonly #rejectReturned = (returned: ReturnedContent): MessageReturnedError =>
    new MessageReturnedError(this.#returned(returned, true));

  /** A returned message, as the application sees it, published on `warren:return` when listened to. */
  #returned(content: ReturnedContent, confirmed: boolean): ReturnedMessage {
    const message = ReturnedMessage.create(content);
    if (returnChannel.hasSubscribers) {
      returnChannel.publish(new Return(message, confirmed, this));
    }
    return message;
  }

  #attach(engine: ChannelEngine): void {
    engine.once('close', (error) => this.#onEngineClose(engine, error));
    engine.on('flow', (active) =>
      callSafely('a flow listener', () => this.emit('flow', active), this.connection.log),
    );
    engine.on('return', (returned) => this.#onReturn(this.#returned(returned, false)));
    engine.on('oversizedReturn', (args, oversized) => {
      const origin = { method: 'basic.return' as const, ...args, rejected: false };
      const error = new MessageTooLargeError(origin, oversized);
      if (this.listenerCount('refused') === 0) {
        warnTooLarge(error, `channel ${this.id}`, this.connection.log);
      }
      callSafely('a refused listener', () => this.emit('refused', error), this.connection.log);
    });
  }

  #onEngineClose(engine: ChannelEngine, error: ChannelError): void {
    if (engine !== this.#current || this.#state === 'closed') return;
    // The broker requeued every unsettled delivery: their tags are stale from now on.
    this.#deliveries.clear();
    // Mid-recovery, the recovery decides (a refused consumer, the connection lost again).
    if (this.#state === 'recovering') return;
    if (error.replyCode !== undefined && !(error.cause instanceof ConnectionError)) {
      this.connection.log.write('warren.channel.error', {
        channel: engine.id,
        code: error.code,
        replyCode: error.replyCode,
        replyText: error.replyText,
        method: error.method,
        reopening: this.#reopensAfter(error),
      });
    }
    if (this.#reopensAfter(error)) {
      void this.#reopenAfter(error);
      return;
    }
    if (this.survives(error)) {
      this.#state = 'recovering';
      callSafely(
        'a disconnected listener',
        () => this.emit('disconnected', error),
        this.connection.log,
      );
      return;
    }
    this.finish(error);
  }

  /**
   * @internal Whether the channel outlives `error`: its connection was lost
   * and will recover, or the broker closed it and it reopens (or gives up,
   * and then ends everything with the error saying so).
   */
  survives(error: ChannelError): boolean {
    return (
      this.#state !== 'closed' &&
      !this.#closingByApplication &&
      (this.connection.willRecover(error.cause) || this.#reopensAfter(error))
    );
  }

  /** Whether the channel takes charge of `error`: a soft error the broker closed it with, under `reopen`. */
  #reopensAfter(error: ChannelError): boolean {
    return (
      this.#reopen !== null &&
      this.#state === 'open' &&
      !this.#closingByApplication &&
      error.replyCode !== undefined &&
      !(error.cause instanceof ConnectionError) &&
      this.connection.isOpen
    );
  }

  /**
   * Reopens the channel after the broker closed it with `error`, as recovery
   * does after a lost connection, unless it has done so `maxReopens` times
   * within `interval`: then it closes for good.
   */
  async #reopenAfter(error: ChannelError): Promise<void> {
    const reopen = this.#reopen as ReopenBound;
    if (!reopen.admit(Date.now())) {
      this.finish(reopen.exceeded(error));
      return;
    }
    this.#state = 'recovering';
    // The broker rolled the transaction back with the channel: the reopened one is not transactional.
    this.#deliveries.endTransaction();
    this.#gate.shut(error);
    callSafely(
      'a disconnected listener',
      () => this.emit('disconnected', error),
      this.connection.log,
    );
    const open = () => this.connection.openEngineChannel();
    try {
      await this.reopen(open);
      await this.resumeConsumers(open, (failure, entity) =>
        this.connection.reportFailure(failure, entity),
      );
    } catch (failure) {
      // Closed meanwhile, or lost with the connection, whose recovery reopens it now.
      if (this.#state !== 'recovering' || this.connection.isRecovering) return;
      if (!this.connection.isOpen) return;
      this.connection.reportFailure(failure, `channel ${this.id}`);
      this.finish(
        failure instanceof ChannelError
          ? failure
          : new ChannelError('RECOVERY_FAILED', `channel ${this.id} did not reopen`, undefined, {
              cause: failure,
            }),
      );
    }
  }

  /** @internal Closes the channel for good with `error`: its consumers end, `close` is emitted. */
  finish(error: ChannelError): void {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    this.#closeError = error;
    this.#deliveries.clear();
    this.#gate.close(error);
    for (const consumer of [...this.#consumers]) consumer.end(error);
    this.#resolveClosed(error);
    if (this.#closingByApplication) {
      this.connection.log.write('warren.channel.closed', { channel: this.id });
    }
    callSafely('a close listener', () => this.emit('close', error), this.connection.log);
  }

  /**
   * @internal After the connection recovered: opens a channel on `engine`
   * and sets up confirm mode and QoS again. Consumers come back later, with
   * {@link Channel.resumeConsumers}, once the topology is declared again.
   */
  async reopen(open: () => Promise<ChannelEngine>): Promise<void> {
    if (this.#state !== 'recovering') return;
    const engine = await open();
    if (this.#state !== 'recovering') {
      // Closed by the application meanwhile: the new channel has no one to serve.
      await engine.close();
      return;
    }
    this.#current = engine;
    this.#attach(engine);
    if (this.#settings.confirm) await engine.selectConfirms(this.#rejectReturned);
    if (this.#deliveries.inTransaction) {
      await engine.call('tx.select', {});
      // What the lost transaction settled went back to the queues with it: nothing to roll back.
      this.#deliveries.beginTransaction();
    }
    for (const qos of this.#settings.qos.values()) await engine.call('basic.qos', qos);
  }

  /**
   * @internal Starts every consumer again. One the broker refuses (its queue
   * was deleted, it is exclusive elsewhere) closes the channel: it is
   * reported, ended, and the channel reopens for the others.
   */
  async resumeConsumers(
    open: () => Promise<ChannelEngine>,
    report: (error: unknown, what: string) => void,
  ): Promise<void> {
    if (this.#state !== 'recovering') return;
    const atOnce = await this.#resumeAtOnce(open);
    if (!atOnce && this.#state === 'recovering') await this.#resumeOneByOne(open, report);
    // Closed by the application meanwhile: it stays closed.
    if (this.#state !== 'recovering') return;
    this.#state = 'open';
    this.#gate.reopen();
    callSafely('a recovered listener', () => this.emit('recovered'), this.connection.log);
  }

  /**
   * Starts every consumer again without waiting for each answer: their
   * `basic.consume` go out with `nowait`, each after its QoS when that
   * differs from the one before; a `basic.qos` goes last, whose reply says
   * the broker took them all. One request in flight per channel would
   * otherwise make 10,000 consumers wait for 10,000 round trips. False when
   * the broker refused one: the channel is open again, and the caller
   * starts them one by one to learn which.
   */
  async #resumeAtOnce(open: () => Promise<ChannelEngine>): Promise<boolean> {
    if (this.#consumers.size === 0) return true;
    const engine = this.#current;
    // What reopen() left in force for consumers started now.
    let qos = this.#settings.qos.get(false);
    const sent: Consumer[] = [];
    try {
      for (const consumer of [...this.#consumers]) {
        // Cancelled by the application while a QoS was sent: it stays cancelled.
        if (!this.#consumers.has(consumer)) continue;
        const wanted = consumer.qos;
        if (wanted !== undefined && !sameQos(wanted, qos)) {
          await engine.call('basic.qos', wanted);
          qos = wanted;
        }
        consumer.resumeAtOnce(engine);
        sent.push(consumer);
      }
      // Last, and always, a request whose reply says the broker took every consume; it leaves
      // the QoS as one by one does: the latest per-consumer QoS for consumers started from now
      // on, else the channel-wide limit again (none: no limit, as a fresh channel has).
      const last =
        this.#settings.qos.get(false) ?? this.#settings.qos.get(true) ?? UNLIMITED_CHANNEL_QOS;
      await engine.call('basic.qos', last);
      // Cancelled by the application after its consume went out (nothing is sent while the
      // channel recovers): the broker runs it, so it is stopped here. What it delivered
      // meanwhile goes back to the queue (a cancelled consumer rejects it).
      const stopped = new Set<Consumer>();
      for (let more = true; more; ) {
        more = false;
        for (const consumer of sent) {
          if (this.#consumers.has(consumer) || stopped.has(consumer)) continue;
          stopped.add(consumer);
          more = true;
          await engine.cancel(consumer.tag);
        }
      }
      return true;
    } catch (error) {
      // Only a closed channel tells of a refusal: on one still open, the consumers sent may
      // run, and sending them again would be a duplicate tag, which closes the connection.
      if (!this.connection.isEngineOpen || engine.isOpen) throw error;
      await this.reopen(open);
      return false;
    }
  }

  /** Starts every consumer again, one request at a time; a refused one is reported and ended. */
  async #resumeOneByOne(
    open: () => Promise<ChannelEngine>,
    report: (error: unknown, what: string) => void,
  ): Promise<void> {
    // A refusal closes the channel, and with it the consumers already resumed on it: reopen and
    // start over with the rest. Each round ends at least one consumer, so this ends.
    for (let done = false; !done; ) {
      done = true;
      for (const consumer of [...this.#consumers]) {
        // Cancelled by the application while an earlier one resumed: it stays cancelled.
        if (!this.#consumers.has(consumer)) continue;
        try {
          await consumer.resume(this.#current);
        } catch (error) {
          if (!this.connection.isEngineOpen) throw error;
          report(error, `consumer ${consumer.tag} on queue '${consumer.queue.name}'`);
          consumer.end(
            error instanceof AmqpError
              ? error
              : new AmqpError('RECOVERY_FAILED', describeMessage(error)),
          );
          if (!this.#current.isOpen) {
            await this.reopen(open);
            done = false;
            break;
          }
        }
      }
    }
    // Consumers started from now on get the channel's latest per-consumer QoS, as before.
    const latest = this.#settings.qos.get(false);
    if (latest !== undefined) await this.#current.call('basic.qos', latest);
  }

  /**
   * Declares an exchange (creating it unless it exists with the same
   * settings) and returns it. It is durable unless `options.durable` says
   * otherwise.
   * @throws ChannelError PRECONDITION_FAILED (406) when it exists with other settings;
   *   NOT_FOUND (404) for a passive declare of a missing exchange. Either closes the channel.
   */
  async declareExchange<S extends Schema | undefined = undefined>(
    name: string,
    type: ExchangeType,
    options: ExchangeOptions<S> = {},
  ): Promise<Exchange<SchemaInput<S>>> {
    checkShortString(name, 'exchange name');
    checkShortString(type, 'exchange type');
    checkOptions(options, 'declareExchange');
    const args = {
      exchange: name,
      type,
      passive: options.passive ?? false,
      durable: options.durable ?? true,
      autoDelete: options.autoDelete ?? false,
      internal: options.internal ?? false,
      nowait: false,
      arguments: options.arguments ?? {},
    };
    await this.call('exchange.declare', args, { signal: options.signal });
    this.connection.topology.addExchange(args);
    // A passive declare only checks that it exists: its options describe it, as a handle's do.
    const declaration = args.passive ? options : args;
    return Exchange.create(this, name, { ...declaration, type, schema: options.schema });
  }

  /**
   * Declares a queue and returns it. Without a name (or with `''`) the broker
   * names it: read {@link Queue.name}. It is durable unless
   * `options.durable` says otherwise, or it is server-named or exclusive
   * (those die with their connection, so they default to non-durable).
   * @throws ChannelError PRECONDITION_FAILED (406) when it exists with other settings;
   *   RESOURCE_LOCKED (405) when another connection holds it exclusively;
   *   NOT_FOUND (404) for a passive declare of a missing queue.
   */
  async declareQueue<S extends Schema | undefined = undefined>(
    name = '',
    options: QueueOptions<S> = {},
  ): Promise<Queue<SchemaOutput<S>>> {
    checkShortString(name, 'queue name');
    checkOptions(options, 'declareQueue');
    const exclusive = options.exclusive ?? false;
    const args = {
      queue: name,
      passive: options.passive ?? false,
      // RabbitMQ 4 deprecates transient queues that are not exclusive: durable unless it dies
      // with the connection anyway.
      durable: options.durable ?? (name !== '' && !exclusive),
      exclusive,
      autoDelete: options.autoDelete ?? false,
      nowait: false,
      arguments: options.arguments ?? {},
    };
    const reply = await this.call('queue.declare', args, { signal: options.signal });
    const ok = reply.method.args as MethodArgs<'queue.declare-ok'>;
    const counts = { messageCount: ok.messageCount, consumerCount: ok.consumerCount };
    const declaration = args.passive ? options : args;
    const queue = Queue.create<SchemaOutput<S>>(this, ok.queue, counts, {
      ...declaration,
      schema: options.schema,
    });
    this.connection.topology.addQueue(queue as Queue, args);
    return queue;
  }

  /**
   * A handle for an exchange that exists, without declaring it.
   * `exchange('')` is the default exchange. Its options other than `schema`
   * only describe the exchange: they are kept on the handle, never sent.
   */
  exchange<S extends Schema | undefined = undefined>(
    name: string,
    options: ExchangeHandleOptions<S> = {},
  ): Exchange<SchemaInput<S>> {
    checkShortString(name, 'exchange name');
    checkOptions(options, 'channel.exchange');
    return Exchange.create(this, name, options);
  }

  /**
   * A handle for a queue that exists, without declaring it. Its options
   * other than `schema` only describe the queue: they are kept on the
   * handle, never sent.
   */
  queue<S extends Schema | undefined = undefined>(
    name: string,
    options: QueueHandleOptions<S> = {},
  ): Queue<SchemaOutput<S>> {
    checkShortString(name, 'queue name');
    checkOptions(options, 'channel.queue');
    return Queue.create(this, name, undefined, options);
  }

  /** Limits how many unacknowledged messages the broker sends (`basic.qos`). */
  async setQos(options: QosOptions): Promise<void> {
    if (options === undefined)
      throw new TypeError('setQos needs its options, such as { prefetchCount }');
    checkOptions(options, 'setQos');
    checkCount(options.prefetchCount, 'prefetchCount', 0, 0xffff);
    checkCount(options.prefetchSize, 'prefetchSize', 0, 0xffff_ffff);
    const { signal } = options;
    const qos = {
      prefetchCount: options.prefetchCount ?? 0,
      prefetchSize: options.prefetchSize ?? 0,
      global: options.global ?? false,
    };
    await this.call('basic.qos', qos, {
      signal,
      onReply: () => this.#settings.qos.set(qos.global, qos),
    });
  }

  /** @internal The per-consumer QoS in force now, which a consumer started now gets. */
  get consumerQos(): MethodArgs<'basic.qos'> | undefined {
    return this.#settings.qos.get(false);
  }

  /**
   * Handles messages the broker returns as unroutable (published with
   * `mandatory`, the default, on a channel without confirms). Replaces the
   * previous handler; `null` removes it. The `return` event fires too. With
   * neither, a process warning (`WARREN_UNHANDLED_RETURN`) reports the
   * first return of each exchange and routing key.
   */
  setReturnHandler(handler: ((message: ReturnedMessage) => void) | null): void {
    this.#returnHandler = handler;
  }

  /**
   * Asks the broker to redeliver every unacknowledged message of this
   * channel (`basic.recover`); RabbitMQ requeues them. `requeue: false` is a
   * RangeError: RabbitMQ does not implement it.
   */
  async recover(options: RecoverOptions = {}): Promise<void> {
    checkOptions(options, 'recover');
    if (options.requeue === false) {
      // RabbitMQ answers it by closing the whole connection with 540 NOT_IMPLEMENTED.
      throw new RangeError('RabbitMQ does not implement recover without requeue');
    }
    await this.call(
      'basic.recover',
      { requeue: options.requeue ?? true },
      {
        signal: options.signal,
        // The broker forgets the deliveries made before recover-ok: settling one now would be a
        // stale tag. Forget them on the reply itself, not after the await: redeliveries may follow
        // recover-ok in the same chunk, and those are new deliveries to settle.
        onReply: () => this.#deliveries.recovered(),
      },
    );
  }

  /** Puts the channel in transaction mode (`tx.select`): publishes and acks wait for {@link Channel.txCommit}. */
  async txSelect(options: TxOptions = {}): Promise<void> {
    checkOptions(options, 'txSelect');
    await this.call(
      'tx.select',
      {},
      { signal: options.signal, onReply: () => this.#deliveries.beginTransaction() },
    );
  }

  /** Commits the current transaction (`tx.commit`); a new one starts at once. */
  async txCommit(options: TxOptions = {}): Promise<void> {
    checkOptions(options, 'txCommit');
    await this.call(
      'tx.commit',
      {},
      { signal: options.signal, onReply: () => this.#deliveries.beginTransaction() },
    );
  }

  /**
   * Abandons the current transaction's publishes and settlements
   * (`tx.rollback`). Messages acked, nacked or rejected in it are unsettled
   * again, on the broker and here: settle them anew.
   */
  async txRollback(options: TxOptions = {}): Promise<void> {
    checkOptions(options, 'txRollback');
    await this.call(
      'tx.rollback',
      {},
      {
        signal: options.signal,
        onReply: () => this.#deliveries.rolledBack(),
      },
    );
  }

  /**
   * Closes the channel gracefully: its consumers stop (as
   * {@link Consumer.cancel}), their running handlers finish (within
   * `options.timeout`), then the channel closes. Unsettled messages return
   * to their queues. Idempotent.
   * @throws AbortError when `options.signal` aborts the wait; the close goes on
   */
  async close(options: CloseOptions = {}): Promise<void> {
    checkOptions(options, 'channel.close');
    checkTimeout(options.timeout, 'timeout');
    this.#closingByApplication = true;
    this.#closing ??= this.stopConsumers(options.timeout).then(async () => {
      await this.#current.close();
      // A channel closed while its connection recovers has no engine to close it.
      this.finish(new ChannelError('CHANNEL_CLOSED', 'channel closed by the application'));
    });
    await waitWithin(this.#closing, { signal: options.signal }, 'closing the channel');
  }

  /** @internal Cancels every consumer and waits for their handlers, up to `timeout`. */
  async stopConsumers(timeout: number | undefined): Promise<void> {
    const consumers = [...this.#consumers];
    await Promise.allSettled(consumers.map((consumer) => consumer.cancel({ timeout })));
  }

  /** @internal A consumer started on this channel. */
  track(consumer: Consumer): void {
    this.#consumers.add(consumer);
  }

  /**
   * @internal Claims a consumer tag for a consumer about to start.
   * @throws RangeError when a consumer of this channel (running or starting) has it
   */
  claimTag(tag: string): void {
    if (this.#consumerTags.has(tag)) {
      throw new RangeError(
        `consumer tag '${tag}' is already in use on channel ${this.id}: a consumer tag must be unique on its channel`,
      );
    }
    this.#consumerTags.add(tag);
  }

  /** @internal A consumer tag is free again: its consumer stopped, or did not start. */
  releaseTag(tag: string): void {
    this.#consumerTags.delete(tag);
  }

  /** @internal A consumer stopped. */
  forget(consumer: Consumer): void {
    this.#consumerTags.delete(consumer.tag);
    if (this.#consumers.delete(consumer)) this.connection.consumerStopped(consumer.queue.name);
  }

  /** @internal Whether a consumer of the queue `name` runs on this channel. */
  consumes(name: string): boolean {
    for (const consumer of this.#consumers) if (consumer.queue.name === name) return true;
    return false;
  }

  /** Closes the channel, for `await using channel = …`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** @internal Wraps a delivered or fetched message. */
  incoming<T>(command: Command, info: DeliveryInfo, queue: Queue<T>): IncomingMessage<T> {
    const content = command.content;
    const body = content?.body ?? Buffer.alloc(0);
    const message = IncomingMessage.create<T>(body, content?.properties ?? {}, info, this);
    if (!info.noAck) this.#deliveries.track(message as IncomingMessage<unknown>);
    if (receiveChannel.hasSubscribers) {
      receiveChannel.publish(new Delivery(message as IncomingMessage, queue.name, this));
    }
    return message;
  }

  /**
   * @internal Refuses a delivered or fetched message over `maxBodySize`: one
   * that needs an ack is tracked and rejected without requeue, in its place
   * among the channel's deliveries, so that runs of acks neither cover nor
   * skip its tag. Returns the error that reports it.
   */
  refuse(command: Command, info: DeliveryInfo, method: TooLargeMethod): MessageTooLargeError {
    const oversized = command.oversized as OversizedContent;
    let rejected = false;
    if (!info.noAck) {
      const stand = IncomingMessage.create(EMPTY_BODY, oversized.properties, info, this);
      this.#deliveries.track(stand as IncomingMessage<unknown>);
      try {
        stand.reject({ requeue: false });
        rejected = true;
      } catch {
        // The channel closed meanwhile: the broker requeues it, and it comes back to be refused.
      }
    }
    return new MessageTooLargeError({ ...info, method, rejected }, oversized);
  }

  /** @internal */
  settle(message: IncomingMessage<unknown>, settlement: Settlement): void {
    const tag = message.deliveryTag;
    const outcome = this.#deliveries.settle(message, settlement);
    if (outcome !== 'stale' && settleChannel.hasSubscribers) {
      settleChannel.publish(new Settling(message, settlement, this));
    }
    switch (outcome) {
      case 'stale':
        // The channel closed or recovered since: the broker has requeued it already.
        return;
      case 'run':
        // The oldest unsettled message: its ack joins the channel's run of acks, written as one
        // multiple-ack at the end of the turn (a consumer acking each message in turn sends one
        // frame per socket write, not one per message). Any other settlement writes the run first.
        this.#current.ackInRun(tag);
        return;
      case 'send':
        break;
    }
    switch (settlement.kind) {
      case 'ack':
        this.#current.send('basic.ack', { deliveryTag: tag, multiple: settlement.multiple });
        return;
      case 'nack':
        this.#current.send('basic.nack', {
          deliveryTag: tag,
          multiple: settlement.multiple,
          requeue: settlement.requeue,
        });
        return;
      case 'reject':
        this.#current.send('basic.reject', { deliveryTag: tag, requeue: settlement.requeue });
        return;
    }
  }

  #onReturn(message: ReturnedMessage): void {
    const handled = this.#returnHandler !== null || this.listenerCount('return') > 0;
    const handler = this.#returnHandler;
    if (handler !== null)
      callSafely('the return handler', () => handler(message), this.connection.log);
    callSafely('a return listener', () => this.emit('return', message), this.connection.log);
    if (!handled) this.#warnReturned(message);
  }

  /**
   * Warns of an unhandled return once per exchange and routing key: publishes
   * are mandatory by default, so one unroutable key could otherwise warn for
   * every message.
   */
  #warnReturned(message: ReturnedMessage): void {
    // The length prefix keeps ('a', 'bc') and ('ab', 'c') apart.
    const key = `${message.exchange.length}:${message.exchange}${message.routingKey}`;
    if (this.#warnedReturns.has(key)) return;
    if (this.#warnedReturns.size >= WARNED_RETURNS_MAX) this.#warnedReturns.clear();
    this.#warnedReturns.add(key);
    this.connection.log.write('warren.channel.returned', {
      channel: this.id,
      exchange: message.exchange,
      routingKey: message.routingKey,
      replyCode: message.replyCode,
      replyText: message.replyText,
      messageId: message.properties.messageId,
    });
  }
}

/** The channel-wide QoS of a fresh channel: no limit. */
const UNLIMITED_CHANNEL_QOS: MethodArgs<'basic.qos'> = Object.freeze({
  prefetchSize: 0,
  prefetchCount: 0,
  global: true,
});

/** Whether two QoS settings are the same. */
function sameQos(a: MethodArgs<'basic.qos'>, b: MethodArgs<'basic.qos'> | undefined): boolean {
  return (
    b !== undefined &&
    a.prefetchCount === b.prefetchCount &&
    a.prefetchSize === b.prefetchSize &&
    a.global === b.global
  );
}

/** The reply's arguments, on an operation's diagnostics message. */
function onReply(diagnostic: Operation, reply: Command): void {
  diagnostic.reply = reply.method.args as Readonly<Record<string, unknown>>;
}
