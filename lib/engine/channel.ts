import { EventEmitter } from 'eventemitter3';
import { type Command, ContentAssembler, type OversizedContent } from '../protocol/assembler.js';
import { type AmqpError, ProtocolError } from '../protocol/errors.js';
import type { BodyFrame, HeaderFrame, MethodFrame } from '../protocol/frames.js';
import type { BasicProperties, Method, MethodArgs, MethodName } from '../protocol/spec.js';
import { throwIfAborted } from './abort.js';
import type { DeliveryBacklog } from './backlog.js';
import { ConfirmTracker, type ReturnedContent, type ReturnRejection } from './confirms.js';
import { ChannelError, PublishUnconfirmedError } from './errors.js';
import { type CallOptions, isReply, RpcQueue } from './rpc.js';

const EMPTY = Buffer.alloc(0);

/** What the engine offers a channel: writing frames, and waiting for the socket. */
export interface ChannelHost {
  sendMethod<N extends MethodName>(channel: number, name: N, args: MethodArgs<N>): void;
  sendContent(
    channel: number,
    args: MethodArgs<'basic.publish'>,
    properties: BasicProperties,
    body: Uint8Array,
  ): void;
  /** Resolves when the socket takes writes again (at once when it does). */
  whenWritable(): Promise<void>;
  /** The channel has finished closing: its number may be used again. */
  release(channel: number): void;
  /** The channel holds a run of acks: have it write them (flushAckRun) before the next write. */
  holdsAcks(channel: ChannelEngine): void;
  readonly maxBodySize: number;
  /** The connection's deliveries waiting for a handler. */
  readonly backlog: DeliveryBacklog;
}

/** Receives the deliveries of one consumer. */
export interface ConsumerSink {
  deliver(delivery: Command): void;
  /** The consumer ended: the broker cancelled it (`error` undefined) or its channel closed. */
  ended(error: ChannelError | undefined): void;
}

export interface ChannelEngineEvents {
  /** The channel closed, for whatever reason; `error.code` says which. */
  close: [error: ChannelError];
  /** The broker returned an unroutable mandatory message that no confirm was waiting for. */
  return: [returned: ReturnedContent];
  /** Likewise, but its body is over maxBodySize: it was skipped, and only its description is left. */
  oversizedReturn: [args: MethodArgs<'basic.return'>, oversized: OversizedContent];
  /** The broker paused (`false`) or resumed (`true`) publishing on this channel. */
  flow: [active: boolean];
}

type State = 'opening' | 'open' | 'closing' | 'closed';

/**
 * One channel's protocol state: synchronous requests in order, content
 * reassembly, consumers by tag, publisher confirms, and the close handshake.
 * Every way a channel ends goes through {@link ChannelEngine.fail}.
 */
export class ChannelEngine extends EventEmitter<ChannelEngineEvents> {
  readonly id: number;
  private state: State = 'opening';
  private closeError: ChannelError | null = null;
  private readonly rpc: RpcQueue;
  private readonly assembler: ContentAssembler;
  private readonly consumers = new Map<string, ConsumerSink>();
  private confirms: ConfirmTracker | null = null;
  private flowActive = true;
  private flowWaiters: (() => void)[] = [];
  private closing: Promise<void> | null = null;
  private resolveClosed: (() => void) | null = null;
  /** Both sides sent channel.close: ours is still owed its close-ok, so the number stays taken. */
  private closeOkOwed = false;
  /** The highest tag of a run of acks not yet written (see {@link ChannelEngine.ackInRun}), and its length. */
  private ackRunTag = 0;
  private ackRunLength = 0;

  constructor(
    id: number,
    private readonly host: ChannelHost,
  ) {
    super();
    this.id = id;
    this.assembler = new ContentAssembler(host.maxBodySize);
    this.rpc = new RpcQueue((name, args) => this.write(name, args));
  }

  /** Whether the channel is open for operations. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Why the channel closed, once it has. */
  get error(): ChannelError | null {
    return this.closeError;
  }

