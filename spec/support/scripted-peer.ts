/**
 * A scripted broker for unit tests of the engine: it sits on the other end of
 * an in-memory socket, decodes what the engine writes with the codec, and
 * sends whatever frames (or bytes) a test tells it to, when it tells it to.
 * It covers what a real broker cannot be made to do on demand: wrong
 * replies, garbage, silence, a socket that stops taking writes.
 */
import net from 'node:net';
import { Duplex } from 'node:stream';
import type { ChannelEngine } from '../../lib/engine/channel.js';
import { Engine, type EngineOptions } from '../../lib/engine/engine.js';
import type { ConnectionError } from '../../lib/engine/errors.js';
import {
  type BasicProperties,
  FRAME_MIN_SIZE,
  type Frame,
  FrameEncoder,
  FrameParser,
  type MethodArgs,
  type MethodName,
  PROTOCOL_HEADER,
} from '../../lib/protocol/index.js';

export interface PeerOptions {
  /** The engine side's writable high-water mark, in bytes (Node's default when absent). */
  readonly writableHighWaterMark?: number;
  /**
   * Whether the peer ends its side when the engine ends its own, as a live broker does (the
   * default). A dead broker does not: then the socket closes only when the engine destroys it.
   */
  readonly endWithEngine?: boolean;
}

export interface HandshakeOptions {
  /** The space-separated SASL mechanisms offered in connection.start. */
  readonly mechanisms?: string;
  readonly serverProperties?: Record<string, string>;
  /** What connection.tune proposes; defaults are RabbitMQ's: 2047 channels, 128 KiB frames, 60 s. */
  readonly tune?: Partial<MethodArgs<'connection.tune'>>;
}

export interface HandshakeResult {
  readonly startOk: MethodArgs<'connection.start-ok'>;
  readonly tuneOk: MethodArgs<'connection.tune-ok'>;
  readonly open: MethodArgs<'connection.open'>;
}

/** A content-carrying method the engine sent, reassembled. */
export interface ReceivedContent<N extends MethodName> {
  readonly args: MethodArgs<N>;
  readonly properties: BasicProperties;
  readonly body: Buffer;
}

/**
 * The engine's side of the in-memory connection. What the engine writes goes
 * straight to the peer; what the peer sends is pushed into the readable side.
 * With `allowHalfOpen: false` it behaves like a TCP socket: when the peer
 * ends, the engine's side ends too and `close` follows.
 */
class EngineSocket extends Duplex {
  holding = false;
  private held: (() => void)[] = [];

  constructor(
    private readonly peer: ScriptedPeer,
    options: PeerOptions,
  ) {
    super({
      allowHalfOpen: false,
      ...(options.writableHighWaterMark === undefined
        ? {}
        : { writableHighWaterMark: options.writableHighWaterMark }),
    });
  }

  override _read(): void {}

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.peer.receive(chunk);
    if (this.holding) this.held.push(callback);
    else callback();
  }

  override _final(callback: () => void): void {
    this.peer.engineEnded();
    callback();
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    this.peer.engineEnded();
    callback(error);
  }

  release(): void {
    this.holding = false;
    for (const callback of this.held.splice(0)) callback();
  }
}

interface Waiter {
  resolve(frame: Frame): void;
  reject(error: Error): void;
}

const livePeers = new Set<ScriptedPeer>();
const liveServers = new Set<ScriptedServer>();

export class ScriptedPeer {
  /** The socket to hand to the engine. */
  readonly socket: EngineSocket;
  /** Encodes what the peer sends; encode several frames, then {@link flush} them as one write. */
  readonly encoder = new FrameEncoder();
  /** Every frame the engine sent, heartbeats included, in order. */
  readonly received: Frame[] = [];
  /** Whether the engine's side of the socket has ended or been destroyed, by either party. */
  ended = false;
  private readonly parser = new FrameParser();
  private readonly queue: Frame[] = [];
  private readonly waiters: Waiter[] = [];
  private header = Buffer.alloc(0);
  private headerWaiter: ((header: Buffer) => void) | null = null;
  private failure: Error | null = null;

  constructor(private readonly options: PeerOptions = {}) {
    this.socket = new EngineSocket(this, options);
    this.parser.frameMax = 0xffff_ffff;
    livePeers.add(this);
  }

  /** How many heartbeat frames the engine has sent. */
  get heartbeats(): number {
    return this.received.filter((frame) => frame.type === 8).length;
  }

  /** Frames received and not yet taken by an `expect…` call, heartbeats left out. */
  get unread(): Frame[] {
    return this.queue.filter((frame) => frame.type !== 8);
  }

