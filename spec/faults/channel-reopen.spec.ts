/**
 * A channel reopening after a soft error (`openChannel({ reopen })`) when the connection is lost
 * in the middle of it: the connection's recovery takes over and brings the channel back, once,
 * with its confirm mode and consumer; nothing is reported as failed and nothing hangs.
 */
import { describe, expect, inject, it } from 'vitest';
import type { IncomingMessage, RecoveryFailure } from '../../lib/index.js';
import { channelError, waitFor } from '../support/amqp-helpers.js';
import { Inbox, uniqueName } from '../support/fault-helpers.js';
import { EXPIRES, nextRecovery, useFaultSuite, useProxiedBroker } from '../support/fault-suite.js';

const { later } = useFaultSuite();
const { throughProxy, deleteLater } = useProxiedBroker(inject('amqpUrl'), later);

describe('a channel reopening after a soft error', () => {
  it('is brought back by the connection recovery when the connection is lost meanwhile', async () => {
    const { proxy, connection } = await throughProxy();
    const failures: RecoveryFailure[] = [];
    connection.on('recoveryFailure', (failure) => failures.push(failure));
    const channel = await connection.openChannel({ confirm: true, reopen: true });
    const name = uniqueName('reopen-q');
    deleteLater('queue', name);
    const queue = await channel.declareQueue(name, { arguments: EXPIRES });
    const inbox = new Inbox();
    await queue.consume((message: IncomingMessage) => {
      inbox.push(message.text());
      message.ack();
    });
    await channel.exchange('').publish('before', name);
    await waitFor(() => inbox.texts.length === 1);

    const events: string[] = [];
    channel.on('recovered', () => events.push('recovered'));
    channel.on('close', (error) => events.push(`close ${error.code}`));
    // The channel begins to reopen right after this event: cut the connection under it.
    channel.once('disconnected', (error) => {
      events.push(`disconnected ${error.code}`);
      proxy.cut();
    });
    const recovered = nextRecovery(connection);
    const error = await channelError(
      channel.declareQueue(uniqueName('missing'), { passive: true }),
    );
    expect(error.code).toBe('NOT_FOUND');
    // Issued while the channel reopens and the connection is down: it waits for both.
    const published = channel.exchange('').publish('after', name);
    await recovered;
    await published;
    await waitFor(() => inbox.texts.length === 2, 10_000, 'the delivery after the recovery');

    expect(inbox.texts).toEqual(['before', 'after']);
    expect(events).toEqual(['disconnected NOT_FOUND', 'recovered']);
    expect(channel.isOpen).toBe(true);
    expect(channel.confirmMode).toBe(true);
    expect(failures).toEqual([]);
    expect(proxy.accepted).toBe(2);
  });
});
