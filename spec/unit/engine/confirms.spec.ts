import { afterEach, describe, expect, it } from 'vitest';
import type { ChannelEngine } from '../../../lib/engine/channel.js';
import { ConfirmTracker, type ReturnedContent } from '../../../lib/engine/confirms.js';
import {
  ChannelError,
  PublishNackedError,
  PublishUnconfirmedError,
} from '../../../lib/engine/errors.js';
import type { MethodArgs } from '../../../lib/protocol/index.js';
import { MessageReturnedError, rejectReturned } from '../../../lib/returned-message.js';
import {
  connectedPair,
  destroyPairs,
  openChannel,
  type Pair,
  settle,
  type Tracked,
  track,
} from '../../support/scripted-peer.js';

afterEach(destroyPairs);

function publishArgs(routingKey: string, mandatory = false): MethodArgs<'basic.publish'> {
  return { exchange: 'ex', routingKey, mandatory, immediate: false };
}

/** A connection with channel 1 open in confirm mode. */
async function confirming(): Promise<Pair & { channel: ChannelEngine }> {
  const pair = await connectedPair();
  const channel = await openChannel(pair, 1);
  const select = channel.selectConfirms(rejectReturned);
  expect(await pair.peer.expectMethod('confirm.select', 1)).toEqual({ nowait: false });
  pair.peer.send(1, 'confirm.select-ok', {});
  await select;
  expect(channel.confirmMode).toBe(true);
  return { ...pair, channel };
}

/** Publishes `n` messages with routing keys k1..kn and reads them off the wire. */
async function publishMany(
  pair: Pair & { channel: ChannelEngine },
  n: number,
  mandatory = false,
): Promise<Tracked<void>[]> {
  const publishes: Tracked<void>[] = [];
  for (let i = 1; i <= n; i++) {
    publishes.push(
      track(pair.channel.publish(publishArgs(`k${i}`, mandatory), {}, Buffer.from(`m${i}`))),
    );
  }
  for (let i = 1; i <= n; i++) {
    const sent = await pair.peer.expectContent('basic.publish', 1);
    expect(sent.args.routingKey).toBe(`k${i}`);
    expect(sent.body.toString()).toBe(`m${i}`);
  }
  return publishes;
}

const states = (publishes: Tracked<void>[]): string[] => publishes.map((p) => p.state);

