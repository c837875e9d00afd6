import { inspect } from 'node:util';
import { EventEmitter } from 'eventemitter3';
import { Channel, type ChannelOptions, type CloseOptions } from './channel.js';
import { waitWithin } from './engine/abort.js';
import { connectEngine } from './engine/connect.js';
import type { Engine, Tuning } from './engine/engine.js';
import type { ConnectionError } from './engine/errors.js';
import {
  type ConnectOptions,
  describeEndpoint,
  type ResolvedOptions,
  resolveOptions,
} from './options.js';
import type { FieldTable } from './protocol/field-types.js';
import { RpcClient, type RpcClientOptions } from './rpc-client.js';
import type { Schema, SchemaInput, SchemaOutput } from './schema.js';
import { callSafely, checkTimeout } from './validate.js';
import { VERSION } from './version.js';

/** Events of a {@link Connection}. */
export interface ConnectionEvents {
  /**
   * The connection closed: `error.code` is `CONNECTION_CLOSED` after
   * {@link Connection.close}, else why it ended (`CONNECTION_FORCED`,
   * `CONNECTION_LOST`, `HEARTBEAT_TIMEOUT`, …).
   */
  close: [error: ConnectionError];
  /** The broker stopped reading from this connection, usually a memory or disk alarm. */
  blocked: [reason: string];
  /** The broker reads from this connection again. */
  unblocked: [];
}

/** Options of {@link connect}: the connection's options, and a signal to abort connecting. */
export interface ConnectCallOptions extends ConnectOptions {
  /** Aborts connecting (the socket and the handshake). */
  signal?: AbortSignal;
}

/** What warren tells the broker it understands. */
const CAPABILITIES: FieldTable = {
  publisher_confirms: true,
  exchange_exchange_bindings: true,
  'basic.nack': true,
  consumer_cancel_notify: true,
  'connection.blocked': true,
  authentication_failure_close: true,
  per_consumer_qos: true,
  direct_reply_to: true,
};

/**
 * Connects to RabbitMQ. Pass a URL
 * (`amqp://user:pass@host:5672/vhost?heartbeat=30`), an options object, or
 * both (the options override the URL). With neither, connects to
 * `amqp://guest:guest@localhost:5672/`.
 *
 * @throws ConnectionError ACCESS_REFUSED for wrong credentials, NOT_ALLOWED
 *   for an unknown vhost, CONNECTION_REFUSED when nothing listens,
 *   CONNECT_TIMEOUT when it takes longer than `connectionTimeout`
 * @throws TypeError / RangeError for invalid options, before connecting
 */
export async function connect(
  url?: string | URL | ConnectCallOptions,
  options?: ConnectCallOptions,
): Promise<Connection> {
  const resolved = resolveOptions(url, options);
  const signal =
    options?.signal ?? (typeof url === 'object' && !('href' in url) ? url.signal : undefined);
  const engine = await connectEngine(
    { host: resolved.hostname, port: resolved.port, tls: resolved.tls },
    {
      username: resolved.username,
      password: resolved.password,
      vhost: resolved.vhost,
      mechanism: resolved.mechanism,
      heartbeat: resolved.heartbeat,
      frameMax: resolved.frameMax,
      channelMax: resolved.channelMax,
      maxBodySize: resolved.maxBodySize,
      clientProperties: clientProperties(resolved),
    },
    resolved.connectionTimeout,
    signal,
  );
  return new Connection(engine, resolved);
}

/** Connects and opens one channel: `const { connection, channel } = await connectAndOpenChannel()`. */
export async function connectAndOpenChannel(
  url?: string | URL | ConnectCallOptions,
  options?: ConnectCallOptions,
  channelOptions?: ChannelOptions,
): Promise<{ connection: Connection; channel: Channel }> {
  const connection = await connect(url, options);
  try {
    return { connection, channel: await connection.openChannel(channelOptions) };
  } catch (error) {
    await connection.close();
    throw error;
  }
}

function clientProperties(options: ResolvedOptions): FieldTable {
  return {
    ...options.clientProperties,
    product: 'warren',
    version: VERSION,
    platform: `Node.js ${process.version}`,
    capabilities: CAPABILITIES,
    ...(options.connectionName === undefined ? {} : { connection_name: options.connectionName }),
  };
}

/**
 * A connection to RabbitMQ. Open channels on it; close it when done (or
 * `await using connection = await connect()`). It never throws from a socket
 * event: when it ends, `close` is emitted and {@link Connection.closed}
 * resolves with the reason.
 */
