import { afterEach, describe, expect, it } from 'vitest';
import type { MethodArgs } from '../../../lib/protocol/index.js';
import {
  connectedPair,
  destroyPairs,
  openChannel,
  settle,
  track,
} from '../../support/scripted-peer.js';

afterEach(destroyPairs);

const PUBLISH: MethodArgs<'basic.publish'> = {
  exchange: '',
  routingKey: 'q',
  mandatory: false,
  immediate: false,
};

/** A connection whose socket buffers at most 64 bytes before `write` returns false. */
async function smallBuffer() {
  const pair = await connectedPair({}, {}, { writableHighWaterMark: 64 });
  const channel = await openChannel(pair, 1);
  return { ...pair, channel };
}

describe('backpressure', () => {
  it('whenWritable() resolves at once while the socket takes writes', async () => {
    const { engine } = await smallBuffer();
    await expect(engine.whenWritable()).resolves.toBeUndefined();
  });

  it('whenWritable() waits for drain once a write returned false', async () => {
    const { engine, peer, channel } = await smallBuffer();
    peer.holdWrites();
    channel.send('basic.ack', { deliveryTag: 1, multiple: false });
    channel.send('basic.ack', { deliveryTag: 2, multiple: false });
    await settle();
    // Two acks, 42 bytes, are buffered: the socket still takes writes.
    await expect(engine.whenWritable()).resolves.toBeUndefined();
    channel.send('basic.ack', { deliveryTag: 3, multiple: false });
    channel.send('basic.ack', { deliveryTag: 4, multiple: false });
    await settle();
    expect(peer.socket.writableNeedDrain).toBe(true);
    const writable = track(engine.whenWritable());
    await settle();
    expect(writable.state).toBe('pending');

    peer.releaseWrites();
    await settle();
    expect(writable.state).toBe('resolved');
    await expect(engine.whenWritable()).resolves.toBeUndefined();
    // Everything written in the meantime arrived, in order.
    for (const tag of [1, 2, 3, 4]) {
      expect((await peer.expectMethod('basic.ack', 1)).deliveryTag).toBe(tag);
    }
  });

  it('a publish without confirms waits for drain while the socket is full', async () => {
    const { peer, channel } = await smallBuffer();
    peer.holdWrites();
    channel.send('basic.ack', { deliveryTag: 1, multiple: false });
    channel.send('basic.ack', { deliveryTag: 2, multiple: false });
    channel.send('basic.ack', { deliveryTag: 3, multiple: false });
    channel.send('basic.ack', { deliveryTag: 4, multiple: false });
    await settle();
    const first = track(channel.publish(PUBLISH, {}, Buffer.from('first')));
    const second = track(channel.publish(PUBLISH, {}, Buffer.from('second')));
    await settle();
    expect(first.state).toBe('pending');
    expect(second.state).toBe('pending');
    peer.releaseWrites();
    await settle();
    expect(first.state).toBe('resolved');
    expect(second.state).toBe('resolved');
    for (let i = 0; i < 4; i++) await peer.expectMethod('basic.ack', 1);
    expect((await peer.expectContent('basic.publish', 1)).body.toString()).toBe('first');
    expect((await peer.expectContent('basic.publish', 1)).body.toString()).toBe('second');
  });

  it('a publisher awaiting each publish in a loop stops when the socket is full', async () => {
    const { peer, channel } = await smallBuffer();
    peer.holdWrites();
    let published = 0;
    const count = 5_000;
    const loop = (async () => {
      for (let i = 0; i < count; i++) {
        await channel.publish(PUBLISH, {}, Buffer.alloc(100));
        published++;
      }
    })();
    await settle();
    // The engine writes a batch once it holds 64 KiB of bodies; the socket cannot take it, so
    // the loop must wait for it to drain rather than encode all 500 KB into memory.
    expect(published).toBeGreaterThan(0);
    expect(published).toBeLessThanOrEqual(Math.ceil((64 * 1024) / 100));
    peer.releaseWrites();
    await loop;
    expect(published).toBe(count);
    for (let i = 0; i < count; i++) await peer.expectContent('basic.publish', 1);
  });

  it('reuses its encoding buffer only once what was written from it has gone out', async () => {
    const { peer, channel } = await smallBuffer();
    peer.holdWrites();
    const bodies = ['first', 'second', 'third', 'fourth'];
    // Each publish is flushed on its own turn, so each is a batch the socket still holds.
    for (const body of bodies) {
      void channel.publish(PUBLISH, {}, Buffer.from(body));
      await settle();
    }
    peer.releaseWrites();
    for (const body of bodies) {
      expect((await peer.expectContent('basic.publish', 1)).body.toString()).toBe(body);
    }
    // Written out now: the next publishes reuse the buffer from its start, and arrive intact.
    for (const body of ['fifth', 'sixth']) {
      void channel.publish(PUBLISH, {}, Buffer.from(body));
      await settle();
      expect((await peer.expectContent('basic.publish', 1)).body.toString()).toBe(body);
    }
  });

  it('rejects what waits for drain when the connection is lost', async () => {
    const { engine, peer, channel } = await smallBuffer();
    peer.holdWrites();
    // A body of a whole write batch goes out at once, and fills the socket.
    const publish = track(channel.publish(PUBLISH, {}, Buffer.alloc(64 * 1024)));
    await settle();
    const writable = track(engine.whenWritable());
    expect(publish.state).toBe('pending');
    peer.destroy();
    await settle();
    expect(writable.state).toBe('rejected');
    expect(publish.state).toBe('rejected');
    expect((publish.error as { code: string }).code).toBe('CONNECTION_LOST');
  });

  it('refuses a publish beyond maxBufferedPublishBytes with PUBLISH_BUFFER_FULL, sending nothing', async () => {
    const pair = await connectedPair(
      { maxBufferedPublishBytes: 1_000 },
      {},
      { writableHighWaterMark: 64 },
    );
    const { engine, peer } = pair;
    const channel = await openChannel(pair, 1);
    peer.holdWrites();
    // Into an empty buffer a publish always goes, even one larger than the bound.
    const large = track(channel.publish(PUBLISH, {}, Buffer.alloc(1_500, 'a')));
    await settle();
    expect(engine.buffered.writes).toBeGreaterThan(1_500);
    const refused = track(channel.publish(PUBLISH, {}, Buffer.from('b')));
    await settle();
    expect(refused.state).toBe('rejected');
    expect(refused.error).toMatchObject({ name: 'AmqpError', code: 'PUBLISH_BUFFER_FULL' });
    expect(String((refused.error as Error).message)).toMatch(
      /more than maxBufferedPublishBytes \(1000 bytes\) wait/,
    );
    peer.releaseWrites();
    await settle();
    expect(large.state).toBe('resolved');
    expect(engine.buffered.writes).toBe(0);
    // Drained, it takes publishes again; the refused one was never sent.
    await channel.publish(PUBLISH, {}, Buffer.from('c'));
    expect((await peer.expectContent('basic.publish', 1)).body.length).toBe(1_500);
    expect((await peer.expectContent('basic.publish', 1)).body.toString()).toBe('c');
    await peer.expectNothing();
  });

  it('bounds what a loop of unawaited publishes holds', async () => {
    const pair = await connectedPair({ maxBufferedPublishBytes: 100_000 });
    const channel = await openChannel(pair, 1);
    pair.peer.holdWrites();
    let refused = 0;
    for (let i = 0; i < 5_000; i++) {
      channel.publish(PUBLISH, {}, Buffer.alloc(100)).catch((error: { code?: string }) => {
        if (error.code === 'PUBLISH_BUFFER_FULL') refused++;
      });
    }
    await settle();
    // 500 KB were offered; about 100 KB were taken: the bound counts the bodies of the batch
    // not yet written, not their frame headers (a few percent more here).
    expect(pair.engine.buffered.writes).toBeGreaterThan(90_000);
    expect(pair.engine.buffered.writes).toBeLessThanOrEqual(105_000);
    expect(refused).toBeGreaterThan(3_000);
    pair.peer.releaseWrites();
  });

  it('holds publishes while the broker has turned the channel’s flow off', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    const flows: boolean[] = [];
    channel.on('flow', (active) => flows.push(active));
    pair.peer.send(1, 'channel.flow', { active: false });
    expect(await pair.peer.expectMethod('channel.flow-ok', 1)).toEqual({ active: false });
    const publish = track(channel.publish(PUBLISH, {}, Buffer.from('held')));
    await pair.peer.expectNothing();
    expect(publish.state).toBe('pending');
    pair.peer.send(1, 'channel.flow', { active: true });
    expect(await pair.peer.expectMethod('channel.flow-ok', 1)).toEqual({ active: true });
    expect((await pair.peer.expectContent('basic.publish', 1)).body.toString()).toBe('held');
    await settle();
    expect(publish.state).toBe('resolved');
    expect(flows).toEqual([false, true]);
  });
});
