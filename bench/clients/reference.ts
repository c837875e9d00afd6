/**
 * The reference: the least work any client can do for each scenario, so the broker's limit on
 * this machine — the "physical" ceiling the other clients are measured against.
 *
 * It speaks AMQP by hand over node:net. warren's codec (lib/protocol) encodes the handful of
 * control methods and, once per scenario at setup, the frames of one publish; nothing is
 * encoded per message. Publishing writes those same bytes over and over, many messages per
 * socket write, honouring `socket.write`'s return value and 'drain'. Every message therefore
 * carries the same body (`body(size, 0)`): content is not checked per message, only counts and
 * sizes (the broker's queue depth, the confirms, the body bytes received).
 *
 * Receiving only walks frame boundaries (7-byte header, payload size, end octet): it reads a
 * method's class and method ids, a content header's body size, and skips body payloads
 * without copying or looking at them. Consumers acknowledge with one `basic.ack` carrying
 * `multiple = true` per socket read (for every message complete so far), not one ack per
 * message as the scenario asks of real clients: this is the ceiling, not a peer. The
 * request/reply server consumes with no-ack and answers with reply frames encoded once per
 * distinct reply-to (the broker gives one per channel), so it too does nothing per message.
 */
import { connect as netConnect, type Socket } from 'node:net';
import {
  type BasicProperties,
  ByteReader,
  decodeBasicProperties,
  decodeMethod,
  FRAME_BODY,
  FRAME_END,
  FRAME_HEADER,
  FRAME_HEADER_SIZE,
  FRAME_METHOD,
  FrameEncoder,
  type Method,
  type MethodArgs,
  type MethodName,
  PROTOCOL_HEADER,
} from '../../lib/protocol/index.js';
import { type BenchClient, body, LARGE_PUBLISH_WINDOW, type ScenarioInput } from '../client.js';

/** Aim for socket writes of about this many bytes when publishing small messages. */
const BATCH_BYTES = 256 * 1024;

const BASIC_DELIVER = 0x003c003c;
const BASIC_ACK = 0x003c0050;

/** What the connection tracks per channel, all counters: updated per frame, no allocation. */
class ChannelState {
  /** basic.deliver frames seen. */
  delivered = 0;
  /** Messages whose body has fully arrived. */
  completed = 0;
  /** Body bytes received. */
  bodyBytes = 0;
  /** Body bytes still due for the message being received. */
  remaining = 0;
  /** Deliveries acknowledged so far (by multiple-acks). */
  acked = 0;
  /** Publishes confirmed: every tag up to this one. */
  confirmed = 0;
  /** Confirmed tags above `confirmed` (single, out-of-order acks; RabbitMQ rarely sends them). */
  readonly confirmedAbove = new Set<number>();
  /** When set, sees each content header's payload (request/reply only). */
  onHeader: ((buf: Buffer, start: number, size: number) => void) | undefined;
  /** When set, called as each message completes (request/reply only). */
  onMessage: (() => void) | undefined;
  /** Replies awaited by synchronous requests on this channel, oldest first. */
  readonly waiting: Array<(method: Method) => void> = [];

  confirm(tag: number, multiple: boolean): void {
    if (multiple) {
      if (tag > this.confirmed) this.confirmed = tag;
    } else if (tag === this.confirmed + 1) {
      this.confirmed = tag;
    } else if (tag > this.confirmed) {
      this.confirmedAbove.add(tag);
    }
    while (this.confirmedAbove.delete(this.confirmed + 1)) this.confirmed++;
    for (const above of this.confirmedAbove)
      if (above <= this.confirmed) this.confirmedAbove.delete(above);
  }

  messageDone(): void {
    this.completed++;
    this.onMessage?.();
  }
}

class ReferenceConnection {
  private readonly encoder = new FrameEncoder();
  private readonly channels = new Map<number, ChannelState>();
  private closing = false;
  private failure: Error | undefined;
  /** Rejects when the connection fails; raced against every wait. */
  readonly failed: Promise<never>;
  private fail: (error: Error) => void = () => {};
  /** Resolved by {@link ReferenceConnection.changed} whenever counters move. */
  private wake: (() => void) | undefined;
  /** Called after each socket read is processed (for batched acks and completion checks). */
  afterRead: (() => void) | undefined;

  // Frame scanning state: a header being gathered, body bytes to skip, a payload being gathered.
  private readonly head = Buffer.alloc(FRAME_HEADER_SIZE);
  private headFill = 0;
  private skip = 0;
  private partial: Buffer | undefined;
  private partialFill = 0;
  private partialType = 0;
  private partialChannel = 0;