  /** @internal Bytes the engine wrote. */
  receive(chunk: Buffer): void {
    if (this.failure !== null) return;
    let rest = chunk;
    if (this.header.length < PROTOCOL_HEADER.length) {
      const take = PROTOCOL_HEADER.length - this.header.length;
      this.header = Buffer.concat([this.header, rest.subarray(0, take)]);
      rest = rest.subarray(take);
      if (this.header.length === PROTOCOL_HEADER.length) this.headerWaiter?.(this.header);
      if (rest.length === 0) return;
    }
    try {
      this.parser.push(Buffer.from(rest));
      for (let frame = this.parser.next(); frame !== null; frame = this.parser.next()) {
        this.received.push(frame);
        const waiter = this.waiters.shift();
        if (waiter === undefined) this.queue.push(frame);
        else waiter.resolve(frame);
      }
    } catch (error) {
      this.fail(new Error(`the engine wrote bytes the peer cannot parse: ${String(error)}`));
    }
  }

  /** @internal The engine ended its side: the peer, like a broker, closes too. */
  engineEnded(): void {
    if (this.ended) return;
    this.ended = true;
    this.fail(new Error('the engine ended the connection'));
    if (this.options.endWithEngine !== false) this.end();
  }

  /** Resolves with the 8 bytes the engine sent first; they must be the AMQP 0-9-1 header. */
  async expectProtocolHeader(): Promise<void> {
    const header =
      this.header.length === PROTOCOL_HEADER.length
        ? this.header
        : await new Promise<Buffer>((resolve) => {
            this.headerWaiter = resolve;
          });
    if (!header.equals(PROTOCOL_HEADER)) {
      throw new Error(`expected the protocol header, got ${header.toString('hex')}`);
    }
  }

  /** The next frame the engine sends, heartbeats included. */
  nextFrame(): Promise<Frame> {
    const frame = this.queue.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    if (this.failure !== null) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
  }

  /** The next frame that is not a heartbeat. */
  async nextNonHeartbeat(): Promise<Frame> {
    for (;;) {
      const frame = await this.nextFrame();
      if (frame.type !== 8) return frame;
    }
  }

  /** Waits for the engine's next method (heartbeats skipped); it must be `name` on `channel`. */
  async expectMethod<N extends MethodName>(name: N, channel = 0): Promise<MethodArgs<N>> {
    const frame = await this.nextNonHeartbeat();
    if (frame.type !== 1 || frame.method.name !== name || frame.channel !== channel) {
      throw new Error(`expected ${name} on channel ${channel}, got ${describeFrame(frame)}`);
    }
    return frame.method.args as MethodArgs<N>;
  }

  /** Waits for a content-carrying method, its header and its body frames. */
  async expectContent<N extends MethodName>(name: N, channel: number): Promise<ReceivedContent<N>> {
    const args = await this.expectMethod(name, channel);
    const header = await this.nextNonHeartbeat();
    if (header.type !== 2 || header.channel !== channel) {
      throw new Error(
        `expected a content header on channel ${channel}, got ${describeFrame(header)}`,
      );
    }
    const pieces: Buffer[] = [];
    let size = 0;
    while (size < header.bodySize) {
      const body = await this.nextNonHeartbeat();
      if (body.type !== 3 || body.channel !== channel) {
        throw new Error(`expected a body frame on channel ${channel}, got ${describeFrame(body)}`);
      }
      pieces.push(Buffer.from(body.payload));
      size += body.payload.length;
    }
    return { args, properties: header.properties, body: Buffer.concat(pieces) };
  }

  /** Lets the engine flush whatever it has batched, then checks it sent nothing (heartbeats aside). */
  async expectNothing(): Promise<void> {
    await settle();
    const unread = this.unread;
    if (unread.length > 0) {
      throw new Error(
        `expected nothing from the engine, got ${unread.map(describeFrame).join(', ')}`,
      );
    }
  }

  /** Resolves once the engine has ended its side of the socket. */
  async expectEnd(): Promise<void> {
    while (!this.ended) await nextTurn();
  }

  /** Sends one method frame, as one write. */
  send<N extends MethodName>(channel: number, name: N, args: MethodArgs<N>): void {
    this.encoder.method(channel, name, args);
    this.flush();
  }

  /** Sends a content-carrying method with its header and body frames, as one write. */
  sendContent<N extends MethodName>(
    channel: number,
    name: N,
    args: MethodArgs<N>,
    properties: BasicProperties,
    body: Uint8Array,
  ): void {
    this.encoder.content(channel, name, args, properties, body);
    this.flush();
  }

