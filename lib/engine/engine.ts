import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { inspect } from 'node:util';
import { EventEmitter } from 'eventemitter3';
import type { Command } from '../protocol/assembler.js';
import { describeMessage } from '../protocol/describe.js';
import { AmqpError, ProtocolError } from '../protocol/errors.js';
import type { FieldTable } from '../protocol/field-types.js';
import { FRAME_OVERHEAD, type Frame, FrameEncoder, PROTOCOL_HEADER } from '../protocol/frames.js';
import { FrameParser } from '../protocol/parser.js';
import type { BasicProperties, MethodArgs, MethodName } from '../protocol/spec.js';
import { DeliveryBacklog } from './backlog.js';
import { ChannelEngine, type ChannelHost } from './channel.js';
import { ChannelError, ConnectionError } from './errors.js';
import { Heartbeat } from './heartbeat.js';
import { ReadSlab } from './read-slab.js';
import { RpcQueue } from './rpc.js';
import { chooseMechanism, type SaslMechanism, saslResponse } from './sasl.js';

/** What the engine needs to open a connection over a connected socket. */
export interface EngineOptions {
  readonly username: string;
  readonly password: string;
  readonly vhost: string;
  /** The SASL mechanism; when absent, PLAIN or else AMQPLAIN, whichever the broker offers. */
  readonly mechanism?: SaslMechanism | undefined;
  /** Heartbeat interval wanted, in seconds; 0 turns heartbeats off. */
  readonly heartbeat: number;
  /** Largest frame wanted, in bytes; 0 means no limit from our side. */
  readonly frameMax: number;
  /** Most channels wanted; 0 means no limit from our side. */
  readonly channelMax: number;
  /** Sent to the broker as the client properties; the engine adds nothing. */
  readonly clientProperties: FieldTable;
  /** Bodies announced larger than this are a protocol error. */
  readonly maxBodySize: number;
  /**
   * The weight of deliveries waiting for a handler (see {@link DeliveryBacklog}) beyond which the
   * socket is not read. @default {@link DEFAULT_MAX_BUFFERED_DELIVERY_BYTES}
   */
  readonly maxBufferedDeliveryBytes?: number | undefined;
  /**
   * The bytes waiting to be written beyond which a publish is refused (`PUBLISH_BUFFER_FULL`).
   * @default {@link DEFAULT_MAX_BUFFERED_PUBLISH_BYTES}
   */
  readonly maxBufferedPublishBytes?: number | undefined;
}

/** @internal The default of `maxBufferedDeliveryBytes`: 64 MiB. */
export const DEFAULT_MAX_BUFFERED_DELIVERY_BYTES = 64 * 1024 * 1024;
/**
 * @internal The default of `maxBufferedPublishBytes`: 128 MiB, above the 64 MiB of publishes
 * recovery holds by default (`recovery.maxWaitingBytes`), which all go out at once on reconnect.
 */
export const DEFAULT_MAX_BUFFERED_PUBLISH_BYTES = 128 * 1024 * 1024;

/** How much a connection holds in its buffers, and whether it reads. */
export interface BufferedBytes {
  /**
   * The weight of the deliveries waiting for a handler, in bytes: their
   * bodies plus 512 bytes each. Over `maxBufferedDeliveryBytes`, warren stops
   * reading the socket.
   */
  readonly deliveries: number;
  /**
   * The bytes written that the socket has not sent yet (publishes, acks,
   * everything). Over `maxBufferedPublishBytes`, a publish is refused.
   */
  readonly writes: number;
  /** Whether warren stopped reading the socket because deliveries wait for handlers. */
  readonly readingPaused: boolean;
}

/** What the broker and client agreed on. */
export interface Tuning {
  /** The most channels open at once. */
  readonly channelMax: number;
  /** The largest frame either side sends, in bytes. */
  readonly frameMax: number;
  /** The heartbeat interval in seconds; 0 when heartbeats are off. */
  readonly heartbeat: number;
}

export interface EngineEvents {
  /** The connection closed, for whatever reason; `error.code` says which. */
  close: [error: ConnectionError];
  /** The broker stopped reading from this connection (a resource alarm). */
  blocked: [reason: string];
  /** The broker reads from this connection again. */
  unblocked: [];
}

type State = 'handshake' | 'open' | 'closing' | 'closed';