export class Connection extends EventEmitter<ConnectionEvents> {
  /** Resolves with the reason once the connection has closed; never rejects. */
  readonly closed: Promise<ConnectionError>;
  readonly #engine: Engine;
  readonly #description: string;
  #blocked = false;
  /** Open channels, whose consumers a graceful close stops first. */
  readonly #channels = new Set<Channel>();
  #closing: Promise<void> | undefined;

  /** @internal Use {@link connect}. */
  constructor(engine: Engine, options: ResolvedOptions) {
    super();
    this.#engine = engine;
    this.#description = describeEndpoint(options);
    this.closed = new Promise((resolve) => engine.once('close', resolve));
    engine.on('close', (error) => callSafely('a close listener', () => this.emit('close', error)));
    engine.on('blocked', (reason) => {
      this.#blocked = true;
      callSafely('a blocked listener', () => this.emit('blocked', reason));
    });
    engine.on('unblocked', () => {
      this.#blocked = false;
      callSafely('an unblocked listener', () => this.emit('unblocked'));
    });
  }

  /** Whether the connection is open. */
  get isOpen(): boolean {
    return this.#engine.isOpen;
  }

  /** Whether the broker has blocked publishing on this connection (`connection.blocked`). */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** What the broker announced about itself: product, version, capabilities, cluster name. */
  get serverProperties(): FieldTable {
    return this.#engine.serverProperties;
  }

  /** The negotiated channel_max, frame_max and heartbeat (seconds). */
  get tuning(): Tuning {
    return this.#engine.tuning;
  }

  /** Opens a channel; with `{ confirm: true }`, publishes on it are confirmed. */
  async openChannel(options: ChannelOptions = {}): Promise<Channel> {
    const engine = await this.#engine.openChannel(options.signal);
    const channel = new Channel(this, engine);
    this.#channels.add(channel);
    engine.once('close', () => this.#channels.delete(channel));
    if (options.confirm === true) {
      try {
        await engine.selectConfirms(options.signal);
      } catch (error) {
        void engine.close().catch(() => {});
        throw error;
      }
    }
    return channel;
  }

  /**
   * Replaces the credentials of the open connection (`connection.update-secret`),
   * for brokers that authenticate with expiring tokens (OAuth 2).
   */
  async updateSecret(
    secret: string,
    reason = 'token refresh',
    signal?: AbortSignal,
  ): Promise<void> {
    if (typeof secret !== 'string') throw new TypeError('the new secret must be a string');
    await this.#engine.updateSecret(secret, reason, signal);
  }

  /**
   * Opens a client for request/reply over RabbitMQ's direct reply-to, on a
   * channel of its own. Close it (or the connection) when done.
   *
   * ```ts
   * const rpc = await connection.rpcClient({ replySchema: Quote });
   * const quote = await rpc.call('pricing', { sku: 'A-1' }, { timeout: 5_000 });
   * ```
   */
  async rpcClient<
    Req extends Schema | undefined = undefined,
    Res extends Schema | undefined = undefined,
  >(
    options: RpcClientOptions<Req, Res> = {},
  ): Promise<RpcClient<SchemaInput<Req>, SchemaOutput<Res>>> {
    return RpcClient.open(this, options);
  }

  /**
   * Closes the connection gracefully: every consumer stops (as
   * {@link Consumer.cancel}), running handlers finish (within
   * `options.timeout`), then the connection and its channels close.
   * Idempotent; resolves when closed.
   * @throws AbortError when `options.signal` aborts the wait; the close goes on
   */
  async close(options: CloseOptions = {}): Promise<void> {
    checkTimeout(options.timeout, 'timeout');
    this.#closing ??= this.#shutdown(options.timeout);
    await waitWithin(this.#closing, { signal: options.signal }, 'closing the connection');
  }

  async #shutdown(timeout: number | undefined): Promise<void> {
    const channels = [...this.#channels];
    await Promise.all(channels.map((channel) => channel.stopConsumers(timeout)));
    await this.#engine.close();
  }

  /** Closes the connection, for `await using connection = await connect()`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Where the connection goes, without the password: `Connection<amqp://guest@localhost:5672/%2F>`. */
  override toString(): string {
    return `Connection<${this.#description}>`;
  }

  /** @internal */
  toJSON(): string {
    return this.toString();
  }

  /** @internal */
  [inspect.custom](): string {
    return this.toString();
  }
}
