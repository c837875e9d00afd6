/**
 * `queue.messages()` (lib/message-iterator.ts) against a scripted broker:
 * the loop takes one message at a time and the prefetch window is the only
 * buffer; leaving the loop (break, return, throw) requeues what was held and
 * not settled; an abort, a broker cancel and an application close each end
 * the loop in their own way. Assertions are on the frames the broker
 * receives and on what the loop sees.
 */
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import type {
  Channel,
  IncomingMessage,
  MessageIterator,
  MessagesOptions,
  Queue,
} from '../../../lib/index.js';
import type { MethodArgs } from '../../../lib/protocol/index.js';
import { nextTurn, type Tracked, track } from '../../support/scripted-peer.js';
import {
  brokerBarrier,
  declareQueue,
  deliverTo,
  expectNothingMore,
  expectSettled,
  openChannel,
  type Scripted,
  scriptedConnection,
  teardown,
  until,
} from './harness.js';

afterEach(teardown);

async function setup(): Promise<{ s: Scripted; channel: Channel; queue: Queue }> {
  const s = await scriptedConnection();
  const channel = await openChannel(s, 1);
  const queue = await declareQueue(s, channel, 'q');
  return { s, channel, queue };
}

interface Started<T> {
  readonly iterator: MessageIterator<T>;
  /** The first `next()`, which started the consumer. */
  readonly first: Tracked<IteratorResult<IncomingMessage<T>>>;
  readonly tag: string;
  readonly qos: MethodArgs<'basic.qos'>;
  readonly consume: MethodArgs<'basic.consume'>;
}

/** Answers the `basic.qos` and `basic.consume` an iterator sends when its loop first asks. */
async function answerStart(
  s: Scripted,
): Promise<{ tag: string; qos: MethodArgs<'basic.qos'>; consume: MethodArgs<'basic.consume'> }> {
  const qos = await s.peer.expectMethod('basic.qos', 1);
  s.peer.send(1, 'basic.qos-ok', {});
  const consume = await s.peer.expectMethod('basic.consume', 1);
  s.peer.send(1, 'basic.consume-ok', { consumerTag: consume.consumerTag });
  // The consumer runs once the client has read consume-ok.
  expect(await brokerBarrier(s, 1)).toEqual([]);
  return { tag: consume.consumerTag, qos, consume };
}

/** Makes the iterator, calls `next()` once, and answers the `basic.qos` and `basic.consume` that follow. */
async function start<T>(
  s: Scripted,
  queue: Queue<T>,
  options: MessagesOptions = {},
): Promise<Started<T>> {
  const iterator = queue.messages(options);
  const first = track(iterator.next());
  return { iterator, first, ...(await answerStart(s)) };
}

/** Runs a for-await loop over `iterator` in the background, with `body` for each message. */
function loop<T>(
  iterator: MessageIterator<T>,
  body: (message: IncomingMessage<T>) => 'break' | undefined,
): Tracked<number[]> {
  return track(
    (async () => {
      const seen: number[] = [];
      for await (const message of iterator) {
        seen.push(message.deliveryTag);
        if (body(message) === 'break') break;
      }
      return seen;
    })(),
  );
}

/** Reads `count` methods and answers a `basic.cancel` among them; returns them, args included. */
async function readAnsweringCancel(s: Scripted, count: number): Promise<string[]> {
  const methods: string[] = [];
  while (methods.length < count) {
    const frame = await s.peer.nextNonHeartbeat();
    if (frame.type !== 1) continue;
    const { name, args } = frame.method;
    methods.push(`${name} ${JSON.stringify(args)}`);
    if (frame.method.name === 'basic.cancel') {
      s.peer.send(1, 'basic.cancel-ok', { consumerTag: frame.method.args.consumerTag });
    }
  }
  return methods;
}

function reject(deliveryTag: number): string {
  return `basic.reject ${JSON.stringify({ deliveryTag, requeue: true })}`;
}

function cancel(consumerTag: string): string {
  return `basic.cancel ${JSON.stringify({ consumerTag, nowait: false })}`;
}

function ack(deliveryTag: number): string {
  return `basic.ack ${JSON.stringify({ deliveryTag, multiple: false })}`;
}