  /** Sends a heartbeat frame. */
  sendHeartbeat(): void {
    this.encoder.heartbeat();
    this.flush();
  }

  /** Writes everything encoded so far to the engine as one chunk. */
  flush(): void {
    const chunks = this.encoder.take();
    if (chunks.length > 0) this.sendRaw(Buffer.concat(chunks));
  }

  /** Writes bytes to the engine as they are. */
  sendRaw(bytes: Uint8Array): void {
    if (this.socket.readableEnded || this.socket.destroyed) return;
    this.socket.push(Buffer.from(bytes));
  }

  /** Plays the broker's side of a normal handshake. */
  async handshake(options: HandshakeOptions = {}): Promise<HandshakeResult> {
    await this.expectProtocolHeader();
    this.send(0, 'connection.start', {
      versionMajor: 0,
      versionMinor: 9,
      serverProperties: options.serverProperties ?? { product: 'scripted-peer' },
      mechanisms: Buffer.from(options.mechanisms ?? 'PLAIN AMQPLAIN'),
      locales: Buffer.from('en_US'),
    });
    const startOk = await this.expectMethod('connection.start-ok');
    this.send(0, 'connection.tune', {
      channelMax: 2047,
      frameMax: 131_072,
      heartbeat: 60,
      ...options.tune,
    });
    const tuneOk = await this.expectMethod('connection.tune-ok');
    if (tuneOk.frameMax >= FRAME_MIN_SIZE) this.encoder.frameMax = tuneOk.frameMax;
    const open = await this.expectMethod('connection.open');
    this.send(0, 'connection.open-ok', { knownHosts: '' });
    return { startOk, tuneOk, open };
  }

  /** Expects channel.open on `channel` and answers open-ok. */
  async acceptChannel(channel: number): Promise<void> {
    await this.expectMethod('channel.open', channel);
    this.send(channel, 'channel.open-ok', { channelId: Buffer.alloc(0) });
  }

  /** Stops completing the engine's writes: its socket fills up and `write` returns false. */
  holdWrites(): void {
    this.socket.holding = true;
  }

  /** Completes the held writes, so the socket drains. */
  releaseWrites(): void {
    this.socket.release();
  }

  /** Ends the peer's side, like a broker closing the TCP connection. */
  end(): void {
    if (!this.socket.readableEnded && !this.socket.destroyed) this.socket.push(null);
  }

  /** Cuts the connection at once, optionally with a socket error. */
  destroy(error?: Error): void {
    this.socket.destroy(error);
  }

  private fail(error: Error): void {
    this.failure ??= error;
    for (const waiter of this.waiters.splice(0)) waiter.reject(this.failure);
  }
}

/** Engine options for tests: PLAIN as user/pass, no heartbeats, no limits of our own. */
export const TEST_OPTIONS: EngineOptions = {
  username: 'user',
  password: 'pass',
  vhost: '/',
  heartbeat: 0,
  frameMax: 0,
  channelMax: 0,
  clientProperties: { product: 'warren-test' },
  maxBodySize: 1024 * 1024,
};

export interface Pair {
  readonly engine: Engine;
  readonly peer: ScriptedPeer;
  /** Every `close` the engine emitted. */
  readonly closes: ConnectionError[];
  readonly handshake: HandshakeResult;
}

/** An engine on one end and a scripted peer on the other, not yet shaken hands. */
export function createPair(
  options: Partial<EngineOptions> = {},
  peerOptions: PeerOptions = {},
): { engine: Engine; peer: ScriptedPeer; closes: ConnectionError[] } {
  const peer = new ScriptedPeer(peerOptions);
  const engine = new Engine(peer.socket, { ...TEST_OPTIONS, ...options });
  const closes: ConnectionError[] = [];
  engine.on('close', (error) => closes.push(error));
  return { engine, peer, closes };
}

/** An engine that has finished its handshake with a scripted peer. */
export async function connectedPair(
  options: Partial<EngineOptions> = {},
  handshake: HandshakeOptions = {},
  peerOptions: PeerOptions = {},
): Promise<Pair> {
  const { engine, peer, closes } = createPair(options, peerOptions);
  const [result] = await Promise.all([peer.handshake(handshake), engine.handshake()]);
  return { engine, peer, closes, handshake: result };
}

/**
 * A scripted broker on a local TCP port, for tests that go through `connect()`
 * (which opens its own socket): every connection it accepts, the first and
 * each reconnect, gets a fresh {@link ScriptedPeer} bridged to that socket.
 */
