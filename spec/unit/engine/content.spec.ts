import { afterEach, describe, expect, it } from 'vitest';
import type { ConsumerSink } from '../../../lib/engine/channel.js';
import type { ChannelError } from '../../../lib/engine/errors.js';
import type { Command, MethodArgs } from '../../../lib/protocol/index.js';
import {
  connectedPair,
  destroyPairs,
  openChannel,
  type Pair,
  settle,
  track,
} from '../../support/scripted-peer.js';
import { frameBytes } from '../helpers.js';

afterEach(destroyPairs);

const CONSUME: MethodArgs<'basic.consume'> = {
  queue: 'q',
  consumerTag: '',
  noLocal: false,
  noAck: false,
  exclusive: false,
  nowait: false,
  arguments: {},
};

function deliverArgs(deliveryTag: number, consumerTag = 'ctag'): MethodArgs<'basic.deliver'> {
  return { consumerTag, deliveryTag, redelivered: false, exchange: 'ex', routingKey: 'rk' };
}

class RecordingSink implements ConsumerSink {
  readonly deliveries: Command[] = [];
  readonly ends: (ChannelError | undefined)[] = [];
  deliver(delivery: Command): void {
    this.deliveries.push(delivery);
  }
  ended(error: ChannelError | undefined): void {
    this.ends.push(error);
  }
}

/** A connection with channel 1 open and a consumer `ctag` on it. */
async function consuming(
  options: Parameters<typeof connectedPair>[0] = {},
): Promise<Pair & { sink: RecordingSink }> {
  const pair = await connectedPair(options, { tune: { frameMax: 4096 } });
  const channel = await openChannel(pair, 1);
  const sink = new RecordingSink();
  const consume = channel.consume(CONSUME, sink);
  await pair.peer.expectMethod('basic.consume', 1);
  pair.peer.send(1, 'basic.consume-ok', { consumerTag: 'ctag' });
  expect(await consume).toBe('ctag');
  return { ...pair, sink };
}

