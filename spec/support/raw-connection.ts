/**
 * A bare AMQP peer for integration tests that must speak to the broker in
 * frames, below any engine: it owns a socket, decodes what arrives with the
 * codec, and hands frames out in order.
 */
import net from 'node:net';
import {
  type Command,
  ContentAssembler,
  type Frame,
  FrameEncoder,
  FrameParser,
  type MethodArgs,
  type MethodName,
  PROTOCOL_HEADER,
} from '../../lib/protocol/index.js';

export class RawConnection {
  readonly encoder = new FrameEncoder();
  readonly parser = new FrameParser();
  private readonly frames: Frame[] = [];
  private readonly waiters: ((frame: Frame | Error) => void)[] = [];
  private ended: Error | null = null;
  private readonly closedPromise: Promise<void>;

  private constructor(readonly socket: net.Socket) {
    socket.on('data', (chunk) => this.onData(chunk));
    socket.on('error', (error) => this.end(error));
    this.closedPromise = new Promise((resolve) => socket.on('close', () => resolve()));
    socket.on('close', () => this.end(new Error('socket closed')));
  }

  /** Opens a TCP connection to the broker of `url` and sends the protocol header. */
  static async open(url: string): Promise<RawConnection> {
    const { hostname, port } = new URL(url);
    const socket = net.connect(Number(port || 5672), hostname);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(PROTOCOL_HEADER);
    return new RawConnection(socket);
  }

  /** Opens a connection and runs the handshake with PLAIN and the URL's credentials. */
  static async handshake(url: string): Promise<RawConnection> {
    const conn = await RawConnection.open(url);
    const { username, password, pathname } = new URL(url);
    await conn.expect('connection.start');
    conn.send(0, 'connection.start-ok', {
      clientProperties: { product: 'warren tests' },
      mechanism: 'PLAIN',
      response: Buffer.from(`\0${decodeURIComponent(username)}\0${decodeURIComponent(password)}`),
      locale: 'en_US',
    });
    const tune = await conn.expect('connection.tune');
    conn.send(0, 'connection.tune-ok', {
      channelMax: tune.channelMax,
      frameMax: tune.frameMax,
      heartbeat: 0,
    });
    conn.encoder.frameMax = tune.frameMax;
    conn.parser.frameMax = tune.frameMax;
    const vhost = decodeURIComponent(pathname.slice(1)) || '/';
    conn.send(0, 'connection.open', { virtualHost: vhost, capabilities: '', insist: false });
    await conn.expect('connection.open-ok');
    return conn;
  }

  /** Encodes and writes one method frame. */
  send<N extends MethodName>(channel: number, name: N, args: MethodArgs<N>): void {
    this.encoder.method(channel, name, args);
    this.flush();
  }

  /** Writes everything the encoder holds. */
  flush(): void {
    for (const chunk of this.encoder.take()) this.socket.write(chunk);
  }

  /** The next frame from the broker; rejects when the socket ends first. */
  nextFrame(): Promise<Frame> {
    const frame = this.frames.shift();
    if (frame !== undefined) return Promise.resolve(frame);
    if (this.ended !== null) return Promise.reject(this.ended);
    return new Promise((resolve, reject) => {
      this.waiters.push((next) => (next instanceof Error ? reject(next) : resolve(next)));
    });
  }

  /** The next method (with its content, if any) on `channel`, skipping heartbeats. */
  async nextCommand(channel: number, assembler = new ContentAssembler()): Promise<Command> {
    for (;;) {
      const frame = await this.nextFrame();
      if (frame.type === 8 || frame.channel !== channel) continue;
      const command = assembler.push(frame);
      if (command !== null) return command;
    }
  }

  /** Waits for the next method on channel 0 and checks that it is `name`. */
  async expect<N extends MethodName>(name: N, channel = 0): Promise<MethodArgs<N>> {
    const { method } = await this.nextCommand(channel);
    if (method.name !== name) {
      throw new Error(`expected ${name}, got ${method.name} ${JSON.stringify(method.args)}`);
    }
    return method.args as MethodArgs<N>;
  }

  /** Resolves when the socket has closed. */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  destroy(): void {
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    try {
      this.parser.push(chunk);
      for (let frame = this.parser.next(); frame !== null; frame = this.parser.next()) {
        const waiter = this.waiters.shift();
        if (waiter) waiter(frame);
        else this.frames.push(frame);
      }
    } catch (error) {
      this.end(error as Error);
      this.socket.destroy();
    }
  }

  private end(error: Error): void {
    if (this.ended === null) this.ended = error;
    for (const waiter of this.waiters.splice(0)) waiter(this.ended);
  }
}