export class ScriptedServer {
  /** Every peer so far, in the order their connections came. */
  readonly peers: ScriptedPeer[] = [];
  private taken = 0;
  private waiter: ((peer: ScriptedPeer) => void) | undefined;

  private constructor(private readonly server: net.Server) {
    server.on('connection', (socket) => this.accept(socket));
    liveServers.add(this);
  }

  /** Listens on an ephemeral port of 127.0.0.1. */
  static async listen(): Promise<ScriptedServer> {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return new ScriptedServer(server);
  }

  /** The port it listens on. */
  get port(): number {
    return (this.server.address() as net.AddressInfo).port;
  }

  /** The peer of the next connection not yet taken, once it comes. */
  nextPeer(): Promise<ScriptedPeer> {
    const peer = this.peers[this.taken];
    if (peer !== undefined) {
      this.taken++;
      return Promise.resolve(peer);
    }
    return new Promise((resolve) => {
      this.waiter = resolve;
    });
  }

  /** Stops listening (a reconnect is then refused) and cuts every connection. */
  close(): void {
    liveServers.delete(this);
    this.server.close();
    for (const peer of this.peers) peer.destroy();
  }

  /** Bridges the TCP socket to a peer's in-memory one, which stands in for the engine's side. */
  private accept(tcp: net.Socket): void {
    tcp.setNoDelay(true);
    const peer = new ScriptedPeer();
    const side = peer.socket;
    tcp.on('data', (chunk: Buffer) => side.write(chunk));
    side.on('data', (chunk: Buffer) => tcp.write(chunk));
    tcp.on('end', () => side.end());
    side.on('end', () => tcp.end());
    tcp.on('close', () => side.destroy());
    side.on('close', () => tcp.destroy());
    // A cut is seen as a close on the other side; the error itself tells the test nothing.
    tcp.on('error', () => {});
    side.on('error', () => {});
    this.peers.push(peer);
    const waiter = this.waiter;
    if (waiter !== undefined) {
      this.waiter = undefined;
      this.taken++;
      waiter(peer);
    }
  }
}

/** Cuts every pair made since the last call, and closes every scripted server; for `afterEach`. */
export function destroyPairs(): void {
  for (const server of liveServers) server.close();
  for (const peer of livePeers) peer.destroy();
  livePeers.clear();
}

/** Waits for one turn of the event loop (one round of `setImmediate`). */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Waits long enough for the engine to flush what it batched and the peer's bytes to arrive. */
export async function settle(turns = 3): Promise<void> {
  for (let i = 0; i < turns; i++) await nextTurn();
}

/** A promise's state, observable synchronously; attaching it also marks a rejection as handled. */
export interface Tracked<T> {
  readonly promise: Promise<T>;
  state: 'pending' | 'resolved' | 'rejected';
  value: T | undefined;
  error: unknown;
}

export function track<T>(promise: Promise<T>): Tracked<T> {
  const tracked: Tracked<T> = { promise, state: 'pending', value: undefined, error: undefined };
  promise.then(
    (value) => {
      tracked.state = 'resolved';
      tracked.value = value;
    },
    (error: unknown) => {
      tracked.state = 'rejected';
      tracked.error = error;
    },
  );
  return tracked;
}

/** A frame in a few words, for test failures. */
export function describeFrame(frame: Frame): string {
  switch (frame.type) {
    case 1:
      return `${frame.method.name} on channel ${frame.channel}`;
    case 2:
      return `a content header on channel ${frame.channel}`;
    case 3:
      return `a body frame on channel ${frame.channel}`;
    case 8:
      return 'a heartbeat';
  }
}

/** Opens a channel on `engine`, the peer answering channel.open on `id`. */
export async function openChannel(
  pair: Pick<Pair, 'engine' | 'peer'>,
  id: number,
): Promise<ChannelEngine> {
  const [channel] = await Promise.all([pair.engine.openChannel(), pair.peer.acceptChannel(id)]);
  return channel;
}

/** Arguments of a plain queue.declare of `queue`. */
export function declareQueue(queue: string): MethodArgs<'queue.declare'> {
  return {
    queue,
    passive: false,
    durable: false,
    exclusive: false,
    autoDelete: false,
    nowait: false,
    arguments: {},
  };
}

/** The broker's queue.declare-ok for `queue`. */
export function declareOk(queue: string): MethodArgs<'queue.declare-ok'> {
  return { queue, messageCount: 0, consumerCount: 0 };
}
