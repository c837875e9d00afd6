/**
 * What the entity tests share: a connection made by `connect()` to a scripted
 * broker on a local port (spec/support/scripted-peer.ts), and the broker's
 * side of the few exchanges every test needs (a channel, a queue, a
 * consumer, deliveries), so that each test scripts only what it is about and
 * asserts on the frames the broker receives.
 */
import { expect, vi } from 'vitest';
import {
  type Channel,
  type ConnectCallOptions,
  type Connection,
  type ConsumeCallback,
  type ConsumeOptions,
  type Consumer,
  connect,
  type Queue,
  type QueueOptions,
  type RecoveryOptions,
} from '../../../lib/index.js';
import type { Frame, MethodArgs } from '../../../lib/protocol/index.js';
import {
  describeFrame,
  destroyPairs,
  type ScriptedPeer,
  ScriptedServer,
  settle,
} from '../../support/scripted-peer.js';

/** A connection to a scripted broker, and the peer playing the broker on its current socket. */
export { describeFrame };

export interface Scripted {
  readonly server: ScriptedServer;
  readonly connection: Connection;
  peer: ScriptedPeer;
}

const connections = new Set<Connection>();

/**
 * Connects to a fresh scripted broker and plays the handshake. Recovery is
 * off unless asked for: then each reconnect comes to the same server.
 */
export async function scriptedConnection(
  recovery: RecoveryOptions | false = false,
  options: Pick<ConnectCallOptions, 'maxBodySize' | 'logger'> = {},
): Promise<Scripted> {
  const server = await ScriptedServer.listen();
  const connecting = connect({
    hostname: '127.0.0.1',
    port: server.port,
    heartbeat: 0,
    recovery,
    ...options,
  });
  const peer = await server.nextPeer();
  await peer.handshake({ tune: { heartbeat: 0 } });
  const connection = await connecting;
  connections.add(connection);
  return { server, connection, peer };
}

/** Takes the next connection the server accepts (a reconnect) and plays its handshake. */
export async function acceptReconnect(scripted: Scripted): Promise<ScriptedPeer> {
  const peer = await scripted.server.nextPeer();
  await peer.handshake({ tune: { heartbeat: 0 } });
  scripted.peer = peer;
  return peer;
}

/** For `afterEach`: cuts every scripted connection and stops whatever recovery they started. */
export async function teardown(): Promise<void> {
  destroyPairs();
  const closing = [...connections].map((connection) =>
    connection.close({ timeout: 0 }).catch(() => {}),
  );
  connections.clear();
  await Promise.all(closing);
}

/** Opens a channel, the broker answering on `id`. */
export async function openChannel(scripted: Scripted, id: number): Promise<Channel> {
  const [channel] = await Promise.all([
    scripted.connection.openChannel(),
    scripted.peer.acceptChannel(id),
  ]);
  return channel;
}

/**
 * Declares a queue on `channel`; the broker answers with `answer` as its name
 * (another name than asked is a server-named queue).
 */
export async function declareQueue(
  scripted: Scripted,
  channel: Channel,
  name: string,
  options: Omit<QueueOptions, 'schema'> = {},
  answer = name === '' ? `amq.gen-${Math.random().toString(36).slice(2)}` : name,
): Promise<Queue> {
  const { peer } = scripted;
  const id = channel.id;
  const [queue] = await Promise.all([
    channel.declareQueue(name, options),
    peer
      .expectMethod('queue.declare', id)
      .then(() =>
        peer.send(id, 'queue.declare-ok', { queue: answer, messageCount: 0, consumerCount: 0 }),
      ),
  ]);
  return queue;
}

/** Starts a consumer, the broker answering its `basic.qos` (with `prefetch`) and `basic.consume`. */
export async function consume<T>(
  scripted: Scripted,
  queue: Queue<T>,
  callback: ConsumeCallback<T>,
  options: ConsumeOptions<T> = {},
): Promise<Consumer<T>> {
  const { peer } = scripted;
  const id = queue.channel.id;
  const answer = async (): Promise<void> => {
    if (options.prefetch !== undefined) {
      await peer.expectMethod('basic.qos', id);
      peer.send(id, 'basic.qos-ok', {});
    }
    const args = await peer.expectMethod('basic.consume', id);
    peer.send(id, 'basic.consume-ok', { consumerTag: args.consumerTag });
  };
  const [consumer] = await Promise.all([queue.consume(callback, options), answer()]);
  return consumer;
}

/** Cancels a consumer, the broker answering its `basic.cancel`. */
export async function cancelConsumer(
  scripted: Scripted,
  consumer: Consumer<unknown>,
): Promise<void> {
  const { peer } = scripted;
  const id = consumer.channel.id;
  const answer = async (): Promise<void> => {
    const args = await peer.expectMethod('basic.cancel', id);
    peer.send(id, 'basic.cancel-ok', { consumerTag: args.consumerTag });
  };
  await Promise.all([consumer.cancel(), answer()]);
}

/** What a delivery may say besides its tag. */
export interface DeliveryOptions {
  readonly redelivered?: boolean;
  readonly body?: string | Buffer;
}

/** Encodes a `basic.deliver` with header and body; {@link ScriptedPeer.flush} sends what was encoded. */
export function encodeDelivery(
  peer: ScriptedPeer,
  channel: number,
  consumerTag: string,
  deliveryTag: number,
  options: DeliveryOptions = {},
): void {
  peer.encoder.content(
    channel,
    'basic.deliver',
    {
      consumerTag,
      deliveryTag,
      redelivered: options.redelivered ?? false,
      exchange: '',
      routingKey: 'q',
    },
    {},
    Buffer.from(options.body ?? `message ${deliveryTag}`),
  );
}

