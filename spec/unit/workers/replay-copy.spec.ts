/**
 * What a replay reads from a dead letter (where it came from, its original
 * routing key) and the copies it publishes, without a broker.
 */
import { describe, expect, it } from 'vitest';
import { IncomingMessage } from '../../../lib/incoming-message.js';
import type { MessageProperties } from '../../../lib/message.js';
import {
  ByteReader,
  ByteWriter,
  type FieldTable,
  readTable,
  TypedField,
  writeTable,
} from '../../../lib/protocol/index.js';
import {
  keptCopy,
  originalRoutingKey,
  originQueue,
  replayCopy,
} from '../../../lib/workers/replay-copy.js';

/** A delivered message with `properties`, from the dead-letter queue with `routingKey`. */
function delivered(properties: MessageProperties, routingKey = 'dead'): IncomingMessage {
  const info = { deliveryTag: 1, redelivered: false, exchange: '', routingKey, noAck: false };
  return IncomingMessage.create(Buffer.from('{"n":1}'), properties, info, { settle: () => {} });
}

/** An `x-death` entry as RabbitMQ writes it. */
const death = (queue: string, reason = 'rejected', keys = [queue]): FieldTable => ({
  count: 1,
  reason,
  queue,
  time: new Date('2026-01-01T00:00:00Z'),
  exchange: '',
  'routing-keys': keys,
});

describe('originQueue', () => {
  it("prefers x-warren-queue, then the latest x-death entry's queue, then x-first-death-queue", () => {
    const deaths = [death('orders'), death('orders.wait.1000', 'expired')];
    expect(
      originQueue({ 'x-warren-queue': 'a', 'x-death': deaths, 'x-first-death-queue': 'b' }),
    ).toBe('a');
    // The latest entry comes first: the wait queue's expiry was the first death, not the last.
    expect(originQueue({ 'x-death': deaths, 'x-first-death-queue': 'orders.wait.1000' })).toBe(
      'orders',
    );
    expect(originQueue({ 'x-first-death-queue': 'b' })).toBe('b');
  });

  it('says nothing for a message without them, or with values of the wrong kind', () => {
    expect(originQueue({})).toBeUndefined();
    expect(originQueue({ 'x-warren-queue': '', 'x-death': [] })).toBeUndefined();
    expect(originQueue({ 'x-warren-queue': 7, 'x-death': ['orders'] })).toBeUndefined();
    expect(originQueue({ 'x-death': 'orders', 'x-first-death-queue': null })).toBeUndefined();
  });
});

describe('originalRoutingKey', () => {
  it('reads x-warren-original-routing-key, then x-death, then the delivery', () => {
    const headers = { 'x-death': [death('orders', 'rejected', ['order.created'])] };
    expect(
      originalRoutingKey(
        delivered({ headers: { ...headers, 'x-warren-original-routing-key': 'k' } }),
      ),
    ).toBe('k');
    expect(originalRoutingKey(delivered({ headers }))).toBe('order.created');
    expect(originalRoutingKey(delivered({}, 'arrived.with'))).toBe('arrived.with');
  });
});

describe('replayCopy and keptCopy', () => {
  const properties: MessageProperties = {
    contentType: 'application/json',
    messageId: 'm-1',
    deliveryMode: 2,
    headers: {
      tenant: 'acme',
      'x-warren-attempt': 3,
      'x-warren-reason': 'exhausted',
      'x-delivery-count': 2,
      'x-death': [death('orders')],
    },
  };

  it('keeps body, properties and headers, less the attempt and delivery counts', () => {
    const message = delivered(properties);
    const copy = replayCopy(message);
    expect(copy.body).toBe(message.body);
    expect(copy.properties).toMatchObject({ contentType: 'application/json', messageId: 'm-1' });
    expect(Object.keys(copy.headers).sort()).toEqual(['tenant', 'x-death', 'x-warren-reason']);
    const kept = keptCopy(message);
    expect(Object.keys(kept.headers).sort()).toEqual([
      'tenant',
      'x-death',
      'x-warren-attempt',
      'x-warren-reason',
    ]);
    // The delivered message is untouched.
    expect(message.headers['x-warren-attempt']).toBe(3);
  });

  it("writes x-death's counts as int64, as RabbitMQ does", () => {
    const copy = replayCopy(delivered(properties));
    const [entry] = copy.headers['x-death'] as FieldTable[];
    expect(entry?.count).toEqual(new TypedField('int64', 1n));
    const w = new ByteWriter();
    writeTable(w, copy.headers, 'headers');
    const decoded = readTable(new ByteReader(Buffer.from(w.take())));
    expect(decoded['x-death']).toEqual([death('orders')]);
  });

  it('adds no headers to a message that had none', () => {
    const copy = replayCopy(delivered({ messageId: 'plain' }));
    expect(copy.properties).toEqual({ messageId: 'plain' });
  });
});