describe('starting', () => {
  it('sends nothing until the first next(), then basic.qos with the prefetch and basic.consume', async () => {
    const { s, queue } = await setup();
    const iterator = queue.messages({
      prefetch: 3,
      exclusive: true,
      arguments: { 'x-priority': 2 },
    });
    await expectNothingMore(s);
    const first = track(iterator.next());
    expect(await s.peer.expectMethod('basic.qos', 1)).toEqual({
      prefetchCount: 3,
      prefetchSize: 0,
      global: false,
    });
    s.peer.send(1, 'basic.qos-ok', {});
    const consume = await s.peer.expectMethod('basic.consume', 1);
    expect(consume).toMatchObject({
      queue: 'q',
      noAck: false,
      exclusive: true,
      arguments: { 'x-priority': 2 },
    });
    s.peer.send(1, 'basic.consume-ok', { consumerTag: consume.consumerTag });
    deliverTo(s, 1, consume.consumerTag, [1]);
    expect((await first.promise).value?.deliveryTag).toBe(1);
  });

  it('asks for a window of 100 by default', async () => {
    const { s, queue } = await setup();
    const { qos } = await start(s, queue);
    expect(qos.prefetchCount).toBe(100);
  });
});

describe('the loop', () => {
  it('gets every message once, in order, however it paces itself (property)', async () => {
    const { s, queue } = await setup();
    let nextTag = 1;
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.nat(3), { minLength: 1, maxLength: 10 }),
        async (prefetch, pauses) => {
          const tags = pauses.map(() => nextTag++);
          const { iterator, first, tag } = await start(s, queue, { prefetch });
          deliverTo(s, 1, tag, tags);
          const seen: number[] = [];
          let result = await first.promise;
          for (const pause of pauses) {
            const message = result.value as IncomingMessage;
            seen.push(message.deliveryTag);
            for (let i = 0; i < pause; i++) await nextTurn();
            message.ack();
            if (seen.length < tags.length) result = await iterator.next();
          }
          expect(seen).toEqual(tags);
          const outcomes = await expectSettled(s.peer, 1, tags);
          expect([...outcomes.values()].every((outcome) => outcome === 'ack')).toBe(true);
          const leaving = iterator.return();
          expect(await readAnsweringCancel(s, 1)).toEqual([cancel(tag)]);
          await leaving;
        },
      ),
      { numRuns: 30 },
    );
  });

  it('does not take the next message while the loop holds one: leaving requeues the rest', async () => {
    const { s, queue } = await setup();
    const { iterator, first, tag } = await start(s, queue, { prefetch: 10 });
    deliverTo(s, 1, tag, [1, 2, 3, 4]);
    const message = (await first.promise).value as IncomingMessage;
    expect(message.deliveryTag).toBe(1);
    // The loop works on message 1 for a while; nothing is settled meanwhile.
    expect(await brokerBarrier(s, 1)).toEqual([]);
    for (let i = 0; i < 5; i++) await nextTurn();
    await expectNothingMore(s);
    message.ack();
    expect((await iterator.next()).value?.deliveryTag).toBe(2);
    const leaving = iterator.return();
    const frames = await readAnsweringCancel(s, 5);
    await leaving;
    // Message 2 was held (and requeued when the loop left); 3 and 4 never left the consumer.
    expect(frames.slice(0, 1)).toEqual([ack(1)]);
    expect(frames.slice(1).sort()).toEqual([reject(2), reject(3), reject(4), cancel(tag)].sort());
    await expectNothingMore(s);
  });
  // As an async generator: next() calls made before the previous one resolved queue up, and
  // each settles in turn.
  it('settles next() calls made before the previous one resolved, in order', async () => {
    const { s, queue } = await setup();
    const { iterator, first, tag } = await start(s, queue);
    const second = track(iterator.next());
    deliverTo(s, 1, tag, [1, 2]);
    await brokerBarrier(s, 1);
    await until(() => first.state !== 'pending', 100, 'the first next() resolving');
    const message = first.value?.value as IncomingMessage;
    expect(message.deliveryTag).toBe(1);
    message.ack();
    await until(() => second.state !== 'pending', 100, 'the second next() resolving');
    expect(second.value?.value?.deliveryTag).toBe(2);
  });
});

