import { inspect } from 'node:util';
import { EventEmitter } from 'eventemitter3';
import { Channel, type ChannelOptions, type CloseOptions, type SignalOptions } from './channel.js';
import { Connector } from './connector.js';
import {
  blockedChannel,
  type ConnectDiagnostic,
  ConnectionBlock,
  ConnectionEvent,
  ConnectionLoss,
  ConnectionRecovery,
  ConnectionWaiting,
  connectChannel,
  isTraced,
  lostChannel,
  recoveredChannel,
  traceAsync,
  unblockedChannel,
  waitingChannel,
} from './diagnostics.js';
import { waitWithin } from './engine/abort.js';
import type { ChannelEngine } from './engine/channel.js';
import type { BufferedBytes, Engine, Tuning } from './engine/engine.js';
import { ChannelError, ConnectionError, TimeoutError } from './engine/errors.js';
import type { HostAddress } from './host.js';
import { Log, type Logger, loggedError } from './log.js';
import {
  type ConnectCallOptions,
  describeEndpoint,
  type ResolvedOptions,
  resolveConnectOptions,
} from './options.js';
import { describeMessage } from './protocol/describe.js';
import { AmqpError } from './protocol/errors.js';
import type { FieldTable } from './protocol/field-types.js';
import type { Queue } from './queue.js';
import {
  backoffDelay,
  isRecoverable,
  REPEATED_FAILURE_WINDOW_MS,
  ReadyGate,
  RepeatedFailures,
  type ResolvedRecovery,
  resolveRecovery,
} from './recovery.js';
import { RpcClient, type RpcClientOptions } from './rpc-client.js';
import type { Schema, SchemaInput, SchemaOutput } from './schema.js';
import { Topology } from './topology.js';
import { callSafely, checkOptions, checkTimeout } from './validate.js';
import { VERSION } from './version.js';

/** What a `reconnecting` event tells. */
export interface ReconnectAttempt {
  /** The attempt's number, from 1. */
  readonly attempt: number;
  /** Where it goes, as `host:port`. */
  readonly host: string;
  /** The pause before it, in ms. */
  readonly delay: number;
}

/** Something recovery could not bring back; it went on with the rest. */
export interface RecoveryFailure {
  /**
   * What it was: `exchange 'x'`, `queue 'q'`, `binding of queue 'q' to exchange 'x'`,
   * `binding of exchange 'd' to exchange 's'`, `consumer … on queue 'q'`, `channel 3`, or
   * `connection` when a step failed for another reason than a refusal.
   */
  readonly entity: string;
  /** Why, usually a `ChannelError` (NOT_FOUND, RESOURCE_LOCKED, PRECONDITION_FAILED). */
  readonly error: unknown;
}

/** Events of a {@link Connection}. */
export interface ConnectionEvents {
  /**
   * The connection closed for good: `error.code` is `CONNECTION_CLOSED`
   * after {@link Connection.close}, else why it ended (`ACCESS_REFUSED`, the
   * last loss when recovery is off or gave up, …).
   */
  close: [error: ConnectionError];
  /** The connection was lost and recovery begins: `error` says how (`CONNECTION_LOST`, `HEARTBEAT_TIMEOUT`, `CONNECTION_FORCED`, …). */
  disconnected: [error: ConnectionError];
  /** Recovery is about to try connecting again. */
  reconnecting: [attempt: ReconnectAttempt];
  /** Recovery is done: channels, topology and consumers are back, and waiting operations go on. */
  recovered: [attempt: ReconnectAttempt];
  /** Recovery could not bring something back (deleted elsewhere, locked by another connection); it went on. */
  recoveryFailure: [failure: RecoveryFailure];
  /** Recovery declared a server-named queue again, and the broker named it anew. */
  queueRenamed: [queue: Queue, from: string, to: string];
  /** The broker stopped reading from this connection, usually a memory or disk alarm; publishes wait. */
  blocked: [reason: string];
  /** The broker reads from this connection again. */
  unblocked: [];
}

