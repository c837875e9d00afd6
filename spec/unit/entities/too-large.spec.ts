/**
 * Messages over `maxBodySize` (lib/too-large.ts), against a scripted broker:
 * each is refused on its channel (rejected without requeue when it needs an
 * ack, dropped with no-ack), reported, and the connection goes on. The broker
 * case with a dead-letter exchange is in spec/integration/too-large.spec.ts.
 */
import { afterEach, describe, expect, it } from 'vitest';
import {
  AmqpError,
  type IncomingMessage,
  MessageTooLargeError,
  type Queue,
} from '../../../lib/index.js';
import { settle } from '../../support/scripted-peer.js';
import {
  brokerBarrier,
  captureWarnings,
  consume,
  declareQueue,
  deliver,
  describeFrame,
  encodeDelivery,
  expectNothingMore,
  expectSettled,
  openChannel,
  type Scripted,
  scriptedConnection,
  teardown,
  until,
} from './harness.js';

afterEach(teardown);

const LIMIT = 1000;

async function setup(): Promise<{ s: Scripted; queue: Queue }> {
  const s = await scriptedConnection(false, { maxBodySize: LIMIT });
  const channel = await openChannel(s, 1);
  const queue = await declareQueue(s, channel, 'q');
  return { s, queue };
}

describe('a delivery over maxBodySize', () => {
  it('is rejected without requeue in its place among the acks, reported, and the rest flow', async () => {
    const { s, queue } = await setup();
    const handled: string[] = [];
    const consumer = await consume(s, queue, (message) => {
      handled.push(message.text());
      message.ack();
    });
    const refused: MessageTooLargeError[] = [];
    consumer.on('refused', (error) => refused.push(error));
    encodeDelivery(s.peer, 1, consumer.tag, 1);
    encodeDelivery(s.peer, 1, consumer.tag, 2, { body: Buffer.alloc(LIMIT + 1) });
    encodeDelivery(s.peer, 1, consumer.tag, 3);
    s.peer.flush();
    // The acks of 1 and 3 may go out as one multiple ack: it must not cover 2, rejected before it.
    const outcomes = await expectSettled(s.peer, 1, [1, 2, 3]);
    expect(Object.fromEntries(outcomes)).toEqual({ 1: 'ack', 2: 'drop', 3: 'ack' });
    expect(handled).toEqual(['message 1', 'message 3']);
    expect(refused).toHaveLength(1);
    const [error] = refused as [MessageTooLargeError];
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect(error).toBeInstanceOf(AmqpError);
    expect(error).toMatchObject({
      code: 'MESSAGE_TOO_LARGE',
      method: 'basic.deliver',
      exchange: '',
      routingKey: 'q',
      deliveryTag: 2,
      consumerTag: consumer.tag,
      redelivered: false,
      bodySize: LIMIT + 1,
      maxBodySize: LIMIT,
      rejected: true,
    });
    expect(error.message).toContain('rejected without requeue');
    expect(s.connection.isOpen).toBe(true);
    await expectNothingMore(s);
  });

  it('with noAck sends nothing, is reported as dropped, and the next message is handled', async () => {
    const { s, queue } = await setup();
    const handled: string[] = [];
    const consumer = await consume(s, queue, (message) => void handled.push(message.text()), {
      noAck: true,
    });
    const refused: MessageTooLargeError[] = [];
    consumer.on('refused', (error) => refused.push(error));
    // Over several frames: 128 KiB frames cannot carry it in one.
    deliver(s, consumer, [1], { body: Buffer.alloc(300_000) });
    deliver(s, consumer, [2]);
    await until(() => handled.length === 1);
    expect(handled).toEqual(['message 2']);
    expect(refused.map((error) => [error.rejected, error.bodySize])).toEqual([[false, 300_000]]);
    expect(refused[0]?.message).toContain('dropped');
    await expectNothingMore(s);
    expect(s.connection.isOpen).toBe(true);
  });

  it("is a process warning when the consumer has no 'refused' listener", async () => {
    const { s, queue } = await setup();
    const warnings = captureWarnings('WARREN_MESSAGE_TOO_LARGE');
    try {
      const consumer = await consume(s, queue, () => {}, { noAck: true });
      deliver(s, consumer, [1], { body: Buffer.alloc(LIMIT * 2) });
      await until(() => warnings.warnings.length === 1);
      expect(warnings.warnings[0]).toContain(consumer.tag);
      expect(warnings.warnings[0]).toContain(`${LIMIT * 2} bytes`);
    } finally {
      warnings.stop();
    }
  });
});