/** Sends deliveries of `tags` to `consumer`, all in one write. */
export function deliver(
  scripted: Scripted,
  consumer: Consumer<unknown>,
  tags: readonly number[],
  options: DeliveryOptions = {},
): void {
  deliverTo(scripted, consumer.channel.id, consumer.tag, tags, options);
}

/** Sends deliveries of `tags` to the consumer `consumerTag` on `channel`, all in one write. */
export function deliverTo(
  scripted: Scripted,
  channel: number,
  consumerTag: string,
  tags: readonly number[],
  options: DeliveryOptions = {},
): void {
  for (const tag of tags) encodeDelivery(scripted.peer, channel, consumerTag, tag, options);
  scripted.peer.flush();
}

/** How the broker takes a settlement: acked, requeued, or dropped (dead-lettered). */
export type Outcome = 'ack' | 'requeue' | 'drop';

/**
 * Reads settlement frames on `channel` until every tag of `tags` is settled,
 * as the broker reads them (a `multiple` one covers every earlier unsettled
 * tag), and returns how each was settled. Fails on any other frame, on a tag
 * settled twice, or on a tag not delivered.
 */
export async function expectSettled(
  peer: ScriptedPeer,
  channel: number,
  tags: readonly number[],
): Promise<Map<number, Outcome>> {
  const open = new Set(tags);
  const outcomes = new Map<number, Outcome>();
  const settleOne = (tag: number, outcome: Outcome): void => {
    if (!open.delete(tag)) throw new Error(`tag ${tag} settled twice, or never delivered`);
    outcomes.set(tag, outcome);
  };
  while (open.size > 0) {
    const frame = await peer.nextNonHeartbeat();
    const method = settlement(frame, channel);
    const { deliveryTag } = method.args;
    const outcome: Outcome =
      method.name === 'basic.ack' ? 'ack' : method.args.requeue ? 'requeue' : 'drop';
    if (method.name !== 'basic.reject' && method.args.multiple) {
      for (const tag of [...open]) if (tag <= deliveryTag) settleOne(tag, outcome);
    } else {
      settleOne(deliveryTag, outcome);
    }
  }
  return outcomes;
}

type SettlementMethod =
  | { name: 'basic.ack'; args: MethodArgs<'basic.ack'> }
  | { name: 'basic.nack'; args: MethodArgs<'basic.nack'> }
  | { name: 'basic.reject'; args: MethodArgs<'basic.reject'> };

function settlement(frame: Frame, channel: number): SettlementMethod {
  if (
    frame.type === 1 &&
    frame.channel === channel &&
    (frame.method.name === 'basic.ack' ||
      frame.method.name === 'basic.nack' ||
      frame.method.name === 'basic.reject')
  ) {
    return frame.method as SettlementMethod;
  }
  throw new Error(`expected a settlement on channel ${channel}, got ${describeFrame(frame)}`);
}

/**
 * Checks that the client sent nothing more: once its promises have run, it
 * sends `connection.update-secret`, which must be the next frame the broker
 * gets (TCP keeps the order, so anything sent before would come first).
 */
export async function expectNothingMore(scripted: Scripted): Promise<void> {
  await settle();
  const { peer } = scripted;
  const barrier = scripted.connection.updateSecret('barrier');
  const frame = await peer.nextNonHeartbeat();
  if (frame.type !== 1 || frame.method.name !== 'connection.update-secret') {
    throw new Error(`expected nothing more from the client, got ${describeFrame(frame)}`);
  }
  peer.send(0, 'connection.update-secret-ok', {});
  await barrier;
}

/**
 * Makes sure the client has read everything the broker sent so far: sends
 * `channel.flow` (active, which changes nothing) and reads until its
 * `flow-ok`. Returns the frames that came before it.
 */
export async function brokerBarrier(scripted: Scripted, channel: number): Promise<Frame[]> {
  const { peer } = scripted;
  peer.send(channel, 'channel.flow', { active: true });
  const before: Frame[] = [];
  for (;;) {
    const frame = await peer.nextNonHeartbeat();
    if (frame.type === 1 && frame.method.name === 'channel.flow-ok' && frame.channel === channel) {
      return before;
    }
    before.push(frame);
  }
}

/** A promise with its resolve at hand. */
export interface Deferred<T = void> {
  readonly promise: Promise<T>;
  resolve(value: T): void;
  reject(error: unknown): void;
}

export function deferred<T = void>(): Deferred<T> {
  let resolve: (value: T) => void = () => {};
  let reject: (error: unknown) => void = () => {};
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/**
 * Collects the process warnings emitted with `code` until `stop()`, keeping
 * them off stderr; other warnings go on as usual.
 */
export function captureWarnings(code: string): { readonly warnings: string[]; stop(): void } {
  const warnings: string[] = [];
  const original = process.emitWarning;
  const spy = vi.spyOn(process, 'emitWarning').mockImplementation(((
    warning: string | Error,
    options?: { code?: string },
  ) => {
    if (typeof options === 'object' && options?.code === code) {
      warnings.push(typeof warning === 'string' ? warning : warning.message);
      return;
    }
    Reflect.apply(original, process, [warning, options]);
  }) as typeof process.emitWarning);
  return { warnings, stop: () => spy.mockRestore() };
}

/** Resolves as `promise` does, or fails after `ms` of real time saying what did not happen. */
export function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not happen within ${ms} ms`)), ms);
  });
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

/** Waits until `condition` holds, turn by turn, for at most `turns` event-loop turns. */
export async function until(condition: () => boolean, turns = 1000, what = 'it'): Promise<void> {
  for (let i = 0; i < turns && !condition(); i++) await new Promise((r) => setImmediate(r));
  if (!condition()) expect.fail(`waited ${turns} turns, and ${what} did not happen`);
}
