import { afterEach, describe, expect, it } from 'vitest';
import { AbortError, ChannelError } from '../../../lib/engine/errors.js';
import { AmqpError } from '../../../lib/protocol/index.js';
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

const EXCHANGE_DECLARE = {
  exchange: 'x',
  type: 'direct',
  passive: false,
  durable: false,
  autoDelete: false,
  internal: false,
  nowait: false,
  arguments: {},
};

describe('channels', () => {
  it('opens channel 1, then channel 2', async () => {
    const pair = await connectedPair();
    const first = track(pair.engine.openChannel());
    expect((await pair.peer.expectMethod('channel.open', 1)).outOfBand).toBe('');
    await settle();
    expect(first.state).toBe('pending');
    pair.peer.send(1, 'channel.open-ok', { channelId: Buffer.alloc(0) });
    const one = await first.promise;
    expect(one.id).toBe(1);
    expect(one.isOpen).toBe(true);
    const two = await openChannel(pair, 2);
    expect(two.id).toBe(2);
  });

  it('uses a released number again', async () => {
    const pair = await connectedPair({}, { tune: { channelMax: 2 } });
    const one = await openChannel(pair, 1);
    await openChannel(pair, 2);
    const closing = one.close();
    await pair.peer.expectMethod('channel.close', 1);
    pair.peer.send(1, 'channel.close-ok', {});
    await closing;
    const again = await openChannel(pair, 1);
    expect(again.id).toBe(1);
    expect(again).not.toBe(one);
  });

  it('moves on to the next number rather than reusing the one just released', async () => {
    const pair = await connectedPair();
    const one = await openChannel(pair, 1);
    const closing = one.close();
    await pair.peer.expectMethod('channel.close', 1);
    pair.peer.send(1, 'channel.close-ok', {});
    await closing;
    expect((await openChannel(pair, 2)).id).toBe(2);
  });

  it('rejects with CHANNEL_LIMIT beyond channel_max, sending nothing', async () => {
    const pair = await connectedPair({}, { tune: { channelMax: 2 } });
    await openChannel(pair, 1);
    await openChannel(pair, 2);
    const third = pair.engine.openChannel();
    await expect(third).rejects.toBeInstanceOf(AmqpError);
    await expect(third).rejects.toMatchObject({ code: 'CHANNEL_LIMIT' });
    await pair.peer.expectNothing();
    expect(pair.engine.isOpen).toBe(true);
  });

  it('honours the client channel_max when it is the smaller', async () => {
    const pair = await connectedPair({ channelMax: 1 });
    await openChannel(pair, 1);
    await expect(pair.engine.openChannel()).rejects.toMatchObject({ code: 'CHANNEL_LIMIT' });
    await pair.peer.expectNothing();
  });

  it('rejects openChannel on a closed connection', async () => {
    const pair = await connectedPair();
    pair.peer.end();
    await pair.peer.expectEnd();
    await settle();
    await expect(pair.engine.openChannel()).rejects.toMatchObject({ code: 'CONNECTION_LOST' });
  });
});

