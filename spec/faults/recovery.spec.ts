/**
 * Recovery through a TCP proxy the test owns: the connection is cut, reset or black-holed, and
 * warren must come back by itself with its channels, exchanges, queues, bindings and consumers,
 * and lose nothing that was confirmed.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import {
  type ConnectCallOptions,
  type Connection,
  connect,
  type IncomingMessage,
  type ReconnectAttempt,
} from '../../lib/index.js';
import { uniqueName, waitFor } from '../support/amqp-helpers.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const brokerUrl = inject('amqpUrl');
const cleanups: (() => Promise<void>)[] = [];

afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
});

/** A proxy to the broker and a connection through it, both closed after the test. */
async function throughProxy(
  options: ConnectCallOptions = {},
): Promise<{ proxy: TcpProxy; connection: Connection }> {
  const proxy = await TcpProxy.for(brokerUrl);
  cleanups.push(() => proxy.close());
  const connection = await connect(proxy.url(brokerUrl), {
    recovery: { initialDelay: 50, maxDelay: 500 },
    ...options,
  });
  cleanups.push(() => connection.close());
  return { proxy, connection };
}

/** Resolves with the next `recovered` event. */
function nextRecovery(connection: Connection): Promise<ReconnectAttempt> {
  return new Promise((resolve) => connection.once('recovered', resolve));
}

describe('recovery after a cut', () => {
  it('brings back the exchange, queue, binding and consumer, and delivers again', async () => {
    const { proxy, connection } = await throughProxy();
    const channel = await connection.openChannel({ confirm: true });
    const exchange = await channel.declareExchange(uniqueName('rec-x'), 'direct', {
      autoDelete: true,
    });
    const queue = await channel.declareQueue(uniqueName('rec-q'), { exclusive: true });
    await queue.bind(exchange, 'key');
    const received: string[] = [];
    await queue.consume((message: IncomingMessage) => {
      received.push(message.text());
      message.ack();
    });
    await exchange.publish('before', 'key');
    await waitFor(() => received.length === 1);

    const events: string[] = [];
    connection.on('disconnected', (error) => events.push(`disconnected ${error.code}`));
    connection.on('reconnecting', ({ attempt }) => events.push(`reconnecting ${attempt}`));
    const recovered = nextRecovery(connection);
    proxy.cut();
    await recovered;

    expect(events[0]).toBe('disconnected CONNECTION_LOST');
    expect(events).toContain('reconnecting 1');
    expect(connection.isOpen).toBe(true);
    expect(channel.isOpen).toBe(true);
    // The exclusive queue died with the old connection: it is back, bound, with its consumer.
    await exchange.publish('after', 'key');
    await waitFor(() => received.length === 2);
    expect(received).toEqual(['before', 'after']);
    expect(proxy.accepted).toBe(2);
  });
});
