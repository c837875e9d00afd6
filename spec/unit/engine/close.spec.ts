import { afterEach, describe, expect, it } from 'vitest';
import { ChannelError, ConnectionError } from '../../../lib/engine/errors.js';
import {
  connectedPair,
  declareOk,
  declareQueue,
  destroyPairs,
  openChannel,
  settle,
  track,
} from '../../support/scripted-peer.js';

afterEach(destroyPairs);

describe('connection close', () => {
  it('sends connection.close 200 and resolves after close-ok', async () => {
    const pair = await connectedPair();
    const closing = track(pair.engine.close());
    const close = await pair.peer.expectMethod('connection.close');
    expect(close).toMatchObject({ replyCode: 200, classId: 0, methodId: 0 });
    await settle();
    expect(closing.state).toBe('pending');
    expect(pair.engine.isOpen).toBe(false);
    expect(pair.peer.ended).toBe(false);
    pair.peer.send(0, 'connection.close-ok', {});
    await closing.promise;
    expect(pair.closes.map((e) => e.code)).toEqual(['CONNECTION_CLOSED']);
    await pair.peer.expectEnd();
  });

  it('sends one connection.close for concurrent close() calls, and resolves them all', async () => {
    const pair = await connectedPair();
    const first = track(pair.engine.close());
    const second = track(pair.engine.close());
    await pair.peer.expectMethod('connection.close');
    await pair.peer.expectNothing();
    pair.peer.send(0, 'connection.close-ok', {});
    await settle();
    expect(first.state).toBe('resolved');
    expect(second.state).toBe('resolved');
    expect(pair.closes).toHaveLength(1);
  });

  it('resolves close() after the connection closed, sending nothing', async () => {
    const pair = await connectedPair();
    const closing = pair.engine.close();
    await pair.peer.expectMethod('connection.close');
    pair.peer.send(0, 'connection.close-ok', {});
    await closing;
    await expect(pair.engine.close()).resolves.toBeUndefined();
    expect(pair.peer.unread).toEqual([]);
    expect(pair.closes).toHaveLength(1);
  });

  it('resolves close() on a connection that was lost', async () => {
    const pair = await connectedPair();
    pair.peer.destroy();
    await settle();
    await expect(pair.engine.close()).resolves.toBeUndefined();
    expect(pair.closes.map((e) => e.code)).toEqual(['CONNECTION_LOST']);
  });

  it('rejects pending requests with CONNECTION_CLOSED when the application closes', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    const call = track(channel.call('queue.declare', declareQueue('q')));
    await pair.peer.expectMethod('queue.declare', 1);
    const closing = pair.engine.close();
    await pair.peer.expectMethod('connection.close');
    // What the broker sends on a channel after our close is dropped.
    pair.peer.send(1, 'queue.declare-ok', declareOk('q'));
    pair.peer.send(0, 'connection.close-ok', {});
    await closing;
    expect(call.state).toBe('rejected');
    expect((call.error as ChannelError).code).toBe('CONNECTION_CLOSED');
    await expect(channel.call('queue.declare', declareQueue('r'))).rejects.toMatchObject({
      code: 'CONNECTION_CLOSED',
    });
  });

  it('answers a broker connection.close 320 with close-ok and fails everything', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    const call = track(channel.call('queue.declare', declareQueue('q')));
    await pair.peer.expectMethod('queue.declare', 1);
    const channelCloses: ChannelError[] = [];
    channel.on('close', (error) => channelCloses.push(error));
    pair.peer.send(0, 'connection.close', {
      replyCode: 320,
      replyText: 'CONNECTION_FORCED - broker forced connection closure with reason shutdown',
      classId: 0,
      methodId: 0,
    });
    await pair.peer.expectMethod('connection.close-ok');
    await pair.peer.expectEnd();
    expect(pair.closes).toHaveLength(1);
    const error = pair.closes[0] as ConnectionError;
    expect(error).toBeInstanceOf(ConnectionError);
    expect(error.code).toBe('CONNECTION_FORCED');
    expect(error.replyCode).toBe(320);
    expect(pair.engine.error).toBe(error);
    expect(call.state).toBe('rejected');
    expect((call.error as ChannelError).code).toBe('CONNECTION_FORCED');
    expect((call.error as ChannelError).cause).toBe(error);
    expect(channelCloses.map((e) => e.code)).toEqual(['CONNECTION_FORCED']);
    await expect(pair.engine.openChannel()).rejects.toBe(error);
  });

  it('answers a broker close that crosses its own and closes once', async () => {
    const pair = await connectedPair();
    const closing = pair.engine.close();
    await pair.peer.expectMethod('connection.close');
    pair.peer.send(0, 'connection.close', {
      replyCode: 320,
      replyText: 'CONNECTION_FORCED',
      classId: 0,
      methodId: 0,
    });
    pair.peer.send(0, 'connection.close-ok', {});
    await closing;
    await pair.peer.expectMethod('connection.close-ok');
    expect(pair.closes).toHaveLength(1);
  });
});