describe('content', () => {
  it('hands deliveries that share a chunk with consume-ok to the new consumer', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    const sink = new RecordingSink();
    const consume = track(channel.consume(CONSUME, sink));
    await pair.peer.expectMethod('basic.consume', 1);
    const { encoder } = pair.peer;
    encoder.method(1, 'basic.consume-ok', { consumerTag: 'amq.ctag-1' });
    encoder.content(
      1,
      'basic.deliver',
      deliverArgs(1, 'amq.ctag-1'),
      { contentType: 'text/plain', headers: { n: 1 }, deliveryMode: 2 },
      Buffer.from('first'),
    );
    encoder.content(1, 'basic.deliver', deliverArgs(2, 'amq.ctag-1'), {}, Buffer.from('second'));
    pair.peer.flush();
    await settle();
    expect(consume.state).toBe('resolved');
    expect(consume.value).toBe('amq.ctag-1');
    expect(sink.deliveries).toHaveLength(2);
    const [first, second] = sink.deliveries;
    expect(first?.method).toEqual({ name: 'basic.deliver', args: deliverArgs(1, 'amq.ctag-1') });
    expect(first?.content?.properties).toMatchObject({
      contentType: 'text/plain',
      headers: { n: 1 },
      deliveryMode: 2,
    });
    expect(first?.content?.body.toString()).toBe('first');
    expect(second?.content?.body.toString()).toBe('second');
  });

  it('reassembles a body split over several frames and over one-byte chunks', async () => {
    const { peer, sink } = await consuming();
    const body = Buffer.alloc(10_000);
    for (let i = 0; i < body.length; i++) body[i] = i % 251;
    peer.encoder.content(1, 'basic.deliver', deliverArgs(7), { messageId: 'm' }, body);
    const bytes = Buffer.concat(peer.encoder.take());
    // With frame_max 4096 the body goes in three frames; feed them a byte at a time.
    for (let i = 0; i < bytes.length; i++) peer.sendRaw(bytes.subarray(i, i + 1));
    await settle();
    expect(sink.deliveries).toHaveLength(1);
    expect(sink.deliveries[0]?.content?.body.equals(body)).toBe(true);
    expect(sink.deliveries[0]?.content?.properties.messageId).toBe('m');
  });

  it('delivers an empty body from its header alone', async () => {
    const { peer, sink } = await consuming();
    peer.sendContent(1, 'basic.deliver', deliverArgs(1), {}, Buffer.alloc(0));
    await settle();
    expect(sink.deliveries).toHaveLength(1);
    expect(sink.deliveries[0]?.content?.body.length).toBe(0);
  });

  it('resolves basic.get with its content', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    const get = channel.call('basic.get', { queue: 'q', noAck: true });
    await pair.peer.expectMethod('basic.get', 1);
    pair.peer.sendContent(
      1,
      'basic.get-ok',
      { deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'q', messageCount: 4 },
      { correlationId: 'c' },
      Buffer.from('got'),
    );
    const reply = await get;
    expect(reply.method.name).toBe('basic.get-ok');
    expect(reply.content?.body.toString()).toBe('got');
    expect(reply.content?.properties.correlationId).toBe('c');
  });

  it('closes the connection with 505 on a body frame without a header', async () => {
    const { peer, closes, sink } = await consuming();
    peer.sendRaw(frameBytes(3, 1, Buffer.from('orphan')));
    const close = await peer.expectMethod('connection.close');
    expect(close.replyCode).toBe(505);
    await settle();
    expect(closes.map((e) => e.code)).toEqual(['UNEXPECTED_FRAME']);
    expect(sink.deliveries).toEqual([]);
    expect(sink.ends.map((e) => e?.code)).toEqual(['UNEXPECTED_FRAME']);
  });

  it('closes the connection with 505 on a method where content was due', async () => {
    const { peer, closes } = await consuming();
    peer.send(1, 'basic.deliver', deliverArgs(1));
    peer.send(1, 'basic.deliver', deliverArgs(2));
    expect((await peer.expectMethod('connection.close')).replyCode).toBe(505);
    await settle();
    expect(closes.map((e) => e.code)).toEqual(['UNEXPECTED_FRAME']);
  });

  it('hands on a delivery over maxBodySize without its body, skips the body, and goes on', async () => {
    const { peer, closes, sink, engine } = await consuming({ maxBodySize: 1000 });
    // 50 KB over 4 KiB frames: the skipped body spans many frames.
    peer.encoder.content(
      1,
      'basic.deliver',
      deliverArgs(1),
      { messageId: 'm1' },
      Buffer.alloc(50_000),
    );
    peer.encoder.content(1, 'basic.deliver', deliverArgs(2), {}, Buffer.from('next'));
    peer.flush();
    await settle();
    expect(closes).toEqual([]);
    expect(engine.isOpen).toBe(true);
    const [refused, next] = sink.deliveries;
    expect(refused?.content).toBeUndefined();
    expect(refused?.oversized).toEqual({
      properties: { messageId: 'm1' },
      bodySize: 50_000,
      maxBodySize: 1000,
    });
    expect(next?.content?.body.toString()).toBe('next');
    // The engine itself sends nothing for it: what to do is the consumer's business.
    await peer.expectNothing();
  });

  it('hands a get-ok over maxBodySize to its request, and a return over it to oversizedReturn', async () => {
    const pair = await connectedPair({ maxBodySize: 1000 }, { tune: { frameMax: 4096 } });
    const channel = await openChannel(pair, 1);
    const { peer } = pair;
    const get = channel.call('basic.get', { queue: 'q', noAck: false });
    await peer.expectMethod('basic.get', 1);
    const getOk = {
      deliveryTag: 1,
      redelivered: false,
      exchange: '',
      routingKey: 'q',
      messageCount: 0,
    };
    peer.sendContent(1, 'basic.get-ok', getOk, {}, Buffer.alloc(9000));
    const reply = await get;
    expect(reply.oversized?.bodySize).toBe(9000);
    expect(reply.content).toBeUndefined();

    const returns: string[] = [];
    channel.on('return', (returned) => returns.push(returned.body.toString()));
    const oversized: unknown[][] = [];
    channel.on('oversizedReturn', (...args) => oversized.push(args));
    const returnArgs = { replyCode: 312, replyText: 'NO_ROUTE', exchange: 'x', routingKey: 'k' };
    peer.sendContent(1, 'basic.return', returnArgs, {}, Buffer.alloc(5000));
    peer.sendContent(1, 'basic.return', returnArgs, {}, Buffer.from('small'));
    await settle();
    expect(oversized).toEqual([
      [returnArgs, { properties: {}, bodySize: 5000, maxBodySize: 1000 }],
    ]);
    expect(returns).toEqual(['small']);
    expect(pair.engine.isOpen).toBe(true);
  });

  it('takes a body of exactly maxBodySize', async () => {
    const { peer, sink, engine } = await consuming({ maxBodySize: 1000 });
    peer.sendContent(1, 'basic.deliver', deliverArgs(1), {}, Buffer.alloc(1000, 7));
    await settle();
    expect(sink.deliveries[0]?.content?.body.length).toBe(1000);
    expect(engine.isOpen).toBe(true);
  });

  it('ends a consumer the broker cancels and answers cancel-ok', async () => {
    const { peer, sink, engine } = await consuming();
    peer.send(1, 'basic.cancel', { consumerTag: 'ctag', nowait: false });
    expect(await peer.expectMethod('basic.cancel-ok', 1)).toEqual({ consumerTag: 'ctag' });
    expect(sink.ends).toEqual([undefined]);
    // Deliveries for a consumer that is gone are dropped, not a protocol error.
    peer.sendContent(1, 'basic.deliver', deliverArgs(9), {}, Buffer.from('late'));
    await settle();
    expect(sink.deliveries).toEqual([]);
    expect(engine.isOpen).toBe(true);
  });

  it('still delivers to a consumer being cancelled until cancel-ok', async () => {
    const pair = await consuming();
    const { peer, sink } = pair;
    const channel = await openChannel(pair, 2);
    const other = new RecordingSink();
    const consume = channel.consume(CONSUME, other);
    await peer.expectMethod('basic.consume', 2);
    peer.send(2, 'basic.consume-ok', { consumerTag: 'c2' });
    await consume;
    const cancel = track(channel.cancel('c2'));
    await peer.expectMethod('basic.cancel', 2);
    peer.sendContent(2, 'basic.deliver', deliverArgs(1, 'c2'), {}, Buffer.from('in flight'));
    await settle();
    expect(cancel.state).toBe('pending');
    peer.send(2, 'basic.cancel-ok', { consumerTag: 'c2' });
    await settle();
    expect(cancel.state).toBe('resolved');
    expect(other.deliveries.map((d) => d.content?.body.toString())).toEqual(['in flight']);
    expect(sink.deliveries).toEqual([]);
  });
});
