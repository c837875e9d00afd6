/**
 * Fetching and settling against RabbitMQ: `queue.get()` and the fields of an
 * IncomingMessage, ack / nack / reject with and without requeue and
 * `multiple`, settling once, `basic.recover`, and how message bodies and
 * properties travel. After every settlement the channel must still work:
 * a wrong or repeated delivery tag would make the broker close it.
 */
import { afterAll, beforeAll, describe, expect, inject, it, onTestFinished } from 'vitest';
import {
  AmqpError,
  type Channel,
  type Connection,
  connect,
  IncomingMessage,
  Message,
  type Queue,
} from '../../lib/index.js';
import { queueCounts, uniqueName } from '../support/amqp-helpers.js';

const url = inject('amqpUrl');
const user = decodeURIComponent(new URL(url).username) || 'guest';
let connection: Connection;

beforeAll(async () => {
  connection = await connect(url);
});

afterAll(async () => {
  await connection.close();
});

/** A channel that is closed when the test ends. */
async function openChannel(confirm = false): Promise<Channel> {
  const channel = await connection.openChannel({ confirm });
  onTestFinished(() => channel.close());
  return channel;
}

/**
 * A confirm channel and an exclusive queue (named, so that other channels
 * can reach it) holding `bodies`, in order.
 */
async function queueWith(...bodies: unknown[]): Promise<{ channel: Channel; queue: Queue }> {
  const channel = await openChannel(true);
  const queue = await channel.declareQueue(uniqueName('get'), { exclusive: true });
  for (const body of bodies) await channel.exchange('').publish(body, queue.name);
  return { channel, queue };
}

/** Ready messages in the queue, as the broker reports them. */
async function ready(queue: Queue): Promise<number | undefined> {
  return (await queueCounts(connection, queue.name))?.messageCount;
}

/**
 * A round trip on the channel, then checks it is open: had anything before it
 * made the broker close the channel, the close would have come first.
 */
async function expectChannelOpen(channel: Channel): Promise<void> {
  await channel.setQos({ prefetchCount: 0 });
  expect(channel.isOpen).toBe(true);
}

/** What `fn` threw. */
function thrown(fn: () => void): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected it to throw');
}

describe('queue.get', () => {
  it('resolves with null on an empty queue', async () => {
    const { queue } = await queueWith();
    expect(await queue.get()).toBeNull();
    expect(await queue.get({ noAck: true })).toBeNull();
  });

  it('fetches a message with its delivery fields', async () => {
    const channel = await openChannel(true);
    const exchange = await channel.declareExchange(uniqueName('get-ex'), 'direct', {
      autoDelete: true,
    });
    const queue = await channel.declareQueue(uniqueName('get'), { exclusive: true });
    await queue.bind(exchange, 'the.key');
    await exchange.publish({ n: 1, tags: ['a'] }, 'the.key');
    await exchange.publish('second', 'the.key');

    const first = await queue.get();
    expect(first).toBeInstanceOf(IncomingMessage);
    if (first === null) throw new Error('unreachable');
    expect(first.deliveryTag).toBe(1);
    expect(first.redelivered).toBe(false);
    expect(first.exchange).toBe(exchange.name);
    expect(first.routingKey).toBe('the.key');
    expect(first.messageCount).toBe(1); // one more left behind it
    expect(first.consumerTag).toBeUndefined();
    expect(first.noAck).toBe(false);
    expect(first.settled).toBe(false);
    expect(first.properties.contentType).toBe('application/json');
    expect(first.json()).toEqual({ n: 1, tags: ['a'] });
    expect(first.text()).toBe('{"n":1,"tags":["a"]}');
    expect(first.body.equals(Buffer.from('{"n":1,"tags":["a"]}'))).toBe(true);

    const second = await queue.get();
    expect(second?.deliveryTag).toBe(2);
    expect(second?.messageCount).toBe(0);
    expect(second?.text()).toBe('second');

    // Both unacked: none ready, and closing the channel would requeue them. Ack them instead.
    expect(await ready(queue)).toBe(0);
    first.ack();
    second?.ack();
    expect(first.settled).toBe(true);
    await expectChannelOpen(channel);
    await channel.close();
    expect(await ready(queue)).toBe(0);
  });

  it('fetches with noAck: settled on delivery, never requeued', async () => {
    const { channel, queue } = await queueWith('gone');
    const message = await queue.get({ noAck: true });
    expect(message?.noAck).toBe(true);
    expect(message?.settled).toBe(true);
    await channel.close(); // would requeue an unacked message
    expect(await ready(queue)).toBe(0);
  });
});