  /** Whether publishes are confirmed. */
  get confirmMode(): boolean {
    return this.confirms !== null;
  }

  /** @internal Sends channel.open; resolves when the broker has opened it. */
  async open(signal?: AbortSignal): Promise<void> {
    await this.rpc.call('channel.open', { outOfBand: '' }, { signal });
    // A fatal frame right behind open-ok may have closed it already.
    if (this.state !== 'opening') throw this.unusable();
    this.state = 'open';
  }

  /** Sends a synchronous method and resolves with the broker's reply. */
  call<N extends MethodName>(
    name: N,
    args: MethodArgs<N>,
    options?: CallOptions,
  ): Promise<Command> {
    if (this.state !== 'open') return Promise.reject(this.unusable());
    return this.rpc.call(name, args, options);
  }

  /** Sends an asynchronous method (ack, nack, reject, recover-async). Throws when the channel is closed. */
  send<N extends MethodName>(name: N, args: MethodArgs<N>): void {
    if (this.state !== 'open') throw this.unusable();
    this.write(name, args);
  }

  /**
   * Acknowledges `deliveryTag` as part of a run: the run goes out as one `basic.ack` (with
   * `multiple` when it holds more than one) before the connection next writes, or before
   * anything else on this channel. Only for a tag that is the oldest the application has not
   * settled on this channel, so that acking every tag up to the run's highest acks exactly the
   * run. Throws when the channel is closed.
   */
  ackInRun(deliveryTag: number): void {
    if (this.state !== 'open') throw this.unusable();
    if (this.ackRunLength === 0) this.host.holdsAcks(this);
    this.ackRunTag = deliveryTag;
    this.ackRunLength++;
  }

  /** @internal Writes the run of acks held, if any (dropped once the channel is not open: the broker requeues). */
  flushAckRun(): void {
    const length = this.ackRunLength;
    if (length === 0) return;
    this.ackRunLength = 0;
    if (this.state !== 'open') return;
    this.host.sendMethod(this.id, 'basic.ack', {
      deliveryTag: this.ackRunTag,
      multiple: length > 1,
    });
  }

  /** Writes a method on this channel, after the run of acks it holds. */
  private write<N extends MethodName>(name: N, args: MethodArgs<N>): void {
    this.flushAckRun();
    this.host.sendMethod(this.id, name, args);
  }

  /**
   * Turns on publisher confirms. A mandatory publish the broker returns
   * rejects with what `rejectReturned` makes of it.
   */
  async selectConfirms(rejectReturned: ReturnRejection, signal?: AbortSignal): Promise<void> {
    if (this.confirms !== null) return;
    await this.call('confirm.select', { nowait: false }, { signal });
    this.confirms ??= new ConfirmTracker(rejectReturned);
  }

  /**
   * Publishes a message. With confirms, resolves when the broker acks it and
   * rejects on nack or return; without, resolves once the socket takes more
   * writes (at once unless it is full). Never throws: every failure is a rejection.
   */
  publish(
    args: MethodArgs<'basic.publish'>,
    properties: BasicProperties,
    body: Uint8Array,
    signal?: AbortSignal,
  ): Promise<void> {
    // Not an async function: a publish is the hot path, and each async layer costs a promise.
    if (!this.flowActive) return this.publishAfterFlow(args, properties, body, signal);
    try {
      if (this.state !== 'open') throw this.unusable();
      this.flushAckRun();
      this.host.sendContent(this.id, args, properties, body);
    } catch (error) {
      return Promise.reject(error);
    }
    if (this.confirms === null) return this.host.whenWritable();
    return this.confirms.track(args.mandatory, args.exchange, args.routingKey);
  }

  /** A publish while the broker holds publishing (channel.flow): it goes out on resume. */
  private async publishAfterFlow(
    args: MethodArgs<'basic.publish'>,
    properties: BasicProperties,
    body: Uint8Array,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    while (!this.flowActive && this.state === 'open') {
      await new Promise<void>((resolve) => this.flowWaiters.push(resolve));
    }
    // Aborted while the broker held publishing: it must not go out now.
    throwIfAborted(signal, 'publish');
    return this.publish(args, properties, body, signal);
  }