export type { ConnectCallOptions } from './options.js';
/** Options of {@link Connection.updateSecret}. */
export interface UpdateSecretOptions extends SignalOptions {
  /** Why, as the broker logs it. @default 'token refresh' */
  reason?: string;
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
  const given = resolveConnectOptions(url, options);
  if (!isTraced(connectChannel)) return open(given);
  const first = given.hosts[0] as HostAddress;
  const diagnostic: ConnectDiagnostic = {
    serverAddress: first.hostname,
    serverPort: first.port,
    peerAddress: undefined,
    peerPort: undefined,
    vhost: given.options.vhost,
    connectionName: given.options.connectionName,
  };
  return traceAsync(connectChannel, diagnostic, () => open(given), onConnected);
}

/** The connect diagnostic says, once connected, which host it reached. */
function onConnected(diagnostic: ConnectDiagnostic, connection: Connection): void {
  diagnostic.serverAddress = connection.serverAddress;
  diagnostic.serverPort = connection.serverPort;
  diagnostic.peerAddress = connection.peerAddress;
  diagnostic.peerPort = connection.peerPort;
}

/** Connects to the hosts in turn, each once, until one takes the connection. */
async function open({
  options: resolved,
  hosts,
  recovery,
  credentials,
  signal,
  logger,
}: ReturnType<typeof resolveConnectOptions>): Promise<Connection> {
  const log = new Log(logger);
  const connector = new Connector(resolved, hosts, clientProperties(resolved), credentials);
  let engine: Engine | undefined;
  for (let tried = 0; engine === undefined; tried++) {
    const host = connector.nextHost;
    try {
      engine = await connector.connect(signal);
    } catch (error) {
      log.write('warren.connection.connectFailed', { host, err: loggedError(error) });
      // Each host once; a refusal of these credentials or vhost would be the same everywhere.
      const permanent = !(error instanceof ConnectionError) || !isRecoverable(error);
      if (permanent || tried + 1 >= hosts.length) throw error;
    }
  }
  const { hostname, port } = connector.nextAddress;
  log.write('warren.connection.opened', {
    url: describeEndpoint({ ...resolved, hostname, port }),
    host: hostname,
    port,
    vhost: resolved.vhost,
    connectionName: resolved.connectionName,
  });
  return Connection.create(engine, resolved, connector, recovery, log);
}

