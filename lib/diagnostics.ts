/**
 * What warren publishes on `node:diagnostics_channel`: the channel names, the
 * shape of each message, and the channel objects, made once when this module
 * loads. Tracers, loggers and metrics subscribe to these by name, as
 * OpenTelemetry does to undici's, without reaching into warren.
 *
 * Nothing here costs anything while nobody subscribes: every publisher checks
 * {@link isTraced} (or a plain channel's `hasSubscribers`) before it builds
 * a message object, so the publish, delivery and ack paths allocate nothing
 * extra. A runtime without `tracingChannel` (older Bun or Deno) gets inert
 * channels that never have subscribers.
 *
 * @packageDocumentation
 */
import * as dc from 'node:diagnostics_channel';
import type { Connection } from './connection.js';
import type { IncomingMessage } from './incoming-message.js';
import type { FieldTable } from './protocol/field-types.js';
import type { BasicProperties } from './protocol/spec.js';
import type { ReturnedMessage } from './returned-message.js';

/**
 * The names of warren's diagnostics channels. The first five are
 * `TracingChannel`s (subscribe with `diagnostics_channel.tracingChannel(name)`:
 * `start`, `end`, `asyncStart`, `asyncEnd`, `error`); the rest are plain
 * channels (`diagnostics_channel.subscribe(name, listener)`).
 *
 * ```ts
 * import { tracingChannel } from 'node:diagnostics_channel';
 * import { DIAGNOSTICS_CHANNELS, type PublishDiagnostic } from 'warren';
 *
 * tracingChannel<string, PublishDiagnostic>(DIAGNOSTICS_CHANNELS.publish).subscribe({
 *   start(message) { message.headers.traceparent = currentTraceparent(); },
 *   asyncEnd(message) { … },
 *   error(message) { console.error(message.error); },
 * });
 * ```
 */
export const DIAGNOSTICS_CHANNELS = Object.freeze({
  /** Tracing: {@link connect}, from the call until the connection is open ({@link ConnectDiagnostic}). */
  connect: 'warren:connect',
  /** Tracing: {@link Exchange.publish}, from the call to the confirm when there is one ({@link PublishDiagnostic}). */
  publish: 'warren:publish',
  /**
   * Tracing: a consumer's handler (or a served RPC request's), from the
   * handover to the settlement ({@link ProcessDiagnostic}). `start` runs the
   * handler inside its stores: a store bound with `start.bindStore` is the
   * handler's.
   */
  process: 'warren:process',
  /** Tracing: {@link RpcClient.call}, from the call to the reply ({@link RpcDiagnostic}). */
  rpc: 'warren:rpc',
  /** Tracing: a synchronous channel operation (declare, bind, unbind, delete, purge, get, qos, tx, recover) ({@link OperationDiagnostic}). */
  operation: 'warren:operation',
  /** Plain: a message arrived, for a consumer or a `get` ({@link ReceiveDiagnostic}). */
  receive: 'warren:receive',
  /** Plain: the application acked, nacked or rejected a message ({@link SettleDiagnostic}). */
  settle: 'warren:settle',
  /** Plain: the broker returned an unroutable mandatory message ({@link ReturnDiagnostic}). */
  return: 'warren:return',
  /** Plain: a connection was lost, or the broker closed it ({@link ConnectionLostDiagnostic}). */
  connectionLost: 'warren:connection:lost',
  /** Plain: a lost connection has recovered ({@link ConnectionRecoveredDiagnostic}). */
  connectionRecovered: 'warren:connection:recovered',
  /** Plain: the broker blocked a connection's publishing ({@link ConnectionBlockedDiagnostic}). */
  connectionBlocked: 'warren:connection:blocked',
  /** Plain: the broker unblocked it ({@link ConnectionUnblockedDiagnostic}). */
  connectionUnblocked: 'warren:connection:unblocked',
  /**
   * Plain: the publishes waiting for a connection that is down or blocked
   * changed in number, to the count it gives, 0 once they went on or failed
   * ({@link ConnectionWaitingDiagnostic}).
   */
  connectionWaiting: 'warren:connection:waiting',
  /**
   * Plain: a failure policy (`retry()`, `deadLetter()`) is retrying or
   * dead-lettering a message its handler failed ({@link FailureDiagnostic}).
   */
  failure: 'warren:failure',
} as const);