  /** Starts a consumer; `sink` receives its deliveries from the first one on. Resolves with the tag. */
  async consume(
    args: MethodArgs<'basic.consume'>,
    sink: ConsumerSink,
    signal?: AbortSignal,
  ): Promise<string> {
    const reply = await this.call('basic.consume', args, {
      signal,
      // Deliveries may follow consume-ok in the same chunk: register before they are handled.
      onReply: (command, abandoned) => {
        const { consumerTag } = command.method.args as MethodArgs<'basic.consume-ok'>;
        if (!abandoned) {
          this.consumers.set(consumerTag, sink);
          return;
        }
        // The caller gave up after the broker started the consumer: hand back what it
        // delivers until the cancel goes through.
        this.consumers.set(consumerTag, this.requeueingSink(args.noAck));
        this.cancel(consumerTag).catch(() => {});
      },
    });
    return (reply.method.args as MethodArgs<'basic.consume-ok'>).consumerTag;
  }

  /**
   * Starts a consumer without waiting for consume-ok (`nowait`), for
   * recovery: `sink` is registered first, since deliveries may follow at
   * once. A refusal closes the channel; the channel's next synchronous
   * request then fails, and its success says the broker took this one.
   */
  consumeAtOnce(args: MethodArgs<'basic.consume'>, sink: ConsumerSink): void {
    if (this.state !== 'open') throw this.unusable();
    this.consumers.set(args.consumerTag, sink);
    this.write('basic.consume', { ...args, nowait: true });
  }

  /** Cancels a consumer; deliveries that arrive before cancel-ok still reach it. */
  async cancel(consumerTag: string, signal?: AbortSignal): Promise<void> {
    await this.call(
      'basic.cancel',
      { consumerTag, nowait: false },
      { signal, onReply: () => this.consumers.delete(consumerTag) },
    );
  }

  /** A sink for deliveries nobody wants: each goes back to its queue at once. */
  private requeueingSink(noAck: boolean): ConsumerSink {
    return {
      deliver: (command) => {
        if (noAck || this.state !== 'open') return;
        const { deliveryTag } = command.method.args as MethodArgs<'basic.deliver'>;
        // One over maxBodySize would only come back: refuse it, as a consumer would.
        this.write('basic.reject', { deliveryTag, requeue: command.oversized === undefined });
      },
      ended: () => {},
    };
  }

  /** Closes the channel: channel.close, then close-ok. Idempotent. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.state === 'closed') return Promise.resolve();
    // Acks the application made before closing go out before the close.
    this.flushAckRun();
    this.state = 'closing';
    this.closing = new Promise<void>((resolve) => {
      this.resolveClosed = resolve;
    });
    try {
      this.write('channel.close', {
        replyCode: 200,
        replyText: 'closed by the application',
        classId: 0,
        methodId: 0,
      });
    } catch {
      // The connection is closing: the channel closes with it, which settles `closing`.
    }
    return this.closing;
  }

  /** @internal Where the next bytes of the body being received go (see ContentAssembler.window). */
  bodyWindow(max: number): Buffer | null {
    return this.assembler.window(max);
  }

  /** @internal The connection's deliveries waiting for a handler: consumers count theirs in it. */
  get backlog(): DeliveryBacklog {
    return this.host.backlog;
  }

  /** @internal Body bytes still to come for the message being received. */
  get bodyLeft(): number {
    return this.assembler.bodyLeft;
  }

  /** @internal Handles one frame addressed to this channel. Throws a ProtocolError for the connection. */
  handleFrame(frame: MethodFrame | HeaderFrame | BodyFrame): void {
    const command = this.assembler.push(frame);
    if (command === null) return;
    if (this.state === 'closing' || this.closeOkOwed) {
      this.whileClosing(command.method);
      return;
    }
    this.dispatch(command);
  }