describe('queue.get() of a message over maxBodySize', () => {
  const getOk = {
    deliveryTag: 1,
    redelivered: true,
    exchange: 'ex',
    routingKey: 'rk',
    messageCount: 4,
  };

  it('rejects with MessageTooLargeError after rejecting the message without requeue', async () => {
    const { s, queue } = await setup();
    const getting = queue.get();
    await s.peer.expectMethod('basic.get', 1);
    s.peer.sendContent(1, 'basic.get-ok', getOk, { messageId: 'big' }, Buffer.alloc(LIMIT + 7));
    const error = await getting.catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(MessageTooLargeError);
    expect(error).toMatchObject({
      method: 'basic.get-ok',
      exchange: 'ex',
      routingKey: 'rk',
      deliveryTag: 1,
      redelivered: true,
      bodySize: LIMIT + 7,
      maxBodySize: LIMIT,
      properties: { messageId: 'big' },
      rejected: true,
    });
    expect(await s.peer.expectMethod('basic.reject', 1)).toEqual({
      deliveryTag: 1,
      requeue: false,
    });
    // The channel goes on: the next get is answered as usual.
    const next = queue.get();
    await s.peer.expectMethod('basic.get', 1);
    s.peer.sendContent(1, 'basic.get-ok', { ...getOk, deliveryTag: 2 }, {}, Buffer.from('small'));
    const message = (await next) as IncomingMessage;
    expect(message.text()).toBe('small');
    message.ack();
    expect(await s.peer.expectMethod('basic.ack', 1)).toEqual({ deliveryTag: 2, multiple: false });
  });

  it('with noAck rejects and sends nothing', async () => {
    const { s, queue } = await setup();
    const getting = queue.get({ noAck: true });
    await s.peer.expectMethod('basic.get', 1);
    s.peer.sendContent(1, 'basic.get-ok', getOk, {}, Buffer.alloc(LIMIT * 3));
    await expect(getting).rejects.toMatchObject({ code: 'MESSAGE_TOO_LARGE', rejected: false });
    await expectNothingMore(s);
  });
});

describe('a returned message over maxBodySize', () => {
  it("is dropped and reported on the channel's 'refused' event, not to the return handler", async () => {
    const { s, queue } = await setup();
    const channel = queue.channel;
    const returned: string[] = [];
    channel.setReturnHandler((message) => returned.push(message.text()));
    const refused: MessageTooLargeError[] = [];
    channel.on('refused', (error) => refused.push(error));
    const args = { replyCode: 312, replyText: 'NO_ROUTE', exchange: 'x', routingKey: 'k' };
    s.peer.encoder.content(1, 'basic.return', args, {}, Buffer.alloc(LIMIT + 1));
    s.peer.encoder.content(1, 'basic.return', args, {}, Buffer.from('small'));
    s.peer.flush();
    const before = await brokerBarrier(s, 1);
    expect(before.map(describeFrame)).toEqual([]);
    await settle();
    expect(returned).toEqual(['small']);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({
      method: 'basic.return',
      exchange: 'x',
      routingKey: 'k',
      deliveryTag: undefined,
      bodySize: LIMIT + 1,
      rejected: false,
    });
    expect(s.connection.isOpen).toBe(true);
  });
});