/** Where a message of the tracing and plain channels happened: the broker. */
export interface EndpointDiagnostic {
  /** The broker's host name or address, as connected to. */
  readonly serverAddress: string;
  /** The broker's port. */
  readonly serverPort: number;
  /**
   * The address at the other end of the socket (an IP address, after name
   * resolution and any load balancer's choice of node); undefined while no
   * socket is connected.
   */
  readonly peerAddress: string | undefined;
  /** The port at the other end of the socket; undefined while no socket is connected. */
  readonly peerPort: number | undefined;
}

/**
 * What a tracing channel's message carries in every phase: `error` is set
 * before the `error` phase is published.
 */
export interface TracedDiagnostic {
  /** Why it failed, set before the `error` phase. */
  error?: unknown;
}

/** The message of the `warren:connect` tracing channel. */
export interface ConnectDiagnostic extends TracedDiagnostic {
  /** The first host tried; once connected (before `asyncStart`), the host reached. */
  serverAddress: string;
  /** Its port; once connected, the port reached. */
  serverPort: number;
  /** Once connected, the address at the other end of the socket (see {@link EndpointDiagnostic.peerAddress}). */
  peerAddress: string | undefined;
  /** Once connected, the port at the other end of the socket. */
  peerPort: number | undefined;
  /** The virtual host. */
  readonly vhost: string;
  /** The `connectionName` option, if given. */
  readonly connectionName: string | undefined;
}

/** The message of the `warren:publish` tracing channel. */
export interface PublishDiagnostic extends EndpointDiagnostic, TracedDiagnostic {
  /** The channel number it is published on. */
  readonly channelId: number;
  /** The exchange (`''` for the default exchange). */
  readonly exchange: string;
  /** The routing key. */
  readonly routingKey: string;
  /** Whether the broker returns it when no queue takes it. */
  readonly mandatory: boolean;
  /** Whether the publish waits for a publisher confirm. */
  readonly confirm: boolean;
  /** The body's size in bytes. */
  readonly bodySize: number;
  /** The message's properties as given (their `headers` are the original ones: see {@link PublishDiagnostic.headers}). */
  readonly properties: BasicProperties;
  /**
   * The headers the message is sent with, a copy of its own: mutable until
   * the `start` phase returns, so that a tracer adds `traceparent` (and the
   * like) to the message as it goes on the wire, not to the caller's object.
   */
  readonly headers: FieldTable;
  /** The `messageId` property, if set. */
  readonly messageId: string | undefined;
  /** The `correlationId` property, if set. */
  readonly correlationId: string | undefined;
}

/** What a delivered message's diagnostics say of it (`warren:receive`, `warren:process`). */
export interface DeliveryDiagnostic extends EndpointDiagnostic {
  /** The channel number it arrived on. */
  readonly channelId: number;
  /** The message itself. */
  readonly message: IncomingMessage<unknown>;
  /** The queue it came from (a consumer's, or the one of `get`). */
  readonly queue: string;
  /** The exchange it was published to. */
  readonly exchange: string;
  /** The routing key it was published with. */
  readonly routingKey: string;
  /** The broker's delivery tag. */
  readonly deliveryTag: number;
  /** The consumer's tag; undefined for `get`. */
  readonly consumerTag: string | undefined;
  /** Whether the broker delivered it before. */
  readonly redelivered: boolean;
  /** Its properties, headers included. */
  readonly properties: BasicProperties;
  /** The body's size in bytes. */
  readonly bodySize: number;
  /** The `messageId` property, if set. */
  readonly messageId: string | undefined;
  /** The `correlationId` property, if set. */
  readonly correlationId: string | undefined;
}

/** The message of the `warren:receive` channel. */
export type ReceiveDiagnostic = DeliveryDiagnostic;

