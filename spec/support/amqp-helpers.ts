/**
 * Small helpers for integration tests that go through warren's public API:
 * unique names, polling with a deadline, collecting deliveries, and asking
 * the broker about a queue or an exchange without risking the caller's channel.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, expect, onTestFinished } from 'vitest';
import type {
  Channel,
  Connection,
  ConsumeOptions,
  Consumer,
  Exchange,
  IncomingMessage,
  Queue,
  QueueCounts,
} from '../../lib/index.js';
import { ChannelError, connect, MessageReturnedError } from '../../lib/index.js';

/**
 * One connection for a test file: opened before its tests, closed after
 * them, handed to `onOpen`. Returns `openChannel`, which opens a channel
 * (with confirms if asked) that is closed when the current test ends.
 */
export function useConnection(
  url: string,
  onOpen: (connection: Connection) => void,
): (confirm?: boolean) => Promise<Channel> {
  let connection: Connection | undefined;
  beforeAll(async () => {
    connection = await connect(url);
    onOpen(connection);
  });
  afterAll(async () => {
    await connection?.close();
  });
  return async (confirm = false) => {
    if (connection === undefined) throw new Error('useConnection: the connection is not open yet');
    const channel = await connection.openChannel({ confirm });
    onTestFinished(() => channel.close());
    return channel;
  };
}

/** A name no other test uses: `prefix` and eight random hex digits, such as `q-1a2b3c4d`. */
export function uniqueName(prefix = 'warren-test'): string {
  return `${prefix}-${randomUUID().slice(0, 8)}`;
}

/**
 * Polls `probe` until it returns a truthy value, and returns that value.
 * Rejects once `timeoutMs` has passed: use it to wait for something to
 * arrive, never to assert how fast it arrives.
 */
export async function waitFor<T>(
  probe: () => T | Promise<T>,
  timeoutMs = 5_000,
  what = 'the condition',
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value as NonNullable<T>;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A consumer and the messages it has received so far, in order. */
export interface Collector {
  readonly consumer: Consumer;
  readonly messages: IncomingMessage[];
  /** Resolves with the first `count` messages once that many have arrived. */
  waitForCount(count: number, timeoutMs?: number): Promise<IncomingMessage[]>;
}

/**
 * Consumes from `queue`, keeping every delivery in arrival order; nothing is
 * settled. The callback is in place from the first delivery on, which may
 * come before `consume()` resolves.
 */
export async function collect(queue: Queue, options: ConsumeOptions = {}): Promise<Collector> {
  const messages: IncomingMessage[] = [];
  const consumer = await queue.consume((message) => {
    messages.push(message);
  }, options);
  return {
    consumer,
    messages,
    waitForCount: async (count, timeoutMs = 5_000) => {
      await waitFor(() => messages.length >= count, timeoutMs, `${count} deliveries`);
      return messages.slice(0, count);
    },
  };
}

/**
 * What the broker reports for the queue `name` (ready messages and
 * consumers), by a passive declare on a channel of its own; `null` when the
 * queue does not exist. Other errors reject.
 */
export async function queueCounts(
  connection: Connection,
  name: string,
): Promise<QueueCounts | null> {
  const channel = await connection.openChannel();
  try {
    const queue = await channel.declareQueue(name, { passive: true });
    return queue.declared ?? null;
  } catch (error) {
    if ((error as ChannelError).replyCode === 404) return null;
    throw error;
  } finally {
    await channel.close();
  }
}

/**
 * Whether the queue `name` exists, by a passive declare on a channel of its
 * own. A queue exclusive to another connection exists (the broker answers
 * 405 RESOURCE_LOCKED rather than 404).
 */
export async function queueExists(connection: Connection, name: string): Promise<boolean> {
  const channel = await connection.openChannel();
  try {
    await channel.declareQueue(name, { passive: true });
    return true;
  } catch (error) {
    const replyCode = (error as ChannelError).replyCode;
    if (replyCode === 405) return true;
    if (replyCode === 404) return false;
    throw error;
  } finally {
    await channel.close();
  }
}

/** Whether the exchange `name` exists, by a passive declare on a channel of its own. */
export async function exchangeExists(connection: Connection, name: string): Promise<boolean> {
  const channel = await connection.openChannel();
  try {
    await channel.declareExchange(name, 'direct', { passive: true });
    return true;
  } catch (error) {
    if ((error as ChannelError).replyCode === 404) return false;
    throw error;
  } finally {
    await channel.close();
  }
}

/**
 * Deletes a queue or an exchange now, on a channel of its own that it
 * closes again. Gone already is fine.
 */
export async function deleteIfExists(
  connection: Connection,
  kind: 'queue' | 'exchange',
  name: string,
): Promise<void> {
  const channel = await connection.openChannel();
  try {
    if (kind === 'queue') await channel.queue(name).delete({ ifUnused: false, ifEmpty: false });
    else await channel.exchange(name).delete({ ifUnused: false });
  } catch (error) {
    if ((error as ChannelError).replyCode !== 404) throw error;
  } finally {
    if (channel.isOpen) await channel.close();
  }
}

/**
 * Deletes a queue or an exchange when the current test finishes, on a
 * channel of its own, whether the test passed or not. Gone already is fine.
 */
export function deleteAfterTest(
  connection: Connection,
  kind: 'queue' | 'exchange',
  name: string,
): void {
  onTestFinished(async () => {
    if (!connection.isOpen) return;
    await deleteIfExists(connection, kind, name);
  });
}

/**
 * Publishes `mandatory` (on a confirm channel) and says what the broker did:
 * `'routed'`, or the code of the return (`'NO_ROUTE'`).
 */
export async function route(
  exchange: Exchange,
  routingKey: string,
  message: unknown = routingKey,
): Promise<string> {
  try {
    await exchange.publish(message, routingKey, { mandatory: true });
    return 'routed';
  } catch (error) {
    if (error instanceof MessageReturnedError) return error.code;
    throw error;
  }
}

/** Every message in the queue, as text, fetched with no-ack. */
export async function drain(queue: Queue): Promise<string[]> {
  const texts: string[] = [];
  for (let message = await queue.get({ noAck: true }); message !== null; ) {
    texts.push(message.text());
    message = await queue.get({ noAck: true });
  }
  return texts;
}

/** The rejection of `promise`, which must be a ChannelError. */
export async function channelError(promise: Promise<unknown>): Promise<ChannelError> {
  const error = await promise.then(
    () => undefined,
    (reason: unknown) => reason,
  );
  expect(error).toBeInstanceOf(ChannelError);
  return error as ChannelError;
}
