/**
 * A channel opened with `reopen`, reopening after the broker closes it, where the order of
 * frames matters and a real broker cannot be made to keep to it: a consumer the application
 * cancels while the channel resumes its consumers (they go out together, with nowait), and a
 * consumer the broker refuses to start again (then they start one by one, to learn which). The
 * scripted broker plays both.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AmqpError, Channel, RecoveryFailure } from '../../../lib/index.js';
import { consume, declareQueue, type Scripted, scriptedConnection, teardown } from './harness.js';

afterEach(teardown);

/** Opens a channel with `reopen`, the broker answering on channel 1. */
async function openReopening(scripted: Scripted): Promise<Channel> {
  const [channel] = await Promise.all([
    scripted.connection.openChannel({ reopen: true }),
    scripted.peer.acceptChannel(1),
  ]);
  return channel;
}

/** The broker closes channel `id` with a 404 for `classId.methodId`, and takes the close-ok. */
async function brokerCloses(
  scripted: Scripted,
  id: number,
  replyText: string,
  classId: number,
  methodId: number,
): Promise<void> {
  scripted.peer.send(id, 'channel.close', { replyCode: 404, replyText, classId, methodId });
  await scripted.peer.expectMethod('channel.close-ok', id);
}

describe('a channel reopening after a soft error', () => {
  it('does not start again a consumer the application cancelled while the others resumed', async () => {
    const scripted = await scriptedConnection();
    const { peer } = scripted;
    const channel = await openReopening(scripted);
    const first = await consume(scripted, await declareQueue(scripted, channel, 'a'), () => {});
    const second = await consume(scripted, await declareQueue(scripted, channel, 'b'), () => {});
    const recovered = new Promise<void>((resolve) => channel.once('recovered', resolve));

    await brokerCloses(scripted, 1, "NOT_FOUND - no exchange 'x' in vhost '/'", 60, 40);
    // Channel numbers are handed out in turn: the reopened channel gets the next one. Its
    // consumers go out together (nowait), then a basic.qos whose reply says they were taken.
    await peer.acceptChannel(2);
    const resumed = [
      await peer.expectMethod('basic.consume', 2),
      await peer.expectMethod('basic.consume', 2),
    ];
    expect(resumed.map((args) => [args.consumerTag, args.nowait])).toEqual([
      [first.tag, true],
      [second.tag, true],
    ]);
    await peer.expectMethod('basic.qos', 2);
    // Cancelled while the broker's answer is on its way: the channel is not open, so nothing is
    // sent then; but its consume went out, so the broker runs it until it is cancelled after.
    const cancelling = second.cancel();
    peer.send(2, 'basic.qos-ok', {});
    const cancel = await peer.expectMethod('basic.cancel', 2);
    expect(cancel.consumerTag).toBe(second.tag);
    peer.send(2, 'basic.cancel-ok', { consumerTag: second.tag });
    await recovered;
    await cancelling;
    await peer.expectNothing();
    expect(second.cancelled).toBe(true);
    expect(first.cancelled).toBe(false);
    expect(channel.isOpen).toBe(true);
  });

  it('ends a consumer the broker refuses, reports it, and reopens again for the others', async () => {
    const scripted = await scriptedConnection();
    const { peer, connection } = scripted;
    const failures: RecoveryFailure[] = [];
    connection.on('recoveryFailure', (failure) => failures.push(failure));
    const channel = await openReopening(scripted);
    const doomed = await consume(scripted, await declareQueue(scripted, channel, 'a'), () => {});
    const kept = await consume(scripted, await declareQueue(scripted, channel, 'b'), () => {});
    const cancelled = new Promise<AmqpError>((resolve) => doomed.once('cancel', resolve));
    const events: string[] = [];
    channel.on('disconnected', (error) => events.push(`disconnected ${error.code}`));
    channel.on('recovered', () => events.push('recovered'));
    const recovered = new Promise<void>((resolve) => channel.once('recovered', resolve));

    await brokerCloses(scripted, 1, "NOT_FOUND - no exchange 'x' in vhost '/'", 60, 40);
    await peer.acceptChannel(2);
    // Both consumers go out together; its queue went while the channel was closed, so the
    // broker refuses the first, and the channel closes before the basic.qos is answered.
    await peer.expectMethod('basic.consume', 2);
    await peer.expectMethod('basic.consume', 2);
    await peer.expectMethod('basic.qos', 2);
    await brokerCloses(scripted, 2, "NOT_FOUND - no queue 'a' in vhost '/'", 60, 20);
    // Which one was refused is learnt one by one, on a new channel.
    await peer.acceptChannel(3);
    const again = await peer.expectMethod('basic.consume', 3);
    expect([again.consumerTag, again.nowait]).toEqual([doomed.tag, false]);
    await brokerCloses(scripted, 3, "NOT_FOUND - no queue 'a' in vhost '/'", 60, 20);
    await peer.acceptChannel(4);
    const resumed = await peer.expectMethod('basic.consume', 4);
    expect(resumed.consumerTag).toBe(kept.tag);
    peer.send(4, 'basic.consume-ok', { consumerTag: kept.tag });
    await recovered;

    const reason = await cancelled;
    expect(reason).toMatchObject({ code: 'NOT_FOUND', method: 'basic.consume' });
    expect(doomed.cancelled).toBe(true);
    expect(kept.cancelled).toBe(false);
    expect(failures).toEqual([{ entity: `consumer ${doomed.tag} on queue 'a'`, error: reason }]);
    expect(events).toEqual(['disconnected NOT_FOUND', 'recovered']);
    expect(channel.isOpen).toBe(true);
  });
});