describe('settling', () => {
  it('reject with requeue puts it back, marked redelivered', async () => {
    const { channel, queue } = await queueWith('again');
    const first = await queue.get();
    first?.reject({ requeue: true });
    const second = await queue.get();
    expect(second?.text()).toBe('again');
    expect(second?.redelivered).toBe(true);
    expect(second?.deliveryTag).toBe(2);
    second?.reject(); // requeue is the default
    const third = await queue.get();
    expect(third?.redelivered).toBe(true);
    third?.ack();
    await expectChannelOpen(channel);
    expect(await ready(queue)).toBe(0);
  });

  it('reject without requeue drops it', async () => {
    const { channel, queue } = await queueWith('drop me', 'keep me');
    const message = await queue.get();
    message?.reject({ requeue: false });
    await expectChannelOpen(channel);
    await channel.close();
    // Only the second is left; the first is not requeued by the close.
    expect(await ready(queue)).toBe(1);
  });

  it('nack with multiple settles every earlier message; settling one again throws', async () => {
    const { channel, queue } = await queueWith('m1', 'm2', 'm3', 'm4');
    const [m1, m2, m3, m4] = [
      await queue.get(),
      await queue.get(),
      await queue.get(),
      await queue.get(),
    ];
    if (m1 === null || m2 === null || m3 === null || m4 === null) throw new Error('missing');

    m3.nack({ multiple: true, requeue: false }); // drops m1, m2, m3
    expect([m1.settled, m2.settled, m3.settled, m4.settled]).toEqual([true, true, true, false]);
    const again = thrown(() => m1.ack());
    expect(again).toBeInstanceOf(AmqpError);
    expect(again).toMatchObject({ code: 'ALREADY_SETTLED' });
    expect(() => m2.reject()).toThrow(AmqpError);
    m4.nack(); // requeue is the default
    await expectChannelOpen(channel);
    // m4 alone is back; the broker forgot m1 to m3.
    const back = await queue.get({ noAck: true });
    expect(back?.text()).toBe('m4');
    expect(back?.redelivered).toBe(true);
    await channel.close();
    expect(await ready(queue)).toBe(0);
  });

  it('nack with multiple and requeue puts every earlier message back', async () => {
    const { channel, queue } = await queueWith('m1', 'm2', 'm3');
    await queue.get();
    const m2 = await queue.get();
    m2?.nack({ multiple: true, requeue: true });
    await expectChannelOpen(channel);
    expect(await ready(queue)).toBe(3); // m1 and m2 back, and m3, never fetched
    const texts = [];
    for (let m = await queue.get(); m !== null; m = await queue.get()) {
      texts.push(`${m.text()}${m.redelivered ? '*' : ''}`);
      m.ack();
    }
    expect(texts.sort()).toEqual(['m1*', 'm2*', 'm3']);
    await expectChannelOpen(channel);
  });

  it('ack with multiple acks every earlier message', async () => {
    const { channel, queue } = await queueWith('m1', 'm2', 'm3');
    const m1 = await queue.get();
    const m2 = await queue.get();
    m2?.ack({ multiple: true });
    expect(m1?.settled).toBe(true);
    await expectChannelOpen(channel);
    await channel.close(); // would requeue anything still unacked
    expect(await ready(queue)).toBe(1);
  });

  it('a second ack throws ALREADY_SETTLED and sends nothing', async () => {
    const { channel, queue } = await queueWith('once', 'twice');
    const message = await queue.get();
    if (message === null) throw new Error('missing');
    message.ack();
    const error = thrown(() => message.ack());
    expect(error).toBeInstanceOf(AmqpError);
    expect(error).toMatchObject({ code: 'ALREADY_SETTLED' });
    expect(() => message.nack()).toThrow(expect.objectContaining({ code: 'ALREADY_SETTLED' }));
    await expectChannelOpen(channel);
    const next = await queue.get();
    expect(next?.text()).toBe('twice');
    next?.ack();
    await expectChannelOpen(channel);
  });

  it('settling a noAck message throws NOT_ACKNOWLEDGEABLE and sends nothing', async () => {
    const { channel, queue } = await queueWith('free', 'next');
    const message = await queue.get({ noAck: true });
    if (message === null) throw new Error('missing');
    const error = thrown(() => message.ack());
    expect(error).toBeInstanceOf(AmqpError);
    expect(error).toMatchObject({ code: 'NOT_ACKNOWLEDGEABLE' });
    expect(() => message.reject()).toThrow(
      expect.objectContaining({ code: 'NOT_ACKNOWLEDGEABLE' }),
    );
    await expectChannelOpen(channel);
    expect((await queue.get({ noAck: true }))?.text()).toBe('next');
  });
});