/** The message of the `warren:process` tracing channel. */
export interface ProcessDiagnostic extends DeliveryDiagnostic, TracedDiagnostic {
  /** Which attempt this is, from 1 (see {@link IncomingMessage.attempt}). */
  readonly attempt: number;
  /** Whether it is a request served by {@link Queue.serve} (an RPC). */
  readonly rpc: boolean;
  /** The `replyTo` property, if set. */
  readonly replyTo: string | undefined;
}

/** The message of the `warren:settle` channel. */
export interface SettleDiagnostic extends EndpointDiagnostic {
  /** The channel number. */
  readonly channelId: number;
  /** The message settled. */
  readonly message: IncomingMessage<unknown>;
  /** Its delivery tag. */
  readonly deliveryTag: number;
  /** `ack`, `nack` or `reject`. */
  readonly kind: 'ack' | 'nack' | 'reject';
  /** Whether every earlier unsettled message of the channel is settled with it. */
  readonly multiple: boolean;
  /** Whether a nack or reject requeues it; false for an ack. */
  readonly requeue: boolean;
}

/** The message of the `warren:return` channel. */
export interface ReturnDiagnostic extends EndpointDiagnostic {
  /** The channel number it was published on. */
  readonly channelId: number;
  /** The message as the broker returned it. */
  readonly message: ReturnedMessage;
  /** The exchange it was published to. */
  readonly exchange: string;
  /** The routing key it was published with. */
  readonly routingKey: string;
  /** The broker's reply code, 312 (`NO_ROUTE`) usually. */
  readonly replyCode: number;
  /** The broker's reply text. */
  readonly replyText: string;
  /** Whether a publish waiting for its confirm takes it (and rejects with it). */
  readonly confirmed: boolean;
}

/** The message of the `warren:rpc` tracing channel. */
export interface RpcDiagnostic extends EndpointDiagnostic, TracedDiagnostic {
  /** The channel number of the client. */
  readonly channelId: number;
  /** The exchange the request is published to. */
  readonly exchange: string;
  /** The routing key (the queue, through the default exchange). */
  readonly routingKey: string;
  /** The request's correlation id. */
  readonly correlationId: string;
  /** How long the call waits for its reply, in ms. */
  readonly timeout: number;
}

/** The message of the `warren:operation` tracing channel. */
export interface OperationDiagnostic extends EndpointDiagnostic, TracedDiagnostic {
  /** The channel number. */
  readonly channelId: number;
  /** The AMQP method, such as `queue.declare`, `queue.bind`, `basic.get`, `tx.commit`. */
  readonly method: string;
  /** Its arguments, as sent (`queue`, `exchange`, `routingKey`, …). */
  readonly arguments: Readonly<Record<string, unknown>>;
  /** The broker's reply arguments, set before `asyncStart` (such as a declared queue's name and counts). */
  reply?: Readonly<Record<string, unknown>>;
}

/** What the messages of the connection's channels (`warren:connection:…`) have in common. */
export interface ConnectionDiagnostic extends EndpointDiagnostic {
  /** The connection it happened to (its `toString()` names it, without the password). */
  readonly connection: Connection;
}

/** The message of the `warren:connection:lost` channel. */
export interface ConnectionLostDiagnostic extends ConnectionDiagnostic {
  /** How it was lost (`CONNECTION_LOST`, `CONNECTION_FORCED`, `HEARTBEAT_TIMEOUT`, …). */
  readonly error: Error;
  /** Whether recovery begins; false when the connection ends here. */
  readonly recovering: boolean;
}

/** The message of the `warren:connection:recovered` channel. */
export interface ConnectionRecoveredDiagnostic extends ConnectionDiagnostic {
  /** Which attempt succeeded, from 1. */
  readonly attempt: number;
  /** How long the connection was down, in ms, from its loss to the end of recovery. */
  readonly downtime: number;
}

/** The message of the `warren:connection:blocked` channel. */
export interface ConnectionBlockedDiagnostic extends ConnectionDiagnostic {
  /** The broker's reason, such as `low on memory`. */
  readonly reason: string;
}

/** The message of the `warren:connection:unblocked` channel. */
export type ConnectionUnblockedDiagnostic = ConnectionDiagnostic;