describe('publisher confirms', () => {
  it('numbers publishes from 1: a single ack settles exactly its own', async () => {
    const pair = await confirming();
    const publishes = await publishMany(pair, 3);
    await settle();
    expect(states(publishes)).toEqual(['pending', 'pending', 'pending']);
    pair.peer.send(1, 'basic.ack', { deliveryTag: 2, multiple: false });
    await settle();
    expect(states(publishes)).toEqual(['pending', 'resolved', 'pending']);
    pair.peer.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    pair.peer.send(1, 'basic.ack', { deliveryTag: 3, multiple: false });
    await settle();
    expect(states(publishes)).toEqual(['resolved', 'resolved', 'resolved']);
  });

  it('settles up to and including the tag of a multiple ack, and no further', async () => {
    const pair = await confirming();
    const publishes = await publishMany(pair, 5);
    pair.peer.send(1, 'basic.ack', { deliveryTag: 3, multiple: true });
    await settle();
    expect(states(publishes)).toEqual(['resolved', 'resolved', 'resolved', 'pending', 'pending']);
    pair.peer.send(1, 'basic.ack', { deliveryTag: 5, multiple: true });
    await settle();
    expect(states(publishes)).toEqual(Array(5).fill('resolved'));
  });

  it('mixes single acks out of order with multiple ones, and ignores a tag past the last', async () => {
    const pair = await confirming();
    const publishes = await publishMany(pair, 6);
    pair.peer.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    pair.peer.send(1, 'basic.ack', { deliveryTag: 3, multiple: false });
    pair.peer.send(1, 'basic.ack', { deliveryTag: 2, multiple: false });
    await settle();
    expect(states(publishes)).toEqual([
      'resolved',
      'resolved',
      'resolved',
      'pending',
      'pending',
      'pending',
    ]);
    pair.peer.send(1, 'basic.ack', { deliveryTag: 5, multiple: false });
    pair.peer.send(1, 'basic.nack', { deliveryTag: 4, multiple: true, requeue: false });
    await settle();
    expect(states(publishes)).toEqual([
      'resolved',
      'resolved',
      'resolved',
      'rejected',
      'resolved',
      'pending',
    ]);
    pair.peer.send(1, 'basic.ack', { deliveryTag: 2 ** 40, multiple: true });
    await settle();
    expect(states(publishes)[5]).toBe('resolved');
    const later = await publishMany(pair, 1);
    pair.peer.send(1, 'basic.ack', { deliveryTag: 7, multiple: true });
    await settle();
    expect(states(later)).toEqual(['resolved']);
  });

  it('ignores a single ack of a tag past the last publish', async () => {
    const pair = await confirming();
    const publishes = await publishMany(pair, 2);
    pair.peer.send(1, 'basic.ack', { deliveryTag: 5, multiple: false });
    await settle();
    expect(states(publishes)).toEqual(['pending', 'pending']);
  });

  it('numbers and settles thousands of publishes, single and multiple, in and out of order', async () => {
    const tracker = new ConfirmTracker(rejectReturned);
    const publishes = Array.from({ length: 5000 }, () => track(tracker.track(false, 'ex', 'k')));
    for (let tag = 1; tag <= 3000; tag += 2) tracker.ack(tag + 1, false); // even tags first
    for (let tag = 1; tag <= 3000; tag += 2) tracker.ack(tag, false); // then the odd ones
    tracker.nack(3001, false);
    tracker.ack(4000, true);
    tracker.ack(4002, false);
    await settle();
    const expected = publishes.map((_, i) => {
      const tag = i + 1;
      if (tag === 3001) return 'rejected';
      return tag <= 4000 || tag === 4002 ? 'resolved' : 'pending';
    });
    expect(states(publishes)).toEqual(expected);
    tracker.nack(5000, true);
    await settle();
    expect(states(publishes).slice(4000)).toEqual(
      Array.from({ length: 1000 }, (_, i) => (i === 1 ? 'resolved' : 'rejected')),
    );
  });

  it('rejects a nacked publish with PublishNackedError', async () => {
    const pair = await confirming();
    const publishes = await publishMany(pair, 4);
    pair.peer.send(1, 'basic.nack', { deliveryTag: 2, multiple: false, requeue: false });
    await settle();
    expect(states(publishes)).toEqual(['pending', 'rejected', 'pending', 'pending']);
    expect(publishes[1]?.error).toBeInstanceOf(PublishNackedError);
    expect(publishes[1]?.error).toMatchObject({ code: 'PUBLISH_NACKED' });
    pair.peer.send(1, 'basic.nack', { deliveryTag: 3, multiple: true, requeue: false });
    pair.peer.send(1, 'basic.ack', { deliveryTag: 4, multiple: false });
    await settle();
    expect(states(publishes)).toEqual(['rejected', 'rejected', 'rejected', 'resolved']);
  });

  it('rejects a returned mandatory publish on its ack; those around it resolve', async () => {
    const pair = await confirming();
    const publishes = await publishMany(pair, 3, true);
    const unclaimed: ReturnedContent[] = [];
    pair.channel.on('return', (message) => unclaimed.push(message));
    pair.peer.sendContent(
      1,
      'basic.return',
      { replyCode: 312, replyText: 'NO_ROUTE', exchange: 'ex', routingKey: 'k2' },
      { messageId: 'two' },
      Buffer.from('m2'),
    );
    await settle();
    // The return alone settles nothing: the ack that follows it does.
    expect(states(publishes)).toEqual(['pending', 'pending', 'pending']);
    pair.peer.send(1, 'basic.ack', { deliveryTag: 3, multiple: true });
    await settle();
    expect(states(publishes)).toEqual(['resolved', 'rejected', 'resolved']);
    const error = publishes[1]?.error as MessageReturnedError;
    expect(error).toBeInstanceOf(MessageReturnedError);
    expect(error.code).toBe('NO_ROUTE');
    expect(error.replyCode).toBe(312);
    expect(error.returned.routingKey).toBe('k2');
    expect(error.returned.text()).toBe('m2');
    expect(error.returned.properties.messageId).toBe('two');
    expect(unclaimed).toEqual([]);
  });

  it('emits a return no publish claims', async () => {
    const pair = await confirming();
    const publishes = await publishMany(pair, 1, false);
    const unclaimed: ReturnedContent[] = [];
    pair.channel.on('return', (message) => unclaimed.push(message));
    pair.peer.sendContent(
      1,
      'basic.return',
      { replyCode: 312, replyText: 'NO_ROUTE', exchange: 'ex', routingKey: 'k1' },
      {},
      Buffer.from('m1'),
    );
    pair.peer.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    await settle();
    expect(unclaimed.map((m) => m.routingKey)).toEqual(['k1']);
    expect(states(publishes)).toEqual(['resolved']);
  });

  it('rejects every unconfirmed publish when the connection is lost', async () => {
    const pair = await confirming();
    const publishes = await publishMany(pair, 4);
    pair.peer.send(1, 'basic.ack', { deliveryTag: 1, multiple: false });
    await settle();
    pair.peer.destroy();
    await settle();
    expect(states(publishes)).toEqual(['resolved', 'rejected', 'rejected', 'rejected']);
    for (const publish of publishes.slice(1)) {
      // Their fate is unknown: the error says so, with the loss as its cause.
      expect(publish.error).toBeInstanceOf(PublishUnconfirmedError);
      expect((publish.error as PublishUnconfirmedError).code).toBe('PUBLISH_UNCONFIRMED');
      expect((publish.error as PublishUnconfirmedError).cause).toBeInstanceOf(ChannelError);
      expect(((publish.error as PublishUnconfirmedError).cause as ChannelError).code).toBe(
        'CONNECTION_LOST',
      );
    }
    expect(pair.closes.map((e) => e.code)).toEqual(['CONNECTION_LOST']);
    await expect(pair.channel.publish(publishArgs('late'), {}, Buffer.alloc(0))).rejects.toThrow(
      ChannelError,
    );
  });

  it('rejects every unconfirmed publish with the error of a channel the broker closes', async () => {
    const pair = await confirming();
    const publishes = await publishMany(pair, 2);
    pair.peer.send(1, 'channel.close', {
      replyCode: 404,
      replyText: "NOT_FOUND - no exchange 'ex' in vhost '/'",
      classId: 60,
      methodId: 40,
    });
    await pair.peer.expectMethod('channel.close-ok', 1);
    expect(states(publishes)).toEqual(['rejected', 'rejected']);
    const unconfirmed = publishes[0]?.error;
    expect(unconfirmed).toBeInstanceOf(PublishUnconfirmedError);
    const error = (unconfirmed as PublishUnconfirmedError).cause as ChannelError;
    expect(error.code).toBe('NOT_FOUND');
    expect(error.method).toBe('basic.publish');
    expect(pair.engine.isOpen).toBe(true);
  });

  it('resolves publishes at once without confirm mode', async () => {
    const pair = await connectedPair();
    const channel = await openChannel(pair, 1);
    await channel.publish(publishArgs('k'), { contentType: 'text/plain' }, Buffer.from('hi'));
    const sent = await pair.peer.expectContent('basic.publish', 1);
    expect(sent.args).toEqual(publishArgs('k'));
    expect(sent.properties.contentType).toBe('text/plain');
    expect(sent.body.toString()).toBe('hi');
    expect(channel.confirmMode).toBe(false);
  });

  it('splits a large body into frames of frame_max', async () => {
    const pair = await connectedPair({}, { tune: { frameMax: 4096 } });
    const channel = await openChannel(pair, 1);
    const body = Buffer.alloc(9_000, 1);
    await channel.publish(publishArgs('k'), {}, body);
    await pair.peer.expectMethod('basic.publish', 1);
    const header = await pair.peer.nextFrame();
    expect(header.type).toBe(2);
    const sizes: number[] = [];
    for (let got = 0; got < body.length; ) {
      const frame = await pair.peer.nextFrame();
      if (frame.type !== 3) throw new Error(`expected a body frame, got type ${frame.type}`);
      sizes.push(frame.payload.length);
      got += frame.payload.length;
    }
    expect(sizes).toEqual([4088, 4088, 824]);
  });
});