describe('channel close', () => {
  it('sends channel.close and resolves on close-ok', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    const closes: ChannelError[] = [];
    channel.on('close', (error) => closes.push(error));
    const closing = track(channel.close());
    expect(await pair.peer.expectMethod('channel.close', 1)).toMatchObject({ replyCode: 200 });
    await settle();
    expect(closing.state).toBe('pending');
    expect(channel.isOpen).toBe(false);
    pair.peer.send(1, 'channel.close-ok', {});
    await closing.promise;
    expect(closes.map((e) => e.code)).toEqual(['CHANNEL_CLOSED']);
    // Idempotent, and nothing more goes out.
    await channel.close();
    await pair.peer.expectNothing();
    expect(pair.engine.isOpen).toBe(true);
  });

  it('drops what arrives between channel.close and close-ok, and fails what was pending', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    const call = track(channel.call('queue.declare', declareQueue('q')));
    await pair.peer.expectMethod('queue.declare', 1);
    const closing = channel.close();
    await pair.peer.expectMethod('channel.close', 1);
    pair.peer.send(1, 'queue.declare-ok', declareOk('q'));
    pair.peer.send(1, 'channel.close-ok', {});
    await closing;
    expect(call.state).toBe('rejected');
    expect((call.error as ChannelError).code).toBe('CHANNEL_CLOSED');
    expect(pair.engine.isOpen).toBe(true);
  });

  it('answers a broker channel.close 404 and releases the channel number', async () => {
    const pair = await connectedPair({ channelMax: 1 });
    const channel = await openChannel(pair, 1);
    const call = track(
      channel.call('queue.declare', { ...declareQueue('missing'), passive: true }),
    );
    await pair.peer.expectMethod('queue.declare', 1);
    pair.peer.send(1, 'channel.close', {
      replyCode: 404,
      replyText: "NOT_FOUND - no queue 'missing' in vhost '/'",
      classId: 50,
      methodId: 10,
    });
    await pair.peer.expectMethod('channel.close-ok', 1);
    expect(call.state).toBe('rejected');
    const error = call.error as ChannelError;
    expect(error).toBeInstanceOf(ChannelError);
    expect(error.code).toBe('NOT_FOUND');
    expect(error.replyCode).toBe(404);
    expect(error.method).toBe('queue.declare');
    expect(channel.error).toBe(error);
    await expect(channel.call('queue.declare', declareQueue('q'))).rejects.toBe(error);
    // channel_max is 1: opening again works only if number 1 was released.
    const again = await openChannel(pair, 1);
    expect(again.id).toBe(1);
    expect(pair.engine.isOpen).toBe(true);
  });

  it('resolves cleanly when both sides close a channel at once', async () => {
    const pair = await connectedPair({ channelMax: 1 });
    const channel = await openChannel(pair, 1);
    const closes: ChannelError[] = [];
    channel.on('close', (error) => closes.push(error));
    const closing = channel.close();
    await pair.peer.expectMethod('channel.close', 1);
    // The broker had sent its own close before ours reached it; it answers ours too (as RabbitMQ does).
    pair.peer.send(1, 'channel.close', {
      replyCode: 406,
      replyText: 'PRECONDITION_FAILED - unknown delivery tag 1',
      classId: 60,
      methodId: 80,
    });
    await pair.peer.expectMethod('channel.close-ok', 1);
    pair.peer.send(1, 'channel.close-ok', {});
    await closing;
    await pair.peer.expectNothing();
    expect(pair.engine.isOpen).toBe(true);
    expect(pair.closes).toEqual([]);
    expect(closes.map((e) => e.code)).toEqual(['PRECONDITION_FAILED']);
    // The number is free again once the broker's close-ok came.
    expect((await openChannel(pair, 1)).id).toBe(1);
  });

  it('channel.close() while the connection closes never throws and settles with it', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    const closing = pair.engine.close();
    await pair.peer.expectMethod('connection.close');
    let closed: Promise<void> | undefined;
    expect(() => {
      closed = channel.close();
    }).not.toThrow();
    pair.peer.send(0, 'connection.close-ok', {});
    await closing;
    await expect(closed).resolves.toBeUndefined();
    expect(channel.error?.code).toBe('CONNECTION_CLOSED');
    expect(pair.peer.unread).toEqual([]);
  });

  it('rejects calls on a channel that is closing', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    void channel.close();
    await expect(channel.call('queue.declare', declareQueue('q'))).rejects.toMatchObject({
      code: 'CHANNEL_CLOSED',
    });
    expect(() => channel.send('basic.ack', { deliveryTag: 1, multiple: false })).toThrow(
      ChannelError,
    );
  });
});