  private constructor(private readonly socket: Socket) {
    this.failed = new Promise<never>((_, reject) => {
      this.fail = (error) => {
        if (this.failure !== undefined) return;
        this.failure = error;
        reject(error);
        this.changed();
      };
    });
    this.failed.catch(() => {});
    this.channels.set(0, new ChannelState());
    socket.on('data', (chunk: Buffer) => {
      try {
        this.scan(chunk);
        this.afterRead?.();
      } catch (error) {
        this.fail(error instanceof Error ? error : new Error(String(error)));
        socket.destroy();
      }
    });
    socket.on('error', (error) => this.fail(error));
    socket.on('close', () => {
      if (!this.closing) this.fail(new Error('reference: the socket closed'));
    });
  }

  /** Connects, negotiates (PLAIN, the broker's frame_max, no heartbeats) and opens the vhost. */
  static async open(url: string): Promise<ReferenceConnection> {
    const target = new URL(url);
    if (target.protocol !== 'amqp:') throw new Error(`reference: only amqp:// URLs, not ${url}`);
    const socket = netConnect({
      host: target.hostname,
      port: target.port === '' ? 5672 : Number(target.port),
      noDelay: true,
    });
    const connection = new ReferenceConnection(socket);
    await Promise.race([
      new Promise<void>((resolve) => socket.once('connect', () => resolve())),
      connection.failed,
    ]);
    const started = connection.expect(0);
    socket.write(PROTOCOL_HEADER);
    const start = await started;
    if (start.name !== 'connection.start') throw new Error(`reference: got ${start.name}`);
    if (!start.args.mechanisms.toString().split(' ').includes('PLAIN')) {
      throw new Error('reference: the broker does not offer PLAIN');
    }
    const username = decodeURIComponent(target.username) || 'guest';
    const password = decodeURIComponent(target.password) || 'guest';
    const tune = await connection.call(0, 'connection.start-ok', {
      clientProperties: {
        product: 'warren-bench-reference',
        capabilities: { publisher_confirms: true, 'basic.nack': true },
      },
      mechanism: 'PLAIN',
      response: Buffer.from(`\0${username}\0${password}`),
      locale: 'en_US',
    });
    if (tune.name !== 'connection.tune') throw new Error(`reference: got ${tune.name}`);
    const frameMax = tune.args.frameMax === 0 ? 131072 : tune.args.frameMax;
    connection.send(0, 'connection.tune-ok', {
      channelMax: tune.args.channelMax,
      frameMax,
      heartbeat: 0,
    });
    connection.encoder.frameMax = frameMax;
    const vhost = decodeURIComponent(target.pathname.slice(1)) || '/';
    await connection.call(0, 'connection.open', {
      virtualHost: vhost,
      capabilities: '',
      insist: false,
    });
    return connection;
  }

  /** Opens channel `id`, optionally in confirm mode. */
  async openChannel(id: number, confirm = false): Promise<ChannelState> {
    const state = new ChannelState();
    this.channels.set(id, state);
    await this.call(id, 'channel.open', { outOfBand: '' });
    if (confirm) await this.call(id, 'confirm.select', { nowait: false });
    return state;
  }

  /** Starts a consumer on channel `id` with prefetch `prefetch` (0: none). */
  async consume(id: number, queue: string, prefetch: number, noAck: boolean): Promise<void> {
    if (prefetch > 0) {
      await this.call(id, 'basic.qos', { prefetchSize: 0, prefetchCount: prefetch, global: false });
    }
    await this.call(id, 'basic.consume', {
      queue,
      consumerTag: '',
      noLocal: false,
      noAck,
      exclusive: false,
      nowait: false,
      arguments: {},
    });
  }

  /** The queue's message count, by a passive declare on channel `id`. */
  async messageCount(id: number, queue: string): Promise<number> {
    const ok = await this.call(id, 'queue.declare', {
      queue,
      passive: true,
      durable: false,
      exclusive: false,
      autoDelete: false,
      nowait: false,
      arguments: {},
    });
    if (ok.name !== 'queue.declare-ok') throw new Error(`reference: got ${ok.name}`);
    return ok.args.messageCount;
  }

  /** Acknowledges every message completed on channel `id` so far, with one multiple-ack. */
  ackCompleted(id: number, state: ChannelState): void {
    if (state.completed === state.acked) return;
    state.acked = state.completed;
    this.send(id, 'basic.ack', { deliveryTag: state.acked, multiple: true });
  }