/** The message of the `warren:connection:waiting` channel. */
export interface ConnectionWaitingDiagnostic extends ConnectionDiagnostic {
  /** How many publishes wait now (see `RecoveryOptions.maxWaitingPublishes`). */
  readonly publishes: number;
  /** Their body bytes (see `RecoveryOptions.maxWaitingBytes`). */
  readonly bytes: number;
}

/** The part of a `diagnostics_channel` Channel warren uses. */
interface Publisher {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
  runStores?<T>(message: unknown, fn: () => T): T;
}

/** @internal The five channels of a TracingChannel. */
export interface Tracing {
  readonly start: Publisher;
  readonly end: Publisher;
  readonly asyncStart: Publisher;
  readonly asyncEnd: Publisher;
  readonly error: Publisher;
}

const INERT: Publisher = Object.freeze({ hasSubscribers: false, publish() {} });

/** A TracingChannel, or inert channels where the runtime has none. */
function tracing(name: string): Tracing {
  if (typeof dc.tracingChannel !== 'function') {
    return { start: INERT, end: INERT, asyncStart: INERT, asyncEnd: INERT, error: INERT };
  }
  return dc.tracingChannel(name) as unknown as Tracing;
}

/** A plain channel, or an inert one where the runtime has none. */
function plain(name: string): Publisher {
  return typeof dc.channel === 'function' ? (dc.channel(name) as Publisher) : INERT;
}

const names = DIAGNOSTICS_CHANNELS;
/** @internal */
export const connectChannel = tracing(names.connect);
/** @internal */
export const publishChannel = tracing(names.publish);
/** @internal */
export const processChannel = tracing(names.process);
/** @internal */
export const rpcChannel = tracing(names.rpc);
/** @internal */
export const operationChannel = tracing(names.operation);
/** @internal */
export const receiveChannel = plain(names.receive);
/** @internal */
export const settleChannel = plain(names.settle);
/** @internal */
export const returnChannel = plain(names.return);
/** @internal */
export const lostChannel = plain(names.connectionLost);
/** @internal */
export const recoveredChannel = plain(names.connectionRecovered);
/** @internal */
export const blockedChannel = plain(names.connectionBlocked);
/** @internal */
export const unblockedChannel = plain(names.connectionUnblocked);
/** @internal */
export const waitingChannel = plain(names.connectionWaiting);

/** @internal Whether anyone listens to any phase of `channel` (a store bound to `start` counts). */
export function isTraced(channel: Tracing): boolean {
  return (
    channel.start.hasSubscribers ||
    channel.end.hasSubscribers ||
    channel.asyncStart.hasSubscribers ||
    channel.asyncEnd.hasSubscribers ||
    channel.error.hasSubscribers
  );
}

/**
 * @internal Runs `fn` traced on `channel`, as `TracingChannel.tracePromise`
 * does: `start` (with `fn` inside the stores bound to it), `end`, then on
 * settling `error` (with `message.error`), `asyncStart` and `asyncEnd`.
 * `onResult` records what `fn` resolved with on the message first. Written
 * here rather than calling `tracePromise`, whose behaviour varies across
 * Node versions and runtimes (a synchronous throw, a non-promise result).
 */
export function traceAsync<T, M extends TracedDiagnostic>(
  channel: Tracing,
  message: M,
  fn: () => Promise<T>,
  onResult?: (message: M, result: T) => void,
): Promise<T> {
  const { start, end, asyncStart, asyncEnd, error } = channel;
  let promise: Promise<T>;
  try {
    promise =
      start.runStores === undefined ? runAfter(start, message, fn) : start.runStores(message, fn);
  } catch (thrown) {
    message.error = thrown;
    error.publish(message);
    end.publish(message);
    return Promise.reject(thrown);
  }
  end.publish(message);
  return promise.then(
    (result) => {
      if (onResult !== undefined) onResult(message, result);
      asyncStart.publish(message);
      asyncEnd.publish(message);
      return result;
    },
    (thrown: unknown) => {
      message.error = thrown;
      error.publish(message);
      asyncStart.publish(message);
      asyncEnd.publish(message);
      throw thrown;
    },
  );
}