describe('synchronous requests', () => {
  it('sends one request at a time, in call order', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    const first = track(channel.call('queue.declare', declareQueue('a')));
    const second = track(channel.call('queue.declare', declareQueue('b')));
    expect((await pair.peer.expectMethod('queue.declare', 1)).queue).toBe('a');
    await pair.peer.expectNothing();
    expect(second.state).toBe('pending');

    pair.peer.send(1, 'queue.declare-ok', declareOk('a'));
    expect((await pair.peer.expectMethod('queue.declare', 1)).queue).toBe('b');
    expect(first.state).toBe('resolved');
    expect(first.value?.method).toEqual({ name: 'queue.declare-ok', args: declareOk('a') });
    expect(second.state).toBe('pending');

    pair.peer.send(1, 'queue.declare-ok', declareOk('b'));
    const reply = await second.promise;
    expect(reply.method.args).toEqual(declareOk('b'));
  });

  it('keeps each channel’s queue separate', async () => {
    const pair = await connectedPair();
    const one = await openChannel(pair, 1);
    const two = await openChannel(pair, 2);
    const a = track(one.call('queue.declare', declareQueue('a')));
    const b = track(two.call('queue.declare', declareQueue('b')));
    await pair.peer.expectMethod('queue.declare', 1);
    await pair.peer.expectMethod('queue.declare', 2);
    pair.peer.send(2, 'queue.declare-ok', declareOk('b'));
    await settle();
    expect(b.state).toBe('resolved');
    expect(a.state).toBe('pending');
  });

  it('closes the connection with 505 when the reply is not the one expected', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    const other = await openChannel(pair, 2);
    const call = track(channel.call('queue.declare', declareQueue('q')));
    const queued = track(channel.call('queue.declare', declareQueue('r')));
    const elsewhere = track(other.call('queue.declare', declareQueue('s')));
    await pair.peer.expectMethod('queue.declare', 1);
    await pair.peer.expectMethod('queue.declare', 2);
    pair.peer.send(1, 'exchange.declare-ok', {});
    const close = await pair.peer.expectMethod('connection.close');
    expect(close.replyCode).toBe(505);
    expect(close.replyText).toContain('exchange.declare-ok');
    await pair.peer.expectEnd();
    await settle();
    expect(pair.closes.map((e) => e.code)).toEqual(['UNEXPECTED_FRAME']);
    for (const pending of [call, queued, elsewhere]) {
      expect(pending.state).toBe('rejected');
      expect(pending.error).toBeInstanceOf(ChannelError);
      expect((pending.error as ChannelError).code).toBe('UNEXPECTED_FRAME');
      expect((pending.error as ChannelError).cause).toBe(pair.closes[0]);
    }
    await expect(channel.call('queue.declare', declareQueue('late'))).rejects.toMatchObject({
      code: 'UNEXPECTED_FRAME',
    });
  });

  it('closes the connection with 505 on a reply nobody waits for', async () => {
    const pair = await connectedPair();
    await openChannel(pair, 1);
    pair.peer.send(1, 'queue.declare-ok', declareOk('q'));
    expect((await pair.peer.expectMethod('connection.close')).replyCode).toBe(505);
    await settle();
    expect(pair.closes.map((e) => e.code)).toEqual(['UNEXPECTED_FRAME']);
  });

  it('closes the connection with 505 on a frame for a channel that is not open', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    const call = track(channel.call('queue.declare', declareQueue('q')));
    await pair.peer.expectMethod('queue.declare', 1);
    pair.peer.send(5, 'queue.declare-ok', declareOk('q'));
    const close = await pair.peer.expectMethod('connection.close');
    expect(close.replyCode).toBe(505);
    await settle();
    expect(pair.closes.map((e) => e.code)).toEqual(['UNEXPECTED_FRAME']);
    expect(call.state).toBe('rejected');
    expect((call.error as ChannelError).code).toBe('UNEXPECTED_FRAME');
  });

  it('closes the connection with 505 on a method a client never receives', async () => {
    const pair = await connectedPair();
    await openChannel(pair, 1);
    pair.peer.send(1, 'queue.declare', declareQueue('q'));
    expect((await pair.peer.expectMethod('connection.close')).replyCode).toBe(505);
  });

  it('rejects a request whose arguments cannot be encoded, and sends the next', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    const bad = channel.call('queue.declare', declareQueue('x'.repeat(300)));
    const good = channel.call('queue.declare', declareQueue('ok'));
    await expect(bad).rejects.toBeInstanceOf(RangeError);
    expect((await pair.peer.expectMethod('queue.declare', 1)).queue).toBe('ok');
    pair.peer.send(1, 'queue.declare-ok', declareOk('ok'));
    await expect(good).resolves.toMatchObject({ method: { name: 'queue.declare-ok' } });
    expect(pair.engine.isOpen).toBe(true);
  });

  describe('AbortSignal', () => {
    it('removes an aborted request that was not sent yet: it never goes out', async () => {
      const pair = await connectedPair();
      const channel = await openChannel(pair, 1);
      const controller = new AbortController();
      const first = track(channel.call('queue.declare', declareQueue('first')));
      const aborted = track(
        channel.call('queue.declare', declareQueue('aborted'), { signal: controller.signal }),
      );
      const third = track(channel.call('queue.declare', declareQueue('third')));
      await pair.peer.expectMethod('queue.declare', 1);
      controller.abort(new Error('changed my mind'));
      await settle();
      expect(aborted.state).toBe('rejected');
      expect(aborted.error).toBeInstanceOf(AbortError);
      expect((aborted.error as AbortError).code).toBe('ABORTED');
      expect(first.state).toBe('pending');

      pair.peer.send(1, 'queue.declare-ok', declareOk('first'));
      expect((await pair.peer.expectMethod('queue.declare', 1)).queue).toBe('third');
      pair.peer.send(1, 'queue.declare-ok', declareOk('third'));
      await settle();
      expect(first.state).toBe('resolved');
      expect(third.state).toBe('resolved');
      expect(third.value?.method.args).toMatchObject({ queue: 'third' });
      await pair.peer.expectNothing();
    });

    it('rejects at once when the request was sent, and swallows its late reply', async () => {
      const pair = await connectedPair();
      const channel = await openChannel(pair, 1);
      const controller = new AbortController();
      const sent = track(
        channel.call('queue.declare', declareQueue('sent'), { signal: controller.signal }),
      );
      const next = track(channel.call('queue.declare', declareQueue('next')));
      await pair.peer.expectMethod('queue.declare', 1);
      controller.abort();
      await settle();
      expect(sent.state).toBe('rejected');
      expect((sent.error as AbortError).code).toBe('ABORTED');
      // The next request waits for the late reply: one in flight at a time.
      await pair.peer.expectNothing();

      pair.peer.send(1, 'queue.declare-ok', declareOk('sent'));
      expect((await pair.peer.expectMethod('queue.declare', 1)).queue).toBe('next');
      pair.peer.send(1, 'queue.declare-ok', declareOk('next'));
      await settle();
      expect(next.state).toBe('resolved');
      expect(next.value?.method.args).toMatchObject({ queue: 'next' });
      expect(pair.engine.isOpen).toBe(true);
    });

    it('cancels a consumer whose consume was aborted after it was sent, requeueing what it got', async () => {
      const pair = await connectedPair();
      const channel = await openChannel(pair, 1);
      const controller = new AbortController();
      const sink = { delivered: 0, deliver: () => sink.delivered++, ended: () => {} };
      const consuming = track(
        channel.consume(
          {
            queue: 'q',
            consumerTag: 'late',
            noLocal: false,
            noAck: false,
            exclusive: false,
            nowait: false,
            arguments: {},
          },
          sink,
          controller.signal,
        ),
      );
      await pair.peer.expectMethod('basic.consume', 1);
      controller.abort();
      await settle();
      expect(consuming.state).toBe('rejected');

      pair.peer.send(1, 'basic.consume-ok', { consumerTag: 'late' });
      const deliver = {
        consumerTag: 'late',
        deliveryTag: 1,
        redelivered: false,
        exchange: '',
        routingKey: 'q',
      };
      pair.peer.sendContent(1, 'basic.deliver', deliver, {}, Buffer.from('x'));
      expect((await pair.peer.expectMethod('basic.cancel', 1)).consumerTag).toBe('late');
      expect(await pair.peer.expectMethod('basic.reject', 1)).toEqual({
        deliveryTag: 1,
        requeue: true,
      });
      expect(sink.delivered).toBe(0);
      expect(pair.engine.isOpen).toBe(true);
    });

    it('rejects at once with an already aborted signal, sending nothing', async () => {
      const pair = await connectedPair();
      const channel = await openChannel(pair, 1);
      const call = channel.call('queue.declare', declareQueue('q'), {
        signal: AbortSignal.abort(),
      });
      await expect(call).rejects.toMatchObject({ code: 'ABORTED' });
      await pair.peer.expectNothing();
    });

    it('closes a channel whose open was aborted once its open-ok comes', async () => {
      const pair = await connectedPair();
      const controller = new AbortController();
      const opening = track(pair.engine.openChannel(controller.signal));
      await pair.peer.expectMethod('channel.open', 1);
      controller.abort();
      await settle();
      expect(opening.state).toBe('rejected');
      expect((opening.error as AbortError).code).toBe('ABORTED');
      await pair.peer.expectMethod('channel.close', 1);
      pair.peer.send(1, 'channel.open-ok', { channelId: Buffer.alloc(0) });
      pair.peer.send(1, 'channel.close-ok', {});
      await settle();
      expect(pair.engine.isOpen).toBe(true);
      await pair.peer.expectNothing();
    });
  });

  it('resolves a request with the reply it expects', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    const call = channel.call('exchange.declare', EXCHANGE_DECLARE);
    await pair.peer.expectMethod('exchange.declare', 1);
    pair.peer.send(1, 'exchange.declare-ok', {});
    await expect(call).resolves.toMatchObject({ method: { name: 'exchange.declare-ok' } });
  });
});

describe('connection-level methods', () => {
  it('emits blocked and unblocked', async () => {
    const pair = await connectedPair();
    const events: string[] = [];
    pair.engine.on('blocked', (reason) => events.push(`blocked: ${reason}`));
    pair.engine.on('unblocked', () => events.push('unblocked'));
    pair.peer.send(0, 'connection.blocked', { reason: 'low on memory' });
    pair.peer.send(0, 'connection.unblocked', {});
    await settle();
    expect(events).toEqual(['blocked: low on memory', 'unblocked']);
    expect(pair.engine.isOpen).toBe(true);
  });

  it('sends update-secret on channel 0 and resolves on update-secret-ok', async () => {
    const pair = await connectedPair();
    const update = track(pair.engine.updateSecret('new-token', 'refresh'));
    const sent = await pair.peer.expectMethod('connection.update-secret');
    expect(sent.newSecret.toString()).toBe('new-token');
    expect(sent.reason).toBe('refresh');
    await settle();
    expect(update.state).toBe('pending');
    pair.peer.send(0, 'connection.update-secret-ok', {});
    await update.promise;
  });
});