  /** The frames of one `basic.publish` to the default exchange, encoded once, as one buffer. */
  encodePublish(
    channel: number,
    routingKey: string,
    properties: BasicProperties,
    content: Uint8Array,
  ): Buffer {
    this.encoder.content(
      channel,
      'basic.publish',
      { exchange: '', routingKey, mandatory: false, immediate: false },
      properties,
      content,
    );
    return Buffer.concat(this.encoder.take());
  }

  /** Writes raw bytes; false when the socket wants 'drain' before more. */
  write(bytes: Buffer): boolean {
    return this.socket.write(bytes);
  }

  /** Waits for the socket's 'drain', or fails with the connection. */
  drain(): Promise<void> {
    return Promise.race([
      new Promise<void>((resolve) => this.socket.once('drain', resolve)),
      this.failed,
    ]);
  }

  /** Waits until counters move (or the connection fails). */
  async changes(): Promise<void> {
    if (this.failure !== undefined) throw this.failure;
    await Promise.race([new Promise<void>((resolve) => (this.wake = resolve)), this.failed]);
  }

  changed(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Closes the connection politely (connection.close, close-ok), then the socket. */
  async close(): Promise<void> {
    if (this.failure !== undefined || this.socket.destroyed) {
      this.socket.destroy();
      return;
    }
    this.closing = true;
    try {
      await this.call(0, 'connection.close', {
        replyCode: 200,
        replyText: 'bye',
        classId: 0,
        methodId: 0,
      });
    } finally {
      this.socket.destroy();
    }
  }

  /** Sends a method frame. */
  private send<N extends MethodName>(channel: number, name: N, args: MethodArgs<N>): void {
    this.encoder.method(channel, name, args);
    for (const chunk of this.encoder.take()) this.socket.write(chunk);
  }

  /** Sends a synchronous method and waits for its reply on the same channel. */
  private async call<N extends MethodName>(
    channel: number,
    name: N,
    args: MethodArgs<N>,
  ): Promise<Method> {
    const reply = this.expect(channel);
    this.send(channel, name, args);
    return reply;
  }

  private expect(channel: number): Promise<Method> {
    const state = this.channels.get(channel);
    if (state === undefined) throw new Error(`reference: channel ${channel} is not open`);
    return Promise.race([
      new Promise<Method>((resolve) => state.waiting.push(resolve)),
      this.failed,
    ]);
  }

  /** Walks the frames in `chunk`, carrying partial frames over to the next. */
  private scan(chunk: Buffer): void {
    const length = chunk.length;
    let pos = 0;
    while (pos < length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, length - pos);
        this.skip -= n;
        pos += n;
        continue;
      }
      if (this.partial !== undefined) {
        const n = Math.min(this.partial.length - this.partialFill, length - pos);
        chunk.copy(this.partial, this.partialFill, pos, pos + n);
        this.partialFill += n;
        pos += n;
        if (this.partialFill === this.partial.length) {
          const payload = this.partial;
          this.partial = undefined;
          this.frame(this.partialType, this.partialChannel, payload, 0, payload.length - 1);
        }
        continue;
      }
      let type: number;
      let channel: number;
      let size: number;
      if (this.headFill === 0 && length - pos >= FRAME_HEADER_SIZE) {
        type = chunk[pos] as number;
        channel = chunk.readUInt16BE(pos + 1);
        size = chunk.readUInt32BE(pos + 3);
        pos += FRAME_HEADER_SIZE;
      } else {
        const n = Math.min(FRAME_HEADER_SIZE - this.headFill, length - pos);
        chunk.copy(this.head, this.headFill, pos, pos + n);
        this.headFill += n;
        pos += n;
        if (this.headFill < FRAME_HEADER_SIZE) continue;
        this.headFill = 0;
        type = this.head[0] as number;
        channel = this.head.readUInt16BE(1);
        size = this.head.readUInt32BE(3);
      }
      if (type === FRAME_BODY) {
        // Counted from its header alone; the payload and end octet are skipped unread.
        const state = this.channels.get(channel);
        if (state !== undefined) {
          state.bodyBytes += size;
          state.remaining -= size;
          if (state.remaining === 0) state.messageDone();
        }
        this.skip = size + 1;
        continue;
      }
      if (length - pos > size) {
        this.frame(type, channel, chunk, pos, size);
        pos += size + 1;
      } else {
        this.partial = Buffer.allocUnsafe(size + 1);
        this.partialFill = 0;
        this.partialType = type;
        this.partialChannel = channel;
      }
    }
  }

  /** Handles a method, header or heartbeat frame whose payload is `buf[start, start + size)`. */
  private frame(type: number, channel: number, buf: Buffer, start: number, size: number): void {
    if (buf[start + size] !== FRAME_END)
      throw new Error('reference: a frame without its end octet');
    const state = this.channels.get(channel);
    if (type === FRAME_HEADER) {
      if (state === undefined) return;
      // class id, weight, then the 64-bit body size.
      state.remaining = buf.readUInt32BE(start + 4) * 0x1_0000_0000 + buf.readUInt32BE(start + 8);
      state.onHeader?.(buf, start, size);
      if (state.remaining === 0) state.messageDone();
      return;
    }
    if (type !== FRAME_METHOD) return; // heartbeats (none negotiated)
    const id = buf.readUInt32BE(start);
    if (id === BASIC_DELIVER) {
      if (state !== undefined) state.delivered++;
      return;
    }
    if (id === BASIC_ACK) {
      if (state !== undefined) {
        const tag = buf.readUInt32BE(start + 4) * 0x1_0000_0000 + buf.readUInt32BE(start + 8);
        state.confirm(tag, ((buf[start + 12] as number) & 1) === 1);
        this.changed();
      }
      return;
    }
    // Anything else is rare: decode it properly.
    const method = decodeMethod(new ByteReader(buf, start, start + size));
    switch (method.name) {
      case 'connection.close':
        this.send(0, 'connection.close-ok', {});
        this.fail(
          new Error(`reference: the broker closed the connection: ${method.args.replyText}`),
        );
        return;
      case 'channel.close':
        this.fail(
          new Error(`reference: the broker closed channel ${channel}: ${method.args.replyText}`),
        );
        return;
      case 'basic.nack':
        this.fail(new Error(`reference: the broker nacked publish ${method.args.deliveryTag}`));
        return;
      case 'basic.return':
        this.fail(new Error(`reference: the broker returned a message: ${method.args.replyText}`));
        return;
      case 'basic.cancel':
        this.fail(new Error('reference: the broker cancelled a consumer'));
        return;
      case 'connection.blocked':
      case 'connection.unblocked':
        return; // writes simply stall: the socket's backpressure covers it
    }
    const resolve = state?.waiting.shift();
    if (resolve === undefined) throw new Error(`reference: unexpected ${method.name}`);
    resolve(method);
  }
}