describe('leaving the loop', () => {
  it('by break requeues the held message and those waiting, and cancels', async () => {
    const { s, queue } = await setup();
    const iterator = queue.messages({ prefetch: 5 });
    const running = loop(iterator, (message) => {
      if (message.deliveryTag === 2) return 'break';
      message.ack();
      return undefined;
    });
    const { tag } = await answerStart(s);
    deliverTo(s, 1, tag, [1, 2, 3, 4]);
    const frames = await readAnsweringCancel(s, 5);
    await running.promise;
    expect(running.value).toEqual([1, 2]);
    expect(frames[0]).toBe(ack(1));
    expect(frames.slice(1).sort()).toEqual([reject(2), reject(3), reject(4), cancel(tag)].sort());
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    await expectNothingMore(s);
  });

  it('by break after settling the held message requeues only the others', async () => {
    const { s, queue } = await setup();
    const { iterator, first, tag } = await start(s, queue);
    deliverTo(s, 1, tag, [1, 2]);
    (await first.promise).value?.nack({ requeue: false });
    const leaving = iterator.return();
    const frames = await readAnsweringCancel(s, 3);
    await leaving;
    expect(frames[0]).toBe(
      `basic.nack ${JSON.stringify({ deliveryTag: 1, multiple: false, requeue: false })}`,
    );
    expect(frames.slice(1).sort()).toEqual([reject(2), cancel(tag)].sort());
    await expectNothingMore(s);
  });

  it('by a throw inside for-await requeues the held message', async () => {
    const { s, queue } = await setup();
    const iterator = queue.messages();
    const failure = new Error('handler failed');
    const running = loop(iterator, (message) => {
      if (message.deliveryTag === 2) throw failure;
      message.ack();
      return undefined;
    });
    const { tag: consumerTag } = await answerStart(s);
    deliverTo(s, 1, consumerTag, [1, 2, 3]);
    const frames = await readAnsweringCancel(s, 4);
    await until(() => running.state !== 'pending');
    expect(running.error).toBe(failure);
    expect(frames[0]).toBe(ack(1));
    expect(frames.slice(1).sort()).toEqual([reject(2), reject(3), cancel(consumerTag)].sort());
    await expectNothingMore(s);
  });
  it('before the first next() sends nothing, and the loop is over', async () => {
    const { s, queue } = await setup();
    const iterator = queue.messages();
    expect(await iterator.return()).toEqual({ done: true, value: undefined });
    expect(await iterator.next()).toEqual({ done: true, value: undefined });
    await expectNothingMore(s);
  });
});

describe('an abort', () => {
  it('rejects the pending next() with ABORTED and cancels the consumer', async () => {
    const { s, queue } = await setup();
    const controller = new AbortController();
    const { iterator, first, tag } = await start(s, queue, { signal: controller.signal });
    await brokerBarrier(s, 1);
    expect(first.state).toBe('pending');
    controller.abort();
    expect(await readAnsweringCancel(s, 1)).toEqual([cancel(tag)]);
    await until(() => first.state === 'rejected');
    expect(first.error).toMatchObject({ code: 'ABORTED' });
    await expect(iterator.next()).rejects.toMatchObject({ code: 'ABORTED' });
    await expectNothingMore(s);
  });

  it('leaves the held message to the loop, requeued when it moves on unless settled', async () => {
    const { s, queue } = await setup();
    const controller = new AbortController();
    const { iterator, first, tag } = await start(s, queue, { signal: controller.signal });
    deliverTo(s, 1, tag, [1, 2, 3]);
    const held = (await first.promise).value as IncomingMessage;
    controller.abort();
    const frames = await readAnsweringCancel(s, 3);
    expect(frames.sort()).toEqual([reject(2), reject(3), cancel(tag)].sort());
    await expect(iterator.next()).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await readAnsweringCancel(s, 1)).toEqual([reject(1)]);
    expect(held.settled).toBe(true);
    await expectNothingMore(s);
  });

  it('lets the loop settle the held message itself', async () => {
    const { s, queue } = await setup();
    const controller = new AbortController();
    const { iterator, first, tag } = await start(s, queue, { signal: controller.signal });
    deliverTo(s, 1, tag, [1]);
    const held = (await first.promise).value as IncomingMessage;
    controller.abort();
    expect(await readAnsweringCancel(s, 1)).toEqual([cancel(tag)]);
    held.ack();
    await expect(iterator.next()).rejects.toMatchObject({ code: 'ABORTED' });
    expect(await readAnsweringCancel(s, 1)).toEqual([ack(1)]);
    await expectNothingMore(s);
  });

  it('before the first next() sends nothing at all', async () => {
    const { s, queue } = await setup();
    const iterator = queue.messages({ signal: AbortSignal.abort() });
    await expect(iterator.next()).rejects.toMatchObject({ code: 'ABORTED' });
    await expectNothingMore(s);
  });
});