const RESOLVED: Promise<void> = Promise.resolve();
/** How long a close waits for the broker's close-ok before the socket is cut. */
const CLOSE_TIMEOUT_MS = 5_000;
/**
 * Body bytes that make a batch worth writing before the turn ends. Larger batches mean fewer
 * write calls: 64 KiB cost about an eighth less CPU per small publish than 16 KiB (Node's
 * socket buffer) in bench/, and bound what a publisher looping on `await publish()` holds.
 */
const WRITE_BATCH_BYTES = 64 * 1024;
/** A body with fewer bytes than this still to come is read into the read slab, and copied. */
const DIRECT_READ_MIN = 16 * 1024;
/** The methods that settle a delivery: writing one is work done (see Engine.workDone). */
const SETTLEMENTS: ReadonlySet<MethodName> = new Set(['basic.ack', 'basic.nack', 'basic.reject']);
/** Largest channel number AMQP can carry. */
const CHANNEL_LIMIT = 0xffff;

/**
 * The protocol engine of one connection: handshake, tuning, heartbeats,
 * channels by number, write batching and backpressure, and the close
 * handshake. It is the only code that touches the socket. Every way the
 * connection ends goes through {@link Engine.fail}.
 */
export class Engine extends EventEmitter<EngineEvents> implements ChannelHost {
  readonly maxBodySize: number;
  /** @internal The deliveries waiting for a handler; over its limit, the socket is not read. */
  readonly backlog: DeliveryBacklog;
  private readonly maxBufferedPublishBytes: number;
  /** The error publishes are refused with while too much waits to be written (see sendContent). */
  private bufferFull: AmqpError | null = null;
  /** Whether the socket is paused because deliveries wait (see {@link Engine.backlog}). */
  private readingPaused = false;
  /** What the broker announced in connection.start. */
  serverProperties: FieldTable = {};
  tuning: Tuning = { channelMax: 0, frameMax: 0, heartbeat: 0 };

  private state: State = 'handshake';
  private closeError: ConnectionError | null = null;
  private readonly parser = new FrameParser();
  private readonly encoder = new FrameEncoder();
  private readonly channels = new Map<number, ChannelEngine>();
  private readonly control: RpcQueue;
  private heartbeat: Heartbeat | null = null;
  private flushScheduled = false;
  /** Batches handed to the socket whose write has not called back yet. */
  private writesInFlight = 0;
  private drain: { promise: Promise<void>; resolve(): void; reject(error: Error): void } | null =
    null;
  private inbox: Command[] = [];
  private inboxWaiter: ((command: Command) => void) | null = null;
  private handshakeFailure: ((error: ConnectionError) => void) | null = null;
  private closing: Promise<void> | null = null;
  private socketError: Error | undefined;
  private lastChannel = 0;
  /** The buffers socket reads go into (see readBuffer). */
  private readonly reads = new ReadSlab();
  /** Channels holding a run of acks, written at the next flush. */
  private readonly ackRuns: ChannelEngine[] = [];
  /** Body bytes encoded since the last flush. */
  private batchedBytes = 0;
  /**
   * Publishes and settlements written so far: whether the connection got any work done before
   * it was lost (recovery tells a failure that comes back at once from one after useful work).
   */
  workDone = 0;

  /** The address at the socket's other end (for diagnostics); undefined for a socket that is not TCP. */
  readonly peerAddress: string | undefined;
  /** The port at the socket's other end. */
  readonly peerPort: number | undefined;