  /**
   * @internal Ends the channel with `error`: every pending request,
   * unconfirmed publish and consumer settles with it, then `close` is emitted.
   */
  fail(error: ChannelError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeError = error;
    this.rpc.fail(error);
    this.confirms?.fail(new PublishUnconfirmedError(error));
    const consumers = [...this.consumers.values()];
    this.consumers.clear();
    for (const sink of consumers) sink.ended(error);
    for (const resume of this.flowWaiters.splice(0)) resume();
    this.resolveClosed?.();
    this.emit('close', error);
  }

  private dispatch(command: Command): void {
    const { method } = command;
    switch (method.name) {
      case 'basic.deliver':
        this.consumers.get(method.args.consumerTag)?.deliver(command);
        return;
      case 'basic.ack':
        this.confirms?.ack(method.args.deliveryTag, method.args.multiple);
        return;
      case 'basic.nack':
        this.confirms?.nack(method.args.deliveryTag, method.args.multiple);
        return;
      case 'basic.return':
        this.onReturn(method.args, command);
        return;
      case 'basic.cancel':
        this.onBrokerCancel(method.args.consumerTag, method.args.nowait);
        return;
      case 'channel.flow':
        this.write('channel.flow-ok', { active: method.args.active });
        this.setFlow(method.args.active);
        return;
      case 'channel.close':
        // The broker discards what follows its close, and requeues what the run would ack.
        this.ackRunLength = 0;
        this.write('channel.close-ok', {});
        this.finish(ChannelError.fromBroker(method.args));
        return;
      default:
        if (isReply(method.name)) {
          this.rpc.settle(command);
          return;
        }
        throw unexpectedMethod(method);
    }
  }

  /** After we sent channel.close, only close and close-ok count; the rest is discarded. */
  private whileClosing(method: Method): void {
    if (method.name === 'channel.close-ok') {
      if (this.closeOkOwed) {
        this.closeOkOwed = false;
        this.host.release(this.id);
        return;
      }
      this.finish(new ChannelError('CHANNEL_CLOSED', 'channel closed by the application'));
    } else if (method.name === 'channel.close' && !this.closeOkOwed) {
      // Both sides closed at once: answer, and settle everything with the broker's reason. The
      // broker still answers our close with close-ok, so the number is released only then: a
      // close-ok for a released number would be an unexpected frame, fatal to the connection.
      this.write('channel.close-ok', {});
      this.closeOkOwed = true;
      this.fail(ChannelError.fromBroker(method.args));
    }
  }

  private finish(error: ChannelError): void {
    this.fail(error);
    this.host.release(this.id);
  }

  private onReturn(args: MethodArgs<'basic.return'>, command: Command): void {
    const { content, oversized } = command;
    const properties = content?.properties ?? oversized?.properties ?? {};
    // A confirmed publish still learns that it came back when its body was too large to keep.
    const returned: ReturnedContent = { ...args, properties, body: content?.body ?? EMPTY };
    if (this.confirms?.returned(returned)) return;
    if (oversized !== undefined) this.emit('oversizedReturn', args, oversized);
    else this.emit('return', returned);
  }

  private onBrokerCancel(consumerTag: string, nowait: boolean): void {
    const sink = this.consumers.get(consumerTag);
    this.consumers.delete(consumerTag);
    if (!nowait) this.write('basic.cancel-ok', { consumerTag });
    sink?.ended(undefined);
  }

  private setFlow(active: boolean): void {
    this.flowActive = active;
    if (active) for (const resume of this.flowWaiters.splice(0)) resume();
    this.emit('flow', active);
  }

  private unusable(): AmqpError {
    return (
      this.closeError ?? new ChannelError('CHANNEL_CLOSED', `channel ${this.id} is ${this.state}`)
    );
  }
}

function unexpectedMethod(method: Method): ProtocolError {
  return new ProtocolError('UNEXPECTED_FRAME', `${method.name} is not a method a client receives`);
}
