/**
 * The codec against RabbitMQ's own bytes: what the broker sends decodes as the
 * spec says, and what warren encodes the broker accepts and gives back intact.
 */
import { afterEach, describe, expect, inject, it } from 'vitest';
import { Decimal, Field } from '../../lib/index.js';
import {
  type BasicProperties,
  ContentAssembler,
  type FieldTable,
} from '../../lib/protocol/index.js';
import { RawConnection } from '../support/raw-connection.js';

const url = inject('amqpUrl');
const open: RawConnection[] = [];

async function handshake(): Promise<RawConnection> {
  const conn = await RawConnection.handshake(url);
  open.push(conn);
  return conn;
}

afterEach(() => {
  for (const conn of open.splice(0)) conn.destroy();
});

describe('bytes from RabbitMQ', () => {
  it('decodes connection.start: version, server properties, mechanisms, locales', async () => {
    const conn = await RawConnection.open(url);
    open.push(conn);
    const start = await conn.expect('connection.start');

    expect(start.versionMajor).toBe(0);
    expect(start.versionMinor).toBe(9);
    const server = start.serverProperties;
    expect(server.product).toBe('RabbitMQ');
    expect(server.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(server.platform).toMatch(/^Erlang/);
    expect(server.capabilities).toMatchObject({
      publisher_confirms: true,
      exchange_exchange_bindings: true,
      'basic.nack': true,
      consumer_cancel_notify: true,
      'connection.blocked': true,
      authentication_failure_close: true,
      per_consumer_qos: true,
      direct_reply_to: true,
    });
    expect(start.mechanisms.toString().split(' ')).toEqual(
      expect.arrayContaining(['PLAIN', 'AMQPLAIN']),
    );
    expect(start.locales.toString()).toBe('en_US');
  });

  it('completes the handshake with the codec alone', async () => {
    const conn = await handshake();
    conn.send(1, 'channel.open', { outOfBand: '' });
    await expect(conn.expect('channel.open-ok', 1)).resolves.toBeDefined();
  });

  it('receives connection.close 501 FRAME_ERROR after a frame with a bad end octet', async () => {
    const conn = await handshake();
    // A channel.open method frame whose end octet is 0xAB instead of 0xCE.
    conn.socket.write(Buffer.from([1, 0, 1, 0, 0, 0, 5, 0, 20, 0, 10, 0, 0xab]));
    const close = await conn.expect('connection.close');
    expect(close.replyCode).toBe(501);
    expect(close.replyText).toMatch(/^FRAME_ERROR/);
  });

  it('receives connection.close 505 UNEXPECTED_FRAME after a body frame without a method', async () => {
    const conn = await handshake();
    conn.socket.write(Buffer.from([3, 0, 1, 0, 0, 0, 1, 0x41, 0xce]));
    const close = await conn.expect('connection.close');
    expect(close.replyCode).toBe(505);
    expect(close.replyText).toMatch(/^UNEXPECTED_FRAME/);
  });
});

describe('bytes to RabbitMQ and back', () => {
  it('delivers every property and every field type as they were sent, over several body frames', async () => {
    const conn = await handshake();
    conn.send(1, 'channel.open', { outOfBand: '' });
    await conn.expect('channel.open-ok', 1);
    conn.send(1, 'queue.declare', {
      queue: '',
      passive: false,
      durable: false,
      exclusive: true,
      autoDelete: true,
      nowait: false,
      arguments: {},
    });
    const { queue } = await conn.expect('queue.declare-ok', 1);

    const headers: FieldTable = {
      string: 'grüße',
      true: true,
      int8: -5,
      int16: 3000,
      int32: -70000,
      int64: 2 ** 40,
      bigint: -(2n ** 62n),
      double: 0.1,
      float32: Field.float32(0.5),
      uint8: Field.uint8(200),
      uint16: Field.uint16(60000),
      uint32: Field.uint32(4_000_000_000),
      decimal: new Decimal(2, -1250),
      timestamp: new Date('2024-02-29T12:00:00Z'),
      bytes: Buffer.from([0, 1, 254, 255]),
      void: null,
      array: [1, 'two', [3], { four: 4 }],
      table: { nested: { deeper: 'yes' } },
    };
    const properties: BasicProperties = {
      contentType: 'application/json',
      contentEncoding: 'identity',
      headers,
      deliveryMode: 2,
      priority: 7,
      correlationId: 'corr-1',
      replyTo: 'reply.queue',
      expiration: '60000',
      messageId: 'msg-1',
      timestamp: new Date('2025-01-01T00:00:00Z'),
      type: 'test.event',
      userId: decodeURIComponent(new URL(url).username),
      appId: 'warren-tests',
      clusterId: 'cluster-1',
    };
    const body = Buffer.alloc(3 * conn.encoder.frameMax + 17);
    for (let i = 0; i < body.length; i++) body[i] = (i * 31) & 0xff;

    conn.encoder.content(
      1,
      'basic.publish',
      { exchange: '', routingKey: queue, mandatory: true, immediate: false },
      properties,
      body,
    );
    conn.flush();
    conn.send(1, 'basic.get', { queue, noAck: true });
    const { method, content } = await conn.nextCommand(1, new ContentAssembler());

    expect(method.name).toBe('basic.get-ok');
    expect(content?.body.equals(body)).toBe(true);
    expect(content?.properties).toEqual({
      ...properties,
      headers: {
        ...headers,
        float32: 0.5,
        uint8: 200,
        uint16: 60000,
        uint32: 4_000_000_000,
      },
    });
  });
});