/** Connects and opens one channel: `const { connection, channel } = await connectAndOpenChannel()`. */
export async function connectAndOpenChannel(
  url?: string | URL | ConnectCallOptions,
  options?: ConnectCallOptions,
  channelOptions?: ChannelOptions,
): Promise<{
  /** The open connection; close it when done. */
  connection: Connection;
  /** A channel open on it, with `channelOptions`. */
  channel: Channel;
}> {
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
    platform: runtimeName(),
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
  /** Resolves with the reason once the connection has closed for good; never rejects. */
  readonly closed: Promise<ConnectionError>;
  #engine: Engine;
  readonly #description: string;
  readonly #connector: Connector;
  /** null when recovery is off. */
  readonly #recovery: ResolvedRecovery | null;
  /** Where operations wait while the connection is down or blocked. */
  readonly #gate: ReadyGate;
  #blocked = false;
  #recovering = false;
  /** When the connection was last lost, for the recovered diagnostic's downtime. */
  #lostAt = 0;
  /** When the last recovery ended, and how far its backoff had gone. */
  #lastRecovery: { at: number; step: number } | undefined;
  /** The same failure met again and again: recovery stops rather than loop (maxRepeatedFailures). */
  readonly #repeated: RepeatedFailures;
  #finalError: ConnectionError | undefined;
  #resolveClosed: (error: ConnectionError) => void = () => {};
  /** Stops the recovery loop's pauses and connects when the application closes. */
  readonly #stopRecovery = new AbortController();
  /** Open channels, whose consumers a graceful close stops first. */
  readonly #channels = new Set<Channel>();
  /** @internal What recovery declares again. */
  readonly topology = new Topology();
  /** @internal Where the connection, its channels and consumers log. */
  readonly log: Log;
  #closing: Promise<void> | undefined;

  /** @internal Use {@link connect}. */
  static create(
    engine: Engine,
    options: ResolvedOptions,
    connector: Connector,
    recovery: ResolvedRecovery | null,
    log: Log,
  ): Connection {
    return new Connection(engine, options, connector, recovery, log);
  }

  private constructor(
    engine: Engine,
    options: ResolvedOptions,
    connector: Connector,
    recovery: ResolvedRecovery | null,
    log: Log,
  ) {
    super();
    this.log = log;
    this.#engine = engine;
    this.#description = describeEndpoint(options);
    this.#connector = connector;
    this.#recovery = recovery;
    this.#gate = new ReadyGate(recovery ?? DEFAULT_RECOVERY, undefined, (publishes, bytes) => {
      if (waitingChannel.hasSubscribers) {
        waitingChannel.publish(new ConnectionWaiting(this, publishes, bytes));
      }
    });
    this.#repeated = new RepeatedFailures(recovery?.maxRepeatedFailures ?? 1);
    this.closed = new Promise((resolve) => {
      this.#resolveClosed = resolve;
    });
    this.#attach(engine);
  }

  /** Whether the connection is open (not closed, and not recovering). */
  get isOpen(): boolean {
    return this.#finalError === undefined && !this.#recovering && this.#engine.isOpen;
  }

  /** Whether the connection is lost and recovering. */
  get isRecovering(): boolean {
    return this.#recovering;
  }

  /** Whether the broker has blocked publishing on this connection (`connection.blocked`). */
  get blocked(): boolean {
    return this.#blocked;
  }

  /** @internal Whether operations may go ahead without waiting. */
  get isReady(): boolean {
    return this.#gate.open;
  }

  /** @internal Whether the current engine is open (recovery checks it between steps). */
  get isEngineOpen(): boolean {
    return this.#engine.isOpen;
  }

  /** @internal Resolves when operations may go ahead: see {@link ReadyGate.wait}. */
  whenReady(bytes: number, isPublish: boolean, signal: AbortSignal | undefined): Promise<void> {
    return this.#gate.wait(bytes, isPublish, signal);
  }

  /** @internal Whether losing the connection with `cause` leads to recovery rather than a close. */
  willRecover(cause: unknown): boolean {
    return (
      cause instanceof ConnectionError &&
      this.#recovery !== null &&
      this.#closing === undefined &&
      this.#finalError === undefined &&
      isRecoverable(cause)
    );
  }

  #attach(engine: Engine): void {
    engine.once('close', (error) => this.#lost(engine, error));
    engine.on('blocked', (reason) => {
      this.#blocked = true;
      this.#gate.shut(new AmqpError('BLOCKED', `the broker blocked the connection: ${reason}`));
      this.log.write('warren.connection.blocked', { reason });
      if (blockedChannel.hasSubscribers) blockedChannel.publish(new ConnectionBlock(this, reason));
      callSafely('a blocked listener', () => this.emit('blocked', reason), this.log);
    });
    engine.on('unblocked', () => {
      this.#blocked = false;
      if (!this.#recovering) this.#gate.reopen();
      this.log.write('warren.connection.unblocked', {});
      if (unblockedChannel.hasSubscribers) unblockedChannel.publish(new ConnectionEvent(this));
      callSafely('an unblocked listener', () => this.emit('unblocked'), this.log);
    });
  }

  #lost(engine: Engine, error: ConnectionError): void {
    if (engine !== this.#engine || this.#finalError !== undefined) return;
    this.#blocked = false;
    // A loss during recovery: the running recovery loop notices and tries again.
    if (this.#recovering) return;
    if (!this.willRecover(error)) {
      this.#publishLost(error, false);
      this.#finish(error);
      return;
    }
    // Lost again soon after recovering, with nothing done meanwhile (no publish, no settlement):
    // the same failure coming back counts towards giving up.
    const recent = this.#lastRecovery;
    if (
      recent === undefined ||
      Date.now() - recent.at >= REPEATED_FAILURE_WINDOW_MS ||
      engine.workDone > 0
    ) {
      this.#repeated.reset();
    } else if (this.#repeated.add(error)) {
      this.#publishLost(error, false);
      this.#finish(this.#repeated.giveUp(error));
      return;
    }
    this.#publishLost(error, true);
    this.#lostAt = Date.now();
    this.#recovering = true;
    this.#gate.shut(error);
    this.log.write('warren.connection.lost', { ...replyOf(error), err: loggedError(error) });
    callSafely('a disconnected listener', () => this.emit('disconnected', error), this.log);
    this.#recover(error).catch((failure: unknown) => {
      // Never expected: recovery catches what its steps throw. Close rather than hang.
      this.#finish(giveUp(0, failure));
    });
  }

  /** Reconnects with backoff until it works, the attempts run out, or the application closes. */
  async #recover(lost: ConnectionError): Promise<void> {
    const recovery = this.#recovery as ResolvedRecovery;
    const stop = this.#stopRecovery.signal;
    const began = Date.now();
    let lastError: unknown = lost;
    // A connection lost again soon after recovering (a broker that drops it after the handshake)
    // goes on with the longer pauses, rather than hammering at initialDelay forever.
    const recent = this.#lastRecovery;
    const carried =
      recent !== undefined && Date.now() - recent.at < recovery.maxDelay ? recent.step : 0;
    for (let attempt = 0; ; attempt++) {
      if (stop.aborted) return;
      if (attempt >= recovery.maxAttempts) {
        this.#finish(giveUp(attempt, lastError));
        return;
      }
      const info = {
        attempt: attempt + 1,
        host: this.#connector.nextHost,
        delay: backoffDelay(carried + attempt, recovery),
      };
      this.log.write('warren.connection.reconnecting', { ...info, cause: loggedError(lastError) });
      callSafely('a reconnecting listener', () => this.emit('reconnecting', info), this.log);
      let connected = false;
      try {
        await pause(info.delay, stop);
        const engine = await this.#connector.connect(stop);
        connected = true;
        this.#engine = engine;
        this.#attach(engine);
        await this.#restore(engine);
      } catch (error) {
        if (stop.aborted) return;
        lastError = error;
        if (error instanceof ConnectionError && !isRecoverable(error)) {
          // Refused credentials or vhost: retrying would only hammer the broker.
          this.#finish(error);
          return;
        }
        if (this.#engine.isOpen) {
          // Not a loss: something else failed. Say so, and start over on a fresh connection.
          this.#report(error, 'connection');
          void this.#engine.close().catch(() => {});
        }
        // The broker took the connection and it failed anyway: the same failure again and again
        // would loop. Not reaching the broker is another matter, which maxAttempts bounds.
        if (connected && this.#repeated.add(error)) {
          this.#finish(this.#repeated.giveUp(error));
          return;
        }
        continue;
      }
      this.#recovering = false;
      this.#lastRecovery = { at: Date.now(), step: carried + attempt + 1 };
      if (!this.#blocked) this.#gate.reopen();
      const { attempt: attempts, host } = info;
      this.log.write('warren.connection.recovered', {
        attempts,
        host,
        duration: Date.now() - began,
      });
      if (recoveredChannel.hasSubscribers) {
        const downtime = Date.now() - this.#lostAt;
        recoveredChannel.publish(new ConnectionRecovery(this, info.attempt, downtime));
      }
      callSafely('a recovered listener', () => this.emit('recovered', info), this.log);
      return;
    }
  }

  /** Channels, then exchanges, queues and bindings, then consumers, as DESIGN says. */
  async #restore(engine: Engine): Promise<void> {
    const open = () => engine.openChannel();
    const report = (error: unknown, entity: string): void => this.#report(error, entity);
    for (const channel of this.#channels) {
      try {
        await channel.reopen(open);
      } catch (error) {
        if (!engine.isOpen) throw error;
        report(error, `channel ${channel.id}`);
        channel.finish(
          error instanceof ChannelError
            ? error
            : new ChannelError(
                'RECOVERY_FAILED',
                `channel ${channel.id} did not reopen`,
                undefined,
                {
                  cause: error,
                },
              ),
        );
      }
    }
    await this.topology.recover(open, report, (queue, from, to) =>
      callSafely(
        'a queueRenamed listener',
        () => this.emit('queueRenamed', queue, from, to),
        this.log,
      ),
    );
    for (const channel of this.#channels) await channel.resumeConsumers(open, report);
    if (!engine.isOpen)
      throw (
        engine.error ??
        new ConnectionError('CONNECTION_LOST', 'the connection was lost during recovery')
      );
  }

  /** @internal A consumer of queue `name` stopped: the last one takes an auto-delete queue with it. */
  consumerStopped(name: string): void {
    for (const channel of this.#channels) if (channel.consumes(name)) return;
    this.topology.lastConsumerGone(name);
  }

  #publishLost(error: ConnectionError, recovering: boolean): void {
    if (lostChannel.hasSubscribers) {
      lostChannel.publish(new ConnectionLoss(this, error, recovering));
    }
  }

  /** @internal The broker's host name or address, as connected to (for diagnostics). */
  get serverAddress(): string {
    return this.#connector.current.hostname;
  }

  /** @internal The broker's port, as connected to (for diagnostics). */
  get serverPort(): number {
    return this.#connector.current.port;
  }

  /** @internal The address at the other end of the current socket (for diagnostics). */
  get peerAddress(): string | undefined {
    return this.#engine.peerAddress;
  }

  /** @internal The port at the other end of the current socket (for diagnostics). */
  get peerPort(): number | undefined {
    return this.#engine.peerPort;
  }

  #report(error: unknown, entity: string): void {
    this.log.write('warren.connection.recoveryFailure', { entity, err: loggedError(error) });
    callSafely(
      'a recoveryFailure listener',
      () => this.emit('recoveryFailure', { entity, error }),
      this.log,
    );
  }

  /** @internal A channel reopening after a soft error could not bring `entity` back. */
  reportFailure(error: unknown, entity: string): void {
    this.#report(error, entity);
  }

  /** @internal Opens a channel on the current engine, for a channel that reopens after a soft error. */
  openEngineChannel(): Promise<ChannelEngine> {
    return this.#engine.openChannel();
  }

  /** Closes for good: channels end, waiting operations fail, `close` is emitted. */
  #finish(error: ConnectionError): void {
    if (this.#finalError !== undefined) return;
    this.#finalError = error;
    this.#recovering = false;
    this.#stopRecovery.abort();
    this.#gate.close(error);
    const channelError = ChannelError.fromConnection(error);
    for (const channel of [...this.#channels]) channel.finish(channelError);
    this.#channels.clear();
    this.#resolveClosed(error);
    if (this.#closing !== undefined) this.log.write('warren.connection.closed', {});
    else this.log.write('warren.connection.failed', { ...replyOf(error), err: loggedError(error) });
    callSafely('a close listener', () => this.emit('close', error), this.log);
  }

  /**
   * The `logger` given to {@link connect}, for code built on warren to log
   * to the same place: calls to it never throw (a throw is reported once as
   * a process warning). `undefined` without one.
   */
  get logger(): Logger | undefined {
    return this.log.guarded;
  }

  /** What the broker announced about itself: product, version, capabilities, cluster name. */
  get serverProperties(): FieldTable {
    return this.#engine.serverProperties;
  }

  /** The negotiated channel_max, frame_max and heartbeat (seconds). */
  get tuning(): Tuning {
    return this.#engine.tuning;
  }

  /**
   * What the connection holds in its buffers now: deliveries waiting for a
   * handler, bytes waiting to be written, and whether warren stopped reading
   * because of the former (`maxBufferedDeliveryBytes`). For monitoring.
   */
  get buffered(): BufferedBytes {
    return this.#engine.buffered;
  }

  /**
   * Opens a channel; with `{ confirm: true }`, publishes on it are
   * confirmed; with `{ reopen: true }`, it comes back after a channel error.
   */
  async openChannel(options: ChannelOptions = {}): Promise<Channel> {
    checkOptions(options, 'openChannel');
    const reopen = Channel.resolveReopen(options.reopen);
    if (!this.isReady) await this.whenReady(0, false, options.signal);
    const engine = await this.#engine.openChannel(options.signal);
    const channel = Channel.create(this, engine, reopen, this.#recovery ?? DEFAULT_RECOVERY);
    this.#channels.add(channel);
    channel.once('close', () => this.#channels.delete(channel));
    if (options.confirm === true) {
      try {
        await channel.selectConfirms(options.signal);
      } catch (error) {
        void channel.close().catch(() => {});
        throw error;
      }
    }
    return channel;
  }

  /**
   * Replaces the credentials of the open connection (`connection.update-secret`),
   * for brokers that authenticate with expiring tokens (OAuth 2).
   */
  async updateSecret(secret: string, options: UpdateSecretOptions = {}): Promise<void> {
    if (typeof secret !== 'string') throw new TypeError('the new secret must be a string');
    checkOptions(options, 'updateSecret');
    const { reason = 'token refresh', signal } = options;
    if (typeof reason !== 'string') throw new TypeError('the reason must be a string');
    if (!this.isReady) await this.whenReady(0, false, signal);
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
    checkOptions(options, 'rpcClient');
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
    checkOptions(options, 'connection.close');
    checkTimeout(options.timeout, 'timeout');
    this.#closing ??= this.#shutdown(options.timeout);
    await waitWithin(this.#closing, { signal: options.signal }, 'closing the connection');
  }

  async #shutdown(timeout: number | undefined): Promise<void> {
    const channels = [...this.#channels];
    await Promise.all(channels.map((channel) => channel.stopConsumers(timeout)));
    this.#stopRecovery.abort();
    await this.#engine.close();
    // Closed while recovering, there may be no engine left to report the close.
    this.#finish(new ConnectionError('CONNECTION_CLOSED', 'connection closed by the application'));
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

/** A connection error's code and the broker's reply, for a log line. */
function replyOf(error: ConnectionError) {
  return { code: error.code, replyCode: error.replyCode, replyText: error.replyText };
}

/** Waiting limits when recovery is off: a blocked connection still holds publishes within them. */
const DEFAULT_RECOVERY = resolveRecovery({}) as ResolvedRecovery;

/** Resolves after `ms`, or rejects when `signal` aborts. */
function pause(ms: number, signal: AbortSignal): Promise<void> {
  return waitWithin(new Promise<never>(() => {}), { timeout: ms, signal }, 'the pause').catch(
    (error: unknown) => {
      if (!(error instanceof TimeoutError)) throw error;
    },
  );
}

/** The error a connection closes with when recovery runs out of attempts. */
function giveUp(attempts: number, lastError: unknown): ConnectionError {
  return new ConnectionError(
    'RECOVERY_FAILED',
    `recovery gave up after ${attempts} attempts: ${describeMessage(lastError)}`,
    undefined,
    { cause: lastError },
  );
}

/**
 * The runtime, as the broker's connection list shows it. Bun and Deno report
 * a Node.js `process.version` of their own making, so they are named first.
 */
function runtimeName(): string {
  const versions = process.versions as NodeJS.ProcessVersions & { bun?: string; deno?: string };
  if (versions.bun !== undefined) return `Bun ${versions.bun}`;
  if (versions.deno !== undefined) return `Deno ${versions.deno}`;
  return `Node.js ${process.version}`;
}
