import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ChannelError, ConnectionError } from '../../../lib/engine/errors.js';
import { connectedPair, destroyPairs, settle, track } from '../../support/scripted-peer.js';

// setImmediate stays real: the engine flushes its batched writes on it.
beforeEach(() => {
  vi.useFakeTimers({ toFake: ['setInterval', 'clearInterval', 'setTimeout', 'clearTimeout'] });
});

afterEach(() => {
  destroyPairs();
  vi.useRealTimers();
});

/** Moves the fake clock on by `ms`, letting the real immediates (flushes) run as it goes. */
async function advance(ms: number, step = 500): Promise<void> {
  for (let elapsed = 0; elapsed < ms; elapsed += step) {
    await vi.advanceTimersByTimeAsync(Math.min(step, ms - elapsed));
    await settle(1);
  }
}

const TUNE_10S = { tune: { heartbeat: 10 } };

describe('heartbeats', () => {
  it('sends heartbeat frames about every half interval when nothing else is written', async () => {
    const { engine, peer } = await connectedPair({ heartbeat: 60 }, TUNE_10S);
    expect(engine.tuning.heartbeat).toBe(10);
    // Keep the engine alive from our side so only its own sending is measured.
    // (Date is not faked: the loop counts the fake clock itself.)
    const times: number[] = [];
    for (let t = 1_000; t <= 30_000; t += 1_000) {
      const before = peer.heartbeats;
      await advance(1_000);
      if (peer.heartbeats > before) times.push(t);
      expect(peer.heartbeats - before).toBeLessThanOrEqual(1);
      peer.sendHeartbeat();
    }
    expect(times.length).toBeGreaterThanOrEqual(4);
    expect(times.length).toBeLessThanOrEqual(6);
    for (let i = 1; i < times.length; i++) {
      const gap = (times[i] ?? 0) - (times[i - 1] ?? 0);
      expect(gap).toBeGreaterThanOrEqual(4_000);
      expect(gap).toBeLessThanOrEqual(6_000);
    }
    expect(engine.isOpen).toBe(true);
    expect(peer.unread).toEqual([]);
  });

  it('sends no heartbeat while other frames keep going out', async () => {
    const { engine, peer } = await connectedPair({ heartbeat: 10 }, TUNE_10S);
    const opening = engine.openChannel();
    await peer.acceptChannel(1);
    const channel = await opening;
    for (let t = 0; t < 30_000; t += 1_000) {
      channel.send('basic.ack', { deliveryTag: 1, multiple: false });
      await advance(1_000);
      await peer.expectMethod('basic.ack', 1);
      peer.sendHeartbeat();
    }
    expect(peer.heartbeats).toBe(0);
    expect(engine.isOpen).toBe(true);
  });

  it('declares the broker dead after two silent intervals and fails everything pending', async () => {
    // A dead broker: it does not close its side when the engine ends its own.
    const { engine, peer, closes } = await connectedPair({ heartbeat: 10 }, TUNE_10S, {
      endWithEngine: false,
    });
    const opening = engine.openChannel();
    await peer.acceptChannel(1);
    const channel = await opening;
    const call = track(
      channel.call('queue.declare', {
        queue: 'q',
        passive: false,
        durable: false,
        exclusive: false,
        autoDelete: false,
        nowait: false,
        arguments: {},
      }),
    );
    await peer.expectMethod('queue.declare', 1);

    // Silence from the peer: 20 s is two intervals, still within the grace of the last tick.
    await advance(19_500);
    expect(engine.isOpen).toBe(true);
    expect(call.state).toBe('pending');
    expect(peer.heartbeats).toBeGreaterThanOrEqual(2);

    await advance(6_000);
    expect(engine.isOpen).toBe(false);
    expect(closes).toHaveLength(1);
    const error = closes[0];
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error?.code).toBe('HEARTBEAT_TIMEOUT');
    expect(engine.error).toBe(error);

    expect(call.state).toBe('rejected');
    expect(call.error).toBeInstanceOf(ChannelError);
    expect((call.error as ChannelError).code).toBe('HEARTBEAT_TIMEOUT');
    expect((call.error as ChannelError).cause).toBe(error);
    expect(channel.isOpen).toBe(false);

    expect(peer.socket.destroyed).toBe(true);
    expect(peer.ended).toBe(true);

    // Later time changes nothing: one close, no more heartbeats.
    const beats = peer.heartbeats;
    await advance(30_000);
    expect(closes).toHaveLength(1);
    expect(peer.heartbeats).toBe(beats);
  });

  it('stays open while the broker sends heartbeats', async () => {
    const { engine, peer, closes } = await connectedPair({ heartbeat: 10 }, TUNE_10S);
    for (let t = 0; t < 60_000; t += 5_000) {
      await advance(5_000);
      peer.sendHeartbeat();
    }
    expect(engine.isOpen).toBe(true);
    expect(closes).toEqual([]);
    // Then silence kills it.
    await advance(26_000);
    expect(closes.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT']);
  });

  it('counts any frame from the broker as a sign of life', async () => {
    const { engine, peer } = await connectedPair({ heartbeat: 10 }, TUNE_10S);
    for (let t = 0; t < 60_000; t += 8_000) {
      await advance(8_000);
      peer.send(0, 'connection.unblocked', {});
    }
    expect(engine.isOpen).toBe(true);
  });

  it('does not count a pause in reading (deliveries waiting for handlers) as silence', async () => {
    const { engine, peer, closes } = await connectedPair(
      { heartbeat: 10, maxBufferedDeliveryBytes: 1_000 },
      TUNE_10S,
    );
    const opening = engine.openChannel();
    await peer.acceptChannel(1);
    const channel = await opening;
    // Deliveries weighing more than the bound wait: the engine stops reading.
    engine.backlog.hold(1_500);
    expect(engine.buffered).toMatchObject({ deliveries: 1_500, readingPaused: true });
    const call = track(
      channel.call('basic.qos', { prefetchSize: 0, prefetchCount: 1, global: false }),
    );
    await peer.expectMethod('basic.qos', 1);
    peer.send(1, 'basic.qos-ok', {});
    // Far more than two intervals without reading: not a dead peer, and our heartbeats go out.
    const beats = peer.heartbeats;
    await advance(60_000);
    expect(closes).toEqual([]);
    expect(engine.isOpen).toBe(true);
    expect(peer.heartbeats - beats).toBeGreaterThanOrEqual(5);
    // The reply waited in the socket all along.
    expect(call.state).toBe('pending');
    // Above half the bound, still paused; at half, reading resumes and the reply arrives.
    engine.backlog.release(900);
    await settle();
    expect(call.state).toBe('pending');
    engine.backlog.release(100);
    await settle();
    expect(engine.buffered).toMatchObject({ deliveries: 500, readingPaused: false });
    expect(call.state).toBe('resolved');
    // Reading again, silence counts again.
    await advance(26_000);
    expect(closes.map((e) => e.code)).toEqual(['HEARTBEAT_TIMEOUT']);
  });

  it('reads a close-ok while deliveries still wait', async () => {
    const { engine, peer } = await connectedPair({ maxBufferedDeliveryBytes: 1_000 });
    engine.backlog.hold(5_000);
    const closing = track(engine.close());
    await peer.expectMethod('connection.close');
    peer.send(0, 'connection.close-ok', {});
    await settle();
    expect(closing.state).toBe('resolved');
    expect(engine.error?.code).toBe('CONNECTION_CLOSED');
  });

  it('sends no heartbeats and never times out when heartbeats are off', async () => {
    const { engine, peer } = await connectedPair({ heartbeat: 0 }, TUNE_10S);
    expect(engine.tuning.heartbeat).toBe(0);
    await advance(120_000, 10_000);
    expect(peer.heartbeats).toBe(0);
    expect(engine.isOpen).toBe(true);
  });

  it('stops heartbeats once the connection is closed', async () => {
    const { engine, peer } = await connectedPair({ heartbeat: 10 }, TUNE_10S);
    const closing = engine.close();
    await peer.expectMethod('connection.close');
    peer.send(0, 'connection.close-ok', {});
    await closing;
    const beats = peer.heartbeats;
    await advance(60_000, 5_000);
    expect(peer.heartbeats).toBe(beats);
  });
});

describe('close timeout', () => {
  it('cuts the socket when the broker never answers connection.close', async () => {
    const { engine, peer, closes } = await connectedPair({}, {}, { endWithEngine: false });
    const closing = track(engine.close());
    await peer.expectMethod('connection.close');
    await advance(4_500);
    expect(closing.state).toBe('pending');
    expect(peer.socket.destroyed).toBe(false);
    await advance(1_000);
    expect(closing.state).toBe('resolved');
    expect(peer.socket.destroyed).toBe(true);
    expect(closes.map((e) => e.code)).toEqual(['CONNECTION_CLOSED']);
  });
});