  constructor(
    private readonly socket: Duplex,
    private readonly options: EngineOptions,
  ) {
    super();
    const peer = socket as Partial<Pick<Socket, 'remoteAddress' | 'remotePort'>>;
    this.peerAddress = peer.remoteAddress;
    this.peerPort = peer.remotePort;
    this.maxBodySize = options.maxBodySize;
    this.backlog = new DeliveryBacklog(
      options.maxBufferedDeliveryBytes ?? DEFAULT_MAX_BUFFERED_DELIVERY_BYTES,
      () => this.pauseReading(),
      () => this.resumeReading(),
    );
    this.maxBufferedPublishBytes =
      options.maxBufferedPublishBytes ?? DEFAULT_MAX_BUFFERED_PUBLISH_BYTES;
    this.control = new RpcQueue((name, args) => this.sendMethod(0, name, args));
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.onDrain());
    socket.on('error', (error: Error) => {
      this.socketError ??= error;
    });
    socket.on('close', () => this.onSocketClose());
  }

  /** Whether the connection is open for new work. */
  get isOpen(): boolean {
    return this.state === 'open';
  }

  /** Why the connection closed, once it has. */
  get error(): ConnectionError | null {
    return this.closeError;
  }

  /** What the connection holds in its buffers now. */
  get buffered(): BufferedBytes {
    return {
      deliveries: this.backlog.bytes,
      writes: this.socket.writableLength + this.batchedBytes,
      readingPaused: this.readingPaused,
    };
  }

  /**
   * Runs the AMQP handshake: protocol header, SASL, tuning, connection.open.
   * Rejects with a {@link ConnectionError} (ACCESS_REFUSED, NOT_ALLOWED,
   * NO_MECHANISM, CONNECTION_LOST, …); on rejection the socket is gone.
   */
  async handshake(): Promise<void> {
    const failed = new Promise<never>((_, reject) => {
      this.handshakeFailure = reject;
    });
    failed.catch(() => {});
    const next = async <N extends MethodName>(name: N): Promise<MethodArgs<N>> => {
      const args = await Promise.race([this.nextHandshakeMethod(name), failed]);
      // A fatal frame in the same chunk as the reply failed the connection after the reply came.
      if (this.closeError !== null) throw this.closeError;
      return args;
    };
    try {
      this.socket.write(PROTOCOL_HEADER);
      const start = await next('connection.start');
      this.serverProperties = start.serverProperties;
      const offered = start.mechanisms.toString('utf8');
      const mechanism = chooseMechanism(offered, this.options.mechanism);
      if (mechanism === undefined) {
        const wanted = this.options.mechanism ?? 'PLAIN or AMQPLAIN';
        throw new ConnectionError('NO_MECHANISM', `the broker offers ${offered}, not ${wanted}`);
      }
      this.sendMethod(0, 'connection.start-ok', {
        clientProperties: this.options.clientProperties,
        mechanism,
        response: saslResponse(mechanism, this.options.username, this.options.password),
        locale: 'en_US',
      });
      const tune = await next('connection.tune');
      this.tune(tune);
      this.sendMethod(0, 'connection.open', {
        virtualHost: this.options.vhost,
        capabilities: '',
        insist: false,
      });
      await next('connection.open-ok');
      this.state = 'open';
      this.heartbeat?.start();
    } catch (error) {
      const reason =
        error instanceof ConnectionError
          ? error
          : new ConnectionError(
              'HANDSHAKE_FAILED',
              `handshake failed: ${describeMessage(error)}`,
              undefined,
              {
                cause: error,
              },
            );
      this.fail(reason);
      throw reason;
    } finally {
      this.handshakeFailure = null;
    }
  }

  /** Opens a channel on the lowest free number after the last one used. */
  async openChannel(signal?: AbortSignal): Promise<ChannelEngine> {
    if (this.state !== 'open') throw this.unusable();
    const id = this.freeChannelNumber();
    if (id === undefined) {
      throw new AmqpError(
        'CHANNEL_LIMIT',
        `all ${this.tuning.channelMax} channels the broker allows are open`,
      );
    }
    const channel = new ChannelEngine(id, this);
    this.channels.set(id, channel);
    try {
      await channel.open(signal);
    } catch (error) {
      // An aborted open still owes us its open-ok: close the channel once it comes.
      if (this.state === 'open' && channel.error === null) void channel.close();
      throw error;
    }
    return channel;
  }

  /** Sends connection.update-secret (for expiring tokens); resolves on update-secret-ok. */
  async updateSecret(secret: string, reason: string, signal?: AbortSignal): Promise<void> {
    if (this.state !== 'open') throw this.unusable();
    await this.control.call(
      'connection.update-secret',
      { newSecret: Buffer.from(secret, 'utf8'), reason },
      { signal },
    );
  }

  /** Closes the connection: connection.close, then close-ok (or the socket cut after a timeout). Idempotent. */
  close(): Promise<void> {
    if (this.closing !== null) return this.closing;
    if (this.state === 'closed') return RESOLVED;
    this.closing = new Promise<void>((resolve) => this.once('close', () => resolve()));
    if (this.state === 'handshake') {
      this.fail(new ConnectionError('CONNECTION_CLOSED', 'connection closed by the application'));
      return this.closing;
    }
    this.writeAckRuns();
    this.state = 'closing';
    // The close-ok must be heard, whatever waits for handlers.
    this.resumeReading();
    this.writeNow(0, 'connection.close', {
      replyCode: 200,
      replyText: 'closed by the application',
      classId: 0,
      methodId: 0,
    });
    const timer = setTimeout(() => {
      this.socket.destroy();
      this.fail(
        new ConnectionError(
          'CONNECTION_CLOSED',
          'connection closed by the application (the broker did not confirm)',
        ),
      );
    }, CLOSE_TIMEOUT_MS);
    timer.unref();
    this.once('close', () => clearTimeout(timer));
    return this.closing;
  }

  /** @internal Encodes a method frame for the next flush. Throws when the connection is not usable. */
  sendMethod<N extends MethodName>(channel: number, name: N, args: MethodArgs<N>): void {
    if (this.state === 'closing' || this.state === 'closed') throw this.unusable();
    this.encoder.method(channel, name, args);
    if (SETTLEMENTS.has(name)) this.workDone++;
    this.scheduleFlush();
  }

  /** @internal Encodes basic.publish with its content for the next flush. */
  sendContent(
    channel: number,
    args: MethodArgs<'basic.publish'>,
    properties: BasicProperties,
    body: Uint8Array,
  ): void {
    if (this.state !== 'open') throw this.unusable();
    // Unawaited publishes would otherwise pile up in the socket without limit. One publish
    // always goes through an empty buffer, however large.
    const buffered = this.batchedBytes + this.socket.writableLength;
    if (buffered > 0 && buffered + body.length > this.maxBufferedPublishBytes) {
      // One error for every publish refused until the socket drains: a loop may be refused a
      // million times, and an error (with its stack) for each would cost more than the bodies.
      this.bufferFull ??= new AmqpError(
        'PUBLISH_BUFFER_FULL',
        `more than maxBufferedPublishBytes (${this.maxBufferedPublishBytes} bytes) wait to be ` +
          'written: await publishes before publishing more',
      );
      throw this.bufferFull;
    }
    this.encoder.content(channel, 'basic.publish', args, properties, body);
    this.workDone++;
    // A full batch goes out now, so that whenWritable() tells the truth: a publisher awaiting
    // each publish in a loop never yields to the batched flush, and would otherwise pile every
    // message up in memory.
    this.batchedBytes += body.length;
    if (this.batchedBytes >= WRITE_BATCH_BYTES) this.flush();
    else this.scheduleFlush();
  }

  /** @internal */
  whenWritable(): Promise<void> {
    return this.drain === null ? RESOLVED : this.drain.promise;
  }

  /** @internal */
  holdsAcks(channel: ChannelEngine): void {
    this.ackRuns.push(channel);
    this.scheduleFlush();
  }

  /** @internal */
  release(channel: number): void {
    this.channels.delete(channel);
  }

  /**
   * @internal Ends the connection with `error`: every channel, pending
   * request and waiting publish settles with it, the socket is ended, and
   * `close` is emitted once.
   */
  fail(error: ConnectionError): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.closeError = error;
    this.heartbeat?.stop();
    this.resumeReading();
    this.handshakeFailure?.(error);
    this.control.fail(error);
    const channelError = ChannelError.fromConnection(error);
    const channels = [...this.channels.values()];
    this.channels.clear();
    for (const channel of channels) channel.fail(channelError);
    this.drain?.reject(error);
    this.drain = null;
    this.flush();
    this.socket.end();
    setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS).unref();
    this.emit('close', error);
  }

  private tune(tune: MethodArgs<'connection.tune'>): void {
    const { options } = this;
    const channelMax = negotiate(options.channelMax, tune.channelMax) || CHANNEL_LIMIT;
    const frameMax = negotiate(options.frameMax, tune.frameMax) || 0xffff_ffff;
    // The application's 0 turns heartbeats off; otherwise the smaller non-zero wish wins.
    const heartbeat = options.heartbeat === 0 ? 0 : negotiate(options.heartbeat, tune.heartbeat);
    this.tuning = { channelMax: Math.min(channelMax, CHANNEL_LIMIT), frameMax, heartbeat };
    this.sendMethod(0, 'connection.tune-ok', {
      channelMax: this.tuning.channelMax,
      frameMax,
      heartbeat,
    });
    this.encoder.frameMax = frameMax;
    this.parser.frameMax = frameMax;
    if (heartbeat > 0) {
      this.heartbeat = new Heartbeat(
        heartbeat,
        () => {
          this.encoder.heartbeat();
          this.flush();
        },
        () => {
          this.socket.destroy();
          this.fail(
            new ConnectionError(
              'HEARTBEAT_TIMEOUT',
              `the broker sent nothing for ${2 * heartbeat} s (two heartbeat intervals)`,
            ),
          );
        },
      );
    }
  }

  private nextHandshakeMethod<N extends MethodName>(name: N): Promise<MethodArgs<N>> {
    const check = (command: Command): MethodArgs<N> => {
      if (command.method.name !== name) {
        throw new ConnectionError(
          'HANDSHAKE_FAILED',
          `expected ${name} during the handshake, got ${command.method.name}`,
        );
      }
      return command.method.args as MethodArgs<N>;
    };
    const queued = this.inbox.shift();
    if (queued !== undefined) return Promise.resolve().then(() => check(queued));
    return new Promise((resolve, reject) => {
      this.inboxWaiter = (command) => {
        this.inboxWaiter = null;
        try {
          resolve(check(command));
        } catch (error) {
          reject(error);
        }
      };
    });
  }

  private freeChannelNumber(): number | undefined {
    const max = this.tuning.channelMax;
    for (let i = 0; i < max; i++) {
      const id = ((this.lastChannel + i) % max) + 1;
      if (!this.channels.has(id)) {
        this.lastChannel = id;
        return id;
      }
    }
    return undefined;
  }

  /**
   * @internal Where the socket reads next (a socket read through a SocketReader): straight into
   * the body being received when a large one is waiting for its bytes, else the read slab.
   */
  readBuffer(): Buffer {
    const pending = this.parser.pendingBody();
    const channel = pending === null ? undefined : this.channels.get(pending.channel);
    if (pending !== null && channel !== undefined && channel.bodyLeft >= DIRECT_READ_MIN) {
      if (pending.left >= DIRECT_READ_MIN) {
        const window = channel.bodyWindow(pending.left);
        if (window !== null) return window;
      }
      // The last bytes of this frame, its end octet and the next frame's header: read just
      // those, so that the next frame's payload goes straight in place too.
      return this.reads.next().subarray(0, pending.left + FRAME_OVERHEAD);
    }
    return this.reads.next();
  }

  /** @internal What the socket read into a buffer from {@link Engine.readBuffer}. */
  receive(chunk: Buffer): void {
    this.reads.taken(chunk);
    this.onData(chunk);
  }

  private onData(chunk: Buffer): void {
    if (this.heartbeat !== null) this.heartbeat.received = true;
    if (this.state === 'closed') return;
    try {
      this.parser.push(chunk);
      for (let frame = this.parser.next(); frame !== null; frame = this.parser.next()) {
        this.dispatch(frame);
        if (this.closeError !== null) return;
      }
    } catch (error) {
      this.protocolFailure(error);
    }
  }

  private dispatch(frame: Frame): void {
    if (frame.type === 8) return;
    if (frame.channel === 0) {
      if (frame.type !== 1) {
        throw new ProtocolError('UNEXPECTED_FRAME', 'content frames on channel 0');
      }
      this.onControl({ method: frame.method });
      return;
    }
    if (this.state === 'closing') return;
    const channel = this.channels.get(frame.channel);
    if (channel === undefined) {
      throw new ProtocolError(
        'UNEXPECTED_FRAME',
        `a frame for channel ${frame.channel}, which is not open`,
      );
    }
    channel.handleFrame(frame);
  }

  private onControl(command: Command): void {
    const { method } = command;
    switch (method.name) {
      case 'connection.close':
        this.writeNow(0, 'connection.close-ok', {});
        this.fail(ConnectionError.fromBroker(method.args));
        return;
      case 'connection.close-ok':
        this.fail(new ConnectionError('CONNECTION_CLOSED', 'connection closed by the application'));
        return;
      case 'connection.blocked':
        this.emit('blocked', method.args.reason);
        return;
      case 'connection.unblocked':
        this.emit('unblocked');
        return;
    }
    if (this.state === 'handshake') {
      if (this.inboxWaiter !== null) this.inboxWaiter(command);
      else this.inbox.push(command);
      return;
    }
    if (this.state === 'closing') return;
    this.control.settle(command);
  }

  /** A malformed stream: tell the broker why, then end everything. */
  private protocolFailure(error: unknown): void {
    const cause =
      error instanceof ProtocolError
        ? error
        : new ProtocolError(
            'UNEXPECTED_FRAME',
            `internal error handling a frame: ${describeMessage(error)}`,
          );
    if (this.state === 'open' || this.state === 'closing') {
      this.encoder.method(0, 'connection.close', {
        replyCode: cause.replyCode,
        replyText: cause.message.slice(0, 200),
        classId: 0,
        methodId: 0,
      });
    }
    this.fail(new ConnectionError(cause.code, cause.message, undefined, { cause: error }));
  }

  private onSocketClose(): void {
    const detail = this.socketError === undefined ? '' : `: ${this.socketError.message}`;
    const during = this.state === 'handshake' ? ' during the handshake' : '';
    // With TLS 1.3 the broker refuses a client certificate only after our side of the TLS
    // handshake is done: that is a failure to connect, as it is with TLS 1.2, not a lost connection.
    const tlsRefusal =
      this.state === 'handshake' &&
      String((this.socketError as NodeJS.ErrnoException | undefined)?.code).startsWith('ERR_SSL');
    this.fail(
      new ConnectionError(
        tlsRefusal ? 'CONNECTION_FAILED' : 'CONNECTION_LOST',
        tlsRefusal
          ? `the broker refused the TLS connection${detail}`
          : `the connection to the broker was lost${during}${detail}`,
        undefined,
        {
          cause: this.socketError,
        },
      ),
    );
  }

  /** Deliveries weigh more than their limit: stop reading, so that TCP holds the broker back. */
  private pauseReading(): void {
    // While closing, the close-ok must still be read; a closed socket reads nothing anyway.
    if (this.readingPaused || this.state !== 'open') return;
    this.readingPaused = true;
    if (this.heartbeat !== null) this.heartbeat.paused = true;
    this.socket.pause();
  }

  /** Deliveries came down to the low-water mark (or the connection ends): read again. */
  private resumeReading(): void {
    if (!this.readingPaused) return;
    this.readingPaused = false;
    if (this.heartbeat !== null) {
      this.heartbeat.paused = false;
      // The broker's heartbeats waited in TCP: the next tick must not count the pause as silence.
      this.heartbeat.received = true;
    }
    this.socket.resume();
  }

  private onDrain(): void {
    this.bufferFull = null;
    const drain = this.drain;
    this.drain = null;
    drain?.resolve();
  }

  /** Writes a frame now, bypassing the closing check: for close and close-ok. */
  private writeNow<N extends MethodName>(channel: number, name: N, args: MethodArgs<N>): void {
    this.encoder.method(channel, name, args);
    this.flush();
  }

  /** Encodes the acks the channels hold; once the connection is closing, they are dropped. */
  private writeAckRuns(): void {
    const channels = this.ackRuns.splice(0);
    if (this.state !== 'open') return;
    for (const channel of channels) channel.flushAckRun();
  }

  /**
   * Writes what was encoded once the current turn's work is done: process.nextTick runs after
   * the promise continuations of the turn, so a loop of `await publish()` or a batch of acks
   * still goes out as one write, but before the event loop waits again (a request or a reply
   * does not sit until the check phase: that cost each RPC round trip about 50 µs per side).
   */
  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    process.nextTick(this.flush);
  }

  /**
   * A batch went out (the socket calls back for a batch's last chunk once all of it is written,
   * or failed). Once no batch is in flight, nothing holds the encoder's slab: it is reused.
   */
  private readonly onWritten = (): void => {
    if (--this.writesInFlight === 0) this.encoder.rewind();
  };

  /** Hands everything encoded to the socket in one corked batch. */
  private readonly flush = (): void => {
    if (this.ackRuns.length > 0) this.writeAckRuns();
    this.flushScheduled = false;
    this.batchedBytes = 0;
    if (!this.encoder.pending) return;
    const chunks = this.encoder.take();
    const socket = this.socket;
    if (socket.destroyed || socket.writableEnded) return;
    let ok = true;
    this.writesInFlight++;
    socket.cork();
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) ok = socket.write(chunks[i] as Buffer);
    ok = socket.write(chunks[last] as Buffer, this.onWritten);
    socket.uncork();
    if (this.heartbeat !== null) this.heartbeat.sent = true;
    if (!ok && this.drain === null) {
      let resolve!: () => void;
      let reject!: (error: Error) => void;
      const promise = new Promise<void>((res, rej) => {
        resolve = res;
        reject = rej;
      });
      promise.catch(() => {});
      this.drain = { promise, resolve, reject };
    }
  };

  /** Never shows the options, which hold the password. */
  [inspect.custom](): string {
    return `Engine<${this.state}, ${this.channels.size} channels>`;
  }

  private unusable(): ConnectionError {
    return (
      this.closeError ?? new ConnectionError('CONNECTION_CLOSED', `the connection is ${this.state}`)
    );
  }
}

/** The spec's rule for limits: 0 means "no limit" on that side, else the smaller wins. */
function negotiate(client: number, server: number): number {
  if (client === 0) return server;
  if (server === 0) return client;
  return Math.min(client, server);
}
