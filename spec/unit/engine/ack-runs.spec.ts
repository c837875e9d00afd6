/**
 * Runs of acks (ChannelEngine.ackInRun): the acks a channel makes in one turn go out as one
 * `basic.ack`, with `multiple` when the run holds more than one, and always before anything
 * else the channel writes, so that the broker sees settlements in the order they were made.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectedPair, destroyPairs, openChannel, settle } from '../../support/scripted-peer.js';

afterEach(destroyPairs);

describe('runs of acks', () => {
  it('writes the acks of one turn as one multiple-ack up to the last tag', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    for (let tag = 1; tag <= 100; tag++) channel.ackInRun(tag);
    expect(await pair.peer.expectMethod('basic.ack', 1)).toEqual({
      deliveryTag: 100,
      multiple: true,
    });
    channel.ackInRun(101);
    expect(await pair.peer.expectMethod('basic.ack', 1)).toEqual({
      deliveryTag: 101,
      multiple: false,
    });
    await pair.peer.expectNothing();
  });

  it('writes the run before any other method or publish of the channel', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    channel.ackInRun(1);
    channel.ackInRun(2);
    channel.send('basic.nack', { deliveryTag: 4, multiple: false, requeue: true });
    channel.ackInRun(3);
    void channel.publish(
      { exchange: '', routingKey: 'q', mandatory: false, immediate: false },
      {},
      Buffer.from('after the ack'),
    );
    expect(await pair.peer.expectMethod('basic.ack', 1)).toEqual({
      deliveryTag: 2,
      multiple: true,
    });
    expect(await pair.peer.expectMethod('basic.nack', 1)).toMatchObject({ deliveryTag: 4 });
    expect(await pair.peer.expectMethod('basic.ack', 1)).toEqual({
      deliveryTag: 3,
      multiple: false,
    });
    const published = await pair.peer.expectContent('basic.publish', 1);
    expect(published.body.toString()).toBe('after the ack');
  });

  it('writes the run before channel.close, and before connection.close', async () => {
    const pair = await connectedPair();
    const one = await openChannel(pair, 1);
    const two = await openChannel(pair, 2);
    one.ackInRun(7);
    void one.close();
    expect(await pair.peer.expectMethod('basic.ack', 1)).toEqual({
      deliveryTag: 7,
      multiple: false,
    });
    await pair.peer.expectMethod('channel.close', 1);
    two.ackInRun(3);
    two.ackInRun(4);
    void pair.engine.close();
    expect(await pair.peer.expectMethod('basic.ack', 2)).toEqual({
      deliveryTag: 4,
      multiple: true,
    });
    await pair.peer.expectMethod('connection.close', 0);
  });

  it('drops the run when the broker closes the channel: the broker requeues those messages', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    channel.ackInRun(1);
    pair.peer.send(1, 'channel.close', {
      replyCode: 406,
      replyText: 'PRECONDITION_FAILED',
      classId: 0,
      methodId: 0,
    });
    await settle();
    await pair.peer.expectMethod('channel.close-ok', 1);
    await pair.peer.expectNothing();
    expect(() => channel.ackInRun(2)).toThrow(/PRECONDITION_FAILED/);
  });
});