/** `start` published, then `fn`, where `runStores` is missing. */
function runAfter<T>(start: Publisher, message: unknown, fn: () => T): T {
  start.publish(message);
  return fn();
}

/**
 * @internal What a diagnostics message reads of the connection: a
 * {@link Connection}, for the broker's address and the socket's peer.
 */
export interface DiagnosticConnection {
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly peerAddress: string | undefined;
  readonly peerPort: number | undefined;
}

/** @internal What a diagnostics message reads of the channel it happened on. */
export interface DiagnosticSource {
  readonly id: number;
  readonly connection: DiagnosticConnection;
}

// The messages are class instances rather than object literals: one is made per message on the
// hot paths while someone listens, and a class with its fields assigned in the constructor is
// built in a few tens of nanoseconds, where spreading a shared part into a literal costs
// microseconds (V8 turns such objects into slow dictionaries).

/** @internal The broker a connection-level message names. */
export class Endpoint implements EndpointDiagnostic {
  readonly serverAddress: string;
  readonly serverPort: number;
  readonly peerAddress: string | undefined;
  readonly peerPort: number | undefined;

  constructor(connection: DiagnosticConnection) {
    this.serverAddress = connection.serverAddress;
    this.serverPort = connection.serverPort;
    this.peerAddress = connection.peerAddress;
    this.peerPort = connection.peerPort;
  }
}

/** @internal The broker and the channel a channel-level message names. */
class ChannelEndpoint extends Endpoint {
  readonly channelId: number;

  constructor(source: DiagnosticSource) {
    super(source.connection);
    this.channelId = source.id;
  }
}

/** @internal A delivered (or fetched) message, from `queue` (`warren:receive`). */
export class Delivery extends ChannelEndpoint implements DeliveryDiagnostic {
  readonly message: IncomingMessage<unknown>;
  readonly queue: string;
  readonly exchange: string;
  readonly routingKey: string;
  readonly deliveryTag: number;
  readonly consumerTag: string | undefined;
  readonly redelivered: boolean;
  readonly properties: BasicProperties;
  readonly bodySize: number;
  readonly messageId: string | undefined;
  readonly correlationId: string | undefined;

  constructor(message: IncomingMessage<unknown>, queue: string, source: DiagnosticSource) {
    super(source);
    const { properties } = message;
    this.message = message;
    this.queue = queue;
    this.exchange = message.exchange;
    this.routingKey = message.routingKey;
    this.deliveryTag = message.deliveryTag;
    this.consumerTag = message.consumerTag;
    this.redelivered = message.redelivered;
    this.properties = properties;
    this.bodySize = message.body.length;
    this.messageId = properties.messageId;
    this.correlationId = properties.correlationId;
  }
}

/** @internal A handler about to process a message (`warren:process`). */
export class Processing extends Delivery implements ProcessDiagnostic {
  readonly attempt: number;
  readonly rpc: boolean;
  readonly replyTo: string | undefined;
  error: unknown = undefined;

  constructor(
    message: IncomingMessage<unknown>,
    queue: string,
    rpc: boolean,
    source: DiagnosticSource,
  ) {
    super(message, queue, source);
    this.attempt = message.attempt;
    this.rpc = rpc;
    this.replyTo = message.properties.replyTo;
  }
}

/** @internal A settlement (`warren:settle`). */
export class Settling extends ChannelEndpoint implements SettleDiagnostic {
  readonly message: IncomingMessage<unknown>;
  readonly deliveryTag: number;
  readonly kind: 'ack' | 'nack' | 'reject';
  readonly multiple: boolean;
  readonly requeue: boolean;

  constructor(
    message: IncomingMessage<unknown>,
    settlement: {
      readonly kind: 'ack' | 'nack' | 'reject';
      readonly multiple?: boolean;
      readonly requeue?: boolean;
    },
    source: DiagnosticSource,
  ) {
    super(source);
    this.message = message;
    this.deliveryTag = message.deliveryTag;
    this.kind = settlement.kind;
    this.multiple = settlement.multiple ?? false;
    this.requeue = settlement.requeue ?? false;
  }
}