describe('channel.recover', () => {
  it('redelivers unacked messages; the stale ones cannot be settled', async () => {
    const { channel, queue } = await queueWith('r1', 'r2');
    const r1 = await queue.get();
    const r2 = await queue.get();
    expect(await ready(queue)).toBe(0);
    await channel.recover({ requeue: true });
    expect(await ready(queue)).toBe(2);
    // The broker forgot their delivery tags: acking one now would close the channel.
    expect(() => r1?.ack()).toThrow(expect.objectContaining({ code: 'ALREADY_SETTLED' }));
    expect(r2?.settled).toBe(true);
    const again = [await queue.get(), await queue.get()];
    expect(again.map((m) => m?.text()).sort()).toEqual(['r1', 'r2']);
    expect(again.every((m) => m?.redelivered)).toBe(true);
    for (const m of again) m?.ack();
    await expectChannelOpen(channel);
    await channel.close();
    expect(await ready(queue)).toBe(0);
  });
});

describe('message bodies and properties', () => {
  it('sends a Buffer as is, a string as UTF-8, anything else as JSON', async () => {
    const bytes = Buffer.from([0, 1, 2, 0xfe, 0xff]);
    const { queue } = await queueWith(
      bytes,
      new Uint8Array([9, 8, 7]),
      'héllo wörld ✓',
      { a: [1, 2], b: null },
      42,
      new Message('explicit', { contentType: 'text/plain' }),
      new Message({ typed: true }, { contentType: 'application/vnd.test+json' }),
      '',
    );
    const got: IncomingMessage[] = [];
    for (
      let m = await queue.get({ noAck: true });
      m !== null;
      m = await queue.get({ noAck: true })
    ) {
      got.push(m);
    }
    expect(got.map((m) => m.properties.contentType)).toEqual([
      undefined,
      undefined,
      undefined,
      'application/json',
      'application/json',
      'text/plain',
      'application/vnd.test+json',
      undefined,
    ]);
    expect(got[0]?.body.equals(bytes)).toBe(true);
    expect([...(got[1]?.body ?? [])]).toEqual([9, 8, 7]);
    expect(got[2]?.text()).toBe('héllo wörld ✓');
    expect(got[2]?.body.length).toBe(Buffer.byteLength('héllo wörld ✓'));
    expect(got[3]?.json()).toEqual({ a: [1, 2], b: null });
    expect(got[4]?.json()).toBe(42);
    expect(got[5]?.text()).toBe('explicit');
    expect(got[6]?.json()).toEqual({ typed: true });
    expect(got[7]?.body.length).toBe(0);
    expect(got).toHaveLength(8);
  });

  it('carries every basic property through the broker', async () => {
    const timestamp = new Date(Math.floor(Date.now() / 1000) * 1000 - 5_000);
    const headers = {
      text: 'value',
      small: 7,
      negative: -300,
      large: 70_000,
      fraction: 1.25,
      flag: true,
      nested: { inner: 'yes', n: 1 },
      list: ['a', 2, false],
      when: timestamp,
      bytes: Buffer.from('raw'),
    };
    const { queue } = await queueWith(
      new Message(
        { hello: 'world' },
        {
          contentEncoding: 'identity',
          headers,
          deliveryMode: 2,
          priority: 5,
          correlationId: 'corr-1',
          replyTo: 'reply.queue',
          expiration: '60000',
          messageId: 'msg-1',
          timestamp,
          type: 'greeting',
          userId: user,
          appId: 'warren-tests',
        },
      ),
    );
    const message = await queue.get({ noAck: true });
    expect(message?.properties).toEqual({
      contentType: 'application/json',
      contentEncoding: 'identity',
      headers,
      deliveryMode: 2,
      priority: 5,
      correlationId: 'corr-1',
      replyTo: 'reply.queue',
      expiration: '60000',
      messageId: 'msg-1',
      timestamp,
      type: 'greeting',
      userId: user,
      appId: 'warren-tests',
    });
    expect(message?.headers).toEqual(headers);
    expect(message?.json()).toEqual({ hello: 'world' });
  });

  it('has the broker refuse a userId that is not the connection user', async () => {
    const channel = await openChannel();
    const queue = await channel.declareQueue('', { exclusive: true });
    await channel.exchange('').publish(new Message('x', { userId: `${user}-not` }), queue.name);
    const error = await channel.closed;
    expect(error).toMatchObject({
      code: 'PRECONDITION_FAILED',
      replyCode: 406,
      method: 'basic.publish',
    });
    expect(connection.isOpen).toBe(true);
    expect(await ready(queue)).toBe(0);
  });
});
