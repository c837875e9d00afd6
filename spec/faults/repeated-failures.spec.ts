/**
 * Recovery does not loop on a failure it will meet again (the recovery option
 * `maxRepeatedFailures`), through a TCP proxy the test owns: a message whose
 * handler brings the connection down every time it is delivered, and a
 * broker that drops the connection right after each recovery. Either way the
 * connection ends with `RECOVERY_FAILED` carrying the last loss, rather than
 * reconnect forever; and nothing is lost (the message is still in its queue).
 *
 * Every test also fails when the process saw an unhandled rejection, an uncaught exception or a
 * warren warning while it ran.
 */
import { describe, expect, inject, it } from 'vitest';
import type { ConnectionError } from '../../lib/index.js';
import { queueCounts, uniqueName, waitFor } from '../support/amqp-helpers.js';
import { nextEvent, useFaultSuite, useProxiedBroker } from '../support/fault-suite.js';

const { later } = useFaultSuite();
const broker = useProxiedBroker(inject('amqpUrl'), later);
const { newProxy, connectThrough, directChannel, deleteLater } = broker;

describe('maxRepeatedFailures', () => {
  it('stops a consumer whose handler brings the connection down each time', async () => {
    const proxy = await newProxy();
    const connection = await connectThrough(proxy, {
      recovery: { initialDelay: 10, maxDelay: 50, maxRepeatedFailures: 3 },
    });
    const name = uniqueName('repeated');
    deleteLater('queue', name);
    const admin = await directChannel(true);
    await admin.declareQueue(name, { durable: false });
    await admin.exchange('').publish('poison', name);

    const disconnects: string[] = [];
    connection.on('disconnected', (error) => disconnects.push(error.code));
    const closed = nextEvent(connection, 'close');
    const channel = await connection.openChannel();
    let deliveries = 0;
    await channel.queue(name).consume(() => {
      deliveries++;
      // The handler's work takes the connection down, as a poison message can.
      proxy.cut();
    });

    const [error] = (await closed) as [ConnectionError];
    expect(error.code).toBe('RECOVERY_FAILED');
    expect(error.message).toContain('(CONNECTION_LOST) came back 3 times in a row');
    expect((error.cause as ConnectionError).code).toBe('CONNECTION_LOST');
    // The first loss, then one per recovery until the third that came right after one.
    expect(disconnects).toEqual(['CONNECTION_LOST', 'CONNECTION_LOST', 'CONNECTION_LOST']);
    expect(deliveries).toBe(4);
    expect(proxy.accepted).toBe(4);
    // Nothing was lost: the message is back in its queue.
    await waitFor(
      async () => (await queueCounts(broker.direct, name))?.messageCount === 1,
      5_000,
      'the message back in its queue',
    );
  });

  it('stops when the connection is dropped right after each recovery', async () => {
    const proxy = await newProxy();
    const connection = await connectThrough(proxy, {
      recovery: { initialDelay: 10, maxDelay: 50, maxRepeatedFailures: 4 },
    });
    let recoveries = 0;
    connection.on('recovered', () => {
      recoveries++;
      proxy.cut();
    });
    const closed = nextEvent(connection, 'close');
    proxy.cut();
    const [error] = (await closed) as [ConnectionError];
    expect(error.code).toBe('RECOVERY_FAILED');
    expect((error.cause as ConnectionError).code).toBe('CONNECTION_LOST');
    expect(recoveries).toBe(4);
    expect(connection.isOpen).toBe(false);
  });
});