describe('a basic.cancel from the broker', () => {
  it('makes the loop throw CONSUMER_CANCELLED', async () => {
    const { s, queue } = await setup();
    const iterator = queue.messages();
    const running = loop(iterator, (message) => {
      message.ack();
      return undefined;
    });
    const { tag } = await answerStart(s);
    deliverTo(s, 1, tag, [1]);
    expect(await readAnsweringCancel(s, 1)).toEqual([ack(1)]);
    s.peer.send(1, 'basic.cancel', { consumerTag: tag, nowait: false });
    expect(await s.peer.expectMethod('basic.cancel-ok', 1)).toEqual({ consumerTag: tag });
    await until(() => running.state !== 'pending');
    expect(running.error).toMatchObject({ code: 'CONSUMER_CANCELLED' });
    // The consumer is gone: no basic.cancel of ours follows.
    await expectNothingMore(s);
  });
  // A cancel that comes in one read with consume-ok reaches the iterator's listener (see the
  // consumer's test of the same case): the pending next() must not wait forever.
  it('that comes with consume-ok ends the loop too', async () => {
    const { s, queue } = await setup();
    const iterator = queue.messages();
    const first = track(iterator.next());
    await s.peer.expectMethod('basic.qos', 1);
    s.peer.send(1, 'basic.qos-ok', {});
    const { consumerTag } = await s.peer.expectMethod('basic.consume', 1);
    s.peer.encoder.method(1, 'basic.consume-ok', { consumerTag });
    s.peer.encoder.method(1, 'basic.cancel', { consumerTag, nowait: false });
    s.peer.flush();
    expect(await s.peer.expectMethod('basic.cancel-ok', 1)).toEqual({ consumerTag });
    await until(() => first.state !== 'pending', 100, 'the loop ending');
    expect(first.error).toMatchObject({ code: 'CONSUMER_CANCELLED' });
  });
});

describe('an application close', () => {
  it('of the channel ends the loop without an error', async () => {
    const { s, channel, queue } = await setup();
    const iterator = queue.messages();
    const running = loop(iterator, (message) => {
      message.ack();
      return undefined;
    });
    const { tag } = await answerStart(s);
    deliverTo(s, 1, tag, [1]);
    expect(await readAnsweringCancel(s, 1)).toEqual([ack(1)]);
    const closing = channel.close();
    expect(await readAnsweringCancel(s, 1)).toEqual([cancel(tag)]);
    await s.peer.expectMethod('channel.close', 1);
    s.peer.send(1, 'channel.close-ok', {});
    await closing;
    await until(() => running.state !== 'pending');
    expect(running.state).toBe('resolved');
    expect(running.value).toEqual([1]);
  });

  it('of the connection ends the loop without an error', async () => {
    const { s, queue } = await setup();
    const iterator = queue.messages();
    const running = loop(iterator, () => undefined);
    const { tag } = await answerStart(s);
    const closing = s.connection.close();
    expect(await readAnsweringCancel(s, 1)).toEqual([cancel(tag)]);
    await s.peer.expectMethod('connection.close', 0);
    s.peer.send(0, 'connection.close-ok', {});
    await closing;
    await until(() => running.state !== 'pending');
    expect(running.state).toBe('resolved');
    expect(running.value).toEqual([]);
  });
});

describe('a queue with a schema', () => {
  it('passes invalid messages to onInvalid, rejected without requeue, and yields the valid', async () => {
    const s = await scriptedConnection();
    const channel = await openChannel(s, 1);
    const queue = channel.queue('orders', { schema: z.object({ id: z.number() }) });
    const invalid: number[] = [];
    const { first, tag } = await start(s, queue, {
      onInvalid: (_, message) => invalid.push(message.deliveryTag),
    });
    s.peer.encoder.content(
      1,
      'basic.deliver',
      { consumerTag: tag, deliveryTag: 1, redelivered: false, exchange: '', routingKey: 'orders' },
      {},
      Buffer.from('{"id":"one"}'),
    );
    s.peer.encoder.content(
      1,
      'basic.deliver',
      { consumerTag: tag, deliveryTag: 2, redelivered: false, exchange: '', routingKey: 'orders' },
      {},
      Buffer.from('{"id":2}'),
    );
    s.peer.flush();
    const result = await first.promise;
    expect(result.value?.data).toEqual({ id: 2 });
    expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({
      deliveryTag: 1,
      requeue: false,
    });
    await until(() => invalid.length === 1);
    expect(invalid).toEqual([1]);
  });
});