/** @internal A publish (`warren:publish`): `headers` is the copy the message goes out with. */
export class Publishing extends ChannelEndpoint implements PublishDiagnostic {
  readonly exchange: string;
  readonly routingKey: string;
  readonly mandatory: boolean;
  readonly confirm: boolean;
  readonly bodySize: number;
  readonly properties: BasicProperties;
  readonly headers: FieldTable;
  readonly messageId: string | undefined;
  readonly correlationId: string | undefined;
  error: unknown = undefined;

  constructor(
    source: DiagnosticSource & { readonly confirmMode: boolean },
    args: { readonly exchange: string; readonly routingKey: string; readonly mandatory: boolean },
    properties: BasicProperties,
    bodySize: number,
  ) {
    super(source);
    this.exchange = args.exchange;
    this.routingKey = args.routingKey;
    this.mandatory = args.mandatory;
    this.confirm = source.confirmMode;
    this.bodySize = bodySize;
    this.properties = properties;
    this.headers = { ...properties.headers };
    this.messageId = properties.messageId;
    this.correlationId = properties.correlationId;
  }
}

/** @internal A message the broker returned (`warren:return`). */
export class Return extends ChannelEndpoint implements ReturnDiagnostic {
  readonly message: ReturnedMessage;
  readonly exchange: string;
  readonly routingKey: string;
  readonly replyCode: number;
  readonly replyText: string;
  readonly confirmed: boolean;

  constructor(message: ReturnedMessage, confirmed: boolean, source: DiagnosticSource) {
    super(source);
    this.message = message;
    this.exchange = message.exchange;
    this.routingKey = message.routingKey;
    this.replyCode = message.replyCode;
    this.replyText = message.replyText;
    this.confirmed = confirmed;
  }
}

/** @internal An RPC call (`warren:rpc`). */
export class RpcCall extends ChannelEndpoint implements RpcDiagnostic {
  error: unknown = undefined;

  constructor(
    source: DiagnosticSource,
    readonly exchange: string,
    readonly routingKey: string,
    readonly correlationId: string,
    readonly timeout: number,
  ) {
    super(source);
  }
}

/** @internal A synchronous channel operation (`warren:operation`). */
export class Operation extends ChannelEndpoint implements OperationDiagnostic {
  readonly arguments: Readonly<Record<string, unknown>>;
  reply?: Readonly<Record<string, unknown>>;
  error: unknown = undefined;

  constructor(
    source: DiagnosticSource,
    readonly method: string,
    args: Readonly<Record<string, unknown>>,
  ) {
    super(source);
    this.arguments = args;
  }
}

/** @internal Something that happened to a connection (`warren:connection:…`). */
export class ConnectionEvent extends Endpoint implements ConnectionDiagnostic {
  constructor(readonly connection: Connection) {
    super(connection);
  }
}

/** @internal A lost connection (`warren:connection:lost`). */
export class ConnectionLoss extends ConnectionEvent implements ConnectionLostDiagnostic {
  constructor(
    connection: Connection,
    readonly error: Error,
    readonly recovering: boolean,
  ) {
    super(connection);
  }
}

/** @internal A recovered connection (`warren:connection:recovered`). */
export class ConnectionRecovery extends ConnectionEvent implements ConnectionRecoveredDiagnostic {
  constructor(
    connection: Connection,
    readonly attempt: number,
    readonly downtime: number,
  ) {
    super(connection);
  }
}

/** @internal The publishes waiting for a connection (`warren:connection:waiting`). */
export class ConnectionWaiting extends ConnectionEvent implements ConnectionWaitingDiagnostic {
  constructor(
    connection: Connection,
    readonly publishes: number,
    readonly bytes: number,
  ) {
    super(connection);
  }
}

/** @internal A blocked connection (`warren:connection:blocked`). */
export class ConnectionBlock extends ConnectionEvent implements ConnectionBlockedDiagnostic {
  constructor(
    connection: Connection,
    readonly reason: string,
  ) {
    super(connection);
  }
}