/** Opens a connection, runs `work`, and always closes the connection. */
async function withConnection<T>(
  input: ScenarioInput,
  work: (connection: ReferenceConnection) => Promise<T>,
): Promise<T> {
  const connection = await ReferenceConnection.open(input.url);
  try {
    return await work(connection);
  } finally {
    await connection.close().catch(() => {});
  }
}

/**
 * Publishes `count` copies of `message` (one publish's frames) in writes of `perWrite`
 * messages, never more than `window` ahead of `state.confirmed` when `window` is given.
 */
async function publishCopies(
  connection: ReferenceConnection,
  message: Buffer,
  count: number,
  state?: ChannelState,
  window = Number.POSITIVE_INFINITY,
): Promise<void> {
  const perWrite = Math.max(1, Math.floor(BATCH_BYTES / message.length));
  const batch = perWrite === 1 ? message : Buffer.concat(Array(perWrite).fill(message));
  let sent = 0;
  while (sent < count) {
    const room = state === undefined ? perWrite : window - (sent - state.confirmed);
    if (room <= 0) {
      await connection.changes();
      continue;
    }
    const n = Math.min(perWrite, room, count - sent);
    const room2 = connection.write(n === perWrite ? batch : batch.subarray(0, n * message.length));
    sent += n;
    if (!room2) await connection.drain();
  }
}

/** Waits until `done()` holds, re-checking whenever counters move. */
async function until(connection: ReferenceConnection, done: () => boolean): Promise<void> {
  while (!done()) await connection.changes();
}

/** Checks the counters of a consuming channel after `count` messages of `size` bytes. */
function checkReceived(state: ChannelState, count: number, size: number): void {
  if (state.delivered !== count || state.completed !== count) {
    throw new Error(
      `reference: ${state.delivered} deliveries, ${state.completed} complete, wanted ${count}`,
    );
  }
  if (state.bodyBytes !== count * size) {
    throw new Error(`reference: received ${state.bodyBytes} body bytes, wanted ${count * size}`);
  }
}

