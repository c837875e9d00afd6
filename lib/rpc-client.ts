import { randomUUID } from 'node:crypto';
import type { Channel, ChannelOptions, CloseOptions, SignalOptions } from './channel.js';
import type { Connection } from './connection.js';
import { isTraced, RpcCall, rpcChannel, traceAsync } from './diagnostics.js';
import { throwIfAborted, waitWithin } from './engine/abort.js';
import type { Exchange } from './exchange.js';
import type { IncomingMessage } from './incoming-message.js';
import { Message, type MessageProperties } from './message.js';
import { MessageReturnedError, type ReturnedMessage } from './returned-message.js';
import { DIRECT_REPLY_TO, remoteError } from './rpc.js';
import { parseBody, type Schema, validate } from './schema.js';
import { checkOptions, checkShortString, checkTimeout } from './validate.js';

/** Options of {@link Connection.rpcClient}. */
export interface RpcClientOptions<
  Req extends Schema | undefined = undefined,
  Res extends Schema | undefined = undefined,
> {
  /** A zod schema requests must match; `call` rejects before sending one that does not. */
  requestSchema?: Req;
  /** A zod schema replies must match; `call` rejects with a `MessageValidationError` when one does not. */
  replySchema?: Res;
  /** How long a call waits for its reply unless it says otherwise, in ms. @default 30000 */
  timeout?: number;
  /**
   * Reopen the client's channel when the broker closes it for a failed
   * request (a missing exchange): the calls in flight reject, later ones go
   * on. See {@link ChannelOptions.reopen}.
   * @default false
   */
  reopen?: ChannelOptions['reopen'];
}

/** Options of {@link RpcClient.call}. */
export interface RpcCallOptions extends SignalOptions {
  /** How long to wait for the reply, in ms; the request also expires in its queue then. @default the client's */
  timeout?: number;
  /** Stops waiting for the reply (with an `AbortError`). */
  signal?: AbortSignal;
  /** The exchange to publish the request to. @default '' (the default exchange: the routing key is the queue) */
  exchange?: string;
  /** Extra properties of the request, such as `headers` or `priority`. */
  properties?: MessageProperties;
}

interface PendingCall {
  resolve(reply: IncomingMessage): void;
  reject(error: unknown): void;
}

/**
 * The calling side of request/reply, over RabbitMQ's direct reply-to: each
 * {@link RpcClient.call} publishes a request with a `correlationId` and
 * `replyTo`, and resolves with the reply the serving side
 * ({@link Queue.serve}) sends back. Concurrent calls share one channel and
 * one reply consumer. Made by {@link Connection.rpcClient}.
 */
export class RpcClient<Req = unknown, Res = unknown> {
  /** The channel the client publishes and receives replies on (its own). */
  readonly channel: Channel;
  readonly #options: RpcClientOptions<Schema | undefined, Schema | undefined>;
  readonly #pending = new Map<string, PendingCall>();
  readonly #idPrefix = `${randomUUID()}.`;
  #nextId = 0;

  private constructor(
    channel: Channel,
    options: RpcClientOptions<Schema | undefined, Schema | undefined>,
  ) {
    this.channel = channel;
    this.#options = options;
    // The reply address belongs to the lost channel: replies to calls in flight cannot arrive.
    const rejectAll = (error: unknown): void => {
      for (const call of this.#pending.values()) call.reject(error);
      this.#pending.clear();
    };
    channel.on('disconnected', rejectAll);
    channel.once('close', rejectAll);
    // Requests go out mandatory: one no queue takes comes back, and its call fails at once.
    channel.on('return', (returned) => this.#onReturn(returned));
  }

  /** @internal Use {@link Connection.rpcClient}. */
  static async open<Req, Res>(
    connection: Connection,
    options: RpcClientOptions<Schema | undefined, Schema | undefined>,
  ): Promise<RpcClient<Req, Res>> {
    checkTimeout(options.timeout, 'timeout');
    // No confirms: a round trip would wait on the confirm's extra frame and the broker's
    // extra work; an unroutable request still fails at once, through its return.
    const channel = await connection.openChannel(
      options.reopen === undefined ? {} : { reopen: options.reopen },
    );
    try {
      const client = new RpcClient<Req, Res>(channel, options);
      // RabbitMQ requires the reply consumer before the first request, with no-ack.
      // A reply ends its call's `warren:rpc` trace: it is not processed apart.
      await channel
        .queue(DIRECT_REPLY_TO)
        .subscribe((reply) => client.#onReply(reply), { noAck: true }, { untraced: true });
      return client;
    } catch (error) {
      await channel.close();
      throw error;
    }
  }

  /** How many calls wait for their reply. */
  get waiting(): number {
    return this.#pending.size;
  }

  /**
   * Sends `request` to the queue `routingKey` (through the default exchange,
   * unless `options.exchange`) and resolves with the reply's body, parsed as
   * JSON (and checked against `replySchema`).
   * @throws RemoteError when the handler failed
   * @throws TimeoutError when no reply came in time; AbortError when `options.signal` aborted
   * @throws MessageReturnedError (`NO_ROUTE`) when no queue takes the request
   * @throws MessageValidationError when the request or the reply does not match its schema
   */
  async call(
    routingKey: string,
    request: Req | Message<Req>,
    options: RpcCallOptions = {},
  ): Promise<Res> {
    checkShortString(routingKey, 'routing key');
    checkOptions(options, 'call');
    checkTimeout(options.timeout, 'timeout');
    const exchange: Exchange = this.channel.exchange(options.exchange ?? '');
    throwIfAborted(options.signal, 'the call');
    const outgoing = request instanceof Message ? request : undefined;
    const { requestSchema } = this.#options;
    if (requestSchema !== undefined) {
      const value = outgoing === undefined ? request : outgoing.data;
      validate(requestSchema, value, 'the request does not match its schema');
    }
    const timeout = options.timeout ?? this.#options.timeout ?? 30_000;
    const correlationId = this.#idPrefix + String(this.#nextId++);
    // The server parses requests as JSON: a string request travels as a JSON string.
    const message = Message.asJson(request, {
      ...options.properties,
      correlationId,
      replyTo: DIRECT_REPLY_TO,
      // A request nobody took in time would only be answered into the void.
      // RabbitMQ takes whole milliseconds only (406 closes the channel otherwise).
      expiration: String(Math.ceil(timeout)),
    });
    if (!isTraced(rpcChannel)) {
      return this.#roundTrip(exchange, routingKey, message, correlationId, timeout, options.signal);
    }
    const diagnostic = new RpcCall(this.channel, exchange.name, routingKey, correlationId, timeout);
    return traceAsync(rpcChannel, diagnostic, () =>
      this.#roundTrip(exchange, routingKey, message, correlationId, timeout, options.signal),
    );
  }

  /** Publishes the request and waits for its reply, parsed. */
  async #roundTrip(
    exchange: Exchange,
    routingKey: string,
    message: Message,
    correlationId: string,
    timeout: number,
    signal: AbortSignal | undefined,
  ): Promise<Res> {
    const replied = new Promise<IncomingMessage>((resolve, reject) => {
      this.#pending.set(correlationId, { resolve, reject });
    });
    exchange.publish(message, routingKey, { mandatory: true }).catch((error: unknown) => {
      this.#pending.get(correlationId)?.reject(error);
    });
    try {
      const reply = await waitWithin(replied, { timeout, signal }, `the call to '${routingKey}'`);
      return parseBody(reply.text(), this.#options.replySchema, 'the reply is invalid') as Res;
    } finally {
      this.#pending.delete(correlationId);
    }
  }

  /** Closes the client's channel; calls still waiting reject with `CHANNEL_CLOSED`. */
  async close(options: CloseOptions = {}): Promise<void> {
    await this.channel.close(options);
  }

  /** Closes the client, for `await using rpc = …`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  #onReturn(returned: ReturnedMessage): void {
    const id = returned.properties.correlationId;
    const call = id === undefined ? undefined : this.#pending.get(id);
    call?.reject(new MessageReturnedError(returned));
  }

  #onReply(reply: IncomingMessage): void {
    const id = reply.properties.correlationId;
    // A reply to a call that timed out or was aborted is dropped.
    const call = id === undefined ? undefined : this.#pending.get(id);
    if (call === undefined) return;
    const error = remoteError(reply.properties.headers);
    if (error === undefined) call.resolve(reply);
    else call.reject(error);
  }
}