export const client: BenchClient = {
  publish: (input) =>
    withConnection(input, async (connection) => {
      await connection.openChannel(1);
      const message = connection.encodePublish(1, input.queue, {}, body(input.size, 0));
      await publishCopies(connection, message, input.count);
      for (;;) {
        const queued = await connection.messageCount(1, input.queue);
        if (queued === input.count) break;
        if (queued > input.count)
          throw new Error(`reference: ${queued} queued, wanted ${input.count}`);
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      return { messages: input.count };
    }),

  publishConfirm: (input) =>
    withConnection(input, async (connection) => {
      const state = await connection.openChannel(1, true);
      const message = connection.encodePublish(1, input.queue, {}, body(input.size, 0));
      const window = Math.max(1, input.window);
      await publishCopies(connection, message, input.count, state, window);
      await until(connection, () => state.confirmed >= input.count);
      if (state.confirmed !== input.count) {
        throw new Error(`reference: ${state.confirmed} confirms, wanted ${input.count}`);
      }
      return { messages: input.count };
    }),

  consume: (input) =>
    withConnection(input, async (connection) => {
      const state = await connection.openChannel(1);
      let finished = false;
      connection.afterRead = () => {
        connection.ackCompleted(1, state);
        if (!finished && state.completed >= input.count) {
          finished = true;
          connection.changed();
        }
      };
      await connection.consume(1, input.queue, input.window, false);
      await until(connection, () => finished);
      checkReceived(state, input.count, input.size);
      return { messages: state.completed };
    }),

  rpc: (input) =>
    withConnection(input, async (connection) => {
      const calling = await connection.openChannel(1);
      const serving = await connection.openChannel(2);
      const requestBody = Buffer.from(JSON.stringify({ i: 0 }));
      // The server answers each request with reply frames encoded once per distinct content
      // header (that is, per reply-to and correlation id), sent when the request body is in.
      let lastHeader: Buffer | undefined;
      let reply: Buffer | undefined;
      serving.onHeader = (buf, start, size) => {
        const header = buf.subarray(start, start + size);
        if (lastHeader !== undefined && header.equals(lastHeader)) return;
        lastHeader = Buffer.from(header);
        const properties = decodeBasicProperties(new ByteReader(buf, start + 12, start + size));
        if (properties.replyTo === undefined)
          throw new Error('reference: a request without reply-to');
        reply = connection.encodePublish(
          2,
          properties.replyTo,
          { correlationId: properties.correlationId, contentType: 'application/json' },
          requestBody,
        );
      };
      serving.onMessage = () => {
        if (reply === undefined) throw new Error('reference: a request without a header');
        connection.write(reply);
      };
      let answered = 0;
      calling.onMessage = () => {
        answered++;
        connection.changed();
      };
      await connection.consume(1, 'amq.rabbitmq.reply-to', 0, true);
      await connection.consume(2, input.queue, 0, true);
      const request = connection.encodePublish(
        1,
        input.queue,
        { replyTo: 'amq.rabbitmq.reply-to', correlationId: '0', contentType: 'application/json' },
        requestBody,
      );
      const latenciesUs: number[] = [];
      for (let i = 0; i < input.count; i++) {
        const start = process.hrtime.bigint();
        connection.write(request);
        await until(connection, () => answered > i);
        latenciesUs.push(Number(process.hrtime.bigint() - start) / 1000);
      }
      checkReceived(calling, input.count, requestBody.length);
      checkReceived(serving, input.count, requestBody.length);
      return { messages: input.count, latenciesUs };
    }),

  large: (input) =>
    withConnection(input, async (connection) => {
      const publishing = await connection.openChannel(1, true);
      const consuming = await connection.openChannel(2);
      let finished = false;
      connection.afterRead = () => {
        connection.ackCompleted(2, consuming);
        if (!finished && consuming.completed >= input.count) {
          finished = true;
          connection.changed();
        }
      };
      await connection.consume(2, input.queue, input.window, false);
      const message = connection.encodePublish(1, input.queue, {}, body(input.size, 0));
      await publishCopies(connection, message, input.count, publishing, LARGE_PUBLISH_WINDOW);
      await until(connection, () => finished && publishing.confirmed >= input.count);
      checkReceived(consuming, input.count, input.size);
      return { messages: consuming.completed };
    }),
};
